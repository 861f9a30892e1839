"""`edgeops parse PLATFORM COMMAND [FILE|-]`: saved command output as JSON rows, read by the SSH fallback's parsers."""

from __future__ import annotations

import argparse
import dataclasses
import enum
import sys
from typing import TYPE_CHECKING, Any, TextIO

from edgeops.cli.exit_codes import ExitCode
from edgeops.paths import AppPaths
from edgeops.platforms import Platform
from edgeops.textsafety import json_text

if TYPE_CHECKING:  # imported when something is parsed, so `edgeops --help` stays quick
    from edgeops.devices.sros_text import Row

HELP = "Parse a command's saved output into JSON rows, one per line"


# JSON escapes C0 controls itself; C1 controls and line separators would still reach a terminal raw.


class NoParserForCommand(LookupError):
    """Nothing edgeops has reads this command's output on this platform."""


class UnreadableOutput(ValueError):
    """The output does not have the layout the command's parser reads."""


def configure_parser(parser: argparse.ArgumentParser) -> None:
    # Only the standard library here: the top-level parser imports this module on every edgeops start.
    parser.description = (
        "Read the output of one show command, saved from a device (a file, or - for standard input), with the "
        "parsers edgeops itself uses when it polls over SSH, and print one JSON object per row. SR OS output is "
        "read with ntc-templates' alcatel_sros templates where one exists for the command. Exit status: 0 parsed, "
        "1 the output does not have the command's layout, 2 no parser for the command or a usage error."
    )
    parser.add_argument(
        "platform", choices=[platform.value for platform in Platform], help="the platform the output comes from"
    )
    parser.add_argument("command", help="the command that printed the output, e.g. 'show port' (quote it)")
    parser.add_argument("file", nargs="?", default="-", help="the saved output; - or nothing for standard input")


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    platform = Platform(args.platform)
    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            with open(args.file, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
    except OSError as error:
        print(f"edgeops parse: cannot read {args.file}: {error.strerror or error}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        rows = parse_rows(platform, args.command, text)
    except NoParserForCommand as error:
        print(f"edgeops parse: {error}", file=sys.stderr)
        return ExitCode.USAGE
    except UnreadableOutput as error:
        print(f"edgeops parse: {error}", file=sys.stderr)
        return ExitCode.UNREADABLE
    write_rows(rows, sys.stdout)
    return ExitCode.OK


def write_rows(rows: list[Row], out: TextIO) -> None:
    try:
        for row in rows:
            out.write(json_text(row) + "\n")
        out.flush()
    except BrokenPipeError:
        pass  # `edgeops parse ... | head`: the reader has what it wanted


# -- one entry point for every platform ----------------------------------------------------------------------


def parse_rows(platform: Platform, command: str, output: str) -> list[Row]:
    """A command's output as rows, with the parsers the SSH fallback uses for that platform.

    Raises NoParserForCommand when nothing reads the command, UnreadableOutput when the output has another layout.
    """
    if platform.is_sros:
        from edgeops.devices import sros_text

        try:
            return sros_text.parse_sros(command, output)
        except sros_text.NoParser as error:
            raise NoParserForCommand(f"no parser for this command on {platform.label}: {command!r}") from error
        except sros_text.TextParseError as error:
            raise UnreadableOutput(f"the output is not what {command!r} prints: {error}") from error
    return _parse_srlinux(command, output)


def _parse_srlinux(command: str, output: str) -> list[Row]:
    """SR Linux has no ntc-templates templates: the fallback reads `| as json` output, so those commands parse."""
    from edgeops.devices import ssh_poll

    wanted = " ".join(command.split())
    readers = {
        ssh_poll.SRLINUX_INTERFACES: lambda text: [
            _sample_row(sample) for sample in ssh_poll.parse_srlinux_interfaces("", text, 0)
        ],
        ssh_poll.SRLINUX_VERSION: lambda text: [_jsonable(ssh_poll.parse_srlinux_version(text))],
        ssh_poll.SRLINUX_PLATFORM: lambda text: [_jsonable(ssh_poll.parse_srlinux_platform(text))],
    }
    read = readers.get(wanted)
    if read is None:
        known = ", ".join(repr(name) for name in readers)
        raise NoParserForCommand(f"no parser for this command on SR Linux: {command!r} (edgeops reads {known})")
    try:
        rows: list[Row] = read(output)
    except (ValueError, TypeError) as error:
        raise UnreadableOutput(f"the output is not what {command!r} prints: {error}") from error
    return rows


def _sample_row(sample: Any) -> Row:
    """A sample as a row: its fields, without the device and timestamp the parse was given."""
    row = _jsonable(dataclasses.asdict(sample))
    for key in ("device", "timestamp"):
        row.pop(key, None)
    return row


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value
