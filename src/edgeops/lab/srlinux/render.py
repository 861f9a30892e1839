"""What a simulated SR Linux device prints: its YANG state tree, `info` and JSON encodings, and the show reports."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from edgeops.lab.faults import HOSTILE_DESCRIPTION
from edgeops.lab.model import Counters, DeviceModel, LabInterface
from edgeops.naming import natural_key

RULE_WIDTH = 120  # SR Linux draws rules across the terminal; 120 columns is what most engineers run
TABLE_WIDTH = 120
MGMT_IFINDEX = 1077952510
MEMORY_KB = 1024


# -- values -------------------------------------------------------------------------------------------


class U64(int):
    """A 64-bit YANG integer (counters, bytes, bps): JSON_IETF carries it as a string."""


@dataclass(frozen=True)
class Timestamp:
    """A YANG date-and-time leaf; the CLI adds how long ago it was, JSON carries the bare timestamp."""

    at: float


def iso_time(at: float) -> str:
    stamp = datetime.fromtimestamp(at, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def compact_duration(seconds: float) -> str:
    """`20h59m20s`, `3d4h0m12s`: how SR Linux show reports print an age."""
    rest = max(0, int(seconds))
    days, rest = divmod(rest, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    text = f"{days}d" if days else ""
    if days or hours:
        text += f"{hours}h"
    if days or hours or minutes:
        text += f"{minutes}m"
    return f"{text}{secs}s"


def natural_age(seconds: float) -> str:
    """`a day ago`, `5 hours ago`: the suffix `info` puts after a timestamp."""
    secs = max(0, int(seconds))
    if secs == 0:
        return "now"
    units = (
        (60, 1, "second"),
        (3_600, 60, "minute"),
        (86_400, 3_600, "hour"),
        (2_592_000, 86_400, "day"),
        (31_536_000, 2_592_000, "month"),
    )
    for limit, size, name in units:
        if secs < limit:
            return _ago(secs // size, name)
    return _ago(secs // 31_536_000, "year")


def _ago(count: int, unit: str) -> str:
    if count == 1:
        return f"{'an' if unit == 'hour' else 'a'} {unit} ago"
    return f"{count} {unit}s ago"


def speed_label(bps: int) -> str:
    if bps >= 1_000_000_000:
        return f"{bps // 1_000_000_000}G"
    return f"{bps // 1_000_000}M"


# -- the YANG state tree ------------------------------------------------------------------------------


Node = dict[str, Any]


class YangList:
    """A keyed YANG list whose entries are built on demand (a 57-port device need not build 57 entries)."""

    def __init__(self, key: str, keys: list[str], build: Callable[[str], Node]) -> None:
        self.key = key
        self.keys = keys
        self._build = build

    @classmethod
    def of(cls, key: str, entries: Mapping[str, Node]) -> YangList:
        return cls(key, list(entries), entries.__getitem__)

    def entry(self, key: str) -> Node:
        return self._build(key)

    def entries(self) -> Iterator[tuple[str, Node]]:
        for key in self.keys:
            yield key, self._build(key)


class UnknownToken(Exception):
    def __init__(self, token: str, options: list[str]) -> None:
        super().__init__(token)
        self.token = token
        self.options = options


class NoSuchObject(Exception):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


@dataclass(frozen=True)
class HardwareNames:
    """Part names SR Linux reports for a chassis model's modules."""

    linecard: str
    fan_tray: str
    power_supply: str
    psu_watts: int
    clei: str
    cpu: str
    cpu_ghz: str
    form_factor: str


HARDWARE_NAMES: dict[str, HardwareNames] = {
    "7220 IXR-D1": HardwareNames(
        "imm48-1gb-sfp+4-10gb-sfp+",
        "fan-ixr-d1",
        "psu-ixr-d1-ac",
        400,
        "INM6L00ARA",
        "Intel(R) Atom(TM) C3558",
        "2.20",
        "SFP",
    ),
    "7220 IXR-D2L": HardwareNames(
        "imm48-25g-sfp28+8-100g-qsfp28",
        "fan-ixr-d2",
        "psu-ixr-d2-ac",
        800,
        "INM7J00ARA",
        "Intel(R) Xeon(R) D-1518",
        "2.20",
        "SFP28",
    ),
    "7220 IXR-D3L": HardwareNames(
        "imm32-100g-qsfp28+2-10g-sfp+",
        "fan-ixr-d3",
        "psu-ixr-d3-ac",
        1100,
        "INM7K00ARA",
        "Intel(R) Xeon(R) D-1518",
        "2.20",
        "QSFP28",
    ),
}
GENERIC_NAMES = HardwareNames(
    "imm-ixr", "fan-ixr", "psu-ixr-ac", 800, "INM0000ARA", "Intel(R) Xeon(R) D-1518", "2.20", "SFP28"
)


def hardware_names(model: DeviceModel) -> HardwareNames:
    return HARDWARE_NAMES.get(model.hardware.model, GENERIC_NAMES)


def software_version(model: DeviceModel) -> str:
    """`v25.10.1-399-g90c1dbe35ef`: what /system/information/version carries."""
    ident = model.identity
    return f"{ident.version}-{ident.build}" if ident.build else ident.version


def interface_counters(iface: LabInterface) -> dict[str, U64]:
    """/interface/statistics, in the device's order; every reader of counters goes through here."""
    c = iface.counters
    v = Counters.value
    return {
        "in-packets": U64(v(c.in_packets)),
        "in-octets": U64(v(c.in_octets)),
        "in-unicast-packets": U64(v(c.in_unicast)),
        "in-broadcast-packets": U64(v(c.in_broadcast)),
        "in-multicast-packets": U64(v(c.in_multicast)),
        "in-discarded-packets": U64(v(c.in_discards)),
        "in-error-packets": U64(v(c.in_errors)),
        "in-fcs-error-packets": U64(v(c.in_fcs_errors)),
        "out-packets": U64(v(c.out_packets)),
        "out-octets": U64(v(c.out_octets)),
        "out-mirror-octets": U64(0),
        "out-unicast-packets": U64(v(c.out_unicast)),
        "out-broadcast-packets": U64(v(c.out_broadcast)),
        "out-multicast-packets": U64(v(c.out_multicast)),
        "out-discarded-packets": U64(v(c.out_discards)),
        "out-error-packets": U64(v(c.out_errors)),
        "out-mirror-packets": U64(0),
        "carrier-transitions": U64(v(c.carrier_transitions)),
    }


