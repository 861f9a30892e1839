"""GnmiSession against the lab's gNMI server over real sockets: encodings, samples, TLS modes and errors."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pygnmi.spec.v080 import gnmi_pb2

from edgeops.devices.decode import decode_notification
from edgeops.devices.errors import (
    GnmiAuthError,
    GnmiError,
    GnmiRejected,
    GnmiStreamCut,
    GnmiUnavailable,
)
from edgeops.devices.gnmi import (
    GnmiSession,
    SyncMarker,
    choose_encoding,
)
from edgeops.devices.gnmi_paths import (
    OPENCONFIG,
    SRLINUX_NATIVE,
    SROS_STATE,
    GroupMatcher,
    StreamMode,
    SubscriptionSpec,
    gnmi_path,
    group_matcher,
    path_map_for,
)
from edgeops.devices.interface_rows import InterfaceBatch
from edgeops.devices.samples import Failure, HealthSample, InterfaceSample
from edgeops.inventory.model import Device
from edgeops.lab.device import LabDevice
from edgeops.lab.model import Counters, DeviceModel
from edgeops.lab.servers.gnmi import GnmiLabServer
from edgeops.lab.topology import build_fleet
from edgeops.platforms import GnmiTls, Platform

pytestmark = pytest.mark.lab

SRL = "alcala-spine1"
SROS = "alcala-gw1"
SRL_PORT = "ethernet-1/1"
SROS_PORT = "1/1/c1/1"
_third_octet = itertools.count(1)


def lab_devices() -> dict[str, LabDevice]:
    """One SR Linux spine and one SR OS gateway (with a failed power supply) on 127.21.<n>.x."""
    third = next(_third_octet) % 250
    devices = {}
    for index, identity in enumerate(build_fleet(devices_per_site=4)):
        if identity.name in (SRL, SROS):
            identity.host = f"127.21.{third}.{index + 1}"
            devices[identity.name] = LabDevice(identity, DeviceModel(identity))
    devices[SROS].model.fail_power_supply(2)
    return devices


@contextlib.asynccontextmanager
async def running_lab(tls_dir: Path | None = None) -> AsyncIterator[tuple[GnmiLabServer, dict[str, LabDevice]]]:
    devices = lab_devices()
    async with GnmiLabServer(list(devices.values()), tls_dir=tls_dir, port_override=0) as server:
        yield server, devices


@pytest.fixture
async def lab() -> AsyncIterator[tuple[GnmiLabServer, dict[str, LabDevice]]]:
    async with running_lab() as running:
        yield running


def inventory_device(server: GnmiLabServer, lab_device: LabDevice, **changes: Any) -> Device:
    identity = lab_device.identity
    host, port = server.address(identity.name)
    return identity.inventory_device(**({"host": host, "gnmi_port": port, "gnmi_tls": GnmiTls.INSECURE} | changes))


def session(server: GnmiLabServer, lab_device: LabDevice, password: str | None = None, **kwargs: Any) -> GnmiSession:
    device = inventory_device(server, lab_device, **kwargs.pop("device", {}))
    return GnmiSession(
        device,
        username=lab_device.identity.username,
        password=password or lab_device.identity.password,
        connect_timeout_s=kwargs.pop("connect_timeout_s", 5.0),
        **kwargs,
    )


def counter(lab_device: LabDevice, port: str) -> int:
    lab_device.model.advance()
    return Counters.value(lab_device.model.interfaces[port].counters.in_octets)


async def per_interface(stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """A stream with each InterfaceBatch taken apart into its interfaces' samples (the rest as it comes)."""
    async for item in stream:
        if isinstance(item, InterfaceBatch):
            for sample in item.samples():
                yield sample
        else:
            yield item


async def collect_until(stream: AsyncIterator[Any], done: Any, limit_s: float = 10.0) -> list[Any]:
    items: list[Any] = []
    async with asyncio.timeout(limit_s):
        async for item in stream:
            items.append(item)
            if done(items):
                return items
    raise AssertionError("the stream ended early")


