"""gNMI notifications from SR Linux, SR OS or OpenConfig into InterfaceSample / HealthSample values.

Decoding is pure: a notification in, the samples it carries out, fields it did not carry left as None.
It copes with every shape the devices send: JSON_IETF or JSON (or typed PROTO/ASCII values), one update per
container with a JSON object or one update per leaf, a `prefix` or full paths, with or without module
prefixes. Two small books (AlarmBook, HealthBook) turn the partial pieces of a stream into whole views.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pygnmi.spec.v080 import gnmi_pb2

from edgeops.devices.samples import (
    Alarm,
    ComponentStatus,
    HealthSample,
    InterfaceSample,
    Severity,
    TemperatureReading,
)

PathElems = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # ((name, ((key, value), ...)), ...)

# List keys by list name, to rebuild paths from JSON arrays inside a container value (RFC 7951 puts the
# key leaves inside each entry).
LIST_KEYS: dict[str, tuple[str, ...]] = {
    "interface": ("name",),
    "port": ("port-id",),
    "control": ("slot",),
    "linecard": ("slot",),
    "cpu": ("index",),
    "fan-tray": ("id",),
    "power-supply": ("id", "power-supply-id"),
    "fan": ("fan-slot",),
    "card": ("slot-number",),
    "chassis": ("chassis-class", "chassis-number"),
    "alarm": ("id",),
    "active": ("sequence-number",),
    "component": ("name",),
    "subinterface": ("index",),
}


@dataclass(frozen=True)
class SyncMarker:
    """The device finished its initial dump (`sync_response`): what came before is the complete state."""

    device: str
    timestamp: float


@dataclass(frozen=True)
class AlarmUpdate:
    """Leaves of one alarm entry, keyed by the entry's list key (an update may carry only some of them)."""

    key: str
    alarm_id: str | None = None
    severity: str | None = None
    resource: str | None = None
    text: str | None = None
    raised_at: float | None = None


@dataclass(frozen=True)
class DecodedNotification:
    """Everything one notification said."""

    timestamp: float = 0.0  # unix time the device stamped the notification with
    interfaces: tuple[InterfaceSample, ...] = ()
    health: HealthSample | None = None
    alarm_updates: tuple[AlarmUpdate, ...] = ()
    alarm_deletes: tuple[str, ...] = ()  # entry keys; "*" when the whole alarm list was deleted

    @property
    def samples(self) -> list[InterfaceSample | HealthSample]:
        found: list[InterfaceSample | HealthSample] = list(self.interfaces)
        if self.health is not None:
            found.append(self.health)
        return found

    @property
    def touches_alarms(self) -> bool:
        return bool(self.alarm_updates or self.alarm_deletes)


# -- values and paths ---------------------------------------------------------------------------------


def bare(name: str) -> str:
    """`srl_nokia-interfaces:interface` -> `interface`."""
    return name.rsplit(":", 1)[-1] if ":" in name else name


_JSON_DECODER = json.JSONDecoder()  # json.loads() on bytes would sniff the encoding on every call
_PATH_CACHE: dict[bytes, tuple[PathElems, tuple[str, ...]]] = {}
_PATH_CACHE_LIMIT = 100_000


def _parsed_path(path: gnmi_pb2.Path) -> tuple[PathElems, tuple[str, ...]]:
    """(elements, their names) of a Path, module prefixes stripped.

    Devices send the same paths on every sample, so parsed paths are remembered by their wire bytes.
    """
    wire = path.SerializeToString()
    found = _PATH_CACHE.get(wire)
    if found is None:
        elems = tuple((bare(elem.name), tuple(sorted(elem.key.items()))) for elem in path.elem)
        elems += tuple((bare(name), ()) for name in path.element)
        found = (elems, tuple(name for name, _ in elems))
        if len(_PATH_CACHE) >= _PATH_CACHE_LIMIT:
            _PATH_CACHE.clear()
        _PATH_CACHE[wire] = found
    return found


