"""Benchmark: the fleet shared over NATS JetStream, against consoles that hold the devices themselves.

Every part is a process of its own, as in a deployment: the lab, the real `nats-server -js`, the collectors
(`--collectors`, each with the whole inventory, sharing it through leases), the consoles on the bus (`--consoles`),
and one console holding every device directly (the figure each bus console is compared with). Usage:

    python bench/shared.py --devices 200 --collectors 2 --consoles 10 --seconds 30 [--json]

It prints:

    sessions      the lab's SSH sessions and gNMI streams with the collectors serving every console, then the
                  same for one console holding the devices itself (times the number of consoles: what the team
                  would cost the devices without the bus; computed from the one measured, and labelled so)
    latency       from the lab's sample (the time stamped in the gNMI notification) to a console's store,
                  over every bus console and every interface batch of a steady window with the bus alone (the
                  deployment): median, p99, max; then the same in a second window beside one console holding
                  every device itself (the lab then serves both), with that console's own latency
    cpu           each bus console's CPU over the second window (median, max) against the direct console's, in
                  that same window, and the ratio
    fan-out       one command to every device from a bus console through the collectors (request/reply) against
                  the direct console on its own warm sessions, audited both, median of --repeat
    takeover      the collector holding the most devices is killed (SIGKILL): seconds until every one of its
                  devices has fresh data on every console, and the worst gap between two updates of one device
                  any console saw

Needs `nats-server` on PATH (Debian: apt-get install nats-server).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sessions import serve_lab  # the lab child process of bench/sessions.py

COMMAND = "show version"
UP_WITHIN_S = 300.0
COUNTER_INTERVAL_S = 2.0


# -- nats-server -------------------------------------------------------------------------------------------------


def start_nats(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("nats-server")
    if binary is None:
        raise SystemExit("nats-server is not installed (Debian: apt-get install nats-server)")
    host = f"127.{random.randrange(30, 100)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    with socket.socket() as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    log = (root / "nats.log").open("ab")
    process = subprocess.Popen(
        [binary, "-js", "-a", host, "-p", str(port), "-sd", str(root / "nats")], stdout=log, stderr=log
    )
    deadline = time.monotonic() + 15
    while True:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return process, f"nats://{host}:{port}"
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"nats-server did not start: see {root / 'nats.log'}")
        time.sleep(0.05)


# -- the parts (child processes) ---------------------------------------------------------------------------------


def engine_settings() -> Any:
    from edgeops.devices.supervisor import SupervisorSettings
    from edgeops.fleet.engine import EngineSettings

    return EngineSettings(SupervisorSettings(counter_interval_s=COUNTER_INTERVAL_S), user_known_hosts=())


def app_paths(root: Path, inventory: str) -> Any:
    from edgeops.paths import AppPaths

    return AppPaths(root / "config", root / "state", root / "logs", Path(inventory))


def serve_collector(url: str, inventory_path: str, name: str, ttl_s: float, root: str, pipe: Connection) -> None:
    """A collector with the whole inventory; answers "held" with how many devices it holds and which."""
    from edgeops.bus.collector import Collector, CollectorSettings
    from edgeops.bus.connection import BusSettings
    from edgeops.bus.layout import Layout
    from edgeops.inventory.loader import load_inventory

    async def main() -> None:
        inventory = load_inventory(inventory_path)
        settings = CollectorSettings(name=name, layout=Layout(lease_ttl_s=ttl_s))
        collector = Collector(
            inventory,
            app_paths(Path(root), inventory_path),
            BusSettings.from_url(url, {}),
            settings,
            engine_settings=engine_settings(),
        )
        await collector.start()
        pipe.send("started")
        loop = asyncio.get_running_loop()
        while await loop.run_in_executor(None, pipe.recv) == "held":
            up = sum(1 for device in collector.held if collector.store.device(device).state.value == "up")
            pipe.send({"held": list(collector.held), "up": up})
        await collector.stop()

    asyncio.run(main())


class Watch:
    """What one console saw: per device, when interface batches arrived; the lab-sample-to-store latencies."""

    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.added_ms: list[float] = []  # on a bus console: from the collector's receiving the batch to here
        self.arrivals: dict[str, list[float]] = {}
        self.measuring = False

    def saw(self, event: Any) -> None:
        from edgeops.fleet.events import InterfacesChanged

        if isinstance(event, InterfacesChanged):
            now = time.time()
            self.arrivals.setdefault(event.device, []).append(now)
            if self.measuring:
                self.latencies_ms.append((now - event.batch.timestamp) * 1000)
                self.added_ms.append((now - event.time) * 1000)

    def fresh_after(self, when: float, devices: list[str]) -> float | None:
        """When the last of `devices` had its first batch after `when` (None while one has not)."""
        firsts = []
        for device in devices:
            later = [t for t in self.arrivals.get(device, []) if t > when]
            if not later:
                return None
            firsts.append(later[0])
        return max(firsts, default=when)

    def worst_gap_s(self, devices: list[str], since: float) -> float:
        worst = 0.0
        for device in devices:
            times = [t for t in self.arrivals.get(device, []) if t >= since]
            worst = max([worst, *(b - a for a, b in itertools.pairwise(times))])
        return worst


def serve_console(url: str | None, inventory_path: str, root: str, pipe: Connection) -> None:
    """A console: on the bus (`url`) or holding the devices itself (None). Answers the parent's requests."""
    import psutil

    from edgeops.fleet.audit import AuditLog
    from edgeops.fleet.commands import CommandRunner, collect
    from edgeops.inventory.loader import load_inventory

    async def main() -> None:
        inventory = load_inventory(inventory_path)
        watch = Watch()
        engine: Any
        if url is not None:
            from edgeops.bus.connection import BusSettings
            from edgeops.bus.source import BusSource

            engine = BusSource(inventory, BusSettings.from_url(url, {}))
            apply = engine._apply

            def watched(device: str, event: Any) -> None:
                apply(device, event)
                watch.saw(event)

            engine._apply = watched
        else:
            from edgeops.fleet.engine import FleetEngine

            engine = FleetEngine(inventory, app_paths(Path(root), inventory_path), settings=engine_settings())
            engine.events.add_listener(watch.saw)
        await engine.start()
        audit = AuditLog(Path(root) / "audit.jsonl")
        runner = CommandRunner(engine, audit=audit, timeout_s=60)
        process = psutil.Process()
        loop = asyncio.get_running_loop()
        cpu_mark = wall_mark = 0.0
        while True:
            request, *args = await loop.run_in_executor(None, pipe.recv)
            if request == "up":
                pipe.send(engine.store.fleet_rollup().up)
            elif request == "measure":  # start the steady window
                times = process.cpu_times()
                cpu_mark, wall_mark = times.user + times.system, time.perf_counter()
                watch.latencies_ms, watch.added_ms = [], []  # each window its own
                watch.measuring = True
            elif request == "measured":
                times = process.cpu_times()
                watch.measuring = False
                cpu = (times.user + times.system - cpu_mark) / (time.perf_counter() - wall_mark) * 100
                pipe.send({"cpu_percent": cpu, "latencies_ms": watch.latencies_ms, "added_ms": watch.added_ms})
            elif request == "fanout":
                (repeat,) = args
                devices = list(inventory.devices)
                warm = await collect(runner, COMMAND, devices)
                durations = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    results = await collect(runner, COMMAND, devices)
                    durations.append(time.perf_counter() - started)
                failed = sum(1 for result in [*warm, *results] if not result.ok)
                pipe.send({"durations_s": durations, "failed": failed})
            elif request == "fresh_after":
                when, devices = args
                pipe.send(watch.fresh_after(when, devices))
            elif request == "worst_gap":
                devices, since = args
                pipe.send(watch.worst_gap_s(devices, since))
            else:
                break
        audit.close()
        await engine.stop()

    asyncio.run(main())


