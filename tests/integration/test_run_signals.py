"""A real `edgeops run` process stopped while commands are in flight: kill -9 leaves `sent` records the reader reports
as outcome unknown; SIGTERM and SIGHUP cancel, record the outcomes and exit with the documented statuses."""

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
WAIT_LIMIT_S = 60.0  # how long to wait for the process to get its commands out (a bound, not a measurement)


@pytest.fixture
async def slow_lab(tmp_path: Path) -> AsyncIterator[Lab]:
    """A one-site lab whose every device hangs once logged in (ssh-slow with a long delay): commands stay in flight."""
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
    for name in lab.devices:
        await lab.inject(name, "ssh-slow", seconds=120)
    yield lab
    await lab.stop()


async def start_run(lab: Lab, tmp_path: Path) -> tuple[asyncio.subprocess.Process, Path]:
    inventory = write_lab_inventory(lab, tmp_path / "inventory.yaml")
    state = tmp_path / "state"
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edgeops",
        "--inventory",
        str(inventory),
        "--state-dir",
        str(state),
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
    return process, state / "audit.jsonl"


async def wait_for_sent_records(path: Path, process: asyncio.subprocess.Process) -> None:
    """Until every device's `sent` record is in the log (the commands are then on their way)."""
    async with asyncio.timeout(WAIT_LIMIT_S):
        while sent_records(path) < DEVICES:
            assert process.returncode is None, "the run ended before its commands were in flight"
            await asyncio.sleep(0.1)


def sent_records(path: Path) -> int:
    return sum(entry.kind == SENT for entry in read_audit(path))


async def test_kill_9_mid_command_leaves_sent_records_read_as_outcome_unknown(slow_lab: Lab, tmp_path: Path) -> None:
    process, audit = await start_run(slow_lab, tmp_path)
    try:
        await wait_for_sent_records(audit, process)
    finally:
        if process.returncode is None:
            process.kill()
        await process.communicate()
    commands = read_audited_commands(audit)
    assert len(commands) == DEVICES
    assert all(command.outcome_unknown and command.status == "outcome unknown" for command in commands)
    assert {command.entry.device for command in commands} == set(slow_lab.devices)


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGTERM, ExitCode.TERMINATED), (signal.SIGHUP, ExitCode.HANGUP)]
)
async def test_sigterm_and_sighup_record_the_commands_in_flight_as_cancelled(
    slow_lab: Lab, tmp_path: Path, signum: int, status: int
) -> None:
    process, audit = await start_run(slow_lab, tmp_path)
    try:
        await wait_for_sent_records(audit, process)
        process.send_signal(signum)
        async with asyncio.timeout(WAIT_LIMIT_S):
            _, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
    assert process.returncode == status, err.decode()
    assert signal.Signals(signum).name in err.decode()
    commands = read_audited_commands(audit)
    assert [command.status for command in commands] == ["cancelled"] * DEVICES
    assert all(command.sent is not None for command in commands)
