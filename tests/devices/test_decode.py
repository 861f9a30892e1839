"""Decoding gNMI notifications from SR Linux, SR OS and OpenConfig into samples."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pygnmi.spec.v080 import gnmi_pb2

from edgeops.devices.decode import (
    AlarmBook,
    HealthBook,
    WordParser,
    decode_notification,
    derive_alarms,
    parse_time,
)
from edgeops.devices.interface_rows import ROW_INDEX, interface_row
from edgeops.devices.normalize import parse_speed
from edgeops.devices.samples import HealthSample, InterfaceSample, Severity, TemperatureReading
from edgeops.lab.model import Counters, DeviceModel
from edgeops.lab.servers.gnmi import NotificationShaper, compile_subscriptions
from edgeops.lab.servers.gnmi_tree import DeviceTree
from edgeops.lab.topology import build_fleet

STAMP_NS = 1_764_779_198_033_000_000
STAMP = STAMP_NS / 1e9


def decode_samples(
    notification: gnmi_pb2.Notification, device: str, *, received_at: float | None = None
) -> list[InterfaceSample | HealthSample]:
    """The interface and health samples of a notification, in that order (alarm changes go through an AlarmBook)."""
    decoded = decode_notification(notification, device, received_at=received_at)
    found: list[InterfaceSample | HealthSample] = list(decoded.interfaces.samples())
    if decoded.health is not None:
        found.append(decoded.health)
    return found


def elem(elem_name: str, /, **keys: str) -> gnmi_pb2.PathElem:
    """A path element; keyword keys with `_` become YANG's `-` (port_id -> port-id)."""
    return gnmi_pb2.PathElem(name=elem_name, key={k.replace("_", "-"): v for k, v in keys.items()})


def path(*elems: gnmi_pb2.PathElem | str) -> gnmi_pb2.Path:
    return gnmi_pb2.Path(elem=[e if isinstance(e, gnmi_pb2.PathElem) else elem(e) for e in elems])


def ietf(value: Any) -> gnmi_pb2.TypedValue:
    return gnmi_pb2.TypedValue(json_ietf_val=json.dumps(value).encode())


def jsonv(value: Any) -> gnmi_pb2.TypedValue:
    return gnmi_pb2.TypedValue(json_val=json.dumps(value).encode())


def note(*updates: gnmi_pb2.Update, prefix: gnmi_pb2.Path | None = None, delete=(), stamp: int = STAMP_NS):
    return gnmi_pb2.Notification(timestamp=stamp, prefix=prefix, update=updates, delete=list(delete))


def only(samples: list[Any], kind: type) -> list[Any]:
    return [s for s in samples if isinstance(s, kind)]


# -- interfaces -----------------------------------------------------------------------------------


def test_srlinux_container_update_with_module_prefix_and_string_counters() -> None:
    statistics = {
        "in-packets": "6120",
        "in-octets": "997159",
        "in-unicast-packets": "6000",
        "in-discarded-packets": "3",
        "in-error-packets": "1",
        "out-packets": "7001",
        "out-octets": "18446744073709551615",  # the top of a 64-bit counter, as a string
        "out-error-packets": "0",
        "out-discarded-packets": "2",
        "carrier-transitions": "5",
    }
    n = note(
        gnmi_pb2.Update(
            path=path(elem("srl_nokia-interfaces:interface", name="ethernet-1/1"), "statistics"),
            val=ietf(statistics),
        )
    )
    (sample,) = decode_samples(n, "leaf1")
    assert sample == InterfaceSample(
        device="leaf1",
        name="ethernet-1/1",
        timestamp=STAMP,
        in_octets=997159,
        out_octets=2**64 - 1,
        in_packets=6120,
        out_packets=7001,
        in_errors=1,
        out_errors=0,
        in_discards=3,
        out_discards=2,
    )


