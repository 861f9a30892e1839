"""`edgeops run --timeout` is each device's whole budget, the login included, against a lab device slow to log in.

A login that takes longer than the built-in connect timeout (15 s) would make these tests slow; instead the device
answers every SSH step 0.25 s late (a login of about 1 s) and the built-in connect timeout is made 0.3 s through its
setting, so a run that still capped its login with it fails here as `--timeout 20` failed on a 16 s login.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import json
import logging
import os
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from edgeops import config
from edgeops.cli import main
from edgeops.cli.lab import write_lab_inventory
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.topology import build_fleet, synthetic_sites

pytestmark = pytest.mark.lab

SLOW = "alcala-leaf1"
ANSWER_DELAY_S = 0.25  # about four answers to log in: near 1 s
SHORT_CAP_S = 0.3  # well below that login


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[Lab]:
    """A one-site lab, SSH only, in its own 127.<block> range; alcala-leaf1 answers every SSH step late."""
    for attempt in range(8):
        identities = relocate(build_fleet(synthetic_sites(1), 5, ssh_port=2222), random.randrange(100, 250))
        candidate = Lab(identities, lab_dir=tmp_path / f"lab{attempt}", ssh_port=2222, gnmi=False)
        try:
            await candidate.start()
        except OSError as error:
            if error.errno == errno.EADDRINUSE and attempt < 7:
                continue
            raise
        await candidate.inject(SLOW, "ssh-slow", seconds=ANSWER_DELAY_S)
        yield candidate
        await candidate.stop()
        return
    raise AssertionError("no free address block")  # pragma: no cover


@pytest.fixture(autouse=True)
def short_builtin_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in connect_timeout (15 s) as SHORT_CAP_S, and no EDGEOPS_* variable of the person running the tests."""
    for name in list(os.environ):
        if name.startswith("EDGEOPS_"):
            monkeypatch.delenv(name)
    specs = tuple(
        dataclasses.replace(spec, default=SHORT_CAP_S) if spec.key == "connect_timeout" else spec
        for spec in config.SPECS
    )
    monkeypatch.setattr(config, "SPECS", specs)


@pytest.fixture
def root_logging() -> Iterator[None]:
    """`edgeops run` points the root logger at its log file; put pytest's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


async def run_slow_device(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str], *arguments: str
) -> dict[str, object]:
    """`edgeops run 'show version' -t alcala-leaf1 --json ARGUMENTS`, in a thread as from a shell; its one record."""
    inventory = write_lab_inventory(lab, tmp_path / "inventory.yaml")
    argv = ["--inventory", str(inventory), "--config-dir", str(tmp_path / "config")]
    argv += ["--state-dir", str(tmp_path / "state"), "--log-dir", str(tmp_path / "logs")]
    argv += ["run", "show version", "-t", SLOW, "--json", "--no-progress", *arguments]
    capsys.readouterr()
    code = await asyncio.to_thread(main, argv)
    out, err = capsys.readouterr()
    (record,) = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert code == (0 if record["ok"] else 1), err
    return record


async def test_the_runs_timeout_is_the_logins_budget_not_the_builtin_connect_timeout(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str], root_logging: None
) -> None:
    record = await run_slow_device(lab, tmp_path, capsys, "--timeout", "20")
    assert record["ok"] is True, record["reason"]
    # Without --timeout, command_timeout (30 s) is the budget: the built-in connect timeout caps nothing either.
    record = await run_slow_device(lab, tmp_path, capsys)
    assert record["ok"] is True, record["reason"]


async def test_a_connect_timeout_the_person_set_still_caps_the_login(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str], root_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(f"connect_timeout = {SHORT_CAP_S}\n")
    record = await run_slow_device(lab, tmp_path, capsys, "--timeout", "20")
    assert (record["ok"], record["failure"]) == (False, "timeout")
    assert f"did not answer within {SHORT_CAP_S:g} s" in str(record["reason"])
    monkeypatch.setenv("EDGEOPS_CONNECT_TIMEOUT", "20")  # the variable over the file: the login has its time
    record = await run_slow_device(lab, tmp_path, capsys, "--timeout", "20")
    assert record["ok"] is True, record["reason"]
