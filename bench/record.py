"""Benchmark: what recording costs the console's engine, and how fast a 24 h recording seeks.

Live part: a lab of --devices devices runs in a child process; this process runs the console's engine on it (counters
every 2 s). Once every device is up, phases of --phase-s seconds alternate, recording off and on (off, on, off,
on, ...), on the same engine in the same run, so the machine's drift falls on both sides alike. Per side: the
process's CPU (the recorder's thread included) in % of one core, the event loop's lag p99 (how late a 50 ms sleep
wakes), the garbage collector's time (young and full collections), and with recording on the recorder thread's own
CPU and the bytes the file grew by, as MB per hour. Then the size alone: --size-s seconds of
recording on without a break (two keyframe intervals by default), as a console records: its growth as MB per hour,
and what the ticks, keyframes and rollups each took of it. (A phase after an "off" one starts with every counter
predicted from before the gap, and may or may not hold a keyframe: its size is shown, but the continuous one counts.)

Replay part: the live recording is then opened in a process of its own, as `edgeops replay` opens it: `store_at`
at random instants (each rebuilds 200 devices from the keyframe before it; timed with the full garbage collection
after it) with the counters of the device on screen, as the console asks, and with every device's counters; and
playing at x60 from its start, both ways. `--replay FILE` runs this part alone on a recording kept with `--keep`.

Seek part: a synthetic 24 h recording of --seek-devices devices (--ports each) is written through the recorder with
an injected clock (counters every 2 s for the last hour, once a minute before it, which downsampling leaves as it
would have: the file has the shape of a day recorded), then opened and `store_at` asked for --seeks random instants.

    python bench/record.py --devices 200 --phase-s 60 --rounds 3 [--size-s 240] [--json] [--skip-live] [--skip-seek]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from edgeops.clock import ManualClock
from edgeops.devices.interface_rows import ROW_LENGTH, InterfaceBatch
from edgeops.devices.samples import HealthSample, SessionState, TemperatureReading
from edgeops.devices.supervisor import SupervisorSettings
from edgeops.fleet.engine import EngineSettings, FleetEngine
from edgeops.fleet.events import EventTap
from edgeops.fleet.store import FleetStore
from edgeops.inventory.loader import load_inventory
from edgeops.inventory.model import Device, Inventory, Site
from edgeops.paths import AppPaths
from edgeops.platforms import Platform
from edgeops.recording.reader import Recording
from edgeops.recording.recorder import Recorder, RecorderSettings
from edgeops.recording.schema import BatchKind, Metric
from sessions import LAG_INTERVAL_S, cpu_seconds, percentile, serve_lab

UP_TIMEOUT_S = 300.0


async def _lag(samples: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(LAG_INTERVAL_S)
        samples.append(max(0.0, loop.time() - before - LAG_INTERVAL_S) * 1000)


class _CollectorTime:
    """A gc callback that adds up the time the garbage collector ran (a recorder's objects make it run more), in all
    and by generation (which objects it walked: the young ones, or the whole heap not frozen)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.by_generation = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            spent = time.perf_counter() - self._started
            self.seconds += spent
            self.by_generation[info["generation"]] += spent


def _thread_cpu_seconds(process: psutil.Process, native_id: int | None) -> float:
    """The CPU seconds one thread of `process` has used (0 if it is not running)."""
    for thread in process.threads():
        if thread.id == native_id:
            return float(thread.user_time + thread.system_time)
    return 0.0


def _bytes_by_part(path: Path) -> dict[str, int]:
    """The bytes of the recording's ticks, keyframes and rollups (read beside the writer, as a second console would)."""
    import sqlite3

    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        kinds = dict(db.execute("SELECT kind, coalesce(sum(length(data)), 0) FROM batches GROUP BY kind").fetchall())
        (rollups,) = db.execute("SELECT coalesce(sum(length(data)), 0) FROM rollups").fetchone()
    finally:
        db.close()
    return {
        "ticks": int(kinds.get(BatchKind.EVENTS, 0)) + int(kinds.get(BatchKind.COMMANDS, 0)),
        "keyframes": int(kinds.get(BatchKind.KEYFRAME, 0)),
        "rollups": int(rollups),
    }


async def live(
    devices: int,
    phase_s: float,
    rounds: int,
    work: Path,
    block: int,
    keep: Path | None = None,
    size_s: float = 240.0,
    precision: int | None = RecorderSettings().counter_precision_bits,
    loop_turn_every_s: float = RecorderSettings().loop_turn_every_s,
    replay_part: bool = True,
) -> dict[str, Any]:
    parent, child = mp.Pipe()
    lab = mp.Process(target=serve_lab, args=(devices, block, False, str(work / "lab"), child), daemon=True)
    lab.start()
    inventory_path = Path(parent.recv()[0])  # (inventory, the lab's sources)
    try:
        inventory = load_inventory(inventory_path)
        paths = AppPaths(work / "config", work / "state", work / "logs", inventory_path)
        settings = EngineSettings(supervisor=SupervisorSettings(counter_interval_s=2.0))
        engine = FleetEngine(inventory, paths, settings=settings)
        await engine.start()
        started = time.perf_counter()
        while engine.store.fleet_rollup().up < devices:
            if time.perf_counter() - started > UP_TIMEOUT_S:
                raise SystemExit("not every device came up")
            await asyncio.sleep(0.1)
        recorder = Recorder(
            work / "state" / "recording.sqlite",
            settings=RecorderSettings(counter_precision_bits=precision, loop_turn_every_s=loop_turn_every_s),
        )
        recorder.start()
        # The console records from its start, and once the fleet has settled keeps what lives as long as it does
        # out of the full collections (cli/console.py, fleet_settled): so the recorder's own state (a chain per
        # counter) is made before that here too, in 10 s of recording while the initial dumps end.
        engine.events.add_listener(recorder.listener)
        await asyncio.sleep(10)
        engine.events.remove_listener(recorder.listener)
        await asyncio.sleep(recorder.settings.commit_s * 2)
        gc.collect()
        gc.freeze()
        process = psutil.Process()
        sides: dict[str, dict[str, list[float]]] = {
            side: {"cpu_pct": [], "lag_p99_ms": [], "gc_pct": [], "gc_young_pct": [], "gc_full_pct": []}
            for side in ("off", "on")
        }
        sides["on"].update({"mb_per_hour": [], "recorder_thread_cpu_pct": []})
        collecting = _CollectorTime()
        gc.callbacks.append(collecting)
        for _ in range(rounds):
            for side in ("off", "on"):
                if side == "on":
                    engine.events.add_listener(recorder.listener)
                used_before = recorder.used_bytes()
                lags: list[float] = []
                stop = asyncio.Event()
                sampler = asyncio.create_task(_lag(lags, stop))
                writer = None if recorder._thread is None else recorder._thread.native_id
                cpu_before, wall_before, gc_before = cpu_seconds(process), time.perf_counter(), collecting.seconds
                generations_before = list(collecting.by_generation)
                writer_before = _thread_cpu_seconds(process, writer)
                await asyncio.sleep(phase_s)
                cpu, wall = cpu_seconds(process) - cpu_before, time.perf_counter() - wall_before
                writer_cpu = _thread_cpu_seconds(process, writer) - writer_before
                sides[side]["gc_pct"].append(100 * (collecting.seconds - gc_before) / wall)
                spent = [
                    after - before for after, before in zip(collecting.by_generation, generations_before, strict=True)
                ]
                sides[side]["gc_young_pct"].append(100 * (spent[0] + spent[1]) / wall)
                sides[side]["gc_full_pct"].append(100 * spent[2] / wall)
                stop.set()
                await sampler
                if side == "on":
                    engine.events.remove_listener(recorder.listener)
                    await asyncio.sleep(recorder.settings.commit_s * 2)  # its last batches are committed
                    grown = recorder.used_bytes() - used_before
                    sides[side]["mb_per_hour"].append(grown / 2**20 * 3600 / wall)
                    # What of the difference the recorder's own thread used (the rest is the loop's side: the
                    # events handed over, the collector, the interpreter passed between the two threads).
                    sides[side]["recorder_thread_cpu_pct"].append(100 * writer_cpu / wall)
                sides[side]["cpu_pct"].append(100 * cpu / wall)
                sides[side]["lag_p99_ms"].append(percentile(lags, 0.99))
        size: dict[str, float] = {}
        if size_s > 0:
            engine.events.add_listener(recorder.listener)
            used_before, parts_before = recorder.used_bytes(), _bytes_by_part(recorder.path)
            wall_before = time.perf_counter()
            await asyncio.sleep(size_s)
            engine.events.remove_listener(recorder.listener)
            wall = time.perf_counter() - wall_before
            await asyncio.sleep(recorder.settings.commit_s * 2)
            per_hour = 3600 / wall / 2**20
            size["continuous_mb_per_hour"] = round((recorder.used_bytes() - used_before) * per_hour, 2)
            for part, grown in _bytes_by_part(recorder.path).items():
                size[f"continuous_{part}_mb_per_hour"] = round((grown - parts_before[part]) * per_hour, 2)
        commits = sorted(recorder.commit_seconds)
        recorder.close()
        if keep is not None:
            shutil.copyfile(recorder.path, keep)
        await engine.stop()
        replayed: dict[str, Any] = {}
        if replay_part:
            # In a process of its own, as `edgeops replay` opens it (not beside the stopped engine's heap).
            with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as replayer:
                replayed = replayer.submit(replay_file, str(recorder.path), str(inventory_path)).result()
    finally:
        parent.send("stop")
        lab.join(30)
    result: dict[str, Any] = {
        "devices": devices,
        "phase_s": phase_s,
        "rounds": rounds,
        "precision": precision,
        "loop_turn_every_ms": loop_turn_every_s * 1000,
    }
    for side, figures in sides.items():
        for name, values in figures.items():
            result[f"{side}_{name}"] = round(statistics.median(values), 2)
            result[f"{side}_{name}_all"] = [round(value, 2) for value in values]
    result.update(size)
    result.update(replayed)
    result["commit_p50_ms"] = round(1000 * percentile(commits, 0.5), 2)
    result["commit_p99_ms"] = round(1000 * percentile(commits, 0.99), 2)
    return result


def timed_seeks(
    recording: Recording, inventory: Inventory, instants: list[tuple[float, str]], *, every: bool
) -> list[float]:
    """Seconds of each `store_at(time)`, with the counters of its device (or of every device), and the full garbage
    collection after it: what the seek leaves to collect is its cost too (store_at pauses the collector)."""
    seconds = []
    for when, device in instants:
        began = time.perf_counter()
        recording.store_at(when, inventory, counters_of=None if every else device)
        gc.collect()
        seconds.append(time.perf_counter() - began)
    return seconds


def replay(path: Path, inventory: Inventory, seeks: int = 20) -> dict[str, Any]:
    """The live recording replayed: `store_at` at random instants (each rebuilds the fleet from the keyframe before
    it, at full resolution), as the console asks for it (the counters of one device, the one on screen: a random
    one at each instant) and with every device's counters decoded; then playing at x60 from its start, moved every
    TICK_S of real time (how long each move takes; it keeps up while that stays under TICK_S), both ways too."""
    from edgeops.ui.replay.controller import TICK_S
    from edgeops.ui.replay.player import ReplayPlayer

    figures: dict[str, Any] = {}
    with Recording.open(path) as recording:
        first, last = recording.span()
        figures["replay_span_s"] = round(last - first, 1)
        names = [device.name for device in inventory.devices]
        rng = random.Random(3)
        instants = [(rng.uniform(first, last), rng.choice(names)) for _ in range(seeks)]
        for label, every in (("", False), ("every_device_", True)):
            seek_s = timed_seeks(recording, inventory, instants, every=every)
            player = ReplayPlayer(recording, inventory, at=first, speed=60, counters_of=None if every else names[0])
            moves = []
            cpu_before = time.process_time()
            while player.time < last:
                began = time.perf_counter()
                player.advance(TICK_S)
                moves.append(time.perf_counter() - began)
            cpu = time.process_time() - cpu_before
            figures.update(
                {
                    f"replay_{label}seek_p50_ms": round(1000 * statistics.median(seek_s), 1),
                    f"replay_{label}seek_max_ms": round(1000 * max(seek_s), 1),
                    f"replay_{label}x60_move_p50_ms": round(1000 * statistics.median(moves), 1),
                    f"replay_{label}x60_move_max_ms": round(1000 * max(moves), 1),
                    f"replay_{label}x60_cpu_pct": round(100 * cpu / (len(moves) * TICK_S), 1),
                    f"replay_{label}x60_keeps_up": max(moves) < TICK_S,
                }
            )
    return figures


def replay_file(path: str, inventory_path: str) -> dict[str, Any]:
    return replay(Path(path), load_inventory(inventory_path))


def recording_inventory(path: Path) -> Inventory:
    """An inventory of the devices a kept recording holds (their keyframes name them), for `--replay FILE`."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        names = sorted(name for (name,) in connection.execute("SELECT DISTINCT device FROM batches WHERE device != ''"))
    return Inventory(
        sites=(Site("Bench", "bench"),),
        devices=tuple(
            Device(name, "bench", "leaf", Platform.SRLINUX, "7220 IXR-D3L", f"127.0.{n // 250}.{n % 250 + 1}")
            for n, name in enumerate(names)
        ),
    )


def synthetic_inventory(devices: int) -> Inventory:
    return Inventory(
        sites=(Site("Bench", "bench"),),
        devices=tuple(
            Device(f"dev{n}", "bench", "leaf", Platform.SRLINUX, "7220 IXR-D3L", f"127.0.{n // 250}.{n % 250 + 1}")
            for n in range(devices)
        ),
    )


def write_day(path: Path, devices: int, ports: int, hours: float) -> dict[str, float]:
    """A synthetic recording of `hours`, written through the recorder with an injected clock."""
    start = 1_767_225_600.0
    clock = ManualClock(start)
    inventory = synthetic_inventory(devices)
    store = FleetStore(inventory, clock)
    tap = EventTap(store, clock)
    recorder = Recorder(path, clock=clock, settings=RecorderSettings(maintenance_s=600))
    tap.add_listener(recorder.listener)
    rng = random.Random(1)
    names = [f"ethernet-1/{n + 1}" for n in range(ports)]
    octets = {(d.name, port): rng.randrange(10**12) for d in inventory.devices for port in names}
    for device in inventory.devices:
        tap.set_session(device.name, "ssh", SessionState.UP)
        tap.set_session(device.name, "gnmi", SessionState.UP)
    began = time.perf_counter()
    end = start + hours * 3600
    full_from = end - 3600
    last_health = 0.0
    while clock.now() < end:
        step = 2.0 if clock.now() >= full_from else 60.0
        clock.advance(step)
        now = clock.now()
        for device in inventory.devices:
            rows = {}
            for port in names:
                key = (device.name, port)
                octets[key] += int(rng.uniform(1e6, 1e8) * step)
                row: list[object] = [None] * ROW_LENGTH
                row[5] = octets[key]
                row[6] = octets[key] // 3
                row[7] = octets[key] // 900
                row[8] = octets[key] // 1000
                row[9] = 0
                row[10] = 0
                rows[port] = row
            if rng.random() < 0.001:
                rows[names[0]][1] = rng.choice(["up", "down"])
            tap.apply_interfaces(InterfaceBatch(device.name, now, rows))
        if now - last_health >= 10.0:
            last_health = now
            for device in inventory.devices:
                tap.apply_health(
                    HealthSample(
                        device.name,
                        now,
                        cpu_pct=rng.uniform(5, 40),
                        memory_used=rng.randrange(2**30, 2**32),
                        temperatures=(TemperatureReading("control A", rng.uniform(30, 60)),),
                    )
                )
        recorder.flush()  # a commit per tick, as the writer thread makes about one per tick
    recorder.maintain(clock.now())
    recorder.close()
    return {"write_s": round(time.perf_counter() - began, 1), "start": start, "end": end}


def seek(devices: int, ports: int, seeks: int, work: Path, hours: float) -> dict[str, Any]:
    path = work / "day.sqlite"
    written = write_day(path, devices, ports, hours)
    inventory = synthetic_inventory(devices)
    opened = time.perf_counter()
    recording = Recording.open(path)
    open_s = time.perf_counter() - opened
    first, last = recording.span()
    rng = random.Random(2)
    names = [device.name for device in inventory.devices]
    day = [(rng.uniform(first, last), rng.choice(names)) for _ in range(seeks)]
    hour = [(rng.uniform(last - 3600, last), rng.choice(names)) for _ in range(max(3, seeks // 4))]
    figures: dict[str, float] = {}
    # As the console asks (the counters of the device on screen), then with every device's counters.
    for label, every in (("", False), ("every_device_", True)):
        for span, instants in (("", day), ("last_hour_", hour)):
            times = timed_seeks(recording, inventory, instants, every=every)
            figures[f"seek_{label}{span}p50_ms"] = round(1000 * statistics.median(times), 1)
            figures[f"seek_{label}{span}max_ms"] = round(1000 * max(times), 1)
    began = time.perf_counter()
    recording.series("dev0", "ethernet-1/1", Metric.IN_BPS, first, last, 300)
    series_24h_s = time.perf_counter() - began
    recording.close()
    return {
        "seek_devices": devices,
        "seek_ports": ports,
        "hours": hours,
        "file_mb": round(path.stat().st_size / 2**20, 1),
        "write_s": written["write_s"],
        "open_ms": round(open_s * 1000, 1),
        **figures,
        "series_24h_ms": round(1000 * series_24h_s, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--phase-s", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-s", type=float, default=240.0, help="seconds recorded without a break, for the size")
    parser.add_argument(
        "--precision", default=str(RecorderSettings().counter_precision_bits), help='record_precision: bits, or "exact"'
    )
    parser.add_argument(
        "--loop-turn-ms",
        type=float,
        default=RecorderSettings().loop_turn_every_s * 1000,
        help="the recorder gives the event loop its turn after this much work (0: never)",
    )
    parser.add_argument("--block", type=int, default=61, help="the lab's 127.N address block")
    parser.add_argument("--seek-devices", type=int, default=200)
    parser.add_argument("--ports", type=int, default=32)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seeks", type=int, default=20)
    parser.add_argument("--skip-live", action="store_true")
    parser.add_argument("--skip-seek", action="store_true")
    parser.add_argument("--skip-replay", action="store_true", help="no replay of the live part's recording")
    parser.add_argument("--keep", type=Path, help="copy the live part's recording to this file")
    parser.add_argument("--replay", type=Path, help="only the replay part, on this kept recording (--keep)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"machine_cores": psutil.cpu_count()}
    if args.replay is not None:
        result.update(replay(args.replay, recording_inventory(args.replay), args.seeks))
        show(result, as_json=args.json)
        return 0
    with tempfile.TemporaryDirectory(prefix="edgeops-record-bench-") as folder:
        work = Path(folder)
        if not args.skip_live:
            result.update(
                asyncio.run(
                    live(
                        args.devices,
                        args.phase_s,
                        args.rounds,
                        work,
                        args.block,
                        args.keep,
                        args.size_s,
                        None if args.precision == "exact" else int(args.precision),
                        args.loop_turn_ms / 1000,
                        not args.skip_replay,
                    )
                )
            )
        if not args.skip_seek:
            result.update(seek(args.seek_devices, args.ports, args.seeks, work, args.hours))
    result["machine_load_1m"] = round(psutil.getloadavg()[0], 2)
    show(result, as_json=args.json)
    return 0


def show(result: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    width = max(len(key) for key in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    sys.exit(main())
