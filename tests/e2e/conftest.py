"""The console as a person uses it: one tmux server per test (its own socket), keys sent, the screen read back."""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

# A bound on how long a broken console can hang a step, not a timing assertion.
STEP_DEADLINE_S = 90.0


class Tmux:
    """One tmux server of our own (its own socket), so a test never touches the engineer's sessions."""

    def __init__(self, socket: str) -> None:
        self.socket = socket
        self.session = "console"

    def run(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False, timeout=30
        )
        return result.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)

    def text(self, text: str) -> None:
        self.run("send-keys", "-t", self.session, "-l", text)

    def wait_for(self, condition: Callable[[str], bool], what: str, deadline_s: float = STEP_DEADLINE_S) -> str:
        deadline = time.monotonic() + deadline_s
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if condition(screen):
                return screen
            time.sleep(0.25)
        pytest.fail(f"gave up waiting for {what}; the screen was:\n{screen}")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False, timeout=30)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    server = Tmux(f"edgeops-e2e-{os.getpid()}-{random.randrange(10**6)}")
    try:
        yield server
    finally:
        server.kill()
