"""The whole console driven with Pilot: against a running lab through the engine, and on a fixed store."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from textual.app import App
from textual.message import Message
from textual.pilot import Pilot

from conftest import ConsoleLab, SampleFleet
from edgeops.devices.samples import Failure
from edgeops.inventory.problems import Problem
from edgeops.lab.faults import HOSTILE_DESCRIPTION
from edgeops.ui.app import EdgeOpsApp, MainScreen, fleet_app, problems_app, session_app, store_app
from edgeops.ui.live import Selection, SelectionChanged
from edgeops.ui.panes.site_map import SiteMap
from edgeops.ui.screens.confirm_quit import ConfirmQuitScreen
from edgeops.ui.screens.help import HelpScreen
from edgeops.ui.screens.inventory_errors import RELOAD_INVENTORY, InventoryErrorsScreen

# A bound on how long a broken console can hang a test, not a timing assertion.
WAIT_LIMIT_S = 45.0
WIDE = (120, 40)
SMALL = (80, 24)


def screen_text(app: App[object]) -> str:
    """What the terminal shows, as plain text (every character the console would draw, without styles)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, record=True)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)


async def wait_for(pilot: Pilot[object], condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}\n{screen_text(pilot.app)}")
        await pilot.pause(0.1)


def main_screen(app: EdgeOpsApp) -> MainScreen:
    screen = app.main_screen
    assert screen is not None
    return screen


def site_map(app: EdgeOpsApp) -> SiteMap:
    return main_screen(app).site_map


def all_up(app: EdgeOpsApp, names: list[str]) -> bool:
    views = [site_map(app).device_view(name) for name in names]
    return all(view is not None and view.badge == "up" for view in views)


async def move_cursor_to(pilot: Pilot[object], tree: SiteMap, key: str) -> None:
    """Walk the site map with the arrow keys, as the engineer would, until the cursor is on `key`."""
    tree.focus()
    await pilot.pause()
    for _ in range(60):
        node = tree.cursor_node
        if node is not None and node.data is not None and node.data.key == key:
            return
        await pilot.press("down")
    pytest.fail(f"{key} not reachable in the site map")


# -- against the lab ----------------------------------------------------------------------------------------------

pytestmark_lab = pytest.mark.lab


@pytest.mark.lab
async def test_site_map_fills_with_the_lab_and_every_device_comes_up(console_lab: ConsoleLab) -> None:
    engine = console_lab.engine()
    app = fleet_app(console_lab.inventory, engine, paths=console_lab.paths)
    names = [device.name for device in console_lab.inventory.devices]
    async with app.run_test(size=WIDE) as pilot:
        tree = site_map(app)
        assert [node.data.key for node in tree.root.children if node.data] == [s.code for s in console_lab.lab.sites]
        for name in names:
            assert tree.device_view(name) is not None, name
        await wait_for(pilot, lambda: all_up(app, names), "every lab device to show up")
        await wait_for(pilot, lambda: "5/5 up" in screen_text(app), "the site roll-up to say 5/5 up")
        status = main_screen(app).status_bar.figures
        assert (status.up, status.down, status.total) == (5, 0, 5)
    assert engine._closed, "quitting the console stops the engine"


@pytest.mark.lab
async def test_selecting_a_device_posts_selection_and_the_panes_show_the_lab_values(console_lab: ConsoleLab) -> None:
    app = fleet_app(console_lab.inventory, console_lab.engine(), paths=console_lab.paths)
    selections: list[Selection] = []

    def hook(message: Message) -> None:
        if isinstance(message, SelectionChanged):
            selections.append(message.selection)

    name = "alcala-leaf1"
    identity = console_lab.lab.devices[name].identity
    async with app.run_test(size=WIDE, message_hook=hook) as pilot:
        await wait_for(pilot, lambda: all_up(app, [name]), f"{name} to come up")
        tree = site_map(app)
        await move_cursor_to(pilot, tree, name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: Selection("device", name) in selections, "a device selection")
        assert main_screen(app).selection == Selection("device", name)
        # The health pane shows what the lab device reports: its chassis and software version.
        await wait_for(
            pilot,
            lambda: identity.version in screen_text(app) and identity.model in screen_text(app),
            f"the health pane to show {identity.model} {identity.version}",
        )
        # The interface pane lists the lab device's ports.
        ports = [port for port in console_lab.lab.devices[name].model.interfaces if port.startswith("ethernet-1/")]
        await wait_for(pilot, lambda: ports[0] in screen_text(app), f"the interface pane to list {ports[0]}")


