"""`edgeops audit [--since WHEN] [--device NAME] [--json]`: the audit log for people, each command with its outcome."""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from edgeops.cli.exit_codes import ExitCode
from edgeops.paths import AppPaths

if TYPE_CHECKING:
    from edgeops.fleet.audit import AuditedCommand

HELP = "List the audit log: every command sent to a device, with its outcome"

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "List the commands of the audit log (rotated files included), oldest first, each with its outcome. "
        "A command recorded as sent with no outcome after it reads 'outcome unknown': edgeops was stopped "
        "(kill -9, power loss) while the command was on its way, so it may have reached the device."
    )
    parser.add_argument(
        "--since", metavar="WHEN", help="only commands sent since WHEN: an ISO time (2025-06-01T08:00Z) or 30m, 1h, 2d"
    )
    parser.add_argument("--device", metavar="NAME", help="only commands sent to this device")
    parser.add_argument("--json", action="store_true", help="one JSON object per command instead of a table")


def parse_since(text: str, *, now: float | None = None) -> float:
    """Unix time from an ISO 8601 time (UTC when it has no zone) or a relative age like 30m, 1h, 2d."""
    relative = _RELATIVE.match(text)
    if relative:
        return (time.time() if now is None else now) - float(relative[1]) * _UNIT_S[relative[2].lower()]
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {text!r}: give an ISO time (2025-06-01T08:00Z) or an age (30m, 1h, 2d)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _sent_at(command: AuditedCommand) -> float:
    return datetime.fromisoformat(command.entry.time.replace("Z", "+00:00")).timestamp()


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    from edgeops.fleet.audit import read_audited_commands

    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as error:
        print(f"edgeops audit: {error}", file=sys.stderr)
        return ExitCode.USAGE
    commands = read_audited_commands(paths.audit_log)
    if args.device:
        commands = [command for command in commands if command.entry.device == args.device]
    if since is not None:
        commands = [command for command in commands if _sent_at(command) >= since]
    (print_json if args.json else print_table)(commands, sys.stdout)
    return ExitCode.OK


def as_record(command: AuditedCommand) -> dict[str, object]:
    """One command as JSON: the outcome's fields (or the `sent` record's), with `status` and `outcome_unknown`."""
    from dataclasses import asdict

    from edgeops.redaction import redact

    record = asdict(command.entry)
    record["command"], record["reason"] = redact(record["command"]), redact(record["reason"])
    record.pop("kind", None)
    record["status"] = command.status
    record["outcome_unknown"] = command.outcome_unknown
    return record


def print_json(commands: list[AuditedCommand], out: TextIO) -> None:
    from edgeops.textsafety import json_text

    for command in commands:
        out.write(json_text(as_record(command), separators=(",", ":")) + "\n")


COLUMNS = ("time", "user", "device", "status", "command", "reason")


def print_table(commands: list[AuditedCommand], out: TextIO) -> None:
    """A plain-text table; device and user text is made inert (no control characters reach the terminal)."""
    from edgeops.textsafety import strip_control

    rows = []
    for command in commands:
        record = as_record(command)
        rows.append([" ".join(strip_control(str(record[column] or "")).split()) for column in COLUMNS])
    if not rows:
        out.write("no commands recorded\n")
        return
    widths = [max(len(column), *(len(row[index]) for row in rows)) for index, column in enumerate(COLUMNS)]
    widths[-1] = 0  # the reason is the last column: not padded
    out.write("  ".join(column.upper().ljust(width) for column, width in zip(COLUMNS, widths, strict=True)).rstrip())
    out.write("\n")
    for row in rows:
        out.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")
