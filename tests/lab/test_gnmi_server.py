"""The lab's gNMI server over real sockets: pygnmi's client and a grpc.aio client against both platforms."""

from __future__ import annotations

import asyncio
import itertools
import json
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc import aio
from pygnmi.client import gNMIclient
from pygnmi.create_gnmi_path import gnmi_path_generator
from pygnmi.spec.v080 import gnmi_pb2, gnmi_pb2_grpc

from edgeops.lab.device import LabDevice
from edgeops.lab.model import Counters, DeviceIdentity, DeviceModel
from edgeops.lab.servers.certs import LabCertificateAuthority
from edgeops.lab.servers.gnmi import GnmiLabServer
from edgeops.lab.topology import build_fleet

pytestmark = pytest.mark.lab

SRL = "alcala-spine1"  # 7220 IXR-D3L, SR Linux
SROS = "alcala-gw1"  # 7750 SR-7, SR OS
SRL_PORT = "ethernet-1/1"  # the first ports always carry traffic in the lab model
SROS_PORT = "1/1/c1/1"
PASSWORD = "NokiaSrl1!"
STREAM = gnmi_pb2.SubscriptionList.STREAM
_third_octet = itertools.count(1)


def lab_devices(*, clock: Callable[[], float] | None = None) -> dict[str, LabDevice]:
    """One SR Linux spine and one SR OS gateway on 127.20.<n>.x, fresh for each test."""
    third = next(_third_octet) % 250
    devices = {}
    for index, identity in enumerate(build_fleet(devices_per_site=4)):
        if identity.name not in (SRL, SROS):
            continue
        identity.host = f"127.20.{third}.{index + 1}"
        model = DeviceModel(identity, clock=clock) if clock else DeviceModel(identity)
        devices[identity.name] = LabDevice(identity, model)
    return devices


@pytest.fixture
async def lab() -> AsyncIterator[tuple[GnmiLabServer, dict[str, LabDevice]]]:
    devices = lab_devices()
    server = GnmiLabServer(list(devices.values()), port_override=0)
    await server.start()
    try:
        yield server, devices
    finally:
        await server.stop()


def metadata(identity: DeviceIdentity, password: str | None = None) -> tuple[tuple[str, str], ...]:
    return (("username", identity.username), ("password", password or identity.password))


def path(xpath: str) -> gnmi_pb2.Path:
    return gnmi_path_generator(xpath)


class Client:
    """A plain grpc.aio gNMI client for one lab device."""

    def __init__(self, server: GnmiLabServer, device: LabDevice, channel: aio.Channel) -> None:
        self.device = device
        self.stub = gnmi_pb2_grpc.gNMIStub(channel)
        self.md = metadata(device.identity)
        self.encoding = gnmi_pb2.JSON if device.identity.platform.is_sros else gnmi_pb2.JSON_IETF

    async def get(self, *xpaths: str, encoding: int | None = None) -> gnmi_pb2.GetResponse:
        request = gnmi_pb2.GetRequest(
            path=[path(x) for x in xpaths], encoding=self.encoding if encoding is None else encoding
        )
        return await self.stub.Get(request, metadata=self.md, timeout=10)

    def subscribe(
        self,
        *subscriptions: gnmi_pb2.Subscription,
        mode: int = STREAM,
        encoding: int | None = None,
        extra: asyncio.Queue[gnmi_pb2.SubscribeRequest] | None = None,
    ) -> Any:
        subscription_list = gnmi_pb2.SubscriptionList(
            subscription=subscriptions, mode=mode, encoding=self.encoding if encoding is None else encoding
        )

        async def requests() -> AsyncIterator[gnmi_pb2.SubscribeRequest]:
            yield gnmi_pb2.SubscribeRequest(subscribe=subscription_list)
            while True:  # keep our side open, as collectors do
                if extra is None:
                    await asyncio.Event().wait()
                else:
                    yield await extra.get()

        return self.stub.Subscribe(requests(), metadata=self.md)