@pytest.mark.lab
async def test_a_killed_device_shows_down_and_comes_back_after_clear(console_lab: ConsoleLab) -> None:
    app = fleet_app(console_lab.inventory, console_lab.engine(), paths=console_lab.paths)
    name = "alcala-spine2"
    lab = console_lab.lab
    async with app.run_test(size=WIDE) as pilot:
        names = [device.name for device in console_lab.inventory.devices]
        await wait_for(pilot, lambda: all_up(app, names), "every device to come up")
        for fault in ("ssh-refuse", "gnmi-refuse", "ssh-drop", "gnmi-cut"):
            await lab.inject(name, fault)
        tree = site_map(app)

        def badge() -> str:
            view = tree.device_view(name)
            return view.badge if view else ""

        await wait_for(pilot, lambda: badge() in ("down", "unreachable"), f"{name} to show down")
        await wait_for(pilot, lambda: main_screen(app).status_bar.figures.down == 1, "the status bar to count it")
        await wait_for(pilot, lambda: "4/5 up" in screen_text(app), "the site roll-up to say 4/5 up")
        await lab.clear(name)
        await wait_for(pilot, lambda: badge() == "up", f"{name} to come back up")
        await wait_for(pilot, lambda: main_screen(app).status_bar.figures.down == 0, "the status bar to recover")


@pytest.mark.lab
async def test_a_hostile_interface_description_appears_inert(console_lab: ConsoleLab) -> None:
    name = "alcala-leaf1"
    await console_lab.lab.inject(name, "hostile-text", ports=3)
    engine = console_lab.engine()
    app = fleet_app(console_lab.inventory, engine, paths=console_lab.paths)
    async with app.run_test(size=(160, 40)) as pilot:
        theme = app.theme
        await wait_for(
            pilot,
            lambda: any(i.description == HOSTILE_DESCRIPTION for i in engine.store.interfaces(name)),
            "the hostile description to reach the store",
        )
        app.go_to(Selection("device", name))
        await wait_for(pilot, lambda: "[red]P" in screen_text(app), "the description to be shown")
        text = screen_text(app)
        # Markup stays literal text, and no control character reaches the screen.
        assert "[red]P" in text
        assert not any(char in text for char in "\x1b\x07\x9b\x9d")
        assert app.theme == theme
        assert app.clipboard == "", "an OSC 52 in a description must not set the clipboard"


@pytest.mark.lab
async def test_a_command_on_the_selected_site_returns_one_result_per_device(console_lab: ConsoleLab) -> None:
    app = fleet_app(console_lab.inventory, console_lab.engine(), paths=console_lab.paths)
    names = [device.name for device in console_lab.inventory.devices]
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: all_up(app, names), "every device to come up")
        app.go_to(Selection("site", "alcala"))
        await pilot.pause(0.3)
        app.open_runner("show version")
        runner = main_screen(app).pane("runner")
        await wait_for(pilot, lambda: runner.last_run is not None and runner.last_run.finished, "the run to end")
        run = runner.last_run
        assert sorted(result.device for result in run.results) == sorted(names)
        assert all(result.ok for result in run.results), [r.reason for r in run.results if not r.ok]


@pytest.mark.lab
async def test_quitting_while_a_command_runs_asks_first(console_lab: ConsoleLab) -> None:
    app = fleet_app(console_lab.inventory, console_lab.engine(), paths=console_lab.paths)
    name = "alcala-gw1"
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: all_up(app, [name]), f"{name} to come up")
        await console_lab.lab.inject(name, "ssh-slow", seconds=30)
        app.go_to(Selection("device", name))
        await pilot.pause(0.3)
        app.open_runner("show version")
        runner = main_screen(app).pane("runner")
        await wait_for(pilot, lambda: runner.is_running, "the run to start")
        # Leave the command line (where q is just a letter) for the site map.
        await wait_for(pilot, lambda: runner.has_focus_within, "the command line to take focus")
        site_map(app).focus()
        await wait_for(pilot, lambda: site_map(app).has_focus, "the site map to take focus")
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuitScreen), "the quit question")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the question to close")
        assert runner.is_running and app.is_running
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuitScreen), "the quit question again")
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running, "the console to quit")


