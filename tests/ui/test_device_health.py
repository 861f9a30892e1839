"""The device health pane on a fleet store with a hand-moved clock: a device's values, a site's table, the fleet."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widget import Widget

from edgeops.clock import ManualClock
from edgeops.devices.interface_rows import InterfaceBatch
from edgeops.devices.samples import (
    Alarm,
    ComponentStatus,
    HealthSample,
    InterfaceSample,
    SessionState,
    Severity,
    TemperatureReading,
)
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Device, Inventory, JumpHost, Site
from edgeops.lab.faults import HOSTILE_DESCRIPTION
from edgeops.platforms import Platform
from edgeops.ui.live import Selection, SelectionChanged
from edgeops.ui.panes.device_health import DeviceHealthPane

START = 1_767_225_600.0
GIB = 2**30


def make_store(clock: ManualClock) -> FleetStore:
    inventory = Inventory(
        sites=(Site("Tecno-Alcalá", "alcala"), Site("Getafe Norte", "getafe")),
        devices=(
            Device("alc-leaf1", "alcala", "leaf", Platform.SRLINUX, "7220 IXR-D2L", "127.0.1.1", jump="jump-alcala"),
            Device("alc-leaf2", "alcala", "leaf", Platform.SRLINUX, "7220 IXR-D2L", "127.0.1.2"),
            Device("alc-gw1", "alcala", "gateway", Platform.SROS, "7750 SR-1", "127.0.1.3", gnmi_port=None),
            Device("get-leaf1", "getafe", "leaf", Platform.SRLINUX, "7220 IXR-D3L", "127.0.2.1"),
        ),
        jump_hosts=(JumpHost("jump-alcala", "127.0.1.254"),),
    )
    return FleetStore(inventory, clock, history_resolution_s=2.0)


def health(device: str, t: float, **fields) -> HealthSample:
    return HealthSample(device=device, timestamp=t, **fields)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START, monotonic_start=500.0)


@pytest.fixture
def store(clock: ManualClock) -> FleetStore:
    store = make_store(clock)
    store.set_session("alc-leaf1", "ssh", SessionState.UP)
    store.set_session("alc-leaf1", "gnmi", SessionState.UP)
    store.set_telemetry_source("alc-leaf1", "gnmi")
    store.set_expected_interval("alc-leaf1", 2.0)
    store.apply_health(
        health(
            "alc-leaf1",
            clock.now(),
            hostname="alc-leaf1",
            chassis="7220 IXR-D2L",
            version="v25.10.1",
            boot_time=clock.now() - (3 * 86_400 + 4 * 3_600 + 120),
            cpu_pct=23.5,
            memory_total=16 * GIB,
            memory_used=4 * GIB,
            temperatures=(TemperatureReading("control A", 45.0), TemperatureReading("linecard 1", 81.0, alarm=True)),
            fans=(ComponentStatus("fan-tray 1", "up"), ComponentStatus("fan-tray 2", "up")),
            power_supplies=(
                ComponentStatus("power-supply 1", "up"),
                ComponentStatus("power-supply 2", "failed", "no input power"),
            ),
            alarms=(
                Alarm("alc-leaf1", "psu2", Severity.MAJOR, "power-supply 2", "Power supply 2 failed", START - 60),
                Alarm("alc-leaf1", "evil", Severity.MINOR, "ethernet-1/3", HOSTILE_DESCRIPTION, START - 30),
                Alarm(
                    "alc-leaf1",
                    "linecard 1/temperature",
                    Severity.MAJOR,
                    "linecard 1",
                    "linecard 1 temperature alarm-status is true",
                    START - 10,
                    derived=True,
                ),
            ),
        )
    )
    store.set_session("alc-leaf2", "ssh", SessionState.UP)
    store.set_session("alc-leaf2", "gnmi", SessionState.DOWN, "connection refused")
    store.apply_health(health("alc-leaf2", clock.now(), version="v25.10.1", cpu_pct=91.0, memory_total=16 * GIB))
    store.set_session("alc-gw1", "ssh", SessionState.UP)
    store.set_telemetry_source("alc-gw1", "ssh")
    store.apply_health(
        health("alc-gw1", clock.now(), version="C-25.10.R2", cpu_pct=5.0, memory_total=8 * GIB, memory_used=GIB)
    )
    return store


class PaneHost(App[None]):
    def __init__(self, pane: DeviceHealthPane) -> None:
        super().__init__()
        self.pane = pane
        self.selections: list[Selection] = []

    def compose(self) -> ComposeResult:
        yield self.pane

    def on_selection_changed(self, event: SelectionChanged) -> None:
        self.selections.append(event.selection)


def plain(pane: DeviceHealthPane, section: str) -> str:
    content = pane.section_content(section)
    assert content is not None, section
    return content.plain


def rendered(widget: Widget) -> list:
    return [widget.render_line(y) for y in range(widget.size.height)]


async def test_a_device_shows_its_values(store):
    pane = DeviceHealthPane()
    async with PaneHost(pane).run_test(size=(120, 30)) as pilot:
        pane.select(store, Selection("device", "alc-leaf1"))
        await pilot.pause()
        title = plain(pane, "title")
        assert "alc-leaf1" in title
        assert " up " in title
        assert "SR Linux · 7220 IXR-D2L · v25.10.1" in title
        assert "up 3d 04h" in title
        sessions = plain(pane, "sessions")
        assert "SSH up · gNMI up" in sessions
        assert "via jump host jump-alcala" in sessions
        assert "telemetry gNMI" in sessions
        assert "23.5%" in plain(pane, "cpu")
        assert "4 GiB / 16 GiB (25.0%)" in plain(pane, "memory")
        assert "linecard 1 81°C ALARM" in plain(pane, "temps")
        assert "fan-tray 1 up · fan-tray 2 up" in plain(pane, "fans")
        assert "power-supply 2 FAILED (no input power)" in plain(pane, "psus")
        alarms = plain(pane, "alarms")
        assert "3 active · 1 derived from device state" in alarms
        assert alarms.index("major") < alarms.index("minor")  # most severe first
        assert "Power supply 2 failed" in alarms
        # An alarm edgeops derived from the device's state says so; one the device raised does not.
        lines = alarms.splitlines()
        assert "linecard 1 derived linecard 1 temperature alarm-status is true" in " ".join(
            next(line for line in lines if "alarm-status" in line).split()
        )
        assert "derived" not in next(line for line in lines if "Power supply 2 failed" in line)
        assert "updated 0s ago" in plain(pane, "age")
        # What reaches the screen: the failed PSU in the theme's error colour, the working one not.
        psus = pane.section("psus")
        segments = [segment for strip in rendered(psus) for segment in strip]
        failed = next(segment for segment in segments if "FAILED" in segment.text)
        working = next(segment for segment in segments if "power-supply 1 up" in segment.text)
        assert failed.style is not None and failed.style.bold
        assert failed.style.color != working.style.color


async def test_telemetry_via_ssh_and_a_failing_session_are_spelled_out(store):
    pane = DeviceHealthPane()
    async with PaneHost(pane).run_test(size=(120, 30)):
        pane.select(store, Selection("device", "alc-gw1"))
        assert "telemetry via SSH" in plain(pane, "sessions")
        assert "gNMI unavailable" in plain(pane, "sessions")
        assert "SR OS" in plain(pane, "title")
        pane.select(store, Selection("device", "alc-leaf2"))
        assert "gNMI down (connection refused)" in plain(pane, "sessions")
        assert " degraded " in plain(pane, "title")


async def test_stale_data_is_marked(clock, store):
    pane = DeviceHealthPane()
    async with PaneHost(pane).run_test(size=(120, 30)):
        pane.select(store, Selection("device", "alc-leaf1"))
        version = store.version
        clock.advance(7.0)  # three intervals of 2 s without data
        store.refresh_staleness()
        pane.apply_changes(store, store.changes_since(version))
        assert "STALE" in plain(pane, "title")
        assert "updated 7s ago" in plain(pane, "age")
        assert "STALE (expected every 2s)" in plain(pane, "age")


async def test_only_changes_of_the_selected_device_repaint_and_only_the_sections_that_changed(clock, store):
    pane = DeviceHealthPane()
    async with PaneHost(pane).run_test(size=(120, 30)):
        pane.select(store, Selection("device", "alc-leaf1"))
        painted = pane.sections_repainted
        version = store.version
        store.apply_health(health("alc-leaf2", clock.now(), cpu_pct=50.0))  # another device
        pane.apply_changes(store, store.changes_since(version))
        assert pane.sections_repainted == painted
        version = store.version
        store.apply_health(health("alc-leaf1", clock.now(), cpu_pct=42.0))
        pane.apply_changes(store, store.changes_since(version))
        assert pane.sections_repainted == painted + 1  # just the CPU line
        assert "42.0%" in plain(pane, "cpu")
        version = store.version
        clock.advance(1.0)
        store.apply_interfaces(
            InterfaceBatch.of(InterfaceSample("alc-leaf1", "ethernet-1/1", clock.now(), in_octets=1))
        )
        pane.apply_changes(store, store.changes_since(version))
        assert pane.sections_repainted == painted + 1  # the data is as old as it was: nothing to repaint


async def test_hostile_alarm_text_renders_inert(store):
    pane = DeviceHealthPane()
    async with PaneHost(pane).run_test(size=(160, 30)) as pilot:
        pane.select(store, Selection("device", "alc-leaf1"))
        await pilot.pause()
        assert "[red]PWNED[/red]" in plain(pane, "alarms")
        segments = [segment for strip in rendered(pane.section("alarms")) for segment in strip]
        assert any("[red]PWNED[/red]" in segment.text for segment in segments)
        assert all("\x1b" not in segment.text and "\x07" not in segment.text for segment in segments)
        pwned = next(segment for segment in segments if "PWNED" in segment.text)
        assert pwned.style is None or not pwned.style.bold


async def test_a_site_shows_a_sortable_table_of_its_devices(clock, store):
    pane = DeviceHealthPane()
    async with PaneHost(pane).run_test(size=(120, 30)) as pilot:
        pane.select(store, Selection("site", "alcala"))
        await pilot.pause()
        table = pane.site_table
        assert table.visible_keys() == ("alc-gw1", "alc-leaf1", "alc-leaf2")
        leaf1 = {c.key: cell.text for c, cell in zip(table.columns, table.row("alc-leaf1").cells, strict=True)}
        assert leaf1["state"] == "up"
        assert leaf1["cpu"] == "23.5%"
        assert leaf1["memory"] == "25.0%"
        assert leaf1["temperature"] == "81°C"
        assert leaf1["alarms"] == "3"
        assert leaf1["version"] == "v25.10.1"
        assert leaf1["uptime"] == "3d 04h"
        assert table.row("alc-leaf2").cells[2].text == "degraded"
        pane.focus()
        await pilot.press(*"sss")  # device -> role -> state -> CPU
        assert table.sort_column == "cpu"
        assert table.visible_keys() == ("alc-leaf2", "alc-leaf1", "alc-gw1")
        # A change to one device of the site repaints that row only.
        version = store.version
        store.apply_health(health("alc-gw1", clock.now(), cpu_pct=6.0))
        pane.apply_changes(store, store.changes_since(version))
        assert table.last_refreshed == {"alc-gw1"}
        # Enter drills down to the device.
        table.move_cursor("alc-leaf1")
        await pilot.press("enter")
        await pilot.pause()
        assert pilot.app.selections == [Selection("device", "alc-leaf1")]


async def test_the_fleet_shows_one_row_per_site(store):
    pane = DeviceHealthPane()
    async with PaneHost(pane).run_test(size=(120, 30)) as pilot:
        pane.select(store, Selection("fleet"))
        await pilot.pause()
        table = pane.fleet_table
        assert table.visible_keys() == ("alcala", "getafe")
        alcala = {c.key: cell.text for c, cell in zip(table.columns, table.row("alcala").cells, strict=True)}
        assert alcala["name"] == "Tecno-Alcalá"
        assert alcala["devices"] == "3"
        assert alcala["up"] == "2"  # alc-leaf1, alc-gw1 (SSH only, no gNMI to have)
        assert alcala["degraded"] == "1"
        assert alcala["alarms"] == "3"
        table.move_cursor("getafe")
        pane.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert pilot.app.selections == [Selection("site", "getafe")]


async def test_nothing_selected_or_unknown_shows_a_hint(store):
    pane = DeviceHealthPane()
    async with PaneHost(pane).run_test(size=(120, 30)):
        pane.select(store, Selection("device", "no-such-device"))
        assert pane.query_one("#health-switcher").current == "health-empty"
        pane.select(store, Selection("site", "no-such-site"))
        assert pane.query_one("#health-switcher").current == "health-empty"


def test_long_component_and_sensor_lists_are_summarised_not_wrapped(clock):
    from edgeops.ui.panes.device_health import components_content, temperatures_content

    supplies = tuple(ComponentStatus(f"power-supply {i}", "up") for i in range(1, 7))
    assert components_content("Power", supplies).plain.split(None, 1)[1] == "6 of 6 up"
    broken = (*supplies[:5], ComponentStatus("power-supply 6", "failed"))
    assert "power-supply 6 FAILED · 5 of 6 up" in components_content("Power", broken).plain
    short = (ComponentStatus("fan 1", "up"), ComponentStatus("fan 2", "empty"))
    assert components_content("Fans", short).plain.endswith("fan 1 up · fan 2 empty")

    store = make_store(clock)
    sensors = tuple(TemperatureReading(f"sensor number {i}", 40.0 + i) for i in range(10))
    hot = (*sensors, TemperatureReading("linecard 3", 30.0, alarm=True))
    store.apply_health(health("get-leaf1", clock.now(), temperatures=hot))
    text = temperatures_content(store.device("get-leaf1")).plain
    assert text.startswith("Temp     linecard 3 30°C ALARM · sensor number 9 49°C")
    assert "more" in text
    assert len(text) <= 9 + 60
