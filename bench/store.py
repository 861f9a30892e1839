"""Benchmark of the fleet store: synthetic batches for N devices x M interfaces, cost per interface update and per
read."""

from __future__ import annotations

import argparse
import gc
import resource
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from edgeops.clock import ManualClock
from edgeops.devices.interface_rows import InterfaceBatch
from edgeops.devices.samples import HealthSample, InterfaceSample
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Device, Inventory, Site
from edgeops.platforms import Platform

SITES = 17
INTERVAL_S = 2.0
READS_PER_INTERVAL = 8
COUNTERS = (
    "in_octets",
    "out_octets",
    "in_packets",
    "out_packets",
    "in_errors",
    "out_errors",
    "in_discards",
    "out_discards",
)


def build_inventory(devices: int) -> Inventory:
    sites = tuple(Site(f"Site {i}", f"site{i:02d}") for i in range(SITES))
    fleet = []
    for i in range(devices):
        sros = i % 5 == 0
        fleet.append(
            Device(
                name=f"dev{i:04d}",
                site=sites[i % SITES].code,
                role="gateway" if sros else "leaf",
                platform=Platform.SROS if sros else Platform.SRLINUX,
                model="7750 SR-1" if sros else "7220 IXR-D2L",
                host=f"127.1.{i // 250}.{i % 250 + 1}",
            )
        )
    return Inventory(sites=sites, devices=tuple(fleet))


def port_names(interfaces: int) -> list[str]:
    return [f"ethernet-1/{n + 1}" for n in range(interfaces)]


def round_of_samples(
    inventory: Inventory, ports: list[str], round_number: int, t: float, partial: bool
) -> list[InterfaceSample]:
    """One interval's worth of samples: one full sample per interface, or one per counter (SR OS style)."""
    samples = []
    for d, device in enumerate(inventory.devices):
        for p, port in enumerate(ports):
            base = round_number * (1_000_000 + 997 * p + 13 * d)
            values: dict[str, Any] = {
                "in_octets": base * 3,
                "out_octets": base * 2,
                "in_packets": base // 500,
                "out_packets": base // 700,
                "in_errors": round_number,
                "out_errors": 0,
                "in_discards": round_number // 3,
                "out_discards": 0,
            }
            if partial:
                for offset, counter in enumerate(COUNTERS):
                    samples.append(InterfaceSample(device.name, port, t + offset * 0.001, **{counter: values[counter]}))
            else:
                samples.append(
                    InterfaceSample(
                        device.name,
                        port,
                        t,
                        admin_state="enable",
                        oper_state="up",
                        speed_bps=25_000_000_000,
                        **values,
                    )
                )
    return samples


def batches_of(samples: list[InterfaceSample]) -> list[InterfaceBatch]:
    """The samples as the store gets them: consecutive samples of one device at one instant make one batch (a
    device's notification carries all its interfaces; SR OS-style partial samples each have an instant of their
    own)."""
    batches: list[InterfaceBatch] = []
    group: list[InterfaceSample] = []
    for sample in samples:
        if group and (sample.device != group[0].device or sample.timestamp != group[0].timestamp):
            batches.append(InterfaceBatch.of(*group))
            group = []
        group.append(sample)
    if group:
        batches.append(InterfaceBatch.of(*group))
    return batches


