"""How a recording keeps a commit's events small on disk: one compressed "tick" for every device, with counters,
times and health written as what could not be predicted from the chain since the last keyframe.

Where the bytes went in format 1 (one row per device per commit, counters as differences): a row's sqlite and
compression overhead, interface names and row shapes repeated in every sample, 18 bytes of times per event, the
whole health sample every 2 s, and counter differences of 4 to 5 bytes. A tick instead holds, per device:

- interface samples as a shape (names and which fields are present; left out when it is the device's last one) and
  one residual per counter: the reading minus its prediction, the last difference scaled to the time elapsed by the
  device's own timestamps (a port whose counters did not move is one bit), packets predicted from the octets of
  the same sample at the last packet size. The residuals of a tick are written by counter (every in-octets residual
  of every device, then every out-octets one...): like values side by side compress best. The traffic counters
  (octets and packets) are kept to `precision_bits` significant bits of each sample's difference (12 by default:
  a replayed rate within 0.05 %), and exact at every keyframe; errors and discards, whose differences are small,
  are always exact. `precision_bits=None` keeps every reading exact. A reading is never decoded lower than the
  one before: a counter that went down (a reset, a wrap), or that rounding would take below its last reading, is
  written as it is, and its chain goes on from there;
- times as differences of their IEEE bit patterns (exact for any float): the device timestamp from the step of the
  last one, the receive time from the device timestamp;
- health as the fields that changed since the device's last health sample;
- every other event (data marks, sessions, subscription states) as it is in the event format.

The chain's state (`Chain`) is rebuilt from each keyframe's events by the writer and by any reader alike, so a
reader starting at a keyframe decodes every value exactly. The writer hands out each sample's rates as it works out
its differences (`encode(rates=)`): the recorder's one-minute rollups are made from them. Nothing here changes the
event format itself (fleet/events.py): a tick is a container of the recording's own.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
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
from edgeops.fleet.rates import counter_delta

TICK_MAGIC = b"EOTK"
# 1: residuals inside each interface item, every reading exact (still read); 2: residuals by counter, with the
# traffic counters' precision in the tick; 3: a counter written as it is starts its chain again from that value
# (in 2 from nothing, the reading after it a whole value again).
TICK_VERSION = 3
_HEADER = TICK_MAGIC + bytes([TICK_VERSION])
# Item codes of a tick beside the event format's own kind codes (0..8).
_INTERFACES_CODED = 100
_HEALTH_CODED = 101
_MARK_CODED = 102  # a data mark: its time from the device's last mark of the group
_COUNTERS = ROW_LENGTH - COUNTERS_AT
_RAW_SHIFT = ROW_LENGTH  # mask bits from here on: a counter written as is (not an integer)
_PACKETS_FROM_OCTETS = {2: 0, 3: 1}  # in/out packets follow in/out octets
_EVERY_COUNTER = ((1 << _COUNTERS) - 1) << COUNTERS_AT  # a row's mask bits for all eight counters present
_STILL: list[int | None] = [0] * _COUNTERS  # the differences of counters that did not move
_INTEGERS = (int,) * _COUNTERS
IDLE_RATES: list[float | None] = [0.0] * _COUNTERS  # an idle row's rates (shared: never changed)
# The counters before this index (octets and packets) may be kept to a precision; the rest are exact.
TRAFFIC_COUNTERS = 4
_STILL_ERRORS = _STILL[TRAFFIC_COUNTERS:]  # errors and discards that did not move
_ERROR_INTEGERS = _INTEGERS[TRAFFIC_COUNTERS:]
# The mask bits of errors and discards.
_ERROR_COUNTERS = _EVERY_COUNTER & ~((1 << (COUNTERS_AT + TRAFFIC_COUNTERS)) - 1)
_INT64 = range(-(2**63), 2**63)
_INT64_LOW, _INT64_HIGH = -(2**63), 2**63 - 1  # the same, for comparisons in the writer's loop
_COUNTER_HIGH = 2**64 - 1
_NO_STATE: list[Any] = [None] * COUNTERS_AT  # the state fields of a row that has none
# Handed each interface sample's rates as it is encoded: (device, the event's time, the sample's ports, each port's
# rates per second in that order). A port's rates are the eight counters' in COUNTER_FIELDS order, None where the
# sample gave none; or the four traffic counters' when its errors and discards did not move (the other four are 0),
# a tuple when all four are known (a port at work: most rows of a busy fleet); or IDLE_RATES itself for a port whose
# counters did not move at all.
TrafficRates = tuple[float, float, float, float]
PortRates = list[float | None] | TrafficRates
RateSink = Callable[[str, float, list[str], list[PortRates]], None]
_PACK_D = struct.Struct("<d")
_PACK_Q = struct.Struct("<q")


def _bits(value: float) -> int:
    return int(_PACK_Q.unpack(_PACK_D.pack(value))[0])


def _float(bits: int) -> float:
    return float(_PACK_D.unpack(_PACK_Q.pack(bits))[0])


def _plain(value: Any) -> Any:
    """A value of an interface row as read (a string, a number or None); anything else is damage."""
    if value is not None and not isinstance(value, str | int | float):
        raise TypeError("an interface row holds something that is not a value")
    return value


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


_UNKNOWN = (None,) * _COUNTERS
_NEVER = (0.0,) * _COUNTERS


class _Port:
    """One interface's counters' chains: each one's last reading, the difference before it and the device time
    between them (lists of eight, in COUNTER_FIELDS order)."""

    __slots__ = ("deltas", "spans", "times", "values")

    def __init__(self) -> None:
        self.values: list[int | None] = list(_UNKNOWN)  # None: not known (never read, or not an integer)
        self.deltas: list[int | None] = list(_UNKNOWN)
        self.times = list(_NEVER)
        self.spans = list(_NEVER)

    def clear(self) -> None:
        """As new, in the same lists (see Chain.reset)."""
        self.values[:] = self.deltas[:] = _UNKNOWN
        self.times[:] = self.spans[:] = _NEVER

    def predict(self, index: int, at: float) -> int:
        """The reading expected at device time `at`: the last one plus the last difference scaled to the time
        elapsed."""
        value = self.values[index]
        if value is None:
            return 0
        delta = self.deltas[index]
        if delta is None:
            return value
        span, elapsed = self.spans[index], at - self.times[index]
        if span > 0 and elapsed > 0:
            step = delta * (elapsed / span)
            if math.isfinite(step):
                return value + round(step)
        return value + delta

    def advance(self, index: int, value: int, at: float) -> None:
        previous = self.values[index]
        if previous is None:
            self.deltas[index] = None
        else:
            self.deltas[index] = value - previous
            self.spans[index] = at - self.times[index]
        self.values[index] = value
        self.times[index] = at

    def restart(self, index: int, value: int, at: float) -> None:
        """A reading written as it is (tick version 3): the chain goes on from it, with no difference yet."""
        self.values[index] = value
        self.deltas[index] = None
        self.times[index] = at

    def forget(self, index: int) -> None:
        """A reading that is not an integer: the chain starts again at the next one."""
        self.values[index] = None
        self.deltas[index] = None

    def stay(self, at: float) -> None:
        """An idle row read at `at` (what advancing every counter by a difference of 0 does)."""
        times = self.times
        self.spans[:] = [at - time for time in times]
        times[:] = [at] * _COUNTERS


def _shift(precision: int | None, index: int, delta: int | None) -> int:
    """How many low bits of counter `index`'s residual are not kept: those below `precision` significant bits of
    its last difference (0 for exact counters, and while the difference is small or not known)."""
    if not precision or index >= TRAFFIC_COUNTERS or not delta:
        return 0
    return max(0, abs(delta).bit_length() - precision)


def _packets_predicted(port: _Port, index: int, at: float, octets: Mapping[int, tuple[int | None, int]]) -> int:
    """A packet counter from the octets of the same sample at the last packet size; anything else by its chain."""
    source = _PACKETS_FROM_OCTETS.get(index)
    if source is not None and source in octets:
        value, delta = port.values[index], port.deltas[index]
        before, now = octets[source]
        if before and value is not None and delta is not None:
            step = now * (delta / before)
            if math.isfinite(step):
                return value + round(step)
    return port.predict(index, at)


def _traffic_moved(
    port: _Port, counters: list[Any], at: float, precision: int | None, appends: tuple[Callable[[int], None], ...]
) -> TrafficRates | None:
    """The row a fleet at work sends most: its four traffic counters moved on from readings that had moved too, its
    errors and discards did not, all eight read at one time. Writes what the general loop of
    `Chain._interfaces_out` writes for such a row (the residuals, the chain's state) in one pass, without its checks
    for every other case, and gives the row's rates; None, with nothing changed, for any other row (a test holds
    the two ways equal on random rows). `appends` are the `append` of each counter's column; the rates are the
    traffic counters' four (errors and discards did not move: see PortRates)."""
    deltas = port.deltas
    d0, d1, d2, d3, d4, d5, d6, d7 = deltas
    # Differences known and not 0 (None and 0 are false); errors and discards that did not move.
    if not (d0 and d1 and d2 and d3) or d4 != 0 or d5 != 0 or d6 != 0 or d7 != 0:
        return None
    c0, c1, c2, c3, c4, c5, c6, c7 = counters
    if not (
        type(c0) is int
        and type(c1) is int
        and type(c2) is int
        and type(c3) is int
        and type(c4) is int
        and type(c5) is int
        and type(c6) is int
        and type(c7) is int
    ):
        return None
    # A difference is known only after two integer readings: the last readings of these counters are integers.
    lasts: list[int] = port.values  # type: ignore[assignment]
    l0, l1, l2, l3, l4, l5, l6, l7 = lasts
    times, spans = port.times, port.spans
    # The octets are scaled by their own chain's time (which must be the same for both); the packets by the octets.
    then, span = times[0], spans[0]
    if times.count(then) != _COUNTERS or spans[1] != span or c4 != l4 or c5 != l5 or c6 != l6 or c7 != l7:
        return None
    elapsed = at - then
    if not (span > 0 and elapsed > 0):
        return None
    scale = elapsed / span
    # The octets by their chain, each difference scaled to the time elapsed (Port.predict).
    step0, step1 = d0 * scale, d1 * scale
    if not (math.isfinite(step0) and math.isfinite(step1)):
        return None
    p0, p1 = l0 + round(step0), l1 + round(step1)
    r0, r1 = c0 - p0, c1 - p1
    if not (_INT64_LOW <= r0 <= _INT64_HIGH and _INT64_LOW <= r1 <= _INT64_HIGH):
        return None
    v0, v1 = c0, c1
    if precision:
        if (shift := d0.bit_length() - precision) > 0:
            r0 = (r0 + (1 << (shift - 1))) >> shift
            v0 = p0 + (r0 << shift)
        if (shift := d1.bit_length() - precision) > 0:
            r1 = (r1 + (1 << (shift - 1))) >> shift
            v1 = p1 + (r1 << shift)
    if not (l0 <= c0 and l0 <= v0 <= _COUNTER_HIGH and l1 <= c1 and l1 <= v1 <= _COUNTER_HIGH):
        return None
    n0, n1 = v0 - l0, v1 - l1
    # The packets from the octets of the same sample at the last packet size (_packets_predicted).
    step2, step3 = n0 * (d2 / d0), n1 * (d3 / d1)
    if not (math.isfinite(step2) and math.isfinite(step3)):
        return None
    p2, p3 = l2 + round(step2), l3 + round(step3)
    r2, r3 = c2 - p2, c3 - p3
    if not (_INT64_LOW <= r2 <= _INT64_HIGH and _INT64_LOW <= r3 <= _INT64_HIGH):
        return None
    v2, v3 = c2, c3
    if precision:
        if (shift := d2.bit_length() - precision) > 0:
            r2 = (r2 + (1 << (shift - 1))) >> shift
            v2 = p2 + (r2 << shift)
        if (shift := d3.bit_length() - precision) > 0:
            r3 = (r3 + (1 << (shift - 1))) >> shift
            v3 = p3 + (r3 << shift)
    if not (l2 <= c2 and l2 <= v2 <= _COUNTER_HIGH and l3 <= c3 and l3 <= v3 <= _COUNTER_HIGH):
        return None
    n2, n3 = v2 - l2, v3 - l3
    append0, append1, append2, append3, append4, append5, append6, append7 = appends
    append0(r0)
    append1(r1)
    append2(r2)
    append3(r3)
    append4(0)
    append5(0)
    append6(0)
    append7(0)
    deltas[:TRAFFIC_COUNTERS] = n0, n1, n2, n3
    lasts[:TRAFFIC_COUNTERS] = v0, v1, v2, v3
    spans[:] = [elapsed] * _COUNTERS
    times[:] = [at] * _COUNTERS
    return (n0 / elapsed, n1 / elapsed, n2 / elapsed, n3 / elapsed)


