"""The fleet store, driven by a hand-moved clock: exact rates, staleness, change tracking, rollups."""

from __future__ import annotations

import dataclasses

import pytest

from edgeops.clock import Clock, ManualClock, SystemClock
from edgeops.devices.interface_rows import InterfaceBatch, interface_row
from edgeops.devices.samples import (
    Alarm,
    DeviceState,
    HealthSample,
    InterfaceSample,
    SessionState,
    Severity,
    TemperatureReading,
)
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Device, Inventory, Site
from edgeops.naming import natural_key
from edgeops.platforms import Platform

START = 1_767_225_600.0
GBIT = 1_000_000_000


def make_inventory() -> Inventory:
    return Inventory(
        sites=(Site("Tecno-Alcalá", "alcala"), Site("Getafe Norte", "getafe")),
        devices=(
            Device("alc-leaf1", "alcala", "leaf", Platform.SRLINUX, "7220 IXR-D2L", "127.0.1.1"),
            Device("alc-leaf2", "alcala", "leaf", Platform.SRLINUX, "7220 IXR-D2L", "127.0.1.2"),
            Device("alc-gw1", "alcala", "gateway", Platform.SROS, "7750 SR-1", "127.0.1.3"),
            Device("get-leaf1", "getafe", "leaf", Platform.SRLINUX, "7220 IXR-D3L", "127.0.2.1"),
            Device("get-gw1", "getafe", "gateway", Platform.SROS, "7750 SR-1", "127.0.2.2", gnmi_port=None),
        ),
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START, monotonic_start=500.0)


@pytest.fixture
def store(clock: ManualClock) -> FleetStore:
    return FleetStore(make_inventory(), clock, history_resolution_s=2.0)


def iface(device: str, name: str, t: float, **fields) -> InterfaceSample:
    return InterfaceSample(device=device, name=name, timestamp=t, **fields)


# --- clock -----------------------------------------------------------------------------------


def test_manual_clock_moves_only_when_told():
    clock = ManualClock(100.0, monotonic_start=5.0)
    assert isinstance(clock, Clock)
    assert (clock.now(), clock.monotonic()) == (100.0, 5.0)
    clock.advance(2.5)
    assert (clock.now(), clock.monotonic()) == (102.5, 7.5)
    clock.set(50.0)  # a wall-clock step leaves the monotonic reading alone
    assert (clock.now(), clock.monotonic()) == (50.0, 7.5)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_system_clock_is_a_clock():
    clock = SystemClock()
    assert isinstance(clock, Clock)
    assert clock.now() > 1_600_000_000
    assert clock.monotonic() <= clock.monotonic()


# --- natural sort ----------------------------------------------------------------------------


def test_natural_key_orders_srlinux_and_sros_names():
    names = [
        "ethernet-1/10",
        "mgmt0",
        "ethernet-1/2",
        "ethernet-1/1.10",
        "ethernet-1/1",
        "ethernet-1/1.2",
        "ethernet-1/3/1",
        "lag10",
        "lag2",
    ]
    assert sorted(names, key=natural_key) == [
        "ethernet-1/1",
        "ethernet-1/1.2",
        "ethernet-1/1.10",
        "ethernet-1/2",
        "ethernet-1/3/1",
        "ethernet-1/10",
        "lag2",
        "lag10",
        "mgmt0",
    ]
    ports = ["1/1/c10/1", "A/1", "1/1/c2/1", "1/2/1", "1/1/c1", "1/1/c2/2"]
    assert sorted(ports, key=natural_key) == ["1/1/c1", "1/1/c2/1", "1/1/c2/2", "1/1/c10/1", "1/2/1", "A/1"]


def test_natural_key_is_total_on_equal_numbers():
    assert sorted(["eth01", "eth1"], key=natural_key) == ["eth01", "eth1"]
    assert natural_key("Eth1") != natural_key("eth1")


def test_interfaces_come_back_in_natural_order(store):
    for name in ["ethernet-1/10", "ethernet-1/2", "ethernet-1/1"]:
        store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", name, START, oper_state="up")))
    assert [i.name for i in store.interfaces("alc-leaf1")] == ["ethernet-1/1", "ethernet-1/2", "ethernet-1/10"]
    store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", "ethernet-1/3", START, oper_state="up")))
    assert [i.name for i in store.interfaces("alc-leaf1")][2] == "ethernet-1/3"


