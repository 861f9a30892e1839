"""Replay in the console: the player, the time bar, each replay key, the panes showing the fleet as it was, the
command runner refusing to send, and snapshots of the console at the moment a port flapped under an alarm."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from timeline_scenario import (
    ALARM_ID,
    COMMAND,
    COMMAND_AT,
    DEVICE,
    FLAP_DOWN_AT,
    FLAP_UP_AT,
    PORT,
    START,
    STEP_S,
    ScenarioRecording,
    scenario_inventory,
    until_ready,
)

from edgeops.paths import AppPaths
from edgeops.ui.app import EdgeOpsApp
from edgeops.ui.live import Selection
from edgeops.ui.replay.controller import JumpScreen
from edgeops.ui.replay.opening import replay_app
from edgeops.ui.replay.player import SPEEDS, ReplayPlayer, parse_clock_time
from edgeops.ui.replay.time_bar import TimeBar, TimeBarState, time_bar_text
from edgeops.ui.timeline.model import MarkKind
from edgeops.ui.timeline.screen import TimelineScreen

SIZES = {"wide": (120, 40), "small": (80, 24)}
END = START + 600.0
IN_THE_FLAP = FLAP_DOWN_AT + 10.0


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def make_player(at: float = START) -> tuple[ScenarioRecording, ReplayPlayer]:
    recording = ScenarioRecording(END)
    return recording, ReplayPlayer(recording, recording.inventory, at=at)


# -- the player ---------------------------------------------------------------------------------------------------


def test_the_store_is_the_fleet_as_it_was_at_the_replayed_time() -> None:
    _, player = make_player(at=IN_THE_FLAP)
    assert player.store.interface(DEVICE, PORT).oper_state == "down"
    assert [alarm.alarm_id for alarm in player.store.alarms(DEVICE)] == [ALARM_ID]
    player.seek(FLAP_UP_AT + 4)
    assert player.store.interface(DEVICE, PORT).oper_state == "up"
    assert player.store.alarms(DEVICE) == ()


def test_seeking_forward_applies_events_and_back_rebuilds_the_store() -> None:
    recording, player = make_player(at=START + 100)
    store = player.store
    moved = player.seek(START + 110)
    assert not moved.rebuilt and moved.applied == 10  # 5 ticks of interfaces and health
    assert player.store is store and player.time == START + 110
    calls = recording.store_at_calls
    moved = player.seek(START + 50)
    assert moved.rebuilt and player.store is not store and recording.store_at_calls == calls + 1
    assert player.time == START + 50


def test_playing_moves_at_the_speed_and_stops_at_the_end() -> None:
    _, player = make_player(at=START)
    player.speed = 10
    player.advance(1.0)
    assert player.time == START + 10
    player.paused = True
    player.advance(5.0)
    assert player.time == START + 10
    player.paused = False
    player.advance(1_000.0)
    assert player.time == END and player.paused
    player.toggle()
    assert player.paused  # nothing left to play


def test_steps_pause_and_speeds_stay_within_x1_to_x60() -> None:
    _, player = make_player(at=START + 100)
    player.step(1)
    assert player.paused and player.time == START + 100 + STEP_S
    player.step(-3)
    assert player.time == START + 100 - 2 * STEP_S
    for _ in range(10):
        player.faster()
    assert player.speed == SPEEDS[-1] == 60
    for _ in range(10):
        player.slower()
    assert player.speed == SPEEDS[0] == 1


def test_clock_times_are_read_within_the_recording() -> None:
    assert parse_clock_time("00:04", START, END) == FLAP_DOWN_AT
    assert parse_clock_time("00:04:10", START, END) == FLAP_DOWN_AT + 10
    with pytest.raises(ValueError, match="holds 00:00:00 to 00:10:00"):
        parse_clock_time("23:00", START, END)
    for bad in ("4pm", "25:00", "10:61", ""):
        with pytest.raises(ValueError):
            parse_clock_time(bad, START, END)


# -- the time bar -------------------------------------------------------------------------------------------------


def test_time_bar_text_live_and_replay() -> None:
    assert time_bar_text(TimeBarState(live=True, time=FLAP_DOWN_AT), 80).plain == "● LIVE 00:04:00"
    state = TimeBarState(live=False, time=FLAP_DOWN_AT, paused=True, speed=10, start=START, end=END)
    text = time_bar_text(state, 78).plain
    assert text.startswith("REPLAY ‖ 00:04:00 x10  00:00 ├") and text.endswith("┤ 00:10")
    assert len(text) <= 78
    track = text[text.index("├") : text.index("┤") + 1]
    assert track.index("●") == pytest.approx(len(track) * 0.4, abs=2)  # four minutes into ten
    playing = time_bar_text(TimeBarState(False, START, False, 1, START, END), 30).plain
    assert playing.startswith("REPLAY ► 00:00:00") and "├" not in playing  # too narrow for the track
    wide = time_bar_text(state, 118).plain  # the 120-column console, less the bar's padding
    assert wide.endswith("L live") and len(wide) <= 118


# -- the console ------------------------------------------------------------------------------------------------


def paths_in(tmp_path: Path) -> AppPaths:
    return AppPaths(
        config_dir=tmp_path / "config",
        state_dir=tmp_path / "state",
        log_dir=tmp_path / "logs",
        inventory=Path("inventory.yaml"),
    )


def console(tmp_path: Path, at: float = IN_THE_FLAP) -> EdgeOpsApp:
    recording = ScenarioRecording(END)
    app = replay_app(recording, scenario_inventory(), paths=paths_in(tmp_path), at=at, paused=True)
    assert isinstance(app, EdgeOpsApp)
    return app


async def on_the_device(pilot: Pilot[object]) -> EdgeOpsApp:
    app = pilot.app
    assert isinstance(app, EdgeOpsApp)
    await until_ready(pilot, app)
    app.go_to(Selection("device", DEVICE))
    # The right-hand panes are built after the first frame: wait (boundedly) until the ports are drawn.
    for _ in range(200):
        main = app.main_screen
        if main is not None and main.ready and main.pane("counters").table.row_count:  # type: ignore[attr-defined]
            break
        await pilot.pause(0.05)
    await pilot.pause(0.1)
    return app


def bar_of(app: EdgeOpsApp) -> TimeBar:
    main = app.main_screen
    assert main is not None
    return main.query_one(TimeBar)


async def test_the_panes_show_the_port_down_and_the_alarm_active(tmp_path: Path) -> None:
    async with console(tmp_path).run_test(size=SIZES["wide"]) as pilot:
        app = await on_the_device(pilot)
        assert app.replay_active and bar_of(app).display
        state = bar_of(app).state
        assert state is not None and not state.live and state.time == IN_THE_FLAP and state.paused
        assert app.store.interface(DEVICE, PORT).oper_state == "down"
        main = app.main_screen
        assert main is not None
        counters = main.pane("counters")
        row = counters.table.row(PORT)  # type: ignore[attr-defined]
        assert row.cells[3].text == "down"
        health = main.pane("health")
        alarms = health.section_content("alarms")  # type: ignore[attr-defined]
        assert alarms is not None and "lower-layer-down" in alarms.plain


async def test_the_replay_decodes_the_counters_of_the_device_on_screen(tmp_path: Path) -> None:
    """Opened on the fleet, a replay asks for no device's counters; picking a device rebuilds the store with that
    device's, at the same replayed time, and picking a site drops them again."""
    app = console(tmp_path)
    recording = app.replay.player.recording  # type: ignore[union-attr]
    assert isinstance(recording, ScenarioRecording)
    async with app.run_test(size=SIZES["wide"]) as pilot:
        await on_the_device(pilot)
        assert recording.counters_asked[0] == "" and recording.counters_asked[-1] == DEVICE
        assert app.replay.player.time == IN_THE_FLAP  # type: ignore[union-attr]
        assert app.store is app.replay.player.store  # type: ignore[union-attr]
        calls = recording.store_at_calls
        app.go_to(Selection("device", DEVICE))  # the same device: nothing to rebuild
        await pilot.pause(0.1)
        assert recording.store_at_calls == calls
        assert app.inventory is not None
        app.go_to(Selection("site", app.inventory.sites[0].code))
        await pilot.pause(0.2)
        assert recording.counters_asked[-1] == "" and recording.store_at_calls == calls + 1
        assert app.store is app.replay.player.store  # type: ignore[union-attr]


