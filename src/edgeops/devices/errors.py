"""Our exception hierarchy for connection problems, each carrying the failure class and session state it implies."""

from __future__ import annotations

from collections.abc import Sequence

from edgeops.devices.samples import SessionState

# The failure class of a connection the device (or the jump host, on its behalf) refused. Kept apart from "refused",
# which the command runner's read-only guard uses for a command it never sent.
CONNECTION_REFUSED = "connection-refused"
# The failure class of a command given to a console that has no fleet connection at all (no engine): nothing sent.
NOT_CONNECTED = "not-connected"


class DeviceError(Exception):
    """Something went wrong talking to a device (or a jump host): the message says what, for a person.

    `failure` is the machine-readable class used in CommandResult.failure; `session_state` is the state a
    supervisor should show for the transport after this error.
    """

    failure: str = "error"
    session_state: SessionState = SessionState.DOWN

    def __init__(self, device: str, message: str) -> None:
        super().__init__(message)
        self.device = device
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConnectTimeout(DeviceError):
    """The device did not complete the TCP connect, SSH handshake or login in time."""

    failure = "timeout"
    session_state = SessionState.UNREACHABLE


class Unreachable(DeviceError):
    """The connection was refused, or there is no route to the device (directly or from the jump host)."""

    failure = "unreachable"
    session_state = SessionState.UNREACHABLE

    def __init__(self, device: str, message: str, *, refused: bool = False) -> None:
        super().__init__(device, message)
        self.refused = refused
        if refused:
            self.failure = CONNECTION_REFUSED


class AuthFailed(DeviceError):
    """The device rejected every authentication method we offered."""

    failure = "auth"
    session_state = SessionState.AUTH_FAILED


class HostKeyRejected(DeviceError):
    """The device's host key was not accepted; we never authenticate to such a host."""

    failure = "hostkey"
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

    failure = "connection-lost"
    session_state = SessionState.DOWN


class CommandTimeout(DeviceError):
    """A command did not return to the prompt in time; the session was closed because its output is now unknown."""

    failure = "timeout"
    session_state = SessionState.DOWN
