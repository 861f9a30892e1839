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