# -- the run (this process) --------------------------------------------------------------------------------------


class Part:
    def __init__(self, context: Any, target: Any, *args: Any) -> None:
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=target, args=(*args, child), daemon=True)
        self.process.start()

    def ask(self, *request: Any, timeout: float = UP_WITHIN_S) -> Any:
        self.pipe.send(request[0] if len(request) == 1 and request[0] in ("held", "status") else request)
        if not self.pipe.poll(timeout):
            raise SystemExit(f"no answer to {request[0]!r} within {timeout:g} s")
        return self.pipe.recv()

    def tell(self, *request: Any) -> None:
        self.pipe.send(request)

    def stop(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self.pipe.send(("stop",))
        self.process.join(30)
        if self.process.is_alive():
            self.process.kill()


def wait_until(what: str, condition: Any, within: float = UP_WITHIN_S, detail: Any = None) -> float:
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > within:
            raise SystemExit(f"timed out waiting for {what}" + (f" ({detail()})" if detail else ""))
        time.sleep(0.2)
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)] if ordered else float("nan")


def run(args: argparse.Namespace) -> dict[str, Any]:
    context = mp.get_context("spawn")
    work = Path(tempfile.mkdtemp(prefix="edgeops-shared-"))
    figures: dict[str, Any] = {"devices": args.devices, "collectors": args.collectors, "consoles": args.consoles}
    lab_pipe, lab_child = context.Pipe()
    lab = context.Process(
        target=serve_lab, args=(args.devices, args.address_block, False, str(work / "lab"), lab_child)
    )
    lab.start()
    nats, url = start_nats(work)
    parts: list[Part] = []
    try:
        inventory, _ = lab_pipe.recv()
        devices = args.devices

        def lab_status() -> dict[str, int]:
            lab_pipe.send("status")
            status: dict[str, int] = lab_pipe.recv()
            return status

        collectors = [
            Part(context, serve_collector, url, inventory, f"c{n}", args.lease_ttl, str(work / f"c{n}"))
            for n in range(args.collectors)
        ]
        parts += collectors
        for collector in collectors:
            collector.pipe.recv()

        def held() -> list[dict[str, Any]]:
            return [collector.ask("held") for collector in collectors]

        figures["collectors_up_s"] = round(
            wait_until("the collectors to hold every device up", lambda: sum(h["up"] for h in held()) == devices), 2
        )
        figures["held"] = [len(h["held"]) for h in held()]
        consoles = [Part(context, serve_console, url, inventory, str(work / f"v{n}")) for n in range(args.consoles)]
        parts += consoles
        wait_until(
            "every bus console to show every device up",
            lambda: all(c.ask("up") == devices for c in consoles),
            detail=lambda: f"up on the consoles: {[c.ask('up') for c in consoles]} of {devices}",
        )
        with_bus = lab_status()
        # A console draws the fleet from the state bucket, then reads the stream on from there: the seconds of
        # events in between arrive late once, at its start. The windows measure the steady state after it.
        time.sleep(args.settle)

        def window() -> list[dict[str, Any]]:
            for part in parts[len(collectors) :]:
                part.tell("measure")
            time.sleep(args.seconds)
            return [part.ask("measured") for part in parts[len(collectors) :]]

        # Window 1, the deployment: the collectors serve the consoles, and nothing else holds the devices.
        alone = window()
        direct = Part(context, serve_console, None, inventory, str(work / "direct"))
        parts.append(direct)
        wait_until("the direct console to bring every device up", lambda: direct.ask("up") == devices)
        with_direct = lab_status()
        per_console = {
            "ssh_sessions": with_direct["ssh_sessions"] - with_bus["ssh_sessions"],
            "gnmi_streams": with_direct["gnmi_streams"] - with_bus["gnmi_streams"],
        }
        figures["sessions"] = {
            "bus": {"ssh_sessions": with_bus["ssh_sessions"], "gnmi_streams": with_bus["gnmi_streams"]},
            "one_direct_console": per_console,
            "direct_consoles_computed": {key: value * args.consoles for key, value in per_console.items()},
        }
        # Window 2, side by side: the same bus consoles and one console holding every device itself, in one
        # window (the lab then serves both: a crowded machine, for the CPU ratio and the direct side's latency).
        time.sleep(args.settle)
        *beside, direct_measured = window()

        def latencies(measured: list[dict[str, Any]]) -> dict[str, Any]:
            values = [value for m in measured for value in m["latencies_ms"]]
            added = [value for m in measured for value in m["added_ms"]]
            return {
                "samples": len(values),
                "median": round(statistics.median(values), 1),
                "p99": round(percentile(values, 0.99), 1),
                "max": round(max(values), 1),
                "bus_added_median": round(statistics.median(added), 1),
                "bus_added_p99": round(percentile(added, 0.99), 1),
            }

        figures["latency_ms"] = latencies(alone)
        figures["latency_beside_direct_ms"] = {
            **latencies(beside),
            "direct_median": round(statistics.median(direct_measured["latencies_ms"]), 1),
            "direct_p99": round(percentile(direct_measured["latencies_ms"], 0.99), 1),
        }
        cpus = [m["cpu_percent"] for m in beside]
        figures["cpu_percent"] = {
            "bus_console_alone_median": round(statistics.median(m["cpu_percent"] for m in alone), 2),
            "bus_console_median": round(statistics.median(cpus), 2),
            "bus_console_max": round(max(cpus), 2),
            "direct_console": round(direct_measured["cpu_percent"], 2),
            "ratio_median": round(statistics.median(cpus) / direct_measured["cpu_percent"], 3),
        }

        bus_fanout = consoles[0].ask("fanout", args.repeat)
        direct_fanout = direct.ask("fanout", args.repeat)
        figures["fanout_s"] = {
            "bus": round(statistics.median(bus_fanout["durations_s"]), 3),
            "direct": round(statistics.median(direct_fanout["durations_s"]), 3),
            "ratio": round(
                statistics.median(bus_fanout["durations_s"]) / statistics.median(direct_fanout["durations_s"]), 2
            ),
            "failed": bus_fanout["failed"] + direct_fanout["failed"],
        }
        direct.stop()
        parts.remove(direct)

        holdings = held()
        victim = max(range(len(collectors)), key=lambda index: len(holdings[index]["held"]))
        moved = holdings[victim]["held"]
        since = time.time() - 10
        os.kill(collectors[victim].process.pid, signal.SIGKILL)
        killed = time.time()
        collectors[victim].process.join(10)
        parts.remove(collectors[victim])
        survivors = [c for i, c in enumerate(collectors) if i != victim]

        def all_fresh() -> bool:
            return all(console.ask("fresh_after", killed, moved) is not None for console in consoles)

        wait_until(
            "every console to see the killed collector's devices again", all_fresh, within=args.lease_ttl * 4 + 60
        )
        back = max(console.ask("fresh_after", killed, moved) for console in consoles)
        figures["takeover"] = {
            "killed_held": len(moved),
            "lease_ttl_s": args.lease_ttl,
            "live_again_s": round(back - killed, 2),
            "worst_gap_s": round(max(console.ask("worst_gap", moved, since) for console in consoles), 2),
            "survivor_held": [len(c.ask("held")["held"]) for c in survivors],
        }
    finally:
        for part in parts:
            part.stop()
        with contextlib.suppress(OSError, BrokenPipeError):
            lab_pipe.send("stop")
        lab.join(30)
        nats.terminate()
        nats.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    return figures


