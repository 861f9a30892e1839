"""The live subscription view: every subscription group of a device (or of a site's devices, or the fleet's), its
paths, mode, interval, state, how fresh its data is, and the device's own words when it refused the group."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import VerticalScroll
from textual.content import Content
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Static

from edgeops.devices.subscriptions import GROUP_ORDER, SubscriptionState
from edgeops.fleet.store import FleetStore, SubscriptionStatus
from edgeops.naming import natural_key
from edgeops.ui.format import MISSING, format_age, format_duration
from edgeops.ui.live import Selection
from edgeops.ui.sanitize import markup_literal, safe_content, safe_plain
from edgeops.ui.widgets.line_table import Cell, Column, LineTable, Tone

if TYPE_CHECKING:
    from edgeops.devices.supervisor import RestartOutcome

AGES_EVERY_S = 1.0  # data ages are shown in whole seconds: every row is redrawn at most this often for them

STATE_TEXT: dict[SubscriptionState, str] = {
    SubscriptionState.PENDING: "pending",
    SubscriptionState.LIVE: "live",
    SubscriptionState.STALE: "stale",
    SubscriptionState.REJECTED: "rejected",
    SubscriptionState.POLLED: "polled (SSH)",
    SubscriptionState.DOWN: "down",
    SubscriptionState.NO_PATHS: "no paths",
}
STATE_TONE: dict[SubscriptionState, Tone] = {
    SubscriptionState.PENDING: "dim",
    SubscriptionState.LIVE: "good",
    SubscriptionState.STALE: "warn",
    SubscriptionState.REJECTED: "bad",
    SubscriptionState.POLLED: "warn",
    SubscriptionState.DOWN: "bad",
    SubscriptionState.NO_PATHS: "dim",
}
# Worst first when sorted by state.
_STATE_RANK = {
    state: rank
    for rank, state in enumerate(
        (
            SubscriptionState.REJECTED,
            SubscriptionState.DOWN,
            SubscriptionState.STALE,
            SubscriptionState.POLLED,
            SubscriptionState.PENDING,
            SubscriptionState.LIVE,
            SubscriptionState.NO_PATHS,
        )
    )
}
_TONE_STYLE: dict[Tone, str] = {
    "": "",
    "good": "$success",
    "warn": "$warning",
    "bad": "bold $error",
    "dim": "$foreground-muted",
    "accent": "$accent",
}

COLUMNS = (
    Column("device", "Device", 14),
    Column("group", "Group", 10),
    Column("state", "State", 12),
    Column("mode", "Mode", 14, priority=2),
    Column("interval", "Every", 6, align="right", priority=2),
    Column("data", "Data", 8, align="right"),
    Column("paths", "Paths", 5, align="right", priority=3),
    Column("error", "Device error", 20, flex=True, priority=1),
)

RowKey = tuple[str, str]  # (device, group)


class SubscriptionControl(Protocol):
    """What the screen asks of the engine (edgeops.fleet.engine.FleetEngine): make group calls again."""

    def restart_subscriptions(self, device: str, group: str | None = None) -> RestartOutcome: ...


def _group_rank(group: str) -> int:
    return GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER)


def group_row(status: SubscriptionStatus) -> tuple[list[Cell], tuple[object, ...]]:
    """One group as a table row (cells and sort values); the device's error text on one line, sanitised."""
    state = status.state
    stale = state is SubscriptionState.STALE
    interval = format_duration(status.interval_s) if status.interval_s else MISSING
    error = " ".join(safe_plain(status.error).split())
    cells = [
        Cell(safe_plain(status.device)),
        Cell(status.group),
        Cell(STATE_TEXT[state], STATE_TONE[state]),
        Cell(status.mode, "dim"),
        Cell(interval),
        Cell(format_age(status.age_s) if status.age_s is not None else MISSING, "warn" if stale else ""),
        Cell(str(len(status.paths))),
        Cell(error or "", "bad" if state is SubscriptionState.REJECTED else "dim"),
    ]
    sort_values = (
        (natural_key(status.device), _group_rank(status.group)),
        (_group_rank(status.group), natural_key(status.device)),
        (_STATE_RANK.get(state, len(_STATE_RANK)), natural_key(status.device), _group_rank(status.group)),
        status.mode,
        status.interval_s,
        status.age_s,
        len(status.paths),
        error.casefold(),
    )
    return cells, sort_values


