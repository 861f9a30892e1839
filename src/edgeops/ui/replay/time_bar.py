"""The time bar: whether the console shows the fleet live or replayed, the time it shows, the replay speed, and where
that time sits in the recording."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from rich.text import Text
from textual.widgets import Static

from edgeops.ui.timeline.model import clock_text


@dataclass(frozen=True, slots=True)
class TimeBarState:
    """What the time bar shows. `start` and `end` are the recording's span (replay only)."""

    live: bool
    time: float
    paused: bool = False
    speed: int = 1
    start: float = 0.0
    end: float = 0.0


REPLAY_HINTS = "space play · [ ] step · g time · +/- speed · L live"
MAX_TRACK = 30


def time_bar_text(state: TimeBarState, width: int, tz: tzinfo | None = None) -> Text:
    """One line: `● LIVE 03:20:11`, or `REPLAY ‖ 03:05:12 x10  02:58 ├───●────┤ 03:20` fitted to `width`, with
    the replay keys after it when there is room. (‖ paused, ► playing: narrow glyphs in every terminal font.)"""
    if state.live:
        text = Text("● LIVE ", style="bold")
        text.append(clock_text(state.time, tz))
        return text
    text = Text("REPLAY", style="bold reverse")
    text.append(" ‖ " if state.paused else " ► ", style="bold")
    text.append(clock_text(state.time, tz), style="bold")
    text.append(f" x{state.speed}")
    first, last = clock_text(state.start, tz, seconds=False), clock_text(state.end, tz, seconds=False)
    room = width - text.cell_len - len(first) - len(last) - 4
    hints = room - MAX_TRACK >= len(REPLAY_HINTS) + 2
    room = min(room, MAX_TRACK)
    if room >= 5:
        text.append(f"  {first} ")
        span = state.end - state.start
        where = 0 if span <= 0 else round((state.time - state.start) / span * (room - 3))
        track = ["─"] * (room - 2)
        track[min(max(where, 0), len(track) - 1)] = "●"
        text.append("├" + "".join(track) + "┤", style="dim")
        text.append(f" {last}")
    if hints:
        text.append("  " + REPLAY_HINTS, style="dim")
    return text


class TimeBar(Static):
    """One line above the status bar, shown while the console replays a recording (hidden live)."""

    DEFAULT_CSS = """
    TimeBar {
        height: 1;
        padding: 0 1;
        background: $warning 30%;
        display: none;
    }
    TimeBar.-replay { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.state: TimeBarState | None = None
        self.tz: tzinfo | None = None

    def show_state(self, state: TimeBarState) -> None:
        self.state = state
        self.set_class(not state.live, "-replay")
        self.update(time_bar_text(state, max(20, self.content_region.width or 78), self.tz))

    def on_resize(self) -> None:
        if self.state is not None:
            self.show_state(self.state)
