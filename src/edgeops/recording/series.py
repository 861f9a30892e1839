"""The timeline's series from events: interface rates from counters, CPU, memory and temperatures from health, and
their one-minute rollups (low, mean, high)."""

from __future__ import annotations

import math
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import msgpack

from edgeops.devices.interface_rows import COUNTERS_AT
from edgeops.fleet.events import FleetEvent, HealthChanged, InterfacesChanged
from edgeops.fleet.history import decode_compact, encode_compact
from edgeops.fleet.rates import InterfaceRateTracker
from edgeops.recording.coding import IDLE_RATES, TRAFFIC_COUNTERS, PortRates
from edgeops.recording.schema import INTERFACE_METRICS, Metric, SeriesPoint

ROLLUP_S = 60.0
SeriesKey = tuple[str, str, Metric]  # (device, port or "" for the device, metric)
_FACTORS = tuple(factor for _, factor in INTERFACE_METRICS)
_METRICS = tuple(metric for metric, _ in INTERFACE_METRICS)
# The rates of a port whose counters did not move (most ports of a fleet): Chain.encode hands this very list.
_IDLE = IDLE_RATES
# A port's minute of rates, one flat list: its start, the idle samples, the samples with errors and discards at 0,
# then per metric the low, high, total and count, then the four traffic rates of each sample at work (add_rates).
_START, _IDLE_SAMPLES, _QUIET_SAMPLES, _LOW, _HIGH, _TOTAL, _COUNT, _TRAFFIC = 0, 1, 2, 3, 11, 19, 27, 35
_NEW_ROW = (0.0,) * 24 + (0,) * 8
# Per metric, where its low, high, total and count are in that list, and its factor (worked out once, not per rate).
_SLOTS = tuple(
    (_LOW + index, _HIGH + index, _TOTAL + index, _COUNT + index, factor) for index, factor in enumerate(_FACTORS)
)


class MetricExtractor:
    """Turns events, in time order, into (key, time, value) readings. Rates need the previous counters of each
    interface, so it keeps a rate tracker per interface (the store's own, with its wrap and reset rules)."""

    def __init__(self) -> None:
        self._trackers: dict[tuple[str, str], InterfaceRateTracker] = {}

    def readings(self, event: FleetEvent) -> Iterator[tuple[SeriesKey, float, float]]:
        if type(event) is InterfacesChanged:
            batch = event.batch
            device = batch.device
            trackers = self._trackers
            t = batch.timestamp
            for name, row in batch.rows.items():
                key = (device, name)
                tracker = trackers.get(key)
                if tracker is None:
                    tracker = trackers[key] = InterfaceRateTracker()
                tracker.apply_counters(t, row, COUNTERS_AT)
                times, rates = tracker.times, tracker.rates_now
                for index, (metric, factor) in enumerate(INTERFACE_METRICS):
                    rate = rates[index]
                    # Only a counter of this very sample yields a reading: a rate is not repeated by later samples.
                    if rate is not None and times[index] == t and row[COUNTERS_AT + index] is not None:
                        yield (device, name, metric), event.time, rate * factor
        elif type(event) is HealthChanged:
            yield from self.health_readings(event)

    def health_readings(self, event: FleetEvent) -> Iterator[tuple[SeriesKey, float, float]]:
        if type(event) is HealthChanged:
            sample = event.sample
            device = sample.device
            if sample.cpu_pct is not None:
                yield (device, "", Metric.CPU), event.time, float(sample.cpu_pct)
            if sample.memory_used is not None:
                yield (device, "", Metric.MEMORY), event.time, float(sample.memory_used)
            for reading in sample.temperatures or ():
                yield (device, reading.sensor, Metric.TEMPERATURE), event.time, float(reading.celsius)


@dataclass(slots=True)
class _Bucket:
    start: float
    low: float
    high: float
    total: float
    count: int

    def add(self, value: float) -> None:
        if value < self.low:
            self.low = value
        if value > self.high:
            self.high = value
        self.total += value
        self.count += 1

    def point(self) -> SeriesPoint:
        return SeriesPoint(self.start, self.low, self.total / self.count, self.high, self.count)


