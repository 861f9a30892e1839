"""The timeline's series from events: interface rates from counters, CPU, memory and temperatures from health, and
their one-minute rollups (low, mean, high)."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import msgpack

from edgeops.devices.interface_rows import COUNTERS_AT
from edgeops.fleet.events import FleetEvent, HealthChanged, InterfacesChanged
from edgeops.fleet.history import decode_compact, encode_compact
from edgeops.fleet.rates import InterfaceRateTracker
from edgeops.recording.schema import INTERFACE_METRICS, Metric, SeriesPoint

ROLLUP_S = 60.0
SeriesKey = tuple[str, str, Metric]  # (device, port or "" for the device, metric)


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
            for name, row in batch.rows.items():
                key = (device, name)
                tracker = trackers.get(key)
                if tracker is None:
                    tracker = trackers[key] = InterfaceRateTracker()
                before = list(tracker.times)
                tracker.apply_counters(batch.timestamp, row, COUNTERS_AT)
                for index, (metric, factor) in enumerate(INTERFACE_METRICS):
                    rate = tracker.rates_now[index]
                    # Only a counter of this very sample yields a reading: a rate is not repeated by later samples.
                    if rate is not None and tracker.times[index] != before[index]:
                        yield (device, name, metric), event.time, rate * factor
        elif type(event) is HealthChanged:
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

    def add(self, key: SeriesKey, time: float, value: float) -> Iterator[tuple[SeriesKey, SeriesPoint]]:
        """Add one reading; yields the bucket it closed, if any."""
        start = time - time % self.step
        bucket = self._open.get(key)
        if bucket is not None and bucket.start == start:
            bucket.add(value)
            return
        if bucket is not None:
            yield key, bucket.point()
        self._open[key] = _Bucket(start, value, value, value, 1)

    def close_before(self, time: float) -> Iterator[tuple[SeriesKey, SeriesPoint]]:
        """Hand out every bucket that ended by `time` (a series that went quiet still gets its last minute)."""
        for key, bucket in list(self._open.items()):
            if bucket.start + self.step <= time:
                del self._open[key]
                yield key, bucket.point()

    def flush(self) -> Iterator[tuple[SeriesKey, SeriesPoint]]:
        """Every open bucket (on close)."""
        for key, bucket in self._open.items():
            yield key, bucket.point()
        self._open.clear()


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


def pack_rollups(points: Iterable[tuple[SeriesKey, SeriesPoint]]) -> list[tuple[str, float, bytes]]:
    """Closed one-minute points as rows (device, minute, blob). A series that was zero all minute is left out: most
    ports of a fleet are idle and error counters stay at zero, and a day of their zeros would be most of the file.
    Values are kept as the store's 16-bit log-scale codes (within 0.024 %; negative values read as 0)."""
    grouped: dict[tuple[str, float], dict[str, dict[str, list[float]]]] = {}
    for (device, port, metric), point in points:
        if point.low == 0 and point.high == 0:
            continue
        ports = grouped.setdefault((device, point.time), {})
        codes = [encode_compact(point.low), encode_compact(point.mean), encode_compact(point.high)]
        ports.setdefault(port, {})[metric.value] = [*codes, point.count]
    return [
        (device, minute, zlib.compress(msgpack.packb(ports, use_bin_type=True)))
        for (device, minute), ports in grouped.items()
    ]


def unpack_rollup(data: bytes, port: str, metric: Metric) -> tuple[float, float, float, int] | None:
    """One series' (low, mean, high, count) from a rollup row, or None (not in it, or unreadable)."""
    try:
        ports = msgpack.unpackb(zlib.decompress(data), raw=False)
        values = [decode_compact(code) for code in ports[port][metric.value][:3]]
        count = int(ports[port][metric.value][3])
        if any(value is None for value in values):
            return None
        low, mean, high = (float(value) for value in values if value is not None)
        return low, mean, high, count
    except Exception:  # a damaged row costs its minute, not the timeline
        return None