# -- on a fixed store (no network) --------------------------------------------------------------------------------


def fixed_app(fleet: SampleFleet) -> EdgeOpsApp:
    return store_app(fleet.inventory, paths=fleet.paths, store=fleet.store, clock=fleet.clock)


async def test_number_keys_focus_panes_and_a_small_terminal_shows_one_right_hand_pane(
    sample_fleet: SampleFleet,
) -> None:
    app = fixed_app(sample_fleet)
    async with app.run_test(size=SMALL) as pilot:
        screen = main_screen(app)
        assert screen.single
        visible = [key for key in ("health", "counters", "runner") if screen.pane(key).display]
        assert visible == ["health"]
        app.go_to(Selection("device", "alcala-leaf1"))  # the interface table has rows to focus
        await pilot.pause(0.3)
        await pilot.press("3")
        await pilot.pause()
        assert [key for key in ("health", "counters", "runner") if screen.pane(key).display] == ["counters"]
        assert screen.pane("counters").has_focus_within
        await pilot.press("1")
        await pilot.pause()
        assert site_map(app).has_focus
        await pilot.press("2")
        await pilot.pause()
        assert screen.pane("health").display and screen.pane("health").has_focus_within
        await pilot.resize_terminal(*WIDE)
        await pilot.pause()
        assert not screen.single
        assert all(screen.pane(key).display for key in ("health", "counters", "runner"))


async def test_z_zooms_the_focused_pane_and_z_or_escape_restores_the_layout(sample_fleet: SampleFleet) -> None:
    app = fixed_app(sample_fleet)
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(app)
        app.go_to(Selection("device", "alcala-leaf1"))
        await pilot.pause(0.3)
        await pilot.press("3")
        await pilot.pause()
        await pilot.press("z")
        await pilot.pause()
        counters = screen.pane("counters")
        assert screen.maximized is counters
        assert screen.zoomed_pane() == "counters"
        assert counters.region.width == WIDE[0]  # the whole width: the site map and the other panes make room
        assert not screen.pane_visible("health") and not screen.pane_visible("site-map")
        await pilot.press("z")
        await pilot.pause()
        assert screen.maximized is None and screen.pane_visible("health")
        await pilot.press("z")
        await pilot.pause()
        assert screen.maximized is counters
        await pilot.press("escape")
        await pilot.pause()
        assert screen.maximized is None
        assert counters.region.width < WIDE[0]


async def test_help_lists_the_bindings_of_the_app_and_every_pane(sample_fleet: SampleFleet) -> None:
    app = fixed_app(sample_fleet)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        text = "\n".join(f"{key} {does}" for section in help_screen.sections for key, does in section.keys)
        assert "Everywhere" in screen_text(app)
        for cls in (EdgeOpsApp, MainScreen, SiteMap, *(type(main_screen(app).pane(k)) for k in ("health", "counters"))):
            for binding in cls.BINDINGS:
                description = binding.description if hasattr(binding, "description") else binding[2]
                assert description in text, f"{cls.__name__}: {description!r} missing from help"
        runner_type = type(main_screen(app).pane("runner"))
        for binding in runner_type.BINDINGS:
            assert binding.description in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "help to close")


async def test_palette_goes_to_a_device(sample_fleet: SampleFleet) -> None:
    app = fixed_app(sample_fleet)
    selections: list[Selection] = []

    def hook(message: Message) -> None:
        if isinstance(message, SelectionChanged):
            selections.append(message.selection)

    async with app.run_test(size=WIDE, message_hook=hook) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"madrid-leaf3")
        await pilot.pause(0.8)
        await pilot.press("enter")
        await wait_for(pilot, lambda: Selection("device", "madrid-leaf3") in selections, "the palette's selection")
        node = site_map(app).cursor_node
        assert node is not None and node.data is not None and node.data.key == "madrid-leaf3"


