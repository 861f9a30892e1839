"""pygnmi's own gNMIclient (grpc's sync API, a reader thread per subscription) against lab devices.

Capabilities, Get of real paths (from the devices' YANG tables) in each encoding pygnmi decodes, and Subscribe
ONCE, STREAM and POLL, in plaintext and over TLS. pygnmi waits without limit in places (a subscription's reader
thread, `next()`), so every read here has a timeout and every test checks that the client's threads ended.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from lab_clients import CLIENT_TIMEOUT_S, SRL, SROS, LabThread
from pygnmi.client import gNMIclient

pytestmark = [
    pytest.mark.lab,
    # When a subscription ends with an error (the client's own cancel at close, or a cut stream), pygnmi's reader
    # thread re-raises it; the tests look at that error themselves.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
]

SAMPLE_NS = 1_000_000_000  # 1 s: SR OS samples at 1 s at best, and SR Linux's plain sample is 1 s
# Ports passing traffic on the lab's devices, and real paths of each platform (see the YANG tables).
PORTS = {SRL: "ethernet-1/1", SROS: "1/1/c1/1"}
FLAPPED = {SRL: "ethernet-1/2", SROS: "1/1/c2/1"}  # another busy port each, for the port-flap fault
OPER_STATE = {SRL: "/interface[name={}]/oper-state", SROS: "/state/port[port-id={}]/oper-state"}
STATISTICS = {SRL: "/interface[name=ethernet-1/1]/statistics", SROS: "/state/port[port-id=1/1/c1/1]/statistics"}
GET_PATHS = {
    SRL: {
        "version": "/system/information/version",
        "name": "/system/name/host-name",
        "oper-state": "/interface[name=ethernet-1/1]/oper-state",
        "statistics": STATISTICS[SRL],
        "memory": "/platform/control[slot=A]/memory/physical",
    },
    SROS: {
        "version": "/state/system/version/version-number",
        "name": "/state/system/oper-name",
        "oper-state": "/state/port[port-id=1/1/c1/1]/oper-state",
        "statistics": STATISTICS[SROS],
        "memory": "/state/system/memory-pools/summary/current-total-size",
    },
}
# What each platform answers to Capabilities (platform reference: gNMI).
GNMI_VERSIONS = {SRL: "0.10.0", SROS: "0.8.0"}
ENCODINGS = {SRL: ["json_ietf", "proto", "ascii"], SROS: ["json", "bytes", "proto", "json_ietf"]}
MODELS = {SRL: "urn:nokia.com:srlinux:chassis:interfaces:srl_nokia-interfaces", SROS: "nokia-state"}
# The encodings pygnmi can decode a Get in: it reads `bytes_val` as a 4-byte float, so SR OS's BYTES is left out.
# (Nor does it read `double_val`, which PROTO carries decimal64 leaves in, so the paths here have none.)
GET_ENCODINGS = [
    (SRL, "json_ietf"),
    (SRL, "proto"),
    (SRL, "ascii"),
    (SROS, "json"),
    (SROS, "json_ietf"),
    (SROS, "proto"),
]


@contextlib.contextmanager
def gnmi_client(lab: LabThread, name: str, **tls: Any) -> Iterator[gNMIclient]:
    identity = lab.identity(name)
    if not tls:
        tls = {"insecure": True}
    client = gNMIclient(
        target=(identity.host, identity.gnmi_port),
        username=identity.username,
        password=identity.password,
        gnmi_timeout=CLIENT_TIMEOUT_S,
        **tls,
    )
    with client as session:
        yield session


def reader_thread(subscription: Any) -> threading.Thread:
    thread = subscription._subscribe_thread  # pygnmi keeps the RPC in this thread and offers no other handle
    assert isinstance(thread, threading.Thread)
    return thread


def ended(subscription: Any) -> BaseException | None:
    """Wait for a subscription's reader thread to end; its error (None when the RPC ended normally)."""
    thread = reader_thread(subscription)
    thread.join(CLIENT_TIMEOUT_S)
    assert not thread.is_alive(), "pygnmi's reader thread is still running"
    return subscription.error


def flatten(notifications: list[dict[str, Any]]) -> dict[str, Any]:
    """Get or Subscribe updates as {path: value}, containers (JSON encodings) spread into their leaves."""
    leaves: dict[str, Any] = {}
    for note in notifications:
        prefix = note.get("prefix") or ""
        for update in note.get("update") or []:
            path = "/".join(part for part in (prefix, update.get("path") or "") if part)
            value = update.get("val")
            if isinstance(value, dict):
                leaves.update({f"{path}/{key}": item for key, item in value.items()})
            else:
                leaves[path] = value
    return leaves


