"""Our one exception hierarchy for talking to devices (SSH, gNMI, jump hosts), each error carrying its machine code
(a Failure) and the session state it implies; and the per-platform detection of error text a device prints."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from edgeops.devices.samples import Failure, SessionState
from edgeops.platforms import Platform

if TYPE_CHECKING:
    import grpc


class DeviceError(Exception):
    """Something went wrong talking to a device (or a jump host): the message says what, for a person.

    `code` is the machine code (what CommandResult.failure carries), as asyncssh's `Error(code, reason)` does:
    callers branch on it, never on the message. `session_state` is the state a supervisor should show for the
    transport after this error.
    """

    code: Failure = Failure.ERROR
    session_state: SessionState = SessionState.DOWN

    def __init__(self, device: str, message: str) -> None:
        super().__init__(message)
        self.device = device
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConnectTimeout(DeviceError):
    """The device did not complete the TCP connect, SSH handshake or login in time."""

    code = Failure.TIMEOUT
    session_state = SessionState.UNREACHABLE


class Unreachable(DeviceError):
    """The connection was refused, or there is no route to the device (directly or from the jump host)."""

    code = Failure.UNREACHABLE
    session_state = SessionState.UNREACHABLE

    def __init__(self, device: str, message: str, *, refused: bool = False) -> None:
        super().__init__(device, message)
        self.refused = refused
        if refused:
            self.code = Failure.CONNECTION_REFUSED


class AuthFailed(DeviceError):
    """The device rejected every authentication method we offered."""

    code = Failure.AUTH
    session_state = SessionState.AUTH_FAILED


class HostKeyRejected(DeviceError):
    """The device's host key was not accepted; we never authenticate to such a host."""

    code = Failure.HOSTKEY
    session_state = SessionState.HOSTKEY_MISMATCH


class HostKeyMismatch(HostKeyRejected):
    """The device offered a different host key from the one recorded for it: possibly a man in the middle."""

    def __init__(
        self,
        device: str,
        *,
        host_entry: str,
        recorded: Sequence[str],
        offered: str | None,
        recorded_in: Sequence[str] = (),
        remove_hint: str = "",
    ) -> None:
        self.host_entry = host_entry
        self.recorded_fingerprints = tuple(recorded)
        self.offered_fingerprint = offered
        self.recorded_in = tuple(recorded_in)
        lines = [
            "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!",
            f"The host key of {device} ({host_entry}) is not the one recorded for it.",
            "Someone could be eavesdropping on you right now (man-in-the-middle attack),",
            "or the device was replaced or its host key regenerated.",
        ]
        lines += [f"Recorded key: {fingerprint}" for fingerprint in self.recorded_fingerprints]
        if offered:
            lines.append(f"Offered key:  {offered}")
        else:
            lines.append("Offered key:  none of the recorded key types")
        if self.recorded_in:
            lines.append(f"Recorded in:  {', '.join(self.recorded_in)}")
        lines.append("edgeops refused the connection and will not send credentials.")
        if remove_hint:
            lines.append(f"If the change is expected, verify the new fingerprint, then {remove_hint}")
        super().__init__(device, "\n".join(lines))


class HostKeyUnknown(HostKeyRejected):
    """Strict host key checking: the device's key is not recorded anywhere, so it is refused."""

    def __init__(self, device: str, *, host_entry: str, offered: str | None) -> None:
        self.host_entry = host_entry
        self.offered_fingerprint = offered
        message = (
            f"The host key of {device} ({host_entry}) is not known and strict host key checking is on: "
            f"connection refused. Offered key: {offered or 'unknown'}. Verify it and add it to a known_hosts file "
            "(or connect once with the accept-new policy)."
        )
        super().__init__(device, message)


class ConnectionLost(DeviceError):
    """An open session ended: the device closed it, the keepalive found it dead, or the jump host dropped."""

    code = Failure.CONNECTION_LOST
    session_state = SessionState.DOWN


class CommandTimeout(DeviceError):
    """A command did not return to the prompt in time; the session was closed because its output is now unknown."""

    code = Failure.TIMEOUT
    session_state = SessionState.DOWN


# -- gNMI ---------------------------------------------------------------------------------------------


class GnmiError(DeviceError):
    """A gNMI operation failed. `status` is the gRPC status when there was one."""

    def __init__(self, message: str, status: grpc.StatusCode | None = None, *, device: str = "") -> None:
        super().__init__(device, message)
        self.status = status


class GnmiAuthError(GnmiError):
    """The device rejected the credentials."""

    code = Failure.AUTH
    session_state = SessionState.AUTH_FAILED


class GnmiUnavailable(GnmiError):
    """The device could not be reached, refused the service, or did not answer in time."""

    code = Failure.UNREACHABLE
    session_state = SessionState.UNREACHABLE


class GnmiConnectTimeout(GnmiUnavailable):
    """The device did not answer the gNMI connect in time (something accepted the connection, or nothing did)."""

    code = Failure.TIMEOUT


class GnmiStreamCut(GnmiUnavailable):
    """A subscription that was running ended with an error (reset, device restart, lost transport)."""

    code = Failure.CONNECTION_LOST
    session_state = SessionState.DOWN


class GnmiRejected(GnmiError):
    """The device refused a Subscribe before sending any data: a path it does not support (InvalidArgument,
    NotFound, Unimplemented) or another error on the first response. `details` is the device's own text."""

    code = Failure.REJECTED

    def __init__(self, message: str, status: grpc.StatusCode | None, details: str, *, device: str = "") -> None:
        super().__init__(message, status, device=device)
        self.details = details

    @property
    def status_name(self) -> str:
        """The gRPC status name, e.g. "INVALID_ARGUMENT"; "" for an error carried in a response."""
        return self.status.name if self.status is not None else ""


# -- error text in command output ---------------------------------------------------------------------

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
    """The first line of `output` that is the device reporting an error, stripped; None if the command worked.

    SR Linux prints its error as the first line of the output (the command's whole answer is the error, perhaps
    followed by its options): a line starting "Error:" further down is output (a log, a description), not an error.
    """
    if platform is Platform.SRLINUX:
        first = next((line for line in output.splitlines() if line.strip()), "")
        return first.strip() if _SRLINUX_ERROR.match(first) else None
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