def timed(action: Callable[[], object], repeat: int = 1) -> float:
    """Seconds of wall time per call."""
    start = time.perf_counter()
    for _ in range(repeat):
        action()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--interfaces", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to keep feeding samples")
    parser.add_argument("--partial", action="store_true", help="one counter per sample, as SR OS sends them")
    args = parser.parse_args()

    inventory = build_inventory(args.devices)
    ports = port_names(args.interfaces)
    clock = ManualClock()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    store = FleetStore(inventory, clock)
    for device in inventory.devices:
        store.set_expected_interval(device.name, INTERVAL_S)

    applied = 0
    apply_wall = apply_cpu = 0.0
    rounds = 0
    reader_version = store.version
    change_reads: list[float] = []
    full_reads = 0
    started = time.perf_counter()
    while time.perf_counter() - started < args.seconds or rounds < 2:
        t = clock.now()
        samples = round_of_samples(inventory, ports, rounds, t, args.partial)
        batches = batches_of(samples)
        health = [HealthSample(d.name, t, cpu_pct=float(rounds % 100)) for d in inventory.devices]
        gc.collect()
        # The console asks what changed READS_PER_INTERVAL times per interval (4 Hz for 2 s).
        slice_size = -(-len(batches) // READS_PER_INTERVAL)
        apply_interfaces = store.apply_interfaces
        for first in range(0, len(batches), slice_size):
            chunk = batches[first : first + slice_size]
            wall0, cpu0 = time.perf_counter(), time.process_time()
            for batch in chunk:
                apply_interfaces(batch)
            apply_wall += time.perf_counter() - wall0
            apply_cpu += time.process_time() - cpu0
            read_start = time.perf_counter()
            changes = store.changes_since(reader_version)
            change_reads.append(time.perf_counter() - read_start)
            full_reads += changes.full
            reader_version = changes.version
        wall0, cpu0 = time.perf_counter(), time.process_time()
        apply_health = store.apply_health
        for health_sample in health:
            apply_health(health_sample)
        apply_wall += time.perf_counter() - wall0
        apply_cpu += time.process_time() - cpu0
        applied += len(samples) + len(health)
        clock.advance(INTERVAL_S)
        rounds += 1

    per_update_us = apply_cpu / applied * 1e6
    target_rate = args.devices * args.interfaces / INTERVAL_S * (len(COUNTERS) if args.partial else 1)
    print(f"fleet store: {args.devices} devices x {args.interfaces} interfaces, {rounds} rounds", end="")
    print(" (partial: one counter per sample)" if args.partial else " (full samples)")
    print(f"  updates applied        {applied:>12,}")
    print(f"  updates/s (CPU)        {applied / apply_cpu:>12,.0f}")
    print(f"  us per update (CPU)    {per_update_us:>12.2f}    wall {apply_wall / applied * 1e6:.2f}")
    print(
        f"  at one sample per {INTERVAL_S:g} s per interface: {target_rate:,.0f} updates/s "
        f"-> {target_rate * per_update_us / 1e4:.1f}% of one core"
    )
    print(
        f"  changes_since at 4 Hz  {sum(change_reads) / len(change_reads) * 1e3:>12.2f} ms per read"
        f" ({full_reads} of {len(change_reads)} reads fell back to full)"
    )

    name = inventory.devices[0].name
    site = inventory.sites[0].code
    clock.advance(0.5)
    print(f"  refresh_staleness      {timed(store.refresh_staleness, 5) * 1e3:>12.2f} ms (whole fleet)")
    print(f"  fleet_rollup           {timed(store.fleet_rollup, 20) * 1e3:>12.3f} ms")
    print(f"  site_rollup            {timed(lambda: store.site_rollup(site), 100) * 1e6:>12.1f} us")
    print(f"  device snapshot        {timed(lambda: store.device(name), 1000) * 1e6:>12.1f} us")
    store.apply_interfaces(InterfaceBatch.of(InterfaceSample(name, ports[0], clock.now(), in_octets=1)))  # invalidate
    cold = timed(lambda: store.interfaces(name), 1)
    warm = timed(lambda: store.interfaces(name), 20)
    light = timed(lambda: store.interfaces(name, with_history=False), 20)
    print(f"  interfaces(device)     {cold * 1e3:>12.2f} ms first read, {warm * 1e3:.3f} ms cached", end="")
    print(f", {light * 1e3:.3f} ms without history")
    print(f"  alarms() fleet         {timed(store.alarms, 100) * 1e6:>12.1f} us")
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"  peak RSS               {rss_after / 1024:>12.0f} MB (before the store: {rss_before / 1024:.0f} MB)")
    print(f"  store memory           {store_memory(inventory, ports, args.partial) / 2**20:>12.0f} MB (traced)")


def store_memory(inventory: Inventory, ports: list[str], partial: bool) -> int:
    """Bytes the store holds after a few rounds (history arrays are full-size from the first rate)."""
    gc.collect()
    tracemalloc.start()
    clock = ManualClock()
    store = FleetStore(inventory, clock)
    for round_number in range(3):
        for batch in batches_of(round_of_samples(inventory, ports, round_number, clock.now(), partial)):
            store.apply_interfaces(batch)
        for device in inventory.devices:
            store.apply_health(HealthSample(device.name, clock.now(), cpu_pct=1.0))
        clock.advance(INTERVAL_S)
    gc.collect()
    held, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del store
    return held


if __name__ == "__main__":
    main()
