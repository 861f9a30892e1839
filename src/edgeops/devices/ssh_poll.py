"""The SSH fallback for devices without gNMI: per-platform show commands and parsers into samples and batches."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from edgeops.clock import Clock, SystemClock
from edgeops.defaults import COMMAND_TIMEOUT_S
from edgeops.devices import sros_text
from edgeops.devices.decode import AlarmBook
from edgeops.devices.errors import CommandTimeout, ConnectionLost, DeviceError
from edgeops.devices.interface_rows import InterfaceBatch
from edgeops.devices.normalize import parse_speed, severity, state
from edgeops.devices.samples import (
    Alarm,
    CommandResult,
    ComponentStatus,
    Failure,
    HealthSample,
    InterfaceSample,
    TemperatureReading,
)
from edgeops.devices.sros_text import label_values as label_values  # re-exported: SR OS `Label : value` pairs
from edgeops.logging_setup import device_logger
from edgeops.platforms import Platform

log = logging.getLogger(__name__)


class CommandRunner(Protocol):
    """What the poller needs from a session (SshSession satisfies it)."""

    async def run(self, command: str, timeout: float | None = None) -> CommandResult: ...  # noqa: ASYNC109


class PollParseError(ValueError):
    """Output that does not have the shape the parser expects (quoted in the log, never fatal to a poll)."""


# -- commands -----------------------------------------------------------------------------------------------

SRLINUX_INTERFACES = "info from state /interface * | as json"
SRLINUX_VERSION = "show version | as json"
SRLINUX_PLATFORM = "info from state /platform | as json"
# SR Linux keeps no alarm list (there is no /system/alarms to ask for): its alarms are derived from the platform's
# and the interfaces' state these commands return (devices.decode, the same rules as over gNMI).

SROS_PORTS = "show port"
SROS_SYSTEM_INFORMATION = "show system information"
SROS_CPU = "show system cpu"
SROS_MEMORY = "show system memory-pools"
SROS_CHASSIS = "show chassis"
SROS_ALARMS = "show system alarms"


def sros_port_detail_command(port: str) -> str:
    return f"show port {port}"


@dataclass(frozen=True)
class PollCommands:
    """The commands one platform's fallback polling sends (SR OS adds `show port <id>` per port)."""

    interfaces: tuple[str, ...]
    health: tuple[str, ...]


POLL_COMMANDS: dict[Platform, PollCommands] = {
    Platform.SRLINUX: PollCommands((SRLINUX_INTERFACES,), (SRLINUX_PLATFORM, SRLINUX_VERSION)),
    Platform.SROS: PollCommands(
        (SROS_PORTS,), (SROS_SYSTEM_INFORMATION, SROS_CPU, SROS_MEMORY, SROS_CHASSIS, SROS_ALARMS)
    ),
}
# The classic CLI has the same show commands with the same output.
POLL_COMMANDS[Platform.SROS_CLASSIC] = POLL_COMMANDS[Platform.SROS]


# -- shared value parsing ---------------------------------------------------------------------------------


def parse_count(text: Any) -> int | None:
    """A counter as a device prints it: `"13738800"`, `13738800`, `1,001,337`; None if it is not a number."""
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text
    cleaned = str(text).replace(",", "").strip()
    return int(cleaned) if cleaned.isdigit() else None


def parse_iso_time(text: Any) -> float | None:
    """`2026-11-16T03:34:42.402Z` (SR Linux; `info` may append ` (5 hours ago)`) -> unix time."""
    if not isinstance(text, str) or not text:
        return None
    stamp = text.split(" (", 1)[0].strip()
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _utc_time(text: str, formats: tuple[str, ...]) -> float | None:
    for fmt in formats:
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None


# -- SR Linux (`| as json`) ---------------------------------------------------------------------------------


def _load_json(text: str) -> Any:
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise PollParseError("no JSON in the output")
    try:
        return json.loads(text[start:])
    except json.JSONDecodeError as exc:
        raise PollParseError(f"invalid JSON: {exc}") from exc


def _find_key(data: Any, *names: str) -> Any:
    """The value of the first key found (breadth-first) among `names`, with or without a module prefix.

    `info from state ... | as json` wraps the content in its parents (or not, depending on the release), and
    JSON_IETF adds `srl_nokia-...:` prefixes; looking the key up anywhere makes the parsers indifferent to both.
    """
    queue = [data]
    while queue:
        current = queue.pop(0)
        if isinstance(current, dict):
            for key, value in current.items():
                if key.rsplit(":", 1)[-1] in names:
                    return value
            queue.extend(current.values())
        elif isinstance(current, list):
            queue.extend(current)
    return None