def test_srlinux_leaf_updates_for_state_become_one_sample_per_interface() -> None:
    iface = elem("srl_nokia-interfaces:interface", name="ethernet-1/2")
    n = note(
        gnmi_pb2.Update(path=path(iface, "oper-state"), val=ietf("down")),
        gnmi_pb2.Update(path=path(iface, "admin-state"), val=ietf("enable")),
        gnmi_pb2.Update(path=path(iface, "description"), val=ietf("to [red]spine[/red]")),
        gnmi_pb2.Update(path=path(iface, "last-change"), val=ietf("2025-12-03T16:26:38.033Z")),
        gnmi_pb2.Update(path=path(iface, "ethernet", "port-speed"), val=ietf("25G")),
        gnmi_pb2.Update(
            path=path(elem("srl_nokia-interfaces:interface", name="ethernet-1/3"), "oper-state"), val=ietf("up")
        ),
    )
    first, second = decode_samples(n, "leaf1")
    assert (first.name, first.oper_state, first.admin_state) == ("ethernet-1/2", "down", "enable")
    assert first.description == "to [red]spine[/red]"  # kept as text; escaping is the UI's job
    assert first.speed_bps == 25_000_000_000
    assert first.last_change == pytest.approx(1_764_779_198.033)
    assert first.in_octets is None  # not in this update
    assert (second.name, second.oper_state) == ("ethernet-1/3", "up")


def test_sros_prefix_with_one_update_per_leaf_in_json() -> None:
    prefix = path("state", elem("port", port_id="1/1/c8/1"), "statistics")
    n = note(
        gnmi_pb2.Update(path=path("in-octets"), val=jsonv("13738800")),
        gnmi_pb2.Update(path=path("out-octets"), val=jsonv("2041")),
        gnmi_pb2.Update(path=path("in-errors"), val=jsonv("0")),
        gnmi_pb2.Update(path=path("in-multicast-packets"), val=jsonv("12")),  # a leaf we do not keep
        prefix=prefix,
    )
    (sample,) = decode_samples(n, "gw1")
    assert (sample.name, sample.in_octets, sample.out_octets, sample.in_errors) == ("1/1/c8/1", 13738800, 2041, 0)
    assert sample.oper_state is None


def test_sros_state_and_configuration_leaves() -> None:
    n = note(
        gnmi_pb2.Update(path=path("oper-state"), val=jsonv("up")),
        gnmi_pb2.Update(path=path("oper-state-last-changed"), val=jsonv("2025-12-03T16:26:38.0Z")),
        gnmi_pb2.Update(path=path("ethernet", "oper-speed"), val=jsonv(100000)),
        prefix=path("state", elem("port", port_id="1/1/c1/1")),
    )
    (state,) = decode_samples(n, "gw1")
    assert (state.oper_state, state.speed_bps) == ("up", 100_000_000_000)
    assert state.last_change == pytest.approx(1_764_779_198.0)
    config = note(
        gnmi_pb2.Update(path=path("configure", elem("port", port_id="A/1"), "description"), val=jsonv("oob")),
        gnmi_pb2.Update(path=path("configure", elem("port", port_id="A/1"), "admin-state"), val=jsonv("disable")),
    )
    (described,) = decode_samples(config, "gw1")
    assert (described.name, described.description, described.admin_state) == ("A/1", "oob", "disable")


def test_openconfig_with_origin_module_and_proto_values() -> None:
    iface = elem("openconfig-interfaces:interfaces")
    entry = elem("interface", name="Ethernet1")
    n = note(
        gnmi_pb2.Update(
            path=path(iface, entry, "state", "counters"),
            val=ietf({"in-octets": "100", "out-pkts": "7", "in-discards": "1"}),
        ),
        gnmi_pb2.Update(path=path(iface, entry, "state", "oper-status"), val=gnmi_pb2.TypedValue(string_val="UP")),
        gnmi_pb2.Update(path=path(iface, entry, "state", "admin-status"), val=gnmi_pb2.TypedValue(string_val="DOWN")),
        gnmi_pb2.Update(
            path=path(iface, entry, "state", "counters", "out-octets"), val=gnmi_pb2.TypedValue(uint_val=2**63)
        ),
        gnmi_pb2.Update(
            path=path(iface, entry, "ethernet", "state", "port-speed"),
            val=ietf("openconfig-if-ethernet:SPEED_100GB"),
        ),
    )
    (sample,) = decode_samples(n, "x")
    assert (sample.in_octets, sample.out_packets, sample.in_discards, sample.out_octets) == (100, 7, 1, 2**63)
    assert (sample.oper_state, sample.admin_state, sample.speed_bps) == ("up", "disable", 100_000_000_000)


