"""The console app: the layout of panes, the one refresh tick that feeds them from the fleet store, keys and quitting.

Four factories build it, one per way it starts (see StartMode): `session_app` for the CLI (the inventory is read
after the first frame), `fleet_app` on an engine (started when mounted, stopped on exit), `store_app` on a store the
caller filled (snapshot tests), `problems_app` on an inventory that did not load.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.events import Resize
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from edgeops import defaults
from edgeops.clock import Clock, SystemClock
from edgeops.fleet.command_transport import NotConnected
from edgeops.fleet.store import ChangeSet, FleetStore
from edgeops.inventory.model import Inventory
from edgeops.inventory.problems import Problem
from edgeops.inventory.secrets import SecretError
from edgeops.paths import AppPaths
from edgeops.ui.live import LivePane, Selection, SelectionChanged
from edgeops.ui.palette import FleetProvider, PaneProvider, RunCommandProvider, ThemeProvider
from edgeops.ui.panes.site_map import SiteMap
from edgeops.ui.replay.controller import REPLAY_BINDINGS, ReplayController, replay_key_allowed
from edgeops.ui.replay.palette import GoBackProvider
from edgeops.ui.replay.time_bar import TimeBar
from edgeops.ui.sanitize import safe_plain
from edgeops.ui.screens.confirm_host_key import ConfirmHostKeyScreen
from edgeops.ui.screens.confirm_quit import ConfirmQuitScreen
from edgeops.ui.screens.help import HelpScreen, HelpSection, section_for
from edgeops.ui.screens.inventory_errors import RELOAD_INVENTORY, InventoryErrorsScreen
from edgeops.ui.screens.password_prompt import PasswordScreen
from edgeops.ui.screens.starting import StartingScreen
from edgeops.ui.screens.subscriptions import SubscriptionsProvider, SubscriptionsScreen
from edgeops.ui.session import ConsoleSession, Engine, InventoryLoad
from edgeops.ui.themes import DEFAULT_THEME, load_themes, save_chosen_theme
from edgeops.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:  # the command runner core and the right-hand panes are imported after the first frame
    from edgeops.devices.hostkeys import HostKeyEvent  # (asyncssh, for the engine: after the first frame too)
    from edgeops.fleet.audit import AuditLog
    from edgeops.fleet.commands import CommandRunner
    from edgeops.ui.panes.command_runner import CommandRunnerPane

log = logging.getLogger(__name__)

MAX_REFRESH_HZ = defaults.MAX_REFRESH_HZ

# Below this size the right-hand panes are shown one at a time (switched with 2, 3, 4).
SINGLE_PANE_BELOW_WIDTH = 100
SINGLE_PANE_BELOW_HEIGHT = 30
ENGINE_STOP_TIMEOUT_S = 10.0
STATUS_AGE_EVERY_S = 1.0  # the status bar's telemetry age is shown in whole seconds

# Every theme gets these, so a user's theme (or one of Textual's) without our status colours still works.
STATUS_VARIABLE_DEFAULTS = {
    "status-up": "#5fd38d",
    "status-degraded": "#f0c242",
    "status-down": "#ff6b6b",
    "status-stale": "#8a96a8",
    "status-problem": "#d68bff",
}


@dataclass(frozen=True)
class PaneSpec:
    """A pane slot: its DOM id, its key number, and its title."""

    key: str
    number: int
    title: str


PANES: tuple[PaneSpec, ...] = (
    PaneSpec("site-map", 1, "Sites"),
    PaneSpec("health", 2, "Device health"),
    PaneSpec("counters", 3, "Interfaces"),
    PaneSpec("runner", 4, "Commands"),
)
RIGHT_PANES = tuple(spec.key for spec in PANES[1:])


class StartMode(enum.Enum):
    """How the console starts; each has its factory below."""

    SESSION = "session"  # the CLI: read the inventory after the first frame, then build and start the engine
    FLEET = "fleet"  # on an inventory and its engine: started when mounted, stopped on exit
    STORE = "store"  # on a store the caller filled, without an engine (snapshot tests)
    PROBLEMS = "problems"  # the inventory did not load: its problems; r asks the caller to read it again


@dataclass(frozen=True)
class Fleet:
    """The fleet the console shows: its inventory, its store, and the engine feeding that store (if any)."""

    inventory: Inventory
    store: FleetStore
    engine: Engine | None = None


@dataclass(frozen=True)
class ConsoleSettings:
    """What the app is built with (by one of the factories below). Nothing changes it afterwards."""

    mode: StartMode
    paths: AppPaths
    clock: Clock
    theme: str | None = None
    # The flag or variable that chose the theme ("--theme", "EDGEOPS_THEME"): a theme chosen in the console is still
    # saved to config.toml, but that one wins at the next start, and the console says so. "": config.toml decides.
    theme_origin: str = ""
    refresh_hz: float = MAX_REFRESH_HZ
    fleet: Fleet | None = None  # FLEET and STORE
    session: ConsoleSession | None = None  # SESSION
    problems: tuple[Problem, ...] = ()  # PROBLEMS
    command_runner: CommandRunner | None = None  # the runner core of the command runner pane (default: the engine)
    handle_signals: bool = False  # SIGTERM and SIGHUP quit cleanly (the CLI: the demo lab stops too)
    readonly: bool = False  # edgeops --readonly: the status bar says so (the session's engine enforces it)
    scope: tuple[str, str] = ("", "")  # edgeops --site/--target: the status bar names it (long form, narrow form)
    open_on: str | None = None  # edgeops --device: the device selected when the fleet is first shown
    # The runner pane's timeout per device (config.toml's command_timeout), and sites with their own.
    command_timeout_s: float = defaults.COMMAND_TIMEOUT_S
    site_command_timeouts: Mapping[str, float] = field(default_factory=dict)


class MainScreen(Screen[None]):
    """Site map on the left; device health, interface counters and the command runner on the right."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "focus_pane('site-map')", "Sites", key_display="1"),
        Binding("2", "focus_pane('health')", "Health", key_display="2"),
        Binding("3", "focus_pane('counters')", "Interfaces", key_display="3"),
        Binding("4", "focus_pane('runner')", "Commands", key_display="4"),
        Binding("z", "zoom", "Zoom"),
        *REPLAY_BINDINGS,
    ]

    def __init__(self, fleet: Fleet) -> None:
        super().__init__(id="main-screen")
        self.store: FleetStore = fleet.store
        self.selection = Selection("fleet")
        self.single = False
        self.current_right = "health"  # the right-hand pane shown when they are shown one at a time
        self.hidden: set[str] = set()
        self._versions: dict[str, int] = {}
        self.ready = False  # set once the panes are mounted and filled: the refresh tick waits for it
        self._status_shown = 0.0
        self._shown_jumps: dict[str, str] = {}

    # -- layout -------------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        app = cast("EdgeOpsApp", self.app)
        with Horizontal(id="main"):
            site_map = SiteMap(id="site-map", classes="pane")
            yield site_map
            with Vertical(id="right"):
                for spec in PANES[1:]:
                    yield app.make_pane(spec)
        yield TimeBar(id="time-bar")
        yield StatusBar(id="status", readonly=app.settings.readonly, scope=app.settings.scope)
        yield Footer()

    def on_mount(self) -> None:
        for spec in PANES:
            pane = self.query_one(f"#{spec.key}")
            pane.border_title = f"{spec.number} {spec.title}"
        site_map = self.site_map
        site_map.populate(self.store)
        self._versions["site-map"] = self.store.version
        site_map.focus()
        app = cast("EdgeOpsApp", self.app)
        if app.settings.open_on is not None:  # edgeops --device NAME: opened on it, as if picked in the site map
            site_map.reveal(Selection("device", app.settings.open_on))
        self._arrange(self.size.width, self.size.height)
        self.ready = True
        # The first frame already shows the fleet as the store has it; the sessions start opening after it.
        self.refresh_tick(app.jump_states())
        self.call_after_refresh(app.start_engine)
        if app.replay is not None and not app.replay.active:
            app.replay.attach(app)

    @property
    def site_map(self) -> SiteMap:
        return self.query_one("#site-map", SiteMap)

    @property
    def status_bar(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    def pane(self, key: str) -> Widget:
        return self.query_one(f"#{key}", Widget)

    def live_panes(self) -> list[tuple[str, LivePane]]:
        # Every right-hand pane is a LivePane (make_right_pane builds them).
        return [(key, cast(LivePane, self.pane(key))) for key in RIGHT_PANES]

    def on_resize(self, event: Resize) -> None:
        self._arrange(event.size.width, event.size.height)

    def _arrange(self, width: int, height: int) -> None:
        single = width < SINGLE_PANE_BELOW_WIDTH or height < SINGLE_PANE_BELOW_HEIGHT
        self.single = single
        self.set_class(single, "-single")
        for key in RIGHT_PANES:
            pane = self.pane(key)
            pane.set_class(key == self.current_right, "-current")
            pane.set_class(key in self.hidden, "-hidden")
            pane.border_subtitle = self._switch_hint(key) if single else ""

    def _switch_hint(self, key: str) -> str:
        others = [f"{spec.number} {spec.title.split()[-1].lower()}" for spec in PANES[1:] if spec.key != key]
        return " · ".join(others)

    def pane_visible(self, key: str) -> bool:
        zoomed = self.zoomed_pane()
        if zoomed is not None:
            return key == zoomed
        if key == "site-map":
            return True
        if self.single:
            return key == self.current_right
        return key not in self.hidden

    def zoomed_pane(self) -> str | None:
        """The key of the pane that fills the screen, if one does."""
        maximized = self.maximized
        return maximized.id if maximized is not None and maximized.has_class("pane") else None

    def use_store(self, store: FleetStore) -> None:
        """Show another store (a replay's, or the live one again): every pane is drawn from it afresh."""
        self.store = store
        self._versions.clear()
        self.apply_selection(self.selection)
        self.refresh_tick({})

    # -- keys -----------------------------------------------------------------------------------------------------

    def action_replay(self, what: str) -> None:
        app = cast("EdgeOpsApp", self.app)
        if app.replay is not None:
            app.replay.act(what)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return replay_key_allowed(self.app, action, parameters)

    def action_zoom(self) -> None:
        """Let the pane holding the focus fill the screen (long command output, a 48-port table); again restores."""
        if self.maximized is not None:
            self.minimize()
            return
        widget = self.focused
        while widget is not None and not widget.has_class("pane"):
            parent = widget.parent
            widget = parent if isinstance(parent, Widget) else None
        if widget is None:
            return
        # Set directly: a pane that is a container does not allow maximizing through Screen.maximize().
        self.maximized = widget

    def action_focus_pane(self, key: str) -> None:
        if key in RIGHT_PANES:
            self.hidden.discard(key)
            self.current_right = key
            self._arrange(self.size.width, self.size.height)
        # After the refresh: a pane that was hidden until now can take focus only once it is displayed.
        self.call_after_refresh(self._focus_into, self.pane(key))

    def _focus_into(self, pane: Widget) -> None:
        """Focus the pane itself, or (a container) the first widget inside it that takes focus."""
        if pane.can_focus or type(pane).focus is not Widget.focus:
            pane.focus()
            return
        for widget in self.focus_chain:
            if pane in widget.ancestors:
                widget.focus()
                return

    def toggle_pane(self, key: str) -> None:
        if key not in RIGHT_PANES:
            return
        if key in self.hidden:
            self.hidden.discard(key)
        elif len(self.hidden) < len(RIGHT_PANES) - 1:  # one right-hand pane always stays
            self.hidden.add(key)
            if self.current_right == key:
                self.current_right = next(k for k in RIGHT_PANES if k not in self.hidden)
        self._arrange(self.size.width, self.size.height)

    # -- selection and the refresh tick -------------------------------------------------------------------------

    @on(SelectionChanged)
    def _selection_changed(self, event: SelectionChanged) -> None:
        event.stop()
        if event.selection != self.site_map.selected:
            # A drill-down from another pane (or the palette): the site map's cursor follows.
            self.site_map.reveal(event.selection, announce=False)
        self.apply_selection(event.selection)

    def apply_selection(self, selection: Selection) -> None:
        self.selection = selection
        replay = getattr(self.app, "replay", None)
        if replay is not None and replay.active:
            shown = self.store
            replay.selected(selection)  # a replay decodes the counters of the device on screen only
            if self.store is not shown:
                return  # the replay's new store was drawn for this selection already (use_store)
        store = self.store
        version = store.version
        with self.app.batch_update():
            for key, pane in self.live_panes():
                pane.select(store, selection)
                # select() drew the pane from the store as it is now.
                self._versions[key] = version

    def refresh_tick(self, jumps: Mapping[str, str]) -> None:
        """Hand each visible pane what changed since it last looked; nothing changed, nothing is drawn."""
        store = self.store
        version = store.version
        changesets: dict[int, ChangeSet] = {}

        def changes_for(key: str) -> ChangeSet | None:
            seen = self._versions.get(key, 0)
            if seen == version:
                return None
            changes = changesets.get(seen)
            if changes is None:
                changes = changesets[seen] = store.changes_since(seen)
            self._versions[key] = version
            return changes

        with self.app.batch_update():
            changes = changes_for("site-map")
            if changes is not None:
                self.site_map.apply_changes(store, changes)
            for key, pane in self.live_panes():
                if self.pane_visible(key):
                    changes = changes_for(key)
                    if changes is not None:
                        pane.apply_changes(store, changes)
            changes = changes_for("status")
            status = self.status_bar
            if changes is not None:
                status.track_changes(store, changes)
            # Counting the fleet reads every device: do it when something changed, and once a second for the age.
            now = time.monotonic()
            if changes is not None or jumps != self._shown_jumps or now - self._status_shown >= STATUS_AGE_EVERY_S:
                status.show(store, jumps)
                self._status_shown, self._shown_jumps = now, dict(jumps)


class EdgeOpsApp(App[str]):
    """The edgeops console. Build it with `session_app`, `fleet_app`, `store_app` or `problems_app`."""

    CSS_PATH = "app.tcss"
    TITLE = "edgeops"
    COMMANDS = App.COMMANDS | {
        FleetProvider,
        RunCommandProvider,
        ThemeProvider,
        PaneProvider,
        SubscriptionsProvider,
        GoBackProvider,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark,f1", "help", "Help"),
    ]
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, settings: ConsoleSettings) -> None:
        super().__init__()
        self.settings = settings
        self.fleet: Fleet | None = settings.fleet  # set once the session's inventory has loaded
        self.command_runner: CommandRunner | None = settings.command_runner
        self._refresh_timer: Timer | None = None
        self._audit: AuditLog | None = None
        self._engine_started = False
        self._engine_stopped = False
        self._fleet_settled = False
        self._quitting = False
        self.replay: ReplayController | None = None  # set while the console shows a recording (ui/replay)

    def _default_command_runner(self) -> CommandRunner:
        """Commands go through the engine's persistent sessions; every run is written to the audit log."""
        from edgeops.fleet.audit import AuditLog
        from edgeops.fleet.command_transport import CommandTransport
        from edgeops.fleet.commands import CommandRunner

        self._audit = self._audit or AuditLog(self.paths.audit_log)
        transport: CommandTransport = self.engine or NotConnected()
        from edgeops.fleet.events import EventTap

        # A FleetEngine's tap hears each result (with its audit ids) for the recording; other engines have none.
        events = getattr(self.engine, "events", None)
        on_result = events.command_ran if isinstance(events, EventTap) else None
        settings = self.settings
        sites = settings.site_command_timeouts
        return CommandRunner(
            transport,
            audit=self._audit,
            source="console",
            clock=self.clock.now,
            on_result=on_result,
            timeout_s=settings.command_timeout_s,
            timeout_for=(lambda device: sites.get(device.site, settings.command_timeout_s)) if sites else None,
        )

    # -- what panes and providers use ----------------------------------------------------------------------------

    @property
    def paths(self) -> AppPaths:
        return self.settings.paths

    @property
    def clock(self) -> Clock:
        return self.settings.clock

    @property
    def has_fleet(self) -> bool:
        """False while the starting or the inventory-errors screen stands in for the console."""
        return self.fleet is not None

    @property
    def store(self) -> FleetStore:
        assert self.fleet is not None, "the console has no fleet (the inventory did not load)"
        return self.fleet.store

    @property
    def replay_active(self) -> bool:
        """The console shows a recording: nothing is sent to devices."""
        return self.replay is not None and self.replay.active

    def use_store(self, store: FleetStore) -> None:
        """Show `store` in every pane (a replay's, or the live one again)."""
        if self.fleet is None:
            return
        self.fleet = replace(self.fleet, store=store)
        main = self.main_screen
        if main is not None:
            main.use_store(store)

    @property
    def inventory(self) -> Inventory | None:
        return self.fleet.inventory if self.fleet is not None else None

    @property
    def engine(self) -> Engine | None:
        return self.fleet.engine if self.fleet is not None else None

    @property
    def main_screen(self) -> MainScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        return None

    @property
    def selection(self) -> Selection:
        main = self.main_screen
        return main.selection if main is not None else Selection("fleet")

    def make_pane(self, spec: PaneSpec) -> Widget:
        pane = make_right_pane(self, spec.key)
        pane.id = spec.key
        pane.add_class("pane")
        return pane

    def runner_pane(self) -> CommandRunnerPane | None:
        """The command runner pane while the main screen holds it: None before the screen has composed its panes
        and while it takes them down (a replay's tick may ask in either moment)."""
        from edgeops.ui.panes.command_runner import CommandRunnerPane

        main = self.main_screen
        if main is None:
            return None
        try:
            return main.query_one("#runner", CommandRunnerPane)
        except NoMatches:
            return None

    def pane_titles(self) -> dict[str, str]:
        return {spec.key: spec.title for spec in PANES}

    def pane_number(self, key: str) -> int:
        return next(spec.number for spec in PANES if spec.key == key)

    def pane_hidden(self, key: str) -> bool:
        main = self.main_screen
        return main is not None and key in main.hidden

    def focus_pane(self, key: str) -> None:
        main = self.main_screen
        if main is not None:
            main.action_focus_pane(key)

    def toggle_pane(self, key: str) -> None:
        main = self.main_screen
        if main is not None:
            main.toggle_pane(key)

    def go_to(self, selection: Selection) -> None:
        """Reveal a device or site in the site map and select it (the palette's "go to")."""
        main = self.main_screen
        if main is None:
            return
        if main.site_map.reveal(selection):
            main.action_focus_pane("site-map")
        else:
            self.notify(f"{selection.key} is not in the inventory", severity="warning")

    def open_runner(self, command: str) -> None:
        """Show the command runner and run `command` on the current selection."""
        main, runner = self.main_screen, self.runner_pane()
        if main is None or runner is None:
            return
        main.action_focus_pane("runner")
        runner.run(command)

    def open_subscriptions(self, selection: Selection | None = None) -> None:
        """Show the subscription view of `selection` (default: the current one): every gNMI group, live."""
        if not self.has_fleet:
            return
        if isinstance(self.screen, SubscriptionsScreen):
            self.pop_screen()
        self.push_screen(
            SubscriptionsScreen(self.store, selection or self.selection, control=self.engine, now=self.clock.now)
        )

    def open_timeline(self, device: str, port: str | None = None) -> None:
        """Show the timeline of a port (or, port None, of a device's vital signs): live, or in the replay."""
        if not self.has_fleet:
            return
        from edgeops.ui.timeline.model import TimelineSubject
        from edgeops.ui.timeline.screen import open_timeline

        open_timeline(self, TimelineSubject(device, port))

    def runner_busy(self) -> str:
        """Why quitting should be confirmed ("" when nothing is running)."""
        runner = self.runner_pane()
        if runner is not None and runner.is_running:
            return "A command is still running on devices; quitting cancels it (devices not yet answered get nothing)."
        return ""

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # Textual's ANSI-colour theme generator leaves out two variables its own Screen CSS uses: a 16-colour
        # theme from a file (themes/edgeops-ansi.toml, or a user's) would not load without them.
        ansi = {"ansi-background": "ansi_default", "ansi-foreground": "ansi_default"}
        return {**super().get_theme_variable_defaults(), **ansi, **STATUS_VARIABLE_DEFAULTS}

    def on_mount(self) -> None:
        if self.settings.handle_signals:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGHUP):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(signum, self.exit)
        for theme in load_themes(self.paths.user_themes_dir):
            self.register_theme(_with_status_colours(theme))
        wanted = self.settings.theme or DEFAULT_THEME
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME
        # Every later change (the palette's theme commands, Textual's theme picker) is saved to config.toml.
        self._saved_theme = self.theme
        self.theme_changed_signal.subscribe(self, self._save_theme)
        session, fleet = self.settings.session, self.fleet
        if session is not None:
            self.push_screen(StartingScreen(session.inventory_file))
            # Once the first frame is on the terminal: the reading thread would only compete with painting it.
            self.call_after_refresh(self.load_fleet)
        elif fleet is not None:
            self.push_screen(self._open_fleet(fleet))
        else:
            problems = self.settings.problems
            self.push_screen(InventoryErrorsScreen(Path(problems[0].file) if problems else None, problems))

    def _open_fleet(self, fleet: Fleet) -> MainScreen:
        """The main screen on `fleet`, with the refresh tick (the screen starts the engine)."""
        self.fleet = fleet
        if self.command_runner is None:
            self.command_runner = self._default_command_runner()
        self._refresh_timer = self.set_interval(1 / self.settings.refresh_hz, self._refresh_tick, name="refresh")
        return MainScreen(fleet)

    def load_fleet(self) -> None:
        """Read the inventory in the background (the starting screen is up meanwhile)."""
        session = self.settings.session
        assert session is not None
        self.run_worker(session.load_inventory, name="inventory", group="inventory", thread=True, exit_on_error=False)

    def reload_inventory(self) -> None:
        """The engineer fixed the file (the inventory-errors screen's r): read it again."""
        session = self.settings.session
        if session is None:
            self.exit(RELOAD_INVENTORY)  # the caller reads it again and builds a new console
            return
        self.switch_screen(StartingScreen(session.inventory_file))
        self.load_fleet()

    def _fleet_loaded(self, worker: Worker[Any]) -> None:
        session = self.settings.session
        assert session is not None
        path = session.inventory_file
        if worker.state == WorkerState.ERROR:
            log.error("reading the inventory failed: %r", worker.error)
            problems: Sequence[Problem] = (Problem(str(path), None, None, f"cannot be read: {worker.error}"),)
            inventory = None
        else:
            inventory, problems = cast(InventoryLoad, worker.result)
        if inventory is None:
            self.switch_screen(InventoryErrorsScreen(path, problems))
            return
        engine = session.make_engine(inventory, self)
        self.switch_screen(self._open_fleet(Fleet(inventory, engine.store, engine)))

    def start_engine(self) -> None:
        """Start the engine (once): the main screen calls it after its first frame, which 200 sessions opening
        at once would otherwise delay."""
        if self.engine is not None and not self._engine_started:
            self._engine_started = True
            if self.settings.session is not None:
                self.settings.session.engine_starting()
            self.run_worker(self._start_engine(), name="engine", group="engine", exit_on_error=False)

    async def _start_engine(self) -> None:
        assert self.engine is not None
        await self.engine.start()

    async def stop_engine(self) -> None:
        """Stop the engine once (quitting, or unmounting after an error); never hang the exit for long."""
        if self.engine is None or not self._engine_started or self._engine_stopped:
            return
        self._engine_stopped = True
        try:
            await asyncio.wait_for(self.engine.stop(), ENGINE_STOP_TIMEOUT_S)
        except Exception:
            log.exception("stopping the fleet engine failed")

    async def on_unmount(self) -> None:
        await self.stop_engine()
        if self.settings.session is not None:
            self.settings.session.console_closed()
        if self._audit is not None:
            self._audit.close()

    def _save_theme(self, theme: Theme) -> None:
        """A theme chosen in the console is the one it opens with next time (config.toml keeps it)."""
        if theme.name == self._saved_theme:
            return  # the theme set at start, or one already saved
        self._saved_theme = theme.name
        notice = save_chosen_theme(self.paths.config_dir, theme.name, self.settings.theme_origin)
        if notice is not None:
            self.notify(notice.message, title="Theme", severity=notice.severity, timeout=10)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification of the console, the widgets' included (they call this one): plain text, never markup,
        with terminal controls removed. Messages quote device names, targets and errors from devices; a `[/]` in
        one must not crash the console, nor an escape sequence reach the terminal. `markup` is accepted for
        Textual's signature and ignored."""
        super().notify(safe_plain(message), title=safe_plain(title), severity=severity, timeout=timeout, markup=False)

    async def on_event(self, event: events.Event) -> None:
        # A paste is the one way control characters reach an input (keys carry only printable text): pasted text
        # is made inert before any input, the palette's included, takes it.
        if isinstance(event, events.Paste) and not event.is_forwarded:
            event.text = safe_plain(event.text)
        await super().on_event(event)

    def _fatal_error(self) -> None:
        """Exit after an unhandled exception, printing its traceback without local variables.

        Textual's own handler prints every frame's locals, and a frame may hold a password, a resolved secret or a
        device's output: those must never reach the screen (nor a terminal's scrollback)."""
        import rich
        from rich.segment import Segments
        from rich.traceback import Traceback

        self.bell()
        traceback = Traceback(show_locals=False, width=None, suppress=[rich])
        self._exit_renderables.append(Segments(self.console.render(traceback, self.console.options)))
        self._close_messages_no_wait()

    def host_key_added(self, event: HostKeyEvent) -> None:
        """A device's host key recorded on first use: said once, with its fingerprint, as OpenSSH says it."""
        self.notify(safe_plain(event.describe()), title="New host key", timeout=15, markup=False)

    async def confirm_host_key(self, event: HostKeyEvent) -> bool:
        """Ask whether to trust a host key seen for the first time (host-key policy ask)."""
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def answered(trust: bool | None) -> None:
            if not answer.done():
                answer.set_result(bool(trust))

        self.push_screen(ConfirmHostKeyScreen(event), answered)
        return await answer

    async def ask_password(self, prompt: str) -> str:
        """Ask the engineer for a password (the engine calls this for `prompt:` secrets, once per label)."""
        answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

        def answered(value: str | None) -> None:
            if not answer.done():
                answer.set_result(value)

        self.push_screen(PasswordScreen(prompt), answered)
        value = await answer
        if value is None:
            raise SecretError("no password given")
        return value

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "inventory" and event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self._fleet_loaded(worker)
        if worker.group == "engine" and event.state == WorkerState.ERROR:
            log.error("the fleet engine failed to start: %r", worker.error)
            self.notify(f"the fleet engine failed: {worker.error}", severity="error", timeout=30)

    def _refresh_tick(self) -> None:
        main = self.main_screen
        if main is None or not main.ready or not self.is_running:
            return
        try:
            main.refresh_tick(self.jump_states())
            # A screen over the main one that shows store data (the subscription view) is fed on the same tick.
            screen = self.screen
            if screen is not main and isinstance(screen, SubscriptionsScreen):
                screen.store_tick(self.store)
        except NoMatches:  # the screen is being taken down (quitting): nothing left to feed
            log.debug("refresh tick while the main screen is closing")
            return
        session = self.settings.session
        settling = session is not None and self._engine_started and not self._fleet_settled
        if settling and self.store.fleet_rollup().connecting == 0:
            assert session is not None
            self._fleet_settled = True
            session.fleet_settled()

    def jump_states(self) -> dict[str, str]:
        if self.engine is None:
            return {}
        try:
            states = self.engine.jump_states()
        except Exception:  # the status bar must not take the console down
            log.exception("reading jump host states failed")
            return {}
        return {str(name): str(state) for name, state in states.items()}

    # -- keys -----------------------------------------------------------------------------------------------------

    async def action_quit(self) -> None:
        busy = self.runner_busy()
        if not busy or self._quitting:
            self.exit()
            return

        def answered(quit_now: bool | None) -> None:
            if quit_now:
                self._quitting = True
                self.exit()

        self.push_screen(ConfirmQuitScreen(busy), answered)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_sections(), self._badge_styles()))

    def help_sections(self) -> list[HelpSection]:
        sections = [section_for(self, "Everywhere", [type(self), MainScreen])]
        title = getattr(self.screen, "HELP_TITLE", None)
        if title:  # a screen over the console with keys of its own (a timeline): those first
            sections.insert(0, section_for(self, title, [type(self.screen)]))
        main = self.main_screen
        if main is None:
            return sections
        for spec in PANES:
            pane = main.pane(spec.key)
            classes: list[type[Any]] = [type(pane)]
            for child in pane.query("*"):
                if type(child).__module__.startswith("edgeops.") and type(child) not in classes:
                    classes.append(type(child))
            sections.append(section_for(self, f"{spec.number} {spec.title}", classes))
        return sections

    def _badge_styles(self) -> dict[str, Any]:
        main = self.main_screen
        if main is None:
            return {}
        site_map = main.site_map
        return {name: site_map.get_component_rich_style(name) for name in SiteMap.COMPONENT_CLASSES}


