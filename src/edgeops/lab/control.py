"""Fault control for a lab: inject and clear faults from Python, and over a control socket from another process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeops.lab.device import LabDevice
from edgeops.lab.faults import FAULT_KINDS, HOSTILE_DESCRIPTION, FaultState
from edgeops.lab.model import LabAlarm
from edgeops.lab.servers.ssh import LabSshServer

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 64 * 1024
MANAGEMENT_PORTS = ("mgmt0", "A/1")  # faults leave the out-of-band port alone


class FaultError(ValueError):
    """A fault request that cannot be carried out (unknown device, kind or parameter); the message says why."""


@dataclass(frozen=True)
class FaultParam:
    name: str
    kind: type  # float, int, str or bool
    default: Any
    help: str


# The parameters each fault kind takes; kinds not listed take none.
FAULT_PARAMS: dict[str, tuple[FaultParam, ...]] = {
    "ssh-slow": (FaultParam("seconds", float, 2.0, "latency added before every SSH answer"),),
    "ssh-flood": (FaultParam("mib", float, 256.0, "MiB of output the next command prints, with no prompt after"),),
    "port-flap": (
        FaultParam("port", str, "", "interface to flap (default: the first port passing traffic)"),
        FaultParam("seconds", float, 5.0, "how long the port stays down"),
    ),
    "counter-reset": (
        FaultParam("reboot", bool, False, "also drop every SSH session and gNMI stream, as a reload does"),
    ),
    "alarm-raise": (
        FaultParam("severity", str, "major", "critical, major, minor or warning"),
        FaultParam("text", str, "Simulated alarm raised by the lab", "alarm text"),
        FaultParam("resource", str, "system", "the resource the alarm is about"),
        FaultParam("alarm_id", str, "", "identifier (default: the next number)"),
    ),
    "alarm-clear": (FaultParam("alarm_id", str, "", "the alarm to clear (default: every alarm)"),),
    "cpu-spike": (
        FaultParam("pct", float, 95.0, "CPU utilisation during the spike"),
        FaultParam("seconds", float, 60.0, "how long the spike lasts"),
    ),
    "hostile-text": (FaultParam("ports", int, 3, "how many interface descriptions to replace"),),
    "gnmi-reject": (
        FaultParam("path", str, "", "path prefix to refuse (default: the interface statistics)"),
        FaultParam("code", str, "invalid-argument", "invalid-argument, not-found or unimplemented"),
    ),
}
ALARM_SEVERITIES = ("critical", "major", "minor", "warning")
# What gnmi-reject refuses when no path is given (keyed by "is SR OS"): the interface statistics.
DEFAULT_REJECTED_PATH = {False: "/interface/statistics", True: "/state/port/statistics"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _coerce(param: FaultParam, value: object) -> object:
    if isinstance(value, str) and param.kind is not str:
        text = value.strip().lower()
        if param.kind is bool:
            if text in _TRUE | _FALSE:
                return text in _TRUE
            raise FaultError(f"{param.name} must be true or false, not {value!r}")
        try:
            return param.kind(text)
        except ValueError:
            raise FaultError(f"{param.name} must be a number, not {value!r}") from None
    if param.kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, param.kind) or (param.kind is not bool and isinstance(value, bool)):
        raise FaultError(f"{param.name} must be {param.kind.__name__}, not {value!r}")
    return value


def resolve_params(kind: str, params: Mapping[str, object]) -> dict[str, Any]:
    """Check a fault's parameters, turn command-line strings into their types, and fill in defaults."""
    if kind not in FAULT_KINDS:
        raise FaultError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
    specs = {param.name: param for param in FAULT_PARAMS.get(kind, ())}
    unknown = sorted(set(params) - set(specs))
    if unknown:
        allowed = ", ".join(specs) or "none"
        raise FaultError(f"{kind} takes no parameter {', '.join(unknown)} (parameters: {allowed})")
    resolved = {name: spec.default for name, spec in specs.items()}
    for name, value in params.items():
        resolved[name] = _coerce(specs[name], value)
    return resolved


@dataclass
class _Injected:
    """What the controller changed on one device, so `clear` can put it back."""

    descriptions: dict[str, str] = field(default_factory=dict)  # port -> description before hostile-text
    alarm_ids: list[str] = field(default_factory=list)
    flaps: dict[str, asyncio.Task[None]] = field(default_factory=dict)  # port -> task bringing it back up