def leaf(leaves: dict[str, Any], suffix: str) -> Any:
    found = [value for path, value in leaves.items() if path.endswith(suffix)]
    assert len(found) == 1, f"{len(found)} leaves end in {suffix!r}: {sorted(leaves)}"
    return found[0]


def in_octets(update: dict[str, Any]) -> int:
    return int(leaf(flatten([update["update"]]), "in-octets"))


def expected_version(lab: LabThread, name: str) -> str:
    identity = lab.identity(name)
    return f"{identity.version}-{identity.build}" if identity.build else identity.version


@pytest.fixture(autouse=True)
def ports_pass_traffic(client_lab: LabThread) -> None:
    """The ports these tests read carry traffic in the lab's model (otherwise counters would not grow)."""
    for name in (SRL, SROS):
        for port in (PORTS[name], FLAPPED[name]):
            assert client_lab.lab.devices[name].model.interfaces[port].passing_traffic


@pytest.mark.parametrize("name", [SRL, SROS])
def test_capabilities(client_lab: LabThread, name: str) -> None:
    with gnmi_client(client_lab, name) as gc:
        caps = gc.capabilities()
    assert caps["gnmi_version"] == GNMI_VERSIONS[name]
    assert caps["supported_encodings"] == ENCODINGS[name]
    models = {model["name"]: model["organization"] for model in caps["supported_models"]}
    assert models[MODELS[name]] == "Nokia"
    client_lab.wait_idle()


@pytest.mark.parametrize(("name", "encoding"), GET_ENCODINGS)
def test_get_of_real_paths(client_lab: LabThread, name: str, encoding: str) -> None:
    paths = GET_PATHS[name]
    with gnmi_client(client_lab, name) as gc:
        response = gc.get(path=list(paths.values()), encoding=encoding)
    assert len(response["notification"]) == len(paths)
    leaves = flatten(response["notification"])
    identity = client_lab.identity(name)
    assert leaf(leaves, paths["version"].rsplit("/", 1)[1]) == expected_version(client_lab, name)
    assert leaf(leaves, paths["name"].rsplit("/", 1)[1]) == identity.name
    assert leaf(leaves, "oper-state") == "up"
    assert int(leaf(leaves, "statistics/in-octets")) > 0
    assert int(leaf(leaves, paths["memory"].rsplit("/", 1)[1])) > 0
    client_lab.wait_idle()


@pytest.mark.parametrize("name", [SRL, SROS])
def test_subscribe_once(client_lab: LabThread, name: str) -> None:
    """ONCE: the values, then sync_response, then the device ends the call by itself."""
    paths = GET_PATHS[name]
    with gnmi_client(client_lab, name) as gc:
        once = gc.subscribe2(
            subscribe={"mode": "once", "subscription": [{"path": paths["statistics"]}, {"path": paths["version"]}]}
        )
        updates = []
        while "sync_response" not in (message := once.get_update(timeout=CLIENT_TIMEOUT_S)):
            updates.append(message["update"])
        assert ended(once) is None  # the RPC finished without error before the client did anything
    leaves = flatten(updates)
    assert int(leaf(leaves, "in-octets")) > 0
    assert leaf(leaves, paths["version"].rsplit("/", 1)[1]) == expected_version(client_lab, name)
    client_lab.wait_idle()


@pytest.mark.parametrize("name", [SRL, SROS])
def test_subscribe_stream_sample(client_lab: LabThread, name: str) -> None:
    """STREAM SAMPLE at 1 s: the initial dump up to sync_response, then samples with growing counters."""
    with gnmi_client(client_lab, name) as gc:
        stream = gc.subscribe2(
            subscribe={
                "mode": "stream",
                "subscription": [{"path": STATISTICS[name], "mode": "sample", "sample_interval": SAMPLE_NS}],
            }
        )
        first = stream.get_update(timeout=CLIENT_TIMEOUT_S)  # pygnmi merges everything up to sync_response
        assert first["sync_response"] is True
        samples = [in_octets(first)]
        samples += [in_octets(stream.get_update(timeout=CLIENT_TIMEOUT_S)) for _ in range(3)]
        assert samples == sorted(samples) and samples[0] < samples[-1]
        stream.close()  # pygnmi half-closes its side; the device keeps streaming until the call is cancelled
    error = ended(stream)  # leaving the client closed the channel, which cancels the call
    assert isinstance(error, grpc.RpcError) and error.code() is grpc.StatusCode.CANCELLED
    client_lab.wait_idle()


