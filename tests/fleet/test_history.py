"""Rolling time-bucket history and sparkline resampling."""

from __future__ import annotations

import pytest

from edgeops.fleet.history import RollingSeries, decode_compact, encode_compact, resample


def test_points_are_kept_per_bucket_oldest_first():
    series = RollingSeries(2, seconds=10, resolution_s=2)
    series.record(100.0, 1.0, 10.0)
    series.record(102.0, 2.0, 20.0)
    series.record(104.5, 3.0, 30.0)
    assert series.points(until=105.0) == ((100.0, 1.0, 10.0), (102.0, 2.0, 20.0), (104.0, 3.0, 30.0))
    assert series.points(until=105.0, offset=1_000.0)[0] == (1_100.0, 1.0, 10.0)


def test_updates_in_the_same_bucket_refine_one_point():
    # Partial updates: in-bps arrives first, out-bps a few ms later.
    series = RollingSeries(2, seconds=10, resolution_s=2)
    series.record(100.0, 5.0, None)
    series.record(100.01, 5.0, 7.0)
    assert series.points(until=101.0) == ((100.0, 5.0, 7.0),)
    assert len(series) == 1


def test_window_is_bounded_and_old_points_fall_out():
    series = RollingSeries(1, seconds=10, resolution_s=2)  # 5 buckets
    assert series.capacity == 5
    for i in range(20):
        series.record(100.0 + 2 * i, float(i))
    assert [p[1] for p in series.points(until=138.0)] == [15.0, 16.0, 17.0, 18.0, 19.0]
    # Later, with no new data, the window slides past the old points.
    assert [p[1] for p in series.points(until=142.0)] == [17.0, 18.0, 19.0]
    assert series.points(until=200.0) == ()


def test_skipped_buckets_become_gaps():
    series = RollingSeries(1, seconds=10, resolution_s=1)
    for t in range(10):
        series.record(float(t), float(t))
    series.record(13.0, 13.0)  # 10, 11, 12 missing; the old 0..3 must not show through
    assert series.series(until=13.0) == (4.0, 5.0, 6.0, 7.0, 8.0, 9.0, None, None, None, 13.0)
    assert series.series(until=15.0, last=4) == (None, 13.0, None, None)


def test_a_gap_longer_than_the_window_clears_everything():
    series = RollingSeries(1, seconds=4, resolution_s=1)
    for t in range(4):
        series.record(float(t), 1.0)
    series.record(100.0, 2.0)
    assert series.series(until=100.0) == (None, None, None, 2.0)


def test_late_samples_land_in_their_bucket_or_are_dropped():
    series = RollingSeries(1, seconds=5, resolution_s=1)
    series.record(10.0, 10.0)
    series.record(8.0, 8.0)  # late but inside the window
    series.record(1.0, 1.0)  # older than the window: dropped
    assert series.series(until=10.0) == (None, None, 8.0, None, 10.0)


def test_empty_series():
    series = RollingSeries(2)
    assert len(series) == 0
    assert series.points(until=0.0) == ()
    assert series.series(1, until=0.0, last=3) == (None, None, None)


def test_value_count_must_match_columns():
    series = RollingSeries(2)
    with pytest.raises(ValueError):
        series.record(0.0, 1.0)


def test_values_are_stored_as_float32():
    series = RollingSeries(1, seconds=4, resolution_s=1)
    series.record(0.0, 123_456_789.0)
    (value,) = series.series(until=0.0, last=1)
    assert value == pytest.approx(123_456_789.0, rel=1e-7)


def test_resample_max_mean_last():
    values = [1.0, 5.0, 2.0, None, None, None, 3.0, 4.0]
    assert resample(values, 4) == (5.0, 2.0, None, 4.0)
    assert resample(values, 4, "mean") == (3.0, 2.0, None, 3.5)
    assert resample(values, 4, "last") == (5.0, 2.0, None, 4.0)
    assert resample(values, 2, "mean") == (8.0 / 3.0, 3.5)


def test_resample_uneven_bins_cover_every_value():
    values = [float(i) for i in range(10)]
    assert resample(values, 3, "max") == (2.0, 5.0, 9.0)


def test_resample_never_stretches():
    assert resample([1.0, None, 2.0], 10) == (1.0, None, 2.0)
    assert resample([1.0], 0) == ()


def test_sparkline_of_the_last_n_buckets():
    series = RollingSeries(2, seconds=20, resolution_s=1)
    for t in range(20):
        series.record(float(t), float(t), float(100 + t))
    assert series.sparkline(2, until=19.0, last=4) == (17.0, 19.0)
    assert series.sparkline(2, 1, until=19.0, last=4, aggregate="mean") == (116.5, 118.5)


def test_any_number_of_columns():
    series = RollingSeries(3, seconds=6, resolution_s=2)
    series.record(0.0, 1.0, None, 3.0)
    series.record(2.0, None, None, None)  # a bucket with no value at all is no point
    series.record(4.0, None, 5.0, None)
    assert series.points(until=4.0) == ((0.0, 1.0, None, 3.0), (4.0, None, 5.0, None))
    assert series.series(2, until=4.0) == (3.0, None, None)


# --- compact series ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.0, 0.4, 1.0, 7.0, 999.5, 12_400_000.0, 8e9, 4e11, 1.6e12, 2e13])
def test_compact_codes_stay_within_a_quarter_per_mille(value: float) -> None:
    decoded = decode_compact(encode_compact(value))
    assert decoded is not None
    assert decoded == pytest.approx(value, rel=2.4e-4, abs=1e-3)


def test_compact_codes_keep_gaps_zero_and_order() -> None:
    assert encode_compact(None) == 0 and decode_compact(0) is None
    assert encode_compact(float("nan")) == 0
    assert decode_compact(encode_compact(0.0)) == 0.0 and decode_compact(encode_compact(-5.0)) == 0.0
    values = [0.0, 1.0, 10.0, 1e3, 1e6, 1e9, 1e12]
    codes = [encode_compact(v) for v in values]
    assert codes == sorted(codes) and len(set(codes)) == len(codes)
    assert encode_compact(1e30) == 0xFFFF  # beyond the scale: the top code


def test_a_compact_series_reads_like_a_float_one() -> None:
    exact = RollingSeries(2, seconds=10, resolution_s=2)
    compact = RollingSeries(2, seconds=10, resolution_s=2, compact=True)
    for t, a, b in [(0.0, 1e6, None), (2.0, 2e6, 3e9), (8.0, 5e5, 0.0), (14.0, None, 7e3)]:
        exact.record(t, a, b)
        compact.record(t, a, b)
    assert len(compact) == len(exact)
    for column in (0, 1):
        mine = compact.series(column, until=14.0)
        assert [v is None for v in mine] == [v is None for v in exact.series(column, until=14.0)]
        assert [v for v in mine if v is not None] == pytest.approx(
            [v for v in exact.series(column, until=14.0) if v is not None], rel=2.4e-4
        )
    points, expected = compact.points(until=14.0, offset=100.0), exact.points(until=14.0, offset=100.0)
    assert [p[0] for p in points] == [p[0] for p in expected]
    assert [[v is None for v in p[1:]] for p in points] == [[v is None for v in p[1:]] for p in expected]