def test_a_whole_interface_entry_with_nested_containers() -> None:
    entry = {
        "name": "ethernet-1/5",
        "oper-state": "up",
        "statistics": {"in-octets": "10", "out-octets": "20"},
        "ethernet": {"port-speed": "100G"},
    }
    n = note(gnmi_pb2.Update(path=path(elem("srl_nokia-interfaces:interface", name="ethernet-1/5")), val=ietf(entry)))
    (sample,) = decode_samples(n, "x")
    assert (sample.oper_state, sample.in_octets, sample.out_octets, sample.speed_bps) == ("up", 10, 20, 10**11)


def test_a_container_holding_a_list_is_walked_with_its_keys() -> None:
    body = {"interface": [{"name": "ethernet-1/1", "oper-state": "up"}, {"name": "ethernet-1/2", "oper-state": "down"}]}
    n = note(gnmi_pb2.Update(path=gnmi_pb2.Path(), val=ietf(body)))
    samples = decode_samples(n, "x")
    assert {(s.name, s.oper_state) for s in samples} == {("ethernet-1/1", "up"), ("ethernet-1/2", "down")}


def test_no_timestamp_uses_the_receive_time_and_unknown_paths_are_ignored() -> None:
    n = gnmi_pb2.Notification(
        update=[
            gnmi_pb2.Update(path=path("acl", "something"), val=ietf({"x": 1})),
            gnmi_pb2.Update(path=path(elem("interface", name="e1"), "oper-state"), val=ietf("up")),
        ]
    )
    (sample,) = decode_samples(n, "x", received_at=123.5)
    assert sample.timestamp == 123.5
    assert decode_samples(note(gnmi_pb2.Update(path=path("acl"), val=ietf({}))), "x") == []


# -- health ---------------------------------------------------------------------------------------


def test_srlinux_health_containers() -> None:
    control = elem("srl_nokia-platform:platform")
    n = note(
        gnmi_pb2.Update(
            path=path(control, elem("control", slot="A"), elem("cpu", index="all"), "total"),
            val=ietf({"instant": 14, "average-1": 13, "average-5": 12, "average-15": 12}),
        ),
        gnmi_pb2.Update(
            path=path(control, elem("control", slot="A"), "memory"),
            val=ietf({"physical": "34359738368", "free": "19359738368", "utilization": 44}),
        ),
        gnmi_pb2.Update(
            path=path(control, elem("control", slot="A"), "temperature"),
            val=ietf({"instant": 81, "alarm-status": True}),
        ),
        gnmi_pb2.Update(path=path(control, elem("fan-tray", id="1"), "oper-state"), val=ietf("up")),
        gnmi_pb2.Update(path=path(control, elem("power-supply", id="2"), "oper-state"), val=ietf("down")),
        gnmi_pb2.Update(path=path(control, "chassis", "type"), val=ietf("7220 IXR-D3L")),
        gnmi_pb2.Update(path=path(elem("srl_nokia-system:system"), "name", "host-name"), val=ietf("spine1")),
        gnmi_pb2.Update(
            path=path(elem("srl_nokia-system:system"), "information", "version"), val=ietf("v25.10.1-399-g90c1dbe35ef")
        ),
        gnmi_pb2.Update(
            path=path(elem("srl_nokia-system:system"), "information", "last-booted"),
            val=ietf("2025-12-03T16:26:38.033Z"),
        ),
    )
    (health,) = decode_samples(n, "spine1")
    assert isinstance(health, HealthSample)
    assert (health.cpu_pct, health.memory_total, health.memory_used) == (14.0, 34359738368, 15_000_000_000)
    assert health.temperatures == (TemperatureReading("control A", 81.0, alarm=True),)
    assert health.fans is not None and health.fans[0].oper_state == "up"
    assert health.power_supplies is not None and health.power_supplies[0].component == "power-supply 2"
    assert health.power_supplies[0].oper_state == "down"
    assert (health.chassis, health.hostname, health.version) == ("7220 IXR-D3L", "spine1", "v25.10.1")
    assert health.boot_time == pytest.approx(1_764_779_198.033)
    assert health.alarms is None  # alarms come through an AlarmBook


