"""What a timeline shows: the series and marks of one port or one device over a time range, whatever the source.

A `Timeline` is plain data (no Textual): the live console builds it from the fleet store's history and what a
`LiveWatch` saw while the timeline was open, a replay builds it from a recording; the view draws it and "copy as
text" writes it out.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from edgeops.devices.samples import Alarm
from edgeops.fleet.store import DeviceSnapshot, FleetStore, InterfaceSnapshot


class TimeRange(enum.Enum):
    """The ranges a timeline spans (the value is the span in seconds)."""

    TEN_MINUTES = 600
    HOUR = 3_600
    DAY = 86_400

    @property
    def seconds(self) -> float:
        return float(self.value)

    @property
    def label(self) -> str:
        return {600: "10 min", 3_600: "1 h", 86_400: "24 h"}[self.value]


class Unit(enum.StrEnum):
    """How a series' values are read (and formatted)."""

    BITS_PER_SECOND = "b/s"
    PER_SECOND = "/s"
    PERCENT = "%"
    CELSIUS = "°C"
    BYTES = "B"


class MarkKind(enum.StrEnum):
    """Instants drawn on a timeline's lanes."""

    PORT_DOWN = "port-down"
    PORT_UP = "port-up"
    ALARM_RAISED = "alarm-raised"
    ALARM_CLEARED = "alarm-cleared"
    COMMAND = "command"


class Lane(enum.StrEnum):
    """The row of marks an instant is drawn on."""

    OPER = "oper"
    ALARMS = "alarms"
    COMMANDS = "commands"


LANE_OF: dict[MarkKind, Lane] = {
    MarkKind.PORT_DOWN: Lane.OPER,
    MarkKind.PORT_UP: Lane.OPER,
    MarkKind.ALARM_RAISED: Lane.ALARMS,
    MarkKind.ALARM_CLEARED: Lane.ALARMS,
    MarkKind.COMMAND: Lane.COMMANDS,
}

Point = tuple[float, float | None]  # (unix time, value); None is a gap


@dataclass(frozen=True, slots=True)
class Series:
    """One measured value over time, oldest first."""

    key: str  # "in_bps", "out_bps", "errors_ps", "discards_ps", "cpu_pct", "memory_pct", "temp:<sensor>"
    label: str  # what the plot's gutter says (device text sanitised by the view)
    unit: Unit
    points: tuple[Point, ...]

    def within(self, since: float, until: float) -> tuple[Point, ...]:
        return tuple(point for point in self.points if since <= point[0] <= until)

    def value_at(self, when: float, tolerance: float) -> float | None:
        """The value of the point nearest `when` within `tolerance` seconds (None: no data there)."""
        best: Point | None = None
        for point in self.points:
            distance = abs(point[0] - when)
            if distance <= tolerance and (best is None or distance < abs(best[0] - when)):
                best = point
        return None if best is None else best[1]


@dataclass(frozen=True, slots=True)
class Mark:
    """Something that happened at one instant: a port went down or up, an alarm was raised or cleared, a command ran.

    `key` ties a raise to its clear (the alarm id) and `text` is what the event list says (device text: sanitised
    by whoever shows it).
    """

    time: float
    kind: MarkKind
    text: str
    key: str = ""

    @property
    def lane(self) -> Lane:
        return LANE_OF[self.kind]


@dataclass(frozen=True, slots=True)
class TimelineSubject:
    """What a timeline is about: one port of a device, or (port None) the device's own vital signs."""

    device: str
    port: str | None = None

    @property
    def title(self) -> str:
        return self.device if self.port is None else f"{self.device} {self.port}"


@dataclass(frozen=True, slots=True)
class Timeline:
    """The series and marks of a subject between `since` and `until` (unix times), and the state at `since`.

    `oper_at_start` is the port's oper state when the range begins (None: unknown or a device timeline) and
    `alarms_at_start` the alarm ids already active then: with the marks they give the down and alarm spans.
    """

    subject: TimelineSubject
    since: float
    until: float
    series: tuple[Series, ...]
    marks: tuple[Mark, ...]
    source: str  # "live" or "recording"
    oper_at_start: str | None = None
    alarms_at_start: frozenset[str] = frozenset()

    @property
    def span(self) -> float:
        return self.until - self.since

    def marks_in(self, lane: Lane) -> tuple[Mark, ...]:
        return tuple(mark for mark in self.marks if mark.lane is lane)

    def down_spans(self) -> tuple[tuple[float, float], ...]:
        """Where the port was not up: (start, end) pairs inside the range."""
        spans: list[tuple[float, float]] = []
        down_since = self.since if self.oper_at_start not in (None, "up") else None
        for mark in sorted(self.marks_in(Lane.OPER), key=lambda m: m.time):
            if mark.kind is MarkKind.PORT_DOWN and down_since is None:
                down_since = mark.time
            elif mark.kind is MarkKind.PORT_UP and down_since is not None:
                spans.append((down_since, mark.time))
                down_since = None
        if down_since is not None:
            spans.append((down_since, self.until))
        return tuple(spans)

    def alarm_spans(self) -> tuple[tuple[float, float], ...]:
        """Where at least one alarm was active: (start, end) pairs inside the range."""
        active = set(self.alarms_at_start)
        spans: list[tuple[float, float]] = []
        start = self.since if active else None
        for mark in sorted(self.marks_in(Lane.ALARMS), key=lambda m: m.time):
            if mark.kind is MarkKind.ALARM_RAISED:
                active.add(mark.key)
            else:
                active.discard(mark.key)
            if active and start is None:
                start = mark.time
            elif not active and start is not None:
                spans.append((start, mark.time))
                start = None
        if start is not None:
            spans.append((start, self.until))
        return tuple(spans)