@pytest.fixture
async def connect(lab: tuple[GnmiLabServer, dict[str, LabDevice]]) -> AsyncIterator[Callable[[str], Client]]:
    server, devices = lab
    channels: list[aio.Channel] = []

    def open_client(name: str) -> Client:
        host, port = server.address(name)
        channel = aio.insecure_channel(f"{host}:{port}")
        channels.append(channel)
        return Client(server, devices[name], channel)

    yield open_client
    for channel in channels:
        await channel.close()


def sample(xpath: str, interval_s: float = 0.0, mode: int = gnmi_pb2.SAMPLE, **extra: Any) -> gnmi_pb2.Subscription:
    return gnmi_pb2.Subscription(path=path(xpath), mode=mode, sample_interval=int(interval_s * 1e9), **extra)


def value_of(val: gnmi_pb2.TypedValue) -> Any:
    which = val.WhichOneof("value")
    raw = getattr(val, which)
    return json.loads(raw) if which in ("json_val", "json_ietf_val") else raw


def elems(p: gnmi_pb2.Path) -> list[tuple[str, dict[str, str]]]:
    return [(e.name, dict(e.key)) for e in p.elem]


async def until_sync(call: Any) -> list[gnmi_pb2.Notification]:
    """The initial dump: every notification before sync_response."""
    dump = []
    async with asyncio.timeout(10):
        async for response in call:
            if response.sync_response:
                return dump
            dump.append(response.update)
    raise AssertionError("the stream ended before sync_response")


async def next_updates(call: Any, count: int, limit_s: float = 10.0) -> list[gnmi_pb2.Notification]:
    found = []
    async with asyncio.timeout(limit_s):
        async for response in call:
            assert not response.sync_response, "a second sync_response in a STREAM subscription"
            found.append(response.update)
            if len(found) == count:
                return found
    raise AssertionError("the stream ended early")


def counter_of(device: LabDevice, port: str, attribute: str = "in_octets") -> int:
    device.model.advance()
    return Counters.value(getattr(device.model.interfaces[port].counters, attribute))


# -- Capabilities -------------------------------------------------------------------------------------


async def test_capabilities_match_each_platform(connect: Callable[[str], Client]) -> None:
    srl = await connect(SRL).stub.Capabilities(gnmi_pb2.CapabilityRequest(), metadata=connect(SRL).md)
    assert srl.gNMI_version == "0.10.0"
    assert list(srl.supported_encodings) == [gnmi_pb2.JSON_IETF, gnmi_pb2.PROTO, gnmi_pb2.ASCII]
    names = {model.name.rsplit(":", 1)[-1]: model for model in srl.supported_models}
    assert {"srl_nokia-interfaces", "srl_nokia-platform", "srl_nokia-system", "openconfig-interfaces"} <= set(names)
    assert names["srl_nokia-interfaces"].organization == "Nokia"

    client = connect(SROS)
    sros = await client.stub.Capabilities(gnmi_pb2.CapabilityRequest(), metadata=client.md)
    assert sros.gNMI_version == "0.8.0"
    assert list(sros.supported_encodings) == [gnmi_pb2.JSON, gnmi_pb2.BYTES, gnmi_pb2.PROTO, gnmi_pb2.JSON_IETF]
    models = {model.name: model for model in sros.supported_models}
    release = client.device.identity.version.split("-", 1)[1]  # "C-25.10.R2" -> "25.10.R2"
    assert models["nokia-conf"].version == release and models["nokia-state"].organization == "Nokia"


# -- Get ----------------------------------------------------------------------------------------------


