"""How a recording keeps a commit's events small on disk: one compressed "tick" for every device, with counters,
times and health written as what could not be predicted from the chain since the last keyframe.

Where the bytes went in format 1 (one row per device per commit, counters as differences): a row's sqlite and
compression overhead, interface names and row shapes repeated in every sample, 18 bytes of times per event, the
whole health sample every 2 s, and counter differences of 4 to 5 bytes. A tick instead holds, per device:

- interface samples as a shape (names and which fields are present; left out when it is the device's last one) and
  one residual per counter: the reading minus its prediction, the last difference scaled to the time elapsed by the
  device's own timestamps (a steady port costs one byte, an idle one a zero), packets predicted from the octets of
  the same sample at the last packet size. The residuals of a tick are written by counter (every in-octets residual
  of every device, then every out-octets one...): like values side by side compress best. The traffic counters
  (octets and packets) are kept to `precision_bits` significant bits of each sample's difference (16 by default:
  a rate within 0.002 %, and the counter within that much of one sample's difference), and exact at every keyframe;
  errors and discards, whose differences are small, are always exact. `precision_bits=None` keeps every reading
  exact;
- times as differences of their IEEE bit patterns (exact for any float): the device timestamp from the step of the
  last one, the receive time from the device timestamp;
- health as the fields that changed since the device's last health sample;
- every other event (data marks, sessions, subscription states) as it is in the event format.

The chain's state (`Chain`) is rebuilt from each keyframe's events by the writer and by any reader alike, so a
reader starting at a keyframe decodes every value exactly. Nothing here changes the event format itself
(fleet/events.py): a tick is a container of the recording's own.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import msgpack

from edgeops.devices.interface_rows import COUNTERS_AT, ROW_LENGTH, InterfaceBatch
from edgeops.fleet.events import (
    EventFormatError,
    EventFormatProblem,
    FleetEvent,
    HealthChanged,
    InterfacesChanged,
    SubscriptionData,
    event_from_item,
    event_item,
)

TICK_MAGIC = b"EOTK"
# 1: residuals inside each interface item, every reading exact (still read); 2: residuals by counter, with the
# traffic counters' precision in the tick.
TICK_VERSION = 2
_HEADER = TICK_MAGIC + bytes([TICK_VERSION])
# Item codes of a tick beside the event format's own kind codes (0..8).
_INTERFACES_CODED = 100
_HEALTH_CODED = 101
_COUNTERS = ROW_LENGTH - COUNTERS_AT
_RAW_SHIFT = ROW_LENGTH  # mask bits from here on: a counter written as is (not an integer)
_PACKETS_FROM_OCTETS = {2: 0, 3: 1}  # in/out packets follow in/out octets
_TRAFFIC = 4  # the counters before this index (octets and packets) may be kept to a precision; the rest are exact
_INT64 = range(-(2**63), 2**63)
_PACK_D = struct.Struct("<d")
_PACK_Q = struct.Struct("<q")


def _bits(value: float) -> int:
    return int(_PACK_Q.unpack(_PACK_D.pack(value))[0])


def _float(bits: int) -> float:
    return float(_PACK_D.unpack(_PACK_Q.pack(bits))[0])


def _time_out(value: float, reference: float | None) -> int | float:
    """A time as the difference of its bit pattern from `reference`'s (small for nearby times), or as is."""
    if reference is None:
        return float(value)
    difference = _bits(value) - _bits(reference)
    return difference if difference in _INT64 else float(value)


def _time_in(code: Any, reference: float | None) -> float:
    if isinstance(code, float):
        return code
    if reference is None or isinstance(code, bool) or not isinstance(code, int):
        raise TypeError("a time code without its reference")
    return _float(_bits(reference) + code)


class _Counter:
    """One counter's chain: its last reading, the difference before it and the device time between them."""

    __slots__ = ("delta", "span", "time", "value")

    def __init__(self) -> None:
        self.value: int | None = None
        self.time = 0.0
        self.delta: int | None = None
        self.span = 0.0


