"""The console records by default into its state folder, and not with --no-record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeops.cli.console import ConsoleRuntime
from edgeops.devices.samples import SessionState
from edgeops.fleet.events import SessionChanged
from edgeops.paths import AppPaths
from edgeops.recording.reader import Recording

from .test_recording import inventory


class _User:
    async def ask_password(self, prompt: str) -> str:
        return ""

    def host_key_added(self, event: Any) -> None:
        pass

    async def confirm_host_key(self, event: Any) -> bool:
        return False


def _paths(tmp_path: Path) -> AppPaths:
    return AppPaths(tmp_path / "config", tmp_path / "state", tmp_path / "logs", tmp_path / "inventory.yaml")


def test_the_console_records_what_its_engine_sees(tmp_path: Path) -> None:
    runtime = ConsoleRuntime(tmp_path / "inventory.yaml", _paths(tmp_path))
    engine = runtime.make_engine(inventory(), _User())  # type: ignore[arg-type]
    assert runtime.recorder is not None
    engine.events.set_session("leaf1", "ssh", SessionState.UP)
    runtime.console_closed()
    with Recording.open(tmp_path / "state" / "recording.sqlite") as recording:
        first, last = recording.span()
        (event,) = list(recording.events(first, last))
        assert isinstance(event, SessionChanged) and event.state is SessionState.UP


def test_no_record_records_nothing(tmp_path: Path) -> None:
    runtime = ConsoleRuntime(tmp_path / "inventory.yaml", _paths(tmp_path), record=False)
    runtime.make_engine(inventory(), _User())  # type: ignore[arg-type]
    assert runtime.recorder is None
    runtime.console_closed()
    assert not (tmp_path / "state" / "recording.sqlite").exists()
