"""How far a command run is: the one count of done, failed and refused results that the CLI's progress line and the
console's runner pane both read while results stream in."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from edgeops.devices.samples import CommandResult


@dataclass
class RunProgress:
    """Counts of a run's results so far, fed one result at a time by `record`."""

    total: int
    done: int = 0
    failed: int = 0  # every failed result, guard refusals included
    refused: int = 0  # by the read-only guard: nothing was sent
    started: float = field(default_factory=time.monotonic)
    pending: set[str] = field(default_factory=set)  # devices whose result has not come back yet
    rules: set[str] = field(default_factory=set)  # the guard rules that refused
    sent: int = 0  # results of commands that were sent (not refused)
    slowest: CommandResult | None = None  # the slowest of those

    @property
    def ok(self) -> int:
        return self.done - self.failed

    @property
    def sent_failed(self) -> int:
        """Devices that were sent the command and failed (refusals are counted apart)."""
        return self.failed - self.refused

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def line(self) -> str:
        """E.g. "37/136 done, 2 failed"."""
        text = f"{self.done}/{self.total} done"
        if self.failed:
            text += f", {self.failed} failed"
        return text

    def record(self, result: CommandResult) -> None:
        self.done += 1
        self.pending.discard(result.device)
        if not result.ok:
            self.failed += 1
        if result.refused:
            self.refused += 1
            if result.guard_rule:
                self.rules.add(result.guard_rule)
            return
        self.sent += 1
        if self.slowest is None or result.duration_s > self.slowest.duration_s:
            self.slowest = result
