"""The timeline's one-minute rollups: a port's idle samples count into its minute like any other reading, though
the recorder passes over them without working out eight rates each."""

from __future__ import annotations

from edgeops.devices.interface_rows import COUNTERS_AT, ROW_LENGTH, InterfaceBatch
from edgeops.fleet.events import InterfacesChanged
from edgeops.recording.schema import Metric, SeriesPoint
from edgeops.recording.series import MetricExtractor, RollupAccumulator, SeriesKey

START = 1_767_225_600.0  # a minute's start


def _sample(at: float, octets: int) -> InterfacesChanged:
    row: list[object] = [None] * ROW_LENGTH
    row[COUNTERS_AT : COUNTERS_AT + 8] = [octets, octets, octets // 100, octets // 100, 0, 0, 0, 0]
    return InterfacesChanged("leaf1", at, InterfaceBatch("leaf1", at, {"e1": row}))


def _minute(octets: list[int]) -> dict[Metric, SeriesPoint]:
    extractor, rollups = MetricExtractor(), RollupAccumulator()
    for number, reading in enumerate(octets):
        event = _sample(START + 2 * number, reading)
        for port, values in extractor.interface_rates(event):
            rollups.add_rates("leaf1", port, event.time, values)
    closed: list[tuple[SeriesKey, SeriesPoint]] = []
    rollups.flush(closed)
    return {key[2]: point for key, point in closed}


def test_idle_samples_count_into_a_busy_minute() -> None:
    # 1000 octets a second for two samples, then idle for three: in-bps 8000, 8000, 0, 0, 0.
    points = _minute([0, 2000, 4000, 4000, 4000, 4000])
    in_bps = points[Metric.IN_BPS]
    assert (in_bps.low, in_bps.high, in_bps.count) == (0.0, 8000.0, 5)
    assert in_bps.mean == 3200.0
    # The error counters were read in every sample and never moved: zero all minute, as without the shortcut.
    assert points[Metric.IN_ERRORS].high == 0.0 and points[Metric.IN_ERRORS].count == 5


def test_a_port_that_wakes_up_after_idling_gets_its_rate_over_its_last_interval() -> None:
    points = _minute([0, 0, 0, 0, 2000])
    in_bps = points[Metric.IN_BPS]
    # The idle samples moved the rate's clock on: 2000 octets in the last 2 s, not in the 8 s since the first.
    assert in_bps.high == 8000.0
    assert (in_bps.low, in_bps.count) == (0.0, 4)


def test_rollup_rows_give_back_every_series_and_read_the_older_layout() -> None:
    import zlib

    import msgpack

    from edgeops.fleet.history import decode_compact, encode_compact
    from edgeops.recording.series import pack_rollups, unpack_rollup

    def point(low: float, mean: float, high: float, count: int = 30) -> SeriesPoint:
        return SeriesPoint(START, low, mean, high, count)

    points = [
        (("leaf1", "e1", Metric.IN_BPS), point(100.0, 2000.0, 9000.0)),
        (("leaf1", "e1", Metric.OUT_DISCARDS), point(0.0, 0.5, 3.0)),
        (("leaf1", "e1", Metric.IN_ERRORS), point(0.0, 0.0, 0.0)),  # zero all minute: left out
        (("leaf1", "e2", Metric.OUT_PPS), point(10.0, 11.0, 12.0, count=7)),  # a port that came up late
        (("leaf1", "", Metric.CPU), point(5.0, 6.0, 9.0)),
        (("leaf2", "e1", Metric.IN_BPS), point(1.0, 1.0, 1.0)),
    ]
    rows = {(device, minute): data for device, minute, data in pack_rollups(points)}
    assert set(rows) == {("leaf1", START), ("leaf2", START)}

    def near(value: float) -> float:
        decoded = decode_compact(encode_compact(value))
        assert decoded is not None
        return float(decoded)

    for (device, port, metric), expected in points:
        got = unpack_rollup(rows[(device, START)], port, metric)
        if expected.high == 0:
            assert got is None
        else:
            assert got == (near(expected.low), near(expected.mean), near(expected.high), expected.count)
    assert unpack_rollup(rows[("leaf1", START)], "e2", Metric.IN_BPS) is None
    assert unpack_rollup(rows[("leaf1", START)], "e9", Metric.IN_BPS) is None
    assert unpack_rollup(b"not a rollup", "e1", Metric.IN_BPS) is None
    # Recordings of format 2 hold a map per row.
    older = zlib.compress(
        msgpack.packb({"e1": {"in-bps": [encode_compact(8.0), encode_compact(9.0), encode_compact(10.0), 4]}})
    )
    assert unpack_rollup(older, "e1", Metric.IN_BPS) == (near(8.0), near(9.0), near(10.0), 4)