def path_elems(path: gnmi_pb2.Path | None) -> PathElems:
    """A Path as ((name, ((key, value), ...)), ...), module prefixes stripped."""
    return _parsed_path(path)[0] if path is not None else ()


def _json(raw: bytes) -> Any:
    """JSON text to Python, short-cutting the two shapes most leaves have: a quoted counter and a number."""
    if len(raw) > 1 and raw[0] == 0x22 and raw[-1] == 0x22 and 0x5C not in raw:  # "…" without escapes
        return raw[1:-1].decode()
    if raw and raw[0] in b"-0123456789" and raw.isdigit():
        return int(raw)
    return _JSON_DECODER.decode(raw.decode()) if raw else None


def typed_value(value: gnmi_pb2.TypedValue) -> Any:
    """The Python value of a TypedValue (JSON decoded; counters may still be strings)."""
    which = value.WhichOneof("value")
    if which == "json_ietf_val":
        return _json(value.json_ietf_val)
    if which == "json_val":
        return _json(value.json_val)
    if which == "bytes_val":
        try:
            return json.loads(value.bytes_val)
        except ValueError:
            return value.bytes_val.decode(errors="replace")
    if which == "decimal_val":
        return value.decimal_val.digits / 10**value.decimal_val.precision
    if which == "leaflist_val":
        return [typed_value(element) for element in value.leaflist_val.element]
    if which is None:
        return None
    return getattr(value, which)


def _walk(obj: Any, elems: PathElems) -> Iterator[tuple[PathElems, Any]]:
    """Leaves of a JSON value found at `elems` (containers recurse, list entries get their keys back)."""
    if isinstance(obj, dict):
        for raw_name, child in obj.items():
            name = bare(raw_name)
            if isinstance(child, list) and child and all(isinstance(entry, dict) for entry in child):
                for entry in child:
                    entry_bare = {bare(k): v for k, v in entry.items()}
                    keys = tuple(sorted((k, str(entry_bare[k])) for k in LIST_KEYS.get(name, ()) if k in entry_bare))
                    yield from _walk(entry, (*elems, (name, keys)))
            else:
                yield from _walk(child, (*elems, (name, ())))
    else:
        yield elems, obj


def notification_leaves(notification: gnmi_pb2.Notification) -> Iterator[tuple[PathElems, Any]]:
    """(absolute path, scalar) of every leaf a notification updates, whatever its shape."""
    prefix = path_elems(notification.prefix) if notification.HasField("prefix") else ()
    for update in notification.update:
        value = typed_value(update.val) if update.HasField("val") else None
        yield from _walk(value, prefix + path_elems(update.path))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def parse_time(value: Any) -> float | None:
    """Unix time from `2025-12-03T16:26:38.033Z` (YANG date-and-time) or from nanoseconds since the epoch."""
    if isinstance(value, str) and not value.isdigit():
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    number = _int(value)
    if number is None:
        return None
    return number / 1e9 if number > 10**12 else float(number)


_SPEED = re.compile(r"(\d+(?:\.\d+)?)\s*([MGT])B?", re.IGNORECASE)


def parse_speed(value: Any) -> int | None:
    """`25G`, `100G`, `SPEED_100GB` -> bits/s; a bare number is SR OS megabits/s."""
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return int(float(value) * 1_000_000)
    if not isinstance(value, str):
        return None
    match = _SPEED.search(bare(value).replace("SPEED_", ""))
    if not match:
        return None
    scale = {"M": 1_000_000, "G": 1_000_000_000, "T": 1_000_000_000_000}[match.group(2).upper()]
    return int(float(match.group(1)) * scale)


def _state(value: Any) -> str:
    """`UP` / `up` / `openconfig-platform-types:ACTIVE` -> `up`; others lower-cased."""
    text = bare(str(value)).lower()
    return {"active": "up", "inactive": "down"}.get(text, text)


def _admin(value: Any) -> str:
    text = bare(str(value)).lower()
    return {"up": "enable", "down": "disable", "enabled": "enable", "disabled": "disable"}.get(text, text)


