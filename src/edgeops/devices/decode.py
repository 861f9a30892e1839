"""gNMI notifications from SR Linux, SR OS or OpenConfig into interface batches and HealthSample values.

Decoding is pure: a notification in, what it carries out (one InterfaceBatch of its interfaces, health, alarm
changes), fields it did not carry left as None. It copes with every shape the devices send: JSON_IETF or JSON (or
typed PROTO/ASCII values), one update per container with a JSON object or one update per leaf, a `prefix` or full
paths, with or without module prefixes. Two small books (AlarmBook, HealthBook) turn the partial pieces of a stream
into whole views.
"""

from __future__ import annotations

import datetime as dt
import json
import json.scanner
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pygnmi.spec.v080 import gnmi_pb2

from edgeops.devices.interface_rows import INTERFACE_ROW_FIELDS, ROW_INDEX, InterfaceBatch, InterfaceRow
from edgeops.devices.normalize import bare, parse_speed, severity, state
from edgeops.devices.samples import (
    Alarm,
    ComponentStatus,
    HealthSample,
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
    "cpm": ("cpm-slot",),
    "active": ("raised-time", "index"),
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
    derived: bool = False  # worked out from a state leaf (derived_alarm), not listed by the device


class DecodedNotification:
    """Everything one notification said: its interfaces (as one batch), health, alarm changes, and (when decoded
    with a PathGrouping) the subscription groups its paths belong to."""

    __slots__ = ("alarm_deletes", "alarm_updates", "device", "groups", "health", "interfaces", "timestamp")

    def __init__(
        self,
        device: str,
        timestamp: float,
        rows: dict[str, InterfaceRow] | None = None,
        health: HealthSample | None = None,
        alarm_updates: tuple[AlarmUpdate, ...] = (),
        alarm_deletes: tuple[str, ...] = (),
        groups: tuple[str, ...] = (),
    ) -> None:
        self.device = device
        self.timestamp = timestamp  # unix time the device stamped the notification with
        self.interfaces = InterfaceBatch(device, timestamp, rows if rows is not None else {})
        self.health = health
        self.alarm_updates = alarm_updates
        self.alarm_deletes = alarm_deletes  # entry keys; "*" when the whole alarm list was deleted
        self.groups = groups  # sorted group names; () when decoded without a grouping or no path is a group's

    @property
    def touches_alarms(self) -> bool:
        return bool(self.alarm_updates or self.alarm_deletes)


class PathGrouping(Protocol):
    """Which subscription groups a path belongs to, by its element names (devices.gnmi_paths.GroupMatcher).

    decode_notification asks it about the paths it walks anyway, so a call carrying several groups learns each
    notification's groups without parsing its paths a second time.
    """

    def group_above(self, names: tuple[str, ...]) -> str | None:
        """The group whose path `names` lies under, if any: a prefix that decides a whole notification."""
        ...

    def groups_at(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The groups of one update or delete path (absolute names), sorted; () when it is nobody's."""
        ...


def merge_groups(found: tuple[str, ...], more: tuple[str, ...]) -> tuple[str, ...]:
    """`found` and `more` together, sorted (both are sorted already)."""
    if not more or more == found:
        return found
    if not found:
        return more
    if len(more) == 1 and more[0] in found:  # the usual case once a notification has mixed two groups
        return found
    return tuple(sorted({*found, *more}))


# -- values and paths ---------------------------------------------------------------------------------


_JSON_DECODER = json.JSONDecoder()  # json.loads() on bytes would sniff the encoding on every call
# The decoder's scanner, called directly: decode() adds two whitespace matches around every value.
_JSON_SCAN = json.scanner.make_scanner(_JSON_DECODER)  # type: ignore[arg-type]
_PATH_CACHE: dict[bytes, tuple[PathElems, tuple[str, ...]]] = {}
_PATH_CACHE_LIMIT = 100_000


def _parsed_path(path: gnmi_pb2.Path) -> tuple[PathElems, tuple[str, ...]]:
    """(elements, their names) of a Path, module prefixes stripped.

    Devices send the same paths on every sample, so parsed paths are remembered by their wire bytes.
    """
    wire = path.SerializeToString()
    found = _PATH_CACHE.get(wire)
    if found is None:
        found = _parse_path(path)
        if len(_PATH_CACHE) >= _PATH_CACHE_LIMIT:
            _PATH_CACHE.clear()
        _PATH_CACHE[wire] = found
    return found


def _parse_path(path: gnmi_pb2.Path) -> tuple[PathElems, tuple[str, ...]]:
    elems = tuple((bare(elem.name), tuple(sorted(elem.key.items()))) for elem in path.elem)
    elems += tuple((bare(name), ()) for name in path.element)
    return elems, tuple(name for name, _ in elems)


def path_names(path: gnmi_pb2.Path) -> tuple[str, ...]:
    """The element names of a Path (keys left out), module prefixes stripped."""
    return _parsed_path(path)[1]


def path_elems(path: gnmi_pb2.Path | None) -> PathElems:
    """A Path as ((name, ((key, value), ...)), ...), module prefixes stripped."""
    return _parsed_path(path)[0] if path is not None else ()


def _json(raw: bytes) -> Any:
    """JSON text to Python, short-cutting the two shapes most leaves have: a quoted counter and a number."""
    if len(raw) > 1 and raw[0] == 0x22 and raw[-1] == 0x22 and 0x5C not in raw:  # "…" without escapes
        return raw[1:-1].decode()
    if raw and raw[0] in b"-0123456789" and raw.isdigit():
        return int(raw)
    if not raw:
        return None
    text = raw.decode()
    try:
        value, end = _JSON_SCAN(text, 0)
        if end == len(text):
            return value
    except StopIteration:  # what the scanner raises where decode() raises JSONDecodeError
        pass
    return _JSON_DECODER.decode(text)


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


def _state(value: Any) -> str:
    return state(value) or ""


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
    return (severity(value) or Severity.WARNING).value


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
    ("state", "port"): {"oper-state": "oper_state", "oper-state-last-changed": "last_change"},
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


class WordParser:
    """A parser of a leaf whose values are a handful of words (states, speeds), remembering its answers by the value
    as sent, up to `limit` of them: each value is parsed once, and every interface row shares one result object
    instead of a fresh string or int per sample (a fleet holds thousands of rows)."""

    __slots__ = ("_answers", "_limit", "_parse")

    def __init__(self, parse: Callable[[Any], Any], *, limit: int = 256) -> None:
        self._parse = parse
        self._limit = limit
        self._answers: dict[Any, Any] = {}

    def __call__(self, value: Any) -> Any:
        # By type too: True and 1 are one dict key, but not one speed.
        key = value if type(value) is str else (type(value), value)
        try:
            return self._answers[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable value (a device sending a container where a leaf belongs)
            return self._parse(value)
        answer = self._parse(value)
        if len(self._answers) < self._limit:
            self._answers[key] = answer
        return answer

    def __len__(self) -> int:
        return len(self._answers)


_INTERFACE_PARSERS: dict[str, Callable[[Any], Any]] = {
    "oper_state": WordParser(_state),
    "admin_state": WordParser(_admin),
    "description": str,
    "last_change": parse_time,
    "speed_bps": WordParser(parse_speed),
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
        case ("state", "card" | "cpm", "hardware-data", "temperature"):
            sensor = f"{sig[1]} {_key(elems, sig[1])}"
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
    """Record a leaf of SR OS's alarm list (`/state/system/alarms/active[raised-time][index]`); False if not one."""
    if sig[:4] != ("state", "system", "alarms", "active"):
        return False
    key = _entry_key(elems, "active")
    rest = sig[4:]
    if key is None or not rest:
        return True
    leaf = rest[-1]
    entry = alarms.setdefault(key, {})
    if rest == ("alarm-id", "full-id"):
        entry["alarm_id"] = str(value)
    elif leaf == "severity":
        entry["severity"] = _severity(value)
    elif leaf == "resource":
        entry["resource"] = str(value)
    elif leaf == "details":
        entry["text"] = str(value)
    elif leaf == "raised-time":
        entry["raised_at"] = parse_time(value)
    return True


def _entry_key(elems: PathElems, list_name: str) -> str | None:
    """A list entry's whole key (every key value, in the schema's order), e.g. `2025-12-03T16:26:38.0Z|7`."""
    for name, keys in elems:
        if name == list_name and keys:
            values = dict(keys)
            return "|".join(values.get(key, "") for key in LIST_KEYS.get(list_name, tuple(sorted(values))))
    return None


def _alarm_deletes(elems: PathElems) -> tuple[str, ...]:
    """The alarm keys a deleted path takes away: an SR OS alarm entry ("*": the whole list), or derived alarms."""
    sig = tuple(name for name, _ in elems)
    if sig[:4] == ("state", "system", "alarms", "active"):
        return (_entry_key(elems, "active") or "*",)
    if sig == ("state", "system", "alarms"):
        return ("*",)
    return _derived_deletes(sig, elems)


# -- alarms derived from state ----------------------------------------------------------------------------
#
# SR Linux keeps no alarm list, natively or in OpenConfig (its deviations mark /system/alarms not-supported). Its
# alarms are worked out here, and only here, from what it does report: a module's, fan tray's or power supply's
# oper-state, a temperature's alarm-status, an interface's oper-down-reason (and, on the OpenConfig map, a
# component's oper-status and temperature alarm-status). Each rule maps one state leaf to the one alarm it raises or
# clears; the gNMI decoder and the SSH fallback (derive_alarms) share the rules.

DERIVED = "derived:"  # prefix of a derived alarm's key, so it never meets a key from a device's alarm list
# srl_nokia-common:oper-state values that mean a fault (empty, booting, starting... are not alarms).
_FAULTY_OPER_STATES = frozenset({"down", "failed", "degraded"})
# Interface oper-down-reasons that are an operator's choice, not a fault.
_ADMIN_DOWN_REASONS = frozenset({"port-admin-disabled", "mda-admin-disabled"})
_PART_SEVERITY = {
    "chassis": Severity.CRITICAL,
    "control": Severity.CRITICAL,
    "linecard": Severity.MAJOR,
    "fan-tray": Severity.MAJOR,
    "power-supply": Severity.MAJOR,
}
# Leaves below an interface that a derived alarm reads, although no InterfaceSample field keeps them.
DERIVED_INTERFACE_LEAVES = frozenset({("interface", "oper-down-reason")})

DerivedChange = tuple[str, AlarmUpdate | None]  # (key, the alarm it raises) or (key, None): cleared


def _raise(key: str, resource: str, severity: Severity, text: str) -> DerivedChange:
    return key, AlarmUpdate(
        key=key, alarm_id=key.removeprefix(DERIVED), severity=severity.value, resource=resource, text=text, derived=True
    )


def interface_alarm_key(name: str) -> str:
    return f"{DERIVED}{name}/oper-down-reason"


def _part_keys(resource: str) -> tuple[str, str]:
    return f"{DERIVED}{resource}/oper-state", f"{DERIVED}{resource}/temperature"


def derived_alarm(sig: tuple[str, ...], elems: PathElems, value: Any) -> DerivedChange | None:
    """The alarm a state leaf raises or clears; None if the leaf is not one alarms are derived from."""
    match sig:
        case ("platform", "chassis", "oper-state"):
            return _oper_state_alarm("chassis", "chassis", value)
        case ("platform", "control" | "linecard" | "fan-tray" | "power-supply", "oper-state"):
            return _oper_state_alarm(sig[1], f"{sig[1]} {_key(elems, sig[1])}", value)
        case ("platform", "control" | "linecard" | "power-supply", "temperature", "alarm-status"):
            resource = f"{sig[1]} {_key(elems, sig[1])}"
            key = _part_keys(resource)[1]
            if value is True or str(value).lower() == "true":
                return _raise(key, resource, Severity.MAJOR, f"{resource} temperature alarm-status is true")
            return key, None
        case ("interface", "oper-down-reason"):
            name = _key(elems, "interface") or "?"
            reason = bare(str(value))
            if reason in _ADMIN_DOWN_REASONS:
                return interface_alarm_key(name), None
            return _raise(interface_alarm_key(name), name, Severity.MAJOR, f"{name} is down, reason {reason}")
        case ("components", "component", "state", "oper-status"):
            name = _key(elems, "component") or "?"
            state = bare(str(value)).upper()
            key = _part_keys(name)[0]
            if state == "INACTIVE":  # DISABLED is an operator's choice
                return _raise(key, name, Severity.MAJOR, f"{name} oper-status is {state}")
            return key, None
        case ("components", "component", "state", "temperature", "alarm-status"):
            name = _key(elems, "component") or "?"
            key = _part_keys(name)[1]
            if value is True or str(value).lower() == "true":
                return _raise(key, name, Severity.MAJOR, f"{name} temperature alarm-status is true")
            return key, None
    return None


def _oper_state_alarm(kind: str, resource: str, value: Any) -> DerivedChange:
    key = _part_keys(resource)[0]
    state = _state(value)
    if state in _FAULTY_OPER_STATES:
        return _raise(key, resource, _PART_SEVERITY[kind], f"{resource} oper-state is {state}")
    return key, None


def _derived_deletes(sig: tuple[str, ...], elems: PathElems) -> tuple[str, ...]:
    """Derived alarms a deleted path clears: an interface's oper-down-reason (it is up again), or a whole part."""
    match sig:
        case ("interface", "oper-down-reason") | ("interface",):
            name = _key(elems, "interface")
            return (interface_alarm_key(name),) if name else ()
        case ("platform", "control" | "linecard" | "fan-tray" | "power-supply"):
            ident = _key(elems, sig[1])
            return _part_keys(f"{sig[1]} {ident}") if ident else ()
        case ("components", "component"):
            name = _key(elems, "component")
            return _part_keys(name) if name else ()
    return ()


def derived_from_document(document: Any, timestamp: float) -> dict[str, AlarmUpdate]:
    """The derived alarms a whole state document raises (e.g. `info from state /platform | as json`, parsed), by key.

    The document is walked from the root, as RFC 7951 JSON with or without module names.
    """
    raised: dict[str, AlarmUpdate] = {}
    for elems, value in _walk(document, ()):
        if value is None:
            continue
        change = derived_alarm(tuple(name for name, _ in elems), elems, value)
        if change is not None and change[1] is not None:
            raised[change[0]] = replace(change[1], raised_at=timestamp)
    return raised


def derive_alarms(device: str, document: Any, timestamp: float) -> tuple[Alarm, ...]:
    """The alarms a whole state document derives, raised at `timestamp` (see AlarmBook.apply_document)."""
    book = AlarmBook(device)
    book.apply_document(document, timestamp)
    return book.alarms()


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


# -- the fast path: what each update path means, worked out once ------------------------------------------
#
# A device sends the same paths on every sample, so what a path means (which interface, which container, which
# row slot each leaf fills) is worked out the first time it is seen and remembered by its wire bytes: per update
# that leaves one serialisation, one dict lookup and the value itself.

_CONTAINER, _LEAF, _SKIP, _OTHER = range(4)
# (kind, interface name, members or slot, parser, elems, names): members maps a JSON member as sent to (slot, parser) or
# None for members we do not keep; parser None means a counter.
# names: the element names of elems (what a PathGrouping is asked about).
_Plan = tuple[int, str | None, Any, Callable[[Any], Any] | None, PathElems, tuple[str, ...]]
_Member = tuple[int, Callable[[Any], Any] | None] | None
_UNSEEN: Any = object()
_NESTED: Any = object()  # a member holding a container or a list
_DERIVING: Any = object()  # a leaf no field keeps but a derived alarm reads (an interface's oper-down-reason)


class _Context:
    """What a notification prefix says, and the plans of the update paths seen under it."""

    __slots__ = ("elems", "interface", "names", "plans")

    def __init__(self, elems: PathElems, names: tuple[str, ...]) -> None:
        self.elems = elems
        self.names = names
        self.interface = _interface_name(elems) if elems else None
        self.plans: dict[bytes, _Plan] = {}


_CONTEXTS: dict[bytes, _Context] = {}
_MEMBERS: dict[tuple[str, ...], dict[str, _Member]] = {}  # by container signature
_NO_PREFIX = b""


def _context(wire: bytes, prefix: gnmi_pb2.Path | None) -> _Context:
    context = _CONTEXTS.get(wire)
    if context is None:
        elems, names = _parsed_path(prefix) if prefix is not None else ((), ())
        if len(_CONTEXTS) >= _PATH_CACHE_LIMIT:
            _CONTEXTS.clear()
        context = _CONTEXTS[wire] = _Context(elems, names)
    return context


def _row_parser(field_name: str) -> Callable[[Any], Any] | None:
    return _INTERFACE_PARSERS.get(field_name)  # None: a counter


def _make_plan(context: _Context, path: gnmi_pb2.Path) -> _Plan:
    own, own_names = _parse_path(path)  # the plan is what is remembered
    elems, names = context.elems + own, context.names + own_names
    table = INTERFACE_CONTAINERS.get(names)
    if table is not None:
        name = context.interface or _interface_name(elems)
        if name is not None:
            # What each member fills depends on the container, not on the interface: one table for all.
            return (_CONTAINER, name, _MEMBERS.setdefault(names, {}), None, elems, names)
        return (_OTHER, None, None, None, elems, names)
    if names and (table := INTERFACE_CONTAINERS.get(names[:-1])) is not None:
        field_name = table.get(names[-1])
        name = context.interface or _interface_name(elems)
        if field_name is not None and name is not None:
            return (_LEAF, name, ROW_INDEX[field_name], _row_parser(field_name), elems, names)
        if names in DERIVED_INTERFACE_LEAVES:
            return (_OTHER, None, None, None, elems, names)
        return (_SKIP, None, None, None, elems, names)  # an interface leaf we do not keep (multicast packets, ...)
    return (_OTHER, None, None, None, elems, names)


def _member(plan: _Plan, member: str, value: Any) -> _Member:
    """What one member of a container's JSON object fills (remembered in the plan).

    A member is a leaf or a container by the schema, so what its first value shows holds for the next ones.
    """
    signature = plan[5]
    table = INTERFACE_CONTAINERS[signature]
    field_name = table.get(bare(member))
    found: _Member
    if field_name is not None:
        found = (ROW_INDEX[field_name], _row_parser(field_name))
    elif type(value) is dict or type(value) is list:
        found = _NESTED
    elif (*signature, bare(member)) in DERIVED_INTERFACE_LEAVES:
        found = _DERIVING
    else:
        found = None
    members: dict[str, _Member] = plan[2]
    if len(members) < 256:  # a device inventing member names must not grow the plan without bound
        members[member] = found
    return found


def _raw_json(value: gnmi_pb2.TypedValue) -> bytes | None:
    """The JSON text of a JSON or JSON_IETF value; None for every other kind."""
    which = value.WhichOneof("value")
    if which == "json_ietf_val":
        return value.json_ietf_val
    if which == "json_val":
        return value.json_val
    return None


def _counter_json(raw: bytes) -> int | None:
    """A counter's JSON text (`"123"` or `123`) as an int, without a JSON parse in the usual case."""
    try:
        return int(raw[1:-1] if raw[:1] == b'"' else raw)
    except ValueError:
        return _counter(_json(raw))


_EMPTY_ROW: tuple[None, ...] = (None,) * len(INTERFACE_ROW_FIELDS)
_OPER_STATE = ROW_INDEX["oper_state"]


def decode_notification(
    notification: gnmi_pb2.Notification,
    device: str,
    *,
    received_at: float | None = None,
    grouping: PathGrouping | None = None,
) -> DecodedNotification:
    """The interface rows, health sample and alarm changes in one notification; with `grouping`, also the groups
    its paths belong to (a prefix under a group's path decides for the whole notification, else every update and
    delete path counts)."""
    stamp = notification.timestamp / 1e9 if notification.timestamp else (received_at or time.time())
    rows: dict[str, InterfaceRow] = {}
    if notification.HasField("prefix"):
        prefix = notification.prefix
        context = _context(prefix.SerializeToString(), prefix)
    else:
        context = _context(_NO_PREFIX, None)
    plans = context.plans
    groups: tuple[str, ...] = ()
    groups_at = None  # asked per path, unless the prefix decided
    if grouping is not None:
        above = grouping.group_above(context.names) if context.names else None
        if above is not None:
            groups = (above,)
        else:
            groups_at = grouping.groups_at
    leftovers: list[tuple[PathElems, Any]] = []
    for update in notification.update:
        path = update.path
        wire = path.SerializeToString()
        plan = plans.get(wire)
        if plan is None:
            plan = _make_plan(context, path)
            if len(plans) >= _PATH_CACHE_LIMIT:
                plans.clear()
            plans[wire] = plan
        if groups_at is not None:
            found = groups_at(plan[5])
            if found and found != groups:
                groups = merge_groups(groups, found)
        kind = plan[0]
        if kind == _SKIP:
            continue
        val = update.val
        if kind == _LEAF:
            raw = _raw_json(val)
            parser = plan[3]
            if raw is not None and parser is None:
                value = _counter_json(raw)
            else:
                value = _json(raw) if raw is not None else typed_value(val)
                if value is None:
                    continue
                value = _counter(value) if parser is None else parser(value)
            if value is None:
                continue
            name = plan[1]
            row = rows.get(name)  # type: ignore[arg-type]
            if row is None:
                row = rows[name] = list(_EMPTY_ROW)  # type: ignore[index]
            row[plan[2]] = value
            continue
        raw = _raw_json(val)
        obj = _json(raw) if raw is not None else typed_value(val)
        if obj is None:
            continue
        if kind == _CONTAINER and type(obj) is dict:
            members: dict[str, _Member] = plan[2]
            name = plan[1]
            row = rows.get(name)  # type: ignore[arg-type]
            for member, child in obj.items():
                spec = members.get(member, _UNSEEN)
                if spec is _UNSEEN:
                    spec = _member(plan, member, child)
                if spec is None:  # a leaf we do not keep
                    continue
                if spec is _NESTED:  # deeper data: the general walk
                    if type(child) is dict or type(child) is list:
                        leftovers.extend(_walk(child, (*plan[4], (bare(member), ()))))
                    continue
                if spec is _DERIVING:
                    leftovers.append(((*plan[4], (bare(member), ())), child))
                    continue
                if child is None:
                    continue
                index, parser = spec
                if row is None:
                    row = rows[name] = list(_EMPTY_ROW)  # type: ignore[index]
                if parser is None:
                    try:
                        row[index] = int(child)
                    except (TypeError, ValueError):
                        row[index] = _counter(child)
                else:
                    row[index] = parser(child)
            continue
        leftovers.extend(_walk(obj, plan[4]))
    health: HealthSample | None = None
    alarm_updates: tuple[AlarmUpdate, ...] = ()
    cleared: list[str] = []
    if leftovers:
        health, alarm_updates, cleared = _slow_leaves(leftovers, rows, device, stamp)
    for path in notification.delete:
        elems, names = _parsed_path(path)
        cleared.extend(_alarm_deletes(context.elems + elems))
        if groups_at is not None:
            groups = merge_groups(groups, groups_at(context.names + names))
    for name, row in rows.items():
        if row[_OPER_STATE] == "up":  # an interface that is up has no oper-down-reason left
            cleared.append(interface_alarm_key(name))
    return DecodedNotification(device, stamp, rows, health, alarm_updates, tuple(cleared), groups)


def _slow_leaves(
    leftovers: list[tuple[PathElems, Any]], rows: dict[str, InterfaceRow], device: str, stamp: float
) -> tuple[HealthSample | None, tuple[AlarmUpdate, ...], list[str]]:
    """Leaves found by walking JSON values: interface leaves deep in a container, health, alarms (the device's and
    derived ones); returns the health, the alarm updates and the keys of derived alarms cleared."""
    health = _HealthParts()
    alarms: dict[str, dict[str, Any]] = {}
    derived: dict[str, AlarmUpdate] = {}
    cleared: list[str] = []
    for elems, value in leftovers:
        if value is None:
            continue
        sig = tuple(name for name, _ in elems)
        field_name = INTERFACE_LEAVES.get(sig)
        if field_name is not None:
            name = _interface_name(elems)
            if name is not None:
                parser = _INTERFACE_PARSERS.get(field_name)
                row = rows.get(name)
                if row is None:
                    row = rows[name] = list(_EMPTY_ROW)
                row[ROW_INDEX[field_name]] = parser(value) if parser else _counter(value)
            continue
        if _alarm_leaf(alarms, sig, elems, value):
            continue
        change = derived_alarm(sig, elems, value)
        if change is not None:
            key, update = change
            if update is None:
                cleared.append(key)
            else:
                derived[key] = replace(update, raised_at=stamp)
        _health_leaf(health, sig, elems, value)
    updates = tuple(AlarmUpdate(key=key, **fields) for key, fields in alarms.items()) + tuple(derived.values())
    return _health_sample(health, device, stamp), updates, cleared


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
                # An alarm is raised once: a derived alarm, raised again by every sample, keeps its first time.
                if name == "raised_at" and "raised_at" in entry:
                    continue
                if value is not None and entry.get(name) != value:
                    entry[name] = value
                    changed = True
            if update.derived and not entry.get("derived"):
                entry["derived"] = True
                changed = True
        return changed

    def apply_document(self, document: Any, timestamp: float) -> bool:
        """Fold in the derived alarms of a whole state document (polled over SSH): what it raises is active, a
        derived alarm it no longer raises is cleared, and an alarm still active keeps the time it was first raised.
        True if anything changed."""
        raised = derived_from_document(document, timestamp)
        gone = tuple(key for key, entry in self._entries.items() if entry.get("derived") and key not in raised)
        return self.apply(
            DecodedNotification(self.device, timestamp, alarm_updates=tuple(raised.values()), alarm_deletes=gone)
        )

    def clear(self) -> None:
        self._entries.clear()

    def forget_listed(self) -> None:
        """Drop the alarms the device listed (keep the derived ones): its list is about to be read afresh."""
        self._entries = {key: entry for key, entry in self._entries.items() if entry.get("derived")}

    def alarms(self) -> tuple[Alarm, ...]:
        return tuple(
            Alarm(
                device=self.device,
                alarm_id=entry.get("alarm_id", key),
                severity=Severity(entry.get("severity", Severity.WARNING.value)),
                resource=entry.get("resource", ""),
                text=entry.get("text", ""),
                raised_at=entry.get("raised_at"),
                derived=entry.get("derived", False),
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