# -- choices --------------------------------------------------------------------------------------


def test_encoding_and_path_map_follow_what_the_device_lists() -> None:
    assert choose_encoding(Platform.SRLINUX, [gnmi_pb2.JSON_IETF, gnmi_pb2.PROTO]) == gnmi_pb2.JSON_IETF
    assert choose_encoding(Platform.SROS, [gnmi_pb2.JSON, gnmi_pb2.JSON_IETF]) == gnmi_pb2.JSON
    assert choose_encoding(Platform.SROS, [gnmi_pb2.PROTO, gnmi_pb2.JSON_IETF]) == gnmi_pb2.JSON_IETF
    assert choose_encoding(Platform.SRLINUX, [gnmi_pb2.ASCII]) == gnmi_pb2.ASCII
    assert path_map_for(Platform.SRLINUX, ["urn:nokia.com:srlinux:chassis:interfaces:srl_nokia-interfaces"]) is (
        SRLINUX_NATIVE
    )
    assert path_map_for(Platform.SROS, ["nokia-conf", "nokia-state"]) is SROS_STATE
    assert path_map_for(Platform.SRLINUX, ["openconfig-interfaces", "openconfig-system"]) is OPENCONFIG
    assert path_map_for(Platform.SROS, []) is SROS_STATE
    specs = SRLINUX_NATIVE.subscriptions(counter_interval_s=5, health_interval_s=30)
    assert [(s.name, s.mode, s.interval_s) for s in specs][:3] == [
        ("counters", StreamMode.SAMPLE, 5),
        ("oper-state", StreamMode.ON_CHANGE, 0.0),
        ("health", StreamMode.SAMPLE, 30),
    ]
    assert specs[0].protos()[0].sample_interval == 5_000_000_000


async def test_capabilities_decide_the_encoding(lab: tuple[GnmiLabServer, dict[str, LabDevice]]) -> None:
    server, devices = lab
    async with session(server, devices[SRL]) as srl:
        assert srl.device_capabilities is not None and srl.device_capabilities.gnmi_version == "0.10.0"
        assert srl.encoding == gnmi_pb2.JSON_IETF and srl.path_map is SRLINUX_NATIVE
    async with session(server, devices[SROS]) as sros:
        assert sros.device_capabilities is not None and "JSON" in sros.device_capabilities.encoding_names
        assert sros.encoding == gnmi_pb2.JSON and sros.path_map is SROS_STATE


# -- stream ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "port", "interval_s"), [(SRL, SRL_PORT, 0.2), (SROS, SROS_PORT, 1.0)])
async def test_stream_yields_the_models_values(
    lab: tuple[GnmiLabServer, dict[str, LabDevice]], name: str, port: str, interval_s: float
) -> None:
    server, devices = lab
    device = devices[name]
    before = counter(device, port)
    async with session(server, device) as gnmi:
        stream = per_interface(gnmi.stream(gnmi.default_subscriptions(counter_interval_s=interval_s)))

        def two_samples_after_sync(items: list[Any]) -> bool:
            if not any(isinstance(item, SyncMarker) for item in items):
                return False
            after = items[[isinstance(i, SyncMarker) for i in items].index(True) :]
            return sum(isinstance(i, InterfaceSample) and i.name == port and i.in_octets for i in after) >= 2

        items = await collect_until(stream, two_samples_after_sync)
        await stream.aclose()
    after = counter(device, port)
    octets = [i.in_octets for i in items if isinstance(i, InterfaceSample) and i.name == port and i.in_octets]
    assert before <= octets[0] < octets[-1] <= after
    states = {i.name: i.oper_state for i in items if isinstance(i, InterfaceSample) and i.oper_state}
    assert states == {n: ("up" if i.oper_up else "down") for n, i in device.model.interfaces.items()}
    # After the initial dump, health is a whole view, with the complete alarm list.
    sync_at = next(index for index, item in enumerate(items) if isinstance(item, SyncMarker))
    health = next(item for item in items[sync_at:] if isinstance(item, HealthSample))
    total, _ = device.model.memory()
    assert health.memory_total == total and health.hostname == name
    assert health.version is not None and device.identity.version.startswith(health.version)
    assert health.boot_time == pytest.approx(device.model.boot_time, abs=1.0)
    assert health.power_supplies is not None and len(health.power_supplies) == len(device.model.power_supplies)
    expected_alarms = {alarm.alarm_id for alarm in device.model.alarms}
    assert health.alarms is not None and {a.alarm_id for a in health.alarms} == expected_alarms
    if name == SROS:
        assert expected_alarms == {"psu-2"}
        assert [p.oper_state for p in health.power_supplies][1] == "failed"


