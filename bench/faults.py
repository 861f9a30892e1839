"""Benchmark: every lab fault, one at a time, against the console's engine holding a whole lab with a fan-out running.

The lab serves N devices (SSH and gNMI) in a child process, so its CPU is not the engine's. This process runs the
engine the console runs (`FleetEngine`, every device supervised, telemetry flowing) and, all along, a fan-out of
`show version` to every device through the audited `CommandRunner`, as the console's command runner sends it. Each
fault is injected on a device of its own (so no fault inherits another's damage), then:

    detect_s     time from the injection until the engine shows what the fault does (the device's state, a failed
                 command, a port down, an alarm...): what the user sees, see docs/reliability.md
    recover_s    time from clearing the fault (or from its natural end) until the device is back as before
    lag_p99_ms   event-loop lag p99 from the injection to the recovery (a 20 ms sleep, overshoot measured)
    stale_ok     for gnmi-stall (telemetry stops, the session stays up): the data was marked stale by the time it
                 was three intervals old, give or take one staleness tick (yes/no; its age then is stale_age_s)

After the last fault the fan-out stops and the audit log is read: `no_outcome` counts commands with a `sent` record
and no outcome (must be 0).

Then the reconnect storm: a second lab of --storm-devices (500) reachable only through its jump host, a fresh engine
holding all of them through that one host with the fan-out running, and the jump host stopped and started again:

    down_s       time from stopping the jump host until every device shows down (or unreachable)
    recover_s    time from starting it again until every device is up
    lag_p99_ms   event-loop lag p99 from the stop to the recovery
    no_outcome   commands of that fan-out with a `sent` record and no outcome (must be 0)

Usage:

    python bench/faults.py --devices 200 [--storm-devices 500] [--json] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

LAB_SSH_PORT = 2222
LAB_GNMI_PORT = 57400
DEVICES_PER_SITE = 8
COUNTER_INTERVAL_S = 2.0
STALENESS_TICK_S = 1.0  # EngineSettings.staleness_tick_s: how often the engine looks for stale data
DETECT_LIMIT_S = 60.0  # a fault not seen by then is reported as not detected (None)
RECOVER_LIMIT_S = 90.0
POLL_S = 0.02
LAG_TICK_S = 0.02


# -- the lab (child process) ------------------------------------------------------------------------------------


def lab_identities(devices: int, block: int) -> list[Any]:
    from edgeops.lab.runner import relocate
    from edgeops.lab.topology import build_fleet, synthetic_sites

    sites = synthetic_sites(math.ceil(devices / DEVICES_PER_SITE))
    fleet = build_fleet(sites, DEVICES_PER_SITE, ssh_port=LAB_SSH_PORT, gnmi_port=LAB_GNMI_PORT)
    return relocate(fleet[:devices], block)


def serve_lab(devices: int, block: int, lab_dir: str, pipe: Connection, jump_only: bool = False) -> None:
    """Serve the lab; answer ("inject", device, kind, params), ("clear", device), ("jump-stop",) and ("jump-start",)
    until ("stop",)."""

    async def main() -> None:
        from edgeops.cli.lab import write_lab_inventory
        from edgeops.lab.runner import Lab

        lab = Lab(
            lab_identities(devices, block), lab_dir=Path(lab_dir), ssh_port=LAB_SSH_PORT, seed=5, jump_only=jump_only
        )
        await lab.start()
        loop = asyncio.get_running_loop()
        try:
            pipe.send({"inventory": str(write_lab_inventory(lab, Path(lab_dir) / "inventory.yaml"))})
            while True:
                request = await loop.run_in_executor(None, pipe.recv)
                if request[0] == "stop":
                    return
                try:
                    if request[0] == "inject":
                        pipe.send(("ok", await lab.inject(request[1], request[2], **request[3])))
                    elif request[0] in ("jump-stop", "jump-start"):
                        assert lab.jump_server is not None, "a jump-only lab has a jump host"
                        await (lab.jump_server.stop() if request[0] == "jump-stop" else lab.jump_server.start())
                        pipe.send(("ok", request[0]))
                    else:
                        pipe.send(("ok", await lab.clear(request[1])))
                except Exception as error:  # reported to the parent, which stops
                    pipe.send(("error", f"{type(error).__name__}: {error}"))
        finally:
            await lab.stop()

    asyncio.run(main())


class LabControl:
    """The parent's end of the pipe: one request at a time, answered off the event loop."""

    def __init__(self, pipe: Connection) -> None:
        self.pipe = pipe
        self.lock = asyncio.Lock()

    async def _ask(self, request: tuple[Any, ...]) -> str:
        async with self.lock:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self.pipe.send, request)
            status, text = await loop.run_in_executor(None, self.pipe.recv)
        if status != "ok":
            raise RuntimeError(f"the lab refused {request}: {text}")
        return str(text)

    async def inject(self, device: str, kind: str, **params: Any) -> str:
        return await self._ask(("inject", device, kind, params))

    async def clear(self, device: str) -> str:
        return await self._ask(("clear", device))

    async def jump(self, action: str) -> str:
        return await self._ask((f"jump-{action}",))