def _idle_bitmap(idle: list[int], rows: int) -> bytes:
    bitmap = bytearray((rows + 7) // 8)
    for row in idle:
        bitmap[row >> 3] |= 1 << (row & 7)
    return bytes(bitmap)


def _is_idle(bitmap: bytes, row: int) -> bool:
    return row >> 3 < len(bitmap) and bool(bitmap[row >> 3] >> (row & 7) & 1)


def _idle_rates(times: list[float], at: float) -> list[float | None]:
    """An idle row's rates when some counter was last read at or after `at`: none for those (as the store)."""
    return [0.0 if at > time else None for time in times]


def _state_row(name: Any, mask: Any, value_at: Iterator[Any]) -> list[Any]:
    """A row of an interface sample with its state fields (those `mask` names, taken from `value_at`) filled in."""
    if not isinstance(name, str) or isinstance(mask, bool) or not isinstance(mask, int):
        raise TypeError("an interface shape is damaged")
    row: list[Any] = [None] * ROW_LENGTH
    for index in range(COUNTERS_AT):
        if mask >> index & 1:
            row[index] = _plain(next(value_at))
    return row


class _Deferred:
    """An interface sample whose counters a reader passes over: enough to give its rows' state fields later."""

    __slots__ = ("at", "device", "masks", "names", "time", "values")

    def __init__(
        self, device: str, time: float, at: float, names: list[str], masks: list[int], values: list[Any]
    ) -> None:
        self.device, self.time, self.at = device, time, at
        self.names, self.masks, self.values = names, masks, values

    def event(self) -> InterfacesChanged:
        """The sample's rows with their state fields only (no counter: the store keeps the ones it has)."""
        value_at = iter(self.values)
        rows: dict[str, list[Any]] = {}
        for name, mask in zip(self.names, self.masks, strict=True):
            row = _state_row(name, mask, value_at)
            for index in range(_COUNTERS):
                if mask >> (COUNTERS_AT + index) & 1 and mask >> (_RAW_SHIFT + index) & 1:
                    next(value_at)  # a counter written as is: passed over like the others
            rows[name] = row
        if next(value_at, None) is not None:
            raise TypeError("an interface sample has values left over")
        return InterfacesChanged(self.device, self.time, InterfaceBatch(self.device, self.at, rows))


def state_only(event: InterfacesChanged) -> InterfacesChanged:
    """An interface sample without its counters (a store merging it keeps the counters it has, or none)."""
    still = [None] * _COUNTERS
    rows = {name: [*row[:COUNTERS_AT], *still] for name, row in event.batch.rows.items()}
    return InterfacesChanged(event.device, event.time, InterfaceBatch(event.device, event.batch.timestamp, rows))


class Chain:
    """What writer and reader both know since the last keyframe: each counter's chain, each device's last
    interface shape, timestamp step and health sample. `reset` starts it again from a keyframe's events."""

    def __init__(self, precision_bits: int | None = None) -> None:
        # The writer's precision for the traffic counters (None: exact); a reader takes it from each tick.
        self.precision_bits = precision_bits
        self._columns: list[list[int]] = []  # the residuals of the tick being written, by counter
        self._appends: tuple[Callable[[int], None], ...] = ()  # each column's append (the busiest call of a tick)
        self.counters: dict[tuple[str, str], _Port] = {}
        # During `reset`, the chains the keyframe starts again: each is cleared and taken up again by its port.
        self._spare: dict[tuple[str, str], _Port] = {}
        self.shapes: dict[str, tuple[list[str], list[int]]] = {}
        # device -> the ports of its last interface sample written, and their chains in that order: a device's
        # samples mostly list the same ports, which then need no lookup each.
        self._sample_ports: dict[str, tuple[list[str], list[_Port]]] = {}
        # device -> how many residuals its shape has in each counter's column (idle rows aside): a reader of one
        # device passes over the others' residuals by these counts.
        self.residual_counts: dict[str, list[int]] = {}
        self.stamps: dict[str, tuple[float, int]] = {}  # device -> (last timestamp, step of its bit pattern)
        self.health: dict[str, list[bytes]] = {}  # device -> its last health sample's fields, packed
        self.health_stamp: dict[str, float] = {}
        self.health_read: dict[str, list[Any]] = {}  # a reader's: device -> its last health sample's fields
        self.marks: dict[tuple[str, str], float] = {}  # (device, group) -> the time of its last data mark
        self.broken = False  # a reader met a damaged tick: nothing decodes until the next keyframe
        # A reader that decodes one device's counters (`decode(counters_of=...)`): the others' interface samples
        # wait here, the latest of each shape, until `take_deferred`; their counter chains are not followed.
        self.counters_of: str | None = None
        self._deferred: dict[tuple[str, int], _Deferred] = {}
        # ... and their health samples as one: each field's latest value (a store merges them so), and the time.
        self._deferred_health: dict[str, tuple[float, list[Any]]] = {}

    def _forget(self, device: str | None) -> None:
        self.broken = False
        self.counters_of = None
        self._deferred.clear()
        self._deferred_health.clear()
        kept = {key: value for key, value in self.counters.items() if device is not None and key[0] != device}
        self._spare = {key: value for key, value in self.counters.items() if key not in kept}
        self.counters = kept
        self.marks = {key: value for key, value in self.marks.items() if device is not None and key[0] != device}
        for table in (
            self.shapes,
            self._sample_ports,
            self.residual_counts,
            self.stamps,
            self.health,
            self.health_stamp,
            self.health_read,
        ):
            if device is None:
                table.clear()
            else:
                table.pop(device, None)

    def reset(
        self, keyframe: Iterable[FleetEvent], device: str | None = None, *, counters_of: str | None = None
    ) -> None:
        """Start from a keyframe's events (all devices', or only `device`'s when a reader reads one). With
        `counters_of`, only that device's counters are followed from here (see `decode`)."""
        self._forget(device)
        self.counters_of = counters_of
        followed = device if counters_of is None else counters_of
        for event in keyframe:
            if type(event) is InterfacesChanged and (followed is None or event.device == followed):
                assert isinstance(event, InterfacesChanged)
                at = event.batch.timestamp
                for name, row in event.batch.rows.items():
                    port = self._port(event.device, name)
                    for index in range(_COUNTERS):
                        value = row[COUNTERS_AT + index]
                        if type(value) is int:
                            port.advance(index, value, at)
        self._spare = {}

    def _port(self, device: str, name: str) -> _Port:
        key = (device, name)
        port = self.counters.get(key)
        if port is None:
            # A port's chain after a keyframe is its old one cleared: a writer's keyframe would otherwise make a
            # whole fleet's chains anew (a 200-device fleet's 8 000 ports, 40 000 objects) every two minutes, and
            # the garbage collector would walk them in young collections and then, grown old, in full ones.
            port = self._spare.pop(key, None)
            if port is None:
                port = _Port()
            else:
                port.clear()
            self.counters[key] = port
        return port

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
            step = last[1] + code
            at = _float(_bits(last[0]) + step)
            self.stamps[device] = (at, step)  # what the writer's step was (bits of `at` less those of the last)
            return at
        self.stamps[device] = (at, 0 if last is None else _bits(at) - _bits(last[0]))
        return at

    def _interfaces_out(self, event: InterfacesChanged, sink: RateSink | None) -> list[Any]:
        """One interface sample as an item; `sink`, if any, is handed each row's counter rates per second (PortRates),
        worked out from the values the chain goes on from (those a reader decodes) by the store's rules (a counter
        that went down is a wrap or a reset)."""
        device, batch = event.device, event.batch
        at = batch.timestamp
        names = list(batch.rows)
        rates: list[PortRates] | None = None if sink is None else []
        masks: list[int] = []
        values: list[Any] = []  # state fields and counters that are not integers, in row order
        idle: list[int] = []  # the rows whose counters did not move (no residuals)
        columns, appends = self._columns, self._appends
        precision = self.precision_bits
        known = self._sample_ports.get(device)
        if known is not None and known[0] == names:
            ports = known[1]
        else:
            ports = [self._port(device, name) for name in names]
            self._sample_ports[device] = (names, ports)
        for number, row in enumerate(batch.rows.values()):
            mask = 0
            if row[:COUNTERS_AT] != _NO_STATE:  # a counter sample has none: the loop is for state changes
                for index in range(COUNTERS_AT):
                    if row[index] is not None:
                        mask |= 1 << index
                        values.append(row[index])
            port = ports[number]
            counters = row[COUNTERS_AT:]
            lasts, deltas, times, spans = port.values, port.deltas, port.times, port.spans
            if deltas == _STILL and counters == lasts and tuple(map(type, counters)) == _INTEGERS:
                # Idle (Port.idle): no residuals, and every rate 0 (unless the sample is not later than the last).
                masks.append(mask | _EVERY_COUNTER)
                idle.append(number)
                then = times[0]
                if times.count(then) == _COUNTERS:  # all eight read at one time (most rows)
                    if rates is not None:
                        rates.append(IDLE_RATES if at > then else _idle_rates(times, at))
                    spans[:] = [at - then] * _COUNTERS  # Port.stay
                else:
                    if rates is not None:
                        rates.append(IDLE_RATES if at > max(times) else _idle_rates(times, at))
                    spans[:] = [at - time for time in times]
                times[:] = [at] * _COUNTERS
                continue
            moved = _traffic_moved(port, counters, at, precision, appends)
            if moved is not None:
                masks.append(mask | _EVERY_COUNTER)
                if rates is not None:
                    rates.append(moved)
                continue
            row_rates: list[float | None] = [None] * _COUNTERS
            moving = _COUNTERS  # the counters the loop below works out one by one
            errors = counters[TRAFFIC_COUNTERS:]
            if (
                deltas[TRAFFIC_COUNTERS:] == _STILL_ERRORS
                and errors == lasts[TRAFFIC_COUNTERS:]
                and tuple(map(type, errors)) == _ERROR_INTEGERS
            ):
                # Errors and discards that did not move (most rows of a fleet): what the loop below does for each
                # (a residual of 0, the time moved on, a rate of 0), for the four at once.
                mask |= _ERROR_COUNTERS
                for column in columns[TRAFFIC_COUNTERS:]:
                    column.append(0)
                spans[TRAFFIC_COUNTERS:] = [at - time for time in times[TRAFFIC_COUNTERS:]]
                if at > max(times[TRAFFIC_COUNTERS:]):
                    del row_rates[TRAFFIC_COUNTERS:]  # their rates are 0: the traffic counters' four (PortRates)
                else:
                    row_rates[TRAFFIC_COUNTERS:] = _idle_rates(times[TRAFFIC_COUNTERS:], at)
                times[TRAFFIC_COUNTERS:] = [at] * (_COUNTERS - TRAFFIC_COUNTERS)
                moving = TRAFFIC_COUNTERS
            octets: dict[int, tuple[int | None, int]] = {}  # octet counter -> (its difference before, now)
            for index in range(moving):
                value = counters[index]
                if value is None:
                    continue
                mask |= 1 << (COUNTERS_AT + index)
                if type(value) is not int:
                    mask |= 1 << (_RAW_SHIFT + index)
                    values.append(value)
                    port.forget(index)
                    continue
                last, delta = lasts[index], deltas[index]
                elapsed = at - times[index]
                if delta == 0 and value == last:
                    # A counter that did not move: predicted exactly, whatever the time elapsed (Port.advance by 0).
                    if index < 2:
                        octets[index] = (0, 0)
                    columns[index].append(0)
                    spans[index] = elapsed
                    times[index] = at
                    if elapsed > 0:
                        row_rates[index] = 0.0
                    continue
                if last is None:  # the first reading: the whole value, no difference yet (Port.advance)
                    if _INT64_LOW <= value <= _INT64_HIGH:
                        columns[index].append(value)
                        deltas[index] = None
                        lasts[index] = value
                        times[index] = at
                    else:
                        mask |= 1 << (_RAW_SHIFT + index)
                        values.append(value)
                        port.restart(index, value, at)
                    continue
                # The prediction of _packets_predicted and Port.predict, inline (this runs for every counter of the
                # fleet); a reader decodes with those two, and the round-trip tests hold them equal.
                if delta is None:
                    predicted = last
                else:
                    step: float | None = None
                    source = _PACKETS_FROM_OCTETS.get(index)
                    if source is not None and source in octets:
                        before, now = octets[source]
                        if before:
                            step = now * (delta / before)
                            if not math.isfinite(step):
                                step = None
                    if step is None:
                        span = spans[index]
                        step = delta * (elapsed / span) if span > 0 and elapsed > 0 else delta
                    predicted = last + (round(step) if math.isfinite(step) else delta)
                residual = value - predicted
                exact = value
                if _INT64_LOW <= residual <= _INT64_HIGH:
                    if precision and index < TRAFFIC_COUNTERS and delta:
                        shift = abs(delta).bit_length() - precision  # see _shift
                        if shift > 0:
                            # Rounded to the precision; the chain goes on from what a reader will decode, so the
                            # error never grows beyond half a step.
                            residual = (residual + (1 << (shift - 1))) >> shift
                            value = predicted + (residual << shift)
                    fits = last <= exact and last <= value <= _COUNTER_HIGH
                else:
                    fits = False
                if not fits:
                    # A counter that went down (a reset, a wrap), a jump no difference holds, or one that rounding
                    # would take below its last reading (traffic that all but stopped) or past 64 bits: written as
                    # it is, and its chain starts again from it. A reading never decoded lower than the one before
                    # keeps a replay's rates as the device's, and a reset is read exactly where it happened.
                    if elapsed > 0 and (grown := counter_delta(last, exact)) is not None:
                        row_rates[index] = grown / elapsed
                    mask |= 1 << (_RAW_SHIFT + index)
                    values.append(exact)
                    port.restart(index, exact, at)
                    continue
                columns[index].append(residual)
                difference = value - last  # never below 0 (see above)
                if index < 2:
                    octets[index] = (delta, difference)
                deltas[index] = difference
                spans[index] = elapsed
                lasts[index] = value
                times[index] = at
                if elapsed > 0:
                    row_rates[index] = difference / elapsed
            masks.append(mask)
            if rates is not None:
                rates.append(row_rates)
        shape = None if self.shapes.get(device) == (names, masks) else [names, masks]
        self.shapes[device] = (names, masks)
        stamp = self._stamp_out(device, at)
        bitmap = _idle_bitmap(idle, len(names)) if idle else b""
        if sink is not None and rates is not None:
            sink(device, event.time, names, rates)
        return [_INTERFACES_CODED, _time_out(event.time, at), stamp, shape, values, bitmap]

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

    def encode(
        self,
        ticks: Mapping[str, list[FleetEvent]],
        rates: RateSink | None = None,
        between: Callable[[], None] | None = None,
    ) -> bytes:
        """Each device's events of one commit (in order) as one tick; the chain moves on. `rates` is handed each
        interface sample's rates (the timeline's series: the chain has every difference at hand). `between` is called
        after each device (the recorder's thread gives the event loop its turn there)."""
        self._columns = [[] for _ in range(_COUNTERS)]
        self._appends = tuple(column.append for column in self._columns)
        devices = []
        for device, events in ticks.items():
            if between is not None:
                between()
            items: list[Any] = [device]
            for event in events:
                kind = type(event)
                if kind is InterfacesChanged:
                    assert isinstance(event, InterfacesChanged)
                    items.append(self._interfaces_out(event, rates))
                elif kind is HealthChanged:
                    assert isinstance(event, HealthChanged)
                    items.append(self._health_out(event))
                elif kind is SubscriptionData:
                    assert isinstance(event, SubscriptionData)
                    key = (device, event.group)
                    items.append([_MARK_CODED, _time_out(event.time, self.marks.get(key)), event.group])
                    self.marks[key] = event.time
                else:
                    items.append(event_item(event))
            devices.append(items)
        payload = msgpack.packb([self.precision_bits or 0, devices, *self._columns], use_bin_type=True)
        self._columns, self._appends = [], ()
        return _HEADER + zlib.compress(payload, 6)

    # -- reading --------------------------------------------------------------------------------------

    def _interfaces_in(
        self, device: str, item: list[Any], lanes: list[list[Any]], precision: int, version: int
    ) -> InterfacesChanged:
        """`lanes[i]` is [residuals, position] of counter i (version 1: one lane shared by all counters, from the
        item itself)."""
        _, time_code, stamp, shape, values, extra = item
        if version == 1:
            lanes = [[extra, 0]] * _COUNTERS
            bitmap = b""
        else:
            bitmap = extra
            if not isinstance(bitmap, bytes):
                raise TypeError("an interface sample's idle rows are damaged")
        at = self._stamp_in(device, stamp)
        names, masks = self._shape_in(device, shape)
        value_at = iter(values)
        rows: dict[str, list[Any]] = {}
        for number, (name, mask) in enumerate(zip(names, masks, strict=True)):
            row = _state_row(name, mask, value_at)
            port = self._port(device, name)
            if bitmap and _is_idle(bitmap, number):
                if port.deltas != _STILL:
                    raise TypeError("an idle row of a port whose counters moved")
                row[COUNTERS_AT:] = port.values
                port.stay(at)
                rows[name] = row
                continue
            octets: dict[int, tuple[int | None, int]] = {}
            lasts, deltas, times, spans = port.values, port.deltas, port.times, port.spans
            for index in range(_COUNTERS):
                if not mask >> (COUNTERS_AT + index) & 1:
                    continue
                if mask >> (_RAW_SHIFT + index) & 1:
                    raw = row[COUNTERS_AT + index] = _plain(next(value_at))
                    if version >= 3 and type(raw) is int:
                        port.restart(index, raw, at)
                    else:
                        port.forget(index)
                    continue
                lane = lanes[index]
                residual = lane[0][lane[1]]
                lane[1] += 1
                if type(residual) is not int:
                    raise TypeError("a counter residual is not an integer")
                last, delta = lasts[index], deltas[index]
                if residual == 0 and delta == 0 and last is not None:
                    # A counter that did not move (Port.advance by 0).
                    if index < 2:
                        octets[index] = (0, 0)
                    spans[index] = at - times[index]
                    times[index] = at
                    row[COUNTERS_AT + index] = last
                    continue
                value = _packets_predicted(port, index, at, octets) + (residual << _shift(precision, index, delta))
                if index < 2 and last is not None:
                    octets[index] = (delta, value - last)
                port.advance(index, value, at)
                row[COUNTERS_AT + index] = value
            rows[name] = row
        if next(value_at, None) is not None:
            raise TypeError("an interface sample has values left over")
        if version == 1 and lanes[0][1] != len(lanes[0][0]):
            raise TypeError("an interface sample has residuals left over")
        # Built here rather than by the event format's reader: every value was checked or computed above.
        return InterfacesChanged(device, _time_in(time_code, at), InterfaceBatch(device, at, rows))

    def _shape_in(self, device: str, shape: Any) -> tuple[list[str], list[int]]:
        if shape is None:
            if device not in self.shapes:
                raise TypeError("an interface sample refers to a shape it has not seen")
            return self.shapes[device]
        names, masks = shape
        if not isinstance(names, list) or not isinstance(masks, list) or len(names) != len(masks):
            raise TypeError("an interface shape is damaged")
        counts = [0] * _COUNTERS
        for mask in masks:
            if isinstance(mask, bool) or not isinstance(mask, int):
                raise TypeError("an interface shape is damaged")
            for index in range(_COUNTERS):
                if mask >> (COUNTERS_AT + index) & 1 and not mask >> (_RAW_SHIFT + index) & 1:
                    counts[index] += 1
        self.shapes[device] = (names, masks)
        self.residual_counts[device] = counts
        return names, masks

    def _skip_interfaces(self, device: str, item: list[Any], lanes: list[list[Any]]) -> None:
        """Another device's interface sample, in a tick (version 2) read for one device: only its residuals are
        passed over (its shape is kept, as the next samples may refer to it)."""
        _, masks = self._shape_in(device, item[3])
        bitmap = item[5]
        if not isinstance(bitmap, bytes):
            raise TypeError("an interface sample's idle rows are damaged")
        # An idle row has every counter present as an integer: one residual fewer in each column.
        idle = (int.from_bytes(bitmap, "little") & ((1 << len(masks)) - 1)).bit_count() if bitmap else 0
        for index, count in enumerate(self.residual_counts[device]):
            lanes[index][1] += count - idle

    def _defer_interfaces(self, device: str, item: list[Any], lanes: list[list[Any]]) -> None:
        """Another device's interface sample, read for its state only: its residuals are passed over (its chain is
        not followed from here on) and it waits, the latest of its shape, for `take_deferred`."""
        _, time_code, stamp, _, values, _ = item
        at = self._stamp_in(device, stamp)
        self._skip_interfaces(device, item, lanes)
        names, masks = self.shapes[device]
        if not isinstance(values, list):
            raise TypeError("an interface sample's values are damaged")
        # Keyed by the shape's own list: a sample of the same ports replaces the one before it.
        self._deferred[(device, id(names))] = _Deferred(device, _time_in(time_code, at), at, names, masks, values)

    def take_deferred(self) -> list[FleetEvent]:
        """The deferred samples (see `decode(counters_of=...)`) in time order: interface samples with their state
        fields only, and one health sample per device merging those read; EventFormatError for a damaged one."""
        deferred, self._deferred = self._deferred, {}
        health, self._deferred_health = self._deferred_health, {}
        try:
            events: list[FleetEvent] = [sample.event() for sample in deferred.values()]
            events += [event_from_item([1, device, time, fields]) for device, (time, fields) in health.items()]
        except Exception as error:  # damage, never a crash of the reader
            raise EventFormatError(
                EventFormatProblem.CORRUPT, f"the recording tick is damaged ({type(error).__name__})"
            ) from None
        events.sort(key=lambda event: event.time)
        return events

    def _mark_in(self, device: str, item: list[Any]) -> SubscriptionData:
        _, time_code, group = item
        if not isinstance(group, str):
            raise TypeError("a data mark's group is not a name")
        key = (device, group)
        time = _time_in(time_code, self.marks.get(key))
        self.marks[key] = time
        return SubscriptionData(device, time, group)

    def _health_in(self, device: str, item: list[Any]) -> FleetEvent:
        time, fields = self._health_fields(device, item)
        return event_from_item([1, device, time, fields])

    def _defer_health(self, device: str, item: list[Any]) -> None:
        time, fields = self._health_fields(device, item)
        before = self._deferred_health.get(device)
        if before is not None:
            # A field a sample leaves out (None) keeps its last value, as the store's apply_health does.
            fields = [value if value is not None else earlier for value, earlier in zip(fields, before[1], strict=True)]
        self._deferred_health[device] = (time, fields)

    def _health_fields(self, device: str, item: list[Any]) -> tuple[float, list[Any]]:
        """(the event's time, the sample's fields) of a health item, along the device's chain."""
        _, time_code, stamp_code, same, changed = item
        stamp = _time_in(stamp_code, self.health_stamp.get(device))
        last = self.health_read.get(device)
        fields: list[Any] = [stamp]
        changed_at = iter(changed)
        for index in range(11):
            if same >> index & 1:
                if last is None:
                    raise TypeError("a health sample refers to one it has not seen")
                fields.append(last[index])  # shared: decoding a sample never changes its values
            else:
                fields.append(next(changed_at))
        self.health_read[device] = fields[1:]
        self.health_stamp[device] = stamp
        return _time_in(time_code, stamp), fields

    def decode(self, data: bytes, device: str | None = None, *, counters_of: str | None = None) -> list[FleetEvent]:
        """The events of a tick (only `device`'s when given), in the order written; the chain moves on. Raises
        EventFormatError (and marks the chain broken) on anything that is not a whole tick of this chain.

        With `counters_of` (a device's name, or "" for none), only that device's interface and health samples are
        decoded as events: every other device's wait for `take_deferred` (its interface samples with their state
        fields only, the latest of each shape; its health samples merged), and its counter residuals are passed over
        (a replay shows one device's counters; decoding every counter of a fleet is what made a seek slow). A chain
        keeps to the `counters_of` it was first read with until its next reset."""
        if self.broken:
            return []
        if counters_of != self.counters_of:
            if self.counters_of is not None:
                raise ValueError("this chain follows another device's counters: reset it from a keyframe first")
            self.counters_of = counters_of
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
            counters_of = self.counters_of
            for items in devices:
                name = items[0]
                if not isinstance(name, str):
                    raise TypeError("a tick's device is not a name")
                for item in items[1:]:
                    if not isinstance(item, list) or not item:
                        raise TypeError("a tick's item is not an array")
                    code = item[0]
                    if device is not None and name != device:
                        if code == _INTERFACES_CODED and version > 1:
                            self._skip_interfaces(name, item, lanes)
                        continue
                    if code == _INTERFACES_CODED:
                        if counters_of is not None and name != counters_of and version > 1:
                            self._defer_interfaces(name, item, lanes)
                            continue
                        out.append(self._interfaces_in(name, item, lanes, precision, version))
                    elif code == _HEALTH_CODED:
                        if counters_of is not None and name != counters_of:
                            self._defer_health(name, item)
                            continue
                        out.append(self._health_in(name, item))
                    elif code == _MARK_CODED:
                        out.append(self._mark_in(name, item))
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