async def test_get_gives_the_models_numbers_in_each_platforms_shape() -> None:
    now = [1_750_000_000.0]
    devices = lab_devices(clock=lambda: now[0])
    async with GnmiLabServer(list(devices.values()), port_override=0) as server:
        for name, xpath in (
            (SRL, f"/interface[name={SRL_PORT}]/statistics"),
            (SROS, f"/state/port[port-id={SROS_PORT}]/statistics"),
        ):
            host, port = server.address(name)
            async with aio.insecure_channel(f"{host}:{port}") as channel:
                client = Client(server, devices[name], channel)
                response = await client.get(
                    xpath, f"/interface[name={SRL_PORT}]/mtu" if name == SRL else "/state/system/up-time"
                )
            counters, update = response.notification[0], response.notification[0].update[0]
            assert counters.timestamp == int(now[0] * 1e9)
            first = update.path.elem[0].name
            # SR Linux JSON_IETF carries the module on the first element; SR OS does not.
            assert first == ("srl_nokia-interfaces:interface" if name == SRL else "state")
            values = json.loads(update.val.json_ietf_val if name == SRL else update.val.json_val)
            expected = counter_of(devices[name], SRL_PORT if name == SRL else SROS_PORT)
            assert values["in-octets"] == str(expected)  # 64-bit counters are strings
            other = response.notification[1].update[0]
            if name == SRL:
                assert json.loads(other.val.json_ietf_val) == 9232  # small integers are numbers
            else:
                assert elems(other.path) == [("state", {}), ("system", {}), ("up-time", {})]
                assert json.loads(other.val.json_val) == str(int(devices[SROS].model.uptime_s * 100))


async def test_get_of_a_missing_entry_is_not_found_and_a_bad_path_is_invalid(connect: Callable[[str], Client]) -> None:
    client = connect(SRL)
    with pytest.raises(aio.AioRpcError) as missing:
        await client.get("/interface[name=ethernet-9/99]/oper-state")
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(aio.AioRpcError) as invalid:
        await client.get("/interface[name=*]/no-such-leaf")
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_srlinux_rejects_json_encoding_as_the_real_one_does(connect: Callable[[str], Client]) -> None:
    client = connect(SRL)
    with pytest.raises(aio.AioRpcError) as get_error:
        await client.get("/system/name/host-name", encoding=gnmi_pb2.JSON)
    assert get_error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    call = client.subscribe(sample("/interface[name=*]/statistics"), encoding=gnmi_pb2.JSON)
    with pytest.raises(aio.AioRpcError) as subscribe_error:
        await until_sync(call)
    assert subscribe_error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # SR OS takes both JSON and JSON_IETF.
    sros = connect(SROS)
    for encoding in (gnmi_pb2.JSON, gnmi_pb2.JSON_IETF):
        response = await sros.get("/state/system/oper-name", encoding=encoding)
        assert value_of(response.notification[0].update[0].val) == SROS


async def test_wrong_password_is_unauthenticated(lab: tuple[GnmiLabServer, dict[str, LabDevice]]) -> None:
    server, devices = lab
    for name in (SRL, SROS):
        host, port = server.address(name)
        async with aio.insecure_channel(f"{host}:{port}") as channel:
            stub = gnmi_pb2_grpc.gNMIStub(channel)
            for md in (metadata(devices[name].identity, "wrong"), ()):
                with pytest.raises(aio.AioRpcError) as error:
                    await stub.Capabilities(gnmi_pb2.CapabilityRequest(), metadata=md)
                assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


# -- Subscribe ----------------------------------------------------------------------------------------


async def test_srlinux_sample_sends_containers_with_growing_counters(connect: Callable[[str], Client]) -> None:
    client = connect(SRL)
    call = client.subscribe(
        sample(f"/interface[name={SRL_PORT}]/statistics", 0.2), sample("/interface[name=*]/traffic-rate", 0.2)
    )
    dump = await until_sync(call)
    assert dump, "no initial dump before sync_response"
    octets = []
    for note in await next_updates(call, 3):
        assert not note.HasField("prefix")
        by_path = {tuple(e.name for e in u.path.elem): u for u in note.update}
        stats = by_path[("srl_nokia-interfaces:interface", "statistics")]
        assert elems(stats.path)[0][1] == {"name": SRL_PORT}
        values = json.loads(stats.val.json_ietf_val)
        assert isinstance(values["in-octets"], str) and isinstance(values["carrier-transitions"], str)
        octets.append(int(values["in-octets"]))
        rate = json.loads(by_path[("srl_nokia-interfaces:interface", "traffic-rate")].val.json_ietf_val)
        assert set(rate) == {"in-bps", "out-bps"}
    assert octets[0] < octets[1] < octets[2]
    assert octets[2] <= counter_of(client.device, SRL_PORT)
    call.cancel()


