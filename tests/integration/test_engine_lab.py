"""FleetEngine against the device lab over real sockets: a whole fleet up, faults seen and healed by themselves,
one jump host connection for everything, honest rates, and SSH polling for devices without gNMI."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from edgeops.devices.samples import DeviceState, Failure, SessionState
from edgeops.fleet.engine import FleetEngine
from edgeops.fleet.rates import InterfaceRates
from edgeops.fleet.store import FleetStore
from edgeops.lab.model import TrafficProfile
from edgeops.lab.runner import Lab

pytestmark = pytest.mark.lab

EngineFactory = Callable[..., Awaitable[FleetEngine]]
LabFactory = Callable[..., Awaitable[Lab]]
EVENTUALLY_S = 20.0


async def eventually(
    condition: Callable[[], bool], *, within: float = EVENTUALLY_S, what: str = "the condition", poll: float = 0.1
) -> None:
    """Wait until `condition()` is true; fail with `what` after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(poll)


def all_up(store: FleetStore, names: list[str] | None = None) -> bool:
    names = names if names is not None else list(store.device_names())
    return all(store.device(name).state is DeviceState.UP for name in names)


def state_history(store: FleetStore) -> list[tuple[str, DeviceState, SessionState, SessionState]]:
    """Record (device, derived state, ssh, gnmi) after every session state the supervisors report."""
    history: list[tuple[str, DeviceState, SessionState, SessionState]] = []
    original = store.set_session

    def set_session(device: str, transport: Any, state: SessionState, detail: str = "") -> None:
        original(device, transport, state, detail)
        snapshot = store.device(device)
        history.append((device, snapshot.state, snapshot.ssh, snapshot.gnmi))

    store.set_session = set_session  # type: ignore[method-assign]
    return history


def busy_port(lab: Lab, device: str) -> str:
    """A port passing traffic that is not the management port."""
    model = lab.device(device).model
    ports = [iface.name for iface in model.interfaces.values() if iface.passing_traffic]
    return next(name for name in ports if name not in ("mgmt0", "A/1"))


def rates(store: FleetStore, device: str, port: str) -> InterfaceRates:
    """The port's rates, or none at all while the device has not reported the port yet."""
    try:
        return store.interface(device, port).rates
    except KeyError:
        return InterfaceRates()


def interfaces_fresh(store: FleetStore, device: str, after: float) -> bool:
    """Every interface of the device has data newer than `after` (unix time)."""
    snapshots = store.interfaces(device, with_history=False)
    return bool(snapshots) and all((i.last_update or 0.0) > after for i in snapshots)


async def test_every_device_of_a_17_site_lab_comes_up(start_lab: LabFactory, start_engine: EngineFactory) -> None:
    lab = await start_lab(sites=17, devices_per_site=4)
    inventory = lab.inventory()
    engine = await start_engine(inventory)
    store = engine.store
    assert len(store.site_codes()) == 17 and len(inventory.devices) == 68

    await eventually(lambda: all_up(store), what="every device up")
    # Both platforms stream over gNMI: interfaces with rates, health with CPU, judged for staleness.
    await eventually(lambda: all(store.device(name).health is not None for name in store.device_names()), what="health")
    for name in store.device_names():
        snapshot = store.device(name)
        assert snapshot.ssh is SessionState.UP and snapshot.gnmi is SessionState.UP
        assert snapshot.telemetry_source == "gnmi" and snapshot.interface_count > 0
        assert snapshot.expected_interval_s == pytest.approx(1.0)
    rollup = store.fleet_rollup()
    assert (rollup.total, rollup.up, rollup.stale) == (68, 68, 0)
    # The persistent sessions take commands (the CommandTransport side), on both platforms.
    srl = await engine.run_command(inventory.device("alcala-spine1"), "show version", timeout_s=10)
    sros = await engine.run_command("alcala-gw1", "show system information", timeout_s=10)
    assert srl.ok and "alcala-spine1" in srl.output
    assert sros.ok and "alcala-gw1" in sros.output


async def test_killing_ssh_marks_the_device_degraded_and_it_recovers(
    start_lab: LabFactory, start_engine: EngineFactory
) -> None:
    lab = await start_lab()
    engine = await start_engine(lab.inventory())
    store = engine.store
    await eventually(lambda: all_up(store), what="every device up")
    history = state_history(store)
    supervisor = engine.supervisor("alcala-leaf1")
    assert supervisor.ssh_opens == 1

    assert "dropped 1" in await lab.inject("alcala-leaf1", "ssh-drop")
    await eventually(lambda: supervisor.ssh_opens == 2 and all_up(store), what="a new SSH session")
    seen = [(state, ssh) for device, state, ssh, _ in history if device == "alcala-leaf1"]
    assert (DeviceState.DEGRADED, SessionState.DOWN) in seen  # gNMI stayed up: degraded, not down
    assert seen[-1] == (DeviceState.UP, SessionState.UP)
    assert {device for device, *_ in history} == {"alcala-leaf1"}  # nobody else was disturbed
    result = await engine.run_command("alcala-leaf1", "show version", timeout_s=10)
    assert result.ok


