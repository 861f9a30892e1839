"""Replay from a recording on disk: the scenario written by the recorder, read back by the reader, shown in the
console at the moment of the flap, and its port's timeline drawn from the recording."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from timeline_scenario import (
    ALARM_ID,
    COMMAND_AT,
    DEVICE,
    FLAP_DOWN_AT,
    FLAP_UP_AT,
    PORT,
    START,
    STEP_S,
    FlapScenario,
    play_scenario,
    scenario_inventory,
    until_ready,
)

from edgeops.clock import ManualClock
from edgeops.devices.samples import SessionState
from edgeops.fleet.events import EventTap
from edgeops.fleet.store import FleetStore
from edgeops.paths import AppPaths
from edgeops.recording.pins import pinned_since
from edgeops.recording.reader import Recording
from edgeops.recording.recorder import Recorder
from edgeops.ui.app import EdgeOpsApp, store_app
from edgeops.ui.live import Selection
from edgeops.ui.replay.opening import replay_app
from edgeops.ui.replay.palette import go_back
from edgeops.ui.replay.player import ReplayPlayer
from edgeops.ui.timeline.model import MarkKind, TimelineSubject, TimeRange
from edgeops.ui.timeline.recorded import RecordedTimeline
from edgeops.ui.timeline.screen import TimelineScreen

END = START + 600.0


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def recording_file(tmp_path: Path) -> Path:
    """Ten minutes of the scenario, written as the console writes (an EventTap feeding the recorder), where a
    console on `tmp_path / "state"` records."""
    clock = ManualClock(START)
    path = tmp_path / "state" / "recording.sqlite"
    path.parent.mkdir()
    recorder = Recorder(path, clock=clock)
    tap = EventTap(FleetStore(scenario_inventory(), clock), clock)
    tap.add_listener(recorder.listener)
    tap.set_session(DEVICE, "ssh", SessionState.UP)
    tap.set_session(DEVICE, "gnmi", SessionState.UP)
    play_scenario(tap, clock, END, tick=recorder.flush)
    recorder.close()
    return path


def test_the_player_on_the_reader(recording_file: Path) -> None:
    with Recording.open(recording_file) as recording:
        start, end = recording.span()
        assert start == START and end == END
        player = ReplayPlayer(recording, scenario_inventory(), at=FLAP_DOWN_AT + 10)
        assert player.store.interface(DEVICE, PORT).oper_state == "down"
        assert [alarm.alarm_id for alarm in player.store.alarms(DEVICE)] == [ALARM_ID]
        moved = player.seek(FLAP_UP_AT + STEP_S)
        assert not moved.rebuilt and moved.applied > 0
        assert player.store.interface(DEVICE, PORT).oper_state == "up" and player.store.alarms(DEVICE) == ()
        assert player.seek(FLAP_DOWN_AT + 2).rebuilt
        assert player.store.interface(DEVICE, PORT).oper_state == "down"


async def test_the_console_at_the_flap_and_the_port_timeline(recording_file: Path, tmp_path: Path) -> None:
    paths = AppPaths(
        config_dir=tmp_path / "config", state_dir=tmp_path / "state", log_dir=tmp_path / "logs", inventory=Path("i")
    )
    with Recording.open(recording_file) as recording:
        app = replay_app(recording, scenario_inventory(), paths=paths, at=FLAP_UP_AT + 60, paused=True)
        assert isinstance(app, EdgeOpsApp)
        async with app.run_test(size=(120, 40)) as pilot:
            await go_to_the_device(pilot, app)
            app.open_timeline(DEVICE, PORT)
            await pilot.pause(0.3)
            screen = app.screen
            assert isinstance(screen, TimelineScreen)
            timeline = screen.timeline
            assert timeline is not None and timeline.source == "recording"
            assert timeline.down_spans() == ((FLAP_DOWN_AT, FLAP_UP_AT),)
            kinds = {mark.kind: mark.time for mark in timeline.marks}
            assert kinds[MarkKind.ALARM_RAISED] == FLAP_DOWN_AT and kinds[MarkKind.COMMAND] == COMMAND_AT
            traffic = next(series for series in timeline.series if series.key == "in_bps")
            assert any(value for _, value in traffic.points if value)


async def go_to_the_device(pilot: Pilot[object], app: EdgeOpsApp) -> None:
    await until_ready(pilot, app)
    app.go_to(Selection("device", DEVICE))
    for _ in range(200):
        main = app.main_screen
        if main is not None and main.ready and main.pane("counters").table.row_count:  # type: ignore[attr-defined]
            break
        await pilot.pause(0.05)


async def test_go_back_from_a_live_console_and_l_back_to_live(recording_file: Path, tmp_path: Path) -> None:
    paths = AppPaths(
        config_dir=tmp_path / "config", state_dir=tmp_path / "state", log_dir=tmp_path / "logs", inventory=Path("i")
    )
    live = FlapScenario()  # the live fleet: the port up, no alarm
    app = store_app(live.inventory, paths=paths, store=live.store, clock=live.clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await go_to_the_device(pilot, app)
        assert app.store.interface(DEVICE, PORT).oper_state == "up"
        go_back(app)  # the palette's "Go back to…"
        await pilot.pause(0.2)
        await pilot.press(*"00:04:10", "enter")
        await pilot.pause(0.3)
        assert app.replay_active and app.store is not live.store
        assert app.store.interface(DEVICE, PORT).oper_state == "down"
        assert pinned_since(recording_file) == START  # retention keeps what the replay may show
        await pilot.press("L")
        await pilot.pause(0.2)
        assert not app.replay_active and app.store is live.store
        assert app.store.interface(DEVICE, PORT).oper_state == "up"
        assert pinned_since(recording_file) is None


def test_an_hour_from_the_recordings_series_marks_the_same_flap(recording_file: Path) -> None:
    with Recording.open(recording_file) as recording:
        subject = TimelineSubject(DEVICE, PORT)
        recorded = RecordedTimeline(recording, scenario_inventory(), subject)
        ten = recorded.timeline(END, TimeRange.TEN_MINUTES)
        hour = recorded.timeline(END, TimeRange.HOUR)
        assert hour.span == 3_600 and ten.span == 600
        assert [(m.time, m.kind) for m in hour.marks] == [(m.time, m.kind) for m in ten.marks]
        assert hour.down_spans() == ten.down_spans() == ((FLAP_DOWN_AT, FLAP_UP_AT),)
        series = {s.key: s for s in hour.series}
        assert set(series) == {"in_bps", "out_bps", "errors_ps", "discards_ps"}
        assert 0 < len(series["in_bps"].points) <= 240
        # The error burst before the flap is in the hour's plot: 40 errors every 2 s.
        assert max(v for _, v in series["errors_ps"].points if v is not None) == pytest.approx(20.0)
        device = RecordedTimeline(recording, scenario_inventory(), TimelineSubject(DEVICE)).timeline(END, TimeRange.DAY)
        assert [s.key for s in device.series] == ["cpu_pct", "memory_bytes", "temp:control A"]
        assert all(s.points for s in device.series)


async def test_a_live_timeline_reads_the_hour_from_the_consoles_own_recording(
    recording_file: Path, tmp_path: Path
) -> None:
    paths = AppPaths(
        config_dir=tmp_path / "config", state_dir=tmp_path / "state", log_dir=tmp_path / "logs", inventory=Path("i")
    )
    live = FlapScenario()
    live.run_until(END)  # the live store holds the flap's last 10 minutes only as its traffic history
    app = store_app(live.inventory, paths=paths, store=live.store, clock=live.clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await go_to_the_device(pilot, app)
        app.open_timeline(DEVICE, PORT)
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, TimelineScreen)
        await pilot.press("h")
        timeline = screen.timeline
        assert timeline is not None and timeline.source == "live" and timeline.span == 3_600
        assert timeline.down_spans() == ((FLAP_DOWN_AT, FLAP_UP_AT),)
        await pilot.press("escape")