def _with_status_colours(theme: Theme) -> Theme:
    """The theme with our status colours filled in from its own success/warning/error where it has none."""
    derived = {
        "status-up": theme.success,
        "status-degraded": theme.warning,
        "status-down": theme.error,
    }
    variables = dict(STATUS_VARIABLE_DEFAULTS)
    variables.update({name: value for name, value in derived.items() if value})
    variables.update(theme.variables)
    return replace(theme, variables=variables)


def session_app(
    session: ConsoleSession,
    *,
    paths: AppPaths,
    theme: str | None = None,
    theme_origin: str = "",
    handle_signals: bool = False,
    readonly: bool = False,
    scope: tuple[str, str] = ("", ""),
    open_on: str | None = None,
    refresh_hz: float = MAX_REFRESH_HZ,
    command_timeout_s: float = defaults.COMMAND_TIMEOUT_S,
    site_command_timeouts: Mapping[str, float] | None = None,
) -> EdgeOpsApp:
    """The console the CLI runs: its first frame at once, then the session reads the inventory and builds the engine.

    scope: how the status bar names the devices the session holds, when not all (long form, narrow form); open_on:
    the device selected once the fleet is shown (the session has checked that it is one of them)."""
    return EdgeOpsApp(
        ConsoleSettings(
            StartMode.SESSION,
            paths,
            SystemClock(),
            theme=theme,
            theme_origin=theme_origin,
            refresh_hz=refresh_hz,
            session=session,
            command_timeout_s=command_timeout_s,
            site_command_timeouts=dict(site_command_timeouts or {}),
            handle_signals=handle_signals,
            readonly=readonly,
            scope=scope,
            open_on=open_on,
        )
    )


