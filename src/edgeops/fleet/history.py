"""Bounded, cheap-to-append time series for sparklines: interface traffic (in/out bps) and device CPU."""

from __future__ import annotations

import functools
import math
from array import array
from collections.abc import Sequence
from typing import Any, Literal

DEFAULT_HISTORY_SECONDS = 600.0
DEFAULT_RESOLUTION_S = 2.0

Aggregate = Literal["max", "mean", "last"]

_NAN = math.nan

# Compact series keep each value as a 16-bit code on a log scale: code 0 is a gap, code c >= 1 stands for
# 2 ** ((c - 1) / _STEPS_PER_OCTAVE) - 1. That covers 0 to 2.1e13 (21 Tb/s) with every value within 0.024 % of
# what was recorded (0 exactly): invisible on a sparkline, and half the memory of float32.
_STEPS_PER_OCTAVE = 1480
_TOP_CODE = 0xFFFF


@functools.cache
def _decode_table() -> array[float]:
    """code -> value for every 16-bit code (built on first use: 0.5 MB, shared by every compact series)."""
    table = array("d", [_NAN]) * (_TOP_CODE + 1)
    for code in range(1, _TOP_CODE + 1):
        table[code] = 2.0 ** ((code - 1) / _STEPS_PER_OCTAVE) - 1.0
    return table


def encode_compact(value: float | None) -> int:
    """The 16-bit code of a value (None and NaN: a gap; negative values count as 0)."""
    if value is None or value != value:
        return 0
    if value <= 0.0:
        return 1
    code = 1 + round(math.log2(1.0 + value) * _STEPS_PER_OCTAVE)
    return code if code < _TOP_CODE else _TOP_CODE


def decode_compact(code: int) -> float | None:
    """The value a code stands for (None for a gap)."""
    return None if code == 0 else _decode_table()[code]


