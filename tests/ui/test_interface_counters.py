"""The interface counters pane on a fleet store driven by a hand-moved clock: units, sorting, filters, diffs."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from edgeops.clock import ManualClock
from edgeops.devices.interface_rows import InterfaceBatch
from edgeops.devices.samples import InterfaceSample
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Device, Inventory, Site
from edgeops.lab.faults import HOSTILE_DESCRIPTION
from edgeops.platforms import Platform
from edgeops.ui.live import Selection
from edgeops.ui.panes.interface_counters import InterfaceCountersPane
from edgeops.ui.widgets.line_table import LineTable

START = 1_767_225_600.0
DEVICE = "alc-leaf1"
TEN_GIG = 10_000_000_000

# Per 2-second round: (in octets, out octets, in packets, in errors). ethernet-1/1 carries 12.4 Mb/s in.
TRAFFIC = {
    "ethernet-1/1": (3_100_000, 1_550_000, 24_800, 0),
    "ethernet-1/2": (0, 0, 0, 0),
    "ethernet-1/3": (250_000, 250_000, 1_000, 0),
    "ethernet-1/4": (125_000_000, 2_500_000, 100_000, 0),
    "ethernet-1/10": (1_000_000_000, 500_000_000, 1_000_000, 6),
    "mgmt0": (5_000, 5_000, 20, 0),
}
DESCRIPTIONS = {
    "ethernet-1/1": "uplink to spine1",
    "ethernet-1/2": "spare",
    "ethernet-1/3": HOSTILE_DESCRIPTION,
    "ethernet-1/4": "uplink to spine2",
    "ethernet-1/10": "customer Telco [lag]",
    "mgmt0": "management",
}


def make_store(clock: ManualClock) -> FleetStore:
    inventory = Inventory(
        sites=(Site("Tecno-Alcalá", "alcala"),),
        devices=(
            Device(DEVICE, "alcala", "leaf", Platform.SRLINUX, "7220 IXR-D2L", "127.0.1.1"),
            Device("alc-gw1", "alcala", "gateway", Platform.SROS, "7750 SR-1", "127.0.1.2"),
        ),
    )
    return FleetStore(inventory, clock, history_resolution_s=2.0)


def feed(store: FleetStore, clock: ManualClock, round_number: int, names=None, scale: float = 1.0) -> None:
    """One sample per interface with counters at `round_number` rounds of TRAFFIC."""
    for name in names or TRAFFIC:
        in_octets, out_octets, in_packets, in_errors = TRAFFIC[name]
        store.apply_interfaces(
            InterfaceBatch.of(
                InterfaceSample(
                    device=DEVICE,
                    name=name,
                    timestamp=clock.now(),
                    admin_state="enable",
                    oper_state="down" if name == "ethernet-1/2" else "up",
                    description=DESCRIPTIONS[name],
                    speed_bps=TEN_GIG,
                    last_change=START - 3_600,
                    in_octets=int(in_octets * round_number * scale),
                    out_octets=int(out_octets * round_number * scale),
                    in_packets=int(in_packets * round_number * scale),
                    out_packets=int(in_packets * round_number * scale) // 2,
                    in_errors=in_errors * round_number,
                    out_errors=0,
                    in_discards=0,
                    out_discards=0,
                )
            )
        )


class PaneHost(App[None]):
    def __init__(self, pane: InterfaceCountersPane) -> None:
        super().__init__()
        self.pane = pane

    def compose(self) -> ComposeResult:
        yield self.pane


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START, monotonic_start=500.0)


@pytest.fixture
def store(clock: ManualClock) -> FleetStore:
    store = make_store(clock)
    feed(store, clock, 1)
    clock.advance(2.0)
    feed(store, clock, 2)
    return store


def cells(pane: InterfaceCountersPane, name: str) -> dict[str, str]:
    row = pane.table.row(name)
    return {column.key: cell.text for column, cell in zip(pane.table.columns, row.cells, strict=True)}


def shown_line(table: LineTable, key: str) -> str:
    return table.render_line(1 + table.visible_keys().index(key) - int(table.scroll_y)).text


async def test_rates_are_shown_in_human_units_in_natural_order(clock, store):
    pane = InterfaceCountersPane(clock=clock)
    async with PaneHost(pane).run_test(size=(140, 30)) as pilot:
        pane.select(store, Selection("device", DEVICE))
        await pilot.pause()
        table = pane.table
        assert table.visible_keys() == tuple(TRAFFIC)  # ethernet-1/4 before ethernet-1/10
        first = cells(pane, "ethernet-1/1")
        assert first["in_bps"] == "12.4 Mb/s"
        assert first["out_bps"] == "6.2 Mb/s"
        assert first["in_pps"] == "12.4 Kpps"
        assert first["speed"] == "10G"
        assert first["util"] == "0.1%"
        assert first["errors"] == "0"
        assert (first["admin"], first["oper"]) == ("en", "up")
        assert first["last_change"] == "1h00m"
        assert cells(pane, "ethernet-1/10")["in_bps"] == "4 Gb/s"
        assert cells(pane, "ethernet-1/10")["errors"] == "3"
        assert cells(pane, "ethernet-1/2")["oper"] == "down"
        line = shown_line(table, "ethernet-1/1")
        assert "uplink to spine1" in line
        assert "12.4 Mb/s" in line
        assert "6.2 Mb/s" in line


async def test_keys_sort_and_the_cursor_stays_on_its_interface(clock, store):
    pane = InterfaceCountersPane(clock=clock)
    async with PaneHost(pane).run_test(size=(140, 30)) as pilot:
        pane.select(store, Selection("device", DEVICE))
        pane.focus()
        await pilot.press("down", "down")
        assert pane.table.cursor_key == "ethernet-1/3"
        await pilot.press(*"sssss")  # name -> description -> admin -> oper -> speed -> in b/s
        assert pane.table.sort_column == "in_bps"
        assert pane.table.visible_keys()[:3] == ("ethernet-1/10", "ethernet-1/4", "ethernet-1/1")
        assert pane.table.cursor_key == "ethernet-1/3"
        assert pane.table.cursor_row == pane.table.visible_keys().index("ethernet-1/3")
        assert "by In b/s ▼" in str(pane.query_one("#counters-status").render())
        await pilot.press("S")
        assert pane.table.sort_descending is False
        assert pane.table.visible_keys()[0] == "ethernet-1/2"  # 0 b/s first
        assert pane.table.cursor_key == "ethernet-1/3"


async def test_filter_by_name_or_description_and_escape_clears_it(clock, store):
    pane = InterfaceCountersPane(clock=clock)
    async with PaneHost(pane).run_test(size=(140, 30)) as pilot:
        pane.select(store, Selection("device", DEVICE))
        pane.focus()
        await pilot.press("slash")
        assert pane.filter_input.has_focus
        await pilot.press(*"uplink")
        assert pane.table.visible_keys() == ("ethernet-1/1", "ethernet-1/4")
        await pilot.press("backspace", "enter")
        assert pane.table.has_focus  # Enter keeps the filter and goes back to the table
        assert pane.filter_text == "uplin"
        await pilot.press("slash")
        await pilot.press("ctrl+a", "ctrl+k", *"MGMT")  # case does not matter; names match too
        assert pane.table.visible_keys() == ("mgmt0",)
        await pilot.press("escape")
        assert pane.filter_text == ""
        assert pane.table.visible_count == len(TRAFFIC)
        assert pane.table.has_focus


async def test_only_up_and_only_with_errors_toggle(clock, store):
    pane = InterfaceCountersPane(clock=clock)
    async with PaneHost(pane).run_test(size=(140, 30)) as pilot:
        pane.select(store, Selection("device", DEVICE))
        pane.focus()
        await pilot.press("u")
        assert pane.only_up
        assert "ethernet-1/2" not in pane.table.visible_keys()
        assert pane.table.visible_count == len(TRAFFIC) - 1
        await pilot.press("e")
        assert pane.table.visible_keys() == ("ethernet-1/10",)
        assert "only with errors" in str(pane.query_one("#counters-status").render())
        await pilot.press("u", "e")
        assert pane.table.visible_count == len(TRAFFIC)


async def test_a_tick_reads_and_repaints_only_the_changed_interface(clock, store):
    pane = InterfaceCountersPane(clock=clock)
    async with PaneHost(pane).run_test(size=(140, 30)) as pilot:
        pane.select(store, Selection("device", DEVICE))
        await pilot.pause()
        version = store.version
        clock.advance(2.0)
        feed(store, clock, 3, names=["ethernet-1/4"], scale=1.2)  # one port got busier
        read: list[str] = []
        original = store.interface

        def spy(device: str, name: str):
            read.append(name)
            return original(device, name)

        store.interface = spy  # type: ignore[method-assign]
        before = pane.table.lines_refreshed
        pane.apply_changes(store, store.changes_since(version))
        assert read == ["ethernet-1/4"]
        assert pane.table.last_refreshed == {"ethernet-1/4"}
        assert pane.table.lines_refreshed == before + 1
        assert cells(pane, "ethernet-1/4")["in_bps"] == "800 Mb/s"  # (3.6 - 2) x 125 MB = 200 MB in 2 s
        await pilot.pause()
        assert "800 Mb/s" in shown_line(pane.table, "ethernet-1/4")
        # Nothing changed since: nothing is read, nothing repainted.
        read.clear()
        pane.apply_changes(store, store.changes_since(store.version))
        assert read == []
        assert pane.table.lines_refreshed == before + 1


async def test_rows_follow_interfaces_that_appear_and_disappear(clock, store):
    pane = InterfaceCountersPane(clock=clock)
    async with PaneHost(pane).run_test(size=(140, 30)) as pilot:
        pane.select(store, Selection("device", DEVICE))
        version = store.version
        store.apply_interfaces(InterfaceBatch.of(InterfaceSample(DEVICE, "ethernet-1/5", clock.now(), oper_state="up")))
        pane.apply_changes(store, store.changes_since(version))
        assert "ethernet-1/5" in pane.table.visible_keys()
        assert pane.table.visible_keys().index("ethernet-1/5") == 4  # natural order: after 1/4
        # The device came back with fewer ports (a new store after a reload): rows for the rest go.
        smaller = make_store(clock)
        feed(smaller, clock, 1, names=["ethernet-1/1", "mgmt0"])
        pane.apply_changes(smaller, smaller.changes_since(0))
        assert pane.table.keys() == ("ethernet-1/1", "mgmt0")
        await pilot.pause()
        assert shown_line(pane.table, "mgmt0").split()[0] == "mgmt0"


async def test_a_hostile_description_renders_inert(clock, store):
    pane = InterfaceCountersPane(clock=clock)
    async with PaneHost(pane).run_test(size=(200, 20)) as pilot:
        pane.select(store, Selection("device", DEVICE))
        await pilot.pause()
        table = pane.table
        strip = table.render_line(1 + table.visible_keys().index("ethernet-1/3"))
        assert "[red]PWNED[/red] red" in strip.text  # the markup is text, the escape sequences are gone
        assert "[bold]x[/]" in strip.text
        for segment in strip:
            assert "\x1b" not in segment.text
            assert "\x07" not in segment.text
            assert "52;c;" not in segment.text  # no clipboard write survives
        name_style = next(segment.style for segment in strip if "ethernet-1/3" in segment.text)
        pwned = [segment for segment in strip if "PWNED" in segment.text]
        assert pwned
        assert all(segment.style == name_style for segment in pwned)  # not red, not bold: no markup applied


async def test_a_site_or_the_fleet_shows_a_hint_instead_of_a_table(clock, store):
    pane = InterfaceCountersPane(clock=clock)
    async with PaneHost(pane).run_test(size=(140, 30)) as pilot:
        pane.select(store, Selection("device", DEVICE))
        pane.select(store, Selection("site", "alcala"))
        await pilot.pause()
        assert pane.device is None
        assert not pane.table.display
        assert pane.query_one("#counters-placeholder").display
        assert pane.table.row_count == 0
        pane.select(store, Selection("device", "no-such-device"))
        assert pane.device is None


def test_bindings_are_described_for_the_help_screen():
    described = {binding.key: binding.description for binding in InterfaceCountersPane.BINDINGS}  # type: ignore[union-attr]
    for key in ("s", "S", "slash", "u", "e"):
        assert described.get(key), key
