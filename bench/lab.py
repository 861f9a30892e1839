"""Benchmark: the device lab's own CPU, memory and threads while it serves a client (gNMI sampling, or an SSH storm).

The lab runs in a child process (so its figures are its own); this process is the grpc.aio client that opens one
stream per device subscribing to every interface's counters (STREAM SAMPLE at --interval), oper state
(ON_CHANGE) and health, and counts what arrives. Usage:

    python bench/lab.py --devices 200 --seconds 30 [--client session] [--json]

With --ssh-storm the lab serves SSH instead, and the figure is the lab's CPU for a cold login-and-command storm:
`edgeops run COMMAND --target all` as a subprocess (every device logs in, sets up its CLI environment and runs the
command), --repeat times:

    python bench/lab.py --ssh-storm --devices 200 [--repeat 3] [--command 'show version'] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import psutil
from grpc import aio
from pygnmi.spec.v080 import gnmi_pb2, gnmi_pb2_grpc

from edgeops.cli.lab import write_lab_inventory
from edgeops.cli.main import quiet_grpc_core
from edgeops.devices.gnmi import GnmiSession, SyncMarker
from edgeops.devices.gnmi_paths import native_path_map, subscription_list
from edgeops.devices.interface_rows import InterfaceBatch
from edgeops.lab.device import LabDevice
from edgeops.lab.model import DeviceIdentity, DeviceModel
from edgeops.lab.servers.gnmi import GnmiLabServer
from edgeops.lab.topology import DEFAULT_DEVICES_PER_SITE, build_fleet, synthetic_sites
from edgeops.platforms import GnmiTls


def fleet(devices: int, port: int, second_octet: int) -> list[DeviceIdentity]:
    sites = synthetic_sites(math.ceil(devices / DEFAULT_DEVICES_PER_SITE))
    identities = build_fleet(sites, gnmi_port=port)[:devices]
    for identity in identities:
        # Keep the benchmark's addresses apart from a lab that may be running on 127.10.x.y.
        _, _, third, fourth = identity.host.split(".")
        identity.host = f"127.{second_octet}.{third}.{fourth}"
    return identities


def serve(devices: int, port: int, second_octet: int, pipe: Connection) -> None:
    """The lab side (child process): serve gNMI for every device until told to stop."""

    async def main() -> None:
        lab = [LabDevice(identity, DeviceModel(identity)) for identity in fleet(devices, port, second_octet)]
        server = GnmiLabServer(lab)
        await server.start()
        pipe.send([(device.name, *server.address(device.name)) for device in lab])
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, pipe.recv)  # any message means stop
        await server.stop()

    asyncio.run(main())


def serve_ssh(devices: int, port: int, second_octet: int, lab_dir: str, pipe: Connection) -> None:
    """The lab side for --ssh-storm (child process): serve SSH for every device until told to stop."""
    from edgeops.lab.runner import Lab

    async def main() -> None:
        lab = Lab(fleet(devices, port, second_octet), lab_dir=Path(lab_dir), ssh_port=port, gnmi=False)
        await lab.start()
        try:
            pipe.send(str(write_lab_inventory(lab, Path(lab_dir) / "inventory.yaml")))
            await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # any message means stop
        finally:
            await lab.stop()

    asyncio.run(main())


def ssh_storm(args: argparse.Namespace) -> dict[str, float | int | str]:
    """The lab's CPU while `edgeops run` logs in to every device and runs one command, cold, --repeat times."""
    edgeops = Path(sys.executable).with_name("edgeops")
    with tempfile.TemporaryDirectory(prefix="edgeops-storm-") as work_dir:
        work = Path(work_dir)
        parent, child = mp.get_context("spawn").Pipe()
        lab = mp.get_context("spawn").Process(
            target=serve_ssh, args=(args.devices, args.ssh_port, args.second_octet, str(work / "lab"), child)
        )
        lab.start()
        try:
            inventory = parent.recv()
            lab_process = psutil.Process(lab.pid)
            walls, cpus = [], []
            for attempt in range(args.repeat):
                state = work / f"client-{attempt}"  # a fresh state dir: new known_hosts, new audit log
                argv = [str(edgeops), "--inventory", inventory, "--state-dir", str(state), "--log-dir", str(state)]
                argv += ["run", args.command, "--target", "all", "--json", "--no-progress"]
                cpu0, _, _ = process_figures(lab_process)
                started = time.monotonic()
                done = subprocess.run(argv, capture_output=True, text=True, check=False)
                walls.append(time.monotonic() - started)
                cpus.append(process_figures(lab_process)[0] - cpu0)
                records = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
                ok = sum(1 for record in records if record.get("ok"))
                if ok != args.devices:
                    raise SystemExit(f"edgeops run: {ok} of {args.devices} ok\n{done.stderr[-2000:]}")
        finally:
            parent.send("stop")
            lab.join(timeout=30)
            if lab.is_alive():
                lab.kill()
    return {
        "mode": "ssh-storm",
        "devices": args.devices,
        "command": args.command,
        "repeat": args.repeat,
        "wall_s_median": round(statistics.median(walls), 2),
        "lab_cpu_s_median": round(statistics.median(cpus), 2),
        "lab_cpu_s_each": " ".join(f"{cpu:.2f}" for cpu in cpus),
    }