async def test_a_broken_inventory_shows_its_problems_and_r_reads_it_again(tmp_path: Path) -> None:
    problems = [
        Problem("inventory.yaml", 3, 5, "unknown key 'hots' (did you mean 'host'?)"),
        Problem("inventory.yaml", 9, 14, "platform must be one of srlinux, sros, sros-classic"),
    ]
    from conftest import make_sample_fleet

    paths = make_sample_fleet(tmp_path).paths
    app = problems_app(problems, paths=paths)
    async with app.run_test(size=WIDE) as pilot:
        assert isinstance(app.screen, InventoryErrorsScreen)
        text = screen_text(app)
        assert "inventory.yaml:3:5: unknown key 'hots' (did you mean 'host'?)" in text
        assert "inventory.yaml:9:14:" in text
        await pilot.press("r")
    assert app.return_value == RELOAD_INVENTORY


def test_a_broken_inventory_without_a_terminal_prints_file_line_col_and_exits_2(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("version: 1\nsites:\n  - code: alcala\n    nam: Tecno-Alcalá\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "edgeops", "--inventory", str(inventory), "--log-dir", str(tmp_path / "logs")],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "EDGEOPS_STATE_DIR": str(tmp_path / "state")},
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{inventory}:4:5:" in result.stderr
    assert "Traceback" not in result.stderr


class StoreOnlyEngine:
    """Stands in for the engine where only the start-up sequence is under test: a store, and start/stop calls."""

    def __init__(self, fleet: SampleFleet) -> None:
        self.store = fleet.store
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    def jump_states(self) -> dict[str, str]:
        return {"bastion": "up"}


class SampleSession:
    """The console's session (edgeops.ui.session.ConsoleSession) on the sample fleet, read when `release` is set."""

    inventory_file = Path("inventory.yaml")

    def __init__(self, fleet: SampleFleet) -> None:
        self.fleet = fleet
        self.reads: list[int] = []
        self.engines: list[StoreOnlyEngine] = []
        self.broken = True
        self.release = threading.Event()
        self.events: list[str] = []

    def load_inventory(self):  # type: ignore[no-untyped-def]
        self.reads.append(1)
        self.release.wait(WAIT_LIMIT_S)
        if self.broken:
            return None, [Problem("inventory.yaml", 2, 3, "unknown key 'sties'")]
        return self.fleet.inventory, ()

    def make_engine(self, inventory, ask_password):  # type: ignore[no-untyped-def]
        engine = StoreOnlyEngine(self.fleet)
        self.engines.append(engine)
        return engine

    def engine_starting(self) -> None:
        self.events.append("engine starting")

    def fleet_settled(self) -> None:
        self.events.append("fleet settled")

    def console_closed(self) -> None:
        self.events.append("console closed")


async def test_the_first_frame_comes_before_the_inventory_is_read(sample_fleet: SampleFleet) -> None:
    from edgeops.ui.screens.starting import StartingScreen

    session = SampleSession(sample_fleet)
    app = session_app(session, paths=sample_fleet.paths)
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, StartingScreen) and session.reads, "the starting screen")
        assert "reading inventory.yaml" in screen_text(app)
        session.release.set()
        await wait_for(pilot, lambda: isinstance(app.screen, InventoryErrorsScreen), "the problems")
        assert "inventory.yaml:2:3: unknown key 'sties'" in screen_text(app)
        session.broken = False
        await pilot.press("r")  # fixed: read again, inside the same console
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")
        engines = session.engines
        await wait_for(pilot, lambda: engines and engines[0].started, "the engine to start")
        await wait_for(
            pilot,
            lambda: main_screen(app).status_bar.figures.jumps == (("bastion", "up"),) and "bastion" in screen_text(app),
            "the jump host in the status bar",
        )
        assert len(session.reads) == 2
        await wait_for(pilot, lambda: "fleet settled" in session.events, "the session to hear the fleet settled")
    assert engines[0].stopped
    assert session.events == ["engine starting", "fleet settled", "console closed"]