def detail_content(status: SubscriptionStatus | None, now: float) -> Content:
    """Everything about one group: its state and since when, its paths one per line, and the device's words."""
    if status is None:
        return Content("No subscription groups yet: the device has not been connected over gNMI or polled.")
    state = status.state
    parts: list[str | tuple[str, str]] = [
        (safe_plain(status.device), "bold"),
        f" · {status.group} · ",
        (STATE_TEXT[state], _TONE_STYLE[STATE_TONE[state]]),
    ]
    if status.since is not None:
        parts.append(f" for {format_duration(max(0.0, now - status.since))}")
    every = f" every {format_duration(status.interval_s)}" if status.interval_s else ""
    parts.append(f" · {status.mode}{every}")
    if status.release:
        parts.append(f" · {safe_plain(status.release)}")
    parts.append("\n")
    if status.paths:
        for path in status.paths:
            parts += ["  ", (safe_plain(path), "$accent"), "\n"]
    else:
        parts.append(("  nothing to subscribe to on this platform (derived from other data)\n", "$foreground-muted"))
    rejection = status.rejection
    if rejection is not None:
        code = f" ({rejection.code})" if rejection.code else ""
        release = safe_plain(rejection.release) or "its release"
        parts += [("Refused by the device", "bold $error"), f"{code} under {release}:\n  "]
        parts.append(safe_plain(rejection.text).replace("\n", "\n  "))
        if state is SubscriptionState.POLLED:
            hint = "\nPolled over SSH meanwhile; asked for again on the next connect (or press r)."
            parts.append((hint, "$foreground-muted"))
    return Content.assemble(*parts)


