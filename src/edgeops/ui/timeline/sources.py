"""Where a timeline's data comes from: the live fleet store (with a watch and the audit log), or a recording."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from edgeops.clock import Clock
from edgeops.fleet.audit import read_audited_commands
from edgeops.fleet.store import FleetStore
from edgeops.ui.timeline.model import CommandMark, LiveWatch, Timeline, TimelineSubject, TimeRange, live_timeline
from edgeops.ui.timeline.recorded import WATCHED_RANGE_S, LongRangeTimeline, RecordedTimeline

log = logging.getLogger(__name__)


class TimelineSource(Protocol):
    """What the timeline screen asks of its data: the time now (live or replayed), a look once a second, and the
    timeline of a range ending at a given time."""

    @property
    def name(self) -> str: ...  # "live" or "replay"

    def now(self) -> float: ...

    def observe(self) -> None: ...

    def timeline(self, until: float, time_range: TimeRange) -> Timeline: ...


def audit_command_marks(path: Path, device: str) -> list[CommandMark]:
    """The commands the audit log holds for one device (rotated logs included), oldest first."""
    marks = []
    try:
        commands = read_audited_commands(path)
    except OSError as error:
        log.warning("the audit log could not be read for the timeline: %s", error)
        return []
    for command in commands:
        entry = command.entry
        if entry.device != device:
            continue
        try:
            when = datetime.fromisoformat(entry.time).timestamp()
        except ValueError:
            continue
        marks.append(CommandMark(when, entry.device, entry.command, command.status))
    return sorted(marks, key=lambda mark: mark.time)


class LiveTimelineSource:
    """The live console's timeline: the store's history, what a LiveWatch sees from the moment the timeline opens,
    and the commands of the audit log (read once, in the background, by the screen: `set_commands`)."""

    name = "live"

    def __init__(
        self,
        subject: TimelineSubject,
        store: Callable[[], FleetStore],
        clock: Clock,
        *,
        recorded: LongRangeTimeline | None = None,
    ) -> None:
        self.subject = subject
        self._store = store
        self._clock = clock
        self.watch = LiveWatch(subject)
        self._commands: Sequence[CommandMark] = ()
        # The console's own recording, for the ranges longer than the store's 10 minutes (None: not recording).
        self._recorded = recorded

    def now(self) -> float:
        return self._clock.now()

    def set_commands(self, commands: Sequence[CommandMark]) -> None:
        self._commands = tuple(commands)

    def observe(self) -> None:
        self.watch.observe(self._store(), self._clock.now())

    def close(self) -> None:
        """Let go of the recording (the timeline closed)."""
        if self._recorded is not None:
            closing = getattr(self._recorded.recording, "close", None)
            if closing is not None:
                closing()
            self._recorded = None

    def timeline(self, until: float, time_range: TimeRange) -> Timeline:
        if self._recorded is not None and time_range.seconds > WATCHED_RANGE_S:
            return replace(self._recorded.timeline(until, time_range, self._commands), source="live")
        return live_timeline(self._store(), self.watch, until, time_range, self._commands)


class ReplayTimelineSource:
    """A timeline in a replay: the recording, replayed for the subject's device alone up to the replayed time."""

    name = "replay"

    def __init__(self, timeline: RecordedTimeline, now: Callable[[], float], commands: Sequence[CommandMark]) -> None:
        self._timeline = timeline
        self._now = now
        self._commands = tuple(commands)

    def now(self) -> float:
        return self._now()

    def observe(self) -> None:
        """Nothing to look at: the recording already holds it all."""

    def timeline(self, until: float, time_range: TimeRange) -> Timeline:
        return self._timeline.timeline(until, time_range, self._commands)