@pytest.mark.parametrize("name", [SRL, SROS])
def test_subscribe_stream_on_change(client_lab: LabThread, name: str) -> None:
    """STREAM ON_CHANGE on a port's oper-state: its state up to sync_response, then down and up as it flaps."""
    port = FLAPPED[name]
    with gnmi_client(client_lab, name) as gc:
        stream = gc.subscribe2(
            subscribe={"mode": "stream", "subscription": [{"path": OPER_STATE[name].format(port), "mode": "on_change"}]}
        )
        first = stream.get_update(timeout=CLIENT_TIMEOUT_S)
        assert first["sync_response"] is True
        states = [leaf(flatten([first["update"]]), "oper-state")]
        client_lab.inject(name, "port-flap", port=port, seconds=1)
        states += [
            leaf(flatten([stream.get_update(timeout=CLIENT_TIMEOUT_S)["update"]]), "oper-state") for _ in range(2)
        ]
        stream.close()
    assert states == ["up", "down", "up"]
    ended(stream)
    client_lab.wait_idle()


@pytest.mark.parametrize("name", [SRL, SROS])
def test_subscribe_poll(client_lab: LabThread, name: str) -> None:
    """POLL: every poll answers with the values and sync_response; counters never go back."""
    with gnmi_client(client_lab, name) as gc:
        poll = gc.subscribe2(subscribe={"mode": "poll", "subscription": [{"path": STATISTICS[name]}]})
        answers = [poll.get_update(timeout=CLIENT_TIMEOUT_S) for _ in range(3)]
        poll.close()
    for answer in answers:
        assert answer["sync_response"] is True
    samples = [in_octets(answer) for answer in answers]
    assert samples == sorted(samples)
    ended(poll)
    client_lab.wait_idle()


@pytest.mark.parametrize("name", [SRL, SROS])
@pytest.mark.parametrize("verify", ["ca", "skip-verify"])
def test_tls(tls_lab: LabThread, name: str, verify: str) -> None:
    """TLS with the lab's CA as the trust root, or pygnmi's skip_verify (it fetches the certificate, reads its
    names, and overrides the target name with them)."""
    ca_file = tls_lab.lab.gnmi_ca_file
    assert ca_file is not None
    tls = {"path_cert": str(ca_file)} if verify == "ca" else {"skip_verify": True}
    paths = GET_PATHS[name]
    with gnmi_client(tls_lab, name, **tls) as gc:
        assert gc.capabilities()["gnmi_version"] == GNMI_VERSIONS[name]
        response = gc.get(path=[paths["version"]])
        once = gc.subscribe2(subscribe={"mode": "once", "subscription": [{"path": paths["statistics"]}]})
        while "sync_response" not in once.get_update(timeout=CLIENT_TIMEOUT_S):
            pass
        assert ended(once) is None  # the device ended the call (before the client closes the channel)
    assert leaf(flatten(response["notification"]), "version" if name == SRL else "version-number") == (
        expected_version(tls_lab, name)
    )
    tls_lab.wait_idle()


def test_a_cut_stream_ends_the_subscription_with_unavailable(client_lab: LabThread) -> None:
    """The gnmi-cut fault aborts the call the way a device restarting its gNMI server does: pygnmi's reader
    thread ends with UNAVAILABLE, and no update comes any more."""
    with gnmi_client(client_lab, SRL) as gc:
        stream = gc.subscribe2(
            subscribe={
                "mode": "stream",
                "subscription": [{"path": STATISTICS[SRL], "mode": "sample", "sample_interval": SAMPLE_NS}],
            }
        )
        assert stream.get_update(timeout=CLIENT_TIMEOUT_S)["sync_response"] is True
        client_lab.inject(SRL, "gnmi-cut")
        error = ended(stream)
        assert isinstance(error, grpc.RpcError) and error.code() is grpc.StatusCode.UNAVAILABLE
        while stream.peek():  # what was on its way before the cut
            stream.get_update(timeout=CLIENT_TIMEOUT_S)
        with pytest.raises(TimeoutError):
            stream.get_update(timeout=0.5)
        stream.close()
    client_lab.clear(SRL)
    client_lab.wait_idle()