# --- rates -----------------------------------------------------------------------------------


def test_rates_from_two_samples(store, clock):
    store.apply_interfaces(
        InterfaceBatch.of(
            iface(
                "alc-leaf1",
                "ethernet-1/1",
                START,
                speed_bps=10 * GBIT,
                oper_state="up",
                admin_state="enable",
                description="to alc-spine1",
                in_octets=1_000_000,
                out_octets=5_000_000,
                in_packets=1_000,
                out_packets=4_000,
                in_errors=3,
                out_errors=0,
                in_discards=0,
                out_discards=10,
            )
        )
    )
    first = store.interface("alc-leaf1", "ethernet-1/1")
    assert first.rates.in_bps is None  # one sample: a baseline only
    assert first.counters.in_octets == 1_000_000
    clock.advance(2.0)
    store.apply_interfaces(
        InterfaceBatch.of(
            iface(
                "alc-leaf1",
                "ethernet-1/1",
                START + 2.0,
                in_octets=1_000_000 + 250_000_000,  # 2 Gbit/s over 2 s
                out_octets=5_000_000 + 125_000_000,
                in_packets=1_000 + 200_000,
                out_packets=4_000 + 100_000,
                in_errors=7,
                out_errors=0,
                in_discards=0,
                out_discards=16,
            )
        )
    )
    snap = store.interface("alc-leaf1", "ethernet-1/1")
    assert snap.description == "to alc-spine1"  # kept from the first sample
    assert snap.speed_bps == 10 * GBIT
    assert snap.rates.in_bps == 1_000_000_000.0
    assert snap.rates.out_bps == 500_000_000.0
    assert snap.rates.in_pps == 100_000.0
    assert snap.rates.out_pps == 50_000.0
    assert snap.rates.in_errors_ps == 2.0
    assert snap.rates.out_errors_ps == 0.0
    assert snap.rates.in_discards_ps == 0.0
    assert snap.rates.out_discards_ps == 3.0
    assert snap.rates.in_util_pct == 10.0
    assert snap.rates.out_util_pct == 5.0
    assert snap.counters.out_discards == 16
    assert snap.last_update == START + 2.0
    # Traffic history keeps 16-bit log-scale codes: within 0.024 % of the rate.
    assert snap.history == ((START + 2.0, pytest.approx(1e9, rel=3e-4), pytest.approx(5e8, rel=3e-4)),)


def test_partial_updates_merge_and_rate_per_counter(store, clock):
    # SR OS: one leaf per update, the two directions stamped half a second apart.
    dev, port = "alc-gw1", "1/1/c1/1"
    store.apply_interfaces(InterfaceBatch.of(iface(dev, port, 100.0, oper_state="up", speed_bps=100 * GBIT)))
    store.apply_interfaces(InterfaceBatch.of(iface(dev, port, 100.0, in_octets=0)))
    store.apply_interfaces(InterfaceBatch.of(iface(dev, port, 100.5, out_octets=0)))
    clock.advance(1.0)
    store.apply_interfaces(InterfaceBatch.of(iface(dev, port, 101.0, in_octets=125_000)))
    clock.advance(0.5)
    store.apply_interfaces(InterfaceBatch.of(iface(dev, port, 101.5, out_octets=250_000)))
    snap = store.interface(dev, port)
    assert snap.oper_state == "up"
    assert snap.speed_bps == 100 * GBIT
    assert snap.rates.in_bps == 1_000_000.0
    assert snap.rates.out_bps == 2_000_000.0
    assert snap.rates.in_pps is None  # never reported
    # Both directions landed in one history bucket: one point, not two.
    assert len(snap.history) == 1
    assert snap.history[0][1:] == pytest.approx((1_000_000.0, 2_000_000.0), rel=3e-4)


def test_wrap_gives_the_true_rate(store, clock):
    top = 2**64
    store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", "ethernet-1/1", 10.0, in_octets=top - 1_000)))
    clock.advance(2.0)
    store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", "ethernet-1/1", 12.0, in_octets=1_000)))
    assert store.interface("alc-leaf1", "ethernet-1/1").rates.in_bps == 8_000.0  # 2000 B * 8 / 2 s