async def test_each_replay_key(tmp_path: Path) -> None:
    async with console(tmp_path).run_test(size=SIZES["wide"]) as pilot:
        app = await on_the_device(pilot)
        replay = app.replay
        assert replay is not None
        player = replay.player
        await pilot.press("space")
        assert not player.paused
        await pilot.press("space")
        assert player.paused
        paused_at = player.time
        await pilot.press("right_square_bracket")
        assert player.time == paused_at + STEP_S
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert player.time == paused_at - STEP_S
        await pilot.press("plus", "plus")
        assert player.speed == 5
        await pilot.press("minus")
        assert player.speed == 2
        await pilot.press("g")
        await pilot.pause(0.1)
        assert isinstance(app.screen, JumpScreen)
        await pilot.press(*"00:05:30", "enter")
        await pilot.pause(0.2)
        assert player.time == START + 330
        assert app.store.interface(DEVICE, PORT).oper_state == "up"
        await pilot.press("L")
        await pilot.pause(0.1)
        assert player.time == END and replay.following
        state = bar_of(app).state
        assert state is not None and state.time == END


async def test_a_bad_time_is_said_and_nothing_moves(tmp_path: Path) -> None:
    async with console(tmp_path).run_test(size=SIZES["wide"]) as pilot:
        app = await on_the_device(pilot)
        assert app.replay is not None
        before = app.replay.player.time
        await pilot.press("g")
        await pilot.pause(0.1)
        await pilot.press(*"7pm", "enter")
        await pilot.pause(0.2)
        assert app.replay.player.time == before
        assert any("not a time of day" in str(n.message) for n in app._notifications)


