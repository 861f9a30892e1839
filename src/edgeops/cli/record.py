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

from edgeops.cli.exit_codes import ExitCode
from edgeops.paths import AppPaths

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
    async with engine:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration)
    log.info("recording stopped: %s", recorder.status)
    return ExitCode.OK
