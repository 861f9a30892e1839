"""`edgeops record` as a real process against a real lab: kill -9 leaves a recording that opens, missing at most
about a second; SIGTERM ends it cleanly; a second reader reads while it writes."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from edgeops.fleet.events import InterfacesChanged
from edgeops.inventory.loader import load_inventory
from edgeops.recording.reader import Recording

pytestmark = pytest.mark.lab


async def _read_until(stream: asyncio.StreamReader, marker: str, seconds: float = 60.0) -> str:
    seen = ""
    async with asyncio.timeout(seconds):
        while marker not in seen:
            line = await stream.readline()
            if not line:
                break
            seen += line.decode()
    return seen


async def _start_lab(tmp_path: Path, block: int) -> tuple[asyncio.subprocess.Process, Path]:
    inventory = tmp_path / "inventory.yaml"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edgeops",
        "lab",
        "--state-dir",
        str(tmp_path / "lab-state"),
        "--log-dir",
        str(tmp_path / "logs"),
        "--sites",
        "1",
        "--devices-per-site",
        "4",
        "--address-block",
        str(block),
        "--ssh-port",
        "2222",
        "--gnmi-port",
        "57401",
        "--lab-dir",
        str(tmp_path / "lab"),
        "--inventory-out",
        str(inventory),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    banner = await _read_until(process.stdout, "stops the lab")
    assert "4 devices" in banner, banner
    return process, inventory


async def _start_recording(tmp_path: Path, inventory: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edgeops",
        "record",
        "--inventory",
        str(inventory),
        "--state-dir",
        str(tmp_path / "state"),
        "--log-dir",
        str(tmp_path / "logs"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
        await process.wait()


def _newest_counters(path: Path) -> float:
    """The time of the newest interface event committed to the file (0 when none)."""
    try:
        with Recording.open(path) as recording:
            last = recording.span()[1]
            times = [e.time for e in recording.events(last - 5, last) if isinstance(e, InterfacesChanged)]
    except Exception:
        return 0.0
    return max(times, default=0.0)


async def _first_counters(path: Path) -> None:
    """Wait until the recording holds interface counters (the file is polled: another process writes it)."""
    for _ in range(120):
        if _newest_counters(path):
            return
        await asyncio.sleep(0.5)
    raise AssertionError("no counters were recorded within a minute")


async def test_kill_9_leaves_a_recording_that_opens_with_at_most_a_second_lost(tmp_path, lab_address_block):
    lab, inventory = await _start_lab(tmp_path, lab_address_block)
    recorder = None
    try:
        recorder = await _start_recording(tmp_path, inventory)
        path = tmp_path / "state" / "recording.sqlite"
        await _first_counters(path)
        # A second reader, while the recorder writes: it reads the fleet as it is now.
        with Recording.open(path) as reader:
            names = {device.name for device in load_inventory(inventory).devices}
            store = reader.store_at(reader.span()[1], load_inventory(inventory))
            assert any(store.interfaces(name) for name in names)
        await asyncio.sleep(3.0)
        killed_at = time.time()
        recorder.send_signal(signal.SIGKILL)
        await recorder.wait()
        with Recording.open(path) as recording:
            first, last = recording.span()
            assert first < last
            newest = max(e.time for e in recording.events(last - 10, last) if isinstance(e, InterfacesChanged))
        # Counters arrive every 2 s: the last one the process saw was at most 2 s before the kill; what was
        # committed is at most about a second older than that.
        assert killed_at - newest < 2.0 + 1.5
        with sqlite3.connect(path) as check:
            assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        if recorder is not None:
            await _stop(recorder)
        await _stop(lab)


async def test_sigterm_ends_recording_cleanly(tmp_path, lab_address_block):
    lab, inventory = await _start_lab(tmp_path, lab_address_block)
    recorder = None
    try:
        recorder = await _start_recording(tmp_path, inventory)
        path = tmp_path / "state" / "recording.sqlite"
        await _first_counters(path)
        recorder.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(recorder.wait(), 30) == 0
        with Recording.open(path) as recording:
            assert recording.span()[0] < recording.span()[1]
        # Once every device had connected, it kept its long-lived objects out of the full collections, as the
        # console does.
        log = "".join(file.read_text() for file in (tmp_path / "logs").glob("*.log*"))
        assert "fleet settled:" in log
    finally:
        if recorder is not None:
            await _stop(recorder)
        await _stop(lab)
