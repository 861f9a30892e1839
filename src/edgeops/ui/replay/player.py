"""Playing a recording back: a fleet store as it was at the replayed time, moved forward by applying the recorded
events at the replay speed, rebuilt when the replay jumps back.

No Textual here: the console's ReplayController drives a ReplayPlayer on a timer; tests drive it by hand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from edgeops.fleet.events import FleetEvent, apply_event
from edgeops.inventory.model import Inventory
from edgeops.ui.replay.reading import RecordingReader, store_and_clock

SPEEDS: tuple[int, ...] = (1, 2, 5, 10, 20, 30, 60)
DEFAULT_STEP_S = 2.0  # one sample interval of the lab and of the default gNMI subscriptions


@dataclass(frozen=True, slots=True)
class Moved:
    """What a move did: the store was rebuilt (readers must start over) or events were applied to it."""

    rebuilt: bool
    applied: int


class ReplayPlayer:
    """The fleet at a replayed time, moving at `speed` times real time while playing.

    `advance(real_seconds)` is called on a timer; `seek`, `step`, `faster`, `slower`, `toggle` are the keys.
    Seeking forward applies the recorded events in between, in order, the clock set to each event's time before it
    is applied; seeking back asks the recording for the store at that time (`store_at`) and replaces the store.
    """

    def __init__(
        self,
        recording: RecordingReader,
        inventory: Inventory,
        *,
        at: float | None = None,
        speed: int = 1,
        step_s: float = DEFAULT_STEP_S,
        counters_of: str | None = None,
    ) -> None:
        self.recording = recording
        self.inventory = inventory
        # Whose interface counters the store is given: the device on screen ("" for none; None for every device,
        # which costs a seek the decoding of the whole fleet's counters). See `focus_on`.
        self.counters_of = counters_of
        self.start, self.end = recording.span()
        self.step_s = step_s
        self.speed = min(SPEEDS, key=lambda s: abs(s - speed))
        self.paused = False
        time = self._clamp(self.start if at is None else at)
        self.store, self.clock = store_and_clock(recording, time, inventory, counters_of=counters_of)

    @property
    def time(self) -> float:
        return self.clock.t

    def _clamp(self, when: float) -> float:
        return min(max(when, self.start), self.end)

    def refresh_span(self) -> None:
        """Read the recording's span again (a console may still be writing it)."""
        self.start, self.end = self.recording.span()

    def advance(self, real_seconds: float) -> Moved:
        """Play on by `real_seconds` of real time (nothing while paused; stops at the end of the recording)."""
        if self.paused or real_seconds <= 0:
            return Moved(False, 0)
        moved = self.seek(self.time + real_seconds * self.speed)
        if self.time >= self.end:
            self.paused = True
        return moved

    def seek(self, when: float) -> Moved:
        target = self._clamp(when)
        if target < self.time:
            return self._rebuild(target)
        applied = 0
        since = self.time
        # The reader hands events in time order.
        events: Sequence[FleetEvent] = list(self.recording.events(since, target, counters_of=self.counters_of))
        for event in events:
            if event.time <= since:
                continue  # the store has it already (store_at(t) holds every event up to and at t)
            self.clock.t = max(self.clock.t, event.time)
            apply_event(self.store, event)
            applied += 1
        self.clock.t = target
        self.store.refresh_staleness()
        return Moved(False, applied)

    def focus_on(self, device: str) -> Moved:
        """Show `device`'s counters ("" for none): the store is rebuilt at the same time when that changes."""
        if self.counters_of is None or device == self.counters_of:
            return Moved(False, 0)
        self.counters_of = device
        return self._rebuild(self.time)

    def _rebuild(self, target: float) -> Moved:
        self.store, self.clock = store_and_clock(self.recording, target, self.inventory, counters_of=self.counters_of)
        return Moved(True, 0)

    def step(self, intervals: int) -> Moved:
        """Pause and move by whole intervals (negative: back)."""
        self.paused = True
        return self.seek(self.time + intervals * self.step_s)

    def toggle(self) -> None:
        if self.paused and self.time >= self.end:
            return  # nothing left to play
        self.paused = not self.paused

    def faster(self) -> None:
        self.speed = next((s for s in SPEEDS if s > self.speed), SPEEDS[-1])

    def slower(self) -> None:
        self.speed = next((s for s in reversed(SPEEDS) if s < self.speed), SPEEDS[0])


_CLOCK_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def parse_clock_time(text: str, start: float, end: float, tz: tzinfo | None = None) -> float:
    """HH:MM[:SS] as the latest such time at or before the end of a recording (so 23:50 typed at 00:10 means
    yesterday's), in `tz` (None: local time). ValueError for anything else, or a time the recording does not hold."""
    match = _CLOCK_TIME.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time of day (HH:MM or HH:MM:SS)")
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"{text!r} is not a time of day (HH:MM or HH:MM:SS)")
    last = datetime.fromtimestamp(end, tz)
    moment = last.replace(hour=hours, minute=minutes, second=seconds, microsecond=0)
    if moment.timestamp() > end:
        moment -= timedelta(days=1)
    when = moment.timestamp()
    if when < start - 1.0:
        first = datetime.fromtimestamp(start, tz).strftime("%H:%M:%S")
        final = last.strftime("%H:%M:%S")
        raise ValueError(f"the recording holds {first} to {final}, not {text.strip()}")
    return max(when, start)
