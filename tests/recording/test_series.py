"""The timeline's one-minute rollups: a port's idle samples count into its minute like any other reading, though
the recorder passes over them without working out eight rates each."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeops.devices.interface_rows import COUNTERS_AT, ROW_LENGTH, InterfaceBatch
from edgeops.fleet.events import InterfacesChanged
from edgeops.recording.coding import Chain
from edgeops.recording.schema import INTERFACE_METRICS, Metric, SeriesPoint
from edgeops.recording.series import MetricExtractor, RollupAccumulator, SeriesKey

START = 1_767_225_600.0  # a minute's start
_METRIC_INDEX = {metric: index for index, (metric, _) in enumerate(INTERFACE_METRICS)}
_FACTOR = dict(INTERFACE_METRICS)


def _sample(at: float, octets: int, errors: int = 0) -> InterfacesChanged:
    row: list[object] = [None] * ROW_LENGTH
    row[COUNTERS_AT : COUNTERS_AT + 8] = [octets, octets, octets // 100, octets // 100, errors, 0, 0, 0]
    return InterfacesChanged("leaf1", at, InterfaceBatch("leaf1", at, {"e1": row}))


def _minute(octets: list[int], errors: list[int] | None = None) -> dict[Metric, SeriesPoint]:
    chain, rollups = Chain(), RollupAccumulator()
    for number, reading in enumerate(octets):
        event = _sample(START + 2 * number, reading, errors[number] if errors else 0)
        chain.encode({"leaf1": [event]}, rates=rollups.add_rates)
    closed: list[tuple[SeriesKey, SeriesPoint]] = []
    rollups.flush(closed)
    return {key[2]: point for key, point in closed}


def test_idle_samples_count_into_a_busy_minute() -> None:
    # 1000 octets a second for two samples, then idle for three: in-bps 8000, 8000, 0, 0, 0.
    points = _minute([0, 2000, 4000, 4000, 4000, 4000])
    in_bps = points[Metric.IN_BPS]
    assert (in_bps.low, in_bps.high, in_bps.count) == (0.0, 8000.0, 5)
    assert in_bps.mean == 3200.0
    # The error counters were read in every sample and never moved: zero all minute, which keeps no point.
    assert Metric.IN_ERRORS not in points


def test_errors_at_zero_count_into_a_minute_they_moved_in() -> None:
    # Octets move in every sample; in-errors only between the third and the fourth: 0, 0, 2.5, 0 a second.
    points = _minute([0, 2000, 4000, 6000, 8000], errors=[0, 0, 0, 5, 5])
    in_errors = points[Metric.IN_ERRORS]
    assert (in_errors.low, in_errors.mean, in_errors.high, in_errors.count) == (0.0, 0.625, 2.5, 4)
    assert points[Metric.IN_BPS].count == 4


def test_a_late_sample_for_a_minute_already_closed_is_rolled_up_again_not_lost() -> None:
    # A device's sample can reach the recorder after its minute was swept (a commit that ran late): it opens that
    # minute again, and the next sweep hands it out as a point of its own (a reader merges the minute's points).
    rollups = RollupAccumulator()
    closed: list[tuple[SeriesKey, SeriesPoint]] = []
    rollups.add_rates("leaf1", START + 10, ["e1"], [[1000.0, 1000.0, 10.0, 10.0, 0.0, 0.0, 0.0, 0.0]])
    rollups.close_before(START + 61, closed)
    rollups.add_rates("leaf1", START + 20, ["e1"], [[3000.0, 3000.0, 30.0, 30.0, 0.0, 0.0, 0.0, 0.0]])
    rollups.close_before(START + 121, closed)
    in_bps = [point for key, point in closed if key == ("leaf1", "e1", Metric.IN_BPS)]
    assert [(point.time, point.mean, point.count) for point in in_bps] == [(START, 8000.0, 1), (START, 24000.0, 1)]


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


@st.composite
def _port_samples(draw: st.DrawFn) -> list[InterfacesChanged]:
    """Samples of two ports at rising device times: counters that climb, stand still, are reset, wrap at 64 bits,
    or are left out of a sample."""
    values = {name: [draw(st.integers(0, 2**40)) for _ in range(8)] for name in ("e1", "e2")}
    at = START
    out: list[InterfacesChanged] = []
    for _ in range(draw(st.integers(1, 40))):
        at += draw(st.sampled_from([2.0, 2.003, 1.997, 0.5, 30.0]))
        rows: dict[str, list[object]] = {}
        for name in draw(st.lists(st.sampled_from(["e1", "e2"]), unique=True, min_size=1)):
            counters = values[name]
            for index in range(8):
                move = draw(st.sampled_from(["climb", "climb", "still", "still", "reset", "wrap"]))
                if move == "climb":  # past 2**64 - 1 is a wrap
                    counters[index] = (counters[index] + draw(st.integers(1, 10**10))) % 2**64
                elif move == "reset":
                    counters[index] = draw(st.integers(0, 1000))
                elif move == "wrap":
                    counters[index] = draw(st.integers(2**64 - 2**40, 2**64 - 1))
            row: list[object] = [None] * COUNTERS_AT + [
                None if draw(st.integers(0, 9)) == 0 else value for value in counters
            ]
            rows[name] = row
        out.append(InterfacesChanged("leaf1", at + 0.01, InterfaceBatch("leaf1", at, rows)))
    return out


@settings(max_examples=150, deadline=None)
@given(_port_samples(), st.sampled_from([None, 12, 4]))
def test_the_rates_a_tick_hands_out_are_the_stores_on_what_a_reader_decodes(
    samples: list[InterfacesChanged], precision: int | None
) -> None:
    # The rollups take their rates from the chain's differences: they must be what the timeline works out at full
    # resolution (MetricExtractor, the store's rules) from the values a reader decodes, reading by reading.
    writer, reader = Chain(precision), Chain()
    extractor = MetricExtractor()
    handed: list[tuple[str, float, str, list[float | None]]] = []
    for sample in samples:
        data = writer.encode(
            {"leaf1": [sample]},
            rates=lambda device, time, ports, rates: handed.extend(
                (device, time, port, list(r)) for port, r in zip(ports, rates, strict=True)
            ),
        )
        (decoded,) = reader.decode(data)
        assert isinstance(decoded, InterfacesChanged)
        expected: dict[str, list[float | None]] = {name: [None] * 8 for name in decoded.batch.rows}
        for (_, port, metric), _, value in extractor.readings(decoded):
            expected[port][_METRIC_INDEX[metric]] = value / _FACTOR[metric]
        assert [port for _, _, port, _ in handed] == list(sample.batch.rows)
        for device, time, port, rates in handed:
            assert (device, time) == ("leaf1", sample.time)
            for index in range(8):
                assert rates[index] == pytest.approx(expected[port][index], rel=1e-12), (port, index)
        handed.clear()


@st.composite
def _working_ports(draw: st.DrawFn) -> list[InterfacesChanged]:
    """Samples of three ports over a few minutes, mostly at work (traffic climbing, errors and discards still), in
    an order and a set of ports that change now and then; at other times any counter climbs, stands, is reset or
    is left out."""
    names = ("e1", "e2", "e3")
    values = {name: [draw(st.integers(0, 2**40)) for _ in range(8)] for name in names}
    at = START
    out: list[InterfacesChanged] = []
    order = list(names)
    for _ in range(draw(st.integers(2, 80))):
        at += draw(st.sampled_from([2.0, 2.0, 2.0, 2.003, 1.997, 30.0]))
        if draw(st.integers(0, 9)) == 0:
            order = draw(st.permutations(names))[: draw(st.integers(1, 3))]
        rows: dict[str, list[object]] = {}
        for name in order:
            counters = values[name]
            working = draw(st.integers(0, 4)) > 0
            for index in range(8):
                if working:
                    move = "climb" if index < 4 else "still"
                else:
                    move = draw(st.sampled_from(["climb", "still", "reset", "missing"]))
                if move == "climb":
                    counters[index] += draw(st.integers(1, 10**9))
                elif move == "reset":
                    counters[index] = draw(st.integers(0, 1000))
            row: list[object] = [None] * COUNTERS_AT + list(counters)
            if not working and draw(st.booleans()):
                row[COUNTERS_AT + draw(st.integers(0, 7))] = None
            rows[name] = row
        out.append(InterfacesChanged("leaf1", at + 0.01, InterfaceBatch("leaf1", at, rows)))
    return out


@settings(max_examples=100, deadline=None)
@given(_working_ports(), st.sampled_from([None, 12]))
def test_the_rollups_of_a_recording_are_the_minutes_of_the_rates_a_reader_works_out(
    samples: list[InterfacesChanged], precision: int | None
) -> None:
    # What the recorder writes (the chain's rates into the rollups, minutes closed as the commits go by) against
    # each reading a reader's rates give, put into one-minute buckets one by one.
    writer, reader = Chain(precision), Chain()
    written, expected = RollupAccumulator(), RollupAccumulator()
    extractor = MetricExtractor()
    closed: list[tuple[SeriesKey, SeriesPoint]] = []
    wanted: list[tuple[SeriesKey, SeriesPoint]] = []
    for number, sample in enumerate(samples):
        data = writer.encode({"leaf1": [sample]}, rates=written.add_rates)
        if number % 3 == 2:
            written.close_before(sample.time, closed)
        (decoded,) = reader.decode(data)
        for key, time, value in extractor.readings(decoded):
            expected.add(key, time, value, wanted)
    written.flush(closed)
    expected.flush(wanted)
    points = {(key, point.time): point for key, point in closed}
    minutes = {(key, point.time): point for key, point in wanted if point.low or point.high}
    assert set(points) == set(minutes)
    for where, point in points.items():
        want = minutes[where]
        assert point.count == want.count, where
        assert (point.low, point.mean, point.high) == pytest.approx((want.low, want.mean, want.high), rel=1e-9)