def fleet_app(
    inventory: Inventory,
    engine: Engine,
    *,
    paths: AppPaths,
    clock: Clock | None = None,
    theme: str | None = None,
    refresh_hz: float = MAX_REFRESH_HZ,
    command_runner: CommandRunner | None = None,
) -> EdgeOpsApp:
    """The console on an engine, which it starts when mounted and stops on exit; the engine's store is shown.

    command_runner: the runner core the command runner pane sends commands through (default: over the engine).
    """
    fleet = Fleet(inventory, engine.store, engine)
    return _fleet_console(StartMode.FLEET, fleet, paths, clock, theme, refresh_hz, command_runner)


def store_app(
    inventory: Inventory,
    *,
    paths: AppPaths,
    store: FleetStore | None = None,
    clock: Clock | None = None,
    theme: str | None = None,
    refresh_hz: float = MAX_REFRESH_HZ,
    command_runner: CommandRunner | None = None,
) -> EdgeOpsApp:
    """The console on a store the caller fills (by default an empty one), without an engine: the snapshot tests'."""
    clock = clock or SystemClock()
    fleet = Fleet(inventory, store if store is not None else FleetStore(inventory, clock))
    return _fleet_console(StartMode.STORE, fleet, paths, clock, theme, refresh_hz, command_runner)