# ---------------------------------------------------------------------------------------------
# Which alarms concern a port


def alarm_concerns_port(alarm: Alarm, port: str, ports: Iterable[str]) -> bool:
    """An alarm belongs on a port's timeline when it names the port, or names no port of the device at all (a
    device-wide alarm: a power supply, a full disk). One naming another port of the device does not."""
    resource = f"{alarm.resource} {alarm.text}"
    if _names(resource, port):
        return True
    return not any(_names(resource, other) for other in ports if other != port)


def _names(text: str, port: str) -> bool:
    """`text` mentions `port` as a whole name (ethernet-1/1 is not named by ethernet-1/10)."""
    start = text.find(port)
    while start >= 0:
        end = start + len(port)
        before = text[start - 1] if start > 0 else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before in "-/") and not (after.isalnum() or after in "/"):
            return True
        start = text.find(port, start + 1)
    return False


def alarm_text(alarm: Alarm) -> str:
    return f"{alarm.severity} {alarm.resource}: {alarm.text}".strip()


# ---------------------------------------------------------------------------------------------
# Live: the store's history, and what a watch saw while the timeline was open


@dataclass
class LiveWatch:
    """What the fleet store does not keep, seen while a timeline is open: oper-state changes, alarms raised and
    cleared, error and discard rates of a port, memory and temperatures of a device.

    `observe` is called on every refresh tick with the store's current snapshots; it keeps at most `seconds` of
    samples (the store's own history window).
    """

    subject: TimelineSubject
    seconds: float = 600.0
    with_rates: bool = False  # also keep traffic (port) or CPU (device): a recording's store is not the live one
    samples: dict[str, list[Point]] = field(default_factory=dict)
    labels: dict[str, tuple[str, Unit]] = field(default_factory=dict)
    marks: list[Mark] = field(default_factory=list)
    _oper: str | None = None
    _alarms: dict[str, Alarm] | None = None

    def observe(self, store: FleetStore, now: float) -> None:
        port = self.subject.port
        if port is not None:
            # Without history, and without the device snapshot: a replayed timeline looks after every event.
            interfaces = store.interfaces(self.subject.device, with_history=False)
            interface = next((snapshot for snapshot in interfaces if snapshot.name == port), None)
            if interface is None:
                return
            self._observe_port(interface, now)
            ports = [snapshot.name for snapshot in interfaces]
            found = store.alarms(self.subject.device)
            alarms = {a.alarm_id: a for a in found if alarm_concerns_port(a, port, ports)}
        else:
            device = store.device(self.subject.device)
            self._observe_device(device, now)
            alarms = {a.alarm_id: a for a in device.alarms}
        self._observe_alarms(alarms, now)
        self._forget_before(now - self.seconds)

    def _add(self, key: str, label: str, unit: Unit, when: float, value: float | None) -> None:
        self.labels.setdefault(key, (label, unit))
        points = self.samples.setdefault(key, [])
        if points and points[-1][0] >= when:
            points[-1] = (points[-1][0], value)
        else:
            points.append((when, value))

    def _observe_port(self, interface: InterfaceSnapshot, now: float) -> None:
        rates = interface.rates
        when = interface.last_update if interface.last_update is not None else now
        if self.with_rates:
            self._add("in_bps", "In", Unit.BITS_PER_SECOND, when, rates.in_bps)
            self._add("out_bps", "Out", Unit.BITS_PER_SECOND, when, rates.out_bps)
        self._add("errors_ps", "Errors", Unit.PER_SECOND, when, _total(rates.in_errors_ps, rates.out_errors_ps))
        self._add("discards_ps", "Discards", Unit.PER_SECOND, when, _total(rates.in_discards_ps, rates.out_discards_ps))
        state = interface.oper_state
        if state is not None and self._oper is not None and state != self._oper:
            changed = interface.last_change if interface.last_change is not None else now
            self.marks.append(_oper_mark(changed, state))
        if state is not None:
            self._oper = state

    def _observe_device(self, device: DeviceSnapshot, now: float) -> None:
        health = device.health
        if health is None:
            return
        when = device.last_update if device.last_update is not None else now
        if self.with_rates:
            self._add("cpu_pct", "CPU", Unit.PERCENT, when, health.cpu_pct)
        if health.memory_used is not None and health.memory_total:
            self._add("memory_pct", "Memory", Unit.PERCENT, when, health.memory_used * 100.0 / health.memory_total)
        for reading in health.temperatures or ():
            self._add(f"temp:{reading.sensor}", reading.sensor, Unit.CELSIUS, when, reading.celsius)

    def _observe_alarms(self, alarms: dict[str, Alarm], now: float) -> None:
        previous = self._alarms
        self._alarms = alarms
        if previous is None:
            return  # the first look: what is active now is told by its raise time, not as news
        for alarm_id, alarm in alarms.items():
            if alarm_id not in previous:
                when = alarm.raised_at if alarm.raised_at is not None else now
                self.marks.append(Mark(when, MarkKind.ALARM_RAISED, alarm_text(alarm), alarm_id))
        for alarm_id, alarm in previous.items():
            if alarm_id not in alarms:
                self.marks.append(Mark(now, MarkKind.ALARM_CLEARED, alarm_text(alarm), alarm_id))

    def _forget_before(self, oldest: float) -> None:
        for key, points in self.samples.items():
            if points and points[0][0] < oldest:
                self.samples[key] = [point for point in points if point[0] >= oldest]
        if self.marks and self.marks[0].time < oldest:
            self.marks = [mark for mark in self.marks if mark.time >= oldest]


