"""The contract between the lab's SSH server and a platform's command-line engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CliReply:
    """What one input line produced.

    output uses "\\n" line endings (the SSH server turns them into "\\r\\n") and carries everything the device
    prints between the echoed command line and the next prompt.
    """

    output: str
    close: bool = False  # the line ended the session (quit, logout)


class CliEngine(Protocol):
    """One interactive CLI session on one simulated device (a new engine per SSH session)."""

    def banner(self) -> str:
        """What the device prints after login, before the first prompt."""
        ...

    def prompt(self) -> str:
        """The prompt exactly as the device prints it, including the lines that precede it."""
        ...

    def execute(self, line: str) -> CliReply:
        """Run one input line (already stripped of its line ending)."""
        ...

    @property
    def page_lines(self) -> int | None:
        """Lines per page while the device's pager is on; None when paging is off."""
        ...

    @property
    def pager_prompt(self) -> str:
        """The text shown at a page break."""
        ...