async def test_state_changes_and_derived_alarms_arrive_as_they_happen(
    lab: tuple[GnmiLabServer, dict[str, LabDevice]],
) -> None:
    server, devices = lab
    device = devices[SRL]
    async with session(server, device) as gnmi:
        specs = gnmi.default_subscriptions(counter_interval_s=10, health_interval_s=1)
        stream = per_interface(gnmi.stream(specs))
        await collect_until(stream, lambda items: isinstance(items[-1], SyncMarker))
        device.model.set_oper_state("ethernet-1/3", False)
        down = await collect_until(
            stream, lambda items: isinstance(items[-1], InterfaceSample) and items[-1].name == "ethernet-1/3"
        )
        assert down[-1].oper_state == "down"
        # SR Linux keeps no alarm list: the port's oper-down-reason is what its alarm is derived from.
        raised = await collect_until(stream, lambda items: isinstance(items[-1], HealthSample) and items[-1].alarms)
        (alarm,) = raised[-1].alarms
        assert (alarm.resource, alarm.severity, alarm.derived) == ("ethernet-1/3", "major", True)
        assert alarm.text == "ethernet-1/3 is down, reason lower-layer-down"
        device.model.set_oper_state("ethernet-1/3", True)
        await collect_until(stream, lambda items: isinstance(items[-1], HealthSample) and items[-1].alarms == ())
        # The alarm-raise fault on SR Linux fails the fan tray; its sampled oper-state raises the alarm.
        device.model.raise_alarm("critical", "fan-tray 1", "Fan tray 1 removed", "fan-1")
        raised = await collect_until(stream, lambda items: isinstance(items[-1], HealthSample) and items[-1].alarms)
        (alarm,) = raised[-1].alarms
        assert (alarm.resource, alarm.text, alarm.derived) == ("fan-tray 1", "fan-tray 1 oper-state is down", True)
        device.model.clear_alarm("fan-1")
        cleared = await collect_until(
            stream, lambda items: isinstance(items[-1], HealthSample) and items[-1].alarms == ()
        )
        assert cleared[-1].alarms == ()
        await stream.aclose()


async def test_get_samples_and_raw_get(lab: tuple[GnmiLabServer, dict[str, LabDevice]]) -> None:
    server, devices = lab
    async with session(server, devices[SROS]) as gnmi:
        (health,) = await gnmi.get_samples(["/state/system/memory-pools/summary", "/state/system/alarms"])
        assert isinstance(health, HealthSample)
        assert health.memory_total == devices[SROS].model.memory()[0]
        assert health.alarms is not None and [a.alarm_id for a in health.alarms] == ["psu-2"]
        notes = await gnmi.get(["/state/system/oper-name"])
        assert notes[0].update[0].val.json_val == f'"{SROS}"'.encode()
        with pytest.raises(GnmiError) as invalid:
            await gnmi.get(["/state/no-such-thing"])
        assert not isinstance(invalid.value, GnmiUnavailable)