def _total(a: float | None, b: float | None) -> float | None:
    if a is None and b is None:
        return None
    return (a or 0.0) + (b or 0.0)


def _oper_mark(when: float, state: str) -> Mark:
    if state == "up":
        return Mark(when, MarkKind.PORT_UP, "port up")
    return Mark(when, MarkKind.PORT_DOWN, f"port {state}")


@dataclass(frozen=True, slots=True)
class CommandMark:
    """A command run on a device, for its timeline (from the audit log or a recording)."""

    time: float
    device: str
    command: str
    status: str  # "ok", a failure code, or "outcome unknown"


def live_timeline(
    store: FleetStore,
    watch: LiveWatch,
    until: float,
    time_range: TimeRange,
    commands: Sequence[CommandMark] = (),
) -> Timeline:
    """The timeline of `watch.subject` from the store's history (traffic, CPU), what the watch saw, the alarms
    active now (at their raise times) and the commands run on the device."""
    subject = watch.subject
    since = until - time_range.seconds
    series: list[Series] = []
    marks: list[Mark] = list(watch.marks)
    device = store.device(subject.device)
    oper_at_start: str | None = None
    if subject.port is not None:
        try:
            interface = store.interface(subject.device, subject.port)
        except KeyError:
            interface = None
        history = interface.history if interface is not None else ()
        series.append(Series("in_bps", "In", Unit.BITS_PER_SECOND, tuple((t, i) for t, i, _ in history)))
        series.append(Series("out_bps", "Out", Unit.BITS_PER_SECOND, tuple((t, o) for t, _, o in history)))
        series.extend(_watched(watch, ("errors_ps", "discards_ps")))
        if interface is not None:
            oper_at_start = _oper_before(interface, marks, since)
            if (
                interface.last_change is not None
                and interface.oper_state is not None
                and since <= interface.last_change <= until
                and not any(m.lane is Lane.OPER and abs(m.time - interface.last_change) < 1.0 for m in marks)
            ):
                marks.append(_oper_mark(interface.last_change, interface.oper_state))
        ports = [snapshot.name for snapshot in store.interfaces(subject.device, with_history=False)]
        alarms = [a for a in device.alarms if alarm_concerns_port(a, subject.port, ports)]
    else:
        series.append(Series("cpu_pct", "CPU", Unit.PERCENT, tuple(device.cpu_history)))
        series.extend(_watched(watch, ("memory_pct",)))
        series.extend(_watched(watch, tuple(sorted(k for k in watch.samples if k.startswith("temp:")))))
        alarms = list(device.alarms)
    raised = {m.key for m in marks if m.kind is MarkKind.ALARM_RAISED}
    alarms_at_start: set[str] = set()
    for alarm in alarms:
        if alarm.alarm_id in raised:
            continue
        if alarm.raised_at is not None and alarm.raised_at >= since:
            marks.append(Mark(alarm.raised_at, MarkKind.ALARM_RAISED, alarm_text(alarm), alarm.alarm_id))
        else:
            alarms_at_start.add(alarm.alarm_id)
    for command in commands:
        if command.device == subject.device and since <= command.time <= until:
            marks.append(Mark(command.time, MarkKind.COMMAND, f"{command.command} ({command.status})"))
    return Timeline(
        subject=subject,
        since=since,
        until=until,
        series=tuple(Series(s.key, s.label, s.unit, s.within(since, until)) for s in series),
        marks=tuple(sorted((m for m in marks if since <= m.time <= until), key=lambda m: m.time)),
        source="live",
        oper_at_start=oper_at_start,
        alarms_at_start=frozenset(alarms_at_start),
    )