async def test_sros_sample_sets_prefix_and_sends_one_update_per_leaf(connect: Callable[[str], Client]) -> None:
    client = connect(SROS)
    # SR OS never samples faster than once a second, whatever is asked.
    call = client.subscribe(sample(f"/state/port[port-id={SROS_PORT}]/statistics", 0.1))
    await until_sync(call)
    loop = asyncio.get_running_loop()
    started = loop.time()
    octets = []
    for note in await next_updates(call, 3):
        assert elems(note.prefix) == [("state", {}), ("port", {"port-id": SROS_PORT}), ("statistics", {})]
        leaves = {u.path.elem[0].name: json.loads(u.val.json_val) for u in note.update}
        assert all(len(u.path.elem) == 1 for u in note.update)
        assert isinstance(leaves["in-octets"], str)
        octets.append(int(leaves["in-octets"]))
    assert loop.time() - started >= 2.0  # three samples at 1 s, not 0.1 s
    assert octets[0] < octets[1] < octets[2]
    call.cancel()


async def test_on_change_reports_a_port_going_down_and_nothing_else(connect: Callable[[str], Client]) -> None:
    for name, xpath, port in (
        (SRL, "/interface[name=*]/oper-state", "ethernet-1/2"),
        (SROS, "/state/port[port-id=*]/oper-state", "1/1/c2/1"),
    ):
        client = connect(name)
        call = client.subscribe(sample(xpath, mode=gnmi_pb2.ON_CHANGE))
        dump = await until_sync(call)
        reported = sum(len(note.update) for note in dump)
        assert reported == len(client.device.model.interfaces)  # the wildcard matched every port
        client.device.model.set_oper_state(port, False)
        (note,) = await next_updates(call, 1)
        full = [(e.name.split(":")[-1], dict(e.key)) for e in [*note.prefix.elem, *note.update[0].path.elem]]
        assert len(note.update) == 1
        assert ("port" if name == SROS else "interface", {"port-id" if name == SROS else "name": port}) in full
        assert value_of(note.update[0].val) == "down"
        call.cancel()


async def test_target_defined_samples_counters_and_reports_state_on_change(connect: Callable[[str], Client]) -> None:
    client = connect(SRL)
    call = client.subscribe(sample(f"/interface[name={SRL_PORT}]", 0.2, mode=gnmi_pb2.TARGET_DEFINED))
    await until_sync(call)
    for note in await next_updates(call, 2):  # samples: counters only, no state leaves
        (update,) = note.update
        values = json.loads(update.val.json_ietf_val)
        assert "statistics" in values and "oper-state" not in values
    client.device.model.set_description(SRL_PORT, "moved to rack 7")
    async with asyncio.timeout(10):
        async for response in call:
            values = json.loads(response.update.update[0].val.json_ietf_val)
            if "description" in values:
                assert values == {"description": "moved to rack 7"}
                break
    call.cancel()


async def test_suppress_redundant_sends_only_what_changed(connect: Callable[[str], Client]) -> None:
    client = connect(SRL)
    call = client.subscribe(sample("/interface[name=*]/oper-state", 0.2, suppress_redundant=True))
    responses = call.__aiter__()
    await until_sync(call)
    quiet = asyncio.ensure_future(anext(responses))
    done, _ = await asyncio.wait({quiet}, timeout=3 * 0.2 + 0.2)
    assert not done, "an unchanged leaf was sent again"
    client.device.model.set_oper_state("ethernet-1/4", False)
    async with asyncio.timeout(10):
        changed = (await quiet).update
    assert [(elems(u.path)[0][1]["name"], value_of(u.val)) for u in changed.update] == [("ethernet-1/4", "down")]
    call.cancel()


