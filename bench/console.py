"""Benchmark of the console in a real pseudo-terminal: time to first paint, CPU and bytes per second at steady state.

A lab of N devices runs in a child process (`edgeops lab`); the console (`edgeops --inventory`) runs in a pty of
the given size, as a terminal would run it. The benchmark reads everything the console writes to the terminal,
with a timestamp, and measures:

- first paint: from starting the console process to its first frame (the starting screen, while the inventory
  is read and the engine built in the background); then until the main screen shows the site map;
- fleet up: until the status bar counts every device as up;
- at steady state, for each scenario, over `--seconds`: bytes written to the terminal per second, and the
  console process's CPU (user + system) as a share of one core;
- import textual: a bare `import textual.app` in a fresh interpreter, the floor under the first paint, measured in
  the same run because a shared machine's speed changes from hour to hour.

Scenarios: `site` is the console as it opens (a site selected: the health pane shows the site's table);
`device` puts the cursor on a device (its health and its interfaces with sparklines on screen). Usage:

    python bench/console.py --devices 200 [--seconds 20] [--size 120x40] [--colors truecolor|256] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import random
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

DEVICES_PER_SITE = 8
LAB_START_TIMEOUT_S = 120.0
FLEET_UP_TIMEOUT_S = 300.0
SETTLE_S = 5.0  # after the fleet is up (and after each scenario's keys), before measuring
# The first frame is the starting screen ("reading <inventory> …"), or the main screen if that came first.
FIRST_FRAME_MARKS = (b"reading ", b"Sites")
SITE_MAP_MARK = b"Sites"  # the site map's border title: the main screen is up


@dataclass
class Scenario:
    name: str
    seconds: float
    bytes_per_s: float
    cpu_pct_of_core: float
    lab_cpu_pct_of_core: float


@dataclass
class EngineBaseline:
    """The same engine on the same lab without any console: what the console's own share is measured against."""

    seconds: float = 0.0
    cpu_pct_of_core: float = 0.0
    lab_cpu_pct_of_core: float = 0.0


@dataclass
class ConsoleFigures:
    devices: int
    size: str
    colors: str
    first_paint_runs_s: list[float] = field(default_factory=list)
    # The floor under the first paint on this machine, now: a bare `import textual.app` in a fresh interpreter
    # (no edgeops). Shared machines change speed from hour to hour; this says how fast this one was for this run.
    textual_import_runs_s: list[float] = field(default_factory=list)
    first_output_s: float = 0.0
    first_paint_s: float = 0.0
    site_map_s: float = 0.0
    fleet_up_s: float = 0.0
    console_rss_mb: float = 0.0
    scenarios: list[Scenario] = field(default_factory=list)
    engine_alone: EngineBaseline | None = None