async def test_the_heap_is_frozen_at_start_again_once_the_fleet_settles_and_thawed_on_exit(
    sample_fleet: SampleFleet,
) -> None:
    """The console runtime's garbage-collector policy, driven by the console's engine start and fleet settling."""
    import gc

    from edgeops.cli.console import ConsoleRuntime
    from edgeops.devices.samples import SessionState

    still_connecting = sample_fleet.inventory.devices[0].name
    for transport in ("ssh", "gnmi"):
        sample_fleet.store.set_session(still_connecting, transport, SessionState.CONNECTING)
    engine = StoreOnlyEngine(sample_fleet)

    class Runtime(ConsoleRuntime):
        def load_inventory(self):  # type: ignore[no-untyped-def]
            return sample_fleet.inventory, ()

        def make_engine(self, inventory, ask_password):  # type: ignore[no-untyped-def]
            return engine

    runtime = Runtime(Path("inventory.yaml"), sample_fleet.paths)
    app = session_app(runtime, paths=sample_fleet.paths)
    # Python 3.12.1 starts with a few hundred objects already frozen: count from what the process had.
    baseline = gc.get_freeze_count()
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: engine.started, "the engine to start")
        frozen_at_start = gc.get_freeze_count()
        assert frozen_at_start > baseline
        for _ in range(3):  # ticks go by while a device is still connecting: nothing more is frozen (frozen
            await pilot.pause(0.3)  # objects freed by reference counting leave the count)
        before_settling = gc.get_freeze_count()
        assert before_settling <= frozen_at_start
        for transport in ("ssh", "gnmi"):
            sample_fleet.store.set_session(still_connecting, transport, SessionState.UP)
        await wait_for(pilot, lambda: gc.get_freeze_count() > before_settling, "the settled heap to be frozen")
    assert gc.get_freeze_count() == 0


async def test_palette_runs_a_command_on_the_selection(sample_fleet: SampleFleet) -> None:
    app = fixed_app(sample_fleet)
    async with app.run_test(size=WIDE) as pilot:
        app.go_to(Selection("site", "madrid"))
        await pilot.pause(0.3)
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"run show system lldp neighbor")
        await pilot.pause(0.8)
        await pilot.press("enter")
        runner = main_screen(app).pane("runner")
        await wait_for(pilot, lambda: runner.last_run is not None and runner.last_run.finished, "the run")
        run = runner.last_run
        assert run.command == "show system lldp neighbor"
        assert {device.name for device in run.devices} == set(sample_fleet.store.device_names("madrid"))
        # This console has no engine: every device says why it got nothing.
        assert all(result.failure is Failure.NOT_CONNECTED for result in run.results)


async def test_every_shipped_theme_and_a_user_theme_apply(sample_fleet: SampleFleet) -> None:
    themes_dir = sample_fleet.paths.user_themes_dir
    themes_dir.mkdir(parents=True)
    # A user's theme without our status colours still works: they are derived from its own colours.
    (themes_dir / "night.toml").write_text('name = "night"\nprimary = "#3366ff"\nerror = "#ff0000"\n')
    app = store_app(sample_fleet.inventory, paths=sample_fleet.paths, store=sample_fleet.store, theme="night")
    async with app.run_test(size=WIDE) as pilot:
        assert app.theme == "night"
        assert app.current_theme.variables["status-down"] == "#ff0000"
        for name in ("edgeops-dark", "edgeops-light", "edgeops-high-contrast", "edgeops-ansi", "textual-dark"):
            app.theme = name
            await pilot.pause()
            assert "Tecno-Alcalá" in screen_text(app)


async def test_a_new_host_key_is_announced_and_ask_waits_for_the_answer(sample_fleet: SampleFleet) -> None:
    from edgeops.devices.hostkeys import HostKeyEvent
    from edgeops.ui.screens.confirm_host_key import ConfirmHostKeyScreen

    app = fixed_app(sample_fleet)
    event = HostKeyEvent("alcala-leaf1", "[127.10.1.3]:22 [x]", "ED25519 SHA256:abc[/]def", "known_hosts:3")
    async with app.run_test(size=WIDE) as pilot:
        app.host_key_added(event)
        await pilot.pause()
        assert any("SHA256:abc[/]def" in str(n.message) for n in app._notifications)
        asked = asyncio.ensure_future(app.confirm_host_key(HostKeyEvent("alcala-leaf2", "h", "ED25519 SHA256:zz")))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmHostKeyScreen), "the host key question")
        assert "SHA256:zz" in screen_text(app)
        await pilot.press("y")
        assert await asked is True
        refused = asyncio.ensure_future(app.confirm_host_key(HostKeyEvent("alcala-leaf3", "h", "ED25519 SHA256:yy")))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmHostKeyScreen), "the second question")
        await pilot.press("escape")
        assert await refused is False