def traffic_rate(model: DeviceModel, iface: LabInterface) -> dict[str, U64]:
    """/interface/traffic-rate: the profile's rate at this instant, in bits per second."""
    return {
        "in-bps": U64(int(model.nominal_in_bps(iface.name))),
        "out-bps": U64(int(model.nominal_out_bps(iface.name))),
    }


def is_mgmt(iface: LabInterface) -> bool:
    return iface.name == "mgmt0"


def down_reason(iface: LabInterface) -> str | None:
    if iface.oper_up:
        return None
    return "port-admin-disabled" if not iface.admin_up else "lower-layer-down"


def ifindex(iface: LabInterface) -> int:
    if is_mgmt(iface):
        return MGMT_IFINDEX
    port = int(iface.name.rsplit("/", 1)[1])
    return 16_382 + (port - 1) * 32_768


def port_mac(model: DeviceModel, iface: LabInterface) -> str:
    """Each port's MAC is the chassis MAC plus its port number, as on the hardware."""
    base = int(model.identity.mac.replace(":", "") or "0", 16)
    offset = 0 if is_mgmt(iface) else int(iface.name.rsplit("/", 1)[1])
    value = (base + offset) % 2**48
    return ":".join(f"{(value >> shift) & 0xFF:02X}" for shift in range(40, -1, -8))


@dataclass(frozen=True)
class SubinterfaceView:
    """A subinterface as the device shows it; mgmt0.0 carries the address the device is managed on."""

    name: str
    index: int
    vlan: int | None
    ipv4: str | None
    network_instance: str  # "default (default)", "mgmt (ip-vrf)"
    kind: str  # routed / None


def subinterfaces(model: DeviceModel, iface: LabInterface) -> list[SubinterfaceView]:
    if is_mgmt(iface):
        return [SubinterfaceView("mgmt0.0", 0, None, f"{model.identity.host}/8", "mgmt (ip-vrf)", "None")]
    return [
        SubinterfaceView(f"{iface.name}.{sub.index}", sub.index, sub.vlan, sub.ipv4, "default (default)", "routed")
        for sub in iface.subinterfaces
    ]


def _subinterface_state(iface: LabInterface, sub: SubinterfaceView, config_only: bool) -> Node:
    node: Node = {}
    if not config_only:
        node["type"] = sub.kind.lower() if sub.kind != "None" else "routed"
    node["admin-state"] = "enable"
    if not config_only:
        node["ip-mtu"] = 1500
        node["name"] = sub.name
        node["oper-state"] = "up" if iface.oper_up else "down"
        if not iface.oper_up:
            node["oper-down-reason"] = "port-down"
        node["last-change"] = Timestamp(iface.last_change)
    if sub.vlan is not None:
        node["vlan"] = {"encap": {"single-tagged": {"vlan-id": sub.vlan}}}
    if sub.ipv4:
        address: Node = {} if config_only else {"origin": "static", "status": "preferred"}
        node["ipv4"] = {"admin-state": "enable", "address": YangList.of("ip-prefix", {sub.ipv4: address})}
    return node


def interface_state(model: DeviceModel, iface: LabInterface, *, config_only: bool = False) -> Node:
    """One /interface entry; `config_only` keeps what `info` (running or candidate) shows."""
    node: Node = {}
    if iface.description:
        node["description"] = iface.description
    node["admin-state"] = "enable" if iface.admin_up else "disable"
    subs = subinterfaces(model, iface)
    if not config_only:
        reason = down_reason(iface)
        node["mtu"] = iface.mtu
        node["ifindex"] = ifindex(iface)
        node["oper-state"] = "up" if iface.oper_up else "down"
        if reason:
            node["oper-down-reason"] = reason
        node["last-change"] = Timestamp(iface.last_change)
        if not is_mgmt(iface):
            node["linecard"] = 1
            node["forwarding-complex"] = 0
        node["vlan-tagging"] = any(sub.vlan is not None for sub in subs)
        node["statistics"] = interface_counters(iface)
        node["traffic-rate"] = traffic_rate(model, iface)
        if not is_mgmt(iface):
            node["transceiver"] = _transceiver_state(model, iface)
        node["ethernet"] = {"port-speed": speed_label(iface.speed_bps), "hw-mac-address": port_mac(model, iface)}
    if subs:
        node["subinterface"] = YangList.of(
            "index", {str(sub.index): _subinterface_state(iface, sub, config_only) for sub in subs}
        )
    return node


def form_factor(model: DeviceModel, iface: LabInterface) -> str:
    if iface.speed_bps >= 100_000_000_000:
        return "QSFP28"
    if iface.speed_bps == 10_000_000_000:
        return "SFP+"
    return hardware_names(model).form_factor


def _transceiver_state(model: DeviceModel, iface: LabInterface) -> Node:
    if not iface.admin_up:
        return {"tx-laser": False, "oper-state": "down", "oper-down-reason": "not-present"}
    return {
        "tx-laser": True,
        "oper-state": "up",
        "form-factor": form_factor(model, iface),
        "ethernet-pmd": iface.spec.transceiver,
    }


def cpu_state(model: DeviceModel) -> Node:
    """/platform/control[slot=A]/cpu[index=all]: whole percentages.

    The last minute follows the instant; the 5- and 15-minute means sit at the profile's base load,
    which is what the gNMI server reports too.
    """
    instant = round(model.cpu_pct())
    settled = round(model.cpu_base + 3)
    totals = {"instant": instant, "average-1": instant, "average-5": settled, "average-15": settled}

    def share(part: Callable[[int], int]) -> Node:
        return {name: part(value) for name, value in totals.items()}

    return {
        "architecture": "x86_64",
        "total": share(lambda total: total),
        "user": share(lambda total: round(total * 0.7)),
        "system": share(lambda total: total - round(total * 0.7)),
        "nice": share(lambda total: 0),
        "idle": share(lambda total: 100 - total),
        "iowait": share(lambda total: 0),
        "hardware-interrupt": share(lambda total: 0),
        "software-interrupt": share(lambda total: 0),
    }