async def test_a_cut_gnmi_stream_reconnects_and_data_flows_again(
    start_lab: LabFactory, start_engine: EngineFactory
) -> None:
    lab = await start_lab()
    engine = await start_engine(lab.inventory())
    store = engine.store
    await eventually(lambda: all_up(store), what="every device up")
    history = state_history(store)
    supervisor = engine.supervisor("alcala-gw1")
    streams = supervisor.gnmi_streams

    # Every subscription group rides on the device's one Subscribe call: the cut takes it.
    assert "cut 1 " in await lab.inject("alcala-gw1", "gnmi-cut")
    await eventually(lambda: supervisor.gnmi_streams == streams + 1, what="a new gNMI stream")
    cut_at = engine.clock.now()
    await eventually(lambda: interfaces_fresh(store, "alcala-gw1", cut_at), what="fresh counters after the cut")
    assert ("alcala-gw1", DeviceState.DEGRADED, SessionState.UP, SessionState.DOWN) in history
    assert store.device("alcala-gw1").state is DeviceState.UP


async def test_a_stalled_stream_turns_stale_and_recovers_after_the_fault_clears(
    start_lab: LabFactory, start_engine: EngineFactory
) -> None:
    lab = await start_lab()
    engine = await start_engine(lab.inventory())
    store = engine.store
    await eventually(lambda: all_up(store), what="every device up")
    supervisor = engine.supervisor("alcala-spine2")

    await lab.inject("alcala-spine2", "gnmi-stall")
    await eventually(lambda: store.device("alcala-spine2").stale, what="the stalled device to turn stale")
    assert all(i.stale for i in store.interfaces("alcala-spine2", with_history=False))
    assert store.fleet_rollup().stale == 1
    # After the stall timeout the supervisor gives up on the silent stream and opens a new one.
    faults = lab.device("alcala-spine2").faults
    opened = faults.gnmi_streams_opened
    await eventually(lambda: supervisor.stalls >= 1 and faults.gnmi_streams_opened > opened, what="a restarted stream")

    await lab.clear("alcala-spine2")
    await eventually(
        lambda: not store.device("alcala-spine2").stale and all_up(store), what="fresh data after the fault"
    )
    assert not any(i.stale for i in store.interfaces("alcala-spine2", with_history=False))


async def test_a_changed_host_key_gives_hostkey_mismatch_and_no_session(
    start_lab: LabFactory, start_engine: EngineFactory
) -> None:
    lab = await start_lab()
    engine = await start_engine(lab.inventory())
    store = engine.store
    await eventually(lambda: all_up(store), what="every device up")
    recorded = engine.known_hosts.own_file.read_text()
    assert recorded.count("\n") == 5  # accept-new recorded every device's key on first use

    await lab.inject("alcala-spine1", "hostkey-change")
    await lab.inject("alcala-spine1", "ssh-drop")
    await eventually(
        lambda: store.device("alcala-spine1").state is DeviceState.HOSTKEY_MISMATCH, what="hostkey-mismatch"
    )
    snapshot = store.device("alcala-spine1")
    assert snapshot.ssh is SessionState.HOSTKEY_MISMATCH
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in snapshot.ssh_detail
    supervisor = engine.supervisor("alcala-spine1")
    assert not supervisor.ssh.alive and supervisor.ssh_opens == 1
    result = await engine.run_command("alcala-spine1", "show version", timeout_s=5)
    assert not result.ok and result.failure is Failure.HOSTKEY and "man-in-the-middle" in result.reason
    assert engine.known_hosts.own_file.read_text() == recorded  # the new key was never recorded
    assert all_up(store, [name for name in store.device_names() if name != "alcala-spine1"])