class RollupAccumulator:
    """One-minute low/mean/high of every series, handed out as each minute closes."""

    def __init__(self, step: float = ROLLUP_S) -> None:
        self.step = step
        self._open: dict[SeriesKey, _Bucket] = {}
        self._swept = -math.inf  # the minute close_before last swept
        # Interface rates: per (device, port) its minute's flat list (_START...; a _START of None: closed).
        self._rows: dict[tuple[str, str], list[Any]] = {}
        self._row_closed: list[tuple[SeriesKey, SeriesPoint]] = []
        # Per device, its last sample's minute, ports and their rows (`_rows_of`); emptied whenever rows close.
        self._last_rows: dict[str, tuple[float, list[str], list[list[Any]]]] = {}

    def add(self, key: SeriesKey, time: float, value: float, closed: list[tuple[SeriesKey, SeriesPoint]]) -> None:
        """Add one reading; the bucket it closes, if any, goes to `closed` (called for every reading: no generator)."""
        start = time - time % self.step
        bucket = self._open.get(key)
        if bucket is not None:
            if bucket.start == start:
                bucket.add(value)
                return
            closed.append((key, bucket.point()))
        self._open[key] = _Bucket(start, value, value, value, 1)

    def add_rates(self, device: str, time: float, ports: list[str], rates: list[PortRates]) -> None:
        """Add one interface sample's rates per second (Chain.encode's RateSink): `rates` has each port's, in the
        order of `ports` (coding.PortRates)."""
        for row, values in zip(self._rows_of(device, time - time % self.step, ports), rates, strict=True):
            if values is _IDLE:
                row[_IDLE_SAMPLES] += 1  # an idle sample: its zeros are counted into the minute when it closes
                continue
            if type(values) is tuple:
                # A port at work (coding.TrafficRates, most samples of a busy fleet): its four traffic rates are
                # kept as they are and folded into the low, high and total when the minute closes, by C loops over
                # the minute's 30 of each; its errors and discards, which did not move, are counted as zeros then.
                row[_QUIET_SAMPLES] += 1
                row[_TRAFFIC].extend(values)
                continue
            if len(values) == TRAFFIC_COUNTERS:
                row[_QUIET_SAMPLES] += 1  # so are the zeros of errors and discards that did not move
            # (Eight rates or the traffic counters' four: zip stops at the shorter.)
            for (low, high, total, count, factor), rate in zip(_SLOTS, values, strict=False):
                if rate is None:
                    continue
                value = rate * factor
                if row[count]:
                    if value < row[low]:
                        row[low] = value
                    elif value > row[high]:
                        row[high] = value
                    row[total] += value
                    row[count] += 1
                else:
                    row[low] = row[high] = row[total] = value
                    row[count] = 1

    def _rows_of(self, device: str, start: float, ports: list[str]) -> list[list[Any]]:
        """The minute's rows of a sample's ports, in its order. A device's samples mostly list the same ports in the
        same minute as its last: then that sample's rows, without a lookup per port."""
        last = self._last_rows.get(device)
        if last is not None and last[0] == start and last[1] == ports:
            return last[2]
        rows = self._rows
        found = []
        for port in ports:
            key = (device, port)
            row = rows.get(key)
            if row is None:
                # One flat list a port (see _START...), which the garbage collector walks once rather than seven.
                row = rows[key] = [start, 0, 0, *_NEW_ROW, array("d")]
            elif row[_START] != start:
                if row[_START] is not None:
                    self._close_row(key, row)
                # The port's next minute in the same list: a fleet's rows made anew every minute would be 8 000
                # lists that live a minute, long enough to be walked in young collections and then in full ones.
                row[_START:_TRAFFIC] = (start, 0, 0, *_NEW_ROW)
                del row[_TRAFFIC][:]
            found.append(row)
        self._last_rows[device] = (start, ports, found)
        return found

    def _close_row(self, key: tuple[str, str], row: list[Any]) -> None:
        device, port = key
        start, idle, quiet = row[_START], row[_IDLE_SAMPLES], row[_QUIET_SAMPLES]
        traffic: array[float] = row[_TRAFFIC]
        for index in range(8):
            zeros = idle + quiet if index >= TRAFFIC_COUNTERS else idle
            count = row[_COUNT + index]
            low, high = row[_LOW + index], row[_HIGH + index]
            if traffic and index < TRAFFIC_COUNTERS:
                factor = _FACTORS[index]
                rates = traffic[index::TRAFFIC_COUNTERS]
                kept_low, kept_high = min(rates) * factor, max(rates) * factor
                if count:
                    low, high = min(low, kept_low), max(high, kept_high)
                else:
                    low, high = kept_low, kept_high
                row[_TOTAL + index] += sum(rates) * factor
                count += len(rates)
            if zeros:  # as if each sample that was counted had added its 0
                low, high = min(low, 0.0) if count else 0.0, max(high, 0.0) if count else 0.0
            if low == 0 and high == 0:
                continue  # a series at zero all minute (or idle): no point (pack_rollups keeps none either)
            count += zeros
            point = SeriesPoint(start, low, row[_TOTAL + index] / count, high, count)
            self._row_closed.append(((device, port, _METRICS[index]), point))

    def close_before(
        self, time: float, closed: list[tuple[SeriesKey, SeriesPoint]], between: Callable[[], None] | None = None
    ) -> None:
        """Hand out every bucket that ended by `time` (a series that went quiet still gets its last minute); the
        sweep runs once a minute, not on every commit. `between` is called every few hundred ports."""
        minute = time - time % self.step
        if minute <= self._swept:
            return
        self._swept = minute
        for key, bucket in list(self._open.items()):
            if bucket.start + self.step <= time:
                del self._open[key]
                closed.append((key, bucket.point()))
        self._last_rows.clear()
        for number, (row_key, row) in enumerate(list(self._rows.items())):
            if between is not None and not number % 256:
                between()
            opened = row[_START]
            if opened is None:  # closed at the last sweep and not sampled since: the port is gone
                del self._rows[row_key]
            elif opened + self.step <= time:
                self._close_row(row_key, row)
                row[_START] = None  # closed, kept for the port's next minute (_rows_of)
        closed.extend(self._row_closed)
        self._row_closed.clear()

    def flush(self, closed: list[tuple[SeriesKey, SeriesPoint]]) -> None:
        """Every open bucket (on close)."""
        closed.extend((key, bucket.point()) for key, bucket in self._open.items())
        self._open.clear()
        for row_key, row in self._rows.items():
            if row[_START] is not None:
                self._close_row(row_key, row)
        self._rows.clear()
        self._last_rows.clear()
        closed.extend(self._row_closed)
        self._row_closed.clear()