def _watched(watch: LiveWatch, keys: Sequence[str]) -> list[Series]:
    found = []
    for key in keys:
        label, unit = watch.labels.get(key, (key, Unit.PER_SECOND))
        if key in watch.samples or key in ("errors_ps", "discards_ps"):
            found.append(Series(key, label, unit, tuple(watch.samples.get(key, ()))))
    return found


def _oper_before(interface: InterfaceSnapshot, marks: Sequence[Mark], since: float) -> str | None:
    """The port's oper state at `since`: the state before the first change after it, else the state now."""
    changes = sorted((m for m in marks if m.lane is Lane.OPER and m.time >= since), key=lambda m: m.time)
    if changes:
        return "down" if changes[0].kind is MarkKind.PORT_UP else "up"
    if interface.last_change is not None and interface.last_change >= since and interface.oper_state is not None:
        return "down" if interface.oper_state == "up" else "up"
    return interface.oper_state


# ---------------------------------------------------------------------------------------------
# As text (copy to the clipboard, paste into the incident)

MAX_TEXT_ROWS = 1_500  # more than this is binned (max per bin) so a 24 h copy still fits a terminal's clipboard


def clock_text(when: float, tz: tzinfo | None, *, seconds: bool = True) -> str:
    """A time as the engineer reads it: HH:MM[:SS] in `tz` (None: the local time zone)."""
    moment = datetime.fromtimestamp(when, tz)
    return moment.strftime("%H:%M:%S" if seconds else "%H:%M")


def stamp_text(when: float, tz: tzinfo | None) -> str:
    """A full timestamp with its offset, for text that leaves the console."""
    return datetime.fromtimestamp(when, tz).astimezone(tz).isoformat(timespec="seconds")


def timeline_text(timeline: Timeline, tz: tzinfo | None = None) -> str:
    """The timeline as plain text: a header, the series as CSV (one row per time), and the events."""
    subject = timeline.subject
    lines = [
        f"# edgeops timeline: {subject.title} from {stamp_text(timeline.since, tz)} "
        f"to {stamp_text(timeline.until, tz)} ({timeline.source})"
    ]
    series = timeline.series
    rows = _rows(series)
    step = 0.0
    if len(rows) > MAX_TEXT_ROWS:
        step = timeline.span / MAX_TEXT_ROWS
        rows = _binned(rows, len(series), timeline.since, step)
        lines.append(f"# values: the largest in each {step:.0f} s")
    lines.append(",".join(["time", *(_column(s) for s in series)]))
    for when, values in rows:
        lines.append(",".join([stamp_text(when, tz), *("" if v is None else _number(v) for v in values)]))
    if timeline.marks:
        lines.append("")
        lines.append("# events")
        for mark in timeline.marks:
            lines.append(f"{stamp_text(mark.time, tz)} {mark.kind.value} {mark.text}")
    return "\n".join(lines) + "\n"


def _column(series: Series) -> str:
    unit = {
        Unit.BITS_PER_SECOND: "bps",
        Unit.PER_SECOND: "per_s",
        Unit.PERCENT: "pct",
        Unit.CELSIUS: "c",
        Unit.BYTES: "bytes",
    }
    name = series.key.split(":", 1)[1] if ":" in series.key else series.key.rsplit("_", 1)[0]
    return f"{name}_{unit[series.unit]}".replace(",", " ")


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.2f}"


def _rows(series: Sequence[Series]) -> list[tuple[float, list[float | None]]]:
    table: dict[float, list[float | None]] = {}
    for index, s in enumerate(series):
        for when, value in s.points:
            row = table.setdefault(when, [None] * len(series))
            row[index] = value
    return sorted(table.items())


def _binned(
    rows: list[tuple[float, list[float | None]]], width: int, since: float, step: float
) -> list[tuple[float, list[float | None]]]:
    bins: dict[int, list[float | None]] = {}
    for when, values in rows:
        index = math.floor((when - since) / step)
        row = bins.setdefault(index, [None] * width)
        for column, value in enumerate(values):
            if value is not None and (row[column] is None or value > (row[column] or 0.0)):
                row[column] = value
    return [(since + index * step, values) for index, values in sorted(bins.items())]