async def test_once_dumps_then_closes_and_poll_dumps_on_each_poll(connect: Callable[[str], Client]) -> None:
    client = connect(SROS)
    once = client.subscribe(sample("/state/port[port-id=*]/oper-state"), mode=gnmi_pb2.SubscriptionList.ONCE)
    responses = [response async for response in once]
    assert responses[-1].sync_response and len(responses) > 1
    assert await once.code() == grpc.StatusCode.OK

    polls: asyncio.Queue[gnmi_pb2.SubscribeRequest] = asyncio.Queue()
    poll = client.subscribe(
        sample(f"/state/port[port-id={SROS_PORT}]/statistics"), mode=gnmi_pb2.SubscriptionList.POLL, extra=polls
    )
    first = await until_sync(poll)
    await polls.put(gnmi_pb2.SubscribeRequest(poll=gnmi_pb2.Poll()))
    second = await until_sync(poll)
    octets = [
        int(json.loads(note.update[0].val.json_val))
        for note in (first[0], second[0])
        if note.update[0].path.elem[0].name == "in-octets"
    ]
    assert len(octets) == 2 and octets[0] < octets[1]
    poll.cancel()


async def test_wildcards_and_container_paths(connect: Callable[[str], Client]) -> None:
    srl = connect(SRL)
    response = await srl.get("/platform/fan-tray[id=*]/oper-state", "/platform/*/temperature", "/system/*")
    fans, temperatures, system = response.notification
    assert len(fans.update) == len(srl.device.model.fans)
    kinds = {elems(u.path)[1][0] for u in temperatures.update}
    assert kinds == {"control", "linecard"}
    assert {e[0] for u in system.update for e in elems(u.path)[1:2]} >= {"name", "information", "state", "alarms"} - {
        "alarms"
    }
    # The same interfaces through OpenConfig on both platforms.
    sros = connect(SROS)
    for client, name in ((srl, SRL_PORT), (sros, SROS_PORT)):
        response = await client.get(
            f"/interfaces/interface[name={name}]/state/counters/in-octets",
            "/interfaces/interface[name=*]/state/oper-status",
        )
        octets, status = response.notification
        assert int(value_of(octets.update[0].val)) <= counter_of(client.device, name)
        assert {value_of(u.val) for u in status.update} <= {"UP", "DOWN"}
        assert len(status.update) == len(client.device.model.interfaces)


async def test_sros_alarms_arrive_on_change_and_clear_with_a_delete(connect: Callable[[str], Client]) -> None:
    client = connect(SROS)
    call = client.subscribe(sample("/state/system/alarms/active[raised-time=*][index=*]", mode=gnmi_pb2.ON_CHANGE))
    assert not any(note.update for note in await until_sync(call))
    client.device.model.fail_power_supply(2)
    (raised,) = await next_updates(call, 1)
    entry = elems(raised.prefix)[-1]
    assert entry[0] == "active" and set(entry[1]) == {"raised-time", "index"}
    leaves = {"/".join(name for name, _ in elems(u.path)): json.loads(u.val.json_val) for u in raised.update}
    assert leaves["severity"] == "major" and "Power supply 2" in leaves["details"]
    assert leaves["alarm-id/full-id"] == "psu-2"
    client.device.model.clear_alarm("psu-2")
    (cleared,) = await next_updates(call, 1)
    assert [elems(p)[-1] for p in cleared.delete] == [entry]
    call.cancel()


async def test_srlinux_has_no_alarm_list(connect: Callable[[str], Client]) -> None:
    client = connect(SRL)
    for path in ("/system/alarms/alarm[id=*]/state", "/state/system/alarms"):
        with pytest.raises(aio.AioRpcError) as invalid:
            await client.get(path)
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# -- faults -------------------------------------------------------------------------------------------


async def test_refused_gnmi_is_unavailable(connect: Callable[[str], Client]) -> None:
    client = connect(SROS)
    client.device.faults.gnmi_refuse = True
    with pytest.raises(aio.AioRpcError) as error:
        await client.stub.Capabilities(gnmi_pb2.CapabilityRequest(), metadata=client.md)
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE
    client.device.faults.gnmi_refuse = False
    assert (await client.stub.Capabilities(gnmi_pb2.CapabilityRequest(), metadata=client.md)).gNMI_version


