"""What a device tells us, as immutable plain dataclasses: samples, alarms, states, command results."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Literal

# The two transports to a device, and which of them brings a device's telemetry.
Transport = Literal["ssh", "gnmi"]
TelemetrySource = Literal["gnmi", "ssh"]


class SessionState(StrEnum):
    """The state of one transport (SSH or gNMI) to one device."""

    IDLE = "idle"
    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"
    AUTH_FAILED = "auth-failed"
    HOSTKEY_MISMATCH = "hostkey-mismatch"
    UNREACHABLE = "unreachable"
    UNAVAILABLE = "unavailable"  # the device offers no such service (e.g. no gNMI): not an error


class Failure(StrEnum):
    """Why a command (or a connection) failed: the machine code a CommandResult, a DeviceError and the audit log
    carry. The values are what JSON output and the audit log have always written."""

    TIMEOUT = "timeout"  # no answer in time (connect, login, or the command itself)
    UNREACHABLE = "unreachable"  # no route to the device, directly or from the jump host
    CONNECTION_REFUSED = "connection-refused"  # the device (or the jump host on its behalf) refused the connection
    AUTH = "auth"  # every authentication method was rejected
    HOSTKEY = "hostkey"  # the device's host key was not accepted
    CONNECTION_LOST = "connection-lost"  # an open session ended under the command
    DEVICE_ERROR = "device-error"  # the device answered with an error instead of output
    REFUSED = "refused"  # the read-only guard refused the command: it was never sent
    NOT_CONNECTED = "not-connected"  # a console with no fleet connection: nothing sent
    CANCELLED = "cancelled"  # the run was cancelled before the device answered
    CONFIG = "config"  # the inventory does not say how to reach the device
    PARSE = "parse"  # the output could not be read
    OUTPUT_LIMIT = "output-limit"  # the output passed the per-command cap: truncated, the session was closed
    REJECTED = "rejected"  # the device refused a gNMI Subscribe (a path it does not support)
    ERROR = "error"  # anything else (an internal error, an unexpected gRPC status)


class DeviceState(StrEnum):
    """The overall state of a device as the console shows it."""

    CONNECTING = "connecting"
    UP = "up"
    DEGRADED = "degraded"  # one of SSH / gNMI is down
    DOWN = "down"
    AUTH_FAILED = "auth-failed"
    HOSTKEY_MISMATCH = "hostkey-mismatch"
    UNREACHABLE = "unreachable"


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"


@dataclass(frozen=True)
class Alarm:
    """An active alarm: one the device lists, or one edgeops derived from the device's state.

    SR Linux keeps no alarm list (its OpenConfig alarms are not supported either), so its alarms are derived from
    what it does report: a component's oper-state, a temperature's alarm-status, an interface's oper-down-reason.
    `derived` tells those apart, so that the console can say which alarms the device did not raise itself.
    """

    device: str
    alarm_id: str
    severity: Severity
    resource: str
    text: str
    raised_at: float | None = None  # unix time
    derived: bool = False  # worked out from device state by edgeops, not listed by the device


@dataclass(frozen=True, slots=True)
class InterfaceCounters:
    """The eight counters of an interface (None: not reported): the one declaration that the sample's counter
    fields, the decoded row's counter slots, the store's snapshots and the rate tracker all follow."""

    in_octets: int | None = None
    out_octets: int | None = None
    in_packets: int | None = None
    out_packets: int | None = None
    in_errors: int | None = None
    out_errors: int | None = None
    in_discards: int | None = None
    out_discards: int | None = None


COUNTER_FIELDS: tuple[str, ...] = tuple(field.name for field in fields(InterfaceCounters))
# The state of an interface, as opposed to its counters (each subscription group serves one of the two).
STATE_FIELDS: tuple[str, ...] = ("admin_state", "oper_state", "description", "speed_bps", "last_change")


@dataclass(frozen=True)
class InterfaceSample:
    """Counters and state of one interface at one instant.

    Fields left as None were not part of the update that produced the sample; the store keeps
    the last known value for them.
    """

    device: str
    name: str
    timestamp: float  # unix time the device stamped (or we received) the values
    admin_state: str | None = None  # "enable" / "disable"
    oper_state: str | None = None  # "up" / "down"
    description: str | None = None
    speed_bps: int | None = None
    last_change: float | None = None  # unix time of the last oper-state change
    in_octets: int | None = None
    out_octets: int | None = None
    in_packets: int | None = None
    out_packets: int | None = None
    in_errors: int | None = None
    out_errors: int | None = None
    in_discards: int | None = None
    out_discards: int | None = None


# A sample is its keys, its state and its counters, declared above: a field added to one must be added to the other.
if tuple(field.name for field in fields(InterfaceSample))[3:] != STATE_FIELDS + COUNTER_FIELDS:
    raise TypeError("InterfaceSample's fields must be (device, name, timestamp) + STATE_FIELDS + COUNTER_FIELDS")


@dataclass(frozen=True)
class TemperatureReading:
    sensor: str  # e.g. "control A", "linecard 1"
    celsius: float
    alarm: bool = False


@dataclass(frozen=True)
class ComponentStatus:
    """A fan tray or a power supply."""

    component: str  # e.g. "fan-tray 1", "power-supply 2"
    oper_state: str  # "up" / "down" / "failed" / "empty"
    detail: str = ""


@dataclass(frozen=True)
class HealthSample:
    """System health of one device at one instant. None: not in this update."""

    device: str
    timestamp: float
    hostname: str | None = None
    chassis: str | None = None  # e.g. "7220 IXR-D3L"
    version: str | None = None  # e.g. "v25.10.1", "C-25.10.R2"
    boot_time: float | None = None  # unix time of the last boot (uptime = now - boot_time)
    cpu_pct: float | None = None
    memory_total: int | None = None  # bytes
    memory_used: int | None = None  # bytes
    temperatures: tuple[TemperatureReading, ...] | None = None
    fans: tuple[ComponentStatus, ...] | None = None
    power_supplies: tuple[ComponentStatus, ...] | None = None
    alarms: tuple[Alarm, ...] | None = None


@dataclass(frozen=True)
class CommandResult:
    """The outcome of one command on one device: ok, or failed with a reason a person can act on."""

    device: str
    command: str
    output: str
    started: float  # unix time
    ended: float
    ok: bool
    reason: str = ""  # e.g. "timeout after 30 s", "device error: Parsing error: Unknown token 'versio'"
    failure: Failure | None = None  # the machine code of a failed result; None when ok
    guard_rule: str = ""  # the read-only guard's rule id when failure is Failure.REFUSED (e.g. "not-read-only")

    @classmethod
    def failed(
        cls,
        device: str,
        command: str,
        *,
        failure: Failure,
        reason: str,
        started: float,
        ended: float | None = None,
        output: str = "",
        guard_rule: str = "",
    ) -> CommandResult:
        """A failed result: the one way every layer builds one (`ended` defaults to `started`)."""
        return cls(
            device=device,
            command=command,
            output=output,
            started=started,
            ended=started if ended is None else ended,
            ok=False,
            reason=reason,
            failure=failure,
            guard_rule=guard_rule,
        )

    @property
    def refused(self) -> bool:
        """Whether the read-only guard refused the command (it was never sent)."""
        return self.failure is Failure.REFUSED

    @property
    def duration_s(self) -> float:
        return self.ended - self.started
