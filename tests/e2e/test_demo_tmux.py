"""`edgeops --demo` end to end in tmux: the fleet comes up, a command runs, q quits, and nothing is left."""

from __future__ import annotations

import random
import shlex
import shutil
import sys
import time
from pathlib import Path

import psutil
import pytest

from conftest import Tmux

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
    pytest.mark.timeout(300),
]

# Bounds on how long a broken console can hang the test, not timing assertions.
FLEET_DEADLINE_S = 150.0
STEP_DEADLINE_S = 60.0
DEMO_DEVICES = 136


def processes_mentioning(marker: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if any(marker in part for part in process.info["cmdline"] or ()):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_demo_comes_up_runs_a_command_and_quits_clean(tmux: Tmux, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    temp = tmp_path / "tmp"
    temp.mkdir()
    exit_file = tmp_path / "exit-status"
    environment = {
        "EDGEOPS_DEMO_ADDRESS_BLOCK": str(random.randint(20, 99)),  # beside any lab the engineer runs
        "EDGEOPS_STATE_DIR": str(tmp_path / "state"),
        "EDGEOPS_CONFIG_DIR": str(tmp_path / "config"),
        "TMPDIR": str(temp),
        "TERM": "xterm-256color",
    }
    exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in environment.items())
    console = f"{shlex.quote(sys.executable)} -m edgeops --demo --log-dir {shlex.quote(str(logs))}"
    command = f"env {exports} {console}; echo $? > {shlex.quote(str(exit_file))}"
    tmux.run("new-session", "-d", "-s", "console", "-x", "120", "-y", "40", command)

    # The whole fleet comes up: the status bar counts every device as up.
    tmux.wait_for(lambda s: f"{DEMO_DEVICES} up" in s, f"all {DEMO_DEVICES} demo devices up", FLEET_DEADLINE_S)
    screen = tmux.screen()
    assert "Tecno-Alcalá" in screen and "1 Sites" in screen
    console_processes = processes_mentioning(str(logs))
    assert len(console_processes) >= 2, "the console and its lab child run"

    # Run a command on the selected site (Tecno-Alcalá, 8 devices) from the runner pane.
    tmux.keys("4")
    tmux.wait_for(lambda s: "target this site" in s and "site:alcala" in s, "the runner pane to offer the site")
    tmux.text("show version")
    tmux.keys("Enter")
    screen = tmux.wait_for(lambda s: "8/8 done" in s, "the command to finish on the 8 devices of the site")
    assert "8/8 done, 0 failed" in screen, screen
    assert "alcala-spine1" in screen and "ok" in screen

    # Leave the command line (where q is just a letter) and quit.
    tmux.keys("Escape")
    time.sleep(0.5)
    tmux.keys("q")
    deadline = time.monotonic() + STEP_DEADLINE_S
    while not exit_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert exit_file.exists(), f"the console did not quit; the screen was:\n{tmux.screen()}"
    assert exit_file.read_text().strip() == "0"

    # Nothing is left behind: no console, no lab child, no demo folder.
    deadline = time.monotonic() + 15
    while any(running(p) for p in processes_mentioning(str(logs))) and time.monotonic() < deadline:
        time.sleep(0.2)
    leftovers = [(p.pid, " ".join(p.cmdline())) for p in processes_mentioning(str(logs)) if running(p)]
    assert leftovers == []
    assert list(temp.iterdir()) == [], "the demo's lab folder is removed"


def test_the_lab_stops_when_the_console_is_killed(tmux: Tmux, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    temp = tmp_path / "tmp"
    temp.mkdir()
    environment = {
        "EDGEOPS_DEMO_ADDRESS_BLOCK": str(random.randint(20, 99)),
        "EDGEOPS_STATE_DIR": str(tmp_path / "state"),
        "EDGEOPS_CONFIG_DIR": str(tmp_path / "config"),
        "TMPDIR": str(temp),
        "TERM": "xterm-256color",
    }
    exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in environment.items())
    console = f"{shlex.quote(sys.executable)} -m edgeops --demo --log-dir {shlex.quote(str(logs))}"
    tmux.run("new-session", "-d", "-s", "console", "-x", "120", "-y", "40", f"env {exports} {console}; sleep 60")
    tmux.wait_for(lambda s: "1 Sites" in s, "the console on the demo fleet", FLEET_DEADLINE_S)
    processes = processes_mentioning(str(logs))
    consoles = [p for p in processes if "--demo" in p.cmdline()]
    labs = [p for p in processes if "lab" in p.cmdline()]
    assert len(consoles) == 1 and len(labs) == 1, [p.cmdline() for p in processes]
    try:
        # A crash no handler sees: the lab child must not outlive the console.
        consoles[0].kill()
        deadline = time.monotonic() + 30
        while any(running(p) for p in labs) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(running(p) for p in labs), "the lab outlived the console"
    finally:
        for lab in labs:  # never leave a lab behind, even when the test fails
            if running(lab):
                lab.kill()


def running(process: psutil.Process) -> bool:
    """Still running (a zombie has exited: it only waits to be reaped by whoever adopted it)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