class SubscriptionsScreen(Screen[None]):
    """The subscription groups of a device, a site's devices or the whole fleet, fed from the store on the app's
    refresh tick (`store_tick`). r makes the highlighted group's Subscribe call again, R all of that device's,
    without reconnecting the device."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "restart_group", "Restart group", tooltip="Make this group's Subscribe call again"),
        Binding("R", "restart_device", "Restart all groups", tooltip="Make all of this device's calls again"),
        Binding("s", "cycle_sort", "Sort column"),
        Binding("escape,q", "close", "Back"),
    ]

    DEFAULT_CSS = """
    SubscriptionsScreen #subs-title {
        height: 1;
        padding: 0 1;
        background: $primary-background;
        text-style: bold;
    }
    SubscriptionsScreen #subs-table {
        height: 1fr;
    }
    SubscriptionsScreen #subs-detail-box {
        height: auto;
        max-height: 40%;
        border-top: solid $primary;
        padding: 0 1;
    }
    """

    def __init__(
        self,
        store: FleetStore,
        selection: Selection,
        *,
        control: SubscriptionControl | None = None,
        now: Any = time.time,
    ) -> None:
        super().__init__()
        self.store = store
        self.selection = selection
        self.control = control
        self._now = now  # the wall clock the "for N s" of a state is measured with (the app's clock)
        self._version = 0
        self._ages_shown = 0.0
        self._detail_shown: Content | None = None
        self.ready = False  # filled once: the refresh tick feeds it from then on

    # -- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="subs-title")
        yield LineTable(COLUMNS, id="subs-table")
        with VerticalScroll(id="subs-detail-box"):
            yield Static(id="subs-detail")
        yield Footer()

    @property
    def table(self) -> LineTable:
        return self.query_one("#subs-table", LineTable)

    def on_mount(self) -> None:
        self.table.focus()
        # Once every widget is in place (the detail box's own children mount after the screen does).
        self.call_after_refresh(self._first_fill)

    def _first_fill(self) -> None:
        self._version = self.store.version
        self._ages_shown = time.monotonic()
        self.refresh_rows(self.devices())
        self.ready = True

    def _title(self) -> Content:
        selection = self.selection
        if selection.kind == "device":
            scope = safe_plain(selection.key)
        elif selection.kind == "site":
            scope = f"site {safe_plain(selection.key)} ({len(self.devices())} devices)"
        else:
            scope = f"the fleet ({len(self.devices())} devices)"
        return Content(f"Subscriptions: {scope}")

    def devices(self) -> tuple[str, ...]:
        """The devices in the screen's scope, in inventory order."""
        selection, store = self.selection, self.store
        if selection.kind == "device":
            return (selection.key,) if selection.key in store.device_names() else ()
        if selection.kind == "site":
            return store.device_names(selection.key) if selection.key in store.site_codes() else ()
        return store.device_names()

    # -- feeding ----------------------------------------------------------------------------------

    def store_tick(self, store: FleetStore) -> None:
        """The app's refresh tick: redraw the rows of the devices whose groups changed, and every row's data age
        once a second."""
        if not self.ready:
            return
        changes = store.changes_since(self._version)
        self._version = changes.version
        now = time.monotonic()
        if now - self._ages_shown >= AGES_EVERY_S:
            self._ages_shown = now
            self.refresh_rows(self.devices())
        elif not changes.empty:
            scope = self.devices()
            changed = scope if changes.full else tuple(name for name in scope if name in changes.devices)
            if changed:
                self.refresh_rows(changed)

    def refresh_rows(self, devices: Iterable[str]) -> None:
        table = self.table
        wanted = set(devices)
        shown: set[RowKey] = set()
        with self.app.batch_update(), table.batch_rows():
            for name in wanted:
                for status in self.store.subscriptions(name):
                    cells, sort_values = group_row(status)
                    table.upsert((name, status.group), cells, sort_values=sort_values, data=status)
                    shown.add((name, status.group))
            # Groups a device no longer declares (its platform's map changed on a reconnect) go away.
            current = table.keys()
            for key in current:
                if isinstance(key, tuple) and key[0] in wanted and key not in shown:
                    table.remove_row(key)
        self._show_detail()

    def _show_detail(self) -> None:
        key = self._highlighted()
        status: SubscriptionStatus | None = None
        if key is not None:
            with contextlib.suppress(KeyError):  # the group went away with a reconnect
                status = self.store.subscription(*key)
        content = detail_content(status, self._now())
        if self._detail_shown is not None and self._detail_shown.is_same(content):
            return
        self._detail_shown = content
        self.query_one("#subs-detail", Static).update(content)

    def on_line_table_highlighted(self, event: LineTable.Highlighted) -> None:
        event.stop()
        self._show_detail()

    # -- keys -------------------------------------------------------------------------------------

    def _highlighted(self) -> RowKey | None:
        key = self.table.cursor_key
        if isinstance(key, tuple) and len(key) == 2:
            return str(key[0]), str(key[1])
        return None

    def action_restart_group(self) -> None:
        key = self._highlighted()
        if key is not None:
            self._restart(key[0], key[1])

    def action_restart_device(self) -> None:
        key = self._highlighted()
        if key is not None:
            self._restart(key[0], None)

    def _restart(self, device: str, group: str | None) -> None:
        from edgeops.devices.supervisor import RestartOutcome

        what = f"{group} of {device}" if group else f"every group of {device}"
        if self.control is None:
            message = f"Cannot restart {what}: the console is not connected to the fleet"
            self.notify(message, severity="warning", markup=False)
            return
        outcome = self.control.restart_subscriptions(device, group)
        messages: dict[RestartOutcome, tuple[str, SeverityLevel]] = {
            RestartOutcome.RESTARTING: (f"Subscribing again: {what} (the device stays connected)", "information"),
            RestartOutcome.RETRYING_GNMI: (f"{device} is polled over SSH: trying gNMI again now", "information"),
            RestartOutcome.NO_SESSION: (f"{device} has no gNMI session to subscribe on right now", "warning"),
            RestartOutcome.NOT_SUBSCRIBED: (f"{device} has no {group} subscription to restart", "warning"),
        }
        message, severity = messages[outcome]
        self.notify(message, severity=severity, markup=False)

    def action_cycle_sort(self) -> None:
        self.table.cycle_sort()

    def action_close(self) -> None:
        self.dismiss(None)


class SubscriptionsProvider(Provider):
    """The command palette's way to the subscription view: of the current selection, or of any device."""

    def _commands(self) -> list[tuple[str, Selection, str]]:
        app = self.app
        if not getattr(app, "has_fleet", False):
            return []
        selection: Selection = getattr(app, "selection", Selection("fleet"))
        where = "the fleet" if selection.kind == "fleet" else f"{selection.kind} {safe_plain(selection.key)}"
        commands = [("Subscriptions: gNMI groups of the selection", selection, f"of {where} (key t in device health)")]
        store: FleetStore = app.store  # type: ignore[attr-defined]
        commands += [
            (f"Subscriptions of {safe_plain(name)}", Selection("device", name), "gNMI subscription groups")
            for name in store.device_names()
        ]
        return commands

    def _open(self, selection: Selection) -> None:
        opener = getattr(self.app, "open_subscriptions", None)
        if opener is not None:
            opener(selection)

    async def discover(self) -> Hits:
        for label, selection, help_text in self._commands()[:1]:
            yield DiscoveryHit(safe_content(label), partial(self._open, selection), help=markup_literal(help_text))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, selection, help_text in self._commands():
            score = matcher.match(label)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(label),
                    partial(self._open, selection),
                    text=label,
                    help=markup_literal(help_text),
                )