async def test_a_jump_only_lab_is_up_through_one_connection_and_survives_the_jump_host_dropping(
    start_lab: LabFactory, start_engine: EngineFactory
) -> None:
    lab = await start_lab(sites=17, devices_per_site=2, jump_only=True)
    assert lab.jump is not None and lab.jump_server is not None
    inventory = lab.inventory()
    assert {device.jump for device in inventory.devices} == {lab.jump.name}
    engine = await start_engine(inventory)
    store = engine.store
    await eventually(lambda: all_up(store), what="every device up through the jump host")
    stats = lab.jump.stats
    assert stats.connections == 1 and stats.logins == 1
    assert engine.jump_states() == {lab.jump.name: SessionState.UP}
    assert all(store.device(name).ssh_detail == f"via {lab.jump.name}" for name in store.device_names())
    # SSH and gNMI of all 34 devices ride on that one connection.
    assert stats.forwarded_channels >= 2 * len(inventory.devices)

    # The jump host drops: every device goes down with it, and all come back when it returns.
    await lab.jump_server.stop()
    down = (DeviceState.DOWN, DeviceState.UNREACHABLE)
    await eventually(
        lambda: all(store.device(name).state in down for name in store.device_names()),
        what="every device down with the jump host",
    )
    assert engine.jump_states()[lab.jump.name] is not SessionState.UP
    await lab.jump_server.start()
    await eventually(lambda: all_up(store), what="every device back with the jump host")
    assert lab.jump.stats.connections == 2  # one connection again (plus the first), not one per device


async def test_a_proxyjump_from_ssh_config_carries_ssh_and_gnmi_like_an_inventory_jump_host(
    start_lab: LabFactory, start_engine: EngineFactory, tmp_path: Path
) -> None:
    lab = await start_lab(sites=2, devices_per_site=4, jump_only=True)
    jump = lab.jump
    assert jump is not None
    block = ".".join(lab.identities[0].host.split(".")[:2])
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(
        f"Host lab-bastion\n  HostName {jump.host}\n  Port {jump.port}\n  User {jump.username}\n"
        f"  IdentityFile {lab.client_key_file}\n"
        f"Host {block}.*\n  ProxyJump lab-bastion\n"
    )
    inventory = lab.inventory()
    # The same fleet, but nothing in the inventory says "jump host": only ~/.ssh/config's ProxyJump does.
    devices = tuple(
        dataclasses.replace(device, jump=None, explicit_fields=device.explicit_fields - {"jump"})
        for device in inventory.devices
    )
    inventory = dataclasses.replace(inventory, devices=devices, jump_hosts=(), ssh_config=ssh_config)
    engine = await start_engine(inventory)
    await eventually(lambda: all_up(engine.store), what="every device up through the ProxyJump hop")
    hop = f"{jump.username}@{jump.host}:{jump.port}"
    assert engine.jump_states() == {hop: SessionState.UP}
    assert jump.stats.connections == 1 and jump.stats.logins == 1
    assert jump.stats.forwarded_channels >= 2 * len(devices)  # SSH and gNMI of every device


async def test_rates_stay_sane_across_a_counter_reset(start_lab: LabFactory, start_engine: EngineFactory) -> None:
    lab = await start_lab()
    engine = await start_engine(lab.inventory())
    store = engine.store
    await eventually(lambda: all_up(store), what="every device up")
    devices = ("alcala-leaf1", "alcala-gw2")
    ports = {device: busy_port(lab, device) for device in devices}
    await eventually(lambda: all(rates(store, d, p).in_bps for d, p in ports.items()), what="rates before the reset")

    # leaf1 resets its counters while the stream keeps running; gw2 reboots (sessions dropped as well).
    await lab.inject("alcala-leaf1", "counter-reset")
    await lab.inject("alcala-gw2", "counter-reset", reboot=True)
    reset_at = engine.clock.now()
    await eventually(
        lambda: all(store.interface(d, p).counters.in_octets < 10**12 for d, p in ports.items()),
        what="the reset counters to arrive",
    )

    def rates_after_reset_known() -> bool:
        return all(
            (s := store.interface(d, p)).rates.in_bps is not None and (s.last_update or 0) > reset_at + 2
            for d, p in ports.items()
        )

    await eventually(rates_after_reset_known, what="rates after the reset")
    for device in devices:
        for snapshot in store.interfaces(device):
            ceiling = 1.1 * (snapshot.speed_bps or 400e9)
            now = snapshot.rates
            for value in (now.in_bps, now.out_bps, now.in_pps, now.out_pps):
                assert value is None or 0 <= value <= ceiling, (device, snapshot.name, now)
            for _, in_bps, out_bps in snapshot.history:  # no spike drawn at the reset either
                assert in_bps is None or 0 <= in_bps <= ceiling, (device, snapshot.name, snapshot.history)
                assert out_bps is None or 0 <= out_bps <= ceiling, (device, snapshot.name, snapshot.history)
    assert all_up(store)