def test_sros_health_leaves_with_prefixes() -> None:
    memory = note(
        gnmi_pb2.Update(path=path("current-total-size"), val=jsonv("5085593600")),
        gnmi_pb2.Update(path=path("total-in-use"), val=jsonv("1085593600")),
        gnmi_pb2.Update(path=path("available-memory"), val=jsonv("4000000000")),
        prefix=path("state", "system", "memory-pools", "summary"),
    )
    (health,) = decode_samples(memory, "gw1")
    assert (health.memory_total, health.memory_used) == (5085593600, 1085593600)
    cpu = note(
        gnmi_pb2.Update(path=path("cpu-usage"), val=jsonv("13.60")),
        prefix=path("state", "system", elem("cpu", sample_period="1"), "summary", "usage"),
    )
    assert decode_samples(cpu, "gw1")[0].cpu_pct == 13.6
    system = note(
        gnmi_pb2.Update(path=path("up-time"), val=jsonv("2384550")),  # hundredths of a second
        gnmi_pb2.Update(path=path("oper-name"), val=jsonv("pe1")),
        gnmi_pb2.Update(path=path("version", "version-number"), val=jsonv("TiMOS-C-25.10.R2")),
        prefix=path("state", "system"),
    )
    (info,) = decode_samples(system, "gw1")
    assert info.boot_time == pytest.approx(STAMP - 23845.5)
    assert (info.hostname, info.version) == ("pe1", "C-25.10.R2")
    chassis = elem("chassis", chassis_class="router", chassis_number="1")
    hardware = note(
        gnmi_pb2.Update(path=path(elem("fan", fan_slot="2"), "hardware-data", "oper-state"), val=jsonv("failed")),
        gnmi_pb2.Update(
            path=path(elem("power-supply", power_supply_id="1"), "hardware-data", "oper-state"),
            val=jsonv("in-service"),
        ),
        gnmi_pb2.Update(path=path("hardware-data", "temperature"), val=jsonv(35)),
        prefix=path("state", chassis),
    )
    (parts,) = decode_samples(hardware, "gw1")
    assert parts.fans is not None and (parts.fans[0].component, parts.fans[0].oper_state) == ("fan 2", "failed")
    assert parts.power_supplies is not None and parts.power_supplies[0].component == "power-supply 1"
    assert parts.power_supplies[0].oper_state == "up"  # nokia-types-chassis:hw-oper-state in-service
    assert parts.temperatures == (TemperatureReading("chassis", 35.0),)
    cpm = note(
        gnmi_pb2.Update(path=path("temperature"), val=jsonv(41)),
        prefix=path("state", elem("cpm", cpm_slot="A"), "hardware-data"),
    )
    assert decode_samples(cpm, "gw1")[0].temperatures == (TemperatureReading("cpm A", 41.0),)


def test_openconfig_components_become_fans_power_supplies_and_temperatures() -> None:
    def component(name: str, kind: str, status: str, temperature: int | None = None) -> gnmi_pb2.Update:
        state: dict[str, Any] = {"name": name, "type": f"openconfig-platform-types:{kind}", "oper-status": status}
        if temperature is not None:
            state["temperature"] = {"instant": temperature}
        return gnmi_pb2.Update(
            path=path(elem("openconfig-platform:components"), elem("component", name=name), "state"), val=ietf(state)
        )

    n = note(
        component("FanTray1", "FAN", "openconfig-platform-types:ACTIVE"),
        component("PowerSupply2", "POWER_SUPPLY", "openconfig-platform-types:INACTIVE"),
        component("ControlA", "CONTROLLER_CARD", "openconfig-platform-types:ACTIVE", 41),
    )
    (health,) = decode_samples(n, "x")
    assert health.fans is not None and health.fans[0].oper_state == "up"
    assert health.power_supplies is not None and health.power_supplies[0].oper_state == "down"
    assert health.temperatures == (TemperatureReading("ControlA", 41.0),)