@dataclass
class Counts:
    notifications: int = 0
    updates: int = 0
    interface_samples: int = 0
    streams_up: int = 0
    synced: int = 0  # streams whose initial dump is complete
    errors: int = 0
    expected: int = 0  # streams there will be
    all_synced: asyncio.Event = field(default_factory=asyncio.Event)

    def mark_synced(self) -> None:
        self.synced += 1
        if self.synced >= self.expected:
            self.all_synced.set()


async def raw_client(identity: DeviceIdentity, host: str, port: int, interval: float, counts: Counts) -> None:
    """A plain grpc.aio subscriber that counts messages without decoding them."""
    paths = native_path_map(identity.platform)
    specs = paths.subscriptions(counter_interval_s=interval, health_interval_s=10.0)
    encoding = gnmi_pb2.JSON if identity.platform.is_sros else gnmi_pb2.JSON_IETF
    request = gnmi_pb2.SubscribeRequest(subscribe=subscription_list(specs, encoding))
    metadata = (("username", identity.username), ("password", identity.password))

    async def requests():  # keep our side open, as a real collector does
        yield request
        await asyncio.Event().wait()

    async with aio.insecure_channel(f"{host}:{port}") as channel:
        stub = gnmi_pb2_grpc.gNMIStub(channel)
        counts.streams_up += 1
        try:
            async for response in stub.Subscribe(requests(), metadata=metadata):
                if response.HasField("update"):
                    counts.notifications += 1
                    counts.updates += len(response.update.update)
                elif response.sync_response:
                    counts.mark_synced()
        except aio.AioRpcError:
            counts.errors += 1


async def session_client(identity: DeviceIdentity, host: str, port: int, interval: float, counts: Counts) -> None:
    """The real client: GnmiSession, decoding every notification into an interface batch (as the console does)."""
    device = identity.inventory_device(host=host, gnmi_port=port, gnmi_tls=GnmiTls.INSECURE)
    async with GnmiSession(device, username=identity.username, password=identity.password) as session:
        counts.streams_up += 1
        specs = session.default_subscriptions(counter_interval_s=interval)
        try:
            async for item in session.stream(specs):
                if isinstance(item, InterfaceBatch):
                    counts.interface_samples += len(item.rows)
                elif isinstance(item, SyncMarker):
                    counts.mark_synced()
        except Exception:
            counts.errors += 1


def process_figures(process: psutil.Process) -> tuple[float, float, int]:
    times = process.cpu_times()
    return times.user + times.system, process.memory_info().rss / 2**20, process.num_threads()


