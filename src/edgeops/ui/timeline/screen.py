"""The timeline screen: one time axis for a port (traffic, errors, discards, oper state, alarms, commands) or for a
device (CPU, memory, temperatures, alarms, commands), live or in replay, with a cursor and "copy as text"."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from edgeops.ui.clipboard import ClipboardTooLarge, copy_to_clipboard, tmux_hint
from edgeops.ui.replay.controller import REPLAY_BINDINGS, replay_key_allowed
from edgeops.ui.replay.time_bar import TimeBar
from edgeops.ui.sanitize import safe_plain
from edgeops.ui.timeline.model import CommandMark, Timeline, TimelineSubject, TimeRange, clock_text, timeline_text
from edgeops.ui.timeline.plot import GUTTER, format_value, render_timeline, time_of_column
from edgeops.ui.timeline.recorded import LongRangeTimeline
from edgeops.ui.timeline.sources import LiveTimelineSource, TimelineSource, audit_command_marks

if TYPE_CHECKING:
    from edgeops.ui.app import EdgeOpsApp

REFRESH_EVERY_S = 1.0

log = logging.getLogger(__name__)

_STYLE_NAMES = ("in", "out", "series", "bad", "good", "warn", "dim", "accent", "cursor", "label")


class TimelineView(Widget):
    """Draws a Timeline at the widget's size (see plot.render_timeline); `cursor` is a plot column or None."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"timeline--{name}" for name in _STYLE_NAMES}

    DEFAULT_CSS = """
    TimelineView {
        height: 1fr;
        padding: 0 1;
        .timeline--in { color: $accent; }
        .timeline--out { color: $secondary; }
        .timeline--series { color: $primary; }
        .timeline--bad { color: $error; text-style: bold; }
        .timeline--good { color: $success; }
        .timeline--warn { color: $warning; text-style: bold; }
        .timeline--dim { color: $foreground-muted; }
        .timeline--accent { color: $accent; }
        .timeline--cursor { background: $foreground 30%; }
        .timeline--label { text-style: bold; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.timeline: Timeline | None = None
        self.cursor: int | None = None

    @property
    def plot_columns(self) -> int:
        width = self.content_region.width or 80
        return max(10, width - GUTTER)

    def show(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.refresh()

    def styles_by_name(self) -> dict[str, Style]:
        return {name: self.get_component_rich_style(f"timeline--{name}") for name in _STYLE_NAMES}

    def render(self) -> Text:
        timeline = self.timeline
        if timeline is None:
            return Text("")
        region = self.content_region
        lines = render_timeline(timeline, region.width, region.height, self.styles_by_name(), cursor=self.cursor)
        return Text("\n").join(lines)


class TimelineScreen(Screen[None]):
    """A subject's timeline over 10 min, 1 h or 24 h, ending now (live) or at the replayed time.

    ← and → move a cursor through time (its values and the events up to it are shown); End lets it go.
    """

    HELP_TITLE = "Timeline"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "range('TEN_MINUTES')", "10 min", tooltip="Show the last 10 minutes"),
        Binding("h", "range('HOUR')", "1 h", tooltip="Show the last hour"),
        Binding("d", "range('DAY')", "24 h", tooltip="Show the last 24 hours"),
        Binding("left", "move_cursor(-1)", "Earlier", show=False),
        Binding("right", "move_cursor(1)", "Later", show=False),
        Binding("shift+left", "move_cursor(-10)", "Much earlier", show=False),
        Binding("shift+right", "move_cursor(10)", "Much later", show=False),
        Binding("home", "cursor_start", "Cursor to the start", show=False),
        Binding("end", "cursor_off", "Cursor off", show=False),
        Binding("c", "copy", "Copy as text", tooltip="Copy the visible series and events to the clipboard (OSC 52)"),
        Binding("escape", "close", "Back"),
        *REPLAY_BINDINGS,
    ]

    DEFAULT_CSS = """
    TimelineScreen #timeline-title {
        height: 1;
        padding: 0 1;
        background: $primary-background;
        text-style: bold;
    }
    TimelineScreen #timeline-cursor {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    """

    def __init__(self, source: TimelineSource, subject: TimelineSubject, *, audit_log: Any = None) -> None:
        super().__init__()
        self.source = source
        self.subject = subject
        self.time_range = TimeRange.TEN_MINUTES
        self._audit_log = audit_log
        self.timeline: Timeline | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="timeline-title")
        yield Static(id="timeline-cursor")
        yield TimelineView(id="timeline-view")
        yield TimeBar(id="timeline-time-bar")
        yield Footer()

    @property
    def view(self) -> TimelineView:
        return self.query_one("#timeline-view", TimelineView)

    def on_mount(self) -> None:
        replay = getattr(self.app, "replay", None)
        if replay is not None and replay.active:
            replay.show()  # the time bar of this screen too
        self.refresh_data()
        self.set_interval(REFRESH_EVERY_S, self.refresh_data, name="timeline")
        if self._audit_log is not None and isinstance(self.source, LiveTimelineSource):
            self.run_worker(
                lambda: audit_command_marks(self._audit_log, self.subject.device),
                name="timeline-commands",
                group="timeline-commands",
                thread=True,
                exit_on_error=False,
            )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "timeline-commands" or event.state != WorkerState.SUCCESS:
            return
        if isinstance(self.source, LiveTimelineSource) and isinstance(worker.result, list):
            commands: list[CommandMark] = worker.result
            self.source.set_commands(commands)
            self.refresh_data()

    def refresh_data(self) -> None:
        """Look at the source again and redraw (once a second, and after every key that changes what is shown)."""
        self.source.observe()
        self.timeline = self.source.timeline(self.source.now(), self.time_range)
        self.view.show(self.timeline)
        self._show_title()
        self._show_cursor()

    def _show_title(self) -> None:
        timeline = self.timeline
        if timeline is None:
            return
        mode = "LIVE" if self.source.name == "live" else "REPLAY"
        kind = "port" if self.subject.port is not None else "device"
        text = Text(f"{mode} · {kind} {safe_plain(self.subject.title)} · {self.time_range.label} to ")
        text.append(clock_text(timeline.until, None))
        self.query_one("#timeline-title", Static).update(text)

    def _show_cursor(self) -> None:
        timeline, view = self.timeline, self.view
        label = self.query_one("#timeline-cursor", Static)
        if timeline is None or view.cursor is None:
            label.update(Text("← → move a cursor through time"))
            return
        columns = view.plot_columns
        when = time_of_column(view.cursor, timeline, columns)
        tolerance = timeline.span / columns
        parts = [clock_text(when, None)]
        for series in timeline.series:
            value = series.value_at(when, tolerance)
            parts.append(f"{safe_plain(series.label)} {format_value(value, series.unit)}")
        if self.subject.port is not None and (timeline.oper_at_start is not None or timeline.down_spans()):
            down = any(start <= when < end for start, end in timeline.down_spans())
            parts.append("port down" if down else "port up")
        if any(start <= when < end for start, end in timeline.alarm_spans()):
            parts.append("alarm active")
        label.update(Text(" · ".join(parts)))

    # -- keys -------------------------------------------------------------------------------------------------

    def action_range(self, name: str) -> None:
        self.time_range = TimeRange[name]
        self.refresh_data()

    def action_move_cursor(self, step: int) -> None:
        view = self.view
        columns = view.plot_columns
        # The first arrow puts the cursor on the newest column; from there it moves.
        view.cursor = columns - 1 if view.cursor is None else max(0, min(columns - 1, view.cursor + step))
        view.refresh()
        self._show_cursor()

    def action_cursor_start(self) -> None:
        self.view.cursor = 0
        self.view.refresh()
        self._show_cursor()

    def action_cursor_off(self) -> None:
        self.view.cursor = None
        self.view.refresh()
        self._show_cursor()

    def action_copy(self) -> None:
        timeline = self.timeline
        if timeline is None:
            return
        try:
            size = copy_to_clipboard(self.app, timeline_text(timeline))
        except ClipboardTooLarge as error:
            self.notify(str(error), severity="warning", markup=False)
            return
        hint = tmux_hint()
        self.notify(
            f"copied {size} bytes: the {self.time_range.label} timeline of {safe_plain(self.subject.title)}"
            + (f" ({hint})" if hint else ""),
            timeout=3,
            markup=False,
        )

    def action_close(self) -> None:
        self.dismiss()

    def on_unmount(self) -> None:
        close = getattr(self.source, "close", None)
        if close is not None:
            close()

    def action_replay(self, what: str) -> None:
        replay = getattr(self.app, "replay", None)
        if replay is not None:
            replay.act(what)
            self.refresh_data()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return replay_key_allowed(self.app, action, parameters)