class FaultController:
    """Injects every kind in FAULT_KINDS into lab devices, and clears them again."""

    def __init__(self, devices: Mapping[str, LabDevice], *, ssh: LabSshServer | None = None) -> None:
        self.devices = devices
        self.ssh = ssh
        self._injected: dict[str, _Injected] = {}

    def _device(self, name: str) -> LabDevice:
        try:
            return self.devices[name]
        except KeyError:
            raise FaultError(f"no lab device named {name!r}") from None

    async def inject(self, device_name: str, kind: str, **params: object) -> str:
        """Apply one fault to one device; returns a sentence saying what was done."""
        device = self._device(device_name)
        values = resolve_params(kind, params)
        log.info("%s: inject %s %s", device_name, kind, values or "")
        injected = self._injected.setdefault(device_name, _Injected())
        faults, model = device.faults, device.model
        match kind:
            case "ssh-drop":
                return f"dropped {faults.drop_ssh()} SSH connection(s)"
            case "ssh-drop-mid-command":
                faults.ssh_drop_mid_command = True
                return "the next command that prints output will drop its connection halfway"
            case "ssh-hang":
                faults.ssh_hang = True
                return "SSH accepts connections but never answers"
            case "ssh-slow":
                faults.ssh_latency_s = max(0.0, values["seconds"])
                return f"SSH answers wait {faults.ssh_latency_s:g} s"
            case "ssh-flood":
                faults.ssh_flood_bytes = max(1, int(values["mib"] * 1024 * 1024))
                return f"the next command prints {values['mib']:g} MiB and no prompt"
            case "ssh-refuse":
                faults.ssh_refuse = True
                if self.ssh is not None:
                    await self.ssh.set_listening(device_name, False)
                return "SSH connections are refused"
            case "auth-reject":
                faults.auth_reject = True
                return "every login is rejected"
            case "hostkey-change":
                faults.hostkey_generation += 1
                return f"SSH now serves host key generation {faults.hostkey_generation}"
            case "gnmi-cut":
                return f"cut {faults.cut_gnmi()} gNMI stream(s)"
            case "gnmi-stall":
                faults.gnmi_stall = True
                return "gNMI streams stay open and send nothing"
            case "gnmi-refuse":
                faults.gnmi_refuse = True
                return "gNMI calls are refused (UNAVAILABLE)"
            case "gnmi-reject":
                return self._reject(device, values["path"], values["code"])
            case "port-flap":
                return self._flap(device, injected, values["port"], values["seconds"])
            case "counter-reset":
                model.reboot()
                if values["reboot"]:
                    faults.drop_ssh()
                    faults.cut_gnmi()
                    return "rebooted: counters reset, sessions dropped"
                return "counters reset and uptime restarted"
            case "alarm-raise":
                return self._raise_alarm(device, injected, values)
            case "alarm-clear":
                alarm_id = values["alarm_id"] or None
                model.clear_alarm(alarm_id)
                return f"cleared alarm {alarm_id}" if alarm_id else "cleared every alarm"
            case "cpu-spike":
                model.cpu_spike(values["pct"], values["seconds"])
                return f"CPU at {values['pct']:g} % for {values['seconds']:g} s"
            case "hostile-text":
                return self._hostile_text(device, injected, values["ports"])
        raise FaultError(f"fault {kind!r} is not implemented")  # pragma: no cover - FAULT_KINDS is exhaustive

    def _reject(self, device: LabDevice, path: str, code: str) -> str:
        from edgeops.lab.servers.gnmi import REJECT_STATUS, prefix_elems

        path = path.strip() or DEFAULT_REJECTED_PATH[device.identity.platform.is_sros]
        if not path.startswith("/"):
            raise FaultError(f"gnmi-reject wants an absolute path such as /interface[name=*]/statistics, not {path!r}")
        if code not in REJECT_STATUS:
            raise FaultError(f"code must be one of {', '.join(REJECT_STATUS)}, not {code!r}")
        try:
            prefix_elems(path)
        except Exception as error:  # pygnmi's parser raises bare exceptions for malformed paths
            raise FaultError(f"cannot read the path {path!r}: {error}") from None
        device.faults.gnmi_rejects[path] = code
        status = REJECT_STATUS[code].name
        return f"Subscribe calls naming a path under {path} are refused ({status}); open streams carry on"

    def _flap(self, device: LabDevice, injected: _Injected, port: str, seconds: float) -> str:
        model = device.model
        if not port:
            busy = [iface.name for iface in model.interfaces.values() if iface.passing_traffic]
            port = next((name for name in busy if name not in MANAGEMENT_PORTS), "")
            if not port:
                raise FaultError(f"{device.name} has no port passing traffic to flap")
        if port not in model.interfaces:
            raise FaultError(f"{device.name} has no interface {port!r}")
        if not model.interfaces[port].admin_up:
            raise FaultError(f"{port} on {device.name} is admin down; a flap would not show")
        previous = injected.flaps.pop(port, None)
        if previous is not None:
            previous.cancel()
        model.set_oper_state(port, False)

        async def bring_up() -> None:
            await asyncio.sleep(seconds)
            model.set_oper_state(port, True)
            injected.flaps.pop(port, None)

        injected.flaps[port] = asyncio.get_running_loop().create_task(bring_up(), name=f"flap {device.name} {port}")
        return f"{port} down for {seconds:g} s"

    def _raise_alarm(self, device: LabDevice, injected: _Injected, values: dict[str, Any]) -> str:
        severity = values["severity"].lower()
        if severity not in ALARM_SEVERITIES:
            raise FaultError(f"severity must be one of {', '.join(ALARM_SEVERITIES)}")
        alarm: LabAlarm = device.model.raise_alarm(
            severity, values["resource"], values["text"], values["alarm_id"] or None
        )
        injected.alarm_ids.append(alarm.alarm_id)
        return f"raised {severity} alarm {alarm.alarm_id}"

    def _hostile_text(self, device: LabDevice, injected: _Injected, count: int) -> str:
        device.faults.hostile_text = True
        ports = [name for name in device.model.interfaces if name not in MANAGEMENT_PORTS][: max(0, count)]
        for name in ports:
            injected.descriptions.setdefault(name, device.model.interfaces[name].description)
            device.model.set_description(name, HOSTILE_DESCRIPTION)
        return f"hostile text in the descriptions of {', '.join(ports) or 'no port'}"

    async def clear(self, device_name: str) -> str:
        """Undo what was injected: fault flags, hostile descriptions, pending flaps, CPU spikes, raised alarms.

        A changed host key stays changed (as on a device whose key was regenerated), and the lab's own demo
        incidents (a failed power supply, say) stay too.
        """
        device = self._device(device_name)
        log.info("%s: clear faults", device_name)
        faults: FaultState = device.faults
        was_refusing = faults.ssh_refuse
        faults.clear()
        if was_refusing and self.ssh is not None:
            await self.ssh.set_listening(device_name, True)
        injected = self._injected.pop(device_name, None)
        if injected is None:
            injected = _Injected()
        model = device.model
        for port, task in injected.flaps.items():
            task.cancel()
            model.set_oper_state(port, True)
        for port, description in injected.descriptions.items():
            model.set_description(port, description)
        for alarm_id in injected.alarm_ids:
            if any(alarm.alarm_id == alarm_id for alarm in model.alarms):
                model.clear_alarm(alarm_id)
        if model.cpu_spike_until > model.now():
            model.cpu_spike_until = 0.0
        return f"{device_name} is back to healthy"

    async def close(self) -> None:
        """Cancel pending flaps (the lab is stopping)."""
        for injected in self._injected.values():
            for task in injected.flaps.values():
                task.cancel()