# -- measuring --------------------------------------------------------------------------------------------------


class LagMonitor:
    """Event-loop lag: how late a LAG_TICK_S sleep wakes up, sampled all along."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []  # (monotonic time, lag in seconds)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(LAG_TICK_S)
            now = time.monotonic()
            self.samples.append((now, max(0.0, now - before - LAG_TICK_S)))

    def p99_ms(self, since: float, until: float) -> float | None:
        window = sorted(lag for at, lag in self.samples if since <= at <= until)
        if not window:
            return None
        return round(window[min(len(window) - 1, math.ceil(0.99 * len(window)) - 1)] * 1000, 1)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def until(condition: Callable[[], bool | Awaitable[bool]], limit_s: float) -> float | None:
    """Seconds until `condition()` holds (polled every POLL_S), or None after `limit_s`."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        value = condition()
        if not isinstance(value, bool):
            value = await value
        if value:
            return time.monotonic() - started
        await asyncio.sleep(POLL_S)
    return None


async def since(started: float, condition: Callable[[], bool | Awaitable[bool]], limit_s: float) -> float | None:
    """Seconds from `started` (taken before the action, the lab's round trip included) until `condition()` holds."""
    if await until(condition, limit_s) is None:
        return None
    return time.monotonic() - started


@dataclass
class FaultFigures:
    fault: str
    device: str
    shows: str  # what the engine (and so the console) shows while the fault lasts
    detect_s: float | None
    recover_s: float | None
    lag_p99_ms: float | None
    stale_ok: bool | None = None  # None: the fault does not stop telemetry
    stale_age_s: float | None = None  # the data's age when it was marked stale
    note: str = ""

    def row(self) -> list[str]:
        def seconds(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f}"

        stale = "-" if self.stale_ok is None else f"{'yes' if self.stale_ok else 'NO'} ({seconds(self.stale_age_s)} s)"
        lag = "-" if self.lag_p99_ms is None else f"{self.lag_p99_ms:.1f}"
        return [self.fault, self.device, seconds(self.detect_s), seconds(self.recover_s), lag, stale, self.shows]