def test_health_book_merges_partial_samples_by_name() -> None:
    book = HealthBook("gw1")
    book.merge(HealthSample("gw1", 10.0, cpu_pct=5.0, temperatures=(TemperatureReading("card A", 40),)))
    whole = book.merge(HealthSample("gw1", 11.0, temperatures=(TemperatureReading("card 1", 45),)))
    assert whole.cpu_pct == 5.0 and whole.timestamp == 11.0
    assert {t.sensor for t in whole.temperatures or ()} == {"card A", "card 1"}


# -- alarms, deletes and sync ---------------------------------------------------------------------


def test_srlinux_alarms_are_derived_from_component_state_and_cleared_by_it() -> None:
    platform = elem("srl_nokia-platform:platform")
    psu = path(platform, elem("power-supply", id="2"), "oper-state")
    temperature = path(platform, elem("control", slot="A"), "temperature")
    raised = note(
        gnmi_pb2.Update(path=psu, val=ietf("down")),
        gnmi_pb2.Update(path=temperature, val=ietf({"instant": 91, "alarm-status": True})),
        gnmi_pb2.Update(path=path(platform, elem("fan-tray", id="1"), "oper-state"), val=ietf("up")),
    )
    book = AlarmBook("leaf1")
    decoded = decode_notification(raised, "leaf1")
    assert decoded.touches_alarms and decoded.health is not None  # the same leaves are health too
    assert book.apply(decoded)
    alarms = {alarm.resource: alarm for alarm in book.alarms()}
    assert set(alarms) == {"power-supply 2", "control A"}
    assert all(alarm.derived for alarm in alarms.values())
    assert (alarms["power-supply 2"].severity, alarms["power-supply 2"].text) == (
        Severity.MAJOR,
        "power-supply 2 oper-state is down",
    )
    assert alarms["control A"].text == "control A temperature alarm-status is true"
    assert alarms["power-supply 2"].raised_at == pytest.approx(STAMP)
    # Every sample says the same again: nothing changes, and the alarm keeps the time it was first raised.
    again = note(gnmi_pb2.Update(path=psu, val=ietf("down")), stamp=STAMP_NS + 10**10)
    assert not book.apply(decode_notification(again, "leaf1"))
    assert [a.raised_at for a in book.alarms()] == pytest.approx([STAMP, STAMP])
    healed = note(
        gnmi_pb2.Update(path=psu, val=ietf("up")),
        gnmi_pb2.Update(path=temperature, val=ietf({"instant": 60, "alarm-status": False})),
    )
    assert book.apply(decode_notification(healed, "leaf1"))
    assert book.alarms() == ()


def test_srlinux_interface_alarms_follow_oper_down_reason() -> None:
    def iface(name: str, leaf: str) -> gnmi_pb2.Path:
        return path(elem("srl_nokia-interfaces:interface", name=name), leaf)

    book = AlarmBook("leaf1")
    down = note(
        gnmi_pb2.Update(path=iface("ethernet-1/3", "oper-state"), val=ietf("down")),
        gnmi_pb2.Update(path=iface("ethernet-1/3", "oper-down-reason"), val=ietf("lower-layer-down")),
        # Disabled by the operator: down, but not a fault.
        gnmi_pb2.Update(path=iface("ethernet-1/9", "oper-down-reason"), val=ietf("port-admin-disabled")),
    )
    decoded = decode_notification(down, "leaf1")
    assert [(s.name, s.oper_state) for s in decoded.interfaces.samples()] == [("ethernet-1/3", "down")]
    assert book.apply(decoded)
    (alarm,) = book.alarms()
    assert (alarm.resource, alarm.text, alarm.derived) == (
        "ethernet-1/3",
        "ethernet-1/3 is down, reason lower-layer-down",
        True,
    )
    # The reason inside a whole interface entry counts too.
    entry = {"name": "ethernet-1/4", "oper-state": "down", "oper-down-reason": "transceiver-oper-down"}
    whole = note(
        gnmi_pb2.Update(path=path(elem("srl_nokia-interfaces:interface", name="ethernet-1/4")), val=ietf(entry))
    )
    assert book.apply(decode_notification(whole, "leaf1"))
    assert {a.resource for a in book.alarms()} == {"ethernet-1/3", "ethernet-1/4"}
    # Up again: the device deletes the reason, or says oper-state up; either clears the alarm.
    gone = note(delete=[iface("ethernet-1/3", "oper-down-reason")])
    assert decode_notification(gone, "leaf1").alarm_deletes == ("derived:ethernet-1/3/oper-down-reason",)
    assert book.apply(decode_notification(gone, "leaf1"))
    up = note(gnmi_pb2.Update(path=iface("ethernet-1/4", "oper-state"), val=ietf("up")))
    assert book.apply(decode_notification(up, "leaf1"))
    assert book.alarms() == ()


