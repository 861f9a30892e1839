"""Collectors and consoles on the real nats-server over the device lab: the console draws the fleet from the state
bucket at once and follows it live, a dead collector's devices are taken over, the stream replays the past, a lost
bus is marked and caught up, malformed messages are dropped and counted, and a viewer may watch but not command."""

from __future__ import annotations

import asyncio
import errno
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import nats
import pytest

from edgeops.bus.collector import Collector, CollectorSettings
from edgeops.bus.connection import BusSettings
from edgeops.bus.layout import Layout
from edgeops.bus.replay import read_stream
from edgeops.bus.source import BUS_LOST, BusSource, BusState
from edgeops.bus.subjects import telemetry_subject
from edgeops.clock import SystemClock
from edgeops.devices.backoff import BackoffPolicy
from edgeops.devices.samples import DeviceState
from edgeops.devices.supervisor import SupervisorSettings
from edgeops.fleet.engine import EngineSettings
from edgeops.fleet.events import apply_event
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Inventory
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.topology import build_fleet, synthetic_sites
from edgeops.paths import AppPaths

pytestmark = pytest.mark.lab

EVENTUALLY_S = 30.0
FAST = EngineSettings(
    SupervisorSettings(
        counter_interval_s=1.0,
        health_interval_s=2.0,
        ssh_poll_interval_s=1.0,
        backoff=BackoffPolicy(base_s=0.2, cap_s=2.0),
        connect_timeout_s=10.0,
        command_timeout_s=10.0,
    ),
    user_known_hosts=(),
    seed=7,
)


async def eventually(condition: Callable[[], bool], what: str, within: float = EVENTUALLY_S) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(0.1)


def all_up(store: FleetStore) -> bool:
    return all(store.device(name).state is DeviceState.UP for name in store.device_names())


def all_fresh(store: FleetStore, after: float) -> bool:
    """Every device has interface data received after `after` (unix time) and nothing is stale."""
    for name in store.device_names():
        snapshot = store.device(name)
        if snapshot.stale or snapshot.last_update is None or snapshot.last_update <= after:
            return False
        if not store.interfaces(name, with_history=False):
            return False
    return True


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[Lab]:
    for attempt in range(8):
        fleet = build_fleet(synthetic_sites(1), 4, ssh_port=2222, gnmi_port=57400)
        running = Lab(
            relocate(fleet, 100 + random.randrange(150)),
            lab_dir=tmp_path / f"lab{attempt}",
            ssh_port=2222,
            gnmi_port=57400,
        )
        try:
            await running.start()
        except OSError as error:
            if error.errno == errno.EADDRINUSE and attempt < 7:
                continue
            raise
        yield running
        await running.stop()
        return


Starter = Callable[..., Awaitable[Any]]


@pytest.fixture
async def bus_parts(tmp_path: Path) -> AsyncIterator[tuple[Starter, Starter]]:
    """(start_collector(url, inventory, name=..., ttl=...), start_console(url, inventory)), all stopped after the
    test (collectors handing their devices back)."""
    collectors: list[Collector] = []
    consoles: list[BusSource] = []

    async def start_collector(
        bus: BusSettings, inventory: Inventory, name: str = "c1", ttl: float = 3.0, clock: Any = None
    ) -> Collector:
        root = tmp_path / name
        paths = AppPaths(root / "config", root / "state", root / "logs", root / "inventory.yaml")
        settings = CollectorSettings(name=name, layout=Layout(lease_ttl_s=ttl), state_every_s=0.2)
        collector = Collector(inventory, paths, bus, settings, engine_settings=FAST, clock=clock)
        collectors.append(collector)
        await collector.start()
        return collector

    async def start_console(bus: BusSettings, inventory: Inventory) -> BusSource:
        console = BusSource(inventory, bus, staleness_tick_s=0.2)
        consoles.append(console)
        await console.start()
        return console

    yield start_collector, start_console

    for console in consoles:
        await console.stop()
    for collector in collectors:
        await collector.stop()


def plain(url: str) -> BusSettings:
    return BusSettings.from_url(url, {}, reconnect_wait_s=0.2)


