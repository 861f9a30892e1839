"""A read-only session (--readonly, EDGEOPS_READONLY, readonly = true): the guard cannot be lifted in it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from edgeops.cli import main
from edgeops.cli.console import ReadOnlyEngine
from edgeops.cli.exit_codes import ExitCode
from edgeops.devices.samples import CommandResult, Failure
from edgeops.inventory.model import Device
from edgeops.platforms import Platform


@pytest.fixture(autouse=True)
def no_user_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("EDGEOPS_"):
            monkeypatch.delenv(name)


def folders(tmp_path: Path) -> list[str]:
    return [
        "--config-dir",
        str(tmp_path / "config"),
        "--state-dir",
        str(tmp_path / "state"),
        "--log-dir",
        str(tmp_path),
    ]


@pytest.mark.parametrize("how", ["flag", "env", "file"])
def test_run_refuses_allow_config_in_a_read_only_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    argv = [*folders(tmp_path), "run", "configure", "--target", "all", "--allow-config"]
    if how == "flag":
        argv.append("--readonly")
    elif how == "env":
        monkeypatch.setenv("EDGEOPS_READONLY", "true")
    else:
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "config.toml").write_text("readonly = true\n")
    assert main(argv) == ExitCode.READ_ONLY
    err = capsys.readouterr().err
    assert "--allow-config refused: this session is read-only" in err
    assert {"flag": "--readonly", "env": "EDGEOPS_READONLY", "file": "config.toml:1"}[how] in err
    assert not (tmp_path / "state" / "audit.jsonl").exists()  # nothing was tried


class RecordingEngine:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.store = "the store"

    async def run_command(self, device: Device, command: str, *, timeout_s: float) -> CommandResult:
        self.sent.append(command)
        return CommandResult(device.name, command, "ok", 0.0, 0.0, ok=True)


async def test_the_read_only_engine_refuses_what_the_guard_refuses_even_when_lifted() -> None:
    engine = RecordingEngine()
    readonly = ReadOnlyEngine(engine)  # type: ignore[arg-type]
    leaf = Device(
        name="leaf1", site="lab", role="leaf", platform=Platform.SRLINUX, model="7220 IXR-D2L", host="127.0.0.1"
    )
    refused = await readonly.run_command(leaf, "enter candidate private", timeout_s=5)
    assert (refused.ok, refused.failure) == (False, Failure.REFUSED)
    assert "read-only" in refused.reason
    allowed = await readonly.run_command(leaf, "show version", timeout_s=5)
    assert allowed.ok
    assert engine.sent == ["show version"]
    store: Any = readonly.store  # everything else is the engine's
    assert store == "the store"
