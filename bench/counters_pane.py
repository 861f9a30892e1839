"""Bytes written to the terminal and CPU spent by the interface counters table: LineTable against DataTable.

Each variant runs as a child process on its own pseudo-terminal (default 120x40). A fleet store holds one device
with N interfaces whose counters move every `--interval` seconds; the app reads the store's changes on a timer
(`--tick`, 4 Hz like the console) and, for each changed interface, builds its row of cells. The variants differ
only in where the cells go:

    pane        the console's interface counters pane (a LineTable, plus sparklines, sort values and age sweeps)
    line-table  a bare LineTable given the same cells as the DataTable (`upsert` repaints only changed cells)
    datatable   Textual's DataTable, diffed by key inside `batch_update`: `update_cell` only where a value changed
    baseline    the same store, tick and cells, drawn nowhere: the floor under the tables on this machine, now

The parent reads the pty and counts bytes; the child reports its CPU time over the same steady-state window.
"per update" is bytes per counter update (window bytes / updates in the window); "escapes" is the share of bytes
spent on escape sequences; "warm-up bytes" is everything before the window (first paint and the first updates).
With `--repeat N` the variants run N times, interleaved (so a busy spell on a shared machine hits each variant
alike), and the median and the spread (lowest to highest) of each figure follow the runs.

    python bench/counters_pane.py                      # every variant once, 60 interfaces, 2 s updates, 20 s each
    python bench/counters_pane.py --repeat 3 --colors 256
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import random
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

VARIANTS = ("pane", "line-table", "datatable", "baseline")
DEVICE = "bench-leaf1"


# ---------------------------------------------------------------------------------------------
# The child: a Textual app on the pty


class TrafficModel:
    """Counters for N ports: most carry traffic that wanders, some are down and idle, a few see errors."""

    def __init__(self, interfaces: int, seed: int = 7) -> None:
        self.random = random.Random(seed)
        self.names = [f"ethernet-1/{n + 1}" for n in range(interfaces)]
        self.down = {name for i, name in enumerate(self.names) if i % 4 == 3}
        self.erroring = {name for i, name in enumerate(self.names) if i % 13 == 5}
        self.bps = {name: self.random.uniform(1e6, 8e9) for name in self.names}
        self.counters = {name: [0, 0, 0, 0, 0] for name in self.names}  # in/out octets, in/out packets, errors

    def samples(self, now: float, interval: float) -> list[Any]:
        from edgeops.devices.samples import InterfaceSample

        out = []
        for i, name in enumerate(self.names):
            counters = self.counters[name]
            if name not in self.down:
                self.bps[name] = min(9.5e9, max(1e5, self.bps[name] * self.random.uniform(0.8, 1.25)))
                in_bytes = int(self.bps[name] * interval / 8)
                out_bytes = int(in_bytes * self.random.uniform(0.3, 0.9))
                counters[0] += in_bytes
                counters[1] += out_bytes
                counters[2] += in_bytes // 700
                counters[3] += out_bytes // 900
                if name in self.erroring:
                    counters[4] += self.random.randint(0, 3)
            out.append(
                InterfaceSample(
                    device=DEVICE,
                    name=name,
                    timestamp=now,
                    admin_state="enable",
                    oper_state="down" if name in self.down else "up",
                    description=f"to site-{i % 17:02d} core {i}",
                    speed_bps=10_000_000_000,
                    last_change=now - 3600 * (i + 1),
                    in_octets=counters[0],
                    out_octets=counters[1],
                    in_packets=counters[2],
                    out_packets=counters[3],
                    in_errors=counters[4],
                    out_errors=0,
                    in_discards=0,
                    out_discards=0,
                )
            )
        return out


def run_child(args: argparse.Namespace) -> None:
    from rich.text import Text
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable, Static

    from edgeops.clock import SystemClock
    from edgeops.devices.interface_rows import InterfaceBatch
    from edgeops.fleet.store import FleetStore
    from edgeops.inventory.model import Device, Inventory, Site
    from edgeops.platforms import Platform
    from edgeops.ui.live import Selection
    from edgeops.ui.panes.interface_counters import COLUMNS, InterfaceCountersPane, interface_cells
    from edgeops.ui.widgets.line_table import LineTable

    clock = SystemClock()
    inventory = Inventory(
        sites=(Site("Bench", "bench"),),
        devices=(Device(DEVICE, "bench", "leaf", Platform.SRLINUX, "7220 IXR-D3L", "127.0.0.1"),),
    )
    store = FleetStore(inventory, clock)
    model = TrafficModel(args.interfaces)
    for sample in model.samples(clock.now(), args.interval):
        store.apply_interfaces(InterfaceBatch.of(sample))
    tones = {"": "", "good": "green", "warn": "yellow", "bad": "bold red", "dim": "bright_black", "accent": "cyan"}
    report: dict[str, Any] = {"variant": args.child, "rows_built": 0}

    class BenchApp(App[None]):
        def compose(self) -> ComposeResult:
            if args.child == "pane":
                yield InterfaceCountersPane(clock=clock, id="pane")
            elif args.child == "line-table":
                yield LineTable(COLUMNS, id="pane")
            elif args.child == "datatable":
                yield DataTable(id="pane", cursor_type="row")
            else:
                yield Static("baseline: the cells are built and drawn nowhere", id="pane")

        def on_mount(self) -> None:
            self.version = store.version
            pane = self.query_one("#pane")
            if isinstance(pane, InterfaceCountersPane):
                pane.select(store, Selection("device", DEVICE))
                pane.table.focus()
            elif isinstance(pane, LineTable):
                now = clock.now()
                with pane.batch_rows():
                    for snapshot in store.interfaces(DEVICE):
                        pane.upsert(snapshot.name, interface_cells(snapshot, "", now))
                pane.focus()
            elif isinstance(pane, DataTable):
                for column in COLUMNS:
                    pane.add_column(column.label, key=column.key, width=column.width)
                now = clock.now()
                for snapshot in store.interfaces(DEVICE):
                    cells = interface_cells(snapshot, "", now)
                    pane.add_row(*(Text(c.text, style=tones[c.tone]) for c in cells), key=snapshot.name)
                pane.focus()
            self.started = time.monotonic()
            self.set_interval(args.interval, self.feed)
            self.set_interval(args.tick, self.tick)
            self.set_timer(args.warmup, self.begin_window)
            self.set_timer(args.warmup + args.seconds, self.end_window)

        def feed(self) -> None:
            for sample in model.samples(clock.now(), args.interval):
                store.apply_interfaces(InterfaceBatch.of(sample))

        def tick(self) -> None:
            changes = store.changes_since(self.version)
            self.version = changes.version
            if changes.empty:
                return
            pane = self.query_one("#pane")
            if isinstance(pane, InterfaceCountersPane):
                pane.apply_changes(store, changes)
                return
            now = clock.now()
            if isinstance(pane, LineTable):
                with self.batch_update(), pane.batch_rows():
                    for name in changes.interfaces_of(DEVICE):
                        pane.upsert(name, interface_cells(store.interface(DEVICE, name), "", now))
                return
            if not isinstance(pane, DataTable):
                for name in changes.interfaces_of(DEVICE):
                    report["rows_built"] += len(interface_cells(store.interface(DEVICE, name), "", now)) > 0
                return
            with self.batch_update():
                for name in changes.interfaces_of(DEVICE):
                    snapshot = store.interface(DEVICE, name)
                    cells = interface_cells(snapshot, "", now)
                    row = pane.get_row(name)
                    for column, cell, old in zip(COLUMNS, cells, row, strict=True):
                        if not isinstance(old, Text) or old.plain != cell.text:
                            pane.update_cell(name, column.key, Text(cell.text, style=tones[cell.tone]))

        def begin_window(self) -> None:
            report["cpu_start"] = time.process_time()
            report["wall_start"] = time.time()

        def end_window(self) -> None:
            report["cpu_s"] = time.process_time() - report.pop("cpu_start")
            report["window"] = (report.pop("wall_start"), time.time())
            Path(args.report).write_text(json.dumps(report))
            self.exit()

    BenchApp().run()


# ---------------------------------------------------------------------------------------------
# The parent: a pty per variant, counting bytes


def run_variant(variant: str, args: argparse.Namespace) -> dict[str, Any]:
    columns, rows = args.size
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TEXTUAL", "COLORTERM")}
    env["TERM"] = "xterm-256color"
    if args.colors == "truecolor":
        env["COLORTERM"] = "truecolor"
    with tempfile.TemporaryDirectory() as folder:
        report_path = Path(folder) / "report.json"
        command = [
            sys.executable,
            __file__,
            "--child",
            variant,
            "--report",
            str(report_path),
            "--interfaces",
            str(args.interfaces),
            "--interval",
            str(args.interval),
            "--tick",
            str(args.tick),
            "--seconds",
            str(args.seconds),
            "--warmup",
            str(args.warmup),
        ]
        # Textual draws on stderr (so stdout can be piped): both go to the pty.
        child = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        reads: list[tuple[float, bytes]] = []  # (wall time read, bytes)
        deadline = time.monotonic() + args.warmup + args.seconds + 30
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.5)
                if ready:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:
                        break  # the child closed the pty
                    if not chunk:
                        break
                    reads.append((time.time(), chunk))
                elif child.poll() is not None:
                    break
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
            child.wait(timeout=10)
            os.close(master)
        if not report_path.exists():
            raise SystemExit(f"{variant}: the child app did not finish its window (exit code {child.returncode})")
        report = json.loads(report_path.read_text())
    # The child timed its window with the same wall clock; what the parent read inside it is what it wrote then.
    start, end = report["window"]
    report["wall_s"] = end - start
    window = b"".join(chunk for t, chunk in reads if start <= t <= end)
    report["bytes"] = len(window)
    report["bytes_per_s"] = len(window) / report["wall_s"]
    report["warmup_bytes"] = sum(len(chunk) for t, chunk in reads if t < start)
    report["escape_share"] = _escape_bytes(window) / max(1, len(window))
    return report


def _escape_bytes(data: bytes) -> int:
    """Bytes spent on CSI sequences (colours, cursor moves) rather than on characters."""
    import re

    return sum(len(match) for match in re.findall(rb"\x1b\[[0-9;:?]*[ -/]*[@-~]", data))


def parse_size(text: str) -> tuple[int, int]:
    columns, _, rows = text.partition("x")
    return int(columns), int(rows)


HEADER = ("variant", "bytes/s", "KB/s", "per update", "CPU %", "escapes", "warm-up bytes")


def figures(result: dict[str, Any], args: argparse.Namespace) -> dict[str, float]:
    """The figures of one run, in the units the table prints."""
    updates = max(1.0, result["wall_s"] / args.interval)
    return {
        "bytes/s": result["bytes_per_s"],
        "per update": result["bytes"] / updates,
        "CPU %": result["cpu_s"] / result["wall_s"] * 100,
        "escapes": result["escape_share"] * 100,
        "warm-up bytes": result["warmup_bytes"],
    }


def print_row(label: str, row: dict[str, float]) -> None:
    print(
        f"  {label:<12} {row['bytes/s']:>10,.0f} {row['bytes/s'] / 1000:>8.1f} {row['per update']:>11,.0f} "
        f"{row['CPU %']:>6.1f}% {row['escapes']:>7.0f}% {row['warm-up bytes']:>14,.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interfaces", type=int, default=60)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between counter updates")
    parser.add_argument("--tick", type=float, default=0.25, help="UI refresh tick in seconds (4 Hz)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the measured window")
    parser.add_argument("--warmup", type=float, default=4.0, help="seconds before the window (first paint)")
    parser.add_argument("--size", type=parse_size, default=(120, 40), help="terminal size, e.g. 120x40")
    parser.add_argument("--colors", choices=("truecolor", "256"), default="truecolor")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--repeat", type=int, default=1, help="run the variants this many times, interleaved")
    parser.add_argument("--json", action="store_true", help="print every run's figures as JSON at the end")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args)
        return
    columns, rows = args.size
    print(
        f"counters pane: {args.interfaces} interfaces updating every {args.interval:g} s, UI tick {args.tick:g} s, "
        f"{columns}x{rows}, {args.colors}, {args.seconds:g} s window after {args.warmup:g} s"
        + (f", {args.repeat} runs interleaved" if args.repeat > 1 else "")
    )
    print("  {:<12} {:>10} {:>8} {:>11} {:>7} {:>8} {:>14}".format(*HEADER))
    runs: dict[str, list[dict[str, float]]] = {variant: [] for variant in args.variants}
    for _ in range(args.repeat):
        for variant in args.variants:
            row = figures(run_variant(variant, args), args)
            runs[variant].append(row)
            print_row(variant, row)
            sys.stdout.flush()
    if args.repeat > 1:
        print("  median (lowest to highest):")
        for variant, rows_of in runs.items():
            median = {key: statistics.median(row[key] for row in rows_of) for key in rows_of[0]}
            print_row(variant, median)
            spread = ", ".join(
                f"{key} {min(row[key] for row in rows_of):,.1f} to {max(row[key] for row in rows_of):,.1f}"
                for key in ("bytes/s", "per update", "CPU %")
            )
            print(f"  {'':<12} {spread}")
    if args.json:
        print(json.dumps(runs))


if __name__ == "__main__":
    main()
