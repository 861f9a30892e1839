"""What a keyframe holds: each device's whole state as the few events that rebuild it, kept up to date from the
events the recorder writes (so a keyframe never reads the live store from another thread)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from edgeops.devices.interface_rows import COUNTERS_AT, ROW_LENGTH, InterfaceBatch
from edgeops.fleet.events import (
    CommandRan,
    ExpectedIntervalChanged,
    FleetEvent,
    HealthChanged,
    InterfacesChanged,
    SessionChanged,
    SubscriptionData,
    SubscriptionsDeclared,
    SubscriptionStateChanged,
    TelemetrySourceChanged,
)

_HEALTH_FIELDS = (
    "hostname",
    "chassis",
    "version",
    "boot_time",
    "cpu_pct",
    "memory_total",
    "memory_used",
    "temperatures",
    "fans",
    "power_supplies",
    "alarms",
)


_COUNTERS = ROW_LENGTH - COUNTERS_AT  # a row's counters
_NO_COUNTERS: list[object] = [None] * _COUNTERS
_NO_STATE: list[object] = [None] * COUNTERS_AT


class _DeviceState:
    __slots__ = ("health", "interface_state", "samples", "singles", "state_time")

    def __init__(self) -> None:
        # Calls whose latest one is the state: sessions, source, interval, declared groups, group states, data marks.
        self.singles: dict[object, FleetEvent] = {}
        self.health: HealthChanged | None = None
        # The counters of the last two interface samples (with the order they came in) of each set of ports that
        # carried counters: a keyframe needs each interface's last two counter readings (the store's rates need
        # two), and those are always among them (a port's last reading is in the latest sample of its set; the one
        # before, in the sample before it of that set or in the latest of another). Each sample's counters are
        # kept as one tuple, once, rather than merged row by row as they come (folding two a set at a keyframe
        # costs less), and not as the sample itself: its rows are lists that would live seconds longer than the
        # engine keeps them, walked by the garbage collector all that time (a tuple of numbers it stops walking,
        # and one a sample rather than one a row: what lives long makes the collector run more often).
        self.samples: dict[tuple[str, ...], list[_Counters]] = {}
        self.interface_state: dict[str, list[object]] = {}  # the state fields, merged
        self.state_time = 0.0

    def counter_readings(self) -> dict[str, list[tuple[float, float, list[object]]]]:
        """Per interface its last two counter readings (time, device timestamp, the eight counters)."""
        readings: dict[str, list[tuple[float, float, list[object]]]] = {}
        for _, time, timestamp, names, counters_of in sorted(
            (kept for pair in self.samples.values() for kept in pair), key=lambda kept: kept[0]
        ):
            for number, name in enumerate(names):
                last = readings.setdefault(name, [])
                last.append((time, timestamp, list(counters_of[number * _COUNTERS : number * _COUNTERS + _COUNTERS])))
                if len(last) > 2:
                    del last[0]
        return readings


# An interface sample's counters as a keyframe needs them: (order of arrival, time, device timestamp, the ports that
# carried counters, their eight counters each one after the other).
_Counters = tuple[int, float, float, tuple[str, ...], tuple[object, ...]]


class FleetShadow:
    """The state of every device that a keyframe writes out, as events."""

    def __init__(self) -> None:
        self._devices: dict[str, _DeviceState] = {}
        self._order = 0  # the interface samples' order of arrival

    def apply(self, event: FleetEvent) -> None:
        kind = type(event)
        if kind is CommandRan:
            return
        state = self._devices.get(event.device)
        if state is None:
            state = self._devices[event.device] = _DeviceState()
        if kind is InterfacesChanged:
            assert isinstance(event, InterfacesChanged)
            batch = event.batch
            rows = batch.rows
            names: list[str] = []
            readings: list[object] = []
            for name, row in rows.items():
                counters = row[COUNTERS_AT:]
                if counters != _NO_COUNTERS:
                    names.append(name)
                    readings += counters
                if row[:COUNTERS_AT] != _NO_STATE:  # a counter sample has none
                    merged = state.interface_state.setdefault(name, [None] * COUNTERS_AT)
                    for index in range(COUNTERS_AT):
                        if row[index] is not None:
                            merged[index] = row[index]
                    state.state_time = max(state.state_time, event.time)
            if names:
                self._order += 1
                ports = tuple(names)
                # One tuple of numbers a sample: it holds nothing the collector walks (it stops tracking it).
                reading = (self._order, event.time, batch.timestamp, ports, tuple(readings))
                kept = state.samples.get(ports)
                if kept is None:
                    state.samples[ports] = [reading]
                else:
                    kept.append(reading)
                    if len(kept) > 2:
                        del kept[0]
        elif kind is HealthChanged:
            assert isinstance(event, HealthChanged)
            previous = state.health
            if previous is None:
                state.health = event
            else:
                present = {name: value for name in _HEALTH_FIELDS if (value := getattr(event.sample, name)) is not None}
                sample = replace(previous.sample, timestamp=event.sample.timestamp, **present)
                state.health = HealthChanged(event.device, event.time, sample)
        elif kind is SessionChanged:
            assert isinstance(event, SessionChanged)
            state.singles[("session", event.transport)] = event
        elif kind is TelemetrySourceChanged:
            state.singles["source"] = event
        elif kind is ExpectedIntervalChanged:
            state.singles["interval"] = event
        elif kind is SubscriptionsDeclared:
            # A new declaration replaces the groups: their earlier states and data marks no longer apply.
            for key in [key for key in state.singles if isinstance(key, tuple) and key[0] in ("group", "data")]:
                del state.singles[key]
            state.singles["declared"] = event
        elif kind is SubscriptionStateChanged:
            assert isinstance(event, SubscriptionStateChanged)
            previous_state = state.singles.get(("group", event.group))
            if (
                event.rejection is None
                and isinstance(previous_state, SubscriptionStateChanged)
                and previous_state.rejection is not None
                and event.state.value != "live"
            ):
                # The store keeps a rejection until the group comes live: so does the keyframe.
                event = replace(event, rejection=previous_state.rejection)
            state.singles[("group", event.group)] = event
        elif kind is SubscriptionData:
            assert isinstance(event, SubscriptionData)
            state.singles[("data", event.group)] = event

    def keyframe(self, between: Callable[[], None] | None = None) -> dict[str, list[FleetEvent]]:
        """Each device's state as events in time order (applied to a fresh store with its clock at each event's
        time, they rebuild the device: the interfaces' last two counter readings, then their merged state).
        `between` is called before each device."""
        out: dict[str, list[FleetEvent]] = {}
        for device, state in self._devices.items():
            if between is not None:
                between()
            events: list[FleetEvent] = list(state.singles.values())
            if state.health is not None:
                events.append(state.health)
            counter_readings = state.counter_readings()
            for depth in (0, 1):
                by_time: dict[tuple[float, float], dict[str, list[object]]] = {}
                for name, readings in counter_readings.items():
                    if len(readings) > depth:
                        time, timestamp, counters = readings[len(readings) - 1 - depth]
                        by_time.setdefault((time, timestamp), {})[name] = [None] * COUNTERS_AT + counters
                for (time, timestamp), rows in by_time.items():
                    events.append(InterfacesChanged(device, time, InterfaceBatch(device, timestamp, rows)))
            if state.interface_state:
                rows = {name: merged + [None] * _COUNTERS for name, merged in state.interface_state.items()}
                events.append(
                    InterfacesChanged(device, state.state_time, InterfaceBatch(device, state.state_time, rows))
                )
            # Declarations before the group states that need them; within a time, the order above.
            order = sorted(
                range(len(events)),
                key=lambda i: (events[i].time, 0 if type(events[i]) is SubscriptionsDeclared else 1, i),
            )
            out[device] = [events[i] for i in order]
        return out