def _version(value: Any) -> str:
    """`v25.10.1-399-g90c1dbe35ef` -> `v25.10.1`; `TiMOS-C-25.10.R2` -> `C-25.10.R2`."""
    text = str(value)
    if text.startswith("TiMOS-"):
        text = text[len("TiMOS-") :]
    if text.startswith("v") and "-" in text:
        text = text.split("-", 1)[0]
    return text


def _severity(value: Any) -> str:
    text = bare(str(value)).lower()
    return text if text in Severity.__members__.values() else Severity.WARNING.value


# -- the tables: which leaf means what ----------------------------------------------------------------

_SRL_COUNTERS = {
    "in-octets": "in_octets",
    "out-octets": "out_octets",
    "in-packets": "in_packets",
    "out-packets": "out_packets",
    "in-error-packets": "in_errors",
    "out-error-packets": "out_errors",
    "in-discarded-packets": "in_discards",
    "out-discarded-packets": "out_discards",
}
_SROS_COUNTERS = {
    "in-octets": "in_octets",
    "out-octets": "out_octets",
    "in-packets": "in_packets",
    "out-packets": "out_packets",
    "in-errors": "in_errors",
    "out-errors": "out_errors",
    "in-discards": "in_discards",
    "out-discards": "out_discards",
}
_OC_COUNTERS = {
    "in-octets": "in_octets",
    "out-octets": "out_octets",
    "in-pkts": "in_packets",
    "out-pkts": "out_packets",
    "in-errors": "in_errors",
    "out-errors": "out_errors",
    "in-discards": "in_discards",
    "out-discards": "out_discards",
}

# Container signature (names only) -> {leaf: InterfaceSample field}: one lookup per update, then per leaf.
INTERFACE_CONTAINERS: dict[tuple[str, ...], dict[str, str]] = {
    ("interface", "statistics"): {leaf: name for leaf, name in _SRL_COUNTERS.items()},
    ("interface",): {
        "oper-state": "oper_state",
        "admin-state": "admin_state",
        "description": "description",
        "last-change": "last_change",
    },
    ("interface", "ethernet"): {"port-speed": "speed_bps"},
    ("state", "port", "statistics"): {leaf: name for leaf, name in _SROS_COUNTERS.items()},
    ("state", "port"): {"oper-state": "oper_state", "last-oper-change": "last_change"},
    ("state", "port", "ethernet"): {"oper-speed": "speed_bps"},
    ("configure", "port"): {"admin-state": "admin_state", "description": "description"},
    ("interfaces", "interface", "state", "counters"): {leaf: name for leaf, name in _OC_COUNTERS.items()},
    ("interfaces", "interface", "state"): {
        "oper-status": "oper_state",
        "admin-status": "admin_state",
        "description": "description",
        "last-change": "last_change",
    },
    ("interfaces", "interface", "ethernet", "state"): {"port-speed": "speed_bps"},
}
# Path signature (names only) -> InterfaceSample field, for leaves found deeper inside a container.
INTERFACE_LEAVES: dict[tuple[str, ...], str] = {
    (*container, leaf): name for container, leaves in INTERFACE_CONTAINERS.items() for leaf, name in leaves.items()
}


def _counter(value: Any) -> int | None:
    if type(value) is int:
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return _int(value)


_INTERFACE_PARSERS: dict[str, Callable[[Any], Any]] = {
    "oper_state": _state,
    "admin_state": _admin,
    "description": str,
    "last_change": parse_time,
    "speed_bps": parse_speed,
}


def _interface_name(elems: PathElems) -> str | None:
    for name, keys in elems[:2]:
        if name in ("interface", "port"):
            found = dict(keys)
            return found.get("name") or found.get("port-id")
    return None


def _key(elems: PathElems, list_name: str) -> str | None:
    for name, keys in elems:
        if name == list_name and keys:
            values = dict(keys)
            # The meaningful part of a compound key (chassis class + number) is the number.
            for key in LIST_KEYS.get(list_name, ()):
                if key in values:
                    return values[key]
            return next(iter(values.values()))
    return None