def memory_state(model: DeviceModel) -> Node:
    """/platform/control[slot=A]/memory: bytes (64-bit) and a whole-number utilisation."""
    total, used = model.memory()
    return {
        "physical": U64(total),
        "reserved": U64(used),
        "free": U64(total - used),
        "utilization": round(used * 100 / total),
    }


def temperature(model: DeviceModel, sensor: str) -> int:
    return dict(model.temperatures()).get(sensor, 0)


def psu_temperature(model: DeviceModel, ident: int) -> int:
    """A working supply runs a few degrees cooler than the control module; a dead one reads 0."""
    psu = model.power_supplies[ident - 1]
    return temperature(model, "A") - 5 - ident if psu.oper_up else 0


def component_last_change(model: DeviceModel, kind: str, ident: int) -> float:
    """When a fan or supply last changed: its failure alarm if it has one, otherwise boot."""
    prefix = "psu" if kind == "power-supply" else "fan"
    for alarm in model.alarms:
        if alarm.effect == (kind, str(ident)) or alarm.alarm_id == f"{prefix}-{ident}":
            return alarm.raised_at
    return model.boot_time


def platform_state(model: DeviceModel) -> Node:
    ident = model.identity
    names = hardware_names(model)
    boot = Timestamp(model.boot_time)
    control_temp = temperature(model, "A")
    linecard_temp = temperature(model, "1")
    chassis: Node = {
        "type": model.hardware.model,
        "last-boot-type": "normal",
        "hw-mac-address": ident.mac,
        "slots": 1,
        "oper-state": "up",
        "last-booted": boot,
        "last-change": boot,
        "part-number": model.hardware.chassis_part,
        "clei-code": names.clei,
        "serial-number": ident.serial,
    }
    control: Node = {
        "type": names.linecard,
        "oper-state": "up",
        "last-booted": boot,
        "last-change": boot,
        "software-version": software_version(model),
        "temperature": {
            "instant": control_temp,
            "maximum": control_temp + 6,
            "alarm-status": model.temperature_alarm("A"),
        },
        "cpu": YangList.of("index", {"all": cpu_state(model)}),
        "memory": memory_state(model),
    }
    linecard: Node = {
        "type": names.linecard,
        "admin-state": "enable",
        "oper-state": "up",
        "last-change": boot,
        "temperature": {"instant": linecard_temp, "alarm-status": model.temperature_alarm("1")},
    }
    fans = {}
    for fan in model.fans:
        node = _component_node(model, "fan-tray", fan.ident, fan.oper_up, fan.detail, names.fan_tray)
        node["fan"] = {"speed": 45 if fan.oper_up else 0}  # percent of full speed
        fans[str(fan.ident)] = node
    supplies = {}
    for psu in model.power_supplies:
        node = _component_node(model, "power-supply", psu.ident, psu.oper_up, psu.detail, names.power_supply)
        node["capacity"] = names.psu_watts
        node["temperature"] = {"instant": psu_temperature(model, psu.ident), "alarm-status": False}
        supplies[str(psu.ident)] = node
    return {
        "chassis": chassis,
        "control": YangList.of("slot", {"A": control}),
        "linecard": YangList.of("slot", {"1": linecard}),
        "fan-tray": YangList.of("id", fans),
        "power-supply": YangList.of("id", supplies),
    }


def _component_node(model: DeviceModel, kind: str, ident: int, up: bool, detail: str, type_name: str) -> Node:
    node: Node = {
        "type": type_name,
        "oper-state": "up" if up else "down",
        "last-change": Timestamp(component_last_change(model, kind, ident)),
    }
    if not up:
        node["failure-reason"] = detail or "unknown"
    return node


def system_state(model: DeviceModel, now: float, *, config_only: bool = False) -> Node:
    ident = model.identity
    node: Node = {"name": {"host-name": ident.name}}
    if config_only:
        return node
    node["information"] = {
        "description": f"SRLinux-{software_version(model)} {model.hardware.model}",
        "current-datetime": iso_time(now),
        "last-booted": Timestamp(model.boot_time),
        "version": software_version(model),
    }
    # No alarms: SR Linux keeps no alarm list (a raised alarm shows in the state of the part it is about).
    return node


def sorted_interfaces(model: DeviceModel) -> list[LabInterface]:
    return sorted(model.interfaces.values(), key=lambda iface: natural_key(iface.name))


def state_root(model: DeviceModel, now: float, *, config_only: bool = False) -> Node:
    """The device's state (or configuration) tree; interfaces are built only when a path reaches them."""
    names = [iface.name for iface in sorted_interfaces(model)]

    def build(name: str) -> Node:
        return interface_state(model, model.interfaces[name], config_only=config_only)

    root: Node = {"interface": YangList("name", names, build)}
    if not config_only:
        root["platform"] = platform_state(model)
    root["system"] = system_state(model, now, config_only=config_only)
    return root


# -- paths --------------------------------------------------------------------------------------------