def problems_app(problems: Sequence[Problem], *, paths: AppPaths, theme: str | None = None) -> EdgeOpsApp:
    """The inventory-errors screen in place of the console; r exits with RELOAD_INVENTORY."""
    if not problems:
        raise ValueError("problems_app needs the problems that keep the inventory from loading")
    return EdgeOpsApp(ConsoleSettings(StartMode.PROBLEMS, paths, SystemClock(), theme=theme, problems=tuple(problems)))


def _fleet_console(
    mode: StartMode,
    fleet: Fleet,
    paths: AppPaths,
    clock: Clock | None,
    theme: str | None,
    refresh_hz: float,
    command_runner: CommandRunner | None,
) -> EdgeOpsApp:
    if not 0 < refresh_hz <= MAX_REFRESH_HZ:
        raise ValueError(f"refresh_hz must be in (0, {MAX_REFRESH_HZ}], got {refresh_hz}")
    settings = ConsoleSettings(
        mode,
        paths,
        clock or SystemClock(),
        theme=theme,
        refresh_hz=refresh_hz,
        fleet=fleet,
        command_runner=command_runner,
    )
    return EdgeOpsApp(settings)


def make_right_pane(app: EdgeOpsApp, key: str) -> Widget:
    """A right-hand pane, built (and imported) when the main screen is composed, after the first frame."""
    if key == "health":
        from edgeops.ui.panes.device_health import DeviceHealthPane

        return DeviceHealthPane()
    if key == "counters":
        from edgeops.ui.panes.interface_counters import InterfaceCountersPane

        return InterfaceCountersPane(clock=app.clock)
    if key == "runner":
        from edgeops.ui.panes.command_runner import CommandRunnerPane

        assert app.inventory is not None and app.command_runner is not None
        return CommandRunnerPane(app.command_runner, app.inventory, app.paths)
    raise KeyError(f"no right-hand pane {key!r}")