def test_derive_alarms_reads_a_whole_state_document() -> None:
    document = {
        "platform": {
            "chassis": {"oper-state": "up"},
            "fan-tray": [{"id": 1, "oper-state": "failed"}, {"id": 2, "oper-state": "up"}],
            "power-supply": [{"id": 1, "oper-state": "empty"}],
            "linecard": [{"slot": 1, "oper-state": "up", "temperature": {"instant": 95, "alarm-status": True}}],
        }
    }
    alarms = derive_alarms("leaf1", document, 100.0)
    assert sorted((a.resource, a.severity.value, a.raised_at, a.derived) for a in alarms) == [
        ("fan-tray 1", "major", 100.0, True),
        ("linecard 1", "major", 100.0, True),
    ]


def test_sros_alarm_leaves_keyed_by_raised_time_and_index() -> None:
    raised_time = "2025-12-03T16:26:38.0Z"
    prefix = path("state", "system", "alarms", elem("active", raised_time=raised_time, index="7"))
    raised = note(
        gnmi_pb2.Update(path=path("alarm-id", "full-id"), val=jsonv("0.2001.1")),
        gnmi_pb2.Update(path=path("severity"), val=jsonv("critical")),
        gnmi_pb2.Update(path=path("details"), val=jsonv("Fan 2 failed")),
        gnmi_pb2.Update(path=path("raised-time"), val=jsonv(raised_time)),
        prefix=prefix,
    )
    book = AlarmBook("gw1")
    book.apply(decode_notification(raised, "gw1"))
    (active,) = book.alarms()
    assert (active.alarm_id, active.severity, active.text, active.derived) == (
        "0.2001.1",
        Severity.CRITICAL,
        "Fan 2 failed",
        False,
    )
    assert active.raised_at == pytest.approx(1_764_779_198.0)
    # An unknown severity is kept as a warning rather than failing the stream.
    odd = note(gnmi_pb2.Update(path=path("severity"), val=jsonv("indeterminate")), prefix=prefix)
    book.apply(decode_notification(odd, "gw1"))
    assert book.alarms()[0].severity is Severity.WARNING
    one = note(delete=[path("state", "system", "alarms", elem("active", raised_time=raised_time, index="7"))])
    assert decode_notification(one, "gw1").alarm_deletes == (f"{raised_time}|7",)
    everything = note(delete=[path("state", "system", "alarms")])
    assert decode_notification(everything, "gw1").alarm_deletes == ("*",)
    book.apply(decode_notification(everything, "gw1"))
    assert book.alarms() == ()


def test_deletes_of_other_paths_are_ignored() -> None:
    n = note(delete=[path(elem("interface", name="ethernet-1/1"), "description")])
    decoded = decode_notification(n, "x")
    assert decoded.interfaces.rows == {} and decoded.health is None and not decoded.touches_alarms


def test_an_empty_notification_carries_nothing_but_its_time() -> None:
    decoded = decode_notification(note(stamp=0), "x", received_at=5.0)  # unstamped: the time it arrived
    assert (decoded.timestamp, decoded.interfaces.timestamp) == (5.0, 5.0)
    assert decoded.interfaces.rows == {} and decoded.health is None and not decoded.touches_alarms


