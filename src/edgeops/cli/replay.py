"""`edgeops replay [FILE] [--at HH:MM] [--speed N]`: the console on a recording, as the fleet was then."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from edgeops.cli.exit_codes import ExitCode
from edgeops.paths import AppPaths

HELP = "Replay a recording in the console: the same panes, as the fleet was at a time"

SPEEDS = (1, 2, 5, 10, 20, 30, 60)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    # Only the standard library here: the top-level parser imports this module on every edgeops start.
    parser.add_argument(
        "file", nargs="?", metavar="FILE", help="the recording (default: the console's own, in the state folder)"
    )
    parser.add_argument("--at", metavar="HH:MM[:SS]", help="start at this time (default: the recording's start)")
    parser.add_argument(
        "--speed", type=int, choices=SPEEDS, default=1, metavar="N", help="play at N times real time (1 to 60)"
    )
    parser.add_argument("--paused", action="store_true", help="start paused (space plays)")
    parser.add_argument("--theme", metavar="NAME", help="colour theme")


def default_recording(paths: AppPaths) -> Path:
    """The console's own recording in the state folder (the first console's, when several record there)."""
    from edgeops.ui.replay.reading import console_recording

    return console_recording(paths)


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    from edgeops.cli.console import _theme_problem, interactive, no_terminal
    from edgeops.logging_setup import configure_logging

    configure_logging(paths.log_file, args.log_level)
    problem = _theme_problem(args.theme, paths)
    if problem:
        return _usage(problem)
    file = Path(args.file) if args.file else default_recording(paths)
    if not file.exists():
        return _usage(f"{file}: no such recording (the console records into its state folder unless --no-record)")
    from edgeops.recording.schema import RecordingError
    from edgeops.ui.replay.opening import open_reader
    from edgeops.ui.replay.player import parse_clock_time

    status = ExitCode.OK
    try:
        recording = open_reader(file)
    except RecordingError as error:
        # Truncated, damaged, newer, or not a recording: said, exit 2, the file untouched; what could be read of it
        # is replayed all the same.
        print(f"edgeops replay: {error}", file=sys.stderr)
        if error.salvaged is None:
            return ExitCode.USAGE
        recording, status = error.salvaged, ExitCode.USAGE
    start, end = recording.span()
    at = None
    if args.at:
        try:
            at = parse_clock_time(args.at, start, end)
        except ValueError as error:
            return _usage(f"--at: {error}")
    inventory = _inventory(recording, paths)
    if inventory is None:
        return ExitCode.USAGE
    if not interactive():
        return no_terminal()
    from edgeops.ui.replay.opening import replay_app

    app = replay_app(recording, inventory, paths=paths, at=at, speed=args.speed, paused=args.paused, theme=args.theme)
    app.run()
    return status


def _inventory(recording: Any, paths: AppPaths) -> Any:
    """The recording's own inventory when it keeps one, else the configured inventory (problems reported)."""
    own = getattr(recording, "inventory", None)
    if callable(own):
        own = own()
    if own is not None:
        return own
    from edgeops.cli.inventory import load_or_report

    return load_or_report(paths.inventory)


def _usage(message: str) -> int:
    print(f"edgeops replay: {message}", file=sys.stderr)
    return ExitCode.USAGE