def test_reset_gives_no_rate_then_resumes(store, clock):
    name = "ethernet-1/1"
    store.apply_interfaces(
        InterfaceBatch.of(iface("alc-leaf1", name, 10.0, in_octets=10_000_000, out_octets=10_000_000))
    )
    clock.advance(2.0)
    store.apply_interfaces(
        InterfaceBatch.of(iface("alc-leaf1", name, 12.0, in_octets=10_002_000, out_octets=10_004_000))
    )
    assert store.interface("alc-leaf1", name).rates.in_bps == 8_000.0
    clock.advance(2.0)
    store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", name, 14.0, in_octets=500, out_octets=700)))  # rebooted
    snap = store.interface("alc-leaf1", name)
    assert snap.rates.in_bps is None
    assert snap.rates.out_bps is None
    assert snap.counters.in_octets == 500
    clock.advance(2.0)
    store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", name, 16.0, in_octets=1_500, out_octets=2_700)))
    snap = store.interface("alc-leaf1", name)
    assert snap.rates.in_bps == 4_000.0
    assert snap.rates.out_bps == 8_000.0
    # No spike and no point for the reset interval: a gap between the two points.
    assert [p[1] for p in snap.history] == pytest.approx([8_000.0, 4_000.0], rel=3e-4)
    assert [p[0] - START for p in snap.history] == [2.0, 6.0]


def test_interface_sparkline(store, clock):
    for step in range(6):
        store.apply_interfaces(
            InterfaceBatch.of(iface("alc-leaf1", "ethernet-1/1", 2.0 * step, in_octets=1_000 * step**2))
        )
        clock.advance(2.0)
    ins, outs = store.interface_sparkline("alc-leaf1", "ethernet-1/1", 2, last=6)
    # The last 6 buckets hold 4000, 12000, 20000, 28000, 36000 bps and the current, empty one.
    assert ins == pytest.approx((20_000.0, 36_000.0), rel=3e-4)
    assert outs == (None, None)
    last_three = store.interface_sparkline("alc-leaf1", "ethernet-1/1", 10, last=3)[0]
    assert last_three[:2] == pytest.approx((28_000.0, 36_000.0), rel=3e-4) and last_three[2] is None


# --- health, CPU, alarms ---------------------------------------------------------------------


def alarm(device: str, alarm_id: str, severity: Severity, raised_at: float | None) -> Alarm:
    return Alarm(device, alarm_id, severity, "chassis", f"alarm {alarm_id}", raised_at)


def test_health_merges_partial_samples(store, clock):
    store.apply_health(
        HealthSample(
            "alc-leaf1",
            START,
            hostname="alc-leaf1",
            version="v25.10.1",
            boot_time=START - 3_600.0,
            cpu_pct=12.0,
            temperatures=(TemperatureReading("control A", 41.0),),
        )
    )
    clock.advance(2.0)
    store.apply_health(HealthSample("alc-leaf1", START + 2.0, cpu_pct=20.0, memory_total=16, memory_used=4))
    snap = store.device("alc-leaf1")
    assert snap.health is not None
    assert snap.health.version == "v25.10.1"
    assert snap.health.cpu_pct == 20.0
    assert snap.health.memory_used == 4
    assert snap.health.temperatures == (TemperatureReading("control A", 41.0),)
    assert snap.health.timestamp == START + 2.0
    assert snap.uptime_s == 3_602.0
    assert snap.cpu_history == ((START, 12.0), (START + 2.0, 20.0))
    assert store.cpu_sparkline("alc-leaf1", 1, last=2) == (20.0,)


def test_alarms_replace_the_list_and_sort_by_severity_then_newest(store):
    store.apply_health(HealthSample("alc-leaf1", START, alarms=(alarm("alc-leaf1", "1", Severity.MINOR, 5.0),)))
    store.apply_health(
        HealthSample(
            "alc-leaf1",
            START,
            alarms=(
                alarm("alc-leaf1", "2", Severity.WARNING, 1.0),
                alarm("alc-leaf1", "3", Severity.CRITICAL, 1.0),
                alarm("alc-leaf1", "4", Severity.CRITICAL, 9.0),
                alarm("alc-leaf1", "5", Severity.CRITICAL, None),
            ),
        )
    )
    assert [a.alarm_id for a in store.alarms("alc-leaf1")] == ["4", "3", "5", "2"]  # "1" was cleared
    store.apply_health(HealthSample("alc-gw1", START, alarms=(alarm("alc-gw1", "9", Severity.MAJOR, 2.0),)))
    assert [a.alarm_id for a in store.alarms()] == ["4", "3", "5", "9", "2"]
    store.apply_health(HealthSample("alc-leaf1", START, cpu_pct=5.0))  # no alarms field: list kept
    assert len(store.alarms("alc-leaf1")) == 4
    assert store.device("alc-leaf1").alarms == store.alarms("alc-leaf1")
    store.apply_health(HealthSample("alc-leaf1", START, alarms=()))
    assert [a.alarm_id for a in store.alarms()] == ["9"]


