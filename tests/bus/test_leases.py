"""Device leases against the real nats-server: taken with compare-and-set, renewed, taken over after the TTL, never
outside a collector's inventory, and two collectors with different credentials reported instead of fought over."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterable

import nats
import pytest
from nats.aio.client import Client
from nats.js.kv import KeyValue

from edgeops.bus.layout import Layout, ensure_layout
from edgeops.bus.leases import LeaseKeeper, read_ownership
from edgeops.bus.subjects import device_key
from edgeops.inventory.model import Credentials, Device
from edgeops.platforms import Platform

TTL_S = 1.0


def device(name: str, user: str = "admin") -> Device:
    return Device(
        name=name,
        site="lab",
        role="leaf",
        platform=Platform.SRLINUX,
        model="7220 IXR-D2L",
        host="127.0.0.1",
        credentials=Credentials(username=user),
    )


@pytest.fixture
async def buckets(nats_server, request: pytest.FixtureRequest) -> AsyncIterator[tuple[Client, KeyValue]]:
    client = await nats.connect(nats_server.url)
    js = client.jetstream()
    # Each test its own lease TTL: a fresh bucket (the server keeps buckets between the tests of this module).
    for bucket in ("edgeops-leases", "edgeops-state"):
        with contextlib.suppress(Exception):  # not there yet
            await js.delete_key_value(bucket)
    _, leases, _ = await ensure_layout(js, Layout(lease_ttl_s=TTL_S))
    yield client, leases
    await client.close()


class Held:
    """What a keeper's callbacks were told: the devices it holds now."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.lost: list[str] = []

    async def acquired(self, device: Device) -> None:
        self.names.add(device.name)

    async def gone(self, device: Device) -> None:
        self.names.discard(device.name)
        self.lost.append(device.name)


def keeper(kv: KeyValue, name: str, devices: Iterable[Device], held: Held) -> LeaseKeeper:
    return LeaseKeeper(kv, devices, collector=name, ttl_s=TTL_S, on_acquired=held.acquired, on_lost=held.gone)


async def eventually(condition: Callable[[], bool], what: str, within: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_collector_leases_only_devices_of_its_inventory(buckets: tuple[Client, KeyValue]) -> None:
    _, kv = buckets
    held_a, held_b = Held(), Held()
    a = keeper(kv, "a", [device("d1"), device("d2")], held_a)
    b = keeper(kv, "b", [device("d2"), device("d3")], held_b)
    await a.sweep()
    await b.sweep()
    assert held_a.names == {"d1", "d2"}
    assert held_b.names == {"d3"}  # d2 is a's; d1 is not in b's inventory
    assert not b.conflicts  # same credentials: b simply waits
    ownership = await read_ownership(kv)
    assert {(lease.device, lease.collector) for lease in ownership.leases} == {("d1", "a"), ("d2", "a"), ("d3", "b")}


async def test_a_dead_collectors_devices_are_taken_over_within_the_ttl(buckets: tuple[Client, KeyValue]) -> None:
    _, kv = buckets
    held_a, held_b = Held(), Held()
    devices = [device("d1"), device("d2")]
    a = keeper(kv, "a", devices, held_a)
    b = keeper(kv, "b", devices, held_b)
    await a.sweep()
    await b.sweep()
    assert held_a.names == {"d1", "d2"} and held_b.names == set()
    # a dies (it stops renewing); b keeps sweeping as it would every TTL/3.
    running = asyncio.create_task(b.run())
    try:
        await eventually(lambda: held_b.names == {"d1", "d2"}, "b to take over a's devices")
    finally:
        running.cancel()
    # a comes back: its renewal fails compare-and-set, so it gives the devices up instead of fighting.
    await a.sweep()
    assert held_a.names == set() and sorted(held_a.lost) == ["d1", "d2"]


async def test_renewals_keep_a_lease_past_its_ttl(buckets: tuple[Client, KeyValue]) -> None:
    _, kv = buckets
    held_a, held_b = Held(), Held()
    a = keeper(kv, "a", [device("d1")], held_a)
    b = keeper(kv, "b", [device("d1")], held_b)
    running = asyncio.create_task(a.run())
    try:
        await eventually(lambda: held_a.names == {"d1"}, "a to take d1")
        revision = a.held["d1"][0]
        await eventually(lambda: a.held["d1"][0] >= revision + 4, "a to renew d1 past several TTLs")
        await b.sweep()
        assert held_b.names == set() and held_a.lost == []
    finally:
        running.cancel()


async def test_a_lease_overwritten_elsewhere_is_given_up(buckets: tuple[Client, KeyValue]) -> None:
    _, kv = buckets
    held = Held()
    a = keeper(kv, "a", [device("d1")], held)
    await a.sweep()
    await kv.put(device_key("lab", "d1"), b"someone else")
    await a.sweep()
    assert held.names == set() and held.lost == ["d1"]


async def test_different_credentials_for_one_device_are_reported(buckets: tuple[Client, KeyValue]) -> None:
    _, kv = buckets
    held_a, held_b = Held(), Held()
    a = keeper(kv, "a", [device("d1", user="admin")], held_a)
    b = keeper(kv, "b", [device("d1", user="netops")], held_b)
    await a.sweep()
    await b.sweep()
    assert held_b.names == set()  # reported, not fought over
    assert b.conflicts["d1"].collector == "a"
    ownership = await read_ownership(kv)
    [conflict] = ownership.conflicts
    assert (conflict.device, conflict.holder, conflict.collector) == ("d1", "a", "b")
    assert conflict.credentials != conflict.holder_credentials
    assert "admin" not in conflict.encode().decode() and "netops" not in conflict.encode().decode()


async def test_a_collector_stopping_cleanly_hands_over_at_once(buckets: tuple[Client, KeyValue]) -> None:
    _, kv = buckets
    held_a, held_b = Held(), Held()
    a = keeper(kv, "a", [device("d1")], held_a)
    b = keeper(kv, "b", [device("d1")], held_b)
    await a.sweep()
    await a.release_all()
    await b.sweep()  # no waiting for the TTL
    assert held_b.names == {"d1"}


def test_the_fingerprint_changes_with_the_credentials_and_holds_no_secret() -> None:
    from edgeops.bus.leases import credentials_fingerprint
    from edgeops.inventory.model import SecretRef

    base = device("d1")
    with_password = dataclasses.replace(
        base, credentials=Credentials(username="admin", password=SecretRef("env", "LAB_PW"))
    )
    assert credentials_fingerprint(base) != credentials_fingerprint(with_password)
    assert credentials_fingerprint(base) == credentials_fingerprint(device("d1"))