async def test_closing_the_session_ends_its_subscription_quietly(
    lab: tuple[GnmiLabServer, dict[str, LabDevice]],
) -> None:
    server, devices = lab
    gnmi = session(server, devices[SRL])
    await gnmi.connect()
    stream = gnmi.stream([SubscriptionSpec("counters", ("/interface[name=*]/statistics",), StreamMode.SAMPLE, 0.2)])
    await collect_until(stream, lambda items: isinstance(items[-1], SyncMarker))
    await gnmi.close()
    async with asyncio.timeout(5):
        rest = [item async for item in stream]
    assert all(not isinstance(item, SyncMarker) for item in rest)
    assert not gnmi.connected


async def test_a_stream_waiting_for_the_next_message_holds_none_of_the_last(
    lab: tuple[GnmiLabServer, dict[str, LabDevice]],
) -> None:
    # A parsed response keeps the arena of its whole message: held through the wait for the next one (seconds, on
    # every stream of the fleet) it cost 10 MB at 200 devices (docs/performance.md).
    server, devices = lab
    gnmi = session(server, devices[SRL])
    await gnmi.connect()
    stream = gnmi.stream([SubscriptionSpec("counters", ("/interface[name=*]/statistics",), StreamMode.SAMPLE, 5.0)])
    await collect_until(stream, lambda items: isinstance(items[-1], SyncMarker))
    waiting = asyncio.create_task(anext(stream))
    await asyncio.sleep(0.2)  # the next sample is seconds away: the stream now waits in gRPC's read()
    assert not waiting.done()
    frame = stream.ag_frame
    assert frame is not None
    assert frame.f_locals["response"] is None
    assert frame.f_locals["decoded"] is None
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    await stream.aclose()
    await gnmi.close()


# -- TLS ------------------------------------------------------------------------------------------


