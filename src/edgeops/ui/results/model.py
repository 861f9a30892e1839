"""One command run as the console follows it: the devices asked, the results so far, the progress line."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from edgeops.devices.samples import CommandResult
from edgeops.fleet.progress import RunProgress
from edgeops.fleet.results import OutputGroup
from edgeops.inventory.model import Device


@dataclass
class CommandRun:
    """One command sent to a set of devices, and its results so far in the order they arrived."""

    command: str
    target: str
    devices: tuple[Device, ...]
    allow_config: bool = False
    started: float = field(default_factory=time.time)
    ended: float | None = None
    cancelled: bool = False
    error: str = ""  # the run itself broke (not one device): shown instead of silently stopping
    results: list[CommandResult] = field(default_factory=list)
    saved_to: Path | None = None

    def __post_init__(self) -> None:
        self._by_name = {device.name: device for device in self.devices}
        self._result_by_name: dict[str, CommandResult] = {result.device: result for result in self.results}
        self.progress = RunProgress(total=len(self.devices))  # the counts, as the CLI's progress line keeps them
        for result in self.results:
            self.progress.record(result)

    def add(self, result: CommandResult) -> None:
        self.results.append(result)
        self._result_by_name[result.device] = result
        self.progress.record(result)

    def device(self, name: str) -> Device | None:
        return self._by_name.get(name)

    def result_for(self, name: str) -> CommandResult | None:
        return self._result_by_name.get(name)

    @property
    def finished(self) -> bool:
        return self.ended is not None

    @property
    def total(self) -> int:
        return len(self.devices)

    @property
    def refused(self) -> list[CommandResult]:
        return [result for result in self.results if result.refused]

    @property
    def failed(self) -> list[CommandResult]:
        """Devices that were sent the command and failed (refusals are counted apart: nothing was sent)."""
        return [result for result in self.results if not result.ok and not result.refused]

    def elapsed_s(self, now: float | None = None) -> float:
        end = self.ended if self.ended is not None else (time.time() if now is None else now)
        return max(end - self.started, 0.0)

    def progress_line(self, now: float | None = None) -> str:
        """E.g. "37/136 done, 2 failed · 4.2 s", with refusals, cancellation and the slowest device when known."""
        progress = self.progress
        line = f"{progress.done}/{self.total} done, {progress.sent_failed} failed"
        if progress.refused:
            line += f", {progress.refused} refused by the read-only guard"
            if progress.rules:
                line += f" (rule {', '.join(sorted(progress.rules))})"
        line += f" · {self.elapsed_s(now):.1f} s"
        if self.cancelled:
            line += f" · cancelled, {self.total - progress.done} without a result"
        if self.error:
            line += f" · stopped: {self.error}"
        slowest = progress.slowest
        if self.finished and not self.cancelled and progress.sent > 1 and slowest is not None:
            line += f" · slowest {slowest.device} {slowest.duration_s:.1f} s"
        if self.allow_config:
            line += " · guard lifted for this run"
        if self.saved_to is not None:
            line += f" · saved to {self.saved_to}"
        return line


# -- grouping identical outputs ---------------------------------------------------------------------------------


def group_key(group: OutputGroup) -> str:
    """A row key that stays the same while a group grows: its outcome and the first output that formed it."""
    basis = f"{group.ok}\0{group.reason}\0{group.output}"
    return "group-" + hashlib.sha1(basis.encode("utf-8", "replace")).hexdigest()[:16]


def representative(run: CommandRun, group: OutputGroup) -> CommandResult | None:
    """A result standing for the group: the first of its devices to answer."""
    members = set(group.devices)
    return next((result for result in run.results if result.device in members), None)


def default_save_dir(state_dir: Path, command: str, when: float | None = None) -> Path:
    """`<state>/runs/20250615-150640-show-version`: sortable by time, recognisable by command."""
    stamp = datetime.fromtimestamp(time.time() if when is None else when).strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^a-z0-9]+", "-", command.casefold()).strip("-")[:40].strip("-") or "command"
    return state_dir / "runs" / f"{stamp}-{slug}"