# --- sessions and device state ---------------------------------------------------------------


def test_initial_states(store):
    assert store.device("alc-leaf1").gnmi is SessionState.IDLE
    assert store.device("alc-leaf1").state is DeviceState.CONNECTING
    # No gNMI port: its gNMI is unavailable, so SSH alone decides.
    assert store.device("get-gw1").gnmi is SessionState.UNAVAILABLE


def test_session_states_derive_the_device_state(store, clock):
    store.set_session("alc-leaf1", "ssh", SessionState.UP)
    store.set_session("alc-leaf1", "gnmi", SessionState.UP)
    assert store.device("alc-leaf1").state is DeviceState.UP
    clock.advance(5.0)
    store.set_session("alc-leaf1", "gnmi", SessionState.DOWN, "stream cut: UNAVAILABLE")
    snap = store.device("alc-leaf1")
    assert snap.state is DeviceState.DEGRADED
    assert snap.gnmi_detail == "stream cut: UNAVAILABLE"
    assert snap.state_since == START + 5.0
    store.set_session("get-gw1", "ssh", SessionState.UP)
    assert store.device("get-gw1").state is DeviceState.UP
    with pytest.raises(ValueError):
        store.set_session("alc-leaf1", "telnet", SessionState.UP)  # type: ignore[arg-type]


def test_repeating_a_session_state_is_not_a_change(store):
    store.set_session("alc-leaf1", "ssh", SessionState.UP)
    version = store.version
    store.set_session("alc-leaf1", "ssh", SessionState.UP)
    assert store.version == version
    store.set_session("alc-leaf1", "ssh", SessionState.UP, "new detail")
    assert store.version == version + 1


def test_unknown_device_is_a_key_error(store):
    with pytest.raises(KeyError):
        store.apply_interfaces(InterfaceBatch.of(iface("nowhere", "ethernet-1/1", START)))
    with pytest.raises(KeyError):
        store.device("nowhere")


# --- staleness -------------------------------------------------------------------------------


def test_staleness_after_three_intervals_with_its_age(store, clock):
    store.set_expected_interval("alc-leaf1", 2.0)
    store.set_telemetry_source("alc-leaf1", "gnmi")
    store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", "ethernet-1/1", START, in_octets=0)))
    store.apply_health(HealthSample("alc-leaf1", START, cpu_pct=3.0))
    clock.advance(6.0)  # exactly 3 intervals: not yet stale
    snap = store.device("alc-leaf1")
    assert (snap.stale, snap.age_s, snap.last_update) == (False, 6.0, START)
    assert store.refresh_staleness() == frozenset()
    clock.advance(0.5)
    snap = store.device("alc-leaf1")
    assert snap.stale is True
    assert snap.age_s == 6.5
    assert snap.telemetry_source == "gnmi"
    assert store.interface("alc-leaf1", "ethernet-1/1").stale is True
    version = store.version
    assert store.refresh_staleness() == frozenset({"alc-leaf1"})
    changes = store.changes_since(version)
    assert changes.devices == {"alc-leaf1"}
    assert changes.interfaces == {("alc-leaf1", "ethernet-1/1")}
    assert changes.sites == {"alcala"}
    assert store.refresh_staleness() == frozenset()  # announced once
    # Fresh data clears it at once, and says so.
    version = store.version
    store.apply_health(HealthSample("alc-leaf1", START + 6.5, cpu_pct=4.0))
    snap = store.device("alc-leaf1")
    assert (snap.stale, snap.age_s) == (False, 0.0)
    assert "alc-leaf1" in store.changes_since(version).devices
    assert store.interface("alc-leaf1", "ethernet-1/1").stale is True  # that interface is still silent


