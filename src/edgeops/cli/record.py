"""`edgeops record`: the engine and the recorder with no console, for a machine that should always be recording.
SIGTERM, SIGINT or SIGHUP ends it cleanly: the last batches are committed and the file is closed."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from edgeops.cli.exit_codes import ExitCode
from edgeops.cli.heap import LongLivedHeap
from edgeops.paths import AppPaths

if TYPE_CHECKING:
    from edgeops.fleet.engine import FleetEngine
    from edgeops.fleet.events import EventListener, FleetEvent

HELP = "record the fleet's telemetry, states and commands headless (no console), until stopped"

log = logging.getLogger(__name__)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--file", metavar="PATH", help="record into this file (default: recording.sqlite in the state directory)"
    )
    parser.add_argument("--duration", type=float, metavar="SECONDS", help=argparse.SUPPRESS)  # tests and benchmarks


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    from edgeops.cli.inventory import read_inventory
    from edgeops.logging_setup import configure_logging

    configure_logging(paths.log_file, args.log_level)
    inventory, problems = read_inventory(paths.inventory)
    if inventory is None:
        print(f"edgeops record: the inventory {paths.inventory} does not load:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem.format()}", file=sys.stderr)
        return ExitCode.USAGE
    from edgeops.cli.console import recorder_settings
    from edgeops.recording.recorder import Recorder, RecordingBusy

    try:
        limits = recorder_settings(args.settings)
        recorder = (
            Recorder(Path(args.file), settings=limits)
            if args.file
            else Recorder.open_in(paths.state_dir, settings=limits)
        )
    except RecordingBusy as error:
        print(f"edgeops record: {error}", file=sys.stderr)
        return ExitCode.USAGE
    print(f"edgeops record: recording {len(inventory.devices)} devices into {recorder.path}", file=sys.stderr)
    try:
        return asyncio.run(_record(inventory, paths, recorder, args.duration))
    finally:
        recorder.close()


async def _record(inventory: object, paths: AppPaths, recorder: object, duration: float | None) -> int:
    from edgeops.fleet.engine import FleetEngine
    from edgeops.inventory.model import Inventory
    from edgeops.recording.recorder import Recorder

    assert isinstance(inventory, Inventory) and isinstance(recorder, Recorder)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    engine = FleetEngine(inventory, paths)
    engine.events.add_listener(recorder.listener)
    recorder.start()
    # A machine that records for weeks keeps its long-lived objects out of the full collections, as the console does.
    heap = LongLivedHeap()
    heap.engine_starting()
    engine.events.add_listener(_settles(engine, heap))
    try:
        async with engine:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), duration)
    finally:
        heap.release()
    log.info("recording stopped: %s", recorder.status)
    return ExitCode.OK


def _settles(engine: FleetEngine, heap: LongLivedHeap) -> EventListener:
    """A listener that tells the heap the fleet has settled when no device is connecting any more (the console tells
    it from its refresh tick), once."""
    from edgeops.fleet.events import SessionChanged

    def listener(event: FleetEvent) -> None:
        if type(event) is SessionChanged and not engine.store.fleet_rollup().connecting:
            engine.events.remove_listener(listener)
            heap.fleet_settled()

    return listener