@dataclass
class _HealthParts:
    fields: dict[str, Any] = field(default_factory=dict)
    temperatures: dict[str, TemperatureReading] = field(default_factory=dict)
    temperature_alarms: dict[str, bool] = field(default_factory=dict)
    fans: dict[str, ComponentStatus] = field(default_factory=dict)
    power_supplies: dict[str, ComponentStatus] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)  # OpenConfig components by name
    uptime_cs: int | None = None
    cpu: list[float] = field(default_factory=list)

    def empty(self) -> bool:
        return not (
            self.fields
            or self.temperatures
            or self.fans
            or self.power_supplies
            or self.memory
            or self.components
            or self.uptime_cs is not None
            or self.cpu
        )


def _health_leaf(parts: _HealthParts, sig: tuple[str, ...], elems: PathElems, value: Any) -> bool:
    """Record a health leaf; False if the leaf is not one we know."""
    f = parts.fields
    match sig:
        case ("system", "name", "host-name") | ("state", "system", "oper-name") | ("system", "state", "hostname"):
            f["hostname"] = str(value)
        case ("platform", "chassis", "type") | ("state", "system", "platform"):
            f["chassis"] = str(value)
        case (
            ("system", "information", "version")
            | ("state", "system", "version", "version-number")
            | ("system", "state", "software-version")
        ):
            f["version"] = _version(value)
        case ("system", "information", "last-booted") | ("platform", "chassis", "last-booted"):
            f["boot_time"] = parse_time(value)
        case ("system", "state", "boot-time"):
            f["boot_time"] = parse_time(value)
        case ("state", "system", "up-time"):
            parts.uptime_cs = _int(value)
        case ("platform", "control", "cpu", "total", "instant") | (
            "system",
            "cpus",
            "cpu",
            "state",
            "total",
            "instant",
        ):
            index = (_key(elems, "cpu") or "all").lower()
            if index == "all" and (cpu := _float(value)) is not None:
                parts.cpu.append(cpu)
        case ("state", "system", "cpu", "summary", "usage", "cpu-usage"):
            if (cpu := _float(value)) is not None:
                parts.cpu.append(cpu)
        case ("platform", "control", "memory", leaf) | ("state", "system", "memory-pools", "summary", leaf):
            slot = _key(elems, "control") or "A"
            if slot == "A" and (number := _int(value)) is not None:
                parts.memory[leaf] = number
        case ("system", "memory", "state", leaf):
            if (number := _int(value)) is not None:
                parts.memory[leaf] = number
        case ("platform", "control" | "linecard", "temperature", "instant"):
            sensor = f"{sig[1]} {_key(elems, sig[1])}"
            if (celsius := _float(value)) is not None:
                parts.temperatures[sensor] = TemperatureReading(sensor, celsius)
        case ("platform", "control" | "linecard", "temperature", "alarm-status"):
            parts.temperature_alarms[f"{sig[1]} {_key(elems, sig[1])}"] = bool(value)
        case ("state", "card", "hardware-data", "temperature"):
            sensor = f"card {_key(elems, 'card')}"
            if (celsius := _float(value)) is not None:
                parts.temperatures[sensor] = TemperatureReading(sensor, celsius)
        case ("state", "chassis", "hardware-data", "temperature"):
            if (celsius := _float(value)) is not None:
                parts.temperatures["chassis"] = TemperatureReading("chassis", celsius)
        case ("platform", "fan-tray", "oper-state"):
            name = f"fan-tray {_key(elems, 'fan-tray')}"
            parts.fans[name] = ComponentStatus(name, _state(value))
        case ("state", "chassis", "fan", "hardware-data", "oper-state"):
            name = f"fan {_key(elems, 'fan')}"
            parts.fans[name] = ComponentStatus(name, _state(value))
        case ("platform", "power-supply", "oper-state") | (
            "state",
            "chassis",
            "power-supply",
            "hardware-data",
            "oper-state",
        ):
            name = f"power-supply {_key(elems, 'power-supply')}"
            parts.power_supplies[name] = ComponentStatus(name, _state(value))
        case ("components", "component", "state", *rest):
            name = _key(elems, "component") or "?"
            parts.components.setdefault(name, {})["/".join(rest)] = value
        case _:
            return False
    return True


