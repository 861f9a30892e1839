"""The timeline's series from events: interface rates from counters, CPU, memory and temperatures from health, and
their one-minute rollups (low, mean, high)."""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import msgpack

from edgeops.devices.interface_rows import COUNTERS_AT
from edgeops.fleet.events import FleetEvent, HealthChanged, InterfacesChanged
from edgeops.fleet.history import decode_compact, encode_compact
from edgeops.fleet.rates import InterfaceRateTracker
from edgeops.recording.schema import INTERFACE_METRICS, Metric, SeriesPoint

ROLLUP_S = 60.0
SeriesKey = tuple[str, str, Metric]  # (device, port or "" for the device, metric)
_FACTORS = tuple(factor for _, factor in INTERFACE_METRICS)
_METRICS = tuple(metric for metric, _ in INTERFACE_METRICS)
_IDLE: list[float | None] = [0.0] * 8  # the rates of a port whose counters did not move (most ports of a fleet)


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

    def interface_rates(self, event: InterfacesChanged) -> Iterator[tuple[str, list[float | None]]]:
        """(port, the eight rates of INTERFACE_METRICS, None where this sample gave none) per row: the recorder's
        fast path (one call per row, not per reading)."""
        batch = event.batch
        device = batch.device
        trackers = self._trackers
        t = batch.timestamp
        factors = _FACTORS
        for name, row in batch.rows.items():
            key = (device, name)
            tracker = trackers.get(key)
            if tracker is None:
                tracker = trackers[key] = InterfaceRateTracker()
            times, rates = tracker.times, tracker.rates_now
            # (Every rate 0.0 means every counter was read: no time is None.)
            if rates == _IDLE and row[COUNTERS_AT:] == tracker.values and t > max(times):  # type: ignore[type-var,operator]
                # Still idle: what apply_counters would do (every rate 0 again, read at `t`), without its loop.
                times[:] = [t] * 8
                yield name, _IDLE
                continue
            tracker.apply_counters(t, row, COUNTERS_AT)
            values: list[float | None] = [None] * 8
            for i in range(8):
                rate = rates[i]
                if rate is not None and times[i] == t and row[COUNTERS_AT + i] is not None:
                    values[i] = rate * factors[i]
            yield name, values

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
        # Interface rates: per (device, port) [minute start, eight buckets or None].
        self._rows: dict[tuple[str, str], list[Any]] = {}
        self._row_closed: list[tuple[SeriesKey, SeriesPoint]] = []

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

    def add_rates(self, device: str, port: str, time: float, values: list[float | None]) -> None:
        """Add one interface sample's eight rates (None: none this sample) in one call."""
        start = time - time % self.step
        key = (device, port)
        row = self._rows.get(key)
        if row is None or row[0] != start:
            if row is not None:
                self._close_row(key, row)
            row = self._rows[key] = [start, [None] * 8, 0]
        if values == _IDLE:
            row[2] += 1  # an idle sample: counted into the minute's buckets when it closes
            return
        buckets = row[1]
        for index, value in enumerate(values):
            if value is None:
                continue
            bucket = buckets[index]
            if bucket is None:
                buckets[index] = _Bucket(start, value, value, value, 1)
            else:
                bucket.add(value)

    def _close_row(self, key: tuple[str, str], row: list[Any]) -> None:
        device, port = key
        idle = row[2]
        for index, bucket in enumerate(row[1]):
            if bucket is not None:
                if idle:  # as if each idle sample had added its 0 (a series idle all minute has no bucket: none kept)
                    bucket.count += idle
                    bucket.low = min(bucket.low, 0.0)
                    bucket.high = max(bucket.high, 0.0)
                self._row_closed.append(((device, port, _METRICS[index]), bucket.point()))

    def close_before(self, time: float, closed: list[tuple[SeriesKey, SeriesPoint]]) -> None:
        """Hand out every bucket that ended by `time` (a series that went quiet still gets its last minute); the
        sweep runs once a minute, not on every commit."""
        minute = time - time % self.step
        if minute <= self._swept:
            return
        self._swept = minute
        for key, bucket in list(self._open.items()):
            if bucket.start + self.step <= time:
                del self._open[key]
                closed.append((key, bucket.point()))
        for row_key, row in list(self._rows.items()):
            if row[0] + self.step <= time:
                del self._rows[row_key]
                self._close_row(row_key, row)
        closed.extend(self._row_closed)
        self._row_closed.clear()

    def flush(self, closed: list[tuple[SeriesKey, SeriesPoint]]) -> None:
        """Every open bucket (on close)."""
        closed.extend((key, bucket.point()) for key, bucket in self._open.items())
        self._open.clear()
        for row_key, row in self._rows.items():
            self._close_row(row_key, row)
        self._rows.clear()
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


def pack_rollups(points: Iterable[tuple[SeriesKey, SeriesPoint]]) -> list[tuple[str, float, bytes]]:
    """Closed one-minute points as rows (device, minute, blob). A series that was zero all minute is left out: most
    ports of a fleet are idle and error counters stay at zero, and a day of their zeros would be most of the file.
    Values are kept as the store's 16-bit log-scale codes (within 0.024 %; negative values read as 0).

    A row is columns, as like values side by side compress best: the ports, a mask of each port's metrics, then
    every series' low code, mean minus low, high minus mean, and the readings counted (one number when all are the
    same, as they nearly always are)."""
    grouped: dict[tuple[str, float], dict[str, dict[int, tuple[int, int, int, int]]]] = {}
    for (device, port, metric), point in points:
        if point.low == 0 and point.high == 0:
            continue
        ports = grouped.setdefault((device, point.time), {})
        codes = (encode_compact(point.low), encode_compact(point.mean), encode_compact(point.high), point.count)
        ports.setdefault(port, {})[_METRIC_ORDER.index(metric)] = codes
    rows = []
    for (device, minute), ports in grouped.items():
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