def select(node: Node, tokens: list[str], trail: str = "") -> Node:
    """The part of `node` a CLI path names, still wrapped in its parents (as `info` prints it).

    Raises UnknownToken for a name the schema does not have here, NoSuchObject for a key that is not there.
    """
    if not tokens:
        return node
    name, rest = tokens[0], tokens[1:]
    if name not in node:
        raise UnknownToken(name, sorted(node))
    child = node[name]
    if isinstance(child, YangList):
        if not rest:
            return {name: child}
        key, rest = rest[0], rest[1:]
        if key == "*":
            chosen: dict[str, Node] = {}
            for entry_key, entry in child.entries():
                try:
                    chosen[entry_key] = select(entry, rest, f"{trail}/{name}[{child.key}={entry_key}]")
                except (UnknownToken, NoSuchObject):
                    continue  # a wildcard shows the entries that have the path
            if not chosen:
                raise NoSuchObject(f"{trail}/{name}[{child.key}=*]")
            return {name: YangList.of(child.key, chosen)}
        if key not in child.keys:
            raise NoSuchObject(f"{trail}/{name}[{child.key}={key}]")
        entry = select(child.entry(key), rest, f"{trail}/{name}[{child.key}={key}]")
        return {name: YangList.of(child.key, {key: entry})}
    if isinstance(child, dict):
        return {name: select(child, rest, f"{trail}/{name}")}
    if rest:
        raise UnknownToken(rest[0], [])
    return {name: child}


LIST_NAMES = frozenset(
    {"interface", "subinterface", "address", "control", "cpu", "linecard", "fan-tray", "power-supply"}
)


def is_container_path(node: Node, tokens: list[str]) -> bool:
    """Whether a path ends at a container or a list entry (somewhere the CLI can stand)."""
    current: Any = node
    rest = list(tokens)
    while rest:
        child = current[rest.pop(0)]
        if isinstance(child, YangList):
            if not rest or rest[0] == "*":
                return False
            current = child.entry(rest.pop(0))
        elif isinstance(child, dict):
            current = child
        else:
            return False
    return True


def unwrap(node: Node, tokens: list[str]) -> Node:
    """The content at the end of a selected path, without its parents (what `info <path>` prints)."""
    current: Any = node
    rest = list(tokens)
    while rest:
        name = rest.pop(0)
        child = current[name]
        if isinstance(child, YangList):
            if not rest or rest[0] == "*":
                return {name: child}
            key = rest.pop(0)
            current = child.entry(key)
        elif isinstance(child, dict):
            current = child
        else:
            return {name: child}
    return current


def xpath_tokens(path: str) -> list[str]:
    """`/interface[name=ethernet-1/1]/statistics` -> ["interface", "ethernet-1/1", "statistics"]."""
    tokens: list[str] = []
    for element in re.findall(r"[^/\[]+(?:\[[^\]]*\])*", path):
        name, _, keys = element.partition("[")
        tokens.append(name)
        for match in re.finditer(r"([^=\[\]]+)=([^\]]*)", "[" + keys if keys else ""):
            tokens.append(match.group(2))
    return tokens


def filter_fields(node: Node, fields: set[str]) -> Node:
    """`| filter fields a b`: keep those leaves (and the keys and containers that lead to them)."""
    kept: Node = {}
    for name, value in node.items():
        if isinstance(value, YangList):
            entries = {key: filter_fields(entry, fields) for key, entry in value.entries()}
            kept[name] = YangList.of(value.key, entries)
        elif isinstance(value, dict):
            inner = filter_fields(value, fields)
            if inner:
                kept[name] = inner
        elif name in fields:
            kept[name] = value
    return kept


# -- encodings ----------------------------------------------------------------------------------------


_NEEDS_QUOTES = re.compile(r'[\s"{};|#\\]')


def info_scalar(value: Any, now: float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, Timestamp):
        return quote(f"{iso_time(value.at)} ({natural_age(now - value.at)})")
    if value is None:
        return ""
    return quote(str(value))