def _as_list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [entry for entry in value if isinstance(entry, dict)]
    if isinstance(value, dict):
        return [value]
    return []


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """Keys without their module prefix."""
    return {key.rsplit(":", 1)[-1]: value for key, value in data.items()}


def parse_srlinux_interfaces(device: str, text: str, timestamp: float) -> list[InterfaceSample]:
    """`info from state /interface * | as json` -> one sample per interface (subinterfaces are not ports)."""
    return _srlinux_interface_samples(device, _load_json(text), timestamp)


def _srlinux_interface_samples(device: str, data: Any, timestamp: float) -> list[InterfaceSample]:
    entries = _as_list(_find_key(data, "interface"))
    if not entries and isinstance(data, dict) and "name" in data:
        entries = [data]  # a single interface, unwrapped
    samples = []
    for raw in entries:
        entry = _plain(raw)
        name = entry.get("name")
        if not isinstance(name, str):
            continue
        stats = _plain(entry.get("statistics") or {})
        ethernet = _plain(entry.get("ethernet") or {})
        samples.append(
            InterfaceSample(
                device=device,
                name=name,
                timestamp=timestamp,
                admin_state=state(entry.get("admin-state")),
                oper_state=state(entry.get("oper-state")),
                description=entry.get("description", ""),
                speed_bps=parse_speed(ethernet.get("port-speed")),
                last_change=parse_iso_time(entry.get("last-change")),
                in_octets=parse_count(stats.get("in-octets")),
                out_octets=parse_count(stats.get("out-octets")),
                in_packets=parse_count(stats.get("in-packets")),
                out_packets=parse_count(stats.get("out-packets")),
                in_errors=parse_count(stats.get("in-error-packets")),
                out_errors=parse_count(stats.get("out-error-packets")),
                in_discards=parse_count(stats.get("in-discarded-packets")),
                out_discards=parse_count(stats.get("out-discarded-packets")),
            )
        )
    return samples


def parse_srlinux_version(text: str) -> dict[str, Any]:
    """`show version | as json` -> HealthSample fields: hostname, chassis, version, boot_time (all values strings)."""
    data = _load_json(text)
    info = _find_key(data, "basic system info")
    if not isinstance(info, dict):
        info = data if isinstance(data, dict) else {}
    fields: dict[str, Any] = {
        "hostname": info.get("Hostname"),
        "chassis": info.get("Chassis Type"),
        "version": info.get("Software Version"),
        "boot_time": parse_iso_time(info.get("Last Booted")),
    }
    total_kb, free_kb = (_kilobytes(info.get(label)) for label in ("Total Memory", "Free Memory"))
    if total_kb is not None and free_kb is not None:
        fields["memory_total"] = total_kb * 1024
        fields["memory_used"] = (total_kb - free_kb) * 1024
    return {key: value for key, value in fields.items() if value is not None}