async def test_cut_ends_the_stream_with_an_error(connect: Callable[[str], Client]) -> None:
    client = connect(SRL)
    faults = client.device.faults
    call = client.subscribe(sample("/interface[name=*]/statistics", 0.2))
    await until_sync(call)
    assert faults.gnmi_streams_opened == 1 and len(faults.gnmi_closers) == 1
    assert faults.cut_gnmi() == 1
    with pytest.raises(aio.AioRpcError) as error:
        async with asyncio.timeout(10):
            async for _ in call:
                pass
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE
    await asyncio.sleep(0.05)
    assert not faults.gnmi_closers  # the stream unregistered itself


async def test_stall_keeps_the_stream_open_and_silent(connect: Callable[[str], Client]) -> None:
    client = connect(SRL)
    call = client.subscribe(sample(f"/interface[name={SRL_PORT}]/statistics", 0.2))
    responses = call.__aiter__()
    async with asyncio.timeout(10):
        while not (await anext(responses)).sync_response:
            pass
        await anext(responses)  # streaming
    client.device.faults.gnmi_stall = True
    # At most what was already on its way, then nothing for three intervals (and more).
    reader = asyncio.ensure_future(anext(responses))
    done, _ = await asyncio.wait({reader}, timeout=0.3)
    if done:
        reader = asyncio.ensure_future(anext(responses))
    done, _ = await asyncio.wait({reader}, timeout=3 * 0.2 + 0.4)
    assert not done, "a stalled stream sent an update"
    assert not call.done()
    client.device.faults.gnmi_stall = False
    async with asyncio.timeout(10):
        resumed = await reader
    assert resumed.update.update
    call.cancel()


# -- pygnmi's own client, insecure and over TLS ------------------------------------------------------


def _pygnmi_session(target: tuple[str, int], identity: DeviceIdentity, **tls: Any) -> dict[str, Any]:
    interval_ns = 1_000_000_000 if identity.platform.is_sros else 200_000_000  # SR OS samples at 1 s at best
    """Capabilities, Get and three SAMPLE updates through pygnmi (a blocking client: run in a thread)."""
    port_path = (
        f"/interface[name={SRL_PORT}]/statistics"
        if not identity.platform.is_sros
        else f"/state/port[port-id={SROS_PORT}]/statistics"
    )
    with gNMIclient(target=target, username=identity.username, password=identity.password, **tls) as gc:
        caps = gc.capabilities()
        got = gc.get(path=[port_path.replace("/statistics", "/oper-state")])
        stream = gc.subscribe_stream(
            subscribe={
                "subscription": [{"path": port_path, "mode": "sample", "sample_interval": interval_ns}],
                "mode": "stream",
            }
        )
        try:
            updates = [stream.get_update(timeout=10) for _ in range(4)]
        finally:
            stream.close()
    return {"caps": caps, "get": got, "updates": updates}


def _octets(update: dict[str, Any]) -> int:
    for item in update["update"]["update"]:
        value = item["val"]
        if isinstance(value, dict) and "in-octets" in value:
            return int(value["in-octets"])
        if item["path"].endswith("in-octets"):
            return int(value)
    raise AssertionError(f"no in-octets in {update}")


# pygnmi's stream reader thread raises when its channel closes under it; that is pygnmi's, not the lab's.
pygnmi_thread_noise = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


@pygnmi_thread_noise
async def test_pygnmi_insecure_both_platforms(lab: tuple[GnmiLabServer, dict[str, LabDevice]]) -> None:
    server, devices = lab
    for name in (SRL, SROS):
        result = await asyncio.to_thread(_pygnmi_session, server.address(name), devices[name].identity, insecure=True)
        expected = "0.8.0" if name == SROS else "0.10.0"
        assert result["caps"]["gnmi_version"] == expected
        # pygnmi picks json > json_ietf: SR OS gets JSON, SR Linux (no JSON) gets JSON_IETF.
        assert ("json" in result["caps"]["supported_encodings"]) == (name == SROS)
        assert result["get"]["notification"][0]["update"][0]["val"] == "up"
        samples = [update for update in result["updates"] if "update" in update]
        octets = [_octets(update) for update in samples[-3:]]
        assert len(octets) == 3 and octets[0] < octets[1] < octets[2]