def test_no_data_at_all_turns_stale_from_when_it_was_expected(store, clock):
    clock.advance(100.0)
    store.set_expected_interval("alc-leaf2", 10.0)
    clock.advance(30.0)
    assert store.device("alc-leaf2").stale is False
    clock.advance(1.0)
    snap = store.device("alc-leaf2")
    assert (snap.stale, snap.age_s, snap.last_update) == (True, None, None)


def test_without_an_interval_nothing_is_stale(store, clock):
    store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", "ethernet-1/1", START, in_octets=0)))
    clock.advance(10_000.0)
    assert store.device("alc-leaf1").stale is False
    assert store.device("alc-leaf1").age_s == 10_000.0
    with pytest.raises(ValueError):
        store.set_expected_interval("alc-leaf1", 0.0)


# --- change tracking -------------------------------------------------------------------------


def test_a_new_reader_gets_everything(store):
    changes = store.changes_since(0)
    assert changes.full and changes.structure
    assert changes.devices == {"alc-leaf1", "alc-leaf2", "alc-gw1", "get-leaf1", "get-gw1"}
    assert changes.sites == {"alcala", "getafe"}
    assert changes.version == store.version
    assert store.changes_since(changes.version).empty


def test_changes_since_names_just_what_changed(store, clock):
    for dev in ("alc-leaf1", "alc-leaf2", "get-leaf1"):
        for port in ("ethernet-1/1", "ethernet-1/2"):
            store.apply_interfaces(InterfaceBatch.of(iface(dev, port, START, in_octets=0)))
    version = store.version
    clock.advance(2.0)
    store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf2", "ethernet-1/2", START + 2, in_octets=10)))
    changes = store.changes_since(version)
    assert changes.interfaces == {("alc-leaf2", "ethernet-1/2")}
    assert changes.interfaces_of("alc-leaf2") == {"ethernet-1/2"}
    assert changes.devices == frozenset()
    assert changes.sites == frozenset()
    assert not changes.structure and not changes.full
    assert changes.version == store.version == version + 1

    version = store.version
    store.set_session("get-leaf1", "ssh", SessionState.UP)
    store.apply_health(HealthSample("get-leaf1", START, cpu_pct=9.0))
    changes = store.changes_since(version)
    assert changes.devices == {"get-leaf1"}
    assert changes.sites == {"getafe"}
    assert changes.interfaces == frozenset()


def test_a_new_interface_is_a_structure_change(store):
    store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", "ethernet-1/1", START)))
    version = store.version
    store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", "ethernet-1/1", START)))
    assert not store.changes_since(version).structure
    store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", "ethernet-1/2", START)))
    changes = store.changes_since(version)
    assert changes.structure
    assert changes.interfaces == {("alc-leaf1", "ethernet-1/1"), ("alc-leaf1", "ethernet-1/2")}


def test_a_version_older_than_the_log_returns_everything(clock):
    store = FleetStore(make_inventory(), clock, change_log_size=4)
    version = store.version
    for i in range(3):
        store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", "ethernet-1/1", START + i)))
    assert not store.changes_since(version).full  # 4 entries: structure + 3 updates
    store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", "ethernet-1/1", START + 3)))
    changes = store.changes_since(version)
    assert changes.full
    assert changes.interfaces == {("alc-leaf1", "ethernet-1/1")}
    assert store.changes_since(store.version + 5).full  # a version from somewhere else


def test_version_increases_on_every_change(store):
    versions = [store.version]
    store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", "ethernet-1/1", START)))
    versions.append(store.version)
    store.apply_health(HealthSample("alc-leaf1", START))
    versions.append(store.version)
    store.set_session("alc-leaf1", "gnmi", SessionState.CONNECTING)
    versions.append(store.version)
    store.set_telemetry_source("alc-leaf1", "ssh")
    versions.append(store.version)
    store.set_expected_interval("alc-leaf1", 5.0)
    versions.append(store.version)
    assert versions == sorted(set(versions))


# --- rollups ---------------------------------------------------------------------------------