# -- helpers --------------------------------------------------------------------------------------


def test_parse_time_accepts_date_and_time_and_nanoseconds() -> None:
    assert parse_time("2025-12-03T16:26:38.033Z") == pytest.approx(1_764_779_198.033)
    assert parse_time(str(STAMP_NS)) == pytest.approx(STAMP)
    assert parse_time("not a time") is None


# -- the lab's own notifications decode to the lab's numbers, in every encoding -------------------

SHAPES = [
    ("alcala-spine1", gnmi_pb2.JSON_IETF),
    ("alcala-spine1", gnmi_pb2.PROTO),
    ("alcala-spine1", gnmi_pb2.ASCII),
    ("alcala-gw1", gnmi_pb2.JSON),
    ("alcala-gw1", gnmi_pb2.JSON_IETF),
    ("alcala-gw1", gnmi_pb2.BYTES),
    ("alcala-gw1", gnmi_pb2.PROTO),
]


@pytest.mark.parametrize(("name", "encoding"), SHAPES)
def test_lab_notifications_decode_to_the_models_counters(name: str, encoding: int) -> None:
    clock = [1_750_000_000.0]
    identity = next(i for i in build_fleet(devices_per_site=4) if i.name == name)
    model = DeviceModel(identity, clock=lambda: clock[0])
    tree = DeviceTree(model)
    counters = "/state/port[port-id=*]/statistics" if identity.platform.is_sros else "/interface[name=*]/statistics"
    request = gnmi_pb2.SubscriptionList(
        subscription=[gnmi_pb2.Subscription(path=_xpath(counters), mode=gnmi_pb2.SAMPLE)], encoding=encoding
    )
    (unit,) = compile_subscriptions(tree, request, identity.platform)
    shaper = NotificationShaper(identity.platform, encoding, subscribe=True)
    model.advance()
    samples = [s for n in shaper.updates(unit.read(), STAMP_NS) for s in decode_samples(n, name)]
    assert {s.name for s in samples} == set(model.interfaces)
    for s in samples:
        c = model.interfaces[s.name].counters
        assert (s.in_octets, s.out_octets) == (Counters.value(c.in_octets), Counters.value(c.out_octets))
        assert s.in_packets == Counters.value(c.in_packets)


def _xpath(text: str) -> gnmi_pb2.Path:
    from pygnmi.create_gnmi_path import gnmi_path_generator

    return gnmi_path_generator(text)


@given(st.integers(min_value=0, max_value=2**64 - 1), st.sampled_from(["json", "ietf", "uint", "string"]))
def test_any_64_bit_counter_survives_every_value_shape(counter: int, shape: str) -> None:
    value = {
        "json": jsonv(str(counter)),
        "ietf": ietf(str(counter)),
        "uint": gnmi_pb2.TypedValue(uint_val=counter),
        "string": gnmi_pb2.TypedValue(string_val=str(counter)),
    }[shape]
    n = note(
        gnmi_pb2.Update(path=path("in-octets"), val=value),
        prefix=path("state", elem("port", port_id="1/1/1"), "statistics"),
    )
    (sample,) = decode_samples(n, "x")
    assert sample.in_octets == counter


def test_a_remembered_path_plan_decodes_new_values_and_keeps_interfaces_apart() -> None:
    def statistics(name: str, octets: int) -> gnmi_pb2.Update:
        return gnmi_pb2.Update(
            path=path(elem("srl_nokia-interfaces:interface", name=name), "statistics"),
            val=ietf(
                {"srl_nokia-interfaces:in-octets": str(octets), "out-octets": octets + 1, "in-fcs-error-packets": "9"}
            ),
        )

    first = decode_notification(note(statistics("ethernet-1/1", 10), statistics("ethernet-1/2", 20)), "leaf1")
    second = decode_notification(note(statistics("ethernet-1/1", 30), statistics("ethernet-1/2", 40)), "leaf1")
    assert [(s.name, s.in_octets, s.out_octets, s.in_errors) for s in first.interfaces.samples()] == [
        ("ethernet-1/1", 10, 11, None),
        ("ethernet-1/2", 20, 21, None),
    ]
    assert [(s.name, s.in_octets, s.out_octets) for s in second.interfaces.samples()] == [
        ("ethernet-1/1", 30, 31),
        ("ethernet-1/2", 40, 41),
    ]
    assert second.interfaces.rows["ethernet-1/2"] == interface_row(second.interfaces.samples()[1])