async def test_the_command_runner_sends_nothing_in_a_replay(tmp_path: Path) -> None:
    async with console(tmp_path).run_test(size=SIZES["wide"]) as pilot:
        app = await on_the_device(pilot)
        runner = app.runner_pane()
        assert runner is not None
        assert runner.run("show version") is False
        assert runner.last_run is None


async def test_a_replay_tick_with_no_runner_on_the_main_screen_goes_on(tmp_path: Path) -> None:
    # The time bar ticks from the moment the main screen is pushed, before it has composed its panes and while
    # it takes them down at exit: the runner is then not there, which is no error.
    async with console(tmp_path, at=COMMAND_AT - 10).run_test(size=SIZES["wide"]) as pilot:
        app = await on_the_device(pilot)
        runner = app.runner_pane()
        assert runner is not None and app.replay is not None
        await runner.remove()
        assert app.runner_pane() is None
        app.replay.seek(COMMAND_AT + 4)
        await pilot.pause(0.3)
        assert app.replay.player.time >= COMMAND_AT + 4


async def test_the_runner_shows_the_commands_run_then(tmp_path: Path) -> None:
    async with console(tmp_path, at=COMMAND_AT - 10).run_test(size=SIZES["wide"]) as pilot:
        app = await on_the_device(pilot)
        runner = app.runner_pane()
        assert runner is not None and runner.last_run is None
        assert app.replay is not None
        app.replay.seek(COMMAND_AT + 4)
        await pilot.pause(0.1)
        run = runner.last_run
        assert run is not None and run.command == COMMAND and run.finished
        (result,) = run.results
        assert result.ok and "lower-layer-down" in result.output


async def test_the_timeline_in_a_replay_ends_at_the_replayed_time(tmp_path: Path) -> None:
    async with console(tmp_path, at=FLAP_UP_AT + 60).run_test(size=SIZES["wide"]) as pilot:
        app = await on_the_device(pilot)
        app.open_timeline(DEVICE, PORT)
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, TimelineScreen) and screen.source.name == "replay"
        timeline = screen.timeline
        assert timeline is not None and timeline.until == FLAP_UP_AT + 60
        assert timeline.down_spans() == ((FLAP_DOWN_AT, FLAP_UP_AT),)
        assert [m.time for m in timeline.marks if m.kind is MarkKind.COMMAND] == [COMMAND_AT]
        assert [m.key for m in timeline.marks if m.kind is MarkKind.ALARM_CLEARED] == [ALARM_ID]
        # The replay keys work on the timeline too.
        await pilot.press("right_square_bracket")
        assert screen.timeline is not None and screen.timeline.until == FLAP_UP_AT + 60 + STEP_S


@pytest.mark.parametrize("size", SIZES)
def test_replay_at_the_flap(snap_compare, tmp_path: Path, size: str) -> None:
    async def select(pilot: Pilot[object]) -> None:
        await on_the_device(pilot)
        await pilot.press("3")
        # Let the panes settle (the health pane lays its sections out again after its first resize).
        await pilot.pause(0.5)
        await pilot.wait_for_scheduled_animations()

    assert snap_compare(console(tmp_path), terminal_size=SIZES[size], run_before=select)


@pytest.mark.parametrize("size", SIZES)
def test_time_bar_after_keys(snap_compare, tmp_path: Path, size: str) -> None:
    """Three times faster (x10), two steps on, and the timeline of the port with the time bar's keys working."""

    async def keys(pilot: Pilot[object]) -> None:
        app = await on_the_device(pilot)
        await pilot.press("plus", "plus", "plus", "right_square_bracket", "right_square_bracket")
        app.open_timeline(DEVICE, PORT)
        await pilot.pause(0.3)

    assert snap_compare(console(tmp_path), terminal_size=SIZES[size], run_before=keys)