async def run(args: argparse.Namespace) -> dict[str, float | int | str]:
    parent, child = mp.get_context("spawn").Pipe()
    lab = mp.get_context("spawn").Process(
        target=serve, args=(args.devices, args.port, args.second_octet, child), daemon=True
    )
    lab.start()
    addresses = await asyncio.get_running_loop().run_in_executor(None, parent.recv)
    identities = {identity.name: identity for identity in fleet(args.devices, args.port, args.second_octet)}
    interfaces = sum(len(DeviceModel(identity).interfaces) for identity in identities.values())
    counts = Counts(expected=len(addresses))
    client = session_client if args.client == "session" else raw_client
    tasks = [
        asyncio.create_task(client(identities[name], host, port, args.interval, counts))
        for name, host, port in addresses
    ]
    lab_process = psutil.Process(lab.pid)
    me = psutil.Process()
    # Measure the steady state: after every stream's initial dump, plus a settling time.
    connect_started = time.monotonic()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(counts.all_synced.wait(), 120)
    all_synced_s = time.monotonic() - connect_started
    await asyncio.sleep(args.warmup)
    cpu0, _, _ = process_figures(lab_process)
    my_cpu0, _, _ = process_figures(me)
    start_counts = dataclasses.replace(counts)
    started = time.monotonic()
    peak_rss = peak_threads = 0.0
    while time.monotonic() - started < args.seconds:
        await asyncio.sleep(1.0)
        _, rss, threads = process_figures(lab_process)
        peak_rss, peak_threads = max(peak_rss, rss), max(peak_threads, threads)
    elapsed = time.monotonic() - started
    cpu1, _, _ = process_figures(lab_process)
    my_cpu1, _, _ = process_figures(me)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    parent.send("stop")
    lab.join(timeout=10)
    if lab.is_alive():
        lab.kill()
    return {
        "devices": args.devices,
        "interfaces": interfaces,
        "interval_s": args.interval,
        "client": args.client,
        "seconds": round(elapsed, 1),
        "streams_up": counts.streams_up,
        "streams_synced": counts.synced,
        "all_synced_s": round(all_synced_s, 1),
        "stream_errors": counts.errors,
        "lab_cpu_pct": round((cpu1 - cpu0) / elapsed * 100, 1),
        "lab_rss_mb": round(peak_rss, 1),
        "lab_threads": int(peak_threads),
        "notifications_per_s": round((counts.notifications - start_counts.notifications) / elapsed),
        "updates_per_s": round((counts.updates - start_counts.updates) / elapsed),
        "interface_samples_per_s": round((counts.interface_samples - start_counts.interface_samples) / elapsed),
        "client_cpu_pct": round((my_cpu1 - my_cpu0) / elapsed * 100, 1),
    }


def main() -> int:
    quiet_grpc_core()  # the lab shutting down would print a line per stream otherwise
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=1.0, help="counter sample interval (s)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds after every stream synced")
    parser.add_argument("--port", type=int, default=57400)
    parser.add_argument("--second-octet", type=int, default=30, help="devices listen on 127.<this>.x.y")
    parser.add_argument("--client", choices=("raw", "session"), default="raw")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--ssh-storm", action="store_true", help="measure a login+command storm over SSH instead")
    parser.add_argument("--ssh-port", type=int, default=2222, help="with --ssh-storm: every device's SSH port")
    parser.add_argument("--command", default="show version", help="with --ssh-storm: the command to run")
    parser.add_argument("--repeat", type=int, default=3, help="with --ssh-storm: storms to run (median reported)")
    args = parser.parse_args()
    result = ssh_storm(args) if args.ssh_storm else asyncio.run(run(args))
    if args.json:
        print(json.dumps(result))
    else:
        width = max(len(key) for key in result)
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    raise SystemExit(main())