def open_timeline(app: EdgeOpsApp, subject: TimelineSubject) -> None:
    """Show the timeline of a port or a device: from the replay when one runs, else live."""
    replay = getattr(app, "replay", None)
    source: TimelineSource
    if replay is not None and replay.active:
        source = replay.timeline_source(subject)
        audit_log = None
    else:
        source = LiveTimelineSource(subject, lambda: app.store, app.clock, recorded=_own_recording(app, subject))
        audit_log = app.paths.audit_log
    if isinstance(app.screen, TimelineScreen):
        app.pop_screen()
    app.push_screen(TimelineScreen(source, subject, audit_log=audit_log))


def _own_recording(app: EdgeOpsApp, subject: TimelineSubject) -> LongRangeTimeline | None:
    """The hour and the day of a live timeline, from the recording this console writes (None: it does not)."""
    from edgeops.recording.reader import Recording
    from edgeops.recording.schema import RecordingError
    from edgeops.ui.replay.palette import recording_path

    path = recording_path(app)
    inventory = app.inventory
    if path is None or inventory is None or not path.exists():
        return None
    try:
        recording = Recording.open(path)
    except RecordingError as error:
        log.warning("the timeline cannot read the recording %s: %s", path, error)
        return None
    return LongRangeTimeline(recording, inventory, subject)
