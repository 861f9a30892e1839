"""Ctrl-C during a real `edgeops run` process against the lab: nothing more is sent, what came back is printed with
the summary, the devices not run are named, the commands in flight are recorded as cancelled, and it exits 130."""

from __future__ import annotations

import asyncio
import errno
import os
import random
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edgeops.cli.exit_codes import ExitCode
from edgeops.cli.lab import write_lab_inventory
from edgeops.fleet.audit import SENT, read_audit, read_audited_commands
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.topology import build_fleet, synthetic_sites

pytestmark = pytest.mark.lab

LAB_SSH_PORT = 2222
DEVICES = 5
WAIT_LIMIT_S = 60.0  # how long to wait for the run to get this far (a bound, not a measurement)


@pytest.fixture
async def half_slow_lab(tmp_path: Path) -> AsyncIterator[tuple[Lab, list[str], list[str]]]:
    """A one-site lab in which two devices answer and three hang once logged in (ssh-slow, a long delay)."""
    for attempt in range(8):
        identities = relocate(
            build_fleet(synthetic_sites(1), DEVICES, ssh_port=LAB_SSH_PORT), random.randrange(100, 250)
        )
        lab = Lab(identities, lab_dir=tmp_path / f"lab{attempt}", ssh_port=LAB_SSH_PORT, gnmi=False)
        try:
            await lab.start()
        except OSError as error:
            if error.errno == errno.EADDRINUSE and attempt < 7:
                continue
            raise
        break
    names = sorted(lab.devices)
    fast, slow = names[:2], names[2:]
    for name in slow:
        await lab.inject(name, "ssh-slow", seconds=120)
    yield lab, fast, slow
    await lab.stop()


async def test_ctrl_c_prints_what_came_back_the_summary_and_the_devices_not_run(
    half_slow_lab: tuple[Lab, list[str], list[str]], tmp_path: Path
) -> None:
    lab, fast, slow = half_slow_lab
    inventory = write_lab_inventory(lab, tmp_path / "inventory.yaml")
    audit = tmp_path / "state" / "audit.jsonl"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("EDGEOPS_")}
    environment["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
    environment["EDGEOPS_CONFIG_DIR"] = str(tmp_path / "config")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edgeops",
        "--inventory",
        str(inventory),
        "--state-dir",
        str(audit.parent),
        "--log-dir",
        str(tmp_path / "logs"),
        "run",
        "show version",
        "--target",
        "all",
        "--timeout",
        "100",
        "--no-progress",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    try:
        async with asyncio.timeout(WAIT_LIMIT_S):
            # every command sent, and the two fast devices' outcomes recorded: the other three are in flight
            while not (
                sum(entry.kind == SENT for entry in read_audit(audit)) == DEVICES
                and sum(command.entry.ok is True for command in read_audited_commands(audit)) == len(fast)
            ):
                assert process.returncode is None, "the run ended before Ctrl-C"
                await asyncio.sleep(0.1)
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(WAIT_LIMIT_S):
            out_bytes, err_bytes = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
    out, err = out_bytes.decode(), err_bytes.decode()
    assert process.returncode == ExitCode.INTERRUPTED, err
    for name in fast:
        assert f"=== {name} (" in out  # what came back was printed
    assert "2 devices: 2 ok, 0 failed" in out  # the summary of what came back
    assert "edgeops run: stopped by SIGINT: 2 done, 0 failed, 3 not run" in err
    assert "Traceback" not in err
    statuses = {command.entry.device: command.status for command in read_audited_commands(audit)}
    assert {name: statuses[name] for name in slow} == dict.fromkeys(slow, "cancelled")