def quote(text: str) -> str:
    if text and not _NEEDS_QUOTES.search(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_info(node: Node, now: float) -> str:
    """The brace format of `info`: four spaces per level, starting at four."""
    lines: list[str] = []

    def walk(current: Node, depth: int) -> None:
        pad = "    " * depth
        for name, value in current.items():
            if value is None:
                continue
            if isinstance(value, YangList):
                for key, entry in value.entries():
                    lines.append(f"{pad}{name} {quote(key)} {{")
                    walk(entry, depth + 1)
                    lines.append(f"{pad}}}")
            elif isinstance(value, dict):
                lines.append(f"{pad}{name} {{")
                walk(value, depth + 1)
                lines.append(f"{pad}}}")
            else:
                lines.append(f"{pad}{name} {info_scalar(value, now)}")

    walk(node, 1)
    return "".join(line + "\n" for line in lines)


_NUMERIC_KEYS = {"id", "index", "slot"}


def json_value(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, U64):
        return str(int(value))
    if isinstance(value, int):
        return int(value)
    if isinstance(value, Timestamp):
        return iso_time(value.at)
    return value


def to_json_data(node: Node) -> dict[str, Any]:
    """Unprefixed YANG JSON (the JSON_IETF shape without module names): 64-bit integers as strings."""
    out: dict[str, Any] = {}
    for name, value in node.items():
        if value is None:
            continue
        if isinstance(value, YangList):
            items = []
            for key, entry in value.entries():
                key_value: Any = int(key) if value.key in _NUMERIC_KEYS and key.isdigit() else key
                items.append({value.key: key_value, **to_json_data(entry)})
            out[name] = items
        elif isinstance(value, dict):
            out[name] = to_json_data(value)
        else:
            out[name] = json_value(value)
    return out


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def dump_yaml(data: Any) -> str:
    from io import StringIO

    from ruamel.yaml import YAML  # imported late: only `| as yaml` needs it

    yaml = YAML()  # round-trip mode keeps the device's key order
    yaml.default_flow_style = False
    stream = StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


# -- layout helpers -----------------------------------------------------------------------------------


def rule(char: str = "-") -> str:
    return char * RULE_WIDTH


def labelled(rows: list[tuple[str, Any]], indent: str = "", width: int | None = None) -> list[str]:
    """`Label<pad> : value` rows, labels padded to the longest (or to `width`)."""
    pad = width if width is not None else max(len(label) for label, _ in rows)
    return [f"{indent}{label.ljust(pad)}: {value}" for label, value in rows]


def grid(headers: list[str], rows: list[list[str]], *, min_first: int = 0, fill_to: int = 0) -> list[str]:
    """The `+---+` table of SR Linux show reports: centred headers, an `=` rule under them."""
    widths = [max([len(header)] + [len(row[i]) for row in rows]) + 2 for i, header in enumerate(headers)]
    widths[0] = max(widths[0], min_first)
    if fill_to and len(widths) > 1:
        # The device gives the columns after the first an equal share of the terminal width.
        share = (fill_to - widths[0] - 2) // (len(widths) - 1) - 1
        widths[1:] = [max(share, *widths[1:])] * (len(widths) - 1)
    border = "+" + "+".join("-" * width for width in widths) + "+"
    head_rule = "+" + "+".join("=" * width for width in widths) + "+"
    lines = [border, "|" + "|".join(_centre(h, w) for h, w in zip(headers, widths, strict=True)) + "|", head_rule]
    for row in rows:
        cells = [(" " + cell).ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("|" + "|".join(cells) + "|")
    lines.append(border)
    return lines


def _centre(text: str, width: int) -> str:
    left = (width - len(text)) // 2
    return " " * left + text + " " * (width - len(text) - left)


def columns(headers: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    """The borderless column layout of detail reports: headers centred over left-aligned values."""
    widths = [max([len(header)] + [len(row[i]) for row in rows]) for i, header in enumerate(headers)]
    head = ""
    for i, header in enumerate(headers):
        data_width = max([len(row[i]) for row in rows] or [0])
        centred = " " * max(0, (data_width - len(header)) // 2) + header
        head = head.ljust(len(indent) + sum(w + 3 for w in widths[:i])) + centred
    lines = [head.rstrip()]
    for row in rows:
        line = indent + "".join(cell.ljust(widths[i] + 3) for i, cell in enumerate(row))
        lines.append(line.rstrip())
    return lines


@dataclass
class Report:
    """What a show command produced: its text, and the structure `| as json` prints."""

    text: str
    data: Any


def join(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


# -- show version -------------------------------------------------------------------------------------


def show_version(model: DeviceModel, *, hostile: bool) -> Report:
    ident = model.identity
    total, used = model.memory()
    rows: list[tuple[str, str]] = [
        ("Hostname", ident.name),
        ("Chassis Type", model.hardware.model),
        ("Part Number", model.hardware.chassis_part),
        ("Serial Number", ident.serial),
        ("System HW MAC Address", ident.mac),
        ("OS", "SR Linux"),
        ("Software Version", ident.version),
        ("Build Number", ident.build),
        ("Architecture", "x86_64"),
        ("Last Booted", iso_time(model.boot_time)),
        ("Total Memory", f"{total // MEMORY_KB} kB"),
        ("Free Memory", f"{(total - used) // MEMORY_KB} kB"),
    ]
    lines = [rule(), *labelled(rows)]
    data = {label: value for label, value in rows}
    if hostile:
        lines.append(HOSTILE_DESCRIPTION)
        data["Description"] = HOSTILE_DESCRIPTION
    lines.append(rule())
    return Report(join(lines), {"basic system info": data})


# -- show interface -----------------------------------------------------------------------------------


def _interface_headline(iface: LabInterface) -> str:
    if iface.oper_up:
        return f"{iface.name} is up, speed {speed_label(iface.speed_bps)}, type None"
    return f"{iface.name} is down, reason {down_reason(iface)}"


def _subinterface_lines(iface: LabInterface, sub: SubinterfaceView) -> list[str]:
    state = f"{sub.name} is up" if iface.oper_up else f"{sub.name} is down, reason port-down"
    lines = [f"  {state}", "    Network-instances:", f"      * Name: {sub.network_instance}"]
    encapsulation = f"vlan-id {sub.vlan}" if sub.vlan is not None else "null"
    lines += [f"    Encapsulation   : {encapsulation}", f"    Type            : {sub.kind}"]
    if sub.ipv4:
        lines.append(f"    IPv4 addr    : {sub.ipv4} (static, preferred, primary)")
    return lines


def _interface_json(model: DeviceModel, iface: LabInterface) -> dict[str, Any]:
    entry: dict[str, Any] = {"Name": iface.name, "Oper state": "up" if iface.oper_up else "down"}
    if iface.oper_up:
        entry["Speed"] = speed_label(iface.speed_bps)
        entry["Type"] = "None"
    else:
        entry["Down reason"] = down_reason(iface)
    subs = []
    for sub in subinterfaces(model, iface):
        item: dict[str, Any] = {
            "Name": sub.name,
            "Oper state": "up" if iface.oper_up else "down",
            "Network-instances": [sub.network_instance],
            "Encapsulation": f"vlan-id {sub.vlan}" if sub.vlan is not None else "null",
            "Type": sub.kind,
        }
        if sub.ipv4:
            item["IPv4 addr"] = [f"{sub.ipv4} (static, preferred, primary)"]
        subs.append(item)
    if subs:
        entry["Subinterfaces"] = subs
    return entry


def show_interface_summary(model: DeviceModel, *, include_down: bool) -> Report:
    """`show interface` (up interfaces only, as on the device) and `show interface all`."""
    lines = [rule("=")]
    listed = []
    counts = {"ethernet": [0, 0], "mgmt": [0, 0], "sub": [0, 0]}
    for iface in sorted_interfaces(model):
        family = "mgmt" if is_mgmt(iface) else "ethernet"
        counts[family][0 if iface.oper_up else 1] += 1
        subs = subinterfaces(model, iface)
        counts["sub"][0 if iface.oper_up else 1] += len(subs)
        if not iface.oper_up and not include_down:
            continue
        listed.append(iface)
        lines.append(_interface_headline(iface))
        for sub in subs:
            lines += _subinterface_lines(iface, sub)
        lines.append(rule())

    def tally(family: str, what: str) -> str:
        up, down = counts[family]
        return f"  {up} {what} are up, {down} are down" if include_down else f"  {up} {what} are up"

    summary = [
        "  0 loopback interfaces configured",
        tally("ethernet", "ethernet interfaces"),
        tally("mgmt", "management interfaces"),
        tally("sub", "subinterfaces"),
    ]
    lines += [rule("="), "Summary", *summary, rule("=")]
    data = {
        "Interfaces": [_interface_json(model, iface) for iface in listed],
        "Summary": {
            "Loopback interfaces configured": 0,
            "Ethernet interfaces up": counts["ethernet"][0],
            "Ethernet interfaces down": counts["ethernet"][1],
            "Management interfaces up": counts["mgmt"][0],
            "Management interfaces down": counts["mgmt"][1],
            "Subinterfaces up": counts["sub"][0],
            "Subinterfaces down": counts["sub"][1],
        },
    }
    return Report(join(lines), data)


def show_interface_one(model: DeviceModel, iface: LabInterface) -> Report:
    lines = [rule("="), _interface_headline(iface)]
    for sub in subinterfaces(model, iface):
        lines += _subinterface_lines(iface, sub)
    lines += [rule(), rule("=")]
    return Report(join(lines), {"Interfaces": [_interface_json(model, iface)]})


def show_interface_brief(model: DeviceModel, interfaces: list[LabInterface]) -> Report:
    with_description = any(iface.description for iface in interfaces)
    headers = ["Port", "Admin State", "Oper State", "Speed", "Type"] + (["Description"] if with_description else [])
    rows = []
    data = []
    for iface in interfaces:
        row = [
            iface.name,
            "enable" if iface.admin_up else "disable",
            "up" if iface.oper_up else "down",
            speed_label(iface.speed_bps),
            "",
        ]
        if with_description:
            row.append(iface.description)
        rows.append(row)
        entry = dict(zip(headers, row, strict=True))
        data.append({key: value for key, value in entry.items() if value})
    return Report(join(grid(headers, rows, min_first=21, fill_to=TABLE_WIDTH)), {"IfBrief": data})


def _frame_bucket(mean_bytes: int) -> int:
    limits = (64, 127, 255, 511, 1023, 1518)
    return next((i for i, limit in enumerate(limits) if mean_bytes <= limit), 6)


def show_interface_detail(model: DeviceModel, iface: LabInterface, now: float) -> Report:
    counters = interface_counters(iface)
    rate = traffic_rate(model, iface)
    mgmt = is_mgmt(iface)
    reason = down_reason(iface) or "N/A"
    flaps = f"{compact_duration(now - iface.last_change)} ago, {iface.flaps} flaps since last clear"
    rows = [
        ("Description", iface.description or "<None>"),
        ("Oper state", "up" if iface.oper_up else "down"),
        ("Down reason", reason),
        ("Last change", flaps),
        ("Speed", speed_label(iface.speed_bps)),
        ("Flow control", "Rx is disabled"),
        ("Loopback mode", "false"),
        ("MTU", str(iface.mtu)),
        ("VLAN tagging", "false"),
        ("VLAN TPID", "TPID_0X8100"),
        ("Queues", "8 output queues supported, 1 used since the last clear"),
        ("MAC address", port_mac(model, iface)),
        ("Last stats clear", "never"),
        ("Breakout mode", "false"),
    ]
    if mgmt:
        rows = [row for row in rows if row[0] not in ("Flow control", "Queues", "Breakout mode", "VLAN TPID")]
    lines = [rule("="), f"Interface: {iface.name}", rule(), *labelled(rows, "  ", 20)]
    if not mgmt:
        lines += [rule(), f"L2CP transparency rule for {iface.name}", rule()]
        lines += labelled(
            [
                ("Lldp", "trap-to-cpu-untagged"),
                ("Lacp", "trap-to-cpu-untagged"),
                ("xStp", "drop-tagged-and-untagged"),
                ("Dot1x", "drop-tagged-and-untagged"),
                ("Ptp", "drop-tagged-and-untagged"),
                ("Non-specified l2cp", "false"),
            ],
            "  ",
        )
    traffic_rows = [
        ["Octets", str(counters["in-octets"]), str(counters["out-octets"])],
        ["Unicast packets", str(counters["in-unicast-packets"]), str(counters["out-unicast-packets"])],
        ["Broadcast packets", str(counters["in-broadcast-packets"]), str(counters["out-broadcast-packets"])],
        ["Multicast packets", str(counters["in-multicast-packets"]), str(counters["out-multicast-packets"])],
        ["Errored packets", str(counters["in-error-packets"]), str(counters["out-error-packets"])],
        ["FCS error packets", str(counters["in-fcs-error-packets"]), "N/A"],
        ["MAC pause frames", "0", "0"],
        ["Oversize frames", "0", "N/A"],
        ["Jabber frames", "0", "N/A"],
        ["Fragment frames", "0", "N/A"],
        ["CRC errors", str(counters["in-fcs-error-packets"]), "N/A"],
    ]
    lines += [rule(), f"Traffic statistics for {iface.name}", rule()]
    lines += columns(["counter", "Rx", "Tx"], traffic_rows)
    rx_kbps, tx_kbps = int(rate["in-bps"]) // 1000, int(rate["out-bps"]) // 1000
    lines += [rule(), f"Traffic rate statistics for {iface.name}", rule()]
    lines += columns(["units", "Rx", "Tx"], [["kbps rate", str(rx_kbps), str(tx_kbps)]])
    # Frames fall in the bucket of the profile's mean packet size: the model knows no distribution.
    bucket = _frame_bucket(iface.profile.mean_packet_bytes)
    labels = ["64 bytes", "65-127 bytes", "128-255 bytes", "256-511 bytes", "512-1023 bytes", "1024-1518 bytes"]
    labels.append("1519+ bytes")
    frame_rows = [
        [
            label,
            str(counters["in-packets"]) if i == bucket else "0",
            str(counters["out-packets"]) if i == bucket else "0",
        ]
        for i, label in enumerate(labels)
    ]
    lines += [rule(), f"Frame length statistics for {iface.name}", rule()]
    lines += columns(["Frame length(Octets)", "Rx", "Tx"], frame_rows)
    if not mgmt:
        lines += [rule(), f"Transceiver detail for {iface.name}", rule()]
        lines += _transceiver_lines(model, iface)
    data: dict[str, Any] = {
        "Interface": iface.name,
        **{label: value for label, value in rows},
        "Traffic statistics": {row[0]: {"Rx": _number(row[1]), "Tx": _number(row[2])} for row in traffic_rows},
        "Traffic rate statistics": {"kbps rate": {"Rx": rx_kbps, "Tx": tx_kbps}},
    }
    subs_data = []
    for sub in subinterfaces(model, iface):
        sub_lines, sub_data = _subinterface_detail(iface, sub, counters, now)
        lines += sub_lines
        subs_data.append(sub_data)
    if subs_data:
        data["Subinterfaces"] = subs_data
    lines += [rule("="), rule("=")] if subs_data else [rule("=")]
    return Report(join(lines), data)


def _number(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _transceiver_lines(model: DeviceModel, iface: LabInterface) -> list[str]:
    if not iface.admin_up:
        return labelled([("Status", "Transceiver state is down"), ("Oper down reason", "not-present")], "  ")
    form = form_factor(model, iface)
    return labelled(
        [
            ("Status", "Transceiver is present and operational"),
            ("Form factor", form),
            ("Channels used", "4" if form == "QSFP28" else "1"),
            ("Connector type", "LC"),
            ("Vendor", "Nokia"),
            ("PMD type", iface.spec.transceiver),
            ("Fault condition", "false"),
            ("Temperature", str(temperature(model, "1") - 8)),
            ("Voltage", "3.2970"),
        ],
        "  ",
    )


def _subinterface_detail(
    iface: LabInterface, sub: SubinterfaceView, counters: dict[str, U64], now: float
) -> tuple[list[str], dict[str, Any]]:
    up = iface.oper_up
    rows = [
        ("Description", "<None>"),
        ("Network-instance", sub.network_instance.split(" ")[0]),
        ("Type", sub.kind),
        ("Oper state", "up" if up else "down"),
        ("Down reason", "N/A" if up else "port-down"),
        ("Last change", f"{compact_duration(now - iface.last_change)} ago"),
        ("Encapsulation", f"vlan-id {sub.vlan}" if sub.vlan is not None else "null"),
        ("IP MTU", "1500"),
        ("Last stats clear", "never"),
    ]
    lines = [rule("="), f"  Subinterface: {sub.name}", rule(), *labelled(rows, "  ", 16)]
    if sub.ipv4:
        lines.append(f"  IPv4 addr    : {sub.ipv4} (static, preferred, primary)")
    # Every routed packet of a single-subinterface port crosses its one subinterface.
    in_pkts, out_pkts = int(counters["in-packets"]), int(counters["out-packets"])
    in_oct, out_oct = int(counters["in-octets"]), int(counters["out-octets"])
    discards = int(counters["in-discarded-packets"])
    stat_rows = [
        ["Packets", str(in_pkts), str(out_pkts)],
        ["Octets", str(in_oct), str(out_oct)],
        ["Discarded packets", str(discards), str(int(counters["out-discarded-packets"]))],
        ["Forwarded packets", str(in_pkts - discards), str(out_pkts)],
        ["Forwarded octets", str(in_oct), str(out_oct)],
        ["CPM packets", "-", "0"],
        ["CPM octets", "-", "0"],
    ]
    lines += [rule(), f"Traffic statistics for {sub.name}", rule(), *columns(["Statistics", "Rx", "Tx"], stat_rows)]
    lines += [rule(), f"IPv4 Traffic statistics for {sub.name}", rule(), rule()]
    lines += [f"IPv6 Traffic statistics for {sub.name}", rule()]
    data = {
        "Subinterface": sub.name,
        **{label: value for label, value in rows},
        "Traffic statistics": {row[0]: {"Rx": _number(row[1]), "Tx": _number(row[2])} for row in stat_rows},
    }
    return lines, data


# -- show platform ------------------------------------------------------------------------------------


def show_platform_chassis(model: DeviceModel) -> Report:
    chassis = platform_state(model)["chassis"]
    rows = [
        ("Type", chassis["type"]),
        ("Last Boot type", chassis["last-boot-type"]),
        ("HW MAC address", chassis["hw-mac-address"]),
        ("Slots", str(chassis["slots"])),
        ("Oper Status", chassis["oper-state"]),
        ("Last booted", iso_time(model.boot_time)),
        ("Last change", iso_time(model.boot_time)),
        ("Part number", chassis["part-number"]),
        ("CLEI code", chassis["clei-code"]),
    ]
    return Report(join([rule(), *labelled(rows, "", 17), rule()]), {"Chassis": dict(rows)})


@dataclass(frozen=True)
class ModuleRow:
    kind: str
    ident: str
    admin: str
    oper: str
    model: str
    temperature: str
    last_change: str


def module_rows(model: DeviceModel) -> list[ModuleRow]:
    platform = platform_state(model)
    control = platform["control"].entry("A")
    linecard = platform["linecard"].entry("1")
    rows = [
        ModuleRow(
            "control",
            "A",
            "N/A",
            "up",
            control["type"],
            str(control["temperature"]["instant"]),
            iso_time(model.boot_time),
        ),
        ModuleRow(
            "linecard",
            "1",
            "enable",
            "up",
            linecard["type"],
            str(linecard["temperature"]["instant"]),
            iso_time(model.boot_time),
        ),
    ]
    for key, fan in platform["fan-tray"].entries():
        rows.append(
            ModuleRow("fan-tray", key, "N/A", fan["oper-state"], fan["type"], "0", iso_time(fan["last-change"].at))
        )
    for key, psu in platform["power-supply"].entries():
        rows.append(
            ModuleRow(
                "power-supply",
                key,
                "N/A",
                psu["oper-state"],
                psu["type"],
                str(psu["temperature"]["instant"]),
                iso_time(psu["last-change"].at),
            )
        )
    return rows


def show_platform_environment(model: DeviceModel) -> Report:
    headers = ["Module Type", "ID", "Admin State", "Operational State", "Model", "Temperature"]
    rows = [[r.kind, r.ident, r.admin, r.oper, r.model, r.temperature] for r in module_rows(model)]
    data = [dict(zip(headers, row, strict=True)) for row in rows]
    return Report(join(grid(headers, rows)), {"Environment": data})


def show_platform_modules(model: DeviceModel, kind: str, ident: str | None) -> Report:
    """`show platform fan-tray`, `power-supply`, `control`, `linecard`: one row per module."""
    headers = ["Module Type", "ID", "Admin State", "Operational State", "Model", "Last Change"]
    chosen = [r for r in module_rows(model) if r.kind == kind and (ident in (None, "*") or r.ident == ident)]
    rows = [[r.kind, r.ident, r.admin, r.oper, r.model, r.last_change] for r in chosen]
    data = [dict(zip(headers, row, strict=True)) for row in rows]
    title = {"fan-tray": "FanTray", "power-supply": "PowerSupply", "control": "Control", "linecard": "Linecard"}[kind]
    return Report(join(grid(headers, rows)), {title: data})


def module_exists(model: DeviceModel, kind: str, ident: str) -> bool:
    return any(r.kind == kind and r.ident == ident for r in module_rows(model))


def show_platform_component_detail(model: DeviceModel, kind: str, ident: str) -> Report:
    """`show platform fan-tray 1 detail`, `show platform power-supply 2 detail`."""
    node = platform_state(model)[kind].entry(ident)
    title = "Fan Tray" if kind == "fan-tray" else "Power Supply"
    summary = [
        ("Admin State", "N/A"),
        ("Operational State", node["oper-state"]),
        ("Type", node["type"]),
        ("Last Change", iso_time(node["last-change"].at)),
    ]
    hardware = [
        ("Part number", "3HE11759AARA01" if kind == "fan-tray" else "3HE11752AARA01"),
        ("CLEI code", hardware_names(model).clei),
        ("Serial number", f"{model.identity.serial}{kind[0].upper()}{ident}"),
        ("Removable", "true"),
        ("Failure reason", node.get("failure-reason", "-")),
    ]
    lines = [rule("="), f"  Show report for {title} {ident}", rule("="), "  Summary", *labelled(summary, "    ")]
    lines += ["", "  Hardware Details", *labelled(hardware, "    ")]
    data: dict[str, Any] = {"Summary": dict(summary), "Hardware Details": dict(hardware)}
    if kind == "power-supply":
        power = [("Capacity", f"{node['capacity']} watts")]
        temp = [("Current", f"{node['temperature']['instant']} Celsius"), ("Alarm status", "None")]
        lines += ["", "  Power", *labelled(power, "    "), "", "  Temperature", *labelled(temp, "    ")]
        data["Power"] = dict(power)
        data["Temperature"] = dict(temp)
    lines.append(rule())
    return Report(join(lines), {f"{title} {ident}": data})


def show_platform_control_detail(model: DeviceModel) -> Report:
    platform = platform_state(model)
    control = platform["control"].entry("A")
    cpu = control["cpu"].entry("all")
    memory = control["memory"]
    names = hardware_names(model)
    summary = [
        ("Admin State", "N/A"),
        ("Operational State", "up/active"),
        ("Type", control["type"]),
        ("Last Change", iso_time(model.boot_time)),
    ]
    hardware = [
        ("Part number", model.hardware.chassis_part),
        ("CLEI code", names.clei),
        ("Serial number", model.identity.serial),
        ("Removable", "false"),
        ("Locator LED status", "inactive"),
        ("Last booted", iso_time(model.boot_time)),
        ("Failure reason", "-"),
        ("Software version", control["software-version"]),
    ]
    temp = control["temperature"]["instant"]
    lines = [rule("="), "  Show report for Controller A", rule("="), "  Summary", *labelled(summary, "    ")]
    lines += ["", "  Hardware Details", *labelled(hardware, "    ")]
    lines += ["", "  Temperature", *labelled([("Current", f"{temp} Celsius"), ("Alarm status", "None")], "    ")]
    lines += [rule(), "  CPU Details", rule()]
    lines += labelled([("Architecture", "x86_64"), ("Model", names.cpu), ("Speed", f"{names.cpu_ghz} GHz")], "    ")
    lines += [rule(), "  Time Utilization of CPU in Percent(%)", rule()]
    lines += [
        "      Task Level       Last Instant   Mean value over the last   Mean value over the last   "
        "Mean value over the last",
        "                                               minute                   5 minutes                  15 minutes",
    ]
    task_levels = [
        ("System", "system"),
        ("User", "user"),
        ("Nice", "nice"),
        ("Idle", "idle"),
        ("IO Wait", "iowait"),
        ("Hardware Interrupt", "hardware-interrupt"),
        ("Software Interrupt", "software-interrupt"),
        ("Total", "total"),
    ]
    cpu_data = {}
    for label, leaf in task_levels:
        sample = cpu[leaf]
        values = [sample["instant"], sample["average-1"], sample["average-5"], sample["average-15"]]
        line = f"  {label}".ljust(28) + str(values[0])
        line = line.ljust(49) + str(values[1])
        line = line.ljust(76) + str(values[2])
        line = line.ljust(103) + str(values[3])
        lines.append(line)
        cpu_data[label] = dict(zip(["Last Instant", "Minute", "5 Minutes", "15 Minutes"], values, strict=True))
    mem_rows = [
        ("Physical", f"{memory['physical']} bytes"),
        ("Reserved", f"{memory['reserved']} bytes"),
        ("Free", f"{memory['free']} bytes"),
        ("Utilization", f"{memory['utilization']}%"),
    ]
    lines += [rule(), "  Memory", rule(), *labelled(mem_rows, "    "), rule()]
    data = {
        "Summary": dict(summary),
        "Hardware Details": dict(hardware),
        "Temperature": {"Current": temp},
        "CPU Utilization": cpu_data,
        "Memory": {
            "Physical": int(memory["physical"]),
            "Reserved": int(memory["reserved"]),
            "Free": int(memory["free"]),
            "Utilization": memory["utilization"],
        },
    }
    return Report(join(lines), {"Controller A": data})