async def forward(target_host: str, target_port: int) -> tuple[asyncio.Server, int]:
    """A local TCP forward to the device, like a port forwarded through a jump host."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(target_host, target_port)
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_tls_modes(tmp_path: Path) -> None:
    async with running_lab(tls_dir=tmp_path) as (server, devices):
        srl = devices[SRL]
        verified = session(server, srl, device={"gnmi_tls": GnmiTls.TLS, "gnmi_ca_file": server.ca_file})
        async with verified as gnmi:
            assert gnmi.encoding == gnmi_pb2.JSON_IETF
        skipped = session(server, srl, device={"gnmi_tls": GnmiTls.SKIP_VERIFY})
        async with skipped as gnmi:
            assert (await gnmi.get(["/system/name/host-name"]))[0].update
        # Verifying against the system's roots fails: the lab's CA is not one of them.
        with pytest.raises(GnmiUnavailable):
            async with session(server, srl, device={"gnmi_tls": GnmiTls.TLS}, connect_timeout_s=2.0):
                pass
        # A plaintext client cannot talk to a TLS server.
        with pytest.raises(GnmiUnavailable):
            async with session(server, srl, connect_timeout_s=2.0):
                pass


async def test_a_custom_target_keeps_the_devices_name_for_tls(tmp_path: Path) -> None:
    async with running_lab(tls_dir=tmp_path) as (server, devices):
        sros = devices[SROS]
        host, port = server.address(SROS)
        relay, local_port = await forward(host, port)
        try:
            for changes in (
                {"gnmi_tls": GnmiTls.TLS, "gnmi_ca_file": server.ca_file},  # verified as its address
                {"gnmi_tls": GnmiTls.TLS, "gnmi_ca_file": server.ca_file, "gnmi_server_name": SROS},  # as its name
                {"gnmi_tls": GnmiTls.SKIP_VERIFY},
            ):
                gnmi = session(server, sros, device=changes, target=f"127.0.0.1:{local_port}")
                async with gnmi:
                    assert gnmi.target == f"127.0.0.1:{local_port}"
                    notes = await gnmi.get(["/state/system/oper-name"])
                    assert notes[0].update[0].val.json_val == f'"{SROS}"'.encode()
        finally:
            relay.close()
            await relay.wait_closed()


# -- errors ---------------------------------------------------------------------------------------


async def test_errors_map_to_our_hierarchy(lab: tuple[GnmiLabServer, dict[str, LabDevice]]) -> None:
    server, devices = lab
    srl = devices[SRL]
    with pytest.raises(GnmiAuthError):
        async with session(server, srl, password="wrong"):
            pass
    srl.faults.gnmi_refuse = True
    with pytest.raises(GnmiUnavailable) as refused:
        async with session(server, srl):
            pass
    assert not isinstance(refused.value, GnmiStreamCut)
    srl.faults.gnmi_refuse = False
    # Nothing listening: refused at once, with gRPC's reason.
    refused_port = GnmiSession(
        inventory_device(server, srl, gnmi_port=1), username="admin", password="x", connect_timeout_s=5.0
    )
    with pytest.raises(GnmiUnavailable, match="failed to connect") as refused_at_once:  # gRPC's reason, for a person
        await refused_port.connect()
    assert refused_at_once.value.code is Failure.UNREACHABLE
    assert not refused_port.connected
    # Something that accepts and never answers: a timeout, reported as unavailable. It keeps its writers: from
    # Python 3.13 on, a StreamWriter that is garbage collected closes its connection (gRPC then sees it closed).
    held: list[asyncio.StreamWriter] = []
    silent = await asyncio.start_server(lambda reader, writer: held.append(writer), "127.0.0.1", 0)
    try:
        hung = GnmiSession(
            inventory_device(server, srl, host="127.0.0.1", gnmi_port=silent.sockets[0].getsockname()[1]),
            username="admin",
            password="x",
            connect_timeout_s=0.5,
        )
        with pytest.raises(GnmiUnavailable, match=r"within 0\.5 s") as timed_out:  # says which timeout ran out
            await hung.connect()
        assert timed_out.value.code is Failure.TIMEOUT
    finally:
        for writer in held:
            writer.close()
        silent.close()
    # Without a gNMI port in the inventory there is no session to make.
    with pytest.raises(GnmiUnavailable):
        GnmiSession(inventory_device(server, srl, gnmi_port=None), username="admin", password="x")
    not_connected = session(server, srl)
    with pytest.raises(GnmiError):
        await not_connected.get(["/system/name/host-name"])


async def test_a_cut_stream_raises_stream_cut(lab: tuple[GnmiLabServer, dict[str, LabDevice]]) -> None:
    server, devices = lab
    sros = devices[SROS]
    async with session(server, sros) as gnmi:
        stream = gnmi.stream()
        await collect_until(stream, lambda items: isinstance(items[-1], SyncMarker))
        assert sros.faults.cut_gnmi() == 1
        with pytest.raises(GnmiStreamCut):
            async with asyncio.timeout(10):
                async for _ in stream:
                    pass


async def test_a_refused_path_raises_rejected_with_the_devices_words_and_leaves_no_task(
    lab: tuple[GnmiLabServer, dict[str, LabDevice]],
) -> None:
    server, devices = lab
    sros = devices[SROS]
    sros.faults.gnmi_rejects["/state/port/statistics"] = "not-found"
    async with session(server, sros) as gnmi:
        # SR OS lists its release as nokia-state's version (C-25.10.R1 in this seed's fleet).
        assert gnmi.release == f"nokia-state {sros.identity.version.split('-', 1)[1]}" == "nokia-state 25.10.R1"
        counters, oper_state = gnmi.default_subscriptions()[:2]
        with pytest.raises(GnmiRejected) as refused:
            async for _ in gnmi.stream((counters,)):
                pass
        assert refused.value.status_name == "NOT_FOUND"
        assert refused.value.details == (
            "MINOR: MGMT_CORE #2201: /state/port[port-id=*]/statistics: Unknown element - 'statistics'"
        )
        await asyncio.sleep(0.1)
        # gRPC's request-reading task ended with the call: nothing is left pending for the loop to destroy.
        readers = [task for task in asyncio.all_tasks() if "_consume_request_iterator" in repr(task.get_coro())]
        assert readers == []
        # The channel is fine: another group's call on it is served.
        items = await collect_until(gnmi.stream((oper_state,)), lambda items: isinstance(items[-1], SyncMarker))
        assert items and not isinstance(items[0], HealthSample)


async def test_only_the_call_carrying_alarms_reports_the_alarm_list(
    lab: tuple[GnmiLabServer, dict[str, LabDevice]],
) -> None:
    server, devices = lab
    sros = devices[SROS]  # has a failed power supply, with its alarm
    async with session(server, sros) as gnmi:
        by_name = {spec.name: spec for spec in gnmi.default_subscriptions(health_interval_s=1.0)}

        def health_views(items: list[Any]) -> list[HealthSample]:
            return [item for item in items if isinstance(item, HealthSample)]

        health = await collect_until(
            gnmi.stream((by_name["health"],)),
            lambda items: (
                any(sample.cpu_pct is not None for sample in health_views(items))
                and any(isinstance(item, SyncMarker) for item in items)
            ),
        )
        assert all(sample.alarms is None for sample in health_views(health))  # never an (empty) alarm list
        alarms = await collect_until(gnmi.stream((by_name["alarms"],)), lambda items: bool(health_views(items)))
        assert [alarm.alarm_id for alarm in health_views(alarms)[-1].alarms or ()] == ["psu-2"]


def note(prefix: str | None, *paths: str, deletes: tuple[str, ...] = ()) -> gnmi_pb2.Notification:
    """A notification with these paths (values left empty: only the paths matter to a GroupMatcher)."""
    return gnmi_pb2.Notification(
        prefix=gnmi_path(prefix) if prefix else None,
        update=[gnmi_pb2.Update(path=gnmi_path(path)) for path in paths],
        delete=[gnmi_path(path) for path in deletes],
    )


def test_a_notification_is_told_to_its_group_by_its_paths() -> None:
    """One call carries several groups: each notification's data is its group's, found from prefix and paths."""
    matcher = GroupMatcher(SROS_STATE.subscriptions())

    assert matcher.groups_of(note("/state/port[port-id=1/1/1]/statistics", "in-octets")) == ("counters",)
    assert matcher.groups_of(note("/state/port[port-id=1/1/1]", "oper-state")) == ("oper-state",)
    assert matcher.groups_of(note(None, "/configure/port[port-id=1/1/1]/description")) == ("oper-state",)
    # Under /state/system: the alarm list is the alarms group's, the system's name health's.
    assert matcher.groups_of(note("/state/system", "alarms/active[raised-time=1][index=2]/severity")) == ("alarms",)
    assert matcher.groups_of(note("/state/system", "oper-name")) == ("health",)
    assert matcher.groups_of(note(None, deletes=("/state/system/alarms/active[raised-time=1][index=2]",))) == (
        "alarms",
    )
    # A whole port at once is both interface groups'; a path no group asked for is nobody's.
    assert matcher.groups_of(note("/state", "port[port-id=1/1/1]")) == ("counters", "oper-state")
    assert matcher.groups_of(note("/state/router", "name")) == ()


# Shapes the devices send: SR OS a prefix per container, SR Linux full paths (JSON values or a leaf each),
# containers above the groups' paths, paths no group asked for, deletes.
GROUPED_NOTES = {
    SROS_STATE: (
        note("/state/port[port-id=1/1/1]/statistics", "in-octets", "out-octets"),
        note("/state/port[port-id=1/1/1]", "oper-state", "ethernet/oper-speed"),
        note(None, "/configure/port[port-id=1/1/1]/description"),
        note("/state/system", "alarms/active[raised-time=1][index=2]/severity", "oper-name"),
        note(None, deletes=("/state/system/alarms/active[raised-time=1][index=2]",)),
        note("/state/system", "oper-name", deletes=("alarms",)),
        note("/state", "port[port-id=1/1/1]"),
        note("/state/router", "name"),
        note(None),
    ),
    SRLINUX_NATIVE: (
        note(None, "/interface[name=ethernet-1/1]/statistics"),
        note(None, "/interface[name=ethernet-1/1]/statistics/in-octets", "/interface[name=ethernet-1/1]/oper-state"),
        note(None, "/interface[name=ethernet-1/1]/multicast/in-packets", "/system/name/host-name"),
        note(None, "/interface[name=ethernet-1/1]"),
        note(
            None, "/platform/control[slot=A]/memory/free", deletes=("/interface[name=ethernet-1/1]/oper-down-reason",)
        ),
        note("/interface[name=ethernet-1/2]", "statistics/in-octets", "description"),
        note(None, "/network-instance[name=default]/type"),
    ),
    OPENCONFIG: (
        note(None, "/interfaces/interface[name=eth1]/state/counters/in-pkts"),
        note("/interfaces/interface[name=eth1]", "state/oper-status", "state/counters"),
        note(None, "/components/component[name=fan1]/state/oper-status", "/system/state/hostname"),
        note(None, "/interfaces"),
    ),
}


@pytest.mark.parametrize("path_map", list(GROUPED_NOTES), ids=lambda path_map: path_map.name)
def test_decoding_tells_the_same_groups_as_the_paths_alone(path_map: Any) -> None:
    """The stream learns a notification's groups in the decoding pass; the answer is what its paths alone tell."""
    specs = path_map.subscriptions()
    alone, decoding = GroupMatcher(specs), GroupMatcher(specs)
    for notification in GROUPED_NOTES[path_map] * 2:  # the second time from what the matchers remember
        expected = alone.groups_of(notification)
        assert decode_notification(notification, "d1", grouping=decoding).groups == expected
    assert decode_notification(GROUPED_NOTES[path_map][0], "d1").groups == ()  # no grouping asked for: no groups


