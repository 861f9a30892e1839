"""The timeline's data and drawing, without a screen: spans, which alarms concern a port, binning, text export."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from timeline_scenario import (
    ALARM_ID,
    DEVICE,
    FLAP_DOWN_AT,
    FLAP_UP_AT,
    OTHER_PORT,
    PORT,
    START,
    FlapScenario,
)

from edgeops.devices.samples import Alarm, Severity
from edgeops.ui.timeline.model import (
    Lane,
    LiveWatch,
    Mark,
    MarkKind,
    Timeline,
    TimelineSubject,
    TimeRange,
    alarm_concerns_port,
    live_timeline,
    timeline_text,
)
from edgeops.ui.timeline.plot import GUTTER, area_rows, column_of, dot_values, render_timeline


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def watched_flap() -> tuple[FlapScenario, LiveWatch]:
    """The port watched from a minute before it goes down until two minutes after it came back."""
    scenario = FlapScenario()
    watch = LiveWatch(TimelineSubject(DEVICE, PORT))
    scenario.run_until(FLAP_DOWN_AT - 60)
    watch.observe(scenario.store, scenario.clock.now())
    while scenario.clock.now() < FLAP_UP_AT + 120:
        scenario.run_until(scenario.clock.now() + 2)
        watch.observe(scenario.store, scenario.clock.now())
    return scenario, watch


def test_a_flap_gives_a_down_span_and_an_alarm_span_between_its_marks() -> None:
    scenario, watch = watched_flap()
    timeline = live_timeline(scenario.store, watch, scenario.clock.now(), TimeRange.TEN_MINUTES)
    kinds = [(mark.time, mark.kind) for mark in timeline.marks]
    assert (FLAP_DOWN_AT, MarkKind.PORT_DOWN) in kinds
    assert (FLAP_UP_AT, MarkKind.PORT_UP) in kinds
    assert (FLAP_DOWN_AT, MarkKind.ALARM_RAISED) in kinds
    cleared = [mark for mark in timeline.marks if mark.kind is MarkKind.ALARM_CLEARED]
    assert [mark.key for mark in cleared] == [ALARM_ID]
    assert timeline.oper_at_start == "up"
    assert timeline.down_spans() == ((FLAP_DOWN_AT, FLAP_UP_AT),)
    (alarm_span,) = timeline.alarm_spans()
    assert alarm_span[0] == FLAP_DOWN_AT and FLAP_UP_AT <= alarm_span[1] <= FLAP_UP_AT + 2


def test_errors_are_a_series_only_where_the_watch_saw_them() -> None:
    scenario, watch = watched_flap()
    timeline = live_timeline(scenario.store, watch, scenario.clock.now(), TimeRange.TEN_MINUTES)
    errors = next(series for series in timeline.series if series.key == "errors_ps")
    burst = [value for when, value in errors.points if FLAP_DOWN_AT - 28 <= when < FLAP_DOWN_AT]
    assert burst and all(value == pytest.approx(20.0) for value in burst)  # 40 errors every 2 s
    assert errors.points[0][0] >= FLAP_DOWN_AT - 60


def test_a_port_that_was_down_when_the_range_starts_is_down_from_its_start() -> None:
    subject = TimelineSubject(DEVICE, PORT)
    timeline = Timeline(subject, 0.0, 100.0, (), (Mark(40.0, MarkKind.PORT_UP, "port up"),), "live", "down")
    assert timeline.down_spans() == ((0.0, 40.0),)
    still = Timeline(subject, 0.0, 100.0, (), (Mark(40.0, MarkKind.PORT_DOWN, "port down"),), "live", "up")
    assert still.down_spans() == ((40.0, 100.0),)


def test_alarms_naming_another_port_stay_off_a_port_timeline() -> None:
    ports = [PORT, OTHER_PORT, "ethernet-1/10"]

    def alarm(resource: str, text: str = "") -> Alarm:
        return Alarm(DEVICE, resource, Severity.MAJOR, resource, text)

    assert alarm_concerns_port(alarm(PORT), PORT, ports)
    assert alarm_concerns_port(alarm("power-supply 2", "failed"), PORT, ports)  # device-wide
    assert not alarm_concerns_port(alarm(OTHER_PORT), PORT, ports)
    # ethernet-1/1 is not named by ethernet-1/10.
    assert not alarm_concerns_port(alarm("ethernet-1/10"), PORT, ports)
    assert alarm_concerns_port(alarm("interface", f"{PORT} is down"), PORT, ports)


def test_dot_values_keep_the_largest_value_of_each_bin_and_hold_sparse_data() -> None:
    points = [(float(t), float(t % 7)) for t in range(0, 100)]
    binned = dot_values(points, 0.0, 100.0, 10)
    assert binned == [6.0] * 10
    sparse = [(0.0, 1.0), (60.0, 2.0)]  # one value a minute on 10 s bins: a line, not two dots
    held = dot_values(sparse, 0.0, 120.0, 12)
    assert held[:6] == [1.0] * 6 and held[6] == 2.0
    assert dot_values([(0.0, None)], 0.0, 10.0, 4) == [None] * 4


def test_area_rows_tell_zero_from_no_data() -> None:
    assert area_rows([None, None], 1, 10.0) == [" "]
    (zero,) = area_rows([0.0, 0.0], 1, 10.0)
    assert zero != " "  # the baseline dots: known and idle
    full, lower = area_rows([10.0, 10.0], 2, 10.0)
    assert full == "⣿" and lower == "⣿"


def test_the_rendered_marks_sit_on_the_columns_of_their_times() -> None:
    scenario, watch = watched_flap()
    timeline = live_timeline(scenario.store, watch, scenario.clock.now(), TimeRange.TEN_MINUTES)
    lines = [line.plain for line in render_timeline(timeline, 80, 24, {})]
    assert all(len(line) <= 80 for line in lines)
    oper = next(line for line in lines if line.startswith("Oper"))
    alarms = next(line for line in lines if line.startswith("Alarms"))
    columns = 80 - GUTTER
    down = column_of(FLAP_DOWN_AT, timeline, columns)
    up = column_of(FLAP_UP_AT, timeline, columns)
    assert down is not None and up is not None
    assert oper[GUTTER + down] == "▼" and oper[GUTTER + up] == "▲"
    assert set(oper[GUTTER + down + 1 : GUTTER + up]) == {"━"}
    assert alarms[GUTTER + down] == "!"
    assert any("00:04:00 ▼ port down" in line for line in lines)


def test_timeline_text_is_csv_and_events() -> None:
    scenario, watch = watched_flap()
    timeline = live_timeline(scenario.store, watch, scenario.clock.now(), TimeRange.TEN_MINUTES)
    text = timeline_text(timeline)
    lines = text.splitlines()
    assert lines[0].startswith(f"# edgeops timeline: {DEVICE} {PORT} from ")
    assert lines[1] == "time,in_bps,out_bps,errors_per_s,discards_per_s"
    assert "2026-01-01T00:04:00+00:00 port-down port down" in lines
    assert any(line.startswith("2026-01-01T00:05:00+00:00 alarm-cleared major") for line in lines)
    rows = lines[2 : lines.index("# events") - 1]
    assert len(rows) > 100 and all(len(row.split(",")) == 5 for row in rows)


def test_a_day_of_points_is_binned_to_fit_the_clipboard() -> None:
    subject = TimelineSubject(DEVICE)
    from edgeops.ui.timeline.model import Series, Unit

    points = tuple((START + t * 2.0, float(t % 50)) for t in range(43_200))
    timeline = Timeline(
        subject, START, START + 86_400, (Series("cpu_pct", "CPU", Unit.PERCENT, points),), (), "recording"
    )
    text = timeline_text(timeline)
    assert "# values: the largest in each 58 s" in text
    assert len(text.splitlines()) < 1_600
    assert len(text.encode()) < 256 * 1024


def test_device_timeline_has_cpu_memory_and_temperatures() -> None:
    scenario = FlapScenario()
    watch = LiveWatch(TimelineSubject(DEVICE))
    for _ in range(30):
        scenario.run_until(scenario.clock.now() + 2)
        watch.observe(scenario.store, scenario.clock.now())
    timeline = live_timeline(scenario.store, watch, scenario.clock.now(), TimeRange.TEN_MINUTES)
    assert [series.key for series in timeline.series] == ["cpu_pct", "memory_pct", "temp:control A"]
    assert all(len(series.points) >= 25 for series in timeline.series)
    lines = [line.plain for line in render_timeline(timeline, 80, 22, {})]
    assert [line[:6] for line in lines if line[:6] in ("CPU   ", "Memory", "Alarms")] == ["CPU   ", "Memory", "Alarms"]
    assert not any(line.startswith("Oper") for line in lines)
    assert Lane.OPER not in {mark.lane for mark in timeline.marks}
