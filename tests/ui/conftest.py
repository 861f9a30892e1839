"""Fixtures for console tests: a fleet store filled from fixed samples (no network), and labs with an engine.

    def test_something(sample_fleet):            # inventory + store + ManualClock, deterministic
        app = store_app(sample_fleet.inventory, paths=sample_fleet.paths, store=sample_fleet.store)

Snapshot tests use the same fixed fleet with cursor blink off, so the screens are the same on every run.
"""

from __future__ import annotations

import errno
import itertools
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edgeops.clock import ManualClock
from edgeops.devices.backoff import BackoffPolicy
from edgeops.devices.gnmi_paths import StreamMode, SubscriptionSpec
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
from edgeops.devices.subscriptions import GroupRejection, SubscriptionState
from edgeops.devices.supervisor import SupervisorSettings
from edgeops.fleet.engine import EngineSettings, FleetEngine
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Device, Inventory, Site
from edgeops.lab.faults import HOSTILE_DESCRIPTION
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.topology import DEMO_SITES, build_fleet, site_layout, synthetic_sites
from edgeops.paths import AppPaths
from edgeops.platforms import Platform

SAMPLE_START = 1_767_225_600.0  # 2026-01-01 00:00 UTC
SAMPLE_INTERVAL_S = 2.0
SAMPLE_PORTS = 6


@dataclass
class SampleFleet:
    inventory: Inventory
    store: FleetStore
    clock: ManualClock
    paths: AppPaths

    def advance(self, seconds: float, *, rounds: int = 1, seed: int = 7) -> None:
        """More traffic on every interface, `rounds` times `seconds` apart."""
        for _ in range(rounds):
            self.clock.advance(seconds)
            feed_counters(self.store, self.inventory, self.clock, seed=seed)


def sample_inventory(sites: int = 3, devices_per_site: int = 8) -> Inventory:
    """Demo-fleet names and models, as plain inventory objects (no lab involved)."""
    chosen = DEMO_SITES[:sites]
    devices = []
    for site_index, site in enumerate(chosen):
        for device_index, (role, suffix, model) in enumerate(site_layout(devices_per_site)):
            platform = Platform.SROS if model.startswith("7750") else Platform.SRLINUX
            devices.append(
                Device(
                    name=f"{site.code}-{suffix}",
                    site=site.code,
                    role=role,
                    platform=platform,
                    model=model,
                    host=f"127.99.{site_index + 1}.{device_index + 1}",
                )
            )
    return Inventory(
        sites=tuple(Site(site.name, site.code, site.description) for site in chosen), devices=tuple(devices)
    )


def port_names(device: Device) -> list[str]:
    if device.platform is Platform.SRLINUX:
        return [f"ethernet-1/{n}" for n in range(1, SAMPLE_PORTS + 1)]
    return [f"1/1/c{n}/1" for n in range(1, SAMPLE_PORTS + 1)]


_octets: dict[tuple[str, str], int] = {}


def feed_counters(store: FleetStore, inventory: Inventory, clock: ManualClock, *, seed: int) -> None:
    rng = random.Random(f"{seed}:{clock.monotonic()}")
    for device in inventory.devices:
        if store.device(device.name).state.value in ("down", "auth-failed", "unreachable", "connecting"):
            continue
        for index, port in enumerate(port_names(device)):
            key = (device.name, port)
            base = _octets.get(key, 10_000_000 * (index + 1))
            step = int(rng.uniform(0.5, 1.5) * 12_500_000 * (index + 1) * SAMPLE_INTERVAL_S)
            _octets[key] = base + step
            store.apply_interfaces(
                InterfaceBatch.of(
                    InterfaceSample(
                        device=device.name,
                        name=port,
                        timestamp=clock.now(),
                        in_octets=_octets[key],
                        out_octets=_octets[key] // 2,
                        in_packets=_octets[key] // 800,
                        out_packets=_octets[key] // 1600,
                        in_errors=0,
                        out_errors=0,
                        in_discards=0,
                        out_discards=0,
                    )
                )
            )


