"""The timeline screen in the console: Enter on a port or a device opens it, its keys, copy as text, snapshots of a
port that flapped under an alarm."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from timeline_scenario import DEVICE, FLAP_DOWN_AT, FLAP_UP_AT, PORT, FlapScenario, until_ready

from edgeops.paths import AppPaths
from edgeops.ui.app import EdgeOpsApp, store_app
from edgeops.ui.live import Selection
from edgeops.ui.timeline.model import TimeRange
from edgeops.ui.timeline.screen import TimelineScreen

SIZES = {"wide": (120, 40), "small": (80, 24)}


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def scenario_app(tmp_path: Path, scenario: FlapScenario) -> EdgeOpsApp:
    paths = AppPaths(
        config_dir=tmp_path / "config",
        state_dir=tmp_path / "state",
        log_dir=tmp_path / "logs",
        inventory=Path("inventory.yaml"),
    )
    return store_app(scenario.inventory, paths=paths, store=scenario.store, clock=scenario.clock)


async def open_port_timeline(pilot: Pilot[object]) -> TimelineScreen:
    """Select the device, focus the interfaces pane and press Enter on the first port."""
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
    await pilot.press("3")
    await pilot.pause(0.2)
    await pilot.press("enter")
    await pilot.pause(0.2)
    screen = app.screen
    assert isinstance(screen, TimelineScreen)
    return screen


async def watch_the_flap(pilot: Pilot[object], scenario: FlapScenario) -> TimelineScreen:
    """Open the port's timeline a minute before the flap and keep it open until two minutes after."""
    scenario.run_until(FLAP_DOWN_AT - 60)
    screen = await open_port_timeline(pilot)
    while scenario.clock.now() < FLAP_UP_AT + 120:
        scenario.run_until(scenario.clock.now() + 2)
        screen.refresh_data()
    await pilot.pause(0.2)
    return screen


async def test_enter_on_a_port_opens_its_timeline_and_escape_closes_it(tmp_path: Path) -> None:
    scenario = FlapScenario()
    scenario.run_until(FLAP_DOWN_AT - 60)
    app = scenario_app(tmp_path, scenario)
    async with app.run_test(size=SIZES["small"]) as pilot:
        screen = await open_port_timeline(pilot)
        assert screen.subject.device == DEVICE and screen.subject.port == PORT
        assert screen.timeline is not None and [s.key for s in screen.timeline.series][:2] == ["in_bps", "out_bps"]
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, TimelineScreen)


async def test_range_keys_and_the_cursor(tmp_path: Path) -> None:
    scenario = FlapScenario()
    app = scenario_app(tmp_path, scenario)
    async with app.run_test(size=SIZES["small"]) as pilot:
        screen = await watch_the_flap(pilot, scenario)
        for key, wanted in (("h", TimeRange.HOUR), ("d", TimeRange.DAY), ("m", TimeRange.TEN_MINUTES)):
            await pilot.press(key)
            assert screen.time_range is wanted
            assert screen.timeline is not None and screen.timeline.span == wanted.seconds
        view = screen.view
        assert view.cursor is None
        await pilot.press("left")
        assert view.cursor == view.plot_columns - 1
        await pilot.press("left", "left")
        assert view.cursor == view.plot_columns - 3
        await pilot.press("home")
        assert view.cursor == 0
        await pilot.press("shift+right")
        assert view.cursor == 10
        await pilot.press("end")
        assert view.cursor is None


async def test_copy_as_text_sends_the_visible_series_and_events(tmp_path: Path, monkeypatch) -> None:
    scenario = FlapScenario()
    app = scenario_app(tmp_path, scenario)
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=SIZES["small"]) as pilot:
        await watch_the_flap(pilot, scenario)
        await pilot.press("c")
        await pilot.pause(0.1)
    (text,) = copied
    assert text.startswith(f"# edgeops timeline: {DEVICE} {PORT} ")
    assert "time,in_bps,out_bps,errors_per_s,discards_per_s" in text
    assert "2026-01-01T00:04:00+00:00 port-down port down" in text


async def test_enter_on_a_device_in_health_opens_its_timeline(tmp_path: Path) -> None:
    scenario = FlapScenario()
    scenario.run_until(FLAP_DOWN_AT - 60)
    app = scenario_app(tmp_path, scenario)
    async with app.run_test(size=SIZES["wide"]) as pilot:
        await until_ready(pilot, app)
        app.go_to(Selection("device", DEVICE))
        await pilot.pause(0.3)
        await pilot.press("2")
        await pilot.pause(0.2)
        await pilot.press("enter")
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, TimelineScreen)
        assert screen.subject.port is None
        assert screen.timeline is not None and screen.timeline.series[0].key == "cpu_pct"


@pytest.mark.parametrize("size", SIZES)
def test_port_timeline_with_a_flap_and_an_alarm(snap_compare, tmp_path: Path, size: str) -> None:
    scenario = FlapScenario()

    async def flap(pilot: Pilot[object]) -> None:
        screen = await watch_the_flap(pilot, scenario)
        # The cursor on the middle of the flap: the values and the events up to it.
        await pilot.press("left")
        view = screen.view
        timeline = screen.timeline
        assert timeline is not None
        middle = (FLAP_DOWN_AT + FLAP_UP_AT) / 2
        view.cursor = int((middle - timeline.since) / timeline.span * view.plot_columns)
        view.refresh()
        screen.refresh_data()
        await pilot.pause(0.2)

    assert snap_compare(scenario_app(tmp_path, scenario), terminal_size=SIZES[size], run_before=flap)


async def test_help_on_a_timeline_lists_its_keys_first(tmp_path: Path) -> None:
    scenario = FlapScenario()
    app = scenario_app(tmp_path, scenario)
    async with app.run_test(size=SIZES["wide"]) as pilot:
        await open_port_timeline(pilot)
        sections = app.help_sections()
        assert sections[0].title == "Timeline"
        described = dict((description, key) for key, description in sections[0].keys)
        assert {"10 min", "1 h", "24 h", "Copy as text"} <= set(described)
        everywhere = dict((description, key) for key, description in sections[1].keys)
        assert {"Play/pause", "Go to time", "Live"} <= set(everywhere)
