"""The interface counters pane: the selected device's ports with live rates, sortable and filterable."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Self

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Static

from edgeops.clock import Clock, SystemClock
from edgeops.fleet.store import ChangeSet, FleetStore, InterfaceSnapshot
from edgeops.naming import natural_key
from edgeops.ui.format import (
    MISSING,
    format_bps,
    format_count_rate,
    format_duration,
    format_percent,
    format_pps,
    format_speed,
    sparkline,
)
from edgeops.ui.live import Selection
from edgeops.ui.sanitize import safe_plain
from edgeops.ui.widgets.line_table import Cell, Column, LineTable, Row, Tone

SPARKLINE_WIDTH = 8
# History buckets per sparkline cell: at the store's default 2 s resolution, 8 cells cover about two minutes
# and a cell moves on every 16 s, which keeps the column calm.
SPARKLINE_BUCKETS_PER_CELL = 8
# Ages of the last oper-state change drift while a port's data stands still; look at them again this often.
AGE_SWEEP_S = 5.0
UTIL_WARN_PCT = 70.0
UTIL_BAD_PCT = 90.0

# Priorities say what goes first when the pane is narrow (0: always shown): at 72 columns the name, state,
# bit rates, utilisation, errors and the sparkline stay.
COLUMNS = (
    Column("name", "Interface", 13),
    Column("description", "Description", 8, flex=True, priority=2),
    Column("admin", "Adm", 3, priority=5),
    Column("oper", "Oper", 4),
    Column("speed", "Speed", 5, align="right", descending_first=True, priority=4),
    Column("in_bps", "In b/s", 9, align="right", descending_first=True),
    Column("out_bps", "Out b/s", 9, align="right", descending_first=True),
    Column("in_pps", "In pps", 9, align="right", descending_first=True, priority=3),
    Column("out_pps", "Out pps", 9, align="right", descending_first=True, priority=3),
    Column("util", "Util", 6, align="right", descending_first=True, priority=1),
    Column("errors", "Err/s", 5, align="right", descending_first=True, priority=1),
    Column("discards", "Disc/s", 6, align="right", descending_first=True, priority=3),
    Column("last_change", "Changed", 8, align="right", priority=4),
    Column("traffic", "Traffic", SPARKLINE_WIDTH, sortable=False, priority=1),
)


def _sum(a: float | None, b: float | None) -> float | None:
    if a is None and b is None:
        return None
    return (a or 0.0) + (b or 0.0)


def errors_per_second(snapshot: InterfaceSnapshot) -> float | None:
    return _sum(snapshot.rates.in_errors_ps, snapshot.rates.out_errors_ps)


def discards_per_second(snapshot: InterfaceSnapshot) -> float | None:
    return _sum(snapshot.rates.in_discards_ps, snapshot.rates.out_discards_ps)


def _admin(admin_state: str | None) -> tuple[str, Tone]:
    if admin_state is None:
        return MISSING, "dim"
    state = safe_plain(admin_state)
    if state in ("enable", "enabled", "up"):
        return "en", ""
    if state in ("disable", "disabled", "down"):
        return "dis", "dim"
    return state, ""


def _oper(admin_state: str | None, oper_state: str | None) -> tuple[str, Tone]:
    if oper_state is None:
        return MISSING, "dim"
    state = safe_plain(oper_state)
    if state == "up":
        return "up", ""
    # A port shut on purpose is not a problem; one that is enabled and down is.
    administratively_down = admin_state in ("disable", "disabled", "down")
    return state, "dim" if administratively_down else "bad"


def _util_tone(util: float | None) -> Tone:
    if util is None:
        return ""
    if util >= UTIL_BAD_PCT:
        return "bad"
    if util >= UTIL_WARN_PCT:
        return "warn"
    return ""


def interface_cells(snapshot: InterfaceSnapshot, traffic: str, now: float) -> list[Cell]:
    """The row of one interface: human units, device text sanitised, tones for what needs a look."""
    rates = snapshot.rates
    errors = errors_per_second(snapshot)
    discards = discards_per_second(snapshot)
    admin_text, admin_tone = _admin(snapshot.admin_state)
    oper_text, oper_tone = _oper(snapshot.admin_state, snapshot.oper_state)
    util = rates.util_pct
    figures: Tone = "dim" if snapshot.stale else ""  # stale rates are history, not news
    changed = MISSING if snapshot.last_change is None else format_duration(now - snapshot.last_change)
    return [
        Cell(safe_plain(snapshot.name), "dim" if snapshot.stale else ""),
        Cell(safe_plain(snapshot.description)),
        Cell(admin_text, admin_tone),
        Cell(oper_text, oper_tone),
        Cell(format_speed(snapshot.speed_bps)),
        Cell(format_bps(rates.in_bps), figures),
        Cell(format_bps(rates.out_bps), figures),
        Cell(format_pps(rates.in_pps), figures),
        Cell(format_pps(rates.out_pps), figures),
        Cell(format_percent(util), figures or _util_tone(util)),
        Cell(format_count_rate(errors), "bad" if errors else figures),
        Cell(format_count_rate(discards), "warn" if discards else figures),
        Cell(changed),
        Cell(traffic, "dim" if snapshot.stale else "accent"),
    ]


def interface_sort_values(snapshot: InterfaceSnapshot) -> tuple[object, ...]:
    rates = snapshot.rates
    description = safe_plain(snapshot.description).casefold()
    return (
        natural_key(snapshot.name),
        description or None,
        snapshot.admin_state,
        snapshot.oper_state,
        snapshot.speed_bps,
        rates.in_bps,
        rates.out_bps,
        rates.in_pps,
        rates.out_pps,
        rates.util_pct,
        errors_per_second(snapshot),
        discards_per_second(snapshot),
        # The newest change first; a time, not an age, so the order does not drift while nothing happens.
        None if snapshot.last_change is None else -snapshot.last_change,
        None,
    )


class InterfaceCountersPane(Vertical):
    """The selected device's interfaces (a LivePane): rows keyed by interface name, repainted only where they changed.

    The app calls `select(store, selection)` when the selection changes and `apply_changes(store, changes)` on its
    refresh tick; on a tick only the interfaces in `changes.interfaces_of(device)` are read again. Pass the store's
    clock so ages agree with the store (the system clock by default).
    """

    DEFAULT_CSS = """
    InterfaceCountersPane {
        height: 1fr;
        #counters-status { height: 1; color: $text-muted; padding: 0 1; }
        #counters-filter { display: none; height: 3; }
        #counters-filter.-active { display: block; }
        #counters-placeholder { color: $text-muted; padding: 1 2; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "cycle_sort", "Sort column", tooltip="Sort by the next column"),
        Binding("S", "reverse_sort", "Reverse sort"),
        Binding("slash", "start_filter", "Filter", tooltip="Show only interfaces whose name or description matches"),
        Binding("u", "toggle_only_up", "Only up", tooltip="Show only interfaces that are operationally up"),
        Binding("e", "toggle_only_errors", "Only errors", tooltip="Show only interfaces with errors per second"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("enter", "timeline", "Timeline", tooltip="The port's traffic, errors, state and alarms over time"),
    ]

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._clock: Clock = clock or SystemClock()
        self._store: FleetStore | None = None
        self._device: str | None = None
        self._filter_text = ""
        self._only_up = False
        self._only_errors = False
        self._traffic: dict[str, str] = {}  # the last sparkline drawn per interface
        self._last_sweep = 0.0
        self._status = ""

    # -----------------------------------------------------------------------------------------
    # Layout

    def compose(self) -> ComposeResult:
        yield Static("", id="counters-status")
        yield Input(placeholder="filter interfaces by name or description", id="counters-filter")
        yield LineTable(COLUMNS, id="counters-table")
        yield Static("Select a device to see its interfaces.", id="counters-placeholder")

    def on_mount(self) -> None:
        self.table.display = False
        self._update_status()

    def focus(self, scroll_visible: bool = True) -> Self:
        """Focus the table (the pane itself takes no focus)."""
        table = self.table
        if table.display:
            table.focus(scroll_visible)
        return self

    @property
    def table(self) -> LineTable:
        return self.query_one("#counters-table", LineTable)

    @property
    def filter_input(self) -> Input:
        return self.query_one("#counters-filter", Input)

    @property
    def device(self) -> str | None:
        return self._device

    @property
    def only_up(self) -> bool:
        return self._only_up

    @property
    def only_errors(self) -> bool:
        return self._only_errors

    @property
    def filter_text(self) -> str:
        return self._filter_text

    # -----------------------------------------------------------------------------------------
    # LivePane

    def select(self, store: FleetStore, selection: Selection) -> None:
        self._store = store
        device = selection.key if selection.kind == "device" else None
        if device is not None:
            try:
                store.device(device)
            except KeyError:
                device = None
        table = self.table
        if device != self._device:
            table.clear()
            self._traffic.clear()
            self._device = device
        table.display = device is not None
        self.query_one("#counters-placeholder").display = device is None
        if device is not None:
            self._reload(store)
        self._update_status()

    def apply_changes(self, store: FleetStore, changes: ChangeSet) -> None:
        self._store = store
        device = self._device
        if device is None:
            return
        # `structure` says some device gained interfaces; only a different count means this one did.
        if changes.full or (changes.structure and store.device(device).interface_count != self.table.row_count):
            self._reload(store)
            return
        names = changes.interfaces_of(device)
        now = self._clock.now()
        sweep = now - self._last_sweep >= AGE_SWEEP_S
        if not names and not sweep:
            return
        table = self.table
        with self.app.batch_update(), table.batch_rows():
            for name in names:
                try:
                    snapshot = store.interface(device, name)
                except KeyError:
                    table.remove_row(name)
                    continue
                self._upsert(store, snapshot, now)
            if sweep:
                self._sweep_ages(now, skip=names)
        self._update_status()

    # -----------------------------------------------------------------------------------------
    # Rows

    def _reload(self, store: FleetStore) -> None:
        """Diff every interface of the device against the table (after a selection or a structural change)."""
        device = self._device
        if device is None:
            return
        now = self._clock.now()
        try:
            snapshots = store.interfaces(device, with_history=False)
        except KeyError:
            snapshots = ()
        table = self.table
        with self.app.batch_update(), table.batch_rows():
            for snapshot in snapshots:
                self._upsert(store, snapshot, now)
            names = {snapshot.name for snapshot in snapshots}
            table.retain(names)
            for name in set(self._traffic) - names:
                del self._traffic[name]
        self._last_sweep = now
        self._update_status()

    def _upsert(self, store: FleetStore, snapshot: InterfaceSnapshot, now: float) -> None:
        traffic = self._traffic_line(store, snapshot)
        self.table.upsert(
            snapshot.name,
            interface_cells(snapshot, traffic, now),
            sort_values=interface_sort_values(snapshot),
            data=snapshot,
        )

    def _traffic_line(self, store: FleetStore, snapshot: InterfaceSnapshot) -> str:
        try:
            in_bps, out_bps = store.interface_sparkline(
                snapshot.device,
                snapshot.name,
                SPARKLINE_WIDTH,
                last=SPARKLINE_WIDTH * SPARKLINE_BUCKETS_PER_CELL,
            )
        except KeyError:
            in_bps, out_bps = (), ()
        busiest = [
            None if a is None and b is None else max(a or 0.0, b or 0.0) for a, b in zip(in_bps, out_bps, strict=False)
        ]
        line = sparkline(busiest, width=SPARKLINE_WIDTH)
        self._traffic[snapshot.name] = line
        return line

    def _sweep_ages(self, now: float, skip: frozenset[str]) -> None:
        """Refresh the "changed" ages of rows whose data stood still (only cells whose text moved repaint)."""
        self._last_sweep = now
        table = self.table
        for row in list(table.rows()):
            snapshot = row.data
            if row.key in skip or not isinstance(snapshot, InterfaceSnapshot):
                continue
            traffic = self._traffic.get(snapshot.name, "")
            table.upsert(
                row.key,
                interface_cells(snapshot, traffic, now),
                sort_values=row.sort_values,
                data=snapshot,
            )

    def on_line_table_selected(self, event: LineTable.Selected) -> None:
        """Enter on a port opens its timeline."""
        event.stop()
        self._open_timeline(str(event.key))

    def action_timeline(self) -> None:
        key = self.table.cursor_key
        if key is not None:
            self._open_timeline(str(key))

    def _open_timeline(self, port: str) -> None:
        opener = getattr(self.app, "open_timeline", None)
        if opener is not None and self._device is not None:
            opener(self._device, port)

    # -----------------------------------------------------------------------------------------
    # Filter, toggles, sort

    def _row_filter(self) -> Callable[[Row], bool] | None:
        text = self._filter_text.casefold()
        only_up = self._only_up
        only_errors = self._only_errors
        if not (text or only_up or only_errors):
            return None

        def keep(row: Row) -> bool:
            snapshot = row.data
            if not isinstance(snapshot, InterfaceSnapshot):
                return True
            if only_up and snapshot.oper_state != "up":
                return False
            if only_errors and not errors_per_second(snapshot):
                return False
            if text:
                haystack = f"{snapshot.name}\n{safe_plain(snapshot.description)}".casefold()
                if text not in haystack:
                    return False
            return True

        return keep

    def _apply_filter(self) -> None:
        predicate = self._row_filter()
        self.table.set_filter(predicate)
        self._update_status()

    def set_filter_text(self, text: str) -> None:
        self._filter_text = text
        self._apply_filter()

    def action_cycle_sort(self) -> None:
        self.table.cycle_sort()
        self._update_status()

    def action_reverse_sort(self) -> None:
        self.table.reverse_sort()
        self._update_status()

    def action_toggle_only_up(self) -> None:
        self._only_up = not self._only_up
        self._apply_filter()

    def action_toggle_only_errors(self) -> None:
        self._only_errors = not self._only_errors
        self._apply_filter()

    def action_start_filter(self) -> None:
        field = self.filter_input
        field.add_class("-active")
        field.value = self._filter_text
        field.focus()

    def action_clear_filter(self) -> None:
        field = self.filter_input
        field.remove_class("-active")
        if field.value:
            field.value = ""
        if self._filter_text:
            self.set_filter_text("")
        self.table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            # Without a filter to clear, Escape belongs to whoever is above this pane.
            return bool(self._filter_text) or self.filter_input.has_class("-active")
        return True

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "counters-filter":
            event.stop()
            self.set_filter_text(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "counters-filter":
            event.stop()
            self.filter_input.remove_class("-active")
            self.table.focus()

    # -----------------------------------------------------------------------------------------
    # Status line

    def _update_status(self) -> None:
        if self._device is None:
            status = ""
        else:
            table = self.table
            column = next(c for c in table.columns if c.key == table.sort_column)
            arrow = "▼" if table.sort_descending else "▲"
            parts = [
                safe_plain(self._device),
                f"{table.visible_count}/{table.row_count} ports",
                f"by {column.label} {arrow}",
            ]
            if self._filter_text:
                parts.append(f"filter “{safe_plain(self._filter_text)}”")
            if self._only_up:
                parts.append("only up")
            if self._only_errors:
                parts.append("only with errors")
            status = " · ".join(parts)
        if status != self._status:
            self._status = status
            self.query_one("#counters-status", Static).update(Content(status))