def test_site_and_fleet_rollups(store, clock):
    up = SessionState.UP
    store.set_session("alc-leaf1", "ssh", up)
    store.set_session("alc-leaf1", "gnmi", up)
    store.set_session("alc-leaf2", "ssh", up)
    store.set_session("alc-leaf2", "gnmi", SessionState.UNREACHABLE)  # degraded
    store.set_session("alc-gw1", "ssh", SessionState.HOSTKEY_MISMATCH)
    store.set_session("get-leaf1", "ssh", SessionState.UNREACHABLE)
    store.set_session("get-leaf1", "gnmi", SessionState.UNREACHABLE)
    store.set_session("get-gw1", "ssh", up)  # no gNMI: up
    store.apply_health(
        HealthSample(
            "alc-leaf1",
            START,
            alarms=(
                alarm("alc-leaf1", "1", Severity.CRITICAL, 1.0),
                alarm("alc-leaf1", "2", Severity.MINOR, 1.0),
                alarm("alc-leaf1", "3", Severity.MINOR, 2.0),
            ),
        )
    )
    store.apply_health(HealthSample("get-gw1", START, alarms=(alarm("get-gw1", "1", Severity.MAJOR, 1.0),)))
    for name in ("alc-leaf1", "alc-leaf2"):
        store.set_expected_interval(name, 1.0)
    clock.advance(3.0)
    store.apply_health(HealthSample("alc-leaf1", START + 3, cpu_pct=1.0))  # fresh: alc-leaf2 is stale
    clock.advance(1.5)

    alcala = store.site_rollup("alcala")
    assert alcala.name == "Tecno-Alcalá"
    assert (alcala.total, alcala.up, alcala.degraded, alcala.down, alcala.problems) == (3, 1, 1, 0, 1)
    assert (alcala.connecting, alcala.stale) == (0, 1)
    assert (alcala.alarms.critical, alcala.alarms.minor, alcala.alarms.total) == (1, 2, 3)
    assert alcala.alarms.count(Severity.MINOR) == 2

    getafe = store.site_rollup("getafe")
    assert (getafe.total, getafe.up, getafe.down, getafe.problems, getafe.stale) == (2, 1, 1, 0, 0)
    assert getafe.alarms.major == 1

    fleet = store.fleet_rollup()
    assert (fleet.sites, fleet.total, fleet.up, fleet.degraded, fleet.down, fleet.problems) == (2, 5, 2, 1, 1, 1)
    assert fleet.alarms.total == 4
    assert fleet.latest_age_s == 1.5
    assert fleet.latest_update == START + 3.0


def test_unknown_site_is_a_key_error(store):
    with pytest.raises(KeyError):
        store.site_rollup("madrid")
    assert store.site_codes() == ("alcala", "getafe")
    assert store.device_names("getafe") == ("get-leaf1", "get-gw1")


# --- immutability ----------------------------------------------------------------------------