async def test_rates_equal_the_lab_models_traffic(start_lab: LabFactory, start_engine: EngineFactory) -> None:
    lab = await start_lab()
    steady = {}
    for device in ("alcala-spine1", "alcala-gw1"):
        port = busy_port(lab, device)
        model = lab.device(device).model
        model.advance()  # counters so far at the old profile; from here on the steady one
        model.interfaces[port].profile = TrafficProfile.steady(0.3)
        steady[device] = (port, model.interfaces[port].speed_bps * 0.3)
    engine = await start_engine(lab.inventory())
    store = engine.store

    def rates_known() -> bool:
        return all(rates(store, device, port).out_bps is not None for device, (port, _) in steady.items())

    await eventually(rates_known, what="rates on the steady ports")
    for device, (port, expected_bps) in steady.items():
        snapshot = store.interface(device, port)
        assert snapshot.speed_bps == lab.device(device).model.interfaces[port].speed_bps
        assert snapshot.rates.in_bps == pytest.approx(expected_bps, rel=0.02)
        assert snapshot.rates.out_bps == pytest.approx(expected_bps, rel=0.02)
        assert snapshot.rates.in_util_pct == pytest.approx(30.0, rel=0.02)
        assert snapshot.rates.in_pps == pytest.approx(expected_bps / 8 / 1000, rel=0.02)  # 1000-byte packets


async def test_devices_without_gnmi_are_polled_over_ssh(start_lab: LabFactory, start_engine: EngineFactory) -> None:
    lab = await start_lab()
    inventory = lab.inventory()
    # spine1 has no gNMI port in the inventory; gw2 has one but refuses gNMI.
    devices = tuple(
        dataclasses.replace(device, gnmi_port=None) if device.name == "alcala-spine1" else device
        for device in inventory.devices
    )
    await lab.inject("alcala-gw2", "gnmi-refuse")
    engine = await start_engine(dataclasses.replace(inventory, devices=devices))
    store = engine.store

    def polled_over_ssh(name: str) -> bool:
        snapshot = store.device(name)
        interfaces = store.interfaces(name, with_history=False)
        return (
            snapshot.telemetry_source == "ssh"
            and snapshot.health is not None
            and snapshot.health.cpu_pct is not None
            and any(i.rates.in_bps for i in interfaces)
        )

    await eventually(lambda: polled_over_ssh("alcala-spine1"), what="spine1 polled over SSH")
    await eventually(lambda: polled_over_ssh("alcala-gw2"), what="gw2 polled over SSH")
    for name in ("alcala-spine1", "alcala-gw2"):
        snapshot = store.device(name)
        assert snapshot.state is DeviceState.UP and snapshot.gnmi is SessionState.UNAVAILABLE
        assert "polled over SSH" in snapshot.gnmi_detail
        assert snapshot.expected_interval_s == engine.settings.supervisor.ssh_poll_interval_s and not snapshot.stale
    assert engine.supervisor("alcala-spine1").gnmi_streams == 0
    assert all(store.device(n).telemetry_source == "gnmi" for n in ("alcala-spine2", "alcala-leaf1", "alcala-gw1"))

    # gw2 serves gNMI again: the periodic retry finds it and streaming takes over from polling.
    await lab.clear("alcala-gw2")
    await eventually(lambda: store.device("alcala-gw2").telemetry_source == "gnmi", what="gNMI back on gw2")
    assert store.device("alcala-gw2").gnmi is SessionState.UP


async def test_stop_leaves_no_task_and_no_session_behind(start_lab: LabFactory, start_engine: EngineFactory) -> None:
    lab = await start_lab()
    engine: FleetEngine = await start_engine(lab.inventory())
    await eventually(lambda: all_up(engine.store), what="every device up")
    calls = sum(supervisor.subscribe_calls for supervisor in engine.supervisors.values())
    assert calls == 5  # one Subscribe call per device, carrying every group
    await eventually(lambda: lab.status().gnmi_streams == calls, what="every gNMI stream open")
    assert lab.status().ssh_sessions == 5
    await engine.stop()
    mine = [t for t in asyncio.all_tasks() if t.get_name().startswith(("ssh ", "gnmi", "fleet", "jump"))]
    assert mine == []
    await eventually(lambda: lab.status().ssh_connections == 0, what="the lab to see every SSH connection closed")
    await eventually(lambda: lab.status().gnmi_streams == 0, what="the lab to see every gNMI stream closed")
    result = await engine.run_command("alcala-leaf1", "show version", timeout_s=5)
    assert not result.ok and result.failure is Failure.CONNECTION_LOST