def fill_store(store: FleetStore, inventory: Inventory, clock: ManualClock, *, hostile: bool = True) -> None:
    """A fixed, lively fleet: most devices up, one down, one degraded, one with a login problem, a few alarms."""
    _octets.clear()
    devices = list(inventory.devices)
    down = devices[3].name  # first site, a leaf
    degraded = devices[8 + 6].name if len(devices) > 14 else devices[-1].name  # second site, a gateway
    auth = devices[-2].name
    for index, device in enumerate(devices):
        name = device.name
        store.set_expected_interval(name, SAMPLE_INTERVAL_S)
        if name == down:
            store.set_session(name, "ssh", SessionState.DOWN, "connection refused")
            store.set_session(name, "gnmi", SessionState.DOWN, "connection refused")
            continue
        if name == auth:
            store.set_session(name, "ssh", SessionState.AUTH_FAILED, "permission denied")
            store.set_session(name, "gnmi", SessionState.IDLE)
            continue
        store.set_session(name, "ssh", SessionState.UP)
        store.set_session(name, "gnmi", SessionState.DOWN if name == degraded else SessionState.UP)
        store.set_telemetry_source(name, "ssh" if name == degraded else "gnmi")
        for port_index, port in enumerate(port_names(device)):
            description = f"to {devices[(index + port_index + 1) % len(devices)].name}"
            if hostile and port_index == 2 and index == 0:
                description = HOSTILE_DESCRIPTION
            store.apply_interfaces(
                InterfaceBatch.of(
                    InterfaceSample(
                        device=name,
                        name=port,
                        timestamp=clock.now(),
                        admin_state="enable",
                        oper_state="down" if (index + port_index) % 11 == 5 else "up",
                        description=description,
                        speed_bps=100_000_000_000 if device.role == "spine" else 25_000_000_000,
                        last_change=clock.now() - 86_400 * (1 + (index + port_index) % 9),
                    )
                )
            )
        alarms: tuple[Alarm, ...] = ()
        if index % 7 == 2:
            port = port_names(device)[1]
            srlinux = device.platform is Platform.SRLINUX
            alarms = (
                # SR Linux keeps no alarm list: its port-down alarm is derived from the port's oper-down-reason.
                Alarm(
                    name,
                    f"{port}/oper-down-reason" if srlinux else f"link-down-{index}",
                    Severity.MAJOR,
                    port,
                    f"{port} is down, reason lower-layer-down" if srlinux else f"Interface {port} is down",
                    clock.now() - 600,
                    derived=srlinux,
                ),
            )
        elif index % 9 == 4:
            alarms = (Alarm(name, "cpu-high", Severity.WARNING, "control A", "CPU above 90 %", clock.now() - 60),)
        psus = (ComponentStatus("power-supply 1", "up"), ComponentStatus("power-supply 2", "up"))
        store.apply_health(
            HealthSample(
                device=name,
                timestamp=clock.now(),
                hostname=name,
                chassis=device.model,
                version="v25.10.1" if device.platform is Platform.SRLINUX else "C-25.10.R2",
                boot_time=clock.now() - 86_400 * (10 + index),
                cpu_pct=8.0 + (index * 7) % 40,
                memory_total=16 * 1024**3,
                memory_used=(4 + index % 6) * 1024**3,
                temperatures=(TemperatureReading("control A", 41.0 + index % 12),),
                fans=(ComponentStatus("fan-tray 1", "up"),),
                power_supplies=psus,
                alarms=alarms,
            )
        )
    fill_subscriptions(store, inventory, clock, down=down, degraded=degraded, auth=auth, hostile=hostile)
    # Two rounds of counters so every interface has rates.
    for _ in range(2):
        clock.advance(SAMPLE_INTERVAL_S)
        feed_counters(store, inventory, clock, seed=7)


# Fixed paths (not the engine's path map, which follows the devices' models): the screens show them as they are.
SAMPLE_GROUPS = {
    Platform.SRLINUX: (
        SubscriptionSpec("counters", ("/interface[name=*]/statistics",), StreamMode.SAMPLE, 2.0),
        SubscriptionSpec(
            "oper-state",
            ("/interface[name=*]/oper-state", "/interface[name=*]/admin-state", "/interface[name=*]/last-change"),
            StreamMode.ON_CHANGE,
        ),
        SubscriptionSpec(
            "health",
            ("/platform/control[slot=*]/cpu[index=all]/total", "/platform/control[slot=*]/memory"),
            StreamMode.SAMPLE,
            10.0,
        ),
        SubscriptionSpec("alarms", (), StreamMode.ON_CHANGE),  # derived from component state
    ),
    Platform.SROS: (
        SubscriptionSpec("counters", ("/state/port[port-id=*]/statistics",), StreamMode.SAMPLE, 2.0),
        SubscriptionSpec("oper-state", ("/state/port[port-id=*]/oper-state",), StreamMode.ON_CHANGE),
        SubscriptionSpec(
            "health", ("/state/system/cpu[sample-period=1]/summary/usage/cpu-usage",), StreamMode.SAMPLE, 10.0
        ),
        SubscriptionSpec(
            "alarms", ("/state/system/alarms/active[raised-time=*][index=*]",), StreamMode.TARGET_DEFINED, 10.0
        ),
    ),
}
SAMPLE_RELEASES = {Platform.SRLINUX: "srl_nokia-interfaces 2025-10-31", Platform.SROS: "nokia-state 25.10.R2"}
# alcala-leaf1 (the device the snapshots show) has one group of each kind of trouble.
REFUSED_DEVICE = "alcala-leaf1"
REFUSED_TEXT = "Path '/interface[name=*]/last-change' is not valid: unknown element 'last-change'"


