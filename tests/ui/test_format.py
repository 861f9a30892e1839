"""Human units: rates, bytes, durations, ages and percentages, including the edges (0, None, negative, huge)."""

import math

import pytest

from edgeops.ui.format import (
    MISSING,
    format_age,
    format_age_coarse,
    format_bps,
    format_bytes,
    format_celsius,
    format_count_rate,
    format_duration,
    format_memory,
    format_percent,
    format_pps,
    format_since,
    format_speed,
    memory_percent,
    sparkline,
)


@pytest.mark.parametrize(
    ("bps", "text"),
    [
        (0, "0 b/s"),
        (0.4, "0 b/s"),
        (950, "950 b/s"),
        (999.4, "999 b/s"),
        (999.6, "1 Kb/s"),  # rounding carries into the next prefix instead of showing "1000 b/s"
        (1_000, "1 Kb/s"),
        (12_400, "12.4 Kb/s"),
        (3_210_000, "3.21 Mb/s"),
        (100_000_000, "100 Mb/s"),
        (999_700_000, "1 Gb/s"),
        (9_870_000_000, "9.87 Gb/s"),
        (1_200_000_000_000, "1.2 Tb/s"),
        (4.5e18, "4.5 Eb/s"),
        (2e21, "2000 Eb/s"),  # beyond the last prefix: all the digits, never an exponent
    ],
)
def test_bps(bps, text):
    assert format_bps(bps) == text


@pytest.mark.parametrize("bad", [None, -1, -0.001, math.nan, math.inf, -math.inf])
def test_unknown_or_impossible_figures_are_never_shown_as_numbers(bad):
    for formatter in (format_bps, format_pps, format_bytes, format_count_rate, format_percent):
        assert formatter(bad) == MISSING, formatter.__name__


def test_pps():
    assert format_pps(0) == "0 pps"
    assert format_pps(950) == "950 pps"
    assert format_pps(12_400) == "12.4 Kpps"
    assert format_pps(3_210_000) == "3.21 Mpps"


def test_speed():
    assert format_speed(1_000_000_000) == "1G"
    assert format_speed(10_000_000_000) == "10G"
    assert format_speed(400_000_000_000) == "400G"
    assert format_speed(100_000_000) == "100M"
    assert format_speed(1_600_000_000_000) == "1.6T"
    assert format_speed(0) == MISSING  # a port that reports speed 0 has no known speed
    assert format_speed(None) == MISSING


def test_bytes_use_binary_prefixes():
    assert format_bytes(0) == "0 B"
    assert format_bytes(512) == "512 B"
    assert format_bytes(1023.6) == "1 KiB"
    assert format_bytes(12_697) == "12.4 KiB"
    assert format_bytes(16 * 2**30) == "16 GiB"
    assert format_bytes(3_446_711_255) == "3.21 GiB"


def test_count_rate():
    assert format_count_rate(0) == "0"
    assert format_count_rate(0.004) == "<0.01"  # one error in minutes is not zero
    assert format_count_rate(0.05) == "0.05"
    assert format_count_rate(0.5) == "0.5"
    assert format_count_rate(2.5) == "2.5"
    assert format_count_rate(12.4) == "12"
    assert format_count_rate(999.4) == "999"
    assert format_count_rate(1234) == "1.23K"
    assert format_count_rate(5e9) == "5G"


def test_percent():
    assert format_percent(0) == "0.0%"
    assert format_percent(12.345) == "12.3%"
    assert format_percent(99.94) == "99.9%"
    assert format_percent(99.96) == "100%"
    assert format_percent(100) == "100%"
    assert format_percent(250.4) == "250%"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.9, "0s"),
        (45, "45s"),
        (59.99, "59s"),  # not yet a minute
        (60, "1m00s"),
        (725, "12m05s"),
        (3600, "1h00m"),
        (75_540, "20h59m"),
        (3 * 86_400 + 4 * 3600 + 59, "3d 04h"),
        (10_000 * 86_400, "10000d 00h"),
        (-5, "0s"),  # clock skew: "just now", never a negative age
        (None, MISSING),
        (math.nan, MISSING),
        (math.inf, "forever"),
    ],
)
def test_duration(seconds, text):
    assert format_duration(seconds) == text


def test_age_and_since():
    assert format_age(4) == "4s ago"
    assert format_age(-3) == "0s ago"
    assert format_age(None) == MISSING
    assert format_since(1_000.0, 1_004.5) == "4s ago"
    assert format_since(None, 1_004.5) == MISSING


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-2.0, "<1s"),  # clock skew: just now
        (0.4, "<1s"),
        (1.0, "1s"),
        (59.9, "59s"),  # whole units, truncated: the text moves once a second
        (60.0, "1m"),
        (3599.0, "59m"),
        (3600.0, "1h"),
        (90_000.0, "25h"),
    ],
)
def test_coarse_age_has_one_unit_and_no_ago(seconds, text):
    assert format_age_coarse(seconds) == text


def test_celsius_and_memory():
    assert format_celsius(45.4) == "45°C"
    assert format_celsius(-5) == "-5°C"
    assert format_celsius(None) == MISSING
    assert format_memory(4 * 2**30, 16 * 2**30) == "4 GiB / 16 GiB (25.0%)"
    assert format_memory(None, 16 * 2**30) == f"{MISSING} / 16 GiB"
    assert format_memory(None, None) == MISSING
    assert memory_percent(1, 0) is None
    assert memory_percent(-1, 10) is None


# --- sparkline ---------------------------------------------------------------------------------


def test_sparkline_scales_from_zero_to_the_largest_value():
    assert sparkline((0, 1, 2, 3, 4, 5, 6, 7)) == "▁▂▃▄▅▆▇█"
    assert sparkline((5, 5, 5)) == "███"  # a flat busy link reads as busy
    assert sparkline((0, 0)) == "▁▁"
    assert sparkline(()) == ""


def test_sparkline_gaps_width_and_fixed_maximum():
    assert sparkline((1.0, None, math.nan, 1.0)) == "█  █"
    assert sparkline((50.0,), width=4, maximum=100.0) == "   ▅"  # the newest value sits in the last cell
    assert sparkline(range(20), width=3) == "▇██"  # only the newest values (17, 18, 19 of 0..19)
    assert sparkline((150.0, -3.0), maximum=100.0) == "█▁"  # out of range: clamped
    assert sparkline((1.0,), width=0) == ""
