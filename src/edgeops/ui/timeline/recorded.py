"""A timeline from a recording: the subject's device replayed alone, from the range's start, through a watch.

The recorded events of that one device are applied to a scratch fleet store, and a LiveWatch (keeping rates too)
looks at it after each event: the same code that watches the live store finds the oper-state changes, the alarms
raised and cleared and every series, so a replayed timeline and a live one cannot disagree on what a flap is.
Moving forward applies only the new events; moving back or changing the range starts again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from edgeops.fleet.events import apply_event
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Inventory
from edgeops.recording.reader import ReplayClock
from edgeops.ui.replay.reading import RecordingReader, store_and_clock
from edgeops.ui.timeline.model import (
    CommandMark,
    Lane,
    LiveWatch,
    Mark,
    MarkKind,
    Series,
    Timeline,
    TimelineSubject,
    TimeRange,
    alarm_concerns_port,
)


class RecordedTimeline:
    """The timeline of one subject from a recording, kept up to date as the replayed time moves."""

    def __init__(
        self,
        recording: RecordingReader,
        inventory: Inventory,
        subject: TimelineSubject,
    ) -> None:
        self.recording = recording
        self.inventory = inventory
        self.subject = subject
        self._since: float | None = None
        self._until = 0.0
        self._store: FleetStore | None = None
        self._clock: ReplayClock | None = None
        self._watch = LiveWatch(subject, with_rates=True)
        self._oper_at_start: str | None = None
        self._alarms_at_start: frozenset[str] = frozenset()

    def timeline(self, until: float, time_range: TimeRange, commands: Iterable[CommandMark] = ()) -> Timeline:
        since = until - time_range.seconds
        if self._since != since and (self._since is None or until < self._until or since < self._since):
            self._start(since)
        self._play_to(until)
        watch = self._watch
        series = tuple(
            Series(key, *watch.labels[key], tuple(p for p in points if since <= p[0] <= until))
            for key, points in self._ordered(watch.samples)
        )
        marks = [mark for mark in watch.marks if since <= mark.time <= until]
        marks.extend(
            Mark(c.time, MarkKind.COMMAND, f"{c.command} ({c.status})")
            for c in commands
            if c.device == self.subject.device and since <= c.time <= until
        )
        return Timeline(
            subject=self.subject,
            since=since,
            until=until,
            series=series,
            marks=tuple(sorted(marks, key=lambda m: m.time)),
            source="recording",
            oper_at_start=self._oper_before(since),
            alarms_at_start=self._alarms_before(since),
        )

    def _oper_before(self, since: float) -> str | None:
        """The port's state at `since`: its last change before it, else its state where the watch began."""
        changes = [m for m in self._watch.marks if m.lane is Lane.OPER and m.time <= since]
        if not changes:
            return self._oper_at_start
        return "up" if changes[-1].kind is MarkKind.PORT_UP else "down"

    def _alarms_before(self, since: float) -> frozenset[str]:
        active = set(self._alarms_at_start)
        for mark in self._watch.marks:
            if mark.time > since:
                break
            if mark.kind is MarkKind.ALARM_RAISED:
                active.add(mark.key)
            elif mark.kind is MarkKind.ALARM_CLEARED:
                active.discard(mark.key)
        return frozenset(active)

    def _ordered(self, samples: dict[str, list[Any]]) -> list[tuple[str, list[Any]]]:
        order = ["in_bps", "out_bps", "errors_ps", "discards_ps", "cpu_pct", "memory_pct"]
        keys = sorted(samples, key=lambda k: (order.index(k) if k in order else len(order), k))
        return [(key, samples[key]) for key in keys]

    def _start(self, since: float) -> None:
        """The device as it was at `since`, watched from there on."""
        self._since = since
        self._until = since
        store, self._clock = store_and_clock(self.recording, since, self.inventory)
        self._store = store
        self._watch = LiveWatch(self.subject, seconds=float("inf"), with_rates=True)
        self._watch.observe(store, since)
        self._oper_at_start = self._oper_at(since)
        device = store.device(self.subject.device)
        port = self.subject.port
        if port is None:
            self._alarms_at_start = frozenset(alarm.alarm_id for alarm in device.alarms)
        else:
            ports = [i.name for i in store.interfaces(self.subject.device, with_history=False)]
            self._alarms_at_start = frozenset(
                alarm.alarm_id for alarm in device.alarms if alarm_concerns_port(alarm, port, ports)
            )

    def _oper_at(self, since: float) -> str | None:
        store = self._store
        if store is None or self.subject.port is None:
            return None
        try:
            return store.interface(self.subject.device, self.subject.port).oper_state
        except KeyError:
            return None

    def _play_to(self, until: float) -> None:
        store, clock = self._store, self._clock
        if store is None or clock is None or until <= self._until:
            return
        after = self._until
        for event in self.recording.events(after, until, device=self.subject.device):
            if event.time <= after:
                continue  # the store has it already
            clock.t = max(clock.t, event.time)
            apply_event(store, event)
            self._watch.observe(store, event.time)
        self._until = until
        clock.t = until
