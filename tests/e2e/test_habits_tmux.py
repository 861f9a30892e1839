"""The engineer's habits end to end at 80x24, in tmux: an alert names an address; find the device in the site map
by it, run a command on it by its address, search the output, and quit."""

from __future__ import annotations

import random
import shlex
import shutil
import sys
import time
from pathlib import Path

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


def test_find_by_address_run_by_address_search_and_quit_at_80x24(tmux: Tmux, tmp_path: Path) -> None:
    block = random.randint(20, 99)  # beside any lab the engineer runs
    address = f"127.{block}.1.4"  # the demo's first site, its fourth device (alcala-leaf2)
    exit_file = tmp_path / "exit-status"
    temp = tmp_path / "tmp"
    temp.mkdir()
    environment = {
        "EDGEOPS_DEMO_ADDRESS_BLOCK": str(block),
        "EDGEOPS_STATE_DIR": str(tmp_path / "state"),
        "EDGEOPS_CONFIG_DIR": str(tmp_path / "config"),
        "TMPDIR": str(temp),
        "TERM": "xterm-256color",
    }
    exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in environment.items())
    console = f"{shlex.quote(sys.executable)} -m edgeops --demo --log-dir {shlex.quote(str(tmp_path / 'logs'))}"
    command = f"env {exports} {console}; echo $? > {shlex.quote(str(exit_file))}"
    tmux.run("new-session", "-d", "-s", "console", "-x", "80", "-y", "24", command)
    tmux.wait_for(lambda s: f"{DEMO_DEVICES} up" in s, f"all {DEMO_DEVICES} demo devices up", FLEET_DEADLINE_S)

    # The site map's finder, by the address: one device left, its prompt in the pane's border.
    tmux.keys("/")
    time.sleep(0.3)
    tmux.text(address)
    screen = tmux.wait_for(lambda s: f"1/{DEMO_DEVICES}" in s, "the site map filtered to one device", STEP_DEADLINE_S)
    assert f"/{address}" in screen and "alcala-leaf2" in screen, screen
    tmux.keys("Enter")
    tmux.wait_for(lambda s: "SR Linux · 7220" in s, "the device's health on the right", STEP_DEADLINE_S)

    # The runner, its target typed by address in the target box (visible at this size), then the command.
    tmux.keys("4")
    tmux.wait_for(lambda s: "4 Commands" in s, "the runner pane", STEP_DEADLINE_S)
    # Keys are paced like a person's: a focus move is taken before the next text arrives (tmux sends at once).
    time.sleep(0.5)
    tmux.keys("BTab")
    time.sleep(0.5)
    tmux.text(f"host:{address}")
    screen = tmux.wait_for(lambda s: f"host:{address}" in s and "1 device" in s, "the target by address")
    tmux.keys("Tab")
    time.sleep(0.5)
    tmux.text("show version")
    tmux.keys("Enter")
    screen = tmux.wait_for(lambda s: "1/1 done, 0 failed" in s, "the command to finish on the one device")
    assert "alcala-leaf2" in screen

    # Search in the output: leave the command line, go to the output, / and Enter. Each step is waited for where
    # the screen shows it: text typed before the search line has the focus goes to the output's own keys (s saves).
    tmux.keys("Escape")
    tmux.wait_for(lambda s: "g Group" in s, "the results' keys in the footer", STEP_DEADLINE_S)
    time.sleep(0.3)
    tmux.keys("Tab")
    time.sleep(0.5)
    tmux.keys("/")
    tmux.wait_for(_search_line_open, "the search line open", STEP_DEADLINE_S)
    time.sleep(0.3)
    tmux.text("Software")
    tmux.wait_for(lambda s: _search_line_open(s, "Software"), "the search text in its line", STEP_DEADLINE_S)
    tmux.keys("Enter")
    tmux.wait_for(lambda s: "/Software: match 1/1" in s, "the match in the output", STEP_DEADLINE_S)

    # Escape closes the search, q quits.
    tmux.keys("Escape")
    time.sleep(0.3)
    tmux.keys("q")
    deadline = time.monotonic() + STEP_DEADLINE_S
    while not exit_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert exit_file.exists(), f"the console did not quit; the screen was:\n{tmux.screen()}"
    assert exit_file.read_text().strip() == "0"


def _search_line_open(screen: str, text: str = "") -> bool:
    """The results' search line is open (at the foot of the runner pane: `/` and what is typed), holding `text`."""
    return f"││ /{text}" in screen
