"""Per-platform detection of the error text a device prints instead of a command's output."""

from __future__ import annotations

import re

from edgeops.platforms import Platform

# Error lines start at the beginning of a line (devices may indent them). Anchoring at the line start keeps an
# interface description or a log line that merely contains "Error:" from failing a command that worked.
_SRLINUX_ERROR = re.compile(r"^[ \t]*(?:Parsing error:|Error:)", re.MULTILINE)
# MD-CLI errors are MINOR/MAJOR/CRITICAL lines; `//command` runs the classic engine, whose errors start "Error:".
_SROS_MD_CLI_ERROR = re.compile(r"^[ \t]*(?:MINOR:|MAJOR:|CRITICAL:|Error:)", re.MULTILINE)
# The classic CLI prints "Error: Bad command.", "Error: Invalid parameter." and the same MINOR/MAJOR lines.
_SROS_CLASSIC_ERROR = re.compile(r"^[ \t]*(?:Error:|Bad Command:|MINOR:|MAJOR:|CRITICAL:)", re.MULTILINE)

_PATTERNS: dict[Platform, re.Pattern[str]] = {
    Platform.SRLINUX: _SRLINUX_ERROR,
    Platform.SROS: _SROS_MD_CLI_ERROR,
    Platform.SROS_CLASSIC: _SROS_CLASSIC_ERROR,
}


def find_device_error(platform: Platform, output: str) -> str | None:
    """The first line of `output` that is the device reporting an error, stripped; None if the command worked."""
    match = _PATTERNS[platform].search(output)
    if match is None:
        return None
    line_end = output.find("\n", match.start())
    line = output[match.start() : line_end if line_end >= 0 else len(output)]
    return line.strip()


def device_error_reason(platform: Platform, output: str) -> str | None:
    """A reason for CommandResult quoting the device's own error line, or None when there is no error."""
    line = find_device_error(platform, output)
    return None if line is None else f"device error: {line}"
