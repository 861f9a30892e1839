"""The console in replay: a ReplayPlayer's store in place of the live one, moved on a timer, with the time bar, its
keys, the commands run then in the command runner, and L back to live."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, Label

from edgeops.fleet.store import FleetStore
from edgeops.ui.live import Selection
from edgeops.ui.replay.player import Moved, ReplayPlayer, parse_clock_time
from edgeops.ui.replay.time_bar import TimeBar, TimeBarState
from edgeops.ui.timeline.model import CommandMark, TimelineSubject, TimeRange
from edgeops.ui.timeline.recorded import RecordedTimeline
from edgeops.ui.timeline.sources import ReplayTimelineSource, TimelineSource

if TYPE_CHECKING:
    from textual.app import App, ComposeResult

log = logging.getLogger(__name__)

TICK_S = 0.25  # the replay moves (and the screen follows) four times a second, as the live refresh does
PIN_MOVE_S = 60.0  # the pin on the recording follows the replay a minute at a time (a file write)
COMMANDS_EVERY_S = 1.0  # replayed seconds between looks for the commands run then

# The keys of a replay, on the main screen and the timeline. Priority: space must pause the replay even where the
# focused pane uses it (the site map's expand); they are off when no replay runs and while typing in a field.
REPLAY_BINDINGS: list[BindingType] = [
    Binding("space", "replay('toggle')", "Play/pause", priority=True, tooltip="Pause or play the replay"),
    Binding("left_square_bracket", "replay('back')", "Step back", key_display="[", priority=True),
    Binding("right_square_bracket", "replay('forward')", "Step", key_display="]", priority=True),
    Binding("g", "replay('jump')", "Go to time", priority=True, tooltip="Jump to a time (HH:MM or HH:MM:SS)"),
    Binding("plus", "replay('faster')", "Faster", key_display="+", priority=True, show=False),
    Binding("minus", "replay('slower')", "Slower", key_display="-", priority=True, show=False),
    Binding("L", "replay('live')", "Live", priority=True, tooltip="Back to the live fleet (or the recording's end)"),
]
REPLAY_ACTIONS = ("toggle", "back", "forward", "jump", "faster", "slower", "live")


class JumpScreen(ModalScreen[str | None]):
    """Ask for the time to jump to (HH:MM or HH:MM:SS)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    JumpScreen { align: center middle; }
    JumpScreen > Label { width: 44; padding: 0 1; background: $panel; }
    JumpScreen > Input { width: 44; }
    """

    def __init__(self, hint: str) -> None:
        super().__init__()
        self._hint = hint

    def compose(self) -> ComposeResult:
        yield Label(self._hint, markup=False)
        yield Input(placeholder="HH:MM or HH:MM:SS", id="jump-time")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReplayController:
    """Runs a replay in a console: owns the player, swaps its store into the main screen, and moves it on a timer.

    `live_store` is the store to go back to with L (the engine's, when the replay was opened from a live console);
    without one (edgeops replay), L goes to the end of the recording and follows it as it grows.
    """

    def __init__(self, player: ReplayPlayer, *, live_store: FleetStore | None = None) -> None:
        self.player = player
        self.live_store = live_store
        self.active = False
        self.following = False  # at the recording's end, re-reading its span (no live store to go back to)
        self._app: App[Any] | None = None
        self._timer: Timer | None = None
        self._last_tick = 0.0
        self._shown_run: object = None
        self._commands_at: float | None = None  # the replayed time the runner's run was last looked up at
        self._pin: Any = None  # the recording's pin on what the replay (and a 24 h timeline) may show
        self._pin_since = 0.0

    # -- starting and stopping ----------------------------------------------------------------------------------

    def attach(self, app: App[Any]) -> None:
        """Start showing the replay in `app` (its main screen is up)."""
        self._app = app
        self.active = True
        self.player.focus_on(device_on_screen(app))
        self._install(self.player.store)
        self._last_tick = time.monotonic()
        self._timer = app.set_interval(TICK_S, self.tick, name="replay")
        pin = getattr(self.player.recording, "pin", None)
        if pin is not None:
            # Retention keeps what the replay shows, and the day before it that a timeline may ask for.
            self._pin_since = self._pinned_since()
            self._pin = pin(self._pin_since)
        self.show()

    def selected(self, selection: Selection) -> None:
        """The engineer looks at another device (or a site, or the fleet): the replay gives that device's counters."""
        self._moved(self.player.focus_on(selection.key if selection.kind == "device" else ""))

    def _pinned_since(self) -> float:
        return max(self.player.start, self.player.time - TimeRange.DAY.seconds)

    def detach(self) -> None:
        """Leave the replay: back to the live store (the caller has one)."""
        self.active = False
        if self._pin is not None:
            self._pin.release()
            self._pin = None
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.live_store is not None:
            self._install(self.live_store)
        for bar in self._time_bars():
            bar.show_state(TimeBarState(live=True, time=time.time()))

    def _install(self, store: FleetStore) -> None:
        app = self._app
        if app is None:
            return
        use_store: Callable[[FleetStore], None] | None = getattr(app, "use_store", None)
        if use_store is not None:
            use_store(store)

    def _time_bars(self) -> list[TimeBar]:
        """The time bars of every screen on the stack (the main screen's, a timeline's)."""
        app = self._app
        if app is None:
            return []
        return [bar for screen in app.screen_stack for bar in screen.query(TimeBar)]

    # -- the clock ------------------------------------------------------------------------------------------------

    def tick(self) -> None:
        now = time.monotonic()
        elapsed, self._last_tick = now - self._last_tick, now
        if self.following:
            self.player.refresh_span()
            self._moved(self.player.seek(self.player.end))
        else:
            self._moved(self.player.advance(elapsed))
        self.show()

    def _moved(self, moved: Moved) -> None:
        if moved.rebuilt:
            self._install(self.player.store)
        since = self._pinned_since()
        if self._pin is not None and abs(since - self._pin_since) >= PIN_MOVE_S:
            self._pin_since = since
            self._pin.move(since)

    def show(self) -> None:
        player = self.player
        state = TimeBarState(
            live=False, time=player.time, paused=player.paused, speed=player.speed, start=player.start, end=player.end
        )
        for bar in self._time_bars():
            bar.show_state(state)
        self._show_commands()

    def _show_commands(self) -> None:
        """The command runner shows the last run made at or before the replayed time (see replay_commands)."""
        app = self._app
        runner = getattr(app, "runner_pane", lambda: None)() if app is not None else None
        if runner is None:
            return
        from edgeops.ui.replay.commands import last_run_before

        when = self.player.time
        if self._commands_at is not None and abs(when - self._commands_at) < COMMANDS_EVERY_S:
            return
        self._commands_at = when
        run = last_run_before(self.player.recording, self.player.inventory, when)
        key = None if run is None else (run.command, run.started)
        if key == self._shown_run:
            return
        self._shown_run = key
        if run is not None:
            runner.last_run = run
            runner.results_view.show_run(run)

    # -- keys -----------------------------------------------------------------------------------------------------

    def act(self, what: str) -> None:
        player = self.player
        self.following = False
        if what == "toggle":
            player.toggle()
            self._last_tick = time.monotonic()
        elif what == "back":
            self._moved(player.step(-1))
        elif what == "forward":
            self._moved(player.step(1))
        elif what == "faster":
            player.faster()
        elif what == "slower":
            player.slower()
        elif what == "jump":
            self._ask_time()
        elif what == "live":
            self.back_to_live()
            return
        self.show()

    def seek(self, when: float) -> None:
        self._moved(self.player.seek(when))
        self.show()

    def back_to_live(self) -> None:
        if self.live_store is not None:
            self.detach()
            return
        # Nothing live to go back to: the newest the recording holds, followed as it grows.
        self.following = True
        self.player.paused = True
        self.player.refresh_span()
        self._moved(self.player.seek(self.player.end))
        self.show()

    def _ask_time(self) -> None:
        app = self._app
        if app is None:
            return
        player = self.player
        from edgeops.ui.timeline.model import clock_text

        hint = f"Go to a time between {clock_text(player.start, None)} and {clock_text(player.end, None)}"

        def answered(text: str | None) -> None:
            if not text:
                return
            try:
                when = parse_clock_time(text, player.start, player.end)
            except ValueError as error:
                app.notify(str(error), severity="warning", markup=False)
                return
            self.seek(when)

        app.push_screen(JumpScreen(hint), answered)

    def timeline_source(self, subject: TimelineSubject) -> TimelineSource:
        """The timeline of a subject in the replay: the recording of its device, up to the replayed time."""
        player = self.player
        timeline = RecordedTimeline(player.recording, player.inventory, subject)
        return ReplayTimelineSource(timeline, lambda: player.time, recorded_command_marks(player.recording, subject))


def device_on_screen(app: App[Any]) -> str:
    """The device the console shows ("" when a site or the fleet is selected): the one a replay decodes counters
    for."""
    selection = getattr(app, "selection", None)
    return selection.key if isinstance(selection, Selection) and selection.kind == "device" else ""


def replay_key_allowed(app: App[Any], action: str, parameters: tuple[object, ...]) -> bool:
    """Whether a replay key works now: a replay runs and no text field has the focus."""
    if action != "replay":
        return True
    replay = getattr(app, "replay", None)
    if replay is None or not replay.active:
        return False
    return not isinstance(app.focused, Input)


def recorded_command_marks(recording: Any, subject: TimelineSubject) -> list[CommandMark]:
    """The commands a recording holds for the subject's device (none when it keeps no commands)."""
    commands = getattr(recording, "commands", None)
    if commands is None:
        return []
    start, end = recording.span()
    marks = []
    for event in commands(start, end):
        if event.device == subject.device:
            status = "ok" if event.ok else (event.failure or "failed")
            marks.append(CommandMark(event.started, event.device, event.command, str(status)))
    return marks