def _alarm_leaf(alarms: dict[str, dict[str, Any]], sig: tuple[str, ...], elems: PathElems, value: Any) -> bool:
    match sig:
        case ("system", "alarms", "alarm", *rest):
            key = _key(elems, "alarm")
        case ("state", "system", "alarms", "active", *rest):
            key = _key(elems, "active")
        case _:
            return False
    if key is None or not rest:
        return True
    leaf = rest[-1]
    entry = alarms.setdefault(key, {})
    if leaf in ("id", "alarm-id"):
        entry["alarm_id"] = str(value)
    elif leaf == "severity":
        entry["severity"] = _severity(value)
    elif leaf == "resource":
        entry["resource"] = str(value)
    elif leaf in ("text", "details"):
        entry["text"] = str(value)
    elif leaf in ("time-created", "raised-time"):
        entry["raised_at"] = parse_time(value)
    return True


def _alarm_delete(elems: PathElems) -> str | None:
    sig = tuple(name for name, _ in elems)
    if sig[:3] == ("system", "alarms", "alarm") or sig[:4] == ("state", "system", "alarms", "active"):
        return _key(elems, "alarm" if sig[0] == "system" else "active") or "*"
    if sig in (("system", "alarms"), ("state", "system", "alarms")):
        return "*"
    return None


def _health_sample(parts: _HealthParts, device: str, timestamp: float) -> HealthSample | None:
    if parts.empty():
        return None
    fields = dict(parts.fields)
    if parts.uptime_cs is not None:
        fields["boot_time"] = timestamp - parts.uptime_cs / 100
    if parts.cpu:
        fields["cpu_pct"] = max(parts.cpu)
    memory = parts.memory
    total = memory.get("physical") or memory.get("current-total-size")
    used = memory.get("total-in-use") or memory.get("used")
    if used is None and total is not None and "free" in memory:
        used = total - memory["free"]
    if used is None and total is not None and "available-memory" in memory:
        used = total - memory["available-memory"]
    if total is not None:
        fields["memory_total"] = total
    if used is not None:
        fields["memory_used"] = used
    temperatures = dict(parts.temperatures)
    fans, psus = dict(parts.fans), dict(parts.power_supplies)
    for name, leaves in parts.components.items():
        kind = bare(str(leaves.get("type", ""))).upper()
        status = leaves.get("oper-status")
        if "temperature/instant" in leaves and (celsius := _float(leaves["temperature/instant"])) is not None:
            temperatures[name] = TemperatureReading(name, celsius)
        if status is None:
            continue
        if kind == "FAN" or (not kind and "fan" in name.lower()):
            fans[name] = ComponentStatus(name, _state(status))
        elif kind == "POWER_SUPPLY" or (not kind and "power" in name.lower()):
            psus[name] = ComponentStatus(name, _state(status))
    for sensor, alarm in parts.temperature_alarms.items():
        if sensor in temperatures:
            temperatures[sensor] = replace(temperatures[sensor], alarm=alarm)
    if temperatures:
        fields["temperatures"] = tuple(temperatures.values())
    if fans:
        fields["fans"] = tuple(fans.values())
    if psus:
        fields["power_supplies"] = tuple(psus.values())
    if len(fields) == 0:
        return None
    return HealthSample(device=device, timestamp=timestamp, **fields)


_FieldPlan = tuple[tuple[str, str, Callable[[Any], Any]], ...]  # (member name as sent, field, parser)
_PLANS: dict[tuple[tuple[str, ...], tuple[str, ...]], _FieldPlan | None] = {}