def fill_subscriptions(
    store: FleetStore,
    inventory: Inventory,
    clock: ManualClock,
    *,
    down: str,
    degraded: str,
    auth: str,
    hostile: bool,
) -> None:
    """Subscription groups: live on connected devices, down where gNMI is down, none where it never connected;
    on alcala-leaf1 oper-state refused (and polled over SSH) and health gone quiet (stale later)."""
    for device in inventory.devices:
        name = device.name
        if name in (down, auth):
            continue
        platform = Platform.SROS if device.platform.is_sros else Platform.SRLINUX
        store.set_subscriptions(name, SAMPLE_GROUPS[platform], SAMPLE_RELEASES[platform])
        for spec in SAMPLE_GROUPS[platform]:
            if not spec.paths:
                continue
            if name == degraded:
                store.set_subscription_state(name, spec.name, SubscriptionState.DOWN)
                continue
            if name == REFUSED_DEVICE and spec.name == "oper-state":
                text = HOSTILE_DESCRIPTION if hostile else REFUSED_TEXT
                refusal = GroupRejection("INVALID_ARGUMENT", text, SAMPLE_RELEASES[platform], clock.now())
                store.set_subscription_state(name, spec.name, SubscriptionState.REJECTED, refusal)
                store.set_subscription_state(name, spec.name, SubscriptionState.POLLED)
            else:
                store.set_subscription_state(name, spec.name, SubscriptionState.LIVE)
            store.subscription_data(name, spec.name)


def make_sample_fleet(
    tmp_path: Path, *, sites: int = 3, devices_per_site: int = 8, hostile: bool = True
) -> SampleFleet:
    inventory = sample_inventory(sites, devices_per_site)
    clock = ManualClock(SAMPLE_START)
    store = FleetStore(inventory, clock)
    fill_store(store, inventory, clock, hostile=hostile)
    paths = AppPaths(
        config_dir=tmp_path / "config",
        state_dir=tmp_path / "state",
        log_dir=tmp_path / "logs",
        inventory=tmp_path / "inventory.yaml",
    )
    return SampleFleet(inventory, store, clock, paths)


@pytest.fixture
def sample_fleet(tmp_path: Path) -> SampleFleet:
    return make_sample_fleet(tmp_path)


# -- a running lab with an engine, for Pilot tests of the whole console -------------------------------------------

LAB_SSH_PORT = 2222
LAB_GNMI_PORT = 57400
_blocks = itertools.count(random.randrange(150))

# Short intervals so faults show and heal within seconds; generous timeouts for a busy machine.
FAST_ENGINE = EngineSettings(
    SupervisorSettings(
        counter_interval_s=1.0,
        health_interval_s=1.0,
        ssh_poll_interval_s=1.0,
        backoff=BackoffPolicy(base_s=0.2, cap_s=1.0),
        severe_backoff=BackoffPolicy(base_s=1.0, cap_s=3.0, floor_s=1.0 / 3),
        connect_timeout_s=10.0,
        command_timeout_s=10.0,
        keepalive_interval_s=5.0,
        gnmi_fallback_after=3,
        gnmi_retry_s=3.0,
    ),
    user_known_hosts=(),
    seed=11,
)


@dataclass
class ConsoleLab:
    lab: Lab
    inventory: Inventory
    paths: AppPaths

    def engine(self, settings: EngineSettings = FAST_ENGINE) -> FleetEngine:
        return FleetEngine(self.inventory, self.paths, settings=settings)


@pytest.fixture
async def console_lab(tmp_path: Path) -> AsyncIterator[ConsoleLab]:
    """A one-site lab (alcala-spine1/2, alcala-leaf1: SR Linux; alcala-gw1/2: SR OS) in its own 127.<block>."""
    lab: Lab | None = None
    for attempt in range(8):
        block = 100 + next(_blocks) % 150
        identities = relocate(
            build_fleet(synthetic_sites(1), 5, ssh_port=LAB_SSH_PORT, gnmi_port=LAB_GNMI_PORT, seed=3), block
        )
        lab = Lab(identities, lab_dir=tmp_path / f"lab{attempt}", seed=3)
        try:
            await lab.start()
        except OSError as error:  # another run holds this block: take the next one
            if error.errno == errno.EADDRINUSE and attempt < 7:
                continue
            raise
        break
    assert lab is not None
    paths = AppPaths(
        config_dir=tmp_path / "config",
        state_dir=tmp_path / "state",
        log_dir=tmp_path / "logs",
        inventory=tmp_path / "inventory.yaml",
    )
    try:
        yield ConsoleLab(lab, lab.inventory(), paths)
    finally:
        await lab.stop()
