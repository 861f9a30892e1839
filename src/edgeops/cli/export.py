"""`edgeops export --device D [--port P] --since T [--until T] --format csv|json`: a span of the recording as evidence
for a ticket: a port's traffic, errors and discards (or a device's CPU and memory) per step, and the marks on the
way (oper-state changes, alarms, commands)."""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from edgeops.cli.exit_codes import ExitCode
from edgeops.paths import AppPaths

if TYPE_CHECKING:
    from edgeops.recording.reader import Recording

HELP = "export a device's or a port's recorded series and events for a span of time (CSV or JSON)"

_CLOCK_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", required=True, metavar="NAME")
    parser.add_argument("--port", metavar="NAME", help="an interface of the device (default: the device's health)")
    parser.add_argument("--since", required=True, metavar="WHEN", help="ISO time, HH:MM today (local time), or 30m, 2h")
    parser.add_argument("--until", metavar="WHEN", help="as --since (default: now)")
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    parser.add_argument("--step", type=float, default=2.0, metavar="SECONDS", help="one row per step (default 2 s)")
    parser.add_argument(
        "--file", metavar="PATH", help="the recording (default: recording.sqlite in the state directory)"
    )


def parse_when(text: str, *, now: float | None = None) -> float:
    """Unix time from HH:MM[:SS] today (local time), an age (30m, 2h), or an ISO time (UTC when it has no zone)."""
    now = time.time() if now is None else now
    clock = _CLOCK_TIME.match(text)
    if clock:
        hours, minutes, seconds = int(clock[1]), int(clock[2]), int(clock[3] or 0)
        if hours > 23 or minutes > 59 or seconds > 59:
            raise ValueError(f"{text!r} is not a time of day")
        today = datetime.fromtimestamp(now).replace(hour=hours, minute=minutes, second=seconds, microsecond=0)
        return today.timestamp()
    relative = _RELATIVE.match(text)
    if relative:
        return now - float(relative[1]) * _UNIT_S[relative[2].lower()]
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r}: give an ISO time (2026-06-01T03:05Z), HH:MM today, or an age (30m, 2h)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    from edgeops.recording.reader import Recording
    from edgeops.recording.schema import RECORDING_FILE, RecordingError

    try:
        since = parse_when(args.since)
        until = parse_when(args.until) if args.until else time.time()
    except ValueError as error:
        print(f"edgeops export: {error}", file=sys.stderr)
        return ExitCode.USAGE
    if until < since or args.step <= 0:
        print("edgeops export: --until is before --since, or --step is not positive", file=sys.stderr)
        return ExitCode.USAGE
    path = Path(args.file) if args.file else paths.state_dir / RECORDING_FILE
    try:
        recording = Recording.open(path)
    except RecordingError as error:
        print(f"edgeops export: {error} [{error.code}]", file=sys.stderr)
        return ExitCode.USAGE
    with recording:
        try:
            table, marks = collect(recording, args.device, args.port, since, until, args.step)
        except RecordingError as error:
            print(f"edgeops export: {error} [{error.code}]", file=sys.stderr)
            return ExitCode.USAGE
    if args.format == "json":
        write_json(sys.stdout, args.device, args.port, since, until, table, marks)
    else:
        write_csv(sys.stdout, table)
    return ExitCode.OK


Row = dict[str, object]


def collect(
    recording: Recording, device: str, port: str | None, since: float, until: float, step: float
) -> tuple[list[Row], list[Row]]:
    """The rows (one per step with data: time and the mean of each metric) and the marks of the span."""
    from edgeops.fleet.events import CommandRan, HealthChanged, InterfacesChanged
    from edgeops.recording.schema import INTERFACE_METRICS, Metric

    metrics = [metric for metric, _ in INTERFACE_METRICS] if port else [Metric.CPU, Metric.MEMORY]
    rows: dict[float, Row] = {}
    for metric in metrics:
        for point in recording.series(device, port, metric, since, until, step):
            rows.setdefault(point.time, {"time": iso(point.time)})[metric.value] = round(point.mean, 3)
    marks: list[Row] = []
    oper: str | None = None
    alarms: set[tuple[str, str]] = set()
    for event in recording.events(since, until, device=device):
        if isinstance(event, InterfacesChanged) and port:
            row = event.batch.rows.get(port)
            if row is not None and row[1] is not None and row[1] != oper:
                if oper is not None:
                    marks.append({"time": iso(event.time), "kind": "oper-state", "text": f"{port} {row[1]}"})
                oper = row[1]
        elif isinstance(event, HealthChanged) and event.sample.alarms is not None:
            now = {(alarm.alarm_id, alarm.text) for alarm in event.sample.alarms if not port or port in alarm.resource}
            for alarm_id, text in sorted(now - alarms):
                marks.append({"time": iso(event.time), "kind": "alarm-raised", "text": f"{alarm_id}: {text}"})
            for alarm_id, text in sorted(alarms - now):
                marks.append({"time": iso(event.time), "kind": "alarm-cleared", "text": f"{alarm_id}: {text}"})
            alarms = now
        elif isinstance(event, CommandRan):
            outcome = "ok" if event.ok else f"failed ({event.failure or 'error'}: {event.reason})"
            marks.append(
                {
                    "time": iso(event.time),
                    "kind": "command",
                    "text": f"{event.command}: {outcome}",
                    "run_id": event.run_id,
                }
            )
    return [rows[t] for t in sorted(rows)], marks


def write_csv(out: TextIO, table: list[Row]) -> None:
    columns: list[str] = ["time"]
    for row in table:
        columns.extend(key for key in row if key not in columns)
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)


def write_json(
    out: TextIO, device: str, port: str | None, since: float, until: float, table: list[Row], marks: list[Row]
) -> None:
    document = {"device": device, "port": port, "since": iso(since), "until": iso(until), "rows": table, "marks": marks}
    json.dump(document, out, indent=2, ensure_ascii=False)
    out.write("\n")