def report(figures: dict[str, Any]) -> str:
    sessions = figures["sessions"]
    lines = [
        f"{figures['devices']} devices · {figures['collectors']} collectors (holding {figures['held']}, all up in "
        f"{figures['collectors_up_s']} s) · {figures['consoles']} consoles on the bus",
        f"lab sessions with the bus:        {sessions['bus']['ssh_sessions']} SSH, "
        f"{sessions['bus']['gnmi_streams']} gNMI",
        f"one console holding the devices:  {sessions['one_direct_console']['ssh_sessions']} SSH, "
        f"{sessions['one_direct_console']['gnmi_streams']} gNMI  (x{figures['consoles']} consoles: "
        f"{sessions['direct_consoles_computed']['ssh_sessions']} SSH, "
        f"{sessions['direct_consoles_computed']['gnmi_streams']} gNMI, computed)",
        "latency sample->console store:    median {median} ms · p99 {p99} ms · max {max} ms ({samples} batches; "
        "the bus alone)".format(**figures["latency_ms"]),
        "latency the bus adds:             collector received -> console store: median {bus_added_median} ms · "
        "p99 {bus_added_p99} ms".format(**figures["latency_ms"]),
        "beside a direct console:          bus median {median} ms · p99 {p99} ms (adds p99 {bus_added_p99} ms); "
        "direct console median {direct_median} ms · p99 {direct_p99} ms".format(**figures["latency_beside_direct_ms"]),
        "console CPU (side by side):       bus median {bus_console_median} % (max {bus_console_max} %; alone "
        "{bus_console_alone_median} %) vs direct {direct_console} % -> ratio {ratio_median}".format(
            **figures["cpu_percent"]
        ),
        "fan-out to every device:          bus {bus} s vs direct {direct} s -> x{ratio} ({failed} failed)".format(
            **figures["fanout_s"]
        ),
        "collector killed:                 {killed_held} devices live again on every console in {live_again_s} s "
        "(lease TTL {lease_ttl_s} s); worst gap a console saw {worst_gap_s} s; survivor holds "
        "{survivor_held}".format(**figures["takeover"]),
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--collectors", type=int, default=2)
    parser.add_argument("--consoles", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0, help="the steady window for CPU and latency")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds between the consoles being up and a window")
    parser.add_argument("--repeat", type=int, default=3, help="fan-outs per side (median)")
    parser.add_argument("--lease-ttl", type=float, default=15.0)
    parser.add_argument("--address-block", type=int, default=70, help="the lab listens on 127.<block>.x.y")
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures = run(args)
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