def bucket_points(
    points: Iterable[tuple[float, float, float, float, int]], since: float, step: float
) -> list[SeriesPoint]:
    """Points (time, low, mean, high, count) in time order, merged into buckets of `step` seconds from `since`."""
    out: list[SeriesPoint] = []
    current: _Bucket | None = None
    for time, low, mean, high, count in points:
        start = since + ((time - since) // step) * step
        if current is None or current.start != start:
            if current is not None:
                out.append(current.point())
            current = _Bucket(start, low, high, mean * count, count)
        else:
            current.low = min(current.low, low)
            current.high = max(current.high, high)
            current.total += mean * count
            current.count += count
    if current is not None:
        out.append(current.point())
    return out


_METRIC_ORDER = tuple(Metric)  # a series' bit in a port's metric mask


def pack_rollups(
    points: Iterable[tuple[SeriesKey, SeriesPoint]], between: Callable[[], None] | None = None
) -> list[tuple[str, float, bytes]]:
    """Closed one-minute points as rows (device, minute, blob). A series that was zero all minute is left out: most
    ports of a fleet are idle and error counters stay at zero, and a day of their zeros would be most of the file.
    Values are kept as the store's 16-bit log-scale codes (within 0.024 %; negative values read as 0).

    A row is columns, as like values side by side compress best: the ports, a mask of each port's metrics, then
    every series' low code, mean minus low, high minus mean, and the readings counted (one number when all are the
    same, as they nearly always are). `between` is called every thousand points and before each row."""
    grouped: dict[tuple[str, float], dict[str, dict[int, tuple[int, int, int, int]]]] = {}
    for number, ((device, port, metric), point) in enumerate(points):
        if between is not None and not number % 1024:
            between()
        if point.low == 0 and point.high == 0:
            continue
        ports = grouped.setdefault((device, point.time), {})
        codes = (encode_compact(point.low), encode_compact(point.mean), encode_compact(point.high), point.count)
        ports.setdefault(port, {})[_METRIC_ORDER.index(metric)] = codes
    rows = []
    for (device, minute), ports in grouped.items():
        if between is not None:
            between()
        masks, lows, means, highs, counts = [], [], [], [], []
        for series in ports.values():
            mask = 0
            for bit in sorted(series):
                mask |= 1 << bit
                low, mean, high, count = series[bit]
                lows.append(low)
                means.append(mean - low)
                highs.append(high - mean)
                counts.append(count)
            masks.append(mask)
        common = max(set(counts), key=counts.count)
        column = [list(ports), masks, lows, means, highs, common, None if set(counts) == {common} else counts]
        rows.append((device, minute, zlib.compress(msgpack.packb(column, use_bin_type=True), 9)))
    return rows


def unpack_rollup(data: bytes, port: str, metric: Metric) -> tuple[float, float, float, int] | None:
    """One series' (low, mean, high, count) from a rollup row, or None (not in it, or unreadable)."""
    try:
        unpacked = msgpack.unpackb(zlib.decompress(data), raw=False)
        if isinstance(unpacked, dict):  # format 2: {port: {metric: [low, mean, high, count]}}
            low_code, mean_code, high_code, count = unpacked[port][metric.value]
        else:
            names, masks, lows, means, highs, common, counts = unpacked
            at = names.index(port)
            bit = _METRIC_ORDER.index(Metric(metric))
            if not masks[at] >> bit & 1:
                return None
            index = sum(mask.bit_count() for mask in masks[:at]) + (masks[at] & ((1 << bit) - 1)).bit_count()
            low_code = lows[index]
            mean_code = low_code + means[index]
            high_code = mean_code + highs[index]
            count = common if counts is None else counts[index]
        values = [decode_compact(code) for code in (low_code, mean_code, high_code)]
        if any(value is None for value in values):
            return None
        low, mean, high = (float(value) for value in values if value is not None)
        return low, mean, high, int(count)
    except Exception:  # a damaged row costs its minute, not the timeline
        return None