def _plan(table: dict[str, str], names: tuple[str, ...], leaves: dict[str, Any]) -> _FieldPlan | None:
    """Which members of a container object become which fields; None if it holds more than scalars.

    A device sends the same container with the same members on every sample, so the plan is made once.
    """
    members = tuple(leaves)
    plan_key = (names, members)
    if plan_key in _PLANS:
        return _PLANS[plan_key]
    plan: _FieldPlan | None = tuple(
        (member, table[bare(member)], _INTERFACE_PARSERS.get(table[bare(member)], _counter))
        for member in members
        if bare(member) in table
    )
    if any(isinstance(value, dict | list) for value in leaves.values()):
        plan = None
    if len(_PLANS) >= _PATH_CACHE_LIMIT:
        _PLANS.clear()
    _PLANS[plan_key] = plan
    return plan


def _interface_fields(
    table: dict[str, str], names: tuple[str, ...], leaves: dict[str, Any], into: dict[str, Any]
) -> bool:
    """Fold a container's scalar leaves into `into`; False if the container holds more than scalars."""
    plan = _plan(table, names, leaves)
    if plan is None:
        return False
    for member, field_name, parser in plan:
        value = leaves[member]
        if value is not None:
            into[field_name] = parser(value)
    return True


def decode_notification(
    notification: gnmi_pb2.Notification, device: str, *, received_at: float | None = None
) -> DecodedNotification:
    """The interface samples, health sample and alarm changes in one notification."""
    stamp = notification.timestamp / 1e9 if notification.timestamp else (received_at or time.time())
    interfaces: dict[str, dict[str, Any]] = {}
    health = _HealthParts()
    alarms: dict[str, dict[str, Any]] = {}
    if notification.HasField("prefix"):
        prefix, prefix_names = _parsed_path(notification.prefix)
    else:
        prefix, prefix_names = (), ()
    prefix_interface = _interface_name(prefix) if prefix else None
    leftovers: list[tuple[PathElems, Any]] = []
    for update in notification.update:
        own, own_names = _parsed_path(update.path)
        elems, names = (prefix + own, prefix_names + own_names) if prefix else (own, own_names)
        value = typed_value(update.val) if update.HasField("val") else None
        if value is None:
            continue
        # Fast path: interface leaves, one update per leaf or one per container (the bulk of all traffic).
        if isinstance(value, dict):
            table = INTERFACE_CONTAINERS.get(names)
            name = (prefix_interface or _interface_name(elems)) if table is not None else None
            if table is not None and name is not None:
                fields = interfaces.setdefault(name, {})
                if _interface_fields(table, names, value, fields):
                    continue
        elif names and (table := INTERFACE_CONTAINERS.get(names[:-1])) is not None:
            field_name = table.get(names[-1])
            if field_name is not None and (name := prefix_interface or _interface_name(elems)) is not None:
                parser = _INTERFACE_PARSERS.get(field_name)
                interfaces.setdefault(name, {})[field_name] = parser(value) if parser else _counter(value)
            continue  # an interface leaf we do not keep (multicast packets, ...)
        leftovers.extend(_walk(value, elems))
    for elems, value in leftovers:
        if value is None:
            continue
        sig = tuple(name for name, _ in elems)
        field_name = INTERFACE_LEAVES.get(sig)
        if field_name is not None:
            name = _interface_name(elems)
            if name is not None:
                parser = _INTERFACE_PARSERS.get(field_name)
                interfaces.setdefault(name, {})[field_name] = parser(value) if parser else _counter(value)
            continue
        if _alarm_leaf(alarms, sig, elems, value):
            continue
        _health_leaf(health, sig, elems, value)
    deletes = []
    for path in notification.delete:
        key = _alarm_delete(prefix + path_elems(path))
        if key is not None:
            deletes.append(key)
    return DecodedNotification(
        timestamp=stamp,
        interfaces=tuple(
            InterfaceSample(device=device, name=name, timestamp=stamp, **fields)
            for name, fields in interfaces.items()
            if fields
        ),
        health=_health_sample(health, device, stamp) if leftovers else None,
        alarm_updates=tuple(AlarmUpdate(key=key, **fields) for key, fields in alarms.items()),
        alarm_deletes=tuple(deletes),
    )


def decode_samples(
    notification: gnmi_pb2.Notification, device: str, *, received_at: float | None = None
) -> list[InterfaceSample | HealthSample]:
    """Just the interface and health samples of a notification (alarm changes go through an AlarmBook)."""
    return decode_notification(notification, device, received_at=received_at).samples


