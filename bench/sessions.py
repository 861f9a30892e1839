"""Benchmark: FleetEngine holding an SSH session and a gNMI stream to every device of a lab, with telemetry flowing.

The lab runs in a child process, so every figure here is the client's own: time until every device is up, peak
OS threads and memory, event-loop lag (sampled every 50 ms through the connect storm and the steady state), CPU
in the steady state, and samples decoded into the store per second. Usage:

    python bench/sessions.py --devices 200 --seconds 30 [--json] [--jump-only] [--profile FILE] [--gc-freeze]
                             [--decode-slice SECONDS ...] [--lab-src DIR] [--census]

Given several --decode-slice values (e.g. `--decode-slice 0.005 0`: the fleet's decoding sharing each loop turn,
then not), it runs once per value, each in a fresh process with a lab of its own, and prints them side by side.

`--lab-src DIR` serves the lab from the edgeops sources in DIR (another revision's `src/`) while the client runs the
sources this script imports: two revisions of the client then meet the same lab, sending the same leaves (a newer
lab may send more, and a client's CPU follows what it receives). `bench/compare.py --lab head` uses it. So that it
can measure older revisions' clients, the script accepts their EngineSettings (the counter interval on it, before
it moved into SupervisorSettings) and their lab (which wrote its own inventory); `bench/compare.py --bench head`
runs it on both sides.

Memory is read three times: `rss_start_mb` before the inventory is read and the engine made (the modules),
`rss_all_up_mb` when every device is up (the sessions' state), and `rss_mb`, the peak over the whole run (the
steady state's churn on top). `--census` adds Python's objects by type, counted halfway through the steady state
(see object_census): with `bench/compare.py --bench head` it shows which kinds of object one revision holds more of.

`notifications_per_s` counts the gNMI notifications the client decoded (through a counting wrapper around the
decoder, the same on every revision), and `cpu_ms_per_1k_notifications` is the client's steady CPU per 1000 of them:
the figure to compare between revisions whose labs send different volumes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import gc
import json
import math
import multiprocessing as mp
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil

from edgeops.devices.supervisor import SupervisorSettings
from edgeops.fleet.engine import EngineSettings, FleetEngine
from edgeops.inventory.loader import load_inventory
from edgeops.paths import AppPaths

LAB_SSH_PORT = 2222
LAB_GNMI_PORT = 57400
LAG_INTERVAL_S = 0.05
RESOURCE_INTERVAL_S = 0.25
UP_TIMEOUT_S = 300.0


# -- the lab (child process) -------------------------------------------------------------------------------


def serve_lab(devices: int, block: int, jump_only: bool, lab_dir: str, pipe: Connection) -> None:
    """Run a lab of `devices` devices until told to stop; sends the path of its inventory (and where its sources
    are) when it is up."""
    # Imported here: the lab's sources may be another revision's than the client's (--lab-src).
    import edgeops
    from edgeops.lab.runner import Lab, relocate
    from edgeops.lab.topology import DEFAULT_DEVICES_PER_SITE, build_fleet, synthetic_sites

    sources = str(Path(edgeops.__file__).resolve().parents[1])
    write_inventory: Callable[[Any, Path], Path]
    try:
        from edgeops.cli.lab import write_lab_inventory

        write_inventory = write_lab_inventory
    except ImportError:  # an older lab wrote its inventory itself

        def write_inventory(lab: Any, path: Path) -> Path:
            written: Path = lab.write_inventory(path)
            return written

    async def main() -> None:
        sites = synthetic_sites(math.ceil(devices / DEFAULT_DEVICES_PER_SITE))
        fleet = build_fleet(sites, ssh_port=LAB_SSH_PORT, gnmi_port=LAB_GNMI_PORT)[:devices]
        lab = Lab(
            relocate(fleet, block),
            lab_dir=Path(lab_dir),
            ssh_port=LAB_SSH_PORT,
            gnmi_port=LAB_GNMI_PORT,
            jump_only=jump_only,
        )
        await lab.start()
        try:
            inventory = write_inventory(lab, Path(lab_dir) / "inventory.yaml")
            pipe.send((str(inventory), sources))
            loop = asyncio.get_running_loop()
            while await loop.run_in_executor(None, pipe.recv) == "status":  # anything else means stop
                pipe.send(dataclasses.asdict(lab.status()))
        finally:
            await lab.stop()

    asyncio.run(main())


# -- measuring (this process) ------------------------------------------------------------------------------


class NotificationCounter:
    """Counts the notifications the gNMI sessions decode, by wrapping the decoder where the sessions look it up."""

    def __init__(self) -> None:
        from edgeops.devices import gnmi

        self.count = 0
        decode = gnmi.decode_notification

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return decode(*args, **kwargs)

        gnmi.decode_notification = counted  # type: ignore[assignment]


@dataclass
class Samples:
    """What the samplers saw, split into the connect storm and the steady state."""

    storm_lag_ms: list[float] = field(default_factory=list)
    steady_lag_ms: list[float] = field(default_factory=list)
    # The same, less the time the loop's thread sat runnable but off the CPU (other processes had it).
    storm_own_lag_ms: list[float] = field(default_factory=list)
    steady_own_lag_ms: list[float] = field(default_factory=list)
    peak_threads: int = 0
    peak_rss: int = 0
    steady: bool = False


class GcTimer:
    """Durations of the garbage collector's passes: a full collection over a large heap stalls the loop.

    Passes are counted apart for the connect storm and the steady state (`steady` is set when all are up).
    """

    def __init__(self) -> None:
        self.pauses_ms: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self.steady_full_ms: list[float] = []  # full (generation 2) passes in the steady state
        self.steady = False
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            pause = (time.perf_counter() - self._started) * 1000
            self.pauses_ms[info["generation"]].append(pause)
            if self.steady and info["generation"] == 2:
                self.steady_full_ms.append(pause)

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            f"gen{gen}": {"count": len(pauses), "max_ms": round(max(pauses, default=0.0), 1)}
            for gen, pauses in self.pauses_ms.items()
        }
        summary["gen2_steady"] = {
            "count": len(self.steady_full_ms),
            "max_ms": round(max(self.steady_full_ms, default=0.0), 1),
        }
        return summary


def runqueue_wait_s() -> float | None:
    """How long this thread has waited, runnable, for a CPU since it started (Linux schedstat; None elsewhere)."""
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


async def sample_loop_lag(samples: Samples) -> None:
    """How late a 50 ms sleep wakes up: the time other callbacks held the loop, or the machine held the thread.

    On a shared machine the second part is not the client's doing, so it is measured (the scheduler's run-queue
    wait of the loop's thread) and reported apart: `own` lag is the lag less that wait.
    """
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        waited_before = runqueue_wait_s()
        await asyncio.sleep(LAG_INTERVAL_S)
        lag_s = max(0.0, loop.time() - before - LAG_INTERVAL_S)
        waited_after = runqueue_wait_s()
        waited_s = waited_after - waited_before if waited_after is not None and waited_before is not None else 0.0
        own_s = max(0.0, lag_s - waited_s)
        if samples.steady:
            samples.steady_lag_ms.append(lag_s * 1000)
            samples.steady_own_lag_ms.append(own_s * 1000)
        else:
            samples.storm_lag_ms.append(lag_s * 1000)
            samples.storm_own_lag_ms.append(own_s * 1000)


async def sample_resources(samples: Samples, process: psutil.Process) -> None:
    while True:
        samples.peak_threads = max(samples.peak_threads, process.num_threads())
        samples.peak_rss = max(samples.peak_rss, process.memory_info().rss)
        await asyncio.sleep(RESOURCE_INTERVAL_S)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


CENSUS_TYPES = 25  # the largest types a census reports


def object_census() -> dict[str, Any]:
    """Python's objects by type: how many and their own size (sys.getsizeof, contents not followed), the 25 largest.

    Counts every object the collector tracks and the untracked ones they hold directly (strings, numbers, bytes,
    tuples of those): what Python's heap holds, without what C libraries allocate. A frozen heap (`--gc-freeze`) is
    unfrozen for the count and frozen again. It stops the loop for a second or two at 200 devices: a run with a
    census is for its memory figures, not its lag.
    """
    frozen = gc.get_freeze_count()
    if frozen:
        gc.unfreeze()
    try:
        tracked = gc.get_objects()
        seen = {id(item) for item in tracked}
        sizes: dict[str, list[int]] = {}

        def count(item: object) -> None:
            kind = type(item)
            entry = sizes.setdefault(f"{kind.__module__}.{kind.__qualname__}", [0, 0])
            entry[0] += 1
            entry[1] += sys.getsizeof(item)

        for item in tracked:
            count(item)
            for held in gc.get_referents(item):
                if id(held) not in seen and not gc.is_tracked(held):
                    seen.add(id(held))
                    count(held)
        del tracked
    finally:
        if frozen:
            gc.freeze()
    largest = sorted(sizes.items(), key=lambda entry: -entry[1][1])[:CENSUS_TYPES]
    return {
        "objects": sum(number for number, _ in sizes.values()),
        "mb": round(sum(size for _, size in sizes.values()) / 2**20, 2),
        "types": {name: {"count": number, "kb": round(size / 1024, 1)} for name, (number, size) in largest},
    }


async def lab_status(pipe: Connection) -> dict[str, int]:
    pipe.send("status")
    status: dict[str, int] = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    return status


async def measure(
    inventory_path: Path,
    state_dir: Path,
    seconds: float,
    settings: EngineSettings,
    lab_pid: int,
    pipe: Connection,
    *,
    gc_freeze: bool = False,
    census: bool = False,
) -> dict[str, Any]:
    process = psutil.Process()
    lab = psutil.Process(lab_pid)
    rss_at_start = process.memory_info().rss  # the modules: before the inventory and any device
    samples = Samples()
    inventory = load_inventory(inventory_path)
    devices = len(inventory.devices)
    paths = AppPaths(state_dir / "config", state_dir / "state", state_dir / "logs", inventory_path)
    samplers = [
        asyncio.create_task(sample_loop_lag(samples)),
        asyncio.create_task(sample_resources(samples, process)),
    ]
    notifications = NotificationCounter()
    gc_timer = GcTimer()
    gc.callbacks.append(gc_timer)
    threads_before = process.num_threads()
    client_cpu_start, lab_cpu_start = cpu_seconds(process), cpu_seconds(lab)
    started = time.perf_counter()
    engine = FleetEngine(inventory, paths, settings=settings)
    if gc_freeze:
        gc.freeze()  # the imports, the inventory and the engine's set-up: not walked again through the storm
    await engine.start()
    store = engine.store
    first_up = None
    while True:
        up = store.fleet_rollup().up
        if up and first_up is None:
            first_up = time.perf_counter() - started
        if up == devices:
            break
        if time.perf_counter() - started > UP_TIMEOUT_S:
            states: dict[str, int] = {}
            for name in store.device_names():
                state = store.device(name).state.value
                states[state] = states.get(state, 0) + 1
            raise SystemExit(f"not every device came up within {UP_TIMEOUT_S:g} s: {states}")
        await asyncio.sleep(0.02)
    all_up_s = time.perf_counter() - started
    rss_all_up = process.memory_info().rss
    client_storm_cpu = cpu_seconds(process) - client_cpu_start
    lab_storm_cpu = cpu_seconds(lab) - lab_cpu_start

    # The steady state: every session open, telemetry flowing.
    if gc_freeze:
        gc.freeze()  # what is alive after the storm is not scanned by full collections again
    samples.steady = True
    gc_timer.steady = True
    cpu_before, lab_before = cpu_seconds(process), cpu_seconds(lab)
    updates_before = engine.samples_applied
    notifications_before = notifications.count
    steady_started = time.perf_counter()
    objects: dict[str, Any] | None = None
    if census:  # halfway: the sessions' state is built and the steady state's churn is in it
        await asyncio.sleep(seconds / 2)
        objects = object_census()
        await asyncio.sleep(max(0.0, seconds - (time.perf_counter() - steady_started)))
    else:
        await asyncio.sleep(seconds)
    steady_s = time.perf_counter() - steady_started
    cpu_s, lab_s = cpu_seconds(process) - cpu_before, cpu_seconds(lab) - lab_before
    updates = engine.samples_applied - updates_before
    notes = notifications.count - notifications_before
    still_up = store.fleet_rollup().up
    stale = store.fleet_rollup().stale

    stopping = time.perf_counter()
    await engine.stop()
    stop_s = time.perf_counter() - stopping
    # Everything closed means the lab sees no session left (give it a moment to notice).
    left = await lab_status(pipe)
    for _ in range(50):
        if left["ssh_connections"] == 0 and left["gnmi_streams"] == 0:
            break
        await asyncio.sleep(0.1)
        left = await lab_status(pipe)
    for task in samplers:
        task.cancel()
    await asyncio.gather(*samplers, return_exceptions=True)
    gc.callbacks.remove(gc_timer)
    lags = samples.storm_lag_ms + samples.steady_lag_ms
    own_lags = samples.storm_own_lag_ms + samples.steady_own_lag_ms
    return {
        "devices": devices,
        "first_up_s": round(first_up or 0.0, 2),
        "all_up_s": round(all_up_s, 2),
        "threads": samples.peak_threads,
        "threads_before_start": threads_before,
        "threads_after_stop": process.num_threads(),
        "rss_mb": round(samples.peak_rss / 2**20, 1),
        "rss_start_mb": round(rss_at_start / 2**20, 1),
        "rss_all_up_mb": round(rss_all_up / 2**20, 1),
        "loop_lag_p50_ms": round(percentile(lags, 0.50), 1),
        "loop_lag_p99_ms": round(percentile(lags, 0.99), 1),
        "loop_lag_max_ms": round(max(lags, default=0.0), 1),
        "storm_lag_p99_ms": round(percentile(samples.storm_lag_ms, 0.99), 1),
        "steady_lag_p99_ms": round(percentile(samples.steady_lag_ms, 0.99), 1),
        "own_lag_p50_ms": round(percentile(own_lags, 0.50), 1),
        "own_lag_p99_ms": round(percentile(own_lags, 0.99), 1),
        "own_storm_lag_p99_ms": round(percentile(samples.storm_own_lag_ms, 0.99), 1),
        "own_steady_lag_p99_ms": round(percentile(samples.steady_own_lag_ms, 0.99), 1),
        "cpu_pct": round(100 * cpu_s / steady_s, 1),
        "storm_cpu_pct": round(100 * client_storm_cpu / all_up_s, 1),
        "lab_storm_cpu_pct": round(100 * lab_storm_cpu / all_up_s, 1),
        "lab_cpu_pct": round(100 * lab_s / steady_s, 1),
        "machine_load_1m": round(psutil.getloadavg()[0], 2),
        "updates_per_s": round(updates / steady_s),
        "notifications_per_s": round(notes / steady_s),
        "cpu_ms_per_1k_notifications": round(1000 * cpu_s * 1000 / notes, 2) if notes else 0.0,
        "steady_s": round(steady_s, 1),
        "up_at_end": still_up,
        "stale_at_end": stale,
        "stop_s": round(stop_s, 2),
        "left_on_lab_after_stop": left,
        "counter_interval_s": counter_interval_s(settings),
        "max_concurrent_opens": settings.max_concurrent_opens,
        "opens_per_second": settings.opens_per_second,
        "gc": gc_timer.summary(),
        "gc_freeze": gc_freeze,
        "decode_slice_s": settings.decode_slice_s,
        **({"census": objects} if objects is not None else {}),
    }


def print_table(result: dict[str, Any]) -> None:
    rows = [
        ("devices", f"{result['devices']}" + (" (jump-only)" if result.get("jump_only") else "")),
        ("all up (SSH + gNMI)", f"{result['all_up_s']} s (first up at {result['first_up_s']} s)"),
        ("peak OS threads", f"{result['threads']} (before start {result['threads_before_start']})"),
        (
            "RSS at start / all up / peak",
            f"{result['rss_start_mb']} / {result['rss_all_up_mb']} / {result['rss_mb']} MB",
        ),
        (
            "loop lag p50 / p99 / max",
            f"{result['loop_lag_p50_ms']} / {result['loop_lag_p99_ms']} / {result['loop_lag_max_ms']} ms",
        ),
        ("lag p99 storm / steady", f"{result['storm_lag_p99_ms']} / {result['steady_lag_p99_ms']} ms"),
        (
            "own lag p50 / p99 (storm / steady)",
            f"{result['own_lag_p50_ms']} / {result['own_lag_p99_ms']} ms "
            f"({result['own_storm_lag_p99_ms']} / {result['own_steady_lag_p99_ms']} ms)",
        ),
        ("CPU, steady state", f"{result['cpu_pct']} % of one core"),
        ("CPU during the connect storm", f"{result['storm_cpu_pct']} % (lab process: {result['lab_storm_cpu_pct']} %)"),
        ("lab process CPU, steady state", f"{result['lab_cpu_pct']} %"),
        ("machine load (1 min)", f"{result['machine_load_1m']} on {psutil.cpu_count()} cores"),
        ("samples into the store", f"{result['updates_per_s']} /s (counters every {result['counter_interval_s']} s)"),
        ("still up / stale at the end", f"{result['up_at_end']} / {result['stale_at_end']}"),
        ("stop (close everything)", f"{result['stop_s']} s"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print(f"garbage collector: {result['gc']}")
    print(f"left on the lab after stop: {result['left_on_lab_after_stop']}")
    if "census" in result:
        census = result["census"]
        print(f"Python's objects, halfway: {census['objects']} objects, {census['mb']} MB; the largest types:")
        for name, entry in census["types"].items():
            print(f"  {entry['kb']:>10} KB  {entry['count']:>8}  {name}")


SIDE_BY_SIDE = (
    ("all_up_s", "all up (s)"),
    ("threads", "peak OS threads"),
    ("rss_mb", "peak RSS (MB)"),
    ("storm_lag_p99_ms", "lag p99, storm (ms)"),
    ("steady_lag_p99_ms", "lag p99, steady (ms)"),
    ("own_steady_lag_p99_ms", "own lag p99, steady (ms)"),
    ("loop_lag_max_ms", "lag max (ms)"),
    ("cpu_pct", "CPU, steady (% of a core)"),
    ("lab_cpu_pct", "lab CPU, steady (%)"),
    ("updates_per_s", "samples into the store /s"),
    ("machine_load_1m", "machine load (1 min)"),
)


def compare_decode_slices(args: argparse.Namespace, argv: list[str]) -> int:
    """One run per --decode-slice value, each a fresh process (its own memory, threads and lab), side by side."""
    base: list[str] = []
    skip = False
    for arg in argv:  # the same options, less --decode-slice and its values, and --json
        if arg == "--decode-slice":
            skip = True
            continue
        if skip and not arg.startswith("--"):
            continue
        skip = False
        if arg != "--json":
            base.append(arg)
    results = []
    for index, value in enumerate(args.decode_slice):
        block = ["--address-block", str(args.address_block + index)]  # the previous lab's sockets may linger
        command = [sys.executable, __file__, *base, *block, "--decode-slice", str(value), "--json"]
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    if args.json:
        print(json.dumps({"runs": results}))
        return 0
    labels = [f"slice {value * 1000:g} ms" if value > 0 else "no sharing" for value in args.decode_slice]
    width = max(len(label) for _, label in SIDE_BY_SIDE)
    print(f"{results[0]['devices']} devices" + (" (jump-only)" if args.jump_only else ""))
    print(f"{'':<{width}}  " + "  ".join(f"{label:>12}" for label in labels))
    for key, label in SIDE_BY_SIDE:
        print(f"{label:<{width}}  " + "  ".join(f"{result[key]:>12}" for result in results))
    return 0


def engine_settings(counter_interval: float, **options: Any) -> EngineSettings:
    """EngineSettings with this counter interval; older revisions kept it on EngineSettings itself."""
    if "supervisor" in {item.name for item in dataclasses.fields(EngineSettings)}:
        return EngineSettings(SupervisorSettings(counter_interval_s=counter_interval), **options)
    return EngineSettings(counter_interval_s=counter_interval, **options)  # type: ignore[call-arg]


def counter_interval_s(settings: EngineSettings) -> float:
    supervisor: Any = getattr(settings, "supervisor", settings)  # older revisions: on EngineSettings itself
    interval: float = supervisor.counter_interval_s
    return interval


@contextlib.contextmanager
def lab_sources(src: Path | None) -> Iterator[None]:
    """While a spawned child starts: its imports come from `src` instead of the sources this process runs.

    A spawned child takes the parent's sys.path (not PYTHONPATH) before it imports anything, so swapping our
    sources' entry for `src` around `start()` is all it takes; the parent's own modules are already loaded.
    """
    if src is None:
        yield
        return
    import edgeops

    ours = Path(edgeops.__file__).resolve().parents[1]
    saved = list(sys.path)
    sys.path[:] = [str(src.resolve()), *(entry for entry in saved if not entry or Path(entry).resolve() != ours)]
    try:
        yield
    finally:
        sys.path[:] = saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to hold the sessions once all are up")
    parser.add_argument("--counter-interval", type=float, default=2.0)
    parser.add_argument("--max-opens", type=int, default=EngineSettings.max_concurrent_opens)
    parser.add_argument("--opens-per-second", type=float, default=EngineSettings.opens_per_second)
    parser.add_argument("--jump-only", action="store_true", help="reach every device through the lab's jump host")
    parser.add_argument("--address-block", type=int, default=60, help="the lab listens on 127.<block>.x.y")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the client to this file")
    parser.add_argument(
        "--lab-src", type=Path, help="serve the lab from the edgeops sources in this folder (another revision's src/)"
    )
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() once all are up (what the console does)")
    parser.add_argument(
        "--census",
        action="store_true",
        help="count Python's objects by type halfway through the steady state (memory figures; it stalls the loop)",
    )
    parser.add_argument(
        "--decode-slice",
        type=float,
        nargs="+",
        default=[EngineSettings.decode_slice_s],
        help="decoding per loop turn for all streams (s); 0: no sharing; several values: compared side by side",
    )
    args = parser.parse_args(argv)
    if len(args.decode_slice) > 1:
        return compare_decode_slices(args, argv if argv is not None else sys.argv[1:])

    with tempfile.TemporaryDirectory(prefix="edgeops-bench-") as tmp:
        lab_dir = Path(tmp) / "lab"
        lab_dir.mkdir()
        context = mp.get_context("spawn")  # the child starts clean: none of this process' memory or threads
        ours, theirs = context.Pipe()
        child = context.Process(
            target=serve_lab, args=(args.devices, args.address_block, args.jump_only, str(lab_dir), theirs)
        )
        with lab_sources(args.lab_src):
            child.start()
        try:
            if not ours.poll(120):
                raise SystemExit("the lab did not start within 120 s")
            inventory, lab_sources_used = ours.recv()
            inventory_path = Path(inventory)
            settings = engine_settings(
                args.counter_interval,
                max_concurrent_opens=args.max_opens,
                opens_per_second=args.opens_per_second,
                decode_slice_s=args.decode_slice[0],
                user_known_hosts=(),
            )
            profiler = cProfile.Profile() if args.profile else None
            if profiler is not None:
                profiler.enable()
            assert child.pid is not None
            result = asyncio.run(
                measure(
                    inventory_path,
                    Path(tmp) / "client",
                    args.seconds,
                    settings,
                    child.pid,
                    ours,
                    gc_freeze=args.gc_freeze,
                    census=args.census,
                )
            )
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.profile)
        finally:
            ours.send("stop")
            child.join(30)
            if child.is_alive():
                child.kill()
    result["jump_only"] = args.jump_only
    result["lab_src"] = lab_sources_used
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