async def test_a_console_draws_the_fleet_from_the_bus_and_follows_it(nats_server, lab: Lab, bus_parts) -> None:
    start_collector, start_console = bus_parts
    inventory = lab.inventory()
    collector = await start_collector(plain(nats_server.url), inventory)
    await eventually(lambda: all_up(collector.store), "the collector to bring every device up")
    await eventually(lambda: collector.counts.state_writes >= len(inventory.devices), "the state bucket written")
    await asyncio.sleep(0.5)  # the state of the devices' latest changes too

    console = await start_console(plain(nats_server.url), inventory)
    # Drawn from the state bucket before any live message: every device up at once.
    assert all_up(console.store), [console.store.device(n).state for n in console.store.device_names()]
    after = time.time()
    await eventually(lambda: all_fresh(console.store, after), "live interface data on the console")
    assert console.counts.dropped == 0

    # Staleness is judged on the receiving side: the collector gone, the console's data turns stale by itself.
    await collector.stop(release=False)
    await eventually(lambda: all(console.store.device(n).stale for n in console.store.device_names()), "stale devices")


async def test_a_dead_collectors_devices_are_taken_over(start_nats_server, lab: Lab, bus_parts) -> None:
    start_collector, start_console = bus_parts
    nats_server = start_nats_server()  # a bus of its own: no lease or state left by the other tests
    inventory = lab.inventory()
    names = {device.name for device in inventory.devices}
    first = await start_collector(plain(nats_server.url), inventory, name="first", ttl=3.0)
    await eventually(lambda: set(first.held) == names, "the first collector to hold every device")
    second = await start_collector(plain(nats_server.url), inventory, name="second", ttl=3.0)
    console = await start_console(plain(nats_server.url), inventory)
    await eventually(lambda: all_up(console.store), "every device up on the console")
    assert second.held == []  # one collector's sessions per device

    await first.stop(release=False)  # dies: no leases given back, nothing more published
    killed = time.time()
    await eventually(lambda: set(second.held) == names, "the second collector to take every device over")
    await eventually(lambda: all_up(second.store), "the second collector's sessions up")
    await eventually(lambda: all_fresh(console.store, killed), "the console fed by the second collector")


async def test_the_stream_replays_the_past_into_a_fresh_store(nats_server, lab: Lab, bus_parts) -> None:
    start_collector, _ = bus_parts
    inventory = lab.inventory()
    collector = await start_collector(plain(nats_server.url), inventory)
    await eventually(lambda: all_up(collector.store), "every device up")
    after = time.time()
    await eventually(lambda: all_fresh(collector.store, after), "a round of interface data")
    await asyncio.sleep(0.3)
    await collector.stop()

    store = FleetStore(inventory, SystemClock())
    batches = [batch async for batch in read_stream(plain(nats_server.url))]
    assert batches and [b.sequence for b in batches] == sorted(b.sequence for b in batches)
    for batch in batches:
        for event in batch.events:
            apply_event(store, event)
    assert all_up(store) or all(store.device(n).state is not DeviceState.CONNECTING for n in store.device_names())
    for name in store.device_names():
        assert {i.name for i in store.interfaces(name, with_history=False)} == {
            i.name for i in collector.store.interfaces(name, with_history=False)
        }


async def test_malformed_and_foreign_messages_are_dropped_and_counted(nats_server, lab: Lab, bus_parts) -> None:
    start_collector, start_console = bus_parts
    inventory = lab.inventory()
    collector = await start_collector(plain(nats_server.url), inventory)
    await eventually(lambda: all_up(collector.store), "every device up")
    console = await start_console(plain(nats_server.url), inventory)
    device = inventory.devices[0]
    client = await nats.connect(nats_server.url)
    try:
        await client.publish(telemetry_subject(device.site, device.name), b"\x00not edgeops at all")
        await client.publish(telemetry_subject(device.site, "nobody-knows-me"), b"whatever")
        await client.flush()
    finally:
        await client.close()
    await eventually(lambda: console.counts.dropped >= 2, "both messages dropped and counted")
    (label,) = console.jump_states()
    assert "dropped" in label
    after = time.time()
    await eventually(lambda: all_fresh(console.store, after), "the console still following the fleet")