def _predict(counter: _Counter, at: float) -> int:
    """The reading expected at device time `at`: the last one plus the last difference scaled to the time elapsed."""
    value = counter.value
    if value is None:
        return 0
    delta = counter.delta
    if delta is None:
        return value
    span, elapsed = counter.span, at - counter.time
    if span > 0 and elapsed > 0:
        step = delta * (elapsed / span)
        if math.isfinite(step):
            return value + round(step)
    return value + delta


def _advance(counter: _Counter, value: int, at: float) -> None:
    previous = counter.value
    if previous is None:
        counter.delta = None
    else:
        counter.delta = value - previous
        counter.span = at - counter.time
    counter.value = value
    counter.time = at


def _shift(precision: int | None, index: int, delta: int | None) -> int:
    """How many low bits of counter `index`'s residual are not kept: those below `precision` significant bits of
    its last difference (0 for exact counters, and while the difference is small or not known)."""
    if not precision or index >= _TRAFFIC or not delta:
        return 0
    return max(0, abs(delta).bit_length() - precision)


class Chain:
    """What writer and reader both know since the last keyframe: each counter's chain, each device's last
    interface shape, timestamp step and health sample. `reset` starts it again from a keyframe's events."""

    def __init__(self, precision_bits: int | None = None) -> None:
        # The writer's precision for the traffic counters (None: exact); a reader takes it from each tick.
        self.precision_bits = precision_bits
        self._columns: list[list[int]] = []  # the residuals of the tick being written, by counter
        self.counters: dict[tuple[str, str], list[_Counter]] = {}
        self.shapes: dict[str, tuple[list[str], list[int]]] = {}
        self.stamps: dict[str, tuple[float, int]] = {}  # device -> (last timestamp, step of its bit pattern)
        self.health: dict[str, list[bytes]] = {}  # device -> its last health sample's fields, packed
        self.health_stamp: dict[str, float] = {}
        self.broken = False  # a reader met a damaged tick: nothing decodes until the next keyframe

    def _forget(self, device: str | None) -> None:
        self.broken = False
        self.counters = {key: value for key, value in self.counters.items() if device is not None and key[0] != device}
        for table in (self.shapes, self.stamps, self.health, self.health_stamp):
            if device is None:
                table.clear()
            else:
                table.pop(device, None)

    def reset(self, keyframe: Iterable[FleetEvent], device: str | None = None) -> None:
        """Start from a keyframe's events (all devices', or only `device`'s when a reader reads one)."""
        self._forget(device)
        for event in keyframe:
            if type(event) is InterfacesChanged and (device is None or event.device == device):
                assert isinstance(event, InterfacesChanged)
                at = event.batch.timestamp
                for name, row in event.batch.rows.items():
                    chains = self._chains(event.device, name)
                    for index in range(_COUNTERS):
                        value = row[COUNTERS_AT + index]
                        if type(value) is int:
                            _advance(chains[index], value, at)

    def _chains(self, device: str, name: str) -> list[_Counter]:
        chains = self.counters.get((device, name))
        if chains is None:
            chains = self.counters[(device, name)] = [_Counter() for _ in range(_COUNTERS)]
        return chains

    # -- writing --------------------------------------------------------------------------------------

    def _stamp_out(self, device: str, at: float) -> int | float:
        last = self.stamps.get(device)
        bits = _bits(at)
        if last is None:
            self.stamps[device] = (at, 0)
            return float(at)
        step = bits - _bits(last[0])
        self.stamps[device] = (at, step)
        residual = step - last[1]
        return residual if residual in _INT64 else float(at)

    def _stamp_in(self, device: str, code: Any) -> float:
        last = self.stamps.get(device)
        if isinstance(code, float):
            at = code
        else:
            if last is None or isinstance(code, bool) or not isinstance(code, int):
                raise TypeError("a timestamp code without its chain")
            at = _float(_bits(last[0]) + last[1] + code)
        self.stamps[device] = (at, 0 if last is None else _bits(at) - _bits(last[0]))
        return at

    def _interfaces_out(self, event: InterfacesChanged) -> list[Any]:
        device, batch = event.device, event.batch
        at = batch.timestamp
        names = list(batch.rows)
        masks: list[int] = []
        values: list[Any] = []  # state fields and counters that are not integers, in row order
        columns = self._columns
        precision = self.precision_bits
        for name, row in batch.rows.items():
            mask = 0
            for index in range(COUNTERS_AT):
                if row[index] is not None:
                    mask |= 1 << index
                    values.append(row[index])
            chains = self._chains(device, name)
            octets: dict[int, tuple[int | None, int]] = {}  # octet counter -> (its difference before, now)
            for index in range(_COUNTERS):
                value = row[COUNTERS_AT + index]
                if value is None:
                    continue
                mask |= 1 << (COUNTERS_AT + index)
                chain = chains[index]
                last, delta = chain.value, chain.delta
                if delta == 0 and value == last and type(value) is int:
                    # An idle counter (the common case): predicted exactly, whatever the time elapsed.
                    if index < 2:
                        octets[index] = (0, 0)
                    columns[index].append(0)
                    chain.span = at - chain.time
                    chain.time = at
                    continue
                if type(value) is not int:
                    mask |= 1 << (_RAW_SHIFT + index)
                    values.append(value)
                    chain.value = None
                    continue
                predicted = self._predicted(chain, index, at, octets)
                residual = value - predicted
                if residual not in _INT64:
                    mask |= 1 << (_RAW_SHIFT + index)
                    values.append(value)
                    chain.value = None
                    continue
                shift = _shift(precision, index, delta)
                if shift:
                    # Rounded to the precision; the chain goes on from what a reader will decode, so the error
                    # never grows beyond half a step.
                    residual = (residual + (1 << (shift - 1))) >> shift
                    value = predicted + (residual << shift)
                if index < 2 and last is not None:
                    octets[index] = (delta, value - last)
                columns[index].append(residual)
                _advance(chain, value, at)
            masks.append(mask)
        shape = None if self.shapes.get(device) == (names, masks) else [names, masks]
        self.shapes[device] = (names, masks)
        stamp = self._stamp_out(device, at)
        return [_INTERFACES_CODED, _time_out(event.time, at), stamp, shape, values]

    @staticmethod
    def _predicted(chain: _Counter, index: int, at: float, octets: Mapping[int, tuple[int | None, int]]) -> int:
        source = _PACKETS_FROM_OCTETS.get(index)
        if source is not None and source in octets and chain.value is not None and chain.delta is not None:
            before, now = octets[source]
            if before:
                step = now * (chain.delta / before)
                if math.isfinite(step):
                    return chain.value + round(step)
        return _predict(chain, at)

    def _health_out(self, event: HealthChanged) -> list[Any]:
        item = event_item(event)
        fields = item[3]
        packed = [msgpack.packb(value, use_bin_type=True) for value in fields[1:]]
        last = self.health.get(event.device)
        same = 0
        changed = []
        for index, field in enumerate(packed):
            if last is not None and last[index] == field:
                same |= 1 << index
            else:
                changed.append(fields[1 + index])
        self.health[event.device] = packed
        stamp = _time_out(fields[0], self.health_stamp.get(event.device))
        self.health_stamp[event.device] = float(fields[0])
        return [_HEALTH_CODED, _time_out(event.time, float(fields[0])), stamp, same, changed]

    def encode(self, ticks: Mapping[str, list[FleetEvent]]) -> bytes:
        """Each device's events of one commit (in order) as one tick; the chain moves on."""
        self._columns = [[] for _ in range(_COUNTERS)]
        devices = []
        for device, events in ticks.items():
            items: list[Any] = [device]
            for event in events:
                kind = type(event)
                if kind is InterfacesChanged:
                    assert isinstance(event, InterfacesChanged)
                    items.append(self._interfaces_out(event))
                elif kind is HealthChanged:
                    assert isinstance(event, HealthChanged)
                    items.append(self._health_out(event))
                else:
                    items.append(event_item(event))
            devices.append(items)
        payload = msgpack.packb([self.precision_bits or 0, devices, *self._columns], use_bin_type=True)
        self._columns = []
        return _HEADER + zlib.compress(payload, 6)

    # -- reading --------------------------------------------------------------------------------------

    def _interfaces_in(self, device: str, item: list[Any], lanes: list[list[Any]], precision: int) -> InterfacesChanged:
        """`lanes[i]` is [residuals, position] of counter i (version 1: one lane shared by all counters)."""
        if len(item) == 6:  # version 1: the residuals are the item's own
            residuals = item.pop()
            lane: list[Any] = [residuals if isinstance(residuals, list) else None, 0]
            lanes = [lane] * _COUNTERS
        _, time_code, stamp, shape, values = item
        at = self._stamp_in(device, stamp)
        names, masks = self._shape_in(device, shape)
        value_at = iter(values)
        rows: dict[str, list[Any]] = {}
        for name, mask in zip(names, masks, strict=True):
            if not isinstance(name, str) or isinstance(mask, bool) or not isinstance(mask, int):
                raise TypeError("an interface shape is damaged")
            row: list[Any] = [None] * ROW_LENGTH
            for index in range(COUNTERS_AT):
                if mask >> index & 1:
                    row[index] = next(value_at)
            chains = self._chains(device, name)
            octets: dict[int, tuple[int | None, int]] = {}
            for index in range(_COUNTERS):
                if not mask >> (COUNTERS_AT + index) & 1:
                    continue
                chain = chains[index]
                if mask >> (_RAW_SHIFT + index) & 1:
                    row[COUNTERS_AT + index] = next(value_at)
                    chain.value = None
                    continue
                lane = lanes[index]
                residual = lane[0][lane[1]]
                lane[1] += 1
                if isinstance(residual, bool) or not isinstance(residual, int):
                    raise TypeError("a counter residual is not an integer")
                last, delta = chain.value, chain.delta
                if residual == 0 and delta == 0 and last is not None:
                    value = last  # an idle counter
                    chain.span = at - chain.time
                    chain.time = at
                else:
                    value = self._predicted(chain, index, at, octets) + (residual << _shift(precision, index, delta))
                    _advance(chain, value, at)
                if index < 2 and last is not None:
                    octets[index] = (delta, value - last)
                row[COUNTERS_AT + index] = value
            rows[name] = row
        if next(value_at, None) is not None:
            raise TypeError("an interface sample has values left over")
        if len(lanes) == _COUNTERS and lanes[0] is lanes[-1] and lanes[0][1] != len(lanes[0][0]):
            raise TypeError("an interface sample has residuals left over")
        time = _time_in(time_code, at)
        return event_from_item([0, device, time, at, rows])  # type: ignore[return-value]

    def _shape_in(self, device: str, shape: Any) -> tuple[list[str], list[int]]:
        if shape is None:
            if device not in self.shapes:
                raise TypeError("an interface sample refers to a shape it has not seen")
            return self.shapes[device]
        names, masks = shape
        if not isinstance(names, list) or not isinstance(masks, list) or len(names) != len(masks):
            raise TypeError("an interface shape is damaged")
        self.shapes[device] = (names, masks)
        return names, masks

    def _skip_interfaces(self, device: str, item: list[Any], lanes: list[list[Any]]) -> None:
        """Another device's interface sample, in a tick read for one device: only its residuals are passed over
        (its shape is kept, as the next samples may refer to it)."""
        if len(item) != 5:
            return
        _, masks = self._shape_in(device, item[3])
        for mask in masks:
            if isinstance(mask, bool) or not isinstance(mask, int):
                raise TypeError("an interface shape is damaged")
            for index in range(_COUNTERS):
                if mask >> (COUNTERS_AT + index) & 1 and not mask >> (_RAW_SHIFT + index) & 1:
                    lanes[index][1] += 1

    def _health_in(self, device: str, item: list[Any]) -> FleetEvent:
        _, time_code, stamp_code, same, changed = item
        stamp = _time_in(stamp_code, self.health_stamp.get(device))
        last = self.health.get(device)
        fields: list[Any] = [stamp]
        changed_at = iter(changed)
        for index in range(11):
            if same >> index & 1:
                if last is None:
                    raise TypeError("a health sample refers to one it has not seen")
                fields.append(msgpack.unpackb(last[index], raw=False))
            else:
                fields.append(next(changed_at))
        self.health[device] = [msgpack.packb(value, use_bin_type=True) for value in fields[1:]]
        self.health_stamp[device] = stamp
        return event_from_item([1, device, _time_in(time_code, stamp), fields])

    def decode(self, data: bytes, device: str | None = None) -> list[FleetEvent]:
        """The events of a tick (only `device`'s when given), in the order written; the chain moves on. Raises
        EventFormatError (and marks the chain broken) on anything that is not a whole tick of this chain."""
        if self.broken:
            return []
        try:
            return self._decode(data, device)
        except EventFormatError:
            self.broken = True
            raise

    def _decode(self, data: bytes, device: str | None) -> list[FleetEvent]:
        if len(data) < len(_HEADER) or bytes(data[: len(TICK_MAGIC)]) != TICK_MAGIC:
            raise EventFormatError(EventFormatProblem.NOT_EDGEOPS, "not an edgeops recording tick (no EOTK header)")
        version = data[len(TICK_MAGIC)]
        if version > TICK_VERSION:
            raise EventFormatError(EventFormatProblem.NEWER_VERSION, "the tick was written by a newer edgeops")
        try:
            payload = zlib.decompress(bytes(data[len(_HEADER) :]))
        except zlib.error as error:
            raise EventFormatError(EventFormatProblem.CORRUPT, f"the recording tick is damaged ({error})") from None
        try:
            unpacked = msgpack.unpackb(payload, raw=False, strict_map_key=False, use_list=True)
            if not isinstance(unpacked, list):
                raise TypeError("a tick is not an array")
            if version == 1:
                precision, devices, lanes = 0, unpacked, []
            else:
                precision, devices, *columns = unpacked
                if isinstance(precision, bool) or not isinstance(precision, int) or precision < 0:
                    raise TypeError("a tick's precision is not a count of bits")
                if not isinstance(devices, list) or len(columns) != _COUNTERS:
                    raise TypeError("a tick's columns are damaged")
                lanes = [[column, 0] for column in columns]
            out: list[FleetEvent] = []
            for items in devices:
                name = items[0]
                if not isinstance(name, str):
                    raise TypeError("a tick's device is not a name")
                for item in items[1:]:
                    if not isinstance(item, list) or not item:
                        raise TypeError("a tick's item is not an array")
                    code = item[0]
                    if device is not None and name != device:
                        if code == _INTERFACES_CODED:
                            self._skip_interfaces(name, item, lanes)
                        continue
                    if code == _INTERFACES_CODED:
                        out.append(self._interfaces_in(name, item, lanes, precision))
                    elif code == _HEALTH_CODED:
                        out.append(self._health_in(name, item))
                    else:
                        event = event_from_item(item)
                        if event.device != name:
                            raise TypeError("an event of another device")
                        out.append(event)
            if any(lane[1] != len(lane[0]) for lane in lanes) and device is None:
                raise TypeError("a tick has residuals left over")
            return out
        except Exception as error:  # anything the data's shape can make fail is damage, never a crash of the reader
            raise EventFormatError(
                EventFormatProblem.CORRUPT, f"the recording tick is damaged ({type(error).__name__})"
            ) from None


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