@pygnmi_thread_noise
async def test_pygnmi_tls_with_the_ca_and_with_skip_verify(tmp_path: Path) -> None:
    devices = lab_devices()
    async with GnmiLabServer(list(devices.values()), tls_dir=tmp_path, port_override=0) as server:
        assert server.ca_file is not None
        identity = devices[SRL].identity
        target = server.address(SRL)
        verified = await asyncio.to_thread(_pygnmi_session, target, identity, path_cert=str(server.ca_file))
        skipped = await asyncio.to_thread(_pygnmi_session, target, identity, skip_verify=True)
        for result in (verified, skipped):
            assert result["caps"]["gnmi_version"] == "0.10.0"
        # The certificate names the device's address and name, so verification against the CA passes.
        pem = ssl.get_server_certificate(target).encode()
        from cryptography import x509

        sans = x509.load_pem_x509_certificate(pem).extensions.get_extension_for_class(x509.SubjectAlternativeName)
        assert identity.host in [str(ip) for ip in sans.value.get_values_for_type(x509.IPAddress)]
        assert SRL in sans.value.get_values_for_type(x509.DNSName)


async def test_certificates_are_made_once_and_reused(tmp_path: Path) -> None:
    first = LabCertificateAuthority(tmp_path)
    leaf = first.server_certificate("alcala-leaf1", "127.20.0.9")
    again = LabCertificateAuthority(tmp_path)
    assert again.cert_pem == first.cert_pem
    assert again.server_certificate("alcala-leaf1", "127.20.0.9").chain_pem == leaf.chain_pem
    moved = again.server_certificate("alcala-leaf1", "127.20.0.10")  # a new address needs a new SAN
    assert moved.chain_pem != leaf.chain_pem
    assert (tmp_path / "alcala-leaf1.key").stat().st_mode & 0o077 == 0


# -- the sampler's serialized notifications ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("device_name", "encoding"),
    [
        (SRL, gnmi_pb2.JSON_IETF),
        (SRL, gnmi_pb2.PROTO),
        (SRL, gnmi_pb2.ASCII),
        (SROS, gnmi_pb2.JSON),
        (SROS, gnmi_pb2.BYTES),
        (SROS, gnmi_pb2.JSON_IETF),
        (SROS, gnmi_pb2.PROTO),
    ],
)
@pytest.mark.parametrize("target", ["", "leaf-a"])
def test_serialized_samples_are_the_same_messages_as_the_built_ones(device_name: str, encoding: int, target: str):
    from edgeops.devices.gnmi_paths import native_path_map, subscription_list
    from edgeops.lab.servers.gnmi import NotificationShaper, compile_subscriptions
    from edgeops.lab.servers.gnmi_tree import DeviceTree

    device = lab_devices()[device_name]
    platform = device.identity.platform
    specs = native_path_map(platform).subscriptions(counter_interval_s=1.0, health_interval_s=10.0)
    request = subscription_list(specs, encoding)
    request.subscription.extend(
        [sample("/interface[name=*]" if not platform.is_sros else "/state/port[port-id=*]/oper-state")]
    )
    tree = DeviceTree(device.model)
    units = compile_subscriptions(tree, request, platform)
    snapshot = [reading for unit in units for reading in unit.read()]
    assert any(values for _, values in snapshot)
    for subscribe in (True, False):
        shaper = NotificationShaper(platform, encoding, subscribe=subscribe, target=target)
        stamp = 1_780_000_000_123_456_789
        for _ in range(2):  # the second round is built from the cached bytes
            built = [gnmi_pb2.SubscribeResponse(update=note) for note in shaper.updates(snapshot, stamp)]
            encoded = shaper.encoded_updates(snapshot, stamp)
            serialized = [gnmi_pb2.SubscribeResponse.FromString(data) for data in encoded]
            assert serialized == built
            assert len(built) >= 1


# -- paths a device refuses ----------------------------------------------------------------------------


async def _subscribe_error(call: Any) -> aio.AioRpcError:
    with pytest.raises(aio.AioRpcError) as error:
        async with asyncio.timeout(10):
            async for _ in call:
                pass
    return error.value