def test_snapshots_are_immutable_and_do_not_move_with_the_store(store, clock):
    store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", "ethernet-1/1", START, in_octets=0, oper_state="up")))
    before = store.interface("alc-leaf1", "ethernet-1/1")
    device_before = store.device("alc-leaf1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.oper_state = "down"  # type: ignore[misc]
    clock.advance(2.0)
    store.apply_interfaces(
        InterfaceBatch.of(iface("alc-leaf1", "ethernet-1/1", START + 2, in_octets=100, oper_state="down"))
    )
    assert before.oper_state == "up"
    assert before.rates.in_bps is None
    assert store.interface("alc-leaf1", "ethernet-1/1").oper_state == "down"
    assert device_before.age_s == 0.0
    assert isinstance(store.interfaces("alc-leaf1"), tuple)


def test_reads_without_history_skip_it(store, clock):
    store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", "ethernet-1/1", START, in_octets=0)))
    clock.advance(2.0)
    store.apply_interfaces(InterfaceBatch.of(iface("alc-leaf1", "ethernet-1/1", START + 2, in_octets=100)))
    (light,) = store.interfaces("alc-leaf1", with_history=False)
    (full,) = store.interfaces("alc-leaf1")
    assert light.history == ()
    assert len(full.history) == 1
    assert light.rates == full.rates


# --- a batch: a notification's interfaces at once--------------------------------------------------


def rows_of(*samples: InterfaceSample) -> dict[str, list]:
    return {sample.name: interface_row(sample) for sample in samples}


def test_a_batch_gives_the_same_state_as_a_batch_per_interface(clock):
    one_by_one = FleetStore(make_inventory(), clock, history_resolution_s=2.0)
    batched = FleetStore(make_inventory(), clock, history_resolution_s=2.0)
    top = 2**64
    rounds = [
        # first round: a baseline; second: traffic; third: in-octets wrapped, out-octets reset (a reboot)
        [(START, "ethernet-1/1", 1_000, 5_000), (START, "ethernet-1/2", top - 1_000, 10_000_000)],
        [(START + 2, "ethernet-1/1", 251_000, 130_000), (START + 2, "ethernet-1/2", top - 500, 10_004_000)],
        [(START + 4, "ethernet-1/1", 501_000, 700), (START + 4, "ethernet-1/2", 1_500, 700)],
    ]
    for number, round_ in enumerate(rounds):
        samples = [
            iface("alc-leaf1", name, t, in_octets=i, out_octets=o, oper_state="up" if number else None)
            for t, name, i, o in round_
        ]
        for sample in samples:
            one_by_one.apply_interfaces(InterfaceBatch.of(sample))
        batched.apply_interfaces(InterfaceBatch("alc-leaf1", round_[0][0], rows_of(*samples)))
        clock.advance(2.0)
    for name in ("ethernet-1/1", "ethernet-1/2"):
        assert batched.interface("alc-leaf1", name) == one_by_one.interface("alc-leaf1", name)
    wrapped = batched.interface("alc-leaf1", "ethernet-1/2")
    assert wrapped.rates.in_bps == 8_000.0  # 2000 B over 2 s across the 64-bit wrap
    assert wrapped.rates.out_bps is None  # reset: no rate, no spike
    assert wrapped.oper_state == "up"
    assert batched.interface("alc-leaf1", "ethernet-1/1").rates.in_bps == 1e6  # 250 000 B over 2 s


def test_a_batch_is_one_change_naming_every_interface(store, clock):
    first = rows_of(iface("alc-leaf1", "ethernet-1/1", START, in_octets=0), iface("alc-leaf1", "ethernet-1/2", START))
    version = store.version
    store.apply_interfaces(InterfaceBatch("alc-leaf1", START, first))
    changes = store.changes_since(version)
    assert changes.structure  # two new interfaces
    assert changes.interfaces == {("alc-leaf1", "ethernet-1/1"), ("alc-leaf1", "ethernet-1/2")}

    version = store.version
    clock.advance(2.0)
    store.apply_interfaces(InterfaceBatch("alc-leaf1", START + 2, first))
    changes = store.changes_since(version)
    assert store.version == version + 1  # one step for the whole notification
    assert changes.interfaces == {("alc-leaf1", "ethernet-1/1"), ("alc-leaf1", "ethernet-1/2")}
    assert not changes.structure and changes.devices == frozenset()

    version = store.version
    store.apply_interfaces(
        InterfaceBatch("alc-leaf1", START + 2, rows_of(iface("alc-leaf1", "ethernet-1/2", START + 2)))
    )
    store.apply_interfaces(
        InterfaceBatch("alc-leaf2", START + 2, rows_of(iface("alc-leaf2", "ethernet-1/9", START + 2)))
    )
    store.apply_interfaces(InterfaceBatch("alc-leaf2", START + 2, {}))  # nothing: no change
    changes = store.changes_since(version)
    assert store.version == version + 3  # two batches and ethernet-1/9's arrival
    assert changes.interfaces == {("alc-leaf1", "ethernet-1/2"), ("alc-leaf2", "ethernet-1/9")}


def test_a_batch_clears_staleness(store, clock):
    store.set_expected_interval("alc-leaf1", 2.0)
    store.apply_interfaces(
        InterfaceBatch("alc-leaf1", START, rows_of(iface("alc-leaf1", "ethernet-1/1", START, in_octets=1)))
    )
    clock.advance(7.0)
    assert store.refresh_staleness() == {"alc-leaf1"}
    assert store.device("alc-leaf1").stale and store.interface("alc-leaf1", "ethernet-1/1").stale
    version = store.version
    store.apply_interfaces(
        InterfaceBatch("alc-leaf1", START + 7, rows_of(iface("alc-leaf1", "ethernet-1/1", START + 7)))
    )
    assert not store.device("alc-leaf1").stale and not store.interface("alc-leaf1", "ethernet-1/1").stale
    assert store.changes_since(version).devices == {"alc-leaf1"}  # the device's staleness turned
