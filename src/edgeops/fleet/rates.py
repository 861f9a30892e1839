"""Rates from interface counter deltas (bps, pps, errors/s, discards/s, utilisation), safe across wraps and resets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from edgeops.devices.samples import COUNTER_FIELDS, InterfaceSample

COUNTER_BITS = 64

# A counter that went down is taken as a wrap only when the previous value sat in the top
# 1/16 of the counter's range and the wrapped delta is no larger than that slice. Anything
# else is a reset (reboot, `clear`): a real 64-bit octet counter needs years to wrap, so a
# drop from the middle of the range is never a wrap, and treating it as one would draw a
# spike of ~10**19 bits per second.
WRAP_WINDOW_SHIFT = 4


def counter_delta(previous: int, current: int, *, bits: int = COUNTER_BITS) -> int | None:
    """How much a counter grew from `previous` to `current`, or None when it was reset.

    A counter that went down counts as wrapped (delta = current + 2**bits - previous) only
    when that is plausible, i.e. `previous` was near the top of the range; otherwise it was
    reset and the interval has no delta.
    """
    if current >= previous:
        return current - previous
    modulus = 1 << bits
    window = modulus >> WRAP_WINDOW_SHIFT
    wrapped = current + modulus - previous
    if previous >= modulus - window and wrapped <= window:
        return wrapped
    return None


def rate_per_second(
    previous_time: float, previous_value: int, time: float, value: int, *, bits: int = COUNTER_BITS
) -> float | None:
    """The per-second rate between two readings of one counter; None for dt <= 0 or a reset."""
    dt = time - previous_time
    if dt <= 0:
        return None
    delta = counter_delta(previous_value, value, bits=bits)
    if delta is None:
        return None
    return delta / dt


def utilisation_pct(bps: float | None, speed_bps: int | None) -> float | None:
    """Traffic as a percentage of the port speed; None when either is unknown (or the speed is 0)."""
    if bps is None or not speed_bps or speed_bps <= 0:
        return None
    return bps * 100.0 / speed_bps


class CounterRate:
    """The latest rate of one counter, computed from that counter's own previous reading.

    Keeping (time, value) per counter is what makes partial updates safe: SR OS sends one
    leaf per gNMI update, so in-octets and out-octets arrive with their own timestamps.
    """

    __slots__ = ("bits", "rate", "time", "value")

    def __init__(self, bits: int = COUNTER_BITS) -> None:
        self.bits = bits
        self.time: float | None = None
        self.value: int | None = None
        self.rate: float | None = None  # per second; None until two good readings, and after a reset

    def update(self, time: float, value: int) -> float | None:
        """Take one reading; return the rate for the interval it closes, or None.

        - first reading, or the counter was reset: None, and the reading becomes the new baseline
          (`rate` is cleared: the old rate described the device before its reboot);
        - dt <= 0 (a duplicate or out-of-order reading) or a value outside the counter's range:
          None, and the reading is ignored (baseline and `rate` stay as they were).
        """
        previous_time = self.time
        previous_value = self.value
        if previous_time is None or previous_value is None:
            if value < 0 or value >> self.bits:
                return None
            self.time = time
            self.value = value
            return None
        dt = time - previous_time
        if dt <= 0:
            return None
        if previous_value <= value and not value >> self.bits:
            delta: int | None = value - previous_value  # the common case, kept cheap
        elif value < 0 or value >> self.bits:
            return None
        else:
            delta = counter_delta(previous_value, value, bits=self.bits)
        self.time = time
        self.value = value
        if delta is None:
            self.rate = None
            return None
        rate = delta / dt
        self.rate = rate
        return rate


@dataclass(frozen=True, slots=True)
class InterfaceRates:
    """Rates of one interface at one instant; None where not (yet) known."""

    in_bps: float | None = None
    out_bps: float | None = None
    in_pps: float | None = None
    out_pps: float | None = None
    in_errors_ps: float | None = None
    out_errors_ps: float | None = None
    in_discards_ps: float | None = None
    out_discards_ps: float | None = None
    in_util_pct: float | None = None
    out_util_pct: float | None = None

    @property
    def util_pct(self) -> float | None:
        """The busier direction's utilisation."""
        known = [u for u in (self.in_util_pct, self.out_util_pct) if u is not None]
        return max(known) if known else None


NO_RATES = InterfaceRates()


_COUNTERS = len(COUNTER_FIELDS)


class InterfaceRateTracker:
    """The eight counter rates of one interface, fed by (possibly partial) samples or decoded rows.

    The same rules as CounterRate, per counter, kept in three flat lists instead of eight objects: this runs
    for every sample of the fleet, and one loop over plain lists costs a fraction of eight method calls.
    """

    __slots__ = ("bits", "rates_now", "times", "values")

    def __init__(self, bits: int = COUNTER_BITS) -> None:
        self.bits = bits
        self.times: list[float | None] = [None] * _COUNTERS
        self.values: list[int | None] = [None] * _COUNTERS  # the latest accepted reading (None: never)
        self.rates_now: list[float | None] = [None] * _COUNTERS  # per second

    def apply(self, sample: InterfaceSample) -> bool:
        """Feed the counters present in `sample`; True when it produced a new bps figure.

        The return value tells the caller whether the traffic history needs a point.
        """
        return self.apply_counters(sample.timestamp, [getattr(sample, name) for name in COUNTER_FIELDS], 0)

    def apply_counters(self, t: float, row: Sequence[int | None], offset: int) -> bool:
        """Feed row[offset:offset + 8] (COUNTER_FIELDS order, None: not reported) read at time `t`.

        True when in- or out-octets produced a new rate (see CounterRate.update for the rules).
        """
        bits = self.bits
        times = self.times
        values = self.values
        rates = self.rates_now
        new_traffic_rate = False
        for i in range(_COUNTERS):
            value = row[offset + i]
            if value is None:
                continue
            previous = values[i]
            if previous is None:
                if value >= 0 and not value >> bits:
                    times[i] = t
                    values[i] = value
                continue
            dt = t - times[i]  # type: ignore[operator]
            if dt <= 0:
                continue
            if previous <= value and not value >> bits:
                delta: int | None = value - previous
            elif value < 0 or value >> bits:
                continue
            else:
                delta = counter_delta(previous, value, bits=bits)
            times[i] = t
            values[i] = value
            if delta is None:
                rates[i] = None
                continue
            rates[i] = delta / dt
            if i < 2:
                new_traffic_rate = True
        return new_traffic_rate

    @property
    def in_bps(self) -> float | None:
        rate = self.rates_now[0]
        return None if rate is None else rate * 8.0

    @property
    def out_bps(self) -> float | None:
        rate = self.rates_now[1]
        return None if rate is None else rate * 8.0

    def rates(self, speed_bps: int | None) -> InterfaceRates:
        """A frozen view of the current rates, with utilisation against `speed_bps`."""
        in_bps = self.in_bps
        out_bps = self.out_bps
        rates = self.rates_now
        return InterfaceRates(
            in_bps=in_bps,
            out_bps=out_bps,
            in_pps=rates[2],
            out_pps=rates[3],
            in_errors_ps=rates[4],
            out_errors_ps=rates[5],
            in_discards_ps=rates[6],
            out_discards_ps=rates[7],
            in_util_pct=utilisation_pct(in_bps, speed_bps),
            out_util_pct=utilisation_pct(out_bps, speed_bps),
        )