def _kilobytes(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    match = re.match(r"^\s*(\d+)\s*kB\s*$", text)
    return int(match.group(1)) if match else None


def parse_srlinux_platform(text: str) -> dict[str, Any]:
    """`info from state /platform | as json` -> cpu_pct, memory, temperatures, fans, power supplies, chassis."""
    data = _load_json(text)
    fields: dict[str, Any] = {}
    chassis = _find_key(data, "chassis")
    if isinstance(chassis, dict) and chassis.get("type"):
        fields["chassis"] = chassis["type"]
    temperatures: list[TemperatureReading] = []
    controls = _as_list(_find_key(data, "control"))
    for raw in controls:
        control = _plain(raw)
        slot = control.get("slot", "?")
        if "cpu_pct" not in fields:
            for cpu in _as_list(control.get("cpu")):
                cpu = _plain(cpu)
                total = _plain(cpu.get("total") or {})
                if str(cpu.get("index")) == "all" and total.get("instant") is not None:
                    fields["cpu_pct"] = float(total["instant"])
        memory = _plain(control.get("memory") or {})
        physical, free = parse_count(memory.get("physical")), parse_count(memory.get("free"))
        if physical and free is not None and "memory_total" not in fields:
            fields["memory_total"] = physical
            fields["memory_used"] = physical - free
        temperatures += _temperature(f"control {slot}", control.get("temperature"))
    for raw in _as_list(_find_key(data, "linecard")):
        linecard = _plain(raw)
        temperatures += _temperature(f"linecard {linecard.get('slot', '?')}", linecard.get("temperature"))
    if controls or temperatures:
        fields["temperatures"] = tuple(temperatures)
    for key, kind, field_name in (("fan-tray", "fan-tray", "fans"), ("power-supply", "power-supply", "power_supplies")):
        found = _find_key(data, key)
        if found is None:
            continue
        fields[field_name] = tuple(
            ComponentStatus(
                component=f"{kind} {_plain(entry).get('id', '?')}",
                oper_state=state(_plain(entry).get("oper-state")) or "unknown",
                detail=str(_plain(entry).get("oper-reason") or ""),
            )
            for entry in _as_list(found)
        )
    return fields


def _temperature(sensor: str, node: Any) -> list[TemperatureReading]:
    if not isinstance(node, dict):
        return []
    node = _plain(node)
    instant = node.get("instant")
    if instant is None:
        return []
    return [TemperatureReading(sensor, float(instant), bool(node.get("alarm-status", False)))]


def srlinux_state_document(data: Any, top: str) -> dict[str, Any]:
    """`info from state /<top> ... | as json` from the root: wrapped in `top` when the release printed only what
    is inside it (derived alarms are read by their path from the root)."""
    if isinstance(data, dict) and any(key.rsplit(":", 1)[-1] == top for key in data):
        return data
    return {top: data}


# -- SR OS (text: ntc-templates' templates where they exist, see sros_text) -------------------------------------

_UPTIME = re.compile(r"(?:(?P<days>\d+)\s+days?,\s*)?(?P<h>\d+):(?P<m>\d{2}):(?P<s>\d{2}(?:\.\d+)?)")


def _sros_rows(command: str, text: str) -> list[sros_text.Row]:
    """Rows from SR OS output, with a parse failure raised as PollParseError (quoted in the log, never fatal)."""
    try:
        return sros_text.parse_sros(command, text)
    except (sros_text.TextParseError, sros_text.NoParser) as exc:
        raise PollParseError(str(exc)) from exc


def parse_sros_port_table(device: str, text: str, timestamp: float) -> list[InterfaceSample]:
    """`show port` -> admin and oper state per port; connector and anchor rows (no Link column) are not ports."""
    samples = []
    for row in _sros_rows(SROS_PORTS, text):
        if not row["link"]:
            continue
        samples.append(
            InterfaceSample(
                device=device,
                name=row["port_id"],
                timestamp=timestamp,
                admin_state="enable" if row["admin_state"] == "Up" else "disable",
                # Ghost (provisioned, not equipped) and Link Up (light, not yet up) are not up.
                oper_state="up" if row["port_state"] == "Up" else "down",
            )
        )
    return samples


def parse_sros_port_detail(device: str, text: str, timestamp: float) -> list[InterfaceSample]:
    """`show port <id>` (or `show port detail`) -> description, speed, states and counters per port."""
    samples = []
    for row in _sros_rows("show port detail", text):
        admin = state(row["admin_state"])
        samples.append(
            InterfaceSample(
                device=device,
                name=row["port_id"],
                timestamp=timestamp,
                admin_state={"up": "enable", "down": "disable"}.get(admin or "", admin),
                oper_state=state(row["oper_state"]),
                description=row["description"],
                speed_bps=parse_speed(row["oper_speed"]),
                last_change=_utc_time(row["last_state_change"], ("%m/%d/%Y %H:%M:%S", "%Y/%m/%d %H:%M:%S")),
                in_octets=parse_count(row["in_octets"]),
                out_octets=parse_count(row["out_octets"]),
                in_packets=parse_count(row["in_packets"]),
                out_packets=parse_count(row["out_packets"]),
                in_errors=parse_count(row["in_errors"]),
                out_errors=parse_count(row["out_errors"]),
                in_discards=parse_count(row["in_discards"]),
                out_discards=parse_count(row["out_discards"]),
            )
        )
    return samples


def parse_sros_uptime(text: str) -> float | None:
    """`104 days, 18:47:32.33 (hr:min:sec)` -> seconds."""
    match = _UPTIME.search(text)
    if not match:
        return None
    days = int(match.group("days") or 0)
    return days * 86_400 + int(match.group("h")) * 3600 + int(match.group("m")) * 60 + float(match.group("s"))


def parse_sros_system_information(text: str, now: float) -> dict[str, Any]:
    """`show system information` -> hostname, chassis, version, boot_time (from the uptime and `now`)."""
    (values,) = _sros_rows(SROS_SYSTEM_INFORMATION, text)
    fields: dict[str, Any] = {
        "hostname": values.get("system_name") or None,
        "chassis": values.get("system_type") or None,
        "version": values.get("system_version") or None,
    }
    uptime = parse_sros_uptime(values.get("system_up_time", ""))
    if uptime is not None:
        fields["boot_time"] = now - uptime
    return {key: value for key, value in fields.items() if value is not None}


def parse_sros_cpu(text: str) -> float | None:
    """`show system cpu` -> the `Usage` line of the summary, in percent (`~0.00%` is a share that rounds to 0)."""
    for row in _sros_rows(SROS_CPU, text):
        if row["name"] == "Usage":
            return float(row["cpu_usage"].lstrip("~").rstrip("%"))
    return None


def parse_sros_memory(text: str) -> tuple[int, int] | None:
    """`show system memory-pools` -> (total, used) bytes, or None when the totals are missing.

    Used is `Total In Use`. For the total, releases differ on whether `Current Total Size` spans all memory or only
    what the pools hold; in-use plus available is right (or within the pools' own slack) either way.
    """
    try:
        rows = sros_text.parse_memory_pools(text)
    except sros_text.TextParseError:
        return None
    totals = rows[0]
    size, in_use, available = (
        parse_count(totals[key]) for key in ("current_total_size", "total_in_use", "available_memory")
    )
    if size is None or in_use is None or available is None:
        return None
    return max(size, in_use + available), in_use


def parse_sros_chassis(text: str) -> dict[str, Any]:
    """`show chassis` -> chassis type, temperature, fan trays and power supplies."""
    fields: dict[str, Any] = {}
    fans: list[ComponentStatus] = []
    supplies: list[ComponentStatus] = []
    for row in _sros_rows(SROS_CHASSIS, text):
        if row["component"] == "chassis":
            if row["type"]:
                fields["chassis"] = row["type"]
            match = re.match(r"^\+?(-?\d+(?:\.\d+)?)C", row["temperature"])
            if match:
                fields["temperatures"] = (TemperatureReading("chassis", float(match.group(1))),)
        elif row["status"]:
            target = fans if row["component"] == "fan-tray" else supplies
            target.append(ComponentStatus(f"{row['component']} {row['number']}", row["status"].lower()))
    if fans:
        fields["fans"] = tuple(fans)
    if supplies:
        fields["power_supplies"] = tuple(supplies)
    return fields


def parse_sros_alarms(device: str, text: str) -> tuple[Alarm, ...]:
    """`show system alarms` -> active alarms (the indented line under a row is its text)."""
    alarms: list[Alarm] = []
    for row in _sros_rows(SROS_ALARMS, text):
        level = severity(row["severity"])
        if level is None:
            continue
        when, _, centis = row["date_time"].partition(".")
        raised = _utc_time(when, ("%Y/%m/%d %H:%M:%S",))
        if raised is not None and centis:
            raised += float(f"0.{centis}")
        alarms.append(
            Alarm(
                device=device,
                alarm_id=row["alarm"],
                severity=level,
                resource=row["resource"],
                text=row["details"],
                raised_at=raised,
            )
        )
    return tuple(alarms)


# -- the poller ---------------------------------------------------------------------------------------------


class SshPoller:
    """Polls one device's interfaces and health over its SSH session (used when the device offers no gNMI).

    A device-side error or unparsable output leaves that part of the sample empty (None) and is recorded in
    `last_failures`; a lost session or a timeout raises, since nothing more can be asked until it is reopened.
    """

    def __init__(
        self,
        session: CommandRunner,
        device: str,
        platform: Platform,
        *,
        clock: Clock | None = None,
        command_timeout_s: float = COMMAND_TIMEOUT_S,
    ) -> None:
        self.session = session
        self.device = device
        self.platform = platform
        self.command_timeout_s = command_timeout_s
        self.last_failures: list[CommandResult] = []
        self._clock: Clock = clock or SystemClock()
        self._log = device_logger(__name__, device)
        # SR Linux's derived alarms, one book per command they are read from: an alarm keeps the time it was
        # first seen across polls, and a poll that failed leaves the other command's alarms standing.
        self._platform_alarms = AlarmBook(device)
        self._interface_alarms = AlarmBook(device)

    async def _run(self, command: str) -> str | None:
        """The command's output, or None after a device error; raises when the session itself failed."""
        result = await self.session.run(command, self.command_timeout_s)
        if result.ok:
            return result.output
        if result.failure is Failure.CONNECTION_LOST:
            raise ConnectionLost(self.device, result.reason)
        if result.failure is Failure.TIMEOUT:
            raise CommandTimeout(self.device, result.reason)
        if result.failure is not Failure.DEVICE_ERROR:
            raise DeviceError(self.device, result.reason)
        self.last_failures.append(result)
        self._log.info("polling command %r failed: %s", command, result.reason)
        return None

    def _parse_failed(self, command: str, exc: Exception) -> None:
        now = self._clock.now()
        self.last_failures.append(
            CommandResult.failed(
                self.device, command, failure=Failure.PARSE, reason=f"unreadable output: {exc}", started=now
            )
        )
        self._log.warning("could not parse the output of %r: %s", command, exc)

    async def poll_interfaces(self) -> list[InterfaceBatch]:
        """The interfaces as batches: SR Linux's in one (one command reads them all at one instant), SR OS's one
        per port (each port's counters are read by a command of its own, at its own instant)."""
        self.last_failures = []
        if self.platform is Platform.SRLINUX:
            output = await self._run(SRLINUX_INTERFACES)
            if output is None:
                return []
            try:
                data = _load_json(output)
                now = self._clock.now()
                samples = _srlinux_interface_samples(self.device, data, now)
                self._interface_alarms.apply_document(srlinux_state_document(data, "interface"), now)
            except (PollParseError, ValueError, TypeError) as exc:
                self._parse_failed(SRLINUX_INTERFACES, exc)
                return []
            return [InterfaceBatch.of(*samples)] if samples else []
        table = await self._run(SROS_PORTS)
        if table is None:
            return []
        try:
            states = parse_sros_port_table(self.device, table, self._clock.now())
        except PollParseError as exc:
            self._parse_failed(SROS_PORTS, exc)
            return []
        batches = []
        for port in states:
            command = sros_port_detail_command(port.name)
            output = await self._run(command)
            detail: list[InterfaceSample] = []
            if output is not None:
                try:
                    detail = parse_sros_port_detail(self.device, output, self._clock.now())
                except PollParseError as exc:
                    self._parse_failed(command, exc)
            batches.append(InterfaceBatch.of(detail[0] if detail else port))  # without its detail: its states
        return batches

    async def poll_health(self) -> HealthSample:
        self.last_failures = []
        fields: dict[str, Any] = {}
        parsers: tuple[tuple[str, Callable[[str], dict[str, Any]]], ...]
        if self.platform is Platform.SRLINUX:
            parsers = (
                # The platform's memory (physical and free) first: what gNMI reports too.
                (SRLINUX_PLATFORM, self._srlinux_platform),
                (SRLINUX_VERSION, parse_srlinux_version),
            )
        else:
            parsers = (
                (SROS_SYSTEM_INFORMATION, lambda text: parse_sros_system_information(text, self._clock.now())),
                (SROS_CPU, lambda text: _present(cpu_pct=parse_sros_cpu(text))),
                (SROS_MEMORY, _memory_fields),
                (SROS_CHASSIS, parse_sros_chassis),
                (SROS_ALARMS, lambda text: {"alarms": parse_sros_alarms(self.device, text)}),
            )
        for command, parse in parsers:
            output = await self._run(command)
            if output is None:
                continue
            try:
                parsed = parse(output)
            except (PollParseError, ValueError, TypeError) as exc:
                self._parse_failed(command, exc)
                continue
            for key, value in parsed.items():
                fields.setdefault(key, value)  # the first command that knows a field wins (show version > platform)
        return HealthSample(device=self.device, timestamp=self._clock.now(), **fields)

    def _srlinux_platform(self, text: str) -> dict[str, Any]:
        """The platform's health, and the alarms derived from it and from the last interface poll."""
        fields = parse_srlinux_platform(text)
        self._platform_alarms.apply_document(srlinux_state_document(_load_json(text), "platform"), self._clock.now())
        fields["alarms"] = self._platform_alarms.alarms() + self._interface_alarms.alarms()
        return fields


def _present(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _memory_fields(text: str) -> dict[str, Any]:
    memory = parse_sros_memory(text)
    return {} if memory is None else {"memory_total": memory[0], "memory_used": memory[1]}