def test_a_container_with_nested_data_keeps_its_scalars_and_walks_the_rest() -> None:
    interface = {
        "name": "ethernet-1/3",
        "oper-state": "up",
        "description": "uplink",
        "statistics": {"in-octets": "5", "out-octets": "6"},
        "ethernet": {"port-speed": "100G"},
    }
    n = note(gnmi_pb2.Update(path=path(elem("interface", name="ethernet-1/3")), val=jsonv(interface)))
    for _ in range(2):  # the second time from the remembered plan
        (sample,) = decode_samples(n, "leaf1")
        assert (sample.oper_state, sample.description, sample.in_octets, sample.out_octets, sample.speed_bps) == (
            "up",
            "uplink",
            5,
            6,
            100_000_000_000,
        )


def test_sros_leaves_under_a_prefix_fill_one_row_and_odd_values_are_skipped() -> None:
    prefix = path("state", elem("port", port_id="1/1/c2/1"), "statistics")
    n = note(
        gnmi_pb2.Update(path=path("in-octets"), val=jsonv("77")),
        gnmi_pb2.Update(path=path("out-octets"), val=jsonv(78)),
        gnmi_pb2.Update(path=path("in-errors"), val=jsonv(None)),
        gnmi_pb2.Update(path=path("in-unicast-packets"), val=jsonv("70")),
        gnmi_pb2.Update(path=path("out-discards"), val=gnmi_pb2.TypedValue(uint_val=3)),
        prefix=prefix,
    )
    decoded = decode_notification(n, "gw1")
    (sample,) = decoded.interfaces.samples()
    assert (sample.name, sample.in_octets, sample.out_octets, sample.in_errors, sample.out_discards) == (
        "1/1/c2/1",
        77,
        78,
        None,
        3,
    )
    assert decoded.health is None and not decoded.touches_alarms


def test_a_word_parser_remembers_a_bounded_number_of_answers() -> None:
    """States and speeds are parsed once per word and shared by every row; a device inventing words cannot grow the
    memory, and past the bound every answer is still right."""
    calls: list[Any] = []

    def speed(value: Any) -> int | None:
        calls.append(value)
        return parse_speed(value)

    parser = WordParser(speed, limit=3)
    words: list[Any] = ["25G", "100G", "400G", "10G", 1000, True, "1G"]
    for word in words * 2:
        assert parser(word) == parse_speed(word), word
        assert len(parser) <= 3
    assert calls.count("25G") == 1  # remembered
    assert calls.count("1G") == 2  # past the bound: parsed each time, and right
    assert parser(1) == 1_000_000 and parser(True) is None  # 1 and True are not one key
    assert parser(["25G"]) is None  # an unhashable value is parsed, not remembered
    first = decode_notification(_leaf_note("oper-state", b'"up"'), "d1").interfaces.rows["ethernet-1/1"]
    again = decode_notification(_leaf_note("oper-state", b'"up"'), "d2").interfaces.rows["ethernet-1/1"]
    assert first[ROW_INDEX["oper_state"]] == "up"
    assert first[ROW_INDEX["oper_state"]] is again[ROW_INDEX["oper_state"]]  # one string for every row


def _leaf_note(leaf: str, value: bytes) -> gnmi_pb2.Notification:
    path = gnmi_pb2.Path(
        elem=[gnmi_pb2.PathElem(name="interface", key={"name": "ethernet-1/1"}), gnmi_pb2.PathElem(name=leaf)]
    )
    return gnmi_pb2.Notification(update=[gnmi_pb2.Update(path=path, val=gnmi_pb2.TypedValue(json_ietf_val=value))])
