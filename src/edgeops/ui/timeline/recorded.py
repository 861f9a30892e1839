"""A timeline from a recording: the subject's device replayed alone, from the range's start, through a watch.

The recorded events of that one device are applied to a scratch fleet store, and a LiveWatch (keeping rates too)
looks at it after each event: the same code that watches the live store finds the oper-state changes, the alarms
raised and cleared and every series, so a replayed timeline and a live one cannot disagree on what a flap is.
Moving forward applies only the new events; moving back or changing the range starts again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from edgeops.devices.interface_rows import ROW_INDEX
from edgeops.devices.samples import Alarm
from edgeops.fleet.events import FleetEvent, HealthChanged, InterfacesChanged, apply_event
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Inventory
from edgeops.recording.reader import ReplayClock
from edgeops.recording.schema import Metric
from edgeops.ui.replay.reading import RecordingReader, store_and_clock
from edgeops.ui.timeline.model import (
    CommandMark,
    Lane,
    LiveWatch,
    Mark,
    MarkKind,
    Point,
    Series,
    Timeline,
    TimelineSubject,
    TimeRange,
    Unit,
    alarm_concerns_port,
    alarm_text,
)

# Up to this range a timeline replays its device's events through a LiveWatch (every sample, exactly as live);
# beyond it the plots come from the recording's series (binned, one-minute rollups where it is older) and the marks
# from a scan of the device's events.
WATCHED_RANGE_S = 600.0
SERIES_BINS = 240  # points per plotted series of a long range: about one per braille dot at 120 columns


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
        self._long = LongRangeTimeline(recording, inventory, subject)

    def timeline(self, until: float, time_range: TimeRange, commands: Iterable[CommandMark] = ()) -> Timeline:
        if time_range.seconds > WATCHED_RANGE_S:
            return self._long.timeline(until, time_range, commands)
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


class LongRangeTimeline:
    """An hour or a day of one subject: plots from `Recording.series`, marks from a scan of the device's events,
    the state at the range's start from `store_at`. Recomputed when the replayed time moved by a bin or more."""

    def __init__(self, recording: RecordingReader, inventory: Inventory, subject: TimelineSubject) -> None:
        self.recording = recording
        self.inventory = inventory
        self.subject = subject
        self._cached: Timeline | None = None

    def timeline(self, until: float, time_range: TimeRange, commands: Iterable[CommandMark] = ()) -> Timeline:
        step = time_range.seconds / SERIES_BINS
        cached = self._cached
        if cached is not None and cached.span == time_range.seconds and 0 <= until - cached.until < step:
            return cached
        since = until - time_range.seconds
        store, _ = store_and_clock(self.recording, since, self.inventory)
        device, port = self.subject.device, self.subject.port
        ports = [i.name for i in store.interfaces(device, with_history=False)]
        alarms = {a.alarm_id: a for a in store.alarms(device) if port is None or alarm_concerns_port(a, port, ports)}
        oper: str | None = None
        if port is not None:
            oper = next((i.oper_state for i in store.interfaces(device, with_history=False) if i.name == port), None)
        marks = scan_marks(self.recording.events(since, until, device=device), self.subject, oper, alarms, ports)
        marks.extend(
            Mark(c.time, MarkKind.COMMAND, f"{c.command} ({c.status})")
            for c in commands
            if c.device == device and since <= c.time <= until
        )
        sensors: tuple[str, ...] = ()
        if port is None:
            # The sensors the device reports at the end of the range (at its start it may not have been recorded).
            health = store_and_clock(self.recording, until, self.inventory)[0].device(device).health
            if health is not None and health.temperatures:
                sensors = tuple(reading.sensor for reading in health.temperatures)
        timeline = Timeline(
            subject=self.subject,
            since=since,
            until=until,
            series=self._series(since, until, step, sensors),
            marks=tuple(sorted(marks, key=lambda m: m.time)),
            source="recording",
            oper_at_start=oper,
            alarms_at_start=frozenset(alarms),
        )
        self._cached = timeline
        return timeline

    def _series(self, since: float, until: float, step: float, sensors: tuple[str, ...]) -> tuple[Series, ...]:
        device, port = self.subject.device, self.subject.port

        def points(metrics: tuple[Metric, ...], on: str | None) -> tuple[Point, ...]:
            # The largest of each bin (a burst stays visible), summed over the metrics (in + out errors).
            summed: dict[float, float] = {}
            for metric in metrics:
                for point in self.recording.series(device, on, metric, since, until, step):
                    summed[point.time] = summed.get(point.time, 0.0) + point.high
            return tuple(sorted(summed.items()))

        if port is not None:
            return (
                Series("in_bps", "In", Unit.BITS_PER_SECOND, points((Metric.IN_BPS,), port)),
                Series("out_bps", "Out", Unit.BITS_PER_SECOND, points((Metric.OUT_BPS,), port)),
                Series("errors_ps", "Errors", Unit.PER_SECOND, points((Metric.IN_ERRORS, Metric.OUT_ERRORS), port)),
                Series(
                    "discards_ps",
                    "Discards",
                    Unit.PER_SECOND,
                    points((Metric.IN_DISCARDS, Metric.OUT_DISCARDS), port),
                ),
            )
        series = [
            Series("cpu_pct", "CPU", Unit.PERCENT, points((Metric.CPU,), None)),
            Series("memory_bytes", "Memory", Unit.BYTES, points((Metric.MEMORY,), None)),
        ]
        series.extend(
            Series(f"temp:{sensor}", sensor, Unit.CELSIUS, points((Metric.TEMPERATURE,), sensor)) for sensor in sensors
        )
        return tuple(series)


_OPER_AT = ROW_INDEX["oper_state"]
_LAST_CHANGE_AT = ROW_INDEX["last_change"]


def scan_marks(
    events: Iterable[FleetEvent],
    subject: TimelineSubject,
    oper: str | None,
    alarms: dict[str, Alarm],
    ports: list[str],
) -> list[Mark]:
    """The oper-state changes of the subject's port and the alarms raised and cleared, read off the device's events
    without a store (what a LiveWatch finds by looking at one, for ranges too long to replay)."""
    marks: list[Mark] = []
    port = subject.port
    known_ports = set(ports)
    active = dict(alarms)
    for event in events:
        if isinstance(event, InterfacesChanged) and port is not None:
            known_ports.update(event.batch.rows)
            row = event.batch.rows.get(port)
            state = None if row is None else row[_OPER_AT]
            if state is not None and oper is not None and state != oper:
                changed = row[_LAST_CHANGE_AT] if row is not None else None
                marks.append(_oper_change(changed if changed is not None else event.time, state))
            if state is not None:
                oper = state
        elif isinstance(event, HealthChanged) and event.sample.alarms is not None:
            now = {
                a.alarm_id: a
                for a in event.sample.alarms
                if port is None or alarm_concerns_port(a, port, sorted(known_ports))
            }
            for alarm_id, alarm in now.items():
                if alarm_id not in active:
                    when = alarm.raised_at if alarm.raised_at is not None else event.time
                    marks.append(Mark(when, MarkKind.ALARM_RAISED, alarm_text(alarm), alarm_id))
            for alarm_id, alarm in active.items():
                if alarm_id not in now:
                    marks.append(Mark(event.time, MarkKind.ALARM_CLEARED, alarm_text(alarm), alarm_id))
            active = now
    return marks


def _oper_change(when: float, state: str) -> Mark:
    if state == "up":
        return Mark(when, MarkKind.PORT_UP, "port up")
    return Mark(when, MarkKind.PORT_DOWN, f"port {state}")