async def test_a_lost_bus_is_marked_and_caught_up(nats_server, lab: Lab, bus_parts) -> None:
    start_collector, start_console = bus_parts
    inventory = lab.inventory()
    collector = await start_collector(plain(nats_server.url), inventory, ttl=15.0)
    await eventually(lambda: all_up(collector.store), "every device up")
    console = await start_console(plain(nats_server.url), inventory)
    await eventually(lambda: all_up(console.store), "every device up on the console")
    name = inventory.devices[0].name

    nats_server.stop()
    await eventually(lambda: console.state is BusState.LOST, "the console to notice the bus lost")
    assert console.store.device(name).gnmi_detail == BUS_LOST
    nats_server.start()
    await eventually(lambda: console.state is BusState.UP, "the console back on the bus")
    after = time.time()
    await eventually(lambda: all_fresh(console.store, after), "live data again after the bus came back")
    assert console.store.device(name).gnmi_detail != BUS_LOST


async def test_a_state_entry_naming_another_device_is_dropped(nats_server, lab: Lab, bus_parts) -> None:
    """A console reads each device's state entry by the key the inventory gives it; an entry that speaks of another
    device (planted, or from a foreign writer) is dropped and counted, and that device is drawn from its own."""
    from edgeops.bus.layout import bind_layout
    from edgeops.bus.subjects import device_key

    start_collector, start_console = bus_parts
    inventory = lab.inventory()
    collector = await start_collector(plain(nats_server.url), inventory)
    await eventually(lambda: all_up(collector.store), "every device up")
    await eventually(lambda: collector.counts.state_writes >= len(inventory.devices), "the state bucket written")
    await collector.stop()
    first, second = inventory.devices[0], inventory.devices[1]
    client = await nats.connect(nats_server.url)
    try:
        state, _ = await bind_layout(client.jetstream())
        entry = await state.get(device_key(second.site, second.name))
        await state.put(device_key(first.site, first.name), entry.value or b"")
    finally:
        await client.close()
    console = await start_console(plain(nats_server.url), inventory)
    assert console.counts.dropped == 1
    # The second is drawn from its own entry (up, or degraded if it was written between its two sessions); the
    # first from nothing: its entry spoke of the other device.
    assert console.store.device(second.name).state is not DeviceState.CONNECTING
    assert console.store.device(first.name).state is DeviceState.CONNECTING


class SkewedClock(SystemClock):
    """A collector's machine whose wall clock is off by `skew_s` (its monotonic clock is its own, as on any machine)."""

    def __init__(self, skew_s: float) -> None:
        self.skew_s = skew_s

    def now(self) -> float:
        return super().now() + self.skew_s


@pytest.mark.parametrize("skew_s", [-3600.0, 3600.0])
async def test_a_collectors_clock_skew_makes_nothing_stale_or_fresh(
    nats_server, lab: Lab, bus_parts, skew_s: float
) -> None:
    """An hour behind or ahead, the collector's time stamps change nothing: the console judges staleness by when the
    data reached it, so it is fresh while the collector publishes and stale once it stops."""
    start_collector, start_console = bus_parts
    inventory = lab.inventory()
    collector = await start_collector(plain(nats_server.url), inventory, clock=SkewedClock(skew_s))
    await eventually(lambda: all_up(collector.store), "every device up")
    console = await start_console(plain(nats_server.url), inventory)
    console.applied_at = []
    await eventually(lambda: all_up(console.store), "every device up on the console")
    after = time.time()
    await eventually(lambda: all_fresh(console.store, after), "live data on the console")
    # The events do carry the collector's skewed time stamps.
    assert any(abs(stamped - received - skew_s) < 60 for stamped, received in console.applied_at)
    for _ in range(10):  # a few staleness ticks: still fresh, whatever the time stamps say
        await asyncio.sleep(0.2)
        assert not any(console.store.device(n).stale for n in console.store.device_names())
    await collector.stop(release=False)
    await eventually(lambda: all(console.store.device(n).stale for n in console.store.device_names()), "stale devices")