class RollingSeries:
    """The last `seconds` of one or more values, kept in fixed time buckets of `resolution_s`.

    Time is cut into buckets (bucket = floor(t / resolution_s)); each bucket holds the last values
    recorded in it, so partial updates that land in the same bucket refine one point instead of
    adding two. Buckets with no data are gaps (None), which is how a sparkline shows that samples
    stopped. Storage is one preallocated float32 array (4 bytes per value, no per-point objects),
    allocated on the first record: 30 000 interfaces x 300 buckets x 2 columns is ~72 MB. A `compact`
    series (non-negative values such as traffic rates) keeps 16-bit log-scale codes instead, within
    0.024 % of each value: half that memory.

    Times are whatever the caller uses (the fleet store passes monotonic seconds and converts to
    wall-clock time with `offset` when reading).
    """

    __slots__ = ("_capacity", "_columns", "_compact", "_data", "_head", "_resolution")

    def __init__(
        self,
        columns: int = 1,
        *,
        seconds: float = DEFAULT_HISTORY_SECONDS,
        resolution_s: float = DEFAULT_RESOLUTION_S,
        compact: bool = False,
    ) -> None:
        if columns < 1:
            raise ValueError("a series needs at least one column")
        if resolution_s <= 0 or seconds <= 0:
            raise ValueError("history seconds and resolution must be positive")
        self._columns = columns
        self._resolution = float(resolution_s)
        self._capacity = max(1, math.ceil(seconds / resolution_s))
        self._compact = compact
        self._data: array[Any] | None = None
        self._head: int | None = None  # absolute bucket number of the newest bucket written

    @property
    def capacity(self) -> int:
        """How many buckets the series spans."""
        return self._capacity

    @property
    def resolution_s(self) -> float:
        return self._resolution

    @property
    def columns(self) -> int:
        return self._columns

    def __len__(self) -> int:
        """Buckets holding data (whatever their age)."""
        data = self._data
        if data is None:
            return 0
        step = self._columns
        if self._compact:
            return sum(1 for i in range(0, len(data), step) if any(data[i : i + step]))
        return sum(1 for i in range(0, len(data), step) if _has_value(data, i, step))

    def record(self, t: float, *values: float | None) -> None:
        """Store `values` (one per column; None is a gap) as the latest in the bucket of time `t`.

        A time older than the newest bucket still lands in its bucket while that bucket is inside
        the window (a late sample); older than the window, it is dropped.
        """
        columns = self._columns
        if len(values) != columns:
            raise ValueError(f"expected {columns} values, got {len(values)}")
        capacity = self._capacity
        bucket = int(t // self._resolution)
        data = self._data
        head = self._head
        if data is None or head is None:
            data = self._data = self._blank(capacity * columns)
            head = self._head = bucket
        elif bucket > head:
            gap = bucket - head
            if gap >= capacity:
                data[:] = self._blank(capacity * columns)
            elif gap > 1:
                # The buckets skipped over held data from one window ago: blank them.
                blank = 0 if self._compact else _NAN
                for skipped in range(head + 1, bucket):
                    base = (skipped % capacity) * columns
                    for c in range(columns):
                        data[base + c] = blank
            self._head = bucket
        elif head - bucket >= capacity:
            return
        base = (bucket % capacity) * columns
        if self._compact:
            for c, value in enumerate(values):
                data[base + c] = encode_compact(value)
            return
        if columns == 2:  # interface traffic: the case that runs for every sample
            first, second = values
            data[base] = _NAN if first is None else first
            data[base + 1] = _NAN if second is None else second
            return
        for c, value in enumerate(values):
            data[base + c] = _NAN if value is None else value

    def _blank(self, size: int) -> array[Any]:
        return array("H", [0]) * size if self._compact else array("f", [_NAN]) * size

    def _floats(self, data: array[Any]) -> list[float]:
        """Stored values as floats, NaN for gaps."""
        if self._compact:
            table = _decode_table()
            return [table[code] for code in data]
        return data.tolist()

    def series(self, column: int = 0, *, until: float, last: int | None = None) -> tuple[float | None, ...]:
        """Values of `column`, one per bucket, oldest first, for the `last` buckets ending at time `until`.

        `last` defaults to the whole window. Buckets without data (before the first sample, after
        the newest one, or skipped) are None.
        """
        if not 0 <= column < self._columns:
            raise IndexError(column)
        count = self._capacity if last is None else max(0, min(last, self._capacity))
        end = int(until // self._resolution)
        data = self._data
        head = self._head
        if data is None or head is None:
            return (None,) * count
        columns = self._columns
        capacity = self._capacity
        oldest_kept = head - capacity + 1
        table = _decode_table() if self._compact else None
        out: list[float | None] = []
        append = out.append
        for bucket in range(end - count + 1, end + 1):
            if bucket > head or bucket < oldest_kept:
                append(None)
                continue
            value = data[(bucket % capacity) * columns + column]
            if table is not None:
                value = table[value]
            append(None if value != value else value)  # NaN marks a gap
        return tuple(out)

    def points(self, *, until: float, offset: float = 0.0) -> tuple[tuple[float | None, ...], ...]:
        """(t, value, ...) for every bucket with data in the window ending at `until`, oldest first.

        t is the bucket's start time plus `offset` (e.g. wall clock minus monotonic clock).
        A column without data in that bucket is None.
        """
        data = self._data
        head = self._head
        if data is None or head is None:
            return ()
        columns = self._columns
        capacity = self._capacity
        resolution = self._resolution
        until_bucket = int(until // resolution)
        oldest_kept = head - capacity + 1
        first = max(until_bucket - capacity + 1, oldest_kept)
        last = min(until_bucket, head)
        if first > last:
            return ()
        # Unroll the ring into oldest-first order once, then walk it as plain Python floats.
        pivot = (oldest_kept % capacity) * columns
        flat = self._floats(data[pivot:] + data[:pivot])[
            (first - oldest_kept) * columns : (last - oldest_kept + 1) * columns
        ]
        start_time = first * resolution + offset
        if columns == 1:
            return tuple(
                (start_time + k * resolution, v)
                for k, v in enumerate(flat)
                if v == v  # NaN: no data
            )
        if columns == 2:
            return tuple(
                (start_time + k * resolution, a if a == a else None, b if b == b else None)
                for k, (a, b) in enumerate(zip(flat[0::2], flat[1::2], strict=True))
                if a == a or b == b
            )
        rows = zip(*(flat[c::columns] for c in range(columns)), strict=True)
        return tuple(
            (start_time + k * resolution, *(None if v != v else v for v in row))
            for k, row in enumerate(rows)
            if any(v == v for v in row)
        )

    def sparkline(
        self,
        width: int,
        column: int = 0,
        *,
        until: float,
        last: int | None = None,
        aggregate: Aggregate = "max",
    ) -> tuple[float | None, ...]:
        """The `last` buckets ending at `until`, resampled to at most `width` values (see `resample`)."""
        return resample(self.series(column, until=until, last=last), width, aggregate)


def resample(values: Sequence[float | None], width: int, aggregate: Aggregate = "max") -> tuple[float | None, ...]:
    """Squeeze `values` into `width` bins, oldest first, for a sparkline `width` cells wide.

    Each bin covers an equal share of the values and is summarised by `aggregate` ("max" keeps
    short bursts visible, "mean" smooths, "last" takes the newest); a bin with no data is None.
    Fewer values than `width` are returned as they are: stretching would invent detail.
    """
    if width <= 0:
        return ()
    n = len(values)
    if n <= width:
        return tuple(values)
    out: list[float | None] = []
    for i in range(width):
        chunk = [v for v in values[i * n // width : (i + 1) * n // width] if v is not None]
        if not chunk:
            out.append(None)
        elif aggregate == "max":
            out.append(max(chunk))
        elif aggregate == "mean":
            out.append(sum(chunk) / len(chunk))
        elif aggregate == "last":
            out.append(chunk[-1])
        else:
            raise ValueError(f"unknown aggregate {aggregate!r}")
    return tuple(out)


def _has_value(data: array[float], base: int, columns: int) -> bool:
    return any(data[base + c] == data[base + c] for c in range(columns))
