"""The device health pane: one device's vital signs, a site's devices side by side, or the fleet's sites."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Self

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import ContentSwitcher, Static

from edgeops.devices.samples import Alarm, ComponentStatus, DeviceState, SessionState, TemperatureReading
from edgeops.fleet.store import SEVERITY_ORDER, ChangeSet, DeviceSnapshot, FleetStore, SiteRollup
from edgeops.naming import natural_key
from edgeops.ui.format import (
    MISSING,
    format_age,
    format_celsius,
    format_duration,
    format_memory,
    format_percent,
    memory_percent,
    sparkline,
)
from edgeops.ui.live import Selection, SelectionChanged
from edgeops.ui.sanitize import safe_plain
from edgeops.ui.widgets.line_table import Cell, Column, LineTable, Tone

CPU_SPARKLINE_WIDTH = 30  # at most; narrower panes get a shorter history
CPU_WARN_PCT = 70.0
CPU_BAD_PCT = 90.0
MEMORY_WARN_PCT = 80.0
MEMORY_BAD_PCT = 95.0
LABEL_WIDTH = 9
LINE_BUDGET = 60  # characters after the label before a list is summarised rather than wrapped (wide panes)
MIN_LINE_BUDGET = 24

# Content styles name theme variables, so a theme switch recolours without a rebuild.
_STYLE: dict[Tone, str] = {
    "": "",
    "good": "$success",
    "warn": "$warning",
    "bad": "bold $error",
    "dim": "$foreground-muted",
    "accent": "$accent",
}

_STATE_TONE: dict[DeviceState, Tone] = {
    DeviceState.UP: "good",
    DeviceState.DEGRADED: "warn",
    DeviceState.CONNECTING: "dim",
    DeviceState.DOWN: "bad",
    DeviceState.UNREACHABLE: "bad",
    DeviceState.AUTH_FAILED: "bad",
    DeviceState.HOSTKEY_MISMATCH: "bad",
}
_STATE_RANK = {state: rank for rank, state in enumerate(_STATE_TONE)}
_SEVERITY_TONE: dict[str, Tone] = {"critical": "bad", "major": "bad", "minor": "warn", "warning": "warn"}
_COMPONENT_OK = frozenset({"up", "ok", "online", "active"})
_COMPONENT_ABSENT = frozenset({"empty", "absent", "not-present"})

SITE_COLUMNS = (
    Column("device", "Device", 14),
    Column("role", "Role", 8, priority=3),
    Column("state", "State", 12),
    Column("cpu", "CPU", 6, align="right", descending_first=True),
    Column("memory", "Mem", 6, align="right", descending_first=True),
    Column("temperature", "Temp", 5, align="right", descending_first=True, priority=1),
    Column("alarms", "Alarms", 6, align="right", descending_first=True),
    Column("version", "Version", 10, flex=True, priority=2),
    Column("uptime", "Uptime", 8, align="right", priority=2),
)

FLEET_COLUMNS = (
    Column("site", "Site", 10),
    Column("name", "Name", 12, flex=True, priority=2),
    Column("devices", "Devices", 7, align="right", descending_first=True),
    Column("up", "Up", 4, align="right", descending_first=True),
    Column("degraded", "Degr", 4, align="right", descending_first=True),
    Column("down", "Down", 4, align="right", descending_first=True),
    Column("stale", "Stale", 5, align="right", descending_first=True, priority=1),
    Column("problems", "Auth", 4, align="right", descending_first=True, priority=1),
    Column("alarms", "Alarms", 6, align="right", descending_first=True),
    Column("critical", "Crit", 4, align="right", descending_first=True, priority=1),
)


def _styled(text: str, tone: Tone = "") -> tuple[str, str]:
    return text, _STYLE[tone]


def _label(text: str) -> tuple[str, str]:
    return text.ljust(LABEL_WIDTH), "bold"


def _tone_at(value: float | None, warn: float, bad: float) -> Tone:
    if value is None:
        return ""
    if value >= bad:
        return "bad"
    return "warn" if value >= warn else ""


def _component_tone(component: ComponentStatus) -> Tone:
    state = component.oper_state.casefold()
    if state in _COMPONENT_OK:
        return ""
    if state in _COMPONENT_ABSENT:
        return "dim"
    return "bad"


def max_temperature(snapshot: DeviceSnapshot) -> TemperatureReading | None:
    health = snapshot.health
    if health is None or not health.temperatures:
        return None
    return max(health.temperatures, key=lambda reading: reading.celsius)


def _state_text(snapshot: DeviceSnapshot) -> str:
    return f"{snapshot.state.value} (stale)" if snapshot.stale else snapshot.state.value


def _alarm_summary(alarms: Iterable[Alarm]) -> tuple[tuple[int, ...], Tone]:
    counts = dict.fromkeys(SEVERITY_ORDER, 0)
    for alarm in alarms:
        if alarm.severity in counts:
            counts[alarm.severity] += 1
    worst: Tone = ""
    for severity in SEVERITY_ORDER:
        if counts[severity]:
            worst = _SEVERITY_TONE.get(severity.value, "warn")
            break
    return tuple(counts[s] for s in SEVERITY_ORDER), worst


# ---------------------------------------------------------------------------------------------
# One device: each section is a small piece of content, repainted only when its text or styles changed.


def title_content(snapshot: DeviceSnapshot, width: int = LABEL_WIDTH + LINE_BUDGET) -> Content:
    """Name, state and identity on one line, or on two when the pane is too narrow for one."""
    device = snapshot.device
    health = snapshot.health
    version = health.version if health is not None else None
    model = (health.chassis if health is not None else None) or device.model
    head: list[str | tuple[str, str]] = [
        (safe_plain(device.name), "bold"),
        " ",
        _styled(f" {snapshot.state.value} ", _STATE_TONE.get(snapshot.state, "")),
    ]
    if snapshot.stale:
        head += [" ", _styled("STALE", "warn")]
    identity = (
        f"{device.platform.label} · {safe_plain(model)} · {safe_plain(version) or MISSING}"
        f" · up {format_duration(snapshot.uptime_s)}"
    )
    first_line = Content.assemble(*head)
    if first_line.cell_length + 2 + len(identity) <= width:
        return Content.assemble(first_line, "  ", identity)
    return Content.assemble(first_line, "\n", identity)


def _session(label: str, state: SessionState, detail: str) -> list[str | tuple[str, str]]:
    if state is SessionState.UP:
        tone: Tone = "good"
    elif state in (SessionState.IDLE, SessionState.CONNECTING, SessionState.UNAVAILABLE):
        tone = "dim"
    else:
        tone = "bad"
    parts: list[str | tuple[str, str]] = [f"{label} ", _styled(state.value, tone)]
    if detail and state is not SessionState.UP:
        parts.append(_styled(f" ({safe_plain(detail)})", "dim"))
    return parts


def sessions_content(snapshot: DeviceSnapshot) -> Content:
    parts: list[str | tuple[str, str]] = [_label("Sessions")]
    parts += _session("SSH", snapshot.ssh, snapshot.ssh_detail)
    parts.append(" · ")
    parts += _session("gNMI", snapshot.gnmi, snapshot.gnmi_detail)
    if snapshot.device.jump:
        parts += [" · via jump host ", (safe_plain(snapshot.device.jump), "bold")]
    source = snapshot.telemetry_source
    if source == "ssh":
        parts += [" · telemetry ", _styled("via SSH", "warn")]
    elif source == "gnmi":
        parts.append(" · telemetry gNMI")
    else:
        parts += [" · telemetry ", _styled("none", "dim")]
    return Content.assemble(*parts)


def cpu_content(
    snapshot: DeviceSnapshot, history: tuple[float | None, ...], width: int = CPU_SPARKLINE_WIDTH
) -> Content:
    health = snapshot.health
    cpu = health.cpu_pct if health is not None else None
    return Content.assemble(
        _label("CPU"),
        _styled(format_percent(cpu).rjust(6), _tone_at(cpu, CPU_WARN_PCT, CPU_BAD_PCT)),
        "  ",
        _styled(sparkline(history, width=width, maximum=100.0), "accent"),
    )


def memory_content(snapshot: DeviceSnapshot) -> Content:
    health = snapshot.health
    used = health.memory_used if health is not None else None
    total = health.memory_total if health is not None else None
    percent = memory_percent(used, total)
    return Content.assemble(
        _label("Memory"), _styled(format_memory(used, total), _tone_at(percent, MEMORY_WARN_PCT, MEMORY_BAD_PCT))
    )


def temperatures_content(snapshot: DeviceSnapshot, budget: int = LINE_BUDGET) -> Content:
    """Every sensor when they fit on the line; else the alarming and the hottest ones, and how many more."""
    health = snapshot.health
    readings = list(health.temperatures or ()) if health is not None else []
    parts: list[str | tuple[str, str]] = [_label("Temp")]
    if not readings:
        parts.append(_styled(MISSING, "dim"))
        return Content.assemble(*parts)

    def text(reading: TemperatureReading) -> str:
        return f"{safe_plain(reading.sensor)} {format_celsius(reading.celsius)}" + (" ALARM" if reading.alarm else "")

    shown = readings
    if len(" · ".join(text(reading) for reading in readings)) > budget:
        ranked = sorted(readings, key=lambda reading: (not reading.alarm, -reading.celsius))
        shown, used = [], 0
        for reading in ranked:
            if shown and (used + len(text(reading)) + 3 > budget - 10) and not reading.alarm:
                break
            shown.append(reading)
            used += len(text(reading)) + 3
    for i, reading in enumerate(shown):
        if i:
            parts.append(" · ")
        parts.append(_styled(text(reading), "bad") if reading.alarm else text(reading))
    if len(shown) < len(readings):
        parts.append(_styled(f" · +{len(readings) - len(shown)} more", "dim"))
    return Content.assemble(*parts)


def components_content(
    label: str, components: tuple[ComponentStatus, ...] | None, budget: int = LINE_BUDGET
) -> Content:
    """Fans or power supplies: each by name when they fit, else the ones needing a look and a count of the rest."""
    parts: list[str | tuple[str, str]] = [_label(label)]
    if not components:
        parts.append(_styled(MISSING, "dim"))
        return Content.assemble(*parts)
    listed = " · ".join(f"{safe_plain(c.component)} {safe_plain(c.oper_state)}" for c in components)
    fits = len(listed) <= budget
    working = 0
    for component in components:
        tone = _component_tone(component)
        if tone == "":
            working += 1
            if not fits:
                continue
        if len(parts) > 1:
            parts.append(" · ")
        state = safe_plain(component.oper_state)
        parts.append(f"{safe_plain(component.component)} ")
        parts.append(_styled(state.upper() if tone == "bad" else state, tone))
        if component.detail and tone == "bad":
            parts.append(_styled(f" ({safe_plain(component.detail)})", "dim"))
    if not fits:
        if len(parts) > 1:
            parts.append(" · ")
        parts.append(f"{working} of {len(components)} up")
    return Content.assemble(*parts)


def alarms_content(alarms: tuple[Alarm, ...]) -> Content:
    """Active alarms, most severe first; those edgeops derived from the device's state (SR Linux keeps no alarm
    list) are tagged `derived`, so nobody takes them for alarms the device raised."""
    if not alarms:
        return Content.assemble(_label("Alarms"), _styled("none active", "dim"))
    parts: list[str | tuple[str, str]] = [_label("Alarms"), f"{len(alarms)} active"]
    derived = sum(1 for alarm in alarms if alarm.derived)
    if derived:
        parts.append(_styled(f" · {derived} derived from device state", "dim"))
    resource_width = min(20, max(len(safe_plain(alarm.resource)) for alarm in alarms))
    for alarm in alarms:
        tone = _SEVERITY_TONE.get(alarm.severity.value, "warn")
        parts += [
            "\n  ",
            _styled(alarm.severity.value.ljust(9), tone),
            (safe_plain(alarm.resource).ljust(resource_width), "bold"),
            " ",
        ]
        if alarm.derived:
            parts.append(_styled("derived ", "dim"))
        parts.append(safe_plain(alarm.text).replace("\n", " "))
    return Content.assemble(*parts)


def age_content(snapshot: DeviceSnapshot) -> Content:
    parts: list[str | tuple[str, str]] = [_label("Data")]
    if snapshot.age_s is None:
        parts.append(_styled("no data yet", "dim"))
    else:
        parts.append(f"updated {format_age(snapshot.age_s)}")
    if snapshot.stale:
        expected = snapshot.expected_interval_s
        hint = f" (expected every {format_duration(expected)})" if expected else ""
        parts += ["  ", _styled(f"STALE{hint}", "warn")]
    return Content.assemble(*parts)


# ---------------------------------------------------------------------------------------------
# Rows of the site and fleet tables


def device_row(snapshot: DeviceSnapshot) -> tuple[list[Cell], tuple[object, ...]]:
    health = snapshot.health
    cpu = health.cpu_pct if health is not None else None
    memory = memory_percent(health.memory_used, health.memory_total) if health is not None else None
    hottest = max_temperature(snapshot)
    counts, alarm_tone = _alarm_summary(snapshot.alarms)
    total_alarms = sum(counts)
    version = safe_plain(health.version) if health is not None and health.version else MISSING
    state_tone = "warn" if snapshot.stale and snapshot.state is DeviceState.UP else _STATE_TONE.get(snapshot.state, "")
    cells = [
        Cell(safe_plain(snapshot.name)),
        Cell(safe_plain(snapshot.device.role), "dim"),
        Cell(_state_text(snapshot), state_tone),
        Cell(format_percent(cpu), _tone_at(cpu, CPU_WARN_PCT, CPU_BAD_PCT)),
        Cell(format_percent(memory), _tone_at(memory, MEMORY_WARN_PCT, MEMORY_BAD_PCT)),
        Cell(
            MISSING if hottest is None else format_celsius(hottest.celsius),
            "bad" if hottest is not None and hottest.alarm else "",
        ),
        Cell(str(total_alarms) if total_alarms else "0", alarm_tone),
        Cell(version),
        Cell(format_duration(snapshot.uptime_s)),
    ]
    sort_values = (
        natural_key(snapshot.name),
        snapshot.device.role,
        (_STATE_RANK.get(snapshot.state, len(_STATE_RANK)), snapshot.stale),
        cpu,
        memory,
        None if hottest is None else hottest.celsius,
        counts,
        version.casefold(),
        snapshot.uptime_s,
    )
    return cells, sort_values


def site_row(rollup: SiteRollup) -> tuple[list[Cell], tuple[object, ...]]:
    alarms = rollup.alarms
    worst: Tone = "bad" if alarms.critical or alarms.major else ("warn" if alarms.total else "")

    def count(value: int, tone: Tone) -> Cell:
        return Cell(str(value), tone if value else "dim")

    cells = [
        Cell(safe_plain(rollup.code)),
        Cell(safe_plain(rollup.name)),
        Cell(str(rollup.total)),
        count(rollup.up, "good"),
        count(rollup.degraded, "warn"),
        count(rollup.down, "bad"),
        count(rollup.stale, "warn"),
        count(rollup.problems, "bad"),
        count(alarms.total, worst),
        count(alarms.critical, "bad"),
    ]
    sort_values = (
        natural_key(rollup.code),
        safe_plain(rollup.name).casefold(),
        rollup.total,
        rollup.up,
        rollup.degraded,
        rollup.down,
        rollup.stale,
        rollup.problems,
        (alarms.critical, alarms.major, alarms.minor, alarms.warning),
        alarms.critical,
    )
    return cells, sort_values


class DeviceHealthPane(Vertical):
    """Health of the selection (a LivePane): a device's vital signs, a site's devices, or the fleet's sites.

    The app calls `select(store, selection)` and, on its refresh tick, `apply_changes(store, changes)`; only
    changes that concern the selection repaint anything, and then only the sections or rows that changed.
    Enter on a site's device (or on a fleet's site) posts `SelectionChanged` to drill down.
    """

    DEFAULT_CSS = """
    DeviceHealthPane {
        height: 1fr;
        #health-switcher { height: 1fr; }
        #health-device { height: 1fr; padding: 0 1; scrollbar-gutter: stable; }
        #health-device > Static { width: 1fr; height: auto; }
        #health-site-title, #health-fleet-title { height: 1; color: $text-muted; padding: 0 1; }
        #health-empty { color: $text-muted; padding: 1 2; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "cycle_sort", "Sort column", tooltip="Sort the site or fleet table by the next column"),
        Binding("S", "reverse_sort", "Reverse sort"),
        Binding("t", "subscriptions", "Subscriptions", tooltip="The gNMI subscription groups of the selection"),
        Binding("enter", "timeline", "Timeline", tooltip="The device's CPU, memory, temperatures and alarms over time"),
    ]

    _SECTIONS = ("title", "sessions", "age", "cpu", "memory", "temps", "fans", "psus", "alarms")

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._selection: Selection | None = None
        self._store: FleetStore | None = None
        self._shown: dict[str, Content] = {}
        self.sections_repainted = 0  # bookkeeping: how many section repaints the changes cost

    def compose(self) -> ComposeResult:
        with ContentSwitcher(initial="health-empty", id="health-switcher"):
            yield Static("Select a device or a site.", id="health-empty")
            with VerticalScroll(id="health-device"):
                for section in self._SECTIONS:
                    yield Static(id=f"health-{section}")
            with Vertical(id="health-site"):
                yield Static(id="health-site-title")
                yield LineTable(SITE_COLUMNS, id="health-site-table")
            with Vertical(id="health-fleet"):
                yield Static(id="health-fleet-title")
                yield LineTable(FLEET_COLUMNS, id="health-fleet-table")

    @property
    def selection(self) -> Selection | None:
        return self._selection

    @property
    def site_table(self) -> LineTable:
        return self.query_one("#health-site-table", LineTable)

    @property
    def fleet_table(self) -> LineTable:
        return self.query_one("#health-fleet-table", LineTable)

    def section(self, name: str) -> Static:
        return self.query_one(f"#health-{name}", Static)

    def section_content(self, name: str) -> Content | None:
        """What a device section shows now (for tests and screen readers of the pane)."""
        return self._shown.get(name)

    # -----------------------------------------------------------------------------------------
    # LivePane

    def select(self, store: FleetStore, selection: Selection) -> None:
        self._store = store
        previous = self._selection
        self._selection = selection
        switcher = self.query_one("#health-switcher", ContentSwitcher)
        if selection.kind == "device" and self._has_device(store, selection.key):
            switcher.current = "health-device"
            if previous != selection:
                self._forget_device_sections()
            self._show_device(store, selection.key)
        elif selection.kind == "site" and selection.key in store.site_codes():
            switcher.current = "health-site"
            table = self.site_table
            if previous != selection:
                table.clear()
            self._show_site(store, selection.key, store.device_names(selection.key))
        elif selection.kind == "fleet":
            switcher.current = "health-fleet"
            self._show_fleet(store, store.site_codes())
        else:
            switcher.current = "health-empty"

    def apply_changes(self, store: FleetStore, changes: ChangeSet) -> None:
        self._store = store
        selection = self._selection
        if selection is None:
            return
        with self.app.batch_update():
            if selection.kind == "device":
                if not self._has_device(store, selection.key):
                    return
                if changes.full or selection.key in changes.devices:
                    self._show_device(store, selection.key)
                else:
                    # Interface traffic moves the data age; nothing else of the device changed.
                    self._put("age", age_content(store.device(selection.key)))
            elif selection.kind == "site":
                if selection.key not in store.site_codes():
                    return
                names = store.device_names(selection.key)
                if not changes.full:
                    names = tuple(name for name in names if name in changes.devices)
                if names:
                    self._show_site(store, selection.key, names)
            elif selection.kind == "fleet":
                codes = store.site_codes() if changes.full else tuple(changes.sites)
                if codes:
                    self._show_fleet(store, codes)

    # -----------------------------------------------------------------------------------------
    # Views

    @staticmethod
    def _has_device(store: FleetStore, name: str) -> bool:
        try:
            store.device(name)
        except KeyError:
            return False
        return True

    def _put(self, section: str, content: Content) -> None:
        """Show `content` in a section (a Static `#health-<section>`) unless it shows exactly that already."""
        shown = self._shown.get(section)
        if shown is not None and shown.is_same(content):
            return
        self._shown[section] = content
        self.section(section).update(content)
        self.sections_repainted += 1

    def _forget_device_sections(self) -> None:
        for section in self._SECTIONS:
            self._shown.pop(section, None)

    def _device_width(self) -> int:
        """Characters a device section line has (before the pane is laid out: as if it were wide)."""
        # The pane's width less the device view's padding (1 + 1) and its scrollbar gutter (kept stable, 2).
        width = self.content_region.width - 4
        return width if width > 0 else LABEL_WIDTH + LINE_BUDGET

    def on_resize(self) -> None:
        # Lists are summarised and the title split to fit the width: lay the device's sections out again.
        selection = self._selection
        if selection is not None and selection.kind == "device" and self._store is not None:
            self.call_after_refresh(self._redraw_device)

    def _redraw_device(self) -> None:
        selection = self._selection
        if selection is None or selection.kind != "device" or self._store is None:
            return
        if self._has_device(self._store, selection.key):
            self._show_device(self._store, selection.key)

    def _show_device(self, store: FleetStore, name: str) -> None:
        snapshot = store.device(name)
        health = snapshot.health
        width = self._device_width()
        budget = max(MIN_LINE_BUDGET, min(LINE_BUDGET, width - LABEL_WIDTH))
        spark_width = max(8, min(CPU_SPARKLINE_WIDTH, width - LABEL_WIDTH - 8))
        self._put("title", title_content(snapshot, width))
        self._put("sessions", sessions_content(snapshot))
        self._put("cpu", cpu_content(snapshot, store.cpu_sparkline(name, spark_width), spark_width))
        self._put("memory", memory_content(snapshot))
        self._put("temps", temperatures_content(snapshot, budget))
        self._put("fans", components_content("Fans", health.fans if health is not None else None, budget))
        self._put("psus", components_content("Power", health.power_supplies if health is not None else None, budget))
        self._put("alarms", alarms_content(snapshot.alarms))
        self._put("age", age_content(snapshot))

    def _show_site(self, store: FleetStore, code: str, names: Iterable[str]) -> None:
        table = self.site_table
        with table.batch_rows():
            for name in names:
                cells, sort_values = device_row(store.device(name))
                table.upsert(name, cells, sort_values=sort_values)
            table.retain(store.device_names(code))
        rollup = store.site_rollup(code)
        self._put(
            "site-title",
            Content(
                f"{safe_plain(rollup.name)} · {rollup.total} devices · {rollup.up} up · {rollup.degraded} degr · "
                f"{rollup.down} down · {rollup.alarms.total} alarms"
            ),
        )

    def _show_fleet(self, store: FleetStore, codes: Iterable[str]) -> None:
        table = self.fleet_table
        with table.batch_rows():
            for code in codes:
                cells, sort_values = site_row(store.site_rollup(code))
                table.upsert(code, cells, sort_values=sort_values)
            table.retain(store.site_codes())
        fleet = store.fleet_rollup()
        self._put(
            "fleet-title",
            Content(
                f"{fleet.sites} sites · {fleet.total} devices · {fleet.up} up · {fleet.degraded} degr · "
                f"{fleet.down} down · {fleet.stale} stale · {fleet.alarms.total} alarms"
            ),
        )

    # -----------------------------------------------------------------------------------------
    # Keys and drill-down

    def _active_table(self) -> LineTable | None:
        current = self.query_one("#health-switcher", ContentSwitcher).current
        if current == "health-site":
            return self.site_table
        if current == "health-fleet":
            return self.fleet_table
        return None

    def focus(self, scroll_visible: bool = True) -> Self:
        """Focus what the pane shows: the device's sections or the table (the pane itself takes no focus)."""
        current = self.query_one("#health-switcher", ContentSwitcher).current
        if current == "health-device":
            self.query_one("#health-device").focus(scroll_visible)
        elif (table := self._active_table()) is not None:
            table.focus(scroll_visible)
        return self

    def action_cycle_sort(self) -> None:
        table = self._active_table()
        if table is not None:
            table.cycle_sort()

    def action_reverse_sort(self) -> None:
        table = self._active_table()
        if table is not None:
            table.reverse_sort()

    def action_subscriptions(self) -> None:
        opener = getattr(self.app, "open_subscriptions", None)
        if opener is not None and self._selection is not None:
            opener(self._selection)

    def action_timeline(self) -> None:
        opener = getattr(self.app, "open_timeline", None)
        selection = self._selection
        if opener is not None and selection is not None and selection.kind == "device":
            opener(selection.key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "timeline":
            # A device's view only: on a site or the fleet, Enter drills down (the table's own Enter).
            return self._selection is not None and self._selection.kind == "device"
        return True

    def on_line_table_selected(self, event: LineTable.Selected) -> None:
        event.stop()
        if event.table is self.site_table:
            self.post_message(SelectionChanged(Selection("device", str(event.key))))
        elif event.table is self.fleet_table:
            self.post_message(SelectionChanged(Selection("site", str(event.key))))
