"""Incident memory end to end in tmux: the console records a lab while a port flaps under an alarm, quits, and
`edgeops replay --at <the flap>` shows the port down and the alarm active."""

from __future__ import annotations

import random
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from conftest import Tmux

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
    pytest.mark.timeout(300),
]

# Bounds on how long a broken console can hang the test, not timing assertions.
STEP_DEADLINE_S = 90.0
DEVICE = "alcala-gw1"  # SR OS: it keeps an alarm list, so the raised alarm is the device's own
FLAP_S = 20.0
ALARM_TEXT = "e2e optics alarm"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A one-site lab (4 devices) on an address block of its own: its folder and its inventory file."""
    lab_dir, inventory = tmp_path / "lab", tmp_path / "inventory.yaml"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edgeops",
            "lab",
            *("--state-dir", str(tmp_path / "lab-state"), "--log-dir", str(tmp_path / "logs")),
            *("--sites", "1", "--devices-per-site", "4", "--no-incidents"),
            *("--address-block", str(random.randint(100, 199)), "--ssh-port", "2222", "--gnmi-port", "57401"),
            *("--lab-dir", str(lab_dir), "--inventory-out", str(inventory)),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + STEP_DEADLINE_S
        while not inventory.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert inventory.exists(), "the lab did not write its inventory"
        yield lab_dir, inventory
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def edgeops(*args: str) -> list[str]:
    return [sys.executable, "-m", "edgeops", *args]


def fault(lab_dir: Path, tmp_path: Path, *args: str) -> str:
    """Ask the running lab for a fault; what it answers."""
    answer = subprocess.run(
        edgeops("lab", "--lab-dir", str(lab_dir), "--log-dir", str(tmp_path / "logs"), *args),
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return answer.stdout.strip()


def test_replay_at_the_flap_shows_the_port_down_and_the_alarm_active(
    tmux: Tmux, lab: tuple[Path, Path], tmp_path: Path
) -> None:
    lab_dir, inventory = lab
    state, logs = tmp_path / "state", tmp_path / "logs"
    paths = f"-i {shlex.quote(str(inventory))} --state-dir {shlex.quote(str(state))} --log-dir {shlex.quote(str(logs))}"
    exit_file = tmp_path / "exit-status"
    python = shlex.quote(sys.executable)
    # The shell stays after the console quits: a tmux server whose last session ends exits, and the replay's session
    # started on the same socket while it was exiting died with it (an empty screen, now and then).
    console = (
        f"env TERM=xterm-256color TZ=UTC {python} -m edgeops {paths}; echo $? > {shlex.quote(str(exit_file))};"
        " sleep 600"
    )
    tmux.run("new-session", "-d", "-s", "console", "-x", "120", "-y", "40", console)
    tmux.wait_for(lambda s: "4 up" in s, "the 4 lab devices up")

    # The incident: the port goes down for FLAP_S with an alarm on it, then both clear.
    answer = fault(lab_dir, tmp_path, "fault", DEVICE, "port-flap", "--param", f"seconds={FLAP_S:g}")
    flap_at = time.time()
    port = answer.split()[0]  # "<port> down for 20 s": the first port passing traffic
    assert answer == f"{port} down for {FLAP_S:g} s", answer
    fault(
        lab_dir,
        tmp_path,
        *("fault", DEVICE, "alarm-raise", "--param", "alarm_id=e2e-1", "--param", f"resource={port}"),
        *("--param", f"text={ALARM_TEXT}"),
    )
    time.sleep(FLAP_S + 4)
    fault(lab_dir, tmp_path, "fault", DEVICE, "alarm-clear", "--param", "alarm_id=e2e-1")
    time.sleep(4)  # the clear reaches the console and the recording

    tmux.keys("q")
    deadline = time.monotonic() + STEP_DEADLINE_S
    while not exit_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert exit_file.exists() and exit_file.read_text().strip() == "0", tmux.screen()
    assert (state / "recording.sqlite").exists()

    # Back to the flap: a few seconds in, the port is down and the alarm is active.
    at = datetime.fromtimestamp(flap_at + 8).astimezone().strftime("%H:%M:%S")
    replay = f"env TERM=xterm-256color {python} -m edgeops replay {paths} --at {at} --paused"
    tmux.session = "replay"
    tmux.run(
        "new-session", "-d", "-s", "replay", "-x", "120", "-y", "40", f"{replay}; echo replay exited with $?; sleep 600"
    )
    tmux.wait_for(lambda s: "REPLAY" in s and at in s, f"the replay at {at}")
    tmux.keys("C-p")
    time.sleep(0.5)
    tmux.text(DEVICE)
    time.sleep(0.5)
    tmux.keys("Enter")
    tmux.wait_for(lambda s: ALARM_TEXT in s, f"the alarm on {DEVICE} active in the replay")
    tmux.keys("3")  # the interfaces (on a small terminal the right-hand panes are shown one at a time)
    screen = tmux.wait_for(
        lambda s: any(f" {port} " in line and " down " in line for line in s.splitlines()),
        f"{DEVICE} {port} down in the replay",
    )
    assert "REPLAY" in screen and at in screen