def decode_response(
    response: gnmi_pb2.SubscribeResponse, device: str, *, received_at: float | None = None
) -> DecodedNotification | SyncMarker | None:
    """A SubscribeResponse: its notification decoded, a SyncMarker, or None for anything else."""
    which = response.WhichOneof("response")
    if which == "update":
        return decode_notification(response.update, device, received_at=received_at)
    if which == "sync_response":
        return SyncMarker(device, received_at or time.time())
    return None


# -- books: whole views out of partial pieces ---------------------------------------------------------


class AlarmBook:
    """The active alarms of one device, kept up to date from alarm updates and deletes."""

    def __init__(self, device: str) -> None:
        self.device = device
        self._entries: dict[str, dict[str, Any]] = {}

    def apply(self, decoded: DecodedNotification) -> bool:
        """Fold one notification's alarm changes in; True if anything changed."""
        changed = False
        for key in decoded.alarm_deletes:
            if key == "*":
                changed = changed or bool(self._entries)
                self._entries.clear()
            elif self._entries.pop(key, None) is not None:
                changed = True
        for update in decoded.alarm_updates:
            entry = self._entries.setdefault(update.key, {})
            for name in ("alarm_id", "severity", "resource", "text", "raised_at"):
                value = getattr(update, name)
                if value is not None and entry.get(name) != value:
                    entry[name] = value
                    changed = True
        return changed

    def clear(self) -> None:
        self._entries.clear()

    def alarms(self) -> tuple[Alarm, ...]:
        return tuple(
            Alarm(
                device=self.device,
                alarm_id=entry.get("alarm_id", key),
                severity=Severity(entry.get("severity", Severity.WARNING.value)),
                resource=entry.get("resource", ""),
                text=entry.get("text", ""),
                raised_at=entry.get("raised_at"),
            )
            for key, entry in self._entries.items()
        )


class HealthBook:
    """The latest health of one device, merged from partial HealthSamples (temperatures etc. by name)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self._fields: dict[str, Any] = {}
        self._temperatures: dict[str, TemperatureReading] = {}
        self._fans: dict[str, ComponentStatus] = {}
        self._power_supplies: dict[str, ComponentStatus] = {}
        self.timestamp = 0.0

    def merge(self, sample: HealthSample, alarms: tuple[Alarm, ...] | None = None) -> HealthSample:
        """Fold a partial sample in and return the whole view (alarms given by the caller's AlarmBook)."""
        self.timestamp = max(self.timestamp, sample.timestamp)
        for name in ("hostname", "chassis", "version", "boot_time", "cpu_pct", "memory_total", "memory_used"):
            value = getattr(sample, name)
            if value is not None:
                self._fields[name] = value
        for reading in sample.temperatures or ():
            self._temperatures[reading.sensor] = reading
        for fan in sample.fans or ():
            self._fans[fan.component] = fan
        for psu in sample.power_supplies or ():
            self._power_supplies[psu.component] = psu
        return self.view(alarms)

    def view(self, alarms: tuple[Alarm, ...] | None = None) -> HealthSample:
        return HealthSample(
            device=self.device,
            timestamp=self.timestamp,
            temperatures=tuple(self._temperatures.values()) if self._temperatures else None,
            fans=tuple(self._fans.values()) if self._fans else None,
            power_supplies=tuple(self._power_supplies.values()) if self._power_supplies else None,
            alarms=alarms,
            **self._fields,
        )


def merge_interface(previous: InterfaceSample | None, sample: InterfaceSample) -> InterfaceSample:
    """A sample with the fields `sample` lacks filled from `previous` (for callers that want whole views)."""
    if previous is None:
        return sample
    filled: Mapping[str, Any] = {
        name: getattr(previous, name)
        for name in InterfaceSample.__dataclass_fields__
        if getattr(sample, name) is None and getattr(previous, name) is not None
    }
    return replace(sample, **filled) if filled else sample