def test_a_group_matcher_remembers_a_bounded_number_of_answers() -> None:
    """A device sending ever new paths cannot grow a matcher's memory; past the bound, answers stay right."""
    matcher = GroupMatcher(SRLINUX_NATIVE.subscriptions(), cache_limit=3)
    fresh = GroupMatcher(SRLINUX_NATIVE.subscriptions())
    paths = [f"/interface[name=ethernet-1/{index}]/{leaf}" for index in range(4) for leaf in ("statistics", "x")]
    paths += [f"/invented-{index}/leaf" for index in range(20)] + ["/interface", "/platform"]
    for _ in range(2):
        for path in paths:
            names = tuple(elem.name for elem in gnmi_path(path).elem)
            assert matcher.groups_at(names) == fresh.groups_at(names), path
            assert matcher.remembered <= 2 * 3
    assert matcher.groups_at(("interface", "statistics", "in-octets")) == ("counters",)  # a miss, past the bound
    assert matcher.groups_at(("interface",)) == ("counters", "oper-state")
    assert matcher.group_above(("platform", "control")) is None
    assert matcher.groups_at(("platform",)) == ("health",)


def test_calls_with_the_same_groups_share_one_matcher() -> None:
    """Every device of a path map asks for the same groups: the matcher is built and learns once per fleet."""
    specs = SROS_STATE.subscriptions()
    assert group_matcher(specs) is group_matcher(tuple(SROS_STATE.subscriptions()))
    assert group_matcher(specs) is not group_matcher(SRLINUX_NATIVE.subscriptions())
    assert group_matcher.cache_info().maxsize is not None  # bounded: one per distinct set of groups asked for