class RecordingTransport:
    """The engine as the fan-out's transport, remembering when each device's commands failed and how."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.failures: dict[str, list[tuple[float, Any]]] = {}

    async def run_command(self, device: Any, command: str, *, timeout_s: float) -> Any:
        result = await self.engine.run_command(device, command, timeout_s=timeout_s)
        if not result.ok:
            self.failures.setdefault(result.device, []).append((time.monotonic(), result.failure))
        return result

    async def aclose(self) -> None:
        """The engine's sessions are the engine's to close."""

    def failed_with(self, device: str, failure: Any, since: float) -> bool:
        return any(at >= since and code is failure for at, code in self.failures.get(device, ()))


@dataclass
class Bench:
    engine: Any
    lab: LabControl
    lag: LagMonitor
    free: list[str]  # devices no fault has touched yet, SR Linux and SR OS apart
    free_sros: list[str]
    recorder: RecordingTransport
    results: list[FaultFigures] = field(default_factory=list)

    def take(self, *, sros: bool = False) -> str:
        return (self.free_sros if sros else self.free).pop(0)

    def snap(self, name: str) -> Any:
        return self.engine.store.device(name)

    async def command(self, name: str, command: str = "show version", timeout_s: float = 15.0) -> Any:
        return await self.recorder.run_command(name, command, timeout_s=timeout_s)


# -- the faults -------------------------------------------------------------------------------------------------


def _up(bench: Bench, name: str) -> bool:
    from edgeops.devices.samples import DeviceState

    snap = bench.snap(name)
    return bool(snap.state is DeviceState.UP and not snap.stale)


async def ssh_session_fault(bench: Bench, kind: str, expected: Any, shows: str) -> FaultFigures:
    """A fault that bites when SSH logs in again: injected, then the session dropped so the supervisor reconnects."""
    name = bench.take()
    started = time.monotonic()
    await bench.lab.inject(name, kind)
    await bench.lab.inject(name, "ssh-drop")
    detect = await since(started, lambda: bench.snap(name).ssh in expected, DETECT_LIMIT_S)
    recover = None
    if kind != "hostkey-change":  # a changed key stays refused until the user removes the old one
        cleared = time.monotonic()
        await bench.lab.clear(name)
        recover = await since(cleared, lambda: _up(bench, name), RECOVER_LIMIT_S)
    note = "recovery needs the user (the old key removed from known_hosts)" if kind == "hostkey-change" else ""
    return FaultFigures(kind, name, shows, detect, recover, bench.lag.p99_ms(started, time.monotonic()), note=note)


async def run_faults(bench: Bench) -> None:
    from edgeops.devices.samples import Failure, SessionState

    lag = bench.lag

    async def timed(
        kind: str,
        name: str,
        shows: str,
        inject: Callable[[], Awaitable[Any]],
        detect: Any,
        clear: Callable[[], Awaitable[Any]] | None,
        recover: Any,
        *,
        stale: bool = False,
        note: str = "",
    ) -> None:
        started = time.monotonic()
        await inject()
        detected = await since(started, detect, DETECT_LIMIT_S)
        stale_ok, stale_age = None, None
        if stale:
            # How old the data was when the engine marked it stale; the engine looks once a staleness tick.
            snap = bench.snap(name)
            interval = snap.expected_interval_s or COUNTER_INTERVAL_S
            stale_age = round(snap.age_s, 2) if snap.stale and snap.age_s is not None else None
            stale_ok = stale_age is not None and stale_age <= 3 * interval + STALENESS_TICK_S
        cleared = time.monotonic()
        if clear is not None:
            await clear()
        recovered = await since(cleared, recover, RECOVER_LIMIT_S) if recover is not None else None
        figures = FaultFigures(
            kind, name, shows, detected, recovered, lag.p99_ms(started, time.monotonic()), stale_ok, stale_age, note
        )
        bench.results.append(figures)
        print(f"  {kind:<22} detect {figures.row()[2]:>6} s  recover {figures.row()[3]:>6} s", file=sys.stderr)

    # ssh-drop: the session is opened again at once.
    name = bench.take()
    opens = bench.engine.supervisor(name).ssh_opens
    await timed(
        "ssh-drop",
        name,
        "ssh down, device degraded (gNMI carries on), then up",
        lambda: bench.lab.inject(name, "ssh-drop"),
        lambda: bench.snap(name).ssh is not SessionState.UP or bench.engine.supervisor(name).ssh_opens > opens,
        None,
        lambda: bench.snap(name).ssh is SessionState.UP and bench.engine.supervisor(name).ssh_opens > opens,
    )

    # ssh-drop-mid-command: the command fails as connection-lost; the next one works on a new session.
    name = bench.take()
    outcome: dict[str, Any] = {}

    async def mid_command() -> None:
        outcome["since"] = time.monotonic()
        await bench.lab.inject(name, "ssh-drop-mid-command")
        outcome["task"] = asyncio.get_running_loop().create_task(bench.command(name, "show interface"))

    def mid_command_failed() -> bool:
        return bench.recorder.failed_with(name, Failure.CONNECTION_LOST, outcome.get("since", math.inf))

    async def next_command_ok() -> bool:
        return bool(bench.snap(name).ssh is SessionState.UP and (await bench.command(name)).ok)

    await timed(
        "ssh-drop-mid-command",
        name,
        "the command fails: connection-lost; the next one runs",
        mid_command,
        mid_command_failed,
        None,
        next_command_ok,
    )

    # ssh-slow: every answer 2 s late; the command takes that long, nothing else changes.
    name = bench.take()

    async def slow_command() -> bool:
        result = await bench.command(name)
        return bool(result.ok and result.duration_s >= 2.0)

    async def fast_command() -> bool:
        result = await bench.command(name)
        return bool(result.ok and result.duration_s < 1.0)

    await timed(
        "ssh-slow",
        name,
        "commands take 2 s longer; state unchanged",
        lambda: bench.lab.inject(name, "ssh-slow", seconds=2.0),
        slow_command,
        lambda: bench.lab.clear(name),
        fast_command,
    )

    # ssh-flood: the command is cut at the output cap (output-limit), the session opened again.
    name = bench.take()
    flooded: dict[str, Any] = {}

    async def flood() -> None:
        flooded["since"] = time.monotonic()
        await bench.lab.inject(name, "ssh-flood", mib=64.0)
        flooded["task"] = asyncio.get_running_loop().create_task(bench.command(name, timeout_s=60.0))

    def flood_cut() -> bool:
        # The fan-out may send the command the flood answers: any command on the device counts.
        return bench.recorder.failed_with(name, Failure.OUTPUT_LIMIT, flooded.get("since", math.inf))

    await timed(
        "ssh-flood",
        name,
        "the command fails: output-limit (first 16 MiB kept); the next one runs",
        flood,
        flood_cut,
        None,
        next_command_ok_of(bench, name),
    )

    for kind, expected, shows in (
        (
            "ssh-hang",
            {SessionState.DOWN, SessionState.CONNECTING},
            "ssh down (logins hang, then time out), device degraded",
        ),
        ("ssh-refuse", {SessionState.DOWN, SessionState.CONNECTING}, "ssh down (connection refused); degraded"),
        ("auth-reject", {SessionState.AUTH_FAILED}, "auth! (login rejected); retried on the severe backoff"),
        ("hostkey-change", {SessionState.HOSTKEY_MISMATCH}, "hkey! (host key changed); no session, no command"),
    ):
        figures = await ssh_session_fault(bench, kind, expected, shows)
        bench.results.append(figures)
        print(f"  {kind:<22} detect {figures.row()[2]:>6} s  recover {figures.row()[3]:>6} s", file=sys.stderr)

    # gNMI faults: telemetry stops; the device must go stale within three intervals where data stops.
    name = bench.take()
    await timed(
        "gnmi-cut",
        name,
        "gNMI down for a moment, the stream made again",
        lambda: bench.lab.inject(name, "gnmi-cut"),
        lambda: bench.snap(name).gnmi is not SessionState.UP,
        None,
        lambda: _up(bench, name),
    )
    name = bench.take()
    await timed(
        "gnmi-stall",
        name,
        "data marked stale (the stream is silent); fresh again once data flows",
        lambda: bench.lab.inject(name, "gnmi-stall"),
        lambda: bench.snap(name).stale,
        lambda: bench.lab.clear(name),
        lambda: _up(bench, name),
        stale=True,
    )
    name = bench.take()

    async def refuse() -> None:
        await bench.lab.inject(name, "gnmi-refuse")
        await bench.lab.inject(name, "gnmi-cut")

    await timed(
        "gnmi-refuse",
        name,
        "gNMI down (unavailable), device degraded; up again once gNMI answers",
        refuse,
        lambda: bench.snap(name).gnmi is not SessionState.UP,
        lambda: bench.lab.clear(name),
        lambda: bench.snap(name).gnmi is SessionState.UP and _up(bench, name),
    )
    name = bench.take()

    async def reject() -> None:
        await bench.lab.inject(name, "gnmi-reject")
        await bench.lab.inject(name, "gnmi-cut")

    async def unreject() -> None:
        # A refusal is remembered for the device's release and the group asked for again when its call is made
        # again: the fault cleared, then the stream cut so that the call is made again.
        await bench.lab.clear(name)
        await bench.lab.inject(name, "gnmi-cut")

    def counters_refused() -> bool:
        return any(
            status.group == "counters" and status.rejection is not None
            for status in bench.engine.store.subscriptions(name)
        )

    await timed(
        "gnmi-reject",
        name,
        "the counters group refused, with the device's reason",
        reject,
        counters_refused,
        unreject,
        lambda: not counters_refused(),
    )

    # Device events.
    name = bench.take()
    port = next(
        i.name
        for i in bench.engine.store.interfaces(name, with_history=False)
        if i.oper_state == "up" and i.name.startswith("ethernet-")
    )
    await timed(
        "port-flap",
        name,
        f"the port goes down, up again after 5 s ({port})",
        lambda: bench.lab.inject(name, "port-flap", port=port, seconds=5.0),
        lambda: bench.engine.store.interface(name, port).oper_state == "down",
        None,
        lambda: bench.engine.store.interface(name, port).oper_state == "up",
    )
    name = bench.take()
    uptime = bench.snap(name).uptime_s or 0.0
    await timed(
        "counter-reset",
        name,
        "uptime back to 0 (a reboot)",
        lambda: bench.lab.inject(name, "counter-reset"),
        lambda: (bench.snap(name).uptime_s or uptime) < min(uptime, 60.0),
        None,
        None,
    )
    name = bench.take(sros=True)
    text = "bench alarm"

    def alarm_shown() -> bool:
        return any(alarm.text == text for alarm in bench.snap(name).alarms)

    await timed(
        "alarm-raise/clear",
        name,
        "the alarm listed on the device (SR OS alarm list), then gone",
        lambda: bench.lab.inject(name, "alarm-raise", text=text, alarm_id="9001"),
        alarm_shown,
        lambda: bench.lab.inject(name, "alarm-clear", alarm_id="9001"),
        lambda: not alarm_shown(),
    )
    name = bench.take()
    await timed(
        "cpu-spike",
        name,
        "CPU at 95 % for 8 s, then back",
        lambda: bench.lab.inject(name, "cpu-spike", pct=95.0, seconds=8.0),
        lambda: (getattr(bench.snap(name).health, "cpu_pct", 0) or 0) >= 90,
        None,
        lambda: (getattr(bench.snap(name).health, "cpu_pct", 100) or 100) < 90,
    )
    name = bench.take()

    def hostile_shown() -> bool:
        return any("PWNED" in (i.description or "") for i in bench.engine.store.interfaces(name, with_history=False))

    await timed(
        "hostile-text",
        name,
        "descriptions with escapes and markup, shown inert",
        lambda: bench.lab.inject(name, "hostile-text"),
        hostile_shown,
        None,
        None,
    )


def next_command_ok_of(bench: Bench, name: str) -> Callable[[], Awaitable[bool]]:
    async def ok() -> bool:
        from edgeops.devices.samples import SessionState

        return bool(bench.snap(name).ssh is SessionState.UP and (await bench.command(name)).ok)

    return ok


# -- the run ----------------------------------------------------------------------------------------------------


async def fan_out(engine: RecordingTransport, audit_path: Path, devices: list[Any], stop: asyncio.Event) -> int:
    """`show version` to every device again and again, audited, until `stop`; returns how many runs it made."""
    from edgeops.fleet.audit import AuditLog
    from edgeops.fleet.commands import CommandRunner, collect

    runs = 0
    with AuditLog(audit_path) as audit:
        runner = CommandRunner(engine, audit=audit, timeout_s=15.0, source="console")
        while not stop.is_set():
            await collect(runner, "show version", devices)
            runs += 1
    return runs


def engine_settings() -> Any:
    """The engine's settings for every run of this benchmark: fast intervals and short backoffs, so that a minute
    shows a fault and its end."""
    from edgeops.devices.backoff import BackoffPolicy
    from edgeops.devices.supervisor import SupervisorSettings
    from edgeops.fleet.engine import EngineSettings

    return EngineSettings(
        SupervisorSettings(
            counter_interval_s=COUNTER_INTERVAL_S,
            health_interval_s=COUNTER_INTERVAL_S,
            ssh_poll_interval_s=COUNTER_INTERVAL_S,
            stall_timeout_s=3 * COUNTER_INTERVAL_S,
            backoff=BackoffPolicy(base_s=0.2, cap_s=2.0),
            severe_backoff=BackoffPolicy(base_s=1.0, cap_s=5.0, floor_s=1.0 / 3),
            connect_timeout_s=5.0,
            command_timeout_s=15.0,
            keepalive_interval_s=5.0,
            gnmi_fallback_after=3,
            gnmi_retry_s=5.0,
        ),
        user_known_hosts=(),
        staleness_tick_s=STALENESS_TICK_S,
        seed=5,
    )


async def measure(inventory_path: str, work: Path, devices: int, control: LabControl) -> dict[str, Any]:
    from edgeops.devices.samples import DeviceState
    from edgeops.fleet.audit import read_audited_commands
    from edgeops.fleet.engine import FleetEngine
    from edgeops.inventory.loader import load_inventory
    from edgeops.logging_setup import configure_logging
    from edgeops.paths import AppPaths

    inventory = load_inventory(inventory_path)
    configure_logging(work / "logs" / "edgeops.log")  # the supervisors' warnings go to a file, as in the console
    paths = AppPaths(work / "config", work / "state", work / "logs", Path(inventory_path))
    engine = FleetEngine(inventory, paths, settings=engine_settings())
    lag = LagMonitor()
    lag.start()
    started = time.monotonic()
    await engine.start()
    try:
        everyone = list(inventory.devices)
        connected = await until(
            lambda: all(engine.store.device(d.name).state is DeviceState.UP for d in everyone), 300.0
        )
        if connected is None:
            raise SystemExit("the fleet did not come up within 300 s")
        stop = asyncio.Event()
        recorder = RecordingTransport(engine)
        fan = asyncio.get_running_loop().create_task(fan_out(recorder, paths.audit_log, everyone, stop))
        srlinux = [d.name for d in everyone if d.platform.value == "srlinux"]
        sros = [d.name for d in everyone if d.platform.value != "srlinux"]
        return_value: dict[str, Any] = {}
        return_value["connect_s"] = round(connected, 2)
        return_value["devices"] = len(everyone)
        bench = Bench(engine, control, lag, srlinux[::-1], sros[::-1], recorder)
        await run_faults(bench)
        stop.set()
        runs = await fan
        commands = read_audited_commands(paths.audit_log)
        return_value["fan_out_runs"] = runs
        return_value["commands_audited"] = len(commands)
        return_value["no_outcome"] = sum(1 for command in commands if command.outcome_unknown)
        return_value["lag_p99_ms_overall"] = lag.p99_ms(started, time.monotonic())
        return_value["lag_median_ms_overall"] = round(statistics.median(lag_s for _, lag_s in lag.samples) * 1000, 1)
        return_value["faults"] = [figures.__dict__ for figures in bench.results]
        return_value["settings"] = {
            "counter_interval_s": COUNTER_INTERVAL_S,
            "stall_timeout_s": 3 * COUNTER_INTERVAL_S,
            "staleness_tick_s": STALENESS_TICK_S,
            "connect_timeout_s": 5.0,
            "backoff": "0.2 s doubling to 2 s; after a rejected login or host key 1 s doubling to 5 s",
        }
        return return_value
    finally:
        await engine.stop()
        await lag.stop()


async def measure_storm(inventory_path: str, work: Path, control: LabControl) -> dict[str, Any]:
    """The reconnect storm: every device behind one jump host, the host stopped and started again."""
    from edgeops.devices.samples import DeviceState
    from edgeops.fleet.audit import read_audited_commands
    from edgeops.fleet.engine import FleetEngine
    from edgeops.inventory.loader import load_inventory
    from edgeops.paths import AppPaths

    inventory = load_inventory(inventory_path)
    paths = AppPaths(work / "config", work / "storm-state", work / "logs", Path(inventory_path))
    engine = FleetEngine(inventory, paths, settings=engine_settings())
    everyone = list(inventory.devices)
    names = [device.name for device in everyone]
    down = (DeviceState.DOWN, DeviceState.UNREACHABLE)
    lag = LagMonitor()
    lag.start()
    await engine.start()
    try:
        connected = await until(lambda: all(engine.store.device(n).state is DeviceState.UP for n in names), 300.0)
        if connected is None:
            raise SystemExit("the storm's fleet did not come up through its jump host within 300 s")
        stop = asyncio.Event()
        fan = asyncio.get_running_loop().create_task(
            fan_out(RecordingTransport(engine), paths.audit_log, everyone, stop)
        )
        await asyncio.sleep(5.0)  # the fan-out is under way when the host drops
        dropped = time.monotonic()
        await control.jump("stop")
        down_s = await since(dropped, lambda: all(engine.store.device(n).state in down for n in names), 120.0)
        await asyncio.sleep(2.0)  # a moment with every device down: the reconnect attempts back off
        restarted = time.monotonic()
        await control.jump("start")
        recover_s = await since(
            restarted, lambda: all(engine.store.device(n).state is DeviceState.UP for n in names), 300.0
        )
        lag_p99 = lag.p99_ms(dropped, time.monotonic())
        stop.set()
        runs = await fan
        commands = read_audited_commands(paths.audit_log)
        return {
            "devices": len(everyone),
            "connect_s": round(connected, 2),
            "down_s": None if down_s is None else round(down_s, 2),
            "recover_s": None if recover_s is None else round(recover_s, 2),
            "lag_p99_ms": lag_p99,
            "fan_out_runs": runs,
            "commands_audited": len(commands),
            "no_outcome": sum(1 for command in commands if command.outcome_unknown),
        }
    finally:
        await engine.stop()
        await lag.stop()


def run_lab_then(
    devices: int, block: int, folder: Path, jump_only: bool, measuring: Callable[[str, LabControl], Any]
) -> Any:
    """Start a lab in a child process, measure against it, stop it."""
    parent, child = mp.Pipe()
    lab = mp.get_context("spawn").Process(
        target=serve_lab, args=(devices, block, str(folder), child, jump_only), daemon=True
    )
    lab.start()
    try:
        if not parent.poll(300):
            raise SystemExit("the lab did not start within 300 s")
        inventory = parent.recv()["inventory"]
        return asyncio.run(measuring(inventory, LabControl(parent)))
    finally:
        parent.send(("stop",))
        lab.join(30)


def table(results: dict[str, Any]) -> str:
    header = ["fault", "device", "detect s", "recover s", "lag p99 ms", "stale ≤3 int. (age)", "what the user sees"]
    rows = [header] + [FaultFigures(**figures).row() for figures in results["faults"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.append("")
    lines.append(
        f"{results['devices']} devices up in {results['connect_s']} s; fan-out ran {results['fan_out_runs']} times, "
        f"{results['commands_audited']} commands audited, {results['no_outcome']} without an outcome; "
        f"event-loop lag median {results['lag_median_ms_overall']} ms, p99 {results['lag_p99_ms_overall']} ms"
    )
    storm = results.get("storm")
    if storm:
        lines.append(
            f"reconnect storm: {storm['devices']} devices behind one jump host (up in {storm['connect_s']} s); "
            f"jump host stopped: all down in {storm['down_s']} s; started again: all up in {storm['recover_s']} s; "
            f"lag p99 {storm['lag_p99_ms']} ms; {storm['commands_audited']} commands audited, "
            f"{storm['no_outcome']} without an outcome"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--block", type=int, default=60, help="lab addresses 127.BLOCK.x.y (default 60)")
    parser.add_argument(
        "--storm-devices", type=int, default=500, help="devices behind the jump host for the storm (0: no storm)"
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--out", metavar="FILE", help="write the figures as JSON to FILE")
    args = parser.parse_args(argv)
    if args.devices < 24:
        parser.error("--devices must be at least 24 (each fault takes a device of its own)")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # grpc's own notes (GOAWAY on every cut) are not figures
    with tempfile.TemporaryDirectory(prefix="edgeops-faults-") as folder:
        work = Path(folder)

        results = run_lab_then(
            args.devices,
            args.block,
            work / "lab",
            False,
            lambda inventory, control: measure(inventory, work, args.devices, control),
        )
        if args.storm_devices:
            results["storm"] = run_lab_then(
                args.storm_devices,
                args.block + 1,
                work / "storm-lab",
                True,
                lambda inventory, control: measure_storm(inventory, work, control),
            )
    print(table(results))
    text = json.dumps(results, indent=2)
    if args.json:
        print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    lost = results["no_outcome"] + results.get("storm", {}).get("no_outcome", 0)
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