async def test_gnmi_reject_refuses_only_subscriptions_under_the_prefix(connect: Callable[[str], Client]) -> None:
    from edgeops.lab.control import FaultController

    client = connect(SRL)
    controller = FaultController({SRL: client.device})
    said = await controller.inject(SRL, "gnmi-reject", path="/interface/statistics", code="not-found")
    assert "/interface/statistics" in said and "NOT_FOUND" in said
    refused = await _subscribe_error(client.subscribe(sample("/interface[name=*]/statistics", 1.0)))
    assert refused.code() == grpc.StatusCode.NOT_FOUND
    assert refused.details() == "Path '/interface[name=*]/statistics' is not valid: unknown element 'statistics'"
    assert client.device.faults.gnmi_subscribes_rejected == 1
    # A path beside the prefix is served, and so is one Subscribe naming only such paths.
    await until_sync(client.subscribe(sample("/interface[name=*]/oper-state", mode=gnmi_pb2.ON_CHANGE)))
    # One refused path refuses the whole call, whatever else it names (as a device does).
    mixed = client.subscribe(
        sample("/interface[name=*]/oper-state", mode=gnmi_pb2.ON_CHANGE), sample("/interface[name=*]/statistics", 1.0)
    )
    assert (await _subscribe_error(mixed)).code() == grpc.StatusCode.NOT_FOUND
    await controller.clear(SRL)
    await until_sync(client.subscribe(sample("/interface[name=*]/statistics", 1.0)))


async def test_gnmi_reject_speaks_sros_and_checks_its_parameters(connect: Callable[[str], Client]) -> None:
    from edgeops.lab.control import FaultController, FaultError

    client = connect(SROS)
    controller = FaultController({SROS: client.device})
    with pytest.raises(FaultError, match="wants an absolute path"):
        await controller.inject(SROS, "gnmi-reject", path="state/system")
    with pytest.raises(FaultError, match="code must be one of"):
        await controller.inject(SROS, "gnmi-reject", path="/state/system", code="teapot")
    await controller.inject(SROS, "gnmi-reject", path="/state/system/alarms")
    refused = await _subscribe_error(client.subscribe(sample("/state/system/alarms/active", 1.0)))
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.details() == "MINOR: MGMT_CORE #2201: /state/system/alarms/active: Unknown element - 'alarms'"
    # Without a path, the fault refuses the interface statistics.
    await controller.inject(SROS, "gnmi-reject")
    assert "/state/port/statistics" in client.device.faults.gnmi_rejects


async def test_an_older_release_claims_its_version_and_answers_not_found_for_what_it_lacks() -> None:
    from edgeops.lab.topology import OLDER_RELEASES, older_release
    from edgeops.platforms import Platform

    devices = lab_devices()
    srl = devices[SRL]
    srl.identity = older_release(srl.identity, ["/platform/linecard"])
    srl.model.identity = srl.identity
    assert srl.identity.version == OLDER_RELEASES[Platform.SRLINUX][0] == "v24.10.1"
    server = GnmiLabServer(list(devices.values()), port_override=0)
    await server.start()
    host, port = server.address(SRL)
    channel = aio.insecure_channel(f"{host}:{port}")
    try:
        client = Client(server, srl, channel)
        caps = await client.stub.Capabilities(gnmi_pb2.CapabilityRequest(), metadata=client.md)
        assert {model.version for model in caps.supported_models if model.organization == "Nokia"} == {"2024-10-31"}
        refused = await _subscribe_error(client.subscribe(sample("/platform/linecard[slot=*]/temperature", 1.0)))
        assert refused.code() == grpc.StatusCode.NOT_FOUND and "'linecard'" in refused.details()
        with pytest.raises(aio.AioRpcError) as error:
            await client.get("/platform/linecard[slot=1]")
        assert error.value.code() == grpc.StatusCode.NOT_FOUND
        await until_sync(client.subscribe(sample("/platform/control[slot=*]/temperature", 1.0)))
    finally:
        await channel.close()
        await server.stop()
