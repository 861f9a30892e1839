"""Rates from counter deltas: exact figures, wraps, resets, partial updates, and properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeops.devices.samples import InterfaceSample
from edgeops.fleet.rates import (
    WRAP_WINDOW_SHIFT,
    CounterRate,
    InterfaceRateTracker,
    counter_delta,
    rate_per_second,
    utilisation_pct,
)

TOP = 2**64
WINDOW = TOP >> WRAP_WINDOW_SHIFT


# --- counter_delta / rate_per_second ---------------------------------------------------------


def test_delta_of_a_growing_counter():
    assert counter_delta(1_000, 1_500) == 500
    assert counter_delta(7, 7) == 0


def test_wrap_near_the_top_of_the_range_is_a_wrap():
    assert counter_delta(TOP - 100, 50) == 150


def test_wrap_of_a_32_bit_counter():
    assert counter_delta(2**32 - 10, 5, bits=32) == 15


def test_drop_from_the_middle_of_the_range_is_a_reset():
    assert counter_delta(123_456_789, 1_000) is None
    assert counter_delta(TOP // 2, 10) is None


def test_drop_from_the_top_to_far_up_the_range_is_a_reset():
    # previous near the top, but the "wrapped" delta would be larger than the wrap window
    assert counter_delta(TOP - 10, WINDOW) is None


def test_rate_per_second():
    assert rate_per_second(100.0, 1_000, 102.0, 3_000) == 1_000.0


@pytest.mark.parametrize("dt", [0.0, -1.0])
def test_no_rate_without_elapsed_time(dt):
    assert rate_per_second(100.0, 1_000, 100.0 + dt, 3_000) is None


def test_no_rate_across_a_reset():
    assert rate_per_second(100.0, 10_000, 102.0, 10) is None


def test_utilisation():
    assert utilisation_pct(2.5e9, 10_000_000_000) == 25.0
    assert utilisation_pct(None, 10_000_000_000) is None
    assert utilisation_pct(1e9, None) is None
    assert utilisation_pct(1e9, 0) is None


# --- CounterRate -----------------------------------------------------------------------------


def test_first_reading_is_a_baseline():
    counter = CounterRate()
    assert counter.update(10.0, 5_000) is None
    assert counter.rate is None
    assert counter.update(12.0, 9_000) == 2_000.0
    assert counter.rate == 2_000.0


def test_wrap_gives_the_true_rate():
    counter = CounterRate()
    counter.update(0.0, TOP - 1_000)
    assert counter.update(2.0, 3_000) == 2_000.0


def test_reset_gives_no_rate_then_resumes_from_the_new_baseline():
    counter = CounterRate()
    counter.update(0.0, 1_000_000)
    counter.update(1.0, 1_001_000)
    assert counter.rate == 1_000.0
    assert counter.update(2.0, 40) is None  # rebooted
    assert counter.rate is None  # the old rate described the device before the reboot
    assert counter.update(4.0, 4_040) == 2_000.0


def test_duplicate_and_out_of_order_readings_are_ignored():
    counter = CounterRate()
    counter.update(10.0, 1_000)
    counter.update(11.0, 2_000)
    assert counter.update(11.0, 2_500) is None  # same timestamp
    assert counter.update(9.0, 500) is None  # older than the baseline
    assert counter.rate == 1_000.0  # the shown rate is kept
    assert (counter.time, counter.value) == (11.0, 2_000)
    assert counter.update(12.0, 3_000) == 1_000.0


def test_out_of_range_values_are_ignored():
    counter = CounterRate()
    counter.update(0.0, 100)
    assert counter.update(1.0, -5) is None
    assert counter.update(1.0, TOP) is None
    assert counter.value == 100
    assert counter.update(2.0, 300) == 100.0


# --- InterfaceRateTracker --------------------------------------------------------------------


def sample(t: float, **counters: Any) -> InterfaceSample:
    return InterfaceSample(device="leaf1", name="ethernet-1/1", timestamp=t, **counters)


def test_all_rates_from_two_full_samples():
    tracker = InterfaceRateTracker()
    first = dict(
        in_octets=1_000,
        out_octets=2_000,
        in_packets=10,
        out_packets=20,
        in_errors=0,
        out_errors=1,
        in_discards=5,
        out_discards=5,
    )
    assert tracker.apply(sample(100.0, **first)) is False  # a baseline: no bps yet
    second = dict(
        in_octets=1_000 + 2_500_000,
        out_octets=2_000 + 1_250_000,
        in_packets=10 + 4_000,
        out_packets=20 + 2_000,
        in_errors=2,
        out_errors=1,
        in_discards=9,
        out_discards=5,
    )
    assert tracker.apply(sample(102.0, **second)) is True
    rates = tracker.rates(speed_bps=100_000_000)
    assert rates.in_bps == 10_000_000.0  # 2.5 MB * 8 / 2 s
    assert rates.out_bps == 5_000_000.0
    assert rates.in_pps == 2_000.0
    assert rates.out_pps == 1_000.0
    assert rates.in_errors_ps == 1.0
    assert rates.out_errors_ps == 0.0
    assert rates.in_discards_ps == 2.0
    assert rates.out_discards_ps == 0.0
    assert rates.in_util_pct == 10.0
    assert rates.out_util_pct == 5.0
    assert rates.util_pct == 10.0


def test_partial_updates_use_each_counters_own_previous_reading():
    # SR OS style: one leaf per update, each with its own timestamp.
    tracker = InterfaceRateTracker()
    tracker.apply(sample(100.0, in_octets=0))
    tracker.apply(sample(100.5, out_octets=0))
    tracker.apply(sample(101.0, in_packets=0))
    assert tracker.apply(sample(102.0, in_octets=1_000)) is True
    assert tracker.in_bps == 4_000.0  # 1000 B over 2 s
    assert tracker.out_bps is None  # out-octets has only a baseline so far
    assert tracker.apply(sample(102.5, out_octets=500)) is True
    assert tracker.out_bps == 2_000.0  # 500 B over 2 s, not over the 0.5 s since in-octets
    assert tracker.in_bps == 4_000.0  # untouched by the out-octets update
    assert tracker.apply(sample(103.0, in_packets=30)) is False  # no bps figure in it
    assert tracker.rates(None).in_pps == 15.0
    assert tracker.rates(None).in_util_pct is None


def test_tracker_reset_then_resume():
    tracker = InterfaceRateTracker()
    tracker.apply(sample(0.0, in_octets=10_000, out_octets=10_000))
    tracker.apply(sample(1.0, in_octets=11_000, out_octets=11_000))
    assert tracker.in_bps == 8_000.0
    assert tracker.apply(sample(2.0, in_octets=100, out_octets=100)) is False
    assert tracker.in_bps is None
    assert tracker.out_bps is None
    assert tracker.apply(sample(3.0, in_octets=1_100, out_octets=600)) is True
    assert tracker.in_bps == 8_000.0
    assert tracker.out_bps == 4_000.0


# --- properties ------------------------------------------------------------------------------

counter_values = st.one_of(
    st.integers(min_value=0, max_value=10**6),  # just after a reset or a wrap
    st.integers(min_value=TOP - WINDOW, max_value=TOP - 1),  # about to wrap
    st.integers(min_value=0, max_value=TOP - 1),
)
steps = st.lists(
    st.tuples(st.floats(min_value=-5.0, max_value=60.0, allow_nan=False), counter_values),
    min_size=1,
    max_size=40,
)


@given(start=counter_values, steps=steps)
def test_rates_are_never_negative_and_never_a_spike(start, steps):
    counter = CounterRate()
    t = 1_000.0
    counter.update(t, start)
    for dt, value in steps:
        baseline_time, baseline_value = counter.time, counter.value
        t += dt
        rate = counter.update(t, value)
        assert counter.rate is None or counter.rate >= 0
        if rate is None:
            continue
        assert rate >= 0
        delta = rate * (t - baseline_time)
        if value >= baseline_value:
            assert delta == pytest.approx(value - baseline_value)
        else:  # only a wrap inside the window may turn a drop into a rate
            assert delta <= WINDOW * 1.000001


@given(
    previous=st.integers(min_value=TOP - WINDOW, max_value=TOP - 1),
    increment=st.integers(min_value=1, max_value=10**15),
    dt=st.floats(min_value=0.001, max_value=3600.0, allow_nan=False),
)
def test_wraps_are_handled(previous, increment, dt):
    current = (previous + increment) % TOP
    counter = CounterRate()
    counter.update(0.0, previous)
    rate = counter.update(dt, current)
    assert rate == pytest.approx(increment / dt)


@given(
    before=st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=10),
    base=st.integers(min_value=10**6, max_value=TOP - WINDOW - 1),
    reset_to=st.integers(min_value=0, max_value=10**5),
    after=st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=10),
)
def test_reset_gives_none_then_resumes(before, base, reset_to, after):
    counter = CounterRate()
    t = 0.0
    value = base
    counter.update(t, value)
    for increment in before:
        t += 1.0
        value += increment
        if value >= TOP - WINDOW:  # stay out of the wrap window: this test is about resets
            break
        assert counter.update(t, value) == increment
    if reset_to >= value:
        return  # not a drop: nothing to test
    t += 1.0
    assert counter.update(t, reset_to) is None
    assert counter.rate is None
    value = reset_to
    for increment in after:
        t += 2.0
        value += increment
        assert counter.update(t, value) == increment / 2.0


@given(
    in_steps=st.lists(st.integers(min_value=0, max_value=10**9), min_size=2, max_size=12),
    out_steps=st.lists(st.integers(min_value=0, max_value=10**9), min_size=2, max_size=12),
    out_offset=st.floats(min_value=0.001, max_value=0.999),
)
def test_interleaved_partial_updates_equal_separate_streams(in_steps, out_steps, out_offset):
    tracker = InterfaceRateTracker()
    alone_in, alone_out = CounterRate(), CounterRate()
    in_value = out_value = 0
    events = []
    for i, step in enumerate(in_steps):
        in_value += step
        events.append((float(i), "in", in_value))
    for i, step in enumerate(out_steps):
        out_value += step
        events.append((i + out_offset, "out", out_value))
    events.sort()
    for t, which, value in events:
        if which == "in":
            tracker.apply(sample(t, in_octets=value))
            alone_in.update(t, value)
        else:
            tracker.apply(sample(t, out_octets=value))
            alone_out.update(t, value)
        assert tracker.rates_now[0] == alone_in.rate
        assert tracker.rates_now[1] == alone_out.rate