class TerminalReader:
    """The master side of the console's pty: everything it wrote, with the time each chunk arrived."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.total = 0
        self.recent = bytearray()  # a window of the latest output, for finding marks

    def pump(self, timeout_s: float) -> int:
        """Read what is available within `timeout_s`; returns the bytes read."""
        read = 0
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return read
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return read
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # the console exited and closed the terminal
                return read
            if not chunk:
                return read
            read += len(chunk)
            self.total += len(chunk)
            self.recent += chunk
            del self.recent[:-262144]

    def wait_for(self, mark: bytes, timeout_s: float) -> float:
        """Seconds until `mark` appears in the output (searching only what arrives from now on)."""
        self.recent.clear()
        started = time.monotonic()
        while mark not in self.recent:
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"{mark!r} did not appear within {timeout_s:.0f} s")
            self.pump(0.05)
        return time.monotonic() - started


def start_lab(devices: int, lab_dir: Path, block: int) -> subprocess.Popen[bytes]:
    sites = max(1, -(-devices // DEVICES_PER_SITE))
    per_site = devices // sites if devices % sites == 0 else DEVICES_PER_SITE
    command = [
        sys.executable, "-m", "edgeops",
        "--log-dir", str(lab_dir / "logs"), "--state-dir", str(lab_dir / "state"),
        "lab", "--lab-dir", str(lab_dir), "--sites", str(sites), "--devices-per-site", str(per_site),
        "--address-block", str(block), "--no-incidents",
    ]  # fmt: skip
    lab_dir.mkdir(parents=True, exist_ok=True)
    output = (lab_dir / "lab-output.txt").open("wb")
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + LAB_START_TIMEOUT_S
    while not (lab_dir / "inventory.yaml").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError(f"the lab did not start: {(lab_dir / 'lab-output.txt').read_text()[-2000:]}")
        time.sleep(0.05)
    return process


def start_console(inventory: Path, work: Path, columns: int, rows: int, colors: str) -> tuple[int, int]:
    """The console in a new pty of the given size; (pid, master fd)."""
    pid, master = pty.fork()
    if pid == 0:  # the child: the console, attached to the pty as its terminal
        environment = {
            **os.environ,
            "TERM": "xterm-256color",
            "EDGEOPS_STATE_DIR": str(work / "state"),
            "EDGEOPS_CONFIG_DIR": str(work / "config"),
        }
        environment.pop("NO_COLOR", None)
        if colors == "truecolor":
            environment["COLORTERM"] = "truecolor"
        else:
            environment.pop("COLORTERM", None)
        os.execvpe(
            sys.executable,
            [sys.executable, "-m", "edgeops", "--inventory", str(inventory), "--log-dir", str(work / "logs")],
            environment,
        )
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    return pid, master


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def measure(
    name: str, reader: TerminalReader, console: psutil.Process, lab: psutil.Process, seconds: float
) -> Scenario:
    reader.pump(SETTLE_S)
    bytes_before, cpu_before, lab_before = reader.total, cpu_seconds(console), cpu_seconds(lab)
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        reader.pump(0.2)
    wall = time.monotonic() - started
    return Scenario(
        name=name,
        seconds=round(wall, 1),
        bytes_per_s=round((reader.total - bytes_before) / wall),
        cpu_pct_of_core=round(100 * (cpu_seconds(console) - cpu_before) / wall, 1),
        lab_cpu_pct_of_core=round(100 * (cpu_seconds(lab) - lab_before) / wall, 1),
    )


def byte_compile_edgeops() -> None:
    """Compile edgeops's modules as installing the package does (pip byte-compiles at install time).

    Run from a source checkout under PYTHONDONTWRITEBYTECODE, every start would compile every edgeops module
    again (about 70 ms here), which no installed console pays.
    """
    import edgeops

    package = Path(edgeops.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


def textual_import_s() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import textual.app"], check=True)
    return round(time.monotonic() - started, 3)


def first_paint(inventory: Path, work: Path, columns: int, rows: int, colors: str) -> float:
    """One cold start: seconds from starting the console to its first frame; then it is quit."""
    started = time.monotonic()
    pid, master = start_console(inventory, work, columns, rows, colors)
    reader = TerminalReader(master)
    try:
        while not any(mark in reader.recent for mark in FIRST_FRAME_MARKS):
            if time.monotonic() - started > 30:
                raise TimeoutError("no first frame within 30 s")
            reader.pump(0.005)
        return round(time.monotonic() - started, 3)
    finally:
        stop_console(pid, master, reader)


def stop_console(pid: int, master: int, reader: TerminalReader) -> None:
    with contextlib.suppress(OSError):
        os.write(master, b"\x11")  # ctrl+q: quit at once
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        reader.pump(0.1)
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                break
    else:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    os.close(master)


def engine_alone(inventory: str, state_dir: str) -> None:
    """In a child process: run the engine without a console; print "up" once every device is, then keep going."""
    import asyncio

    from edgeops.fleet.engine import FleetEngine
    from edgeops.inventory.loader import load_inventory
    from edgeops.paths import AppPaths

    async def serve() -> None:
        fleet = load_inventory(Path(inventory))
        state = Path(state_dir)
        engine = FleetEngine(fleet, AppPaths(state, state, state, Path(inventory)))
        await engine.start()
        announced = False
        while True:
            await asyncio.sleep(0.5)
            if not announced and engine.store.fleet_rollup().up == len(fleet.devices):
                print("up", flush=True)
                announced = True

    asyncio.run(serve())


def measure_engine_alone(inventory: Path, work: Path, lab: psutil.Process, seconds: float) -> EngineBaseline:
    child = subprocess.Popen(
        [sys.executable, __file__, "--engine-alone", str(inventory), str(work / "engine-state")],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "up":
            raise RuntimeError("the engine alone did not bring the fleet up")
        time.sleep(SETTLE_S)
        process = psutil.Process(child.pid)
        cpu_before, lab_before, started = cpu_seconds(process), cpu_seconds(lab), time.monotonic()
        time.sleep(seconds)
        wall = time.monotonic() - started
        return EngineBaseline(
            seconds=round(wall, 1),
            cpu_pct_of_core=round(100 * (cpu_seconds(process) - cpu_before) / wall, 1),
            lab_cpu_pct_of_core=round(100 * (cpu_seconds(lab) - lab_before) / wall, 1),
        )
    finally:
        child.terminate()
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def run(devices: int, seconds: float, columns: int, rows: int, colors: str, paint_runs: int) -> ConsoleFigures:
    figures = ConsoleFigures(devices=devices, size=f"{columns}x{rows}", colors=colors)
    work = Path(tempfile.mkdtemp(prefix="edgeops-bench-console-"))
    lab: subprocess.Popen[bytes] | None = None
    pid = master = None
    try:
        lab = start_lab(devices, work / "lab", random.randint(20, 99))
        figures.textual_import_runs_s = [textual_import_s() for _ in range(3)]
        byte_compile_edgeops()
        for _ in range(paint_runs):
            figures.first_paint_runs_s.append(first_paint(work / "lab" / "inventory.yaml", work, columns, rows, colors))
        started = time.monotonic()
        pid, master = start_console(work / "lab" / "inventory.yaml", work, columns, rows, colors)
        console = psutil.Process(pid)
        reader = TerminalReader(master)
        while reader.total == 0 and time.monotonic() - started < 30:
            reader.pump(0.01)
        figures.first_output_s = round(time.monotonic() - started, 3)
        while not any(mark in reader.recent for mark in FIRST_FRAME_MARKS):
            if time.monotonic() - started > 30:
                raise TimeoutError("no first frame within 30 s")
            reader.pump(0.01)
        figures.first_paint_s = round(time.monotonic() - started, 3)
        while SITE_MAP_MARK not in reader.recent:
            if time.monotonic() - started > 60:
                raise TimeoutError("no site map within 60 s")
            reader.pump(0.01)
        figures.site_map_s = round(time.monotonic() - started, 3)
        reader.wait_for(f"{devices} up".encode(), FLEET_UP_TIMEOUT_S)
        figures.fleet_up_s = round(time.monotonic() - started, 1)
        lab_process = psutil.Process(lab.pid)
        figures.scenarios.append(measure("site", reader, console, lab_process, seconds))
        # The cursor onto the first spine: its health and its interfaces (with sparklines) are on screen.
        os.write(master, b"\x1b[B")
        reader.pump(0.3)
        os.write(master, b"\x1b[B")
        figures.scenarios.append(measure("device", reader, console, lab_process, seconds))
        figures.console_rss_mb = round(console.memory_info().rss / 2**20, 1)
        stop_console(pid, master, reader)
        pid = master = None
        figures.engine_alone = measure_engine_alone(work / "lab" / "inventory.yaml", work, lab_process, seconds)
    finally:
        if pid is not None and master is not None:
            stop_console(pid, master, TerminalReader(master))
        if lab is not None:
            lab.terminate()
            try:
                lab.wait(15)
            except subprocess.TimeoutExpired:
                lab.kill()
        shutil.rmtree(work, ignore_errors=True)
    return figures


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--engine-alone":
        engine_alone(sys.argv[2], sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each steady-state measurement")
    parser.add_argument("--size", default="120x40", help="terminal size, COLUMNSxROWS (default 120x40)")
    parser.add_argument("--colors", choices=("truecolor", "256"), default="truecolor")
    parser.add_argument("--paint-runs", type=int, default=5, help="cold starts timed to the first frame (default 5)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    columns, rows = (int(part) for part in args.size.lower().split("x"))
    figures = run(args.devices, args.seconds, columns, rows, args.colors, args.paint_runs)
    if args.json:
        print(json.dumps(asdict(figures), indent=2))
        return 0
    print(f"console, {figures.devices} lab devices, {figures.size}, {figures.colors}")
    print(f"  first output     {figures.first_output_s:.3f} s")
    runs = sorted(figures.first_paint_runs_s)
    if runs:
        median = runs[len(runs) // 2]
        print(f"  first paint      {median:.3f} s median of {len(runs)} cold starts (goal <= 0.8 s): {runs}")
    print(f"  first paint      {figures.first_paint_s:.3f} s   (the measured run)")
    imports = sorted(figures.textual_import_runs_s)
    if imports:
        print(f"  import textual   {imports[len(imports) // 2]:.3f} s median of 3 in a bare interpreter")
    print(f"  site map shown   {figures.site_map_s:.3f} s")
    print(f"  fleet up         {figures.fleet_up_s:.1f} s")
    print(f"  console RSS      {figures.console_rss_mb:.0f} MB")
    for scenario in figures.scenarios:
        print(
            f"  steady, {scenario.name:<6}  {scenario.bytes_per_s / 1000:6.1f} KB/s (goal <= 20)"
            f"   console CPU {scenario.cpu_pct_of_core:5.1f} % of a core (goal <= 30)"
            f"   lab CPU {scenario.lab_cpu_pct_of_core:5.1f} %"
        )
    if figures.engine_alone is not None:
        print(
            f"  engine alone (no console)             console CPU {figures.engine_alone.cpu_pct_of_core:5.1f} %"
            f" of a core               lab CPU {figures.engine_alone.lab_cpu_pct_of_core:5.1f} %"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
