"""Counters as differences: how a recording keeps interface counters small on disk.

A counter read every 2 s is a large number that changes a little: written as is it costs 5 to 9 bytes that zlib can
hardly shrink; its difference from the previous reading is a few bytes, and 0 (one byte) for an idle port. Within a
recording the counters of each interface's reading are written as the difference from the previous reading of the
same counter since the last keyframe (a counter with no previous reading there is written as is). A keyframe holds
whole values and starts the chain again, so a reader starting at any keyframe rebuilds every value: it keeps the same
bases the writer kept, following the batches in the order they were written.
"""

from __future__ import annotations

from collections.abc import Iterable

from edgeops.devices.interface_rows import COUNTERS_AT, ROW_LENGTH, InterfaceBatch
from edgeops.fleet.events import FleetEvent, InterfacesChanged, SubscriptionData

# (device, interface) -> the last whole value of each counter (None: no reading since the keyframe).
Bases = dict[tuple[str, str], list[int | None]]

_COUNTER_RANGE = range(COUNTERS_AT, ROW_LENGTH)


def bases_of(keyframe: Iterable[FleetEvent]) -> Bases:
    """The bases a keyframe's events leave (writer and reader both start a chain from these)."""
    bases: Bases = {}
    for event in keyframe:
        if type(event) is InterfacesChanged:
            assert isinstance(event, InterfacesChanged)
            for name, row in event.batch.rows.items():
                base = bases.setdefault((event.device, name), [None] * (ROW_LENGTH - COUNTERS_AT))
                for index in _COUNTER_RANGE:
                    value = row[index]
                    if isinstance(value, int):
                        base[index - COUNTERS_AT] = value
    return bases


def to_differences(event: FleetEvent, bases: Bases) -> FleetEvent:
    """The event as written: its counters as differences from `bases` (which move on to its values)."""
    if type(event) is not InterfacesChanged:
        return event
    assert isinstance(event, InterfacesChanged)
    device = event.device
    rows = {}
    for name, row in event.batch.rows.items():
        base = bases.get((device, name))
        if base is None:
            base = bases[(device, name)] = [None] * (ROW_LENGTH - COUNTERS_AT)
        written = list(row)
        for index in _COUNTER_RANGE:
            value = row[index]
            if isinstance(value, int):
                previous = base[index - COUNTERS_AT]
                if previous is not None:
                    written[index] = value - previous
                base[index - COUNTERS_AT] = value
        rows[name] = written
    return InterfacesChanged(device, event.time, InterfaceBatch(device, event.batch.timestamp, rows))


def from_differences(event: FleetEvent, bases: Bases) -> FleetEvent:
    """The event as it happened, from the event as written (the inverse of to_differences, with the same bases)."""
    if type(event) is not InterfacesChanged:
        return event
    assert isinstance(event, InterfacesChanged)
    device = event.device
    for name, row in event.batch.rows.items():
        base = bases.get((device, name))
        if base is None:
            base = bases[(device, name)] = [None] * (ROW_LENGTH - COUNTERS_AT)
        for index in _COUNTER_RANGE:
            value = row[index]
            if isinstance(value, int):
                previous = base[index - COUNTERS_AT]
                if previous is not None:
                    value = row[index] = previous + value
                base[index - COUNTERS_AT] = value
    return event


def compact_tick(events: list[FleetEvent]) -> list[FleetEvent]:
    """One device's events of one tick as written: a data mark kept only as the last of its group (it only dates
    the group's latest data), and interface events of one instant (SR OS sends a notification per port) as one."""
    last_mark: dict[str, int] = {}
    for index, event in enumerate(events):
        if type(event) is SubscriptionData:
            assert isinstance(event, SubscriptionData)
            last_mark[event.group] = index
    kept = set(last_mark.values())
    out: list[FleetEvent] = []
    for index, event in enumerate(events):
        kind = type(event)
        if kind is SubscriptionData and index not in kept:
            continue
        if kind is InterfacesChanged and out and type(out[-1]) is InterfacesChanged:
            assert isinstance(event, InterfacesChanged)
            previous = out[-1]
            assert isinstance(previous, InterfacesChanged)
            batch = event.batch
            if batch.timestamp == previous.batch.timestamp and not batch.rows.keys() & previous.batch.rows.keys():
                rows = {**previous.batch.rows, **batch.rows}
                out[-1] = InterfacesChanged(
                    event.device, event.time, InterfaceBatch(event.device, batch.timestamp, rows)
                )
                continue
        out.append(event)
    return out
