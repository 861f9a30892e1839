"""The status bar: fleet counts, alarms by severity, jump hosts, telemetry age and SSH-polled devices, on one line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from edgeops.fleet.store import ChangeSet, FleetRollup, FleetStore
from edgeops.ui.format import format_age_coarse
from edgeops.ui.sanitize import safe_plain

# Telemetry older than this is shown as a warning: the fleet may be silently stale.
AGE_WARNING_S = 10.0
NO_DATA_YET = "none yet"  # the telemetry age before any device has sent any


@dataclass(frozen=True)
class StatusFigures:
    """Everything the bar shows; the bar repaints only when these change."""

    up: int = 0
    degraded: int = 0
    down: int = 0
    stale: int = 0
    connecting: int = 0
    problems: int = 0
    critical: int = 0
    major: int = 0
    minor: int = 0
    warning: int = 0
    jumps: tuple[tuple[str, str], ...] = ()
    age: str = NO_DATA_YET
    age_warning: bool = False
    via_ssh: int = 0
    total: int = 0

    @classmethod
    def of(cls, rollup: FleetRollup, jumps: Mapping[str, str], via_ssh: int) -> StatusFigures:
        age = rollup.latest_age_s
        return cls(
            up=rollup.up,
            degraded=rollup.degraded,
            down=rollup.down,
            stale=rollup.stale,
            connecting=rollup.connecting,
            problems=rollup.problems,
            critical=rollup.alarms.critical,
            major=rollup.alarms.major,
            minor=rollup.alarms.minor,
            warning=rollup.alarms.warning,
            jumps=tuple((safe_plain(name), safe_plain(str(state))) for name, state in jumps.items()),
            age=NO_DATA_YET if age is None else format_age_coarse(age),
            age_warning=age is not None and age >= AGE_WARNING_S,
            via_ssh=via_ssh,
            total=rollup.total,
        )


class StatusBar(Widget):
    """One line above the footer. The app feeds it on its refresh tick; it repaints only when a figure changed."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "status-bar--up",
        "status-bar--degraded",
        "status-bar--down",
        "status-bar--stale",
        "status-bar--problem",
        "status-bar--dim",
        "status-bar--separator",
    }

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        width: 1fr;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    StatusBar > .status-bar--up { color: $status-up; }
    StatusBar > .status-bar--degraded { color: $status-degraded; }
    StatusBar > .status-bar--down { color: $status-down; text-style: bold; }
    StatusBar > .status-bar--stale { color: $status-stale; }
    StatusBar > .status-bar--problem { color: $status-problem; text-style: bold; }
    StatusBar > .status-bar--dim { color: $foreground-muted; }
    StatusBar > .status-bar--separator { color: $foreground-muted; }
    """

    def __init__(
        self,
        *,
        readonly: bool = False,
        scope: tuple[str, str] = ("", ""),
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.readonly = readonly  # the session cannot lift the guard: shown first, always
        # The devices the session holds when not all (--site, --target): long and narrow forms, plain text.
        self.scope = (safe_plain(scope[0]), safe_plain(scope[1]))
        self._figures = StatusFigures()
        self._via_ssh: set[str] = set()

    @property
    def figures(self) -> StatusFigures:
        return self._figures

    def track_changes(self, store: FleetStore, changes: ChangeSet) -> None:
        """Keep the count of devices whose telemetry is polled over SSH current (only changed devices are read)."""
        for name in changes.devices:
            if store.device(name).telemetry_source == "ssh":
                self._via_ssh.add(name)
            else:
                self._via_ssh.discard(name)

    def show(self, store: FleetStore, jumps: Mapping[str, str]) -> None:
        figures = StatusFigures.of(store.fleet_rollup(), jumps, len(self._via_ssh))
        if figures != self._figures:
            self._figures = figures
            self.refresh()

    def render(self) -> Text:
        # The long words when they fit, the short ones when they do not.
        text = self._line(compact=False)
        if text.cell_len > self.content_region.width:
            text = self._line(compact=True)
        return text

    def _line(self, *, compact: bool) -> Text:
        figures = self._figures
        style = self.get_component_rich_style
        dim = style("status-bar--dim")
        text = Text(no_wrap=True, overflow="ellipsis")

        def separator() -> None:
            text.append("│" if compact else " │ ", style("status-bar--separator"))

        if self.readonly:
            text.append("READ-ONLY", style("status-bar--problem"))
            separator()
        scope = self.scope[1 if compact else 0]
        if scope:  # the counts that follow are of these devices only
            text.append(scope, style("status-bar--degraded"))
            separator()

        # Devices: the four the engineer always looks for keep their place; the rarer two appear when present.
        states = (
            (figures.up, "up", "up", "status-bar--up", True),
            (figures.degraded, "degraded", "degr", "status-bar--degraded", True),
            (figures.down, "down", "down", "status-bar--down", True),
            (figures.stale, "stale", "stale", "status-bar--stale", True),
            (figures.problems, "auth/hkey", "auth", "status-bar--problem", False),
            (figures.connecting, "connecting", "conn", "status-bar--dim", False),
        )
        first = True
        for value, word, short, component, always in states:
            if not value and not always:
                continue
            if not first:
                text.append(" " if compact else "  ")
            first = False
            text.append(f"{value} {short if compact else word}", style(component) if value else dim)
        separator()
        text.append("▲" if compact else "▲ ", dim)
        alarms = (
            (figures.critical, "crit", "C", "status-bar--down"),
            (figures.major, "major", "M", "status-bar--down"),
            (figures.minor, "minor", "m", "status-bar--degraded"),
            (figures.warning, "warn", "w", "status-bar--degraded"),
        )
        for index, (value, word, short, component) in enumerate(alarms):
            if index:
                text.append(" ")
            text.append(f"{value}{short}" if compact else f"{value} {word}", style(component) if value else dim)
        separator()
        if not figures.jumps:
            text.append("direct" if compact else "jump: none", dim)
        else:
            text.append("" if compact else "jump: ", dim)
            for index, (name, state) in enumerate(figures.jumps):
                if index:
                    text.append(" ")
                text.append(f"{name} ")
                text.append(state, style(_JUMP_COMPONENT.get(state, "status-bar--down")))
        separator()
        text.append("" if compact else "data ", dim)
        text.append(figures.age, style("status-bar--degraded") if figures.age_warning else Style())
        if figures.via_ssh or not compact:
            separator()
            text.append(f"{figures.via_ssh} via SSH", Style() if figures.via_ssh else dim)
        return text


_JUMP_COMPONENT = {
    "up": "status-bar--up",
    "connecting": "status-bar--dim",
    "idle": "status-bar--dim",
    "auth-failed": "status-bar--problem",
    "hostkey-mismatch": "status-bar--problem",
}