# -- the control socket --------------------------------------------------------------------------------

StatusProvider = Callable[[], dict[str, Any]]


class ControlServer:
    """A Unix socket taking one JSON object per line and answering one JSON object per line.

    {"device": "alcala-leaf1", "fault": "ssh-drop"}                  inject (other keys, or "params", are parameters)
    {"device": "alcala-leaf1", "fault": "port-flap", "port": "ethernet-1/3", "seconds": 10}
    {"device": "alcala-leaf1", "clear": true}                        clear the device's faults
    {"command": "status"} / {"command": "devices"} / {"command": "faults"}
    Answers: {"ok": true, "result": ...} or {"ok": false, "error": "..."}.
    """

    def __init__(self, controller: FaultController, path: Path, status: StatusProvider | None = None) -> None:
        self.controller = controller
        self.path = path
        self.status = status or (lambda: {})
        self.requests = 0
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self._server = await asyncio.start_unix_server(self._serve, self.path, limit=MAX_REQUEST_BYTES)
        os.chmod(self.path, 0o600)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._clients):
            writer.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while line := await reader.readline():
                answer = await self.handle(line)
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, ValueError):
            pass  # a client that went away, or a line over the size limit
        finally:
            self._clients.discard(writer)
            writer.close()

    async def handle(self, line: bytes | str) -> dict[str, Any]:
        self.requests += 1
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise FaultError("a request is a JSON object")
            return {"ok": True, "result": await self._dispatch(request)}
        except json.JSONDecodeError as error:
            return {"ok": False, "error": f"not JSON: {error.msg}"}
        except FaultError as error:
            return {"ok": False, "error": str(error)}

    async def _dispatch(self, request: dict[str, Any]) -> object:
        command = request.pop("command", None)
        device = request.pop("device", None)
        if command is None:
            command = "clear" if request.pop("clear", False) else "inject" if "fault" in request else None
        if command == "status":
            return self.status()
        if command == "devices":
            return sorted(self.controller.devices)
        if command == "faults":
            return {kind: {param.name: param.default for param in FAULT_PARAMS.get(kind, ())} for kind in FAULT_KINDS}
        if command in ("inject", "clear") and not isinstance(device, str):
            raise FaultError('the request needs "device"')
        if command == "clear":
            return await self.controller.clear(device)
        if command == "inject":
            kind = request.pop("fault", None)
            if not isinstance(kind, str):
                raise FaultError('the request needs "fault"')
            params = request.pop("params", {})
            if not isinstance(params, dict):
                raise FaultError('"params" is a JSON object')
            return await self.controller.inject(device, kind, **{**request, **params})
        raise FaultError('unknown request: give "fault", "clear" or "command" (status, devices, faults)')


def send_control_request(path: Path, request: Mapping[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
    """Send one request to a running lab's control socket and return its answer (blocking; for the CLI)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(os.fspath(path))
        sock.sendall(json.dumps(dict(request)).encode() + b"\n")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    if not answer:
        raise ConnectionError(f"the lab at {path} closed the connection without answering")
    result: dict[str, Any] = json.loads(answer)
    return result
