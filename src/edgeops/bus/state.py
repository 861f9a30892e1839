"""The latest state of one device as the few events that rebuild it: what a collector keeps in the state bucket,
so that a console starting up draws the whole fleet at once instead of waiting for every device's next change.

Each event has a slot (a transport's session, the telemetry source, a subscription group's state...); a slot keeps
only its latest event, and partial updates (interface rows, health samples) are merged the way the store merges
them, so the merged event says what the store would show. The slots are kept in the order they were last written,
which is an order the events can be applied in again.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Hashable

from edgeops.devices.interface_rows import InterfaceBatch
from edgeops.fleet.events import (
    CommandRan,
    EventFormatError,
    EventFormatProblem,
    ExpectedIntervalChanged,
    FleetEvent,
    HealthChanged,
    InterfacesChanged,
    SessionChanged,
    SubscriptionData,
    SubscriptionsDeclared,
    SubscriptionStateChanged,
    TelemetrySourceChanged,
    decode_events,
    encode_events,
)

# A state entry: the stream sequence of the latest event it folds in (8 bytes, big-endian), then the events.
_SEQUENCE = struct.Struct(">Q")


class DeviceStateFold:
    """The latest state of one device, as events."""

    def __init__(self) -> None:
        self._slots: dict[Hashable, FleetEvent] = {}
        self.sequence = 0  # the stream sequence of the latest event folded in

    def fold(self, event: FleetEvent, sequence: int = 0) -> None:
        slot: Hashable
        if isinstance(event, InterfacesChanged):
            slot = "interfaces"
            previous = self._slots.get(slot)
            if isinstance(previous, InterfacesChanged):
                event = dataclasses.replace(event, batch=_merge_batches(previous.batch, event.batch))
        elif isinstance(event, HealthChanged):
            slot = "health"
            previous = self._slots.get(slot)
            if isinstance(previous, HealthChanged):
                present = {
                    field.name: value
                    for field in dataclasses.fields(event.sample)
                    if (value := getattr(event.sample, field.name)) is not None
                }
                event = dataclasses.replace(event, sample=dataclasses.replace(previous.sample, **present))
        elif isinstance(event, SessionChanged):
            slot = ("session", event.transport)
        elif isinstance(event, TelemetrySourceChanged):
            slot = "source"
        elif isinstance(event, ExpectedIntervalChanged):
            slot = "interval"
        elif isinstance(event, SubscriptionsDeclared):
            slot = "declared"
            # A declaration starts every group afresh: what the groups said before it no longer holds.
            for key in [key for key in self._slots if isinstance(key, tuple) and key[0] in ("group", "data")]:
                del self._slots[key]
        elif isinstance(event, SubscriptionStateChanged):
            slot = ("group", event.group)
        elif isinstance(event, SubscriptionData):
            slot = ("data", event.group)
        elif isinstance(event, CommandRan):
            return  # a command's outcome is history (the stream keeps it), not state
        else:  # a newer event kind: keep its latest, in order
            slot = ("other", type(event).__name__)
        self._slots.pop(slot, None)
        self._slots[slot] = event
        self.sequence = max(self.sequence, sequence)

    @property
    def events(self) -> list[FleetEvent]:
        return list(self._slots.values())

    def encode(self) -> bytes:
        return _SEQUENCE.pack(self.sequence) + encode_events(self.events)


def decode_state(data: bytes) -> tuple[int, list[FleetEvent]]:
    """(stream sequence, events) of a state entry; raises EventFormatError on anything else."""
    if len(data) < _SEQUENCE.size:
        raise EventFormatError(EventFormatProblem.TRUNCATED, "a state entry shorter than its sequence number")
    (sequence,) = _SEQUENCE.unpack_from(data)
    return sequence, decode_events(data[_SEQUENCE.size :])


def _merge_batches(old: InterfaceBatch, new: InterfaceBatch) -> InterfaceBatch:
    """`new` over `old`, row by row and field by field (None keeps the old value), as the store merges them."""
    rows = dict(old.rows)
    for name, row in new.rows.items():
        previous = rows.get(name)
        if previous is None:
            rows[name] = row
        else:
            rows[name] = [n if n is not None else o for n, o in zip(row, previous, strict=False)]
    return InterfaceBatch(new.device, new.timestamp, rows)


__all__ = ["DeviceStateFold", "EventFormatError", "decode_state"]
