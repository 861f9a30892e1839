"""The YANG trees a simulated device serves over gNMI, read live from its DeviceModel, and path matching on them.

Each platform has a native tree (SR Linux `srl_nokia-*`, SR OS `nokia-state`/`nokia-conf`) plus the OpenConfig
tree. Every node is one of Nokia's published models for the release the lab claims (SR Linux 25.3, SR OS 25.10),
with its YANG type's JSON encoding and its module where the module changes; tests/conformance checks them against
the model tables. A requested gNMI path (with `*` elements and `[key=*]` wildcards) is resolved once into concrete
matches; every later sample only reads the leaves under those matches, so a tick never re-walks the whole tree.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from operator import attrgetter
from typing import Any

from pygnmi.spec.v080 import gnmi_pb2

from edgeops.lab.model import COUNTER_MODULUS, Component, DeviceModel, LabAlarm, LabInterface

KeyPairs = tuple[tuple[str, str], ...]  # list keys of one path element, in schema order
Elem = tuple[str, KeyPairs]  # (name, keys)


class Kind(Enum):
    """How a leaf's value is shaped on the wire (RFC 7951 JSON: 64-bit integers and decimals are strings)."""

    U64 = "u64"
    INT = "int"
    DECIMAL = "decimal"
    STRING = "string"
    BOOL = "bool"


class PathError(ValueError):
    """A requested path names something the schema does not have."""


@dataclass(eq=False)
class Node:
    """One schema node: a container, a list (keys + entries) or a leaf (value)."""

    name: str
    children: dict[str, Node] = field(default_factory=dict)
    keys: tuple[str, ...] = ()
    # The node's module where it differs from its parent's (an augmenting module): RFC 7951 JSON names such a
    # member `module:name`, e.g. `srl_nokia-platform-cpu:cpu` under `control`.
    module: str = ""
    # For a list: the entries below the parent's item, as (key values, item).
    entries: Callable[[Any], Iterable[tuple[tuple[str, ...], Any]]] | None = None
    value: Callable[[Any], Any] | None = None  # for a leaf: its value (None: absent now)
    kind: Kind = Kind.STRING
    volatile: bool = False  # changes all the time (counters, rates, CPU): sampled under TARGET_DEFINED
    dynamic: bool = False  # a list whose entries come and go (alarms): matches are resolved again each time
    counter_attr: str | None = None  # an interface counter leaf's Counters attribute ("": kept at 0); None: not one
    # For a container of interface counters only: every child's value in one call (the sampling hot path).
    bulk: Callable[[Any], list[int]] | None = None
    bulk_rels: tuple[tuple[Elem, ...], ...] = ()  # with bulk: each value's path below the container

    @property
    def is_leaf(self) -> bool:
        return self.value is not None

    @property
    def member(self) -> str:
        """The node's JSON member name: qualified by its module where the module changes."""
        return f"{self.module}:{self.name}" if self.module else self.name

    @property
    def is_list(self) -> bool:
        return self.entries is not None


def leaf(name: str, value: Callable[[Any], Any], kind: Kind = Kind.STRING, *, volatile: bool = False) -> Node:
    return Node(name, value=value, kind=kind, volatile=volatile)


def counter(name: str, attr: str | None) -> Node:
    """An interface's 64-bit counter, read from its Counters `attr` (None: a counter the lab keeps at 0)."""
    if attr is None:
        return Node(name, value=lambda i: 0, kind=Kind.U64, volatile=True, counter_attr="")
    getter = attrgetter(attr)
    return Node(
        name,
        value=lambda i: int(getter(i.counters)) % COUNTER_MODULUS,
        kind=Kind.U64,
        volatile=True,
        counter_attr=attr,
    )


def _bulk_counters(children: Sequence[Node]) -> Callable[[Any], list[int]]:
    """One reader for a container of counters: a single attrgetter call instead of a call per leaf."""
    attrs = [child.counter_attr for child in children]
    getter = attrgetter(*[attr for attr in attrs if attr])
    zeros = [index for index, attr in enumerate(attrs) if not attr]  # counters the lab keeps at 0
    mask = COUNTER_MODULUS - 1

    def read(item: Any) -> list[int]:
        values = [int(number) & mask for number in getter(item.counters)]
        for index in zeros:
            values.insert(index, 0)
        return values

    return read


def container(name: str, *children: Node, module: str = "") -> Node:
    node = Node(name, children={child.name: child for child in children}, module=module)
    if len(children) > 1 and all(child.counter_attr is not None for child in children):
        node.bulk = _bulk_counters(children)
        node.bulk_rels = tuple(((child.member, ()),) for child in children)
    return node


def listing(
    name: str,
    keys: tuple[str, ...],
    entries: Callable[[Any], Iterable[tuple[tuple[str, ...], Any]]],
    *children: Node,
    dynamic: bool = False,
    module: str = "",
) -> Node:
    return Node(
        name,
        children={child.name: child for child in children},
        keys=keys,
        entries=entries,
        dynamic=dynamic,
        module=module,
    )


@dataclass(eq=False)
class Root:
    """A top-level node and the YANG module that defines it (the JSON_IETF prefix of the first path element)."""

    node: Node
    module: str
    origin: str = ""  # "openconfig" for the OpenConfig trees


# -- value helpers ------------------------------------------------------------------------------------


def iso_time(unix: float) -> str:
    """YANG date-and-time as SR Linux and SR OS print it: `2025-12-03T16:26:38.033Z`."""
    moment = dt.datetime.fromtimestamp(unix, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def ns(unix: float) -> int:
    return int(unix * 1_000_000_000)


def _speed_label(bps: int) -> str:
    return f"{bps // 1_000_000_000}G" if bps >= 1_000_000_000 else f"{bps // 1_000_000}M"


def _srl_version(model: DeviceModel) -> str:
    identity = model.identity
    return f"{identity.version}-{identity.build}" if identity.build else identity.version


def _sros_alarm_entries(model: DeviceModel) -> list[tuple[tuple[str, ...], LabAlarm]]:
    """SR OS's active alarms, keyed by raised-time and index (SR Linux keeps no alarm list)."""
    return [((iso_time(alarm.raised_at), str(alarm.index)), alarm) for alarm in model.alarms]


def _interface_entries(model: DeviceModel) -> list[tuple[tuple[str, ...], LabInterface]]:
    return [((name,), iface) for name, iface in model.interfaces.items()]


# -- SR Linux native ----------------------------------------------------------------------------------


def _srl_interface(model: DeviceModel) -> Node:
    stats = (
        counter("in-packets", "in_packets"),
        counter("in-octets", "in_octets"),
        counter("in-unicast-packets", "in_unicast"),
        counter("in-broadcast-packets", "in_broadcast"),
        counter("in-multicast-packets", "in_multicast"),
        counter("in-discarded-packets", "in_discards"),
        counter("in-error-packets", "in_errors"),
        counter("in-fcs-error-packets", "in_fcs_errors"),
        counter("out-packets", "out_packets"),
        counter("out-octets", "out_octets"),
        counter("out-mirror-octets", None),
        counter("out-unicast-packets", "out_unicast"),
        counter("out-broadcast-packets", "out_broadcast"),
        counter("out-multicast-packets", "out_multicast"),
        counter("out-discarded-packets", "out_discards"),
        counter("out-error-packets", "out_errors"),
        counter("out-mirror-packets", None),
        counter("carrier-transitions", "carrier_transitions"),
    )
    return listing(
        "interface",
        ("name",),
        lambda item: _interface_entries(item),
        leaf("name", lambda i: i.name),
        leaf("description", lambda i: i.description or None),
        leaf("admin-state", lambda i: "enable" if i.admin_up else "disable"),
        leaf("oper-state", lambda i: "up" if i.oper_up else "down"),
        leaf(
            "oper-down-reason",
            lambda i: None if i.oper_up else ("port-admin-disabled" if not i.admin_up else "lower-layer-down"),
        ),
        leaf("last-change", lambda i: iso_time(i.last_change)),
        leaf("mtu", lambda i: i.mtu, Kind.INT),
        container(
            "ethernet",
            leaf("port-speed", lambda i: _speed_label(i.speed_bps)),
        ),
        container("statistics", *stats),
        container(
            "traffic-rate",
            Node(
                "in-bps",
                value=lambda i: int(model.nominal_in_bps(i.name)),
                kind=Kind.U64,
                volatile=True,
            ),
            Node(
                "out-bps",
                value=lambda i: int(model.nominal_out_bps(i.name)),
                kind=Kind.U64,
                volatile=True,
            ),
        ),
    )


def _srl_platform() -> Node:
    def controls(item: DeviceModel) -> list[tuple[tuple[str, ...], DeviceModel]]:
        return [(("A",), item)]

    def linecards(item: DeviceModel) -> list[tuple[tuple[str, ...], DeviceModel]]:
        return [(("1",), item)]

    def temperature_of(model: DeviceModel, sensor: str) -> int:
        return dict(model.temperatures())[sensor]

    def memory_node() -> Node:
        return container(
            "memory",
            leaf("physical", lambda m: m.memory()[0], Kind.U64, volatile=True),
            leaf("reserved", lambda m: m.memory()[1], Kind.U64, volatile=True),
            leaf("free", lambda m: m.memory()[0] - m.memory()[1], Kind.U64, volatile=True),
            leaf("utilization", lambda m: round(100 * m.memory()[1] / m.memory()[0]), Kind.INT, volatile=True),
            module="srl_nokia-platform-memory",
        )

    def oper_state(part: Component) -> str:
        return "up" if part.oper_up else "down"

    return container(
        "platform",
        container(
            "chassis",
            leaf("type", lambda item: item.identity.model),
            leaf("serial-number", lambda item: item.identity.serial),
            leaf("part-number", lambda item: item.hardware.chassis_part),
            leaf("hw-mac-address", lambda item: item.identity.mac),
            leaf("last-booted", lambda item: iso_time(item.boot_time)),
            leaf("oper-state", lambda item: "up"),
            module="srl_nokia-platform-chassis",
        ),
        listing(
            "control",
            ("slot",),
            controls,
            leaf("slot", lambda m: "A"),
            leaf("oper-state", lambda m: "up"),
            listing(
                "cpu",
                ("index",),
                lambda m: [(("all",), m)],
                leaf("index", lambda m: "all"),
                container(
                    "total",
                    leaf("instant", lambda m: round(m.cpu_pct()), Kind.INT, volatile=True),
                    leaf("average-1", lambda m: round(m.cpu_pct()), Kind.INT, volatile=True),
                    leaf("average-5", lambda m: round(m.cpu_base + 3), Kind.INT, volatile=True),
                    leaf("average-15", lambda m: round(m.cpu_base + 3), Kind.INT, volatile=True),
                ),
                module="srl_nokia-platform-cpu",
            ),
            memory_node(),
            container(
                "temperature",
                leaf("instant", lambda m: temperature_of(m, "A"), Kind.INT, volatile=True),
                leaf("maximum", lambda m: temperature_of(m, "A") + 6, Kind.INT, volatile=True),
                leaf("alarm-status", lambda m: m.temperature_alarm("A"), Kind.BOOL, volatile=True),
            ),
            module="srl_nokia-platform-control",
        ),
        listing(
            "linecard",
            ("slot",),
            linecards,
            leaf("slot", lambda m: 1, Kind.INT),
            leaf("oper-state", lambda m: "up"),
            container(
                "temperature",
                leaf("instant", lambda m: temperature_of(m, "1"), Kind.INT, volatile=True),
                leaf("alarm-status", lambda m: m.temperature_alarm("1"), Kind.BOOL, volatile=True),
            ),
            module="srl_nokia-platform-lc",
        ),
        listing(
            "fan-tray",
            ("id",),
            lambda item: [((str(fan.ident),), fan) for fan in item.fans],
            leaf("id", lambda f: f.ident, Kind.INT),
            leaf("oper-state", oper_state),
            # Percent of full speed (srl_nokia-common:percentage).
            container("fan", leaf("speed", lambda f: 45 if f.oper_up else 0, Kind.INT, volatile=True)),
            module="srl_nokia-platform-fan",
        ),
        listing(
            "power-supply",
            ("id",),
            lambda item: [((str(psu.ident),), psu) for psu in item.power_supplies],
            leaf("id", lambda p: p.ident, Kind.INT),
            leaf("oper-state", oper_state),
            leaf("type", lambda p: "AC"),
            module="srl_nokia-platform-psu",
        ),
    )


def _srl_system() -> Node:
    return container(
        "system",
        container("name", leaf("host-name", lambda item: item.identity.name), module="srl_nokia-system-name"),
        container(
            "information",
            leaf("description", lambda item: f"SRLinux-{_srl_version(item)} {item.identity.model}"),
            leaf("version", lambda item: _srl_version(item)),
            leaf("current-datetime", lambda item: iso_time(item.now()), volatile=True),
            leaf("last-booted", lambda item: iso_time(item.boot_time)),
            module="srl_nokia-system-info",
        ),
    )


# -- SR OS --------------------------------------------------------------------------------------------


def _sros_port_entries(model: DeviceModel) -> list[tuple[tuple[str, ...], LabInterface]]:
    return _interface_entries(model)


def _sros_state() -> Node:
    stats = (
        counter("in-octets", "in_octets"),
        counter("in-packets", "in_packets"),
        counter("in-unicast-packets", "in_unicast"),
        counter("in-broadcast-packets", "in_broadcast"),
        counter("in-multicast-packets", "in_multicast"),
        counter("in-errors", "in_errors"),
        counter("in-discards", "in_discards"),
        counter("out-octets", "out_octets"),
        counter("out-packets", "out_packets"),
        counter("out-unicast-packets", "out_unicast"),
        counter("out-broadcast-packets", "out_broadcast"),
        counter("out-multicast-packets", "out_multicast"),
        counter("out-errors", "out_errors"),
        counter("out-discards", "out_discards"),
    )
    port = listing(
        "port",
        ("port-id",),
        lambda item: _sros_port_entries(item),
        leaf("port-id", lambda i: i.name),
        leaf("oper-state", lambda i: "up" if i.oper_up else "down"),
        # down-reason (bits) is left out: none of its bits stands for a plain loss of link or an admin-down port.
        leaf("oper-state-last-changed", lambda i: iso_time(i.last_change)),
        container(
            "ethernet",
            leaf("oper-speed", lambda i: i.speed_bps // 1_000_000, Kind.INT),
        ),
        container("statistics", *stats),
    )

    def slot_entries(numbered: bool) -> Callable[[DeviceModel], list[tuple[tuple[str, ...], tuple[DeviceModel, str]]]]:
        """IOM cards sit in numbered slots and CPMs in lettered ones: SR OS lists the two apart."""

        def entries(item: DeviceModel) -> list[tuple[tuple[str, ...], tuple[DeviceModel, str]]]:
            return [((slot,), (item, slot)) for slot, _ in item.hardware.cards if slot.isdigit() == numbered]

        return entries

    def card_temperature(card: tuple[DeviceModel, str]) -> int:
        model, slot = card
        readings = dict(model.temperatures())
        return readings.get(slot, readings["A"])

    def equipped_type(card: tuple[DeviceModel, str]) -> str:
        # `iom5-e:he1200g+` is the card type and its level; the type enumeration has the type only.
        return dict(card[0].hardware.cards)[card[1]].split(":", 1)[0]

    def hardware_state(up: bool) -> str:
        return "in-service" if up else "failed"  # nokia-types-chassis:hw-oper-state

    chassis = listing(
        "chassis",
        ("chassis-class", "chassis-number"),
        lambda item: [(("router", "1"), item)],
        leaf("chassis-class", lambda m: "router"),
        leaf("chassis-number", lambda m: 1, Kind.INT),
        container(
            "hardware-data",
            leaf("part-number", lambda m: m.hardware.chassis_part),
            leaf("serial-number", lambda m: m.identity.serial),
            leaf("temperature", lambda m: min(t for _, t in m.temperatures()) - 3, Kind.INT, volatile=True),
        ),
        listing(
            "fan",
            ("fan-slot",),
            lambda m: [((str(fan.ident),), fan) for fan in m.fans],
            leaf("fan-slot", lambda f: f.ident, Kind.INT),
            # Percent of full speed (nokia-types-sros:percent): half speed, as `show chassis` says.
            leaf("speed", lambda f: 50 if f.oper_up else 0, Kind.INT),
            container("hardware-data", leaf("oper-state", lambda f: hardware_state(f.oper_up))),
        ),
        listing(
            "power-supply",
            ("power-supply-id",),
            lambda m: [((str(psu.ident),), psu) for psu in m.power_supplies],
            leaf("power-supply-id", lambda p: p.ident, Kind.INT),
            container("hardware-data", leaf("oper-state", lambda p: hardware_state(p.oper_up))),
        ),
    )

    def slot_listing(name: str, key: str, numbered: bool, slot_value: Callable[[str], object], kind: Kind) -> Node:
        """The `card` and `cpm` lists: one shape, keyed by their own slot leaf."""
        return listing(
            name,
            (key,),
            slot_entries(numbered),
            leaf(key, lambda c: slot_value(c[1]), kind),
            leaf("equipped-type", equipped_type),
            container(
                "hardware-data",
                leaf("oper-state", lambda c: "in-service"),
                leaf("temperature", card_temperature, Kind.INT, volatile=True),
            ),
        )

    card = slot_listing("card", "slot-number", True, int, Kind.INT)
    cpm = slot_listing("cpm", "cpm-slot", False, str, Kind.STRING)
    system = container(
        "system",
        leaf("oper-name", lambda item: item.identity.name),
        leaf("platform", lambda item: item.identity.model),
        # Hundredths of a second since boot, as a string: SR OS renders it like a 64-bit counter.
        leaf("up-time", lambda item: int(item.uptime_s * 100), Kind.U64, volatile=True),
        leaf("current-time", lambda item: iso_time(item.now()), volatile=True),
        container("version", leaf("version-number", lambda item: item.identity.version)),
        listing(
            "cpu",
            ("sample-period",),
            lambda item: [(("1",), item)],
            leaf("sample-period", lambda m: 1, Kind.INT),
            container(
                "summary",
                container("usage", leaf("cpu-usage", lambda m: m.cpu_pct(), Kind.DECIMAL, volatile=True)),
            ),
        ),
        container(
            "memory-pools",
            container(
                "summary",
                leaf("current-total-size", lambda item: item.memory()[0], Kind.U64, volatile=True),
                leaf("total-in-use", lambda item: item.memory()[1], Kind.U64, volatile=True),
                leaf(
                    "available-memory",
                    lambda item: item.memory()[0] - item.memory()[1],
                    Kind.U64,
                    volatile=True,
                ),
            ),
        ),
        container(
            "alarms",
            listing(
                "active",
                ("raised-time", "index"),
                lambda item: _sros_alarm_entries(item),
                leaf("raised-time", lambda a: iso_time(a.raised_at)),
                leaf("index", lambda a: a.index, Kind.INT),
                # The lab's own identifier stands in for SR OS's application/event/sub-id triple.
                container("alarm-id", leaf("full-id", lambda a: a.alarm_id)),
                leaf("severity", lambda a: a.severity),
                leaf("resource", lambda a: a.resource),
                leaf("details", lambda a: a.text),
                dynamic=True,
            ),
        ),
    )
    return container("state", port, card, cpm, chassis, system)


def _sros_configure() -> Node:
    port = listing(
        "port",
        ("port-id",),
        lambda item: _sros_port_entries(item),
        leaf("port-id", lambda i: i.name),
        leaf("admin-state", lambda i: "enable" if i.admin_up else "disable"),
        leaf("description", lambda i: i.description or None),
    )
    return container("configure", port)


# -- OpenConfig (both platforms) ----------------------------------------------------------------------


def _oc_interfaces() -> Node:
    counters = container(
        "counters",
        counter("in-octets", "in_octets"),
        counter("in-pkts", "in_packets"),
        counter("in-unicast-pkts", "in_unicast"),
        counter("in-broadcast-pkts", "in_broadcast"),
        counter("in-multicast-pkts", "in_multicast"),
        counter("in-discards", "in_discards"),
        counter("in-errors", "in_errors"),
        counter("in-fcs-errors", "in_fcs_errors"),
        counter("out-octets", "out_octets"),
        counter("out-pkts", "out_packets"),
        counter("out-unicast-pkts", "out_unicast"),
        counter("out-broadcast-pkts", "out_broadcast"),
        counter("out-multicast-pkts", "out_multicast"),
        counter("out-discards", "out_discards"),
        counter("out-errors", "out_errors"),
        counter("carrier-transitions", "carrier_transitions"),
    )
    return container(
        "interfaces",
        listing(
            "interface",
            ("name",),
            lambda item: _interface_entries(item),
            leaf("name", lambda i: i.name),
            container(
                "state",
                leaf("name", lambda i: i.name),
                leaf("description", lambda i: i.description or None),
                leaf("admin-status", lambda i: "UP" if i.admin_up else "DOWN"),
                leaf("oper-status", lambda i: "UP" if i.oper_up else "DOWN"),
                leaf("last-change", lambda i: ns(i.last_change), Kind.U64),
                leaf("mtu", lambda i: i.mtu, Kind.INT),
                counters,
            ),
            container(
                "ethernet",
                container(
                    "state",
                    leaf("port-speed", lambda i: f"openconfig-if-ethernet:SPEED_{i.speed_bps // 1_000_000_000}GB"),
                ),
                module="openconfig-if-ethernet",
            ),
        ),
    )


def _oc_system() -> Node:
    return container(
        "system",
        container(
            "state",
            leaf("hostname", lambda item: item.identity.name),
            leaf("software-version", lambda item: item.identity.version),
            leaf("boot-time", lambda item: ns(item.boot_time), Kind.U64),
            leaf("current-datetime", lambda item: iso_time(item.now()), volatile=True),
        ),
        container(
            "cpus",
            listing(
                "cpu",
                ("index",),
                lambda item: [(("ALL",), item)],
                leaf("index", lambda m: "ALL"),
                container(
                    "state",
                    container(
                        "total",
                        leaf("instant", lambda m: round(m.cpu_pct()), Kind.INT, volatile=True),
                        leaf("avg", lambda m: round(m.cpu_base + 3), Kind.INT, volatile=True),
                    ),
                ),
            ),
        ),
        container(
            "memory",
            container(
                "state",
                leaf("physical", lambda item: item.memory()[0], Kind.U64, volatile=True),
                # Nokia's deviations leave `used` and `free` out of SR Linux's OpenConfig memory state.
                leaf("reserved", lambda item: item.memory()[1], Kind.U64, volatile=True),
            ),
        ),
        # No alarms: Nokia's deviations mark openconfig-alarms' /system/alarms not-supported on SR Linux.
    )


@dataclass
class _Component:
    name: str
    kind: str  # openconfig-platform-types identity
    model: DeviceModel
    sensor: str | None = None  # temperature sensor in DeviceModel.temperatures()
    part: Any = None  # fan tray / power supply


def _oc_components_of(model: DeviceModel) -> list[tuple[tuple[str, ...], _Component]]:
    parts = [_Component("Chassis", "CHASSIS", model)]
    for sensor, _ in model.temperatures():
        if sensor.isdigit():
            parts.append(_Component(f"Linecard{sensor}", "LINECARD", model, sensor=sensor))
        else:
            parts.append(_Component(f"Control{sensor}", "CONTROLLER_CARD", model, sensor=sensor))
    parts += [_Component(f"FanTray{fan.ident}", "FAN", model, part=fan) for fan in model.fans]
    parts += [_Component(f"PowerSupply{psu.ident}", "POWER_SUPPLY", model, part=psu) for psu in model.power_supplies]
    return [((part.name,), part) for part in parts]


def _oc_components() -> Node:
    def oper_status(part: _Component) -> str:
        return "ACTIVE" if part.part is None or part.part.oper_up else "INACTIVE"

    def temperature(part: _Component) -> int | None:
        return None if part.sensor is None else dict(part.model.temperatures())[part.sensor]

    def temperature_alarm(part: _Component) -> bool | None:
        return None if part.sensor is None else part.model.temperature_alarm(part.sensor)

    return container(
        "components",
        listing(
            "component",
            ("name",),
            lambda item: _oc_components_of(item),
            leaf("name", lambda p: p.name),
            container(
                "state",
                leaf("name", lambda p: p.name),
                leaf("type", lambda p: f"openconfig-platform-types:{p.kind}"),
                leaf("oper-status", lambda p: f"openconfig-platform-types:{oper_status(p)}"),
                container(
                    "temperature",
                    leaf("instant", temperature, Kind.DECIMAL, volatile=True),  # decimal64, degrees Celsius
                    leaf("alarm-status", temperature_alarm, Kind.BOOL, volatile=True),
                ),
            ),
        ),
    )


def build_roots(model: DeviceModel) -> list[Root]:
    """Every tree the device serves, native first."""
    openconfig = [
        Root(_oc_interfaces(), "openconfig-interfaces", "openconfig"),
        Root(_oc_system(), "openconfig-system", "openconfig"),
        Root(_oc_components(), "openconfig-platform", "openconfig"),
    ]
    if model.identity.platform.is_sros:
        return [Root(_sros_state(), "nokia-state"), Root(_sros_configure(), "nokia-conf"), *openconfig]
    return [
        Root(_srl_interface(model), "srl_nokia-interfaces"),
        Root(_srl_platform(), "srl_nokia-platform"),
        Root(_srl_system(), "srl_nokia-system"),
        *openconfig,
    ]


# -- path matching ------------------------------------------------------------------------------------


def _bare(name: str) -> str:
    """`srl_nokia-interfaces:interface` -> `interface` (module prefixes are optional in requests)."""
    return name.split(":", 1)[1] if ":" in name else name


def request_elems(prefix: gnmi_pb2.Path | None, path: gnmi_pb2.Path) -> tuple[str, list[tuple[str, dict[str, str]]]]:
    """(origin, [(name, keys)]) of prefix + path, module prefixes stripped."""
    elems: list[tuple[str, dict[str, str]]] = []
    origin = ""
    for part in (prefix, path):
        if part is None:
            continue
        origin = part.origin or origin
        elems.extend((_bare(elem.name), dict(elem.key)) for elem in part.elem)
        # Deprecated string elements ("interface[name=x]" is not supported in them; plain names are).
        elems.extend((_bare(name), {}) for name in part.element)
    return origin, elems


@dataclass(eq=False)
class LeafRef:
    """A leaf below a match: its path relative to the match, its schema node and the item it reads."""

    rel: tuple[Elem, ...]
    node: Node
    item: Any


@dataclass(eq=False)
class Match:
    """One concrete node a request path resolved to."""

    root: Root
    elems: tuple[Elem, ...]  # from the root node, keys resolved
    node: Node
    item: Any
    leaves: list[LeafRef] = field(default_factory=list)
    flat: bool = True  # every leaf is a direct child (or the match itself): JSON is one flat object
    cache: dict[Any, Any] = field(default_factory=dict)  # wire paths built once, reused on every sample
    bulk_rels: tuple[tuple[Elem, ...], ...] = ()  # with node.bulk: the paths of its values, in order

    @property
    def key(self) -> tuple[Elem, ...]:
        return self.elems


def _resolve_in(
    root: Root, node: Node, item: Any, remaining: Sequence[tuple[str, dict[str, str]]], done: tuple[Elem, ...]
) -> list[Match]:
    """Matches of `remaining` below `node` (whose own element is already in `done`)."""
    if not remaining:
        if node.is_list and not done[-1][1]:
            return _expand_list(root, node, item, (), done[:-1])
        return [Match(root, done, node, item)]
    name, keys = remaining[0]
    if node.is_leaf:
        raise PathError(f"{'/'.join(e[0] for e in done)} is a leaf; it has no {name!r}")
    if name == "*":
        candidates = list(node.children.values())
    elif name in node.children:
        candidates = [node.children[name]]
    else:
        raise PathError(f"unknown element {name!r} under /{'/'.join(e[0] for e in done)}")
    found: list[Match] = []
    failures: list[PathError] = []
    for child in candidates:
        if len(candidates) > 1:
            # Under a `*`, a child the rest of the path does not fit simply matches nothing.
            try:
                found.extend(_resolve_in(root, node, item, [(child.name, keys), *remaining[1:]], done))
            except PathError as error:
                failures.append(error)
            continue
        if child.is_list:
            unknown = set(keys) - set(child.keys)
            if unknown:
                raise PathError(f"{child.name} has no key {', '.join(sorted(unknown))} (keys: {', '.join(child.keys)})")
            wanted = tuple(keys.get(k, "*") for k in child.keys)
            every = all(w == "*" for w in wanted)  # the usual request: every entry, no key to compare
            rest, names = remaining[1:], child.keys
            for key_values, entry in child.entries(item) if child.entries else ():
                if every or all(w in ("*", v) for w, v in zip(wanted, key_values, strict=True)):
                    elem = (child.name, tuple(zip(names, key_values, strict=True)))
                    found.extend(_resolve_in(root, child, entry, rest, (*done, elem)))
        else:
            if keys:
                raise PathError(f"{child.name} is not a list; it takes no keys")
            found.extend(_resolve_in(root, child, item, remaining[1:], (*done, (child.name, ()))))
    if failures and len(failures) == len(candidates):
        raise failures[0]
    return found


def _expand_list(root: Root, node: Node, item: Any, _keys: tuple[str, ...], parent: tuple[Elem, ...]) -> list[Match]:
    """A path that stops at a list without keys means every entry."""
    matches = []
    for key_values, entry in node.entries(item) if node.entries else ():
        elem = (node.name, tuple(zip(node.keys, key_values, strict=True)))
        matches.append(Match(root, (*parent, elem), node, entry))
    return matches


def _collect_leaves(node: Node, item: Any, rel: tuple[Elem, ...], out: list[LeafRef]) -> None:
    """The leaves below a node, each with its path from the node; the path names each element as its JSON member
    (module-qualified where the module changes), which path_proto leaves out of gNMI paths."""
    if node.is_leaf:
        out.append(LeafRef(rel, node, item))
        return
    for child in node.children.values():
        if child.is_list:
            for key_values, entry in child.entries(item) if child.entries else ():
                elem = (child.member, tuple(zip(child.keys, key_values, strict=True)))
                _collect_leaves(child, entry, (*rel, elem), out)
        else:
            _collect_leaves(child, item, (*rel, (child.member, ())), out)


def _subtree_is_dynamic(node: Node) -> bool:
    return node.dynamic or any(_subtree_is_dynamic(child) for child in node.children.values())


class DeviceTree:
    """The gNMI view of one DeviceModel: resolves request paths to matches with their leaves."""

    def __init__(self, model: DeviceModel) -> None:
        self.model = model
        self.platform = model.identity.platform
        self.roots = build_roots(model)
        self._root_item = model
        # Resolutions of paths whose matches cannot change, shared by every stream and Get on this device
        # (with the wire paths cached on their matches): a reconnect or a second client costs nothing.
        self._resolved: dict[tuple[str, tuple[tuple[str, tuple[tuple[str, str], ...]], ...]], list[Match]] = {}
        self._dynamic: dict[tuple[tuple[str, tuple[tuple[str, str], ...]], ...], bool] = {}

    def matches(self, origin: str, elems: Sequence[tuple[str, dict[str, str]]]) -> list[Match]:
        """Like resolve(), but shared and cached unless the path reaches into a list that changes."""
        frozen = tuple((name, tuple(sorted(keys.items()))) for name, keys in elems)
        if self.path_is_dynamic(elems):
            return self.resolve(origin, elems)
        found = self._resolved.get((origin, frozen))
        if found is None:
            found = self.resolve(origin, elems)
            self._resolved[(origin, frozen)] = found
        return found

    def resolve(self, origin: str, elems: Sequence[tuple[str, dict[str, str]]]) -> list[Match]:
        """Every concrete node the path names now (wildcards expanded). PathError if the schema lacks it."""
        if not elems:
            raise PathError("the root path is not supported here; name a top-level container")
        first = elems[0][0]
        roots = [r for r in self.roots if (first == "*" or r.node.name == first)]
        if origin == "openconfig":
            roots = [r for r in roots if r.origin == "openconfig"]
        elif origin and origin != "rfc7951":
            # A module name as origin (`srl_nokia-interfaces:/interface`) selects by module.
            roots = [r for r in roots if r.module == origin] or roots
        if not roots:
            raise PathError(f"unknown top-level element {first!r}")
        matches: list[Match] = []
        errors: list[PathError] = []
        for root in roots:
            top = Node("", children={root.node.name: root.node})
            try:
                matches.extend(_resolve_in(root, top, self._root_item, elems, ()))
            except PathError as error:
                errors.append(error)
        if errors and len(errors) == len(roots):
            raise errors[0]
        for match in matches:
            if match.node.bulk is not None:
                # Read in one call; its leaves need no references of their own (there are thousands).
                match.bulk_rels = match.node.bulk_rels
                continue
            _collect_leaves(match.node, match.item, (), match.leaves)
            match.flat = all(len(ref.rel) <= 1 for ref in match.leaves)
        return matches

    def path_is_dynamic(self, elems: Sequence[tuple[str, dict[str, str]]]) -> bool:
        """Whether a path's matches can change over time (it reaches into a list whose entries come and go)."""
        frozen = tuple((name, tuple(sorted(keys.items()))) for name, keys in elems)
        known = self._dynamic.get(frozen)
        if known is None:
            known = self._dynamic[frozen] = self._path_is_dynamic(elems)
        return known

    def _path_is_dynamic(self, elems: Sequence[tuple[str, dict[str, str]]]) -> bool:
        for root in self.roots:
            if elems and elems[0][0] not in ("*", root.node.name):
                continue
            node = Node("", children={root.node.name: root.node})
            dynamic = False
            for name, _ in elems:
                if name == "*" or name not in node.children:
                    dynamic = dynamic or _subtree_is_dynamic(node)
                    break
                node = node.children[name]
                dynamic = dynamic or node.dynamic
            else:
                dynamic = dynamic or _subtree_is_dynamic(node)
            if dynamic:
                return True
        return False


# -- rendering ----------------------------------------------------------------------------------------


def json_scalar(value: Any, kind: Kind) -> Any:
    """A leaf's value as RFC 7951 JSON wants it: 64-bit integers and decimals as strings."""
    if kind is Kind.U64:
        return str(value)
    if kind is Kind.DECIMAL:
        return f"{value:.2f}"
    return value


def json_text(value: Any, kind: Kind) -> str:
    """A leaf's value as RFC 7951 JSON text, without json.dumps' per-call overhead (this runs per leaf)."""
    if kind is Kind.U64:
        return f'"{value}"'
    if kind is Kind.INT:
        return str(int(value))
    if kind is Kind.DECIMAL:
        return f'"{value:.2f}"'
    if kind is Kind.BOOL:
        return "true" if value else "false"
    return encode_basestring(str(value))


@lru_cache(maxsize=4096)
def json_member(name: str) -> str:
    """`"name":` for a JSON object member (names repeat on every sample, so they are made once)."""
    return encode_basestring(name) + ":"


def flat_json(values: Iterable[tuple[tuple[Elem, ...], Any, Kind]], *, qualified: bool = True) -> str:
    """A container whose leaves are all direct children, as a JSON object (`qualified`: member names carry their
    module where it changes, as JSON_IETF wants; else bare, as SR OS's JSON)."""
    name = (lambda n: n) if qualified else _bare
    return "{" + ",".join(json_member(name(rel[0][0])) + json_text(value, kind) for rel, value, kind in values) + "}"


def typed_value(value: Any, kind: Kind) -> gnmi_pb2.TypedValue:
    """A leaf's value as a PROTO-encoded TypedValue."""
    if kind is Kind.U64:
        return gnmi_pb2.TypedValue(uint_val=int(value))
    if kind is Kind.INT:
        return gnmi_pb2.TypedValue(int_val=int(value))
    if kind is Kind.DECIMAL:
        return gnmi_pb2.TypedValue(double_val=float(value))
    if kind is Kind.BOOL:
        return gnmi_pb2.TypedValue(bool_val=bool(value))
    return gnmi_pb2.TypedValue(string_val=str(value))


def ascii_value(value: Any, kind: Kind) -> gnmi_pb2.TypedValue:
    if kind is Kind.BOOL:
        return gnmi_pb2.TypedValue(ascii_val="true" if value else "false")
    if kind is Kind.DECIMAL:
        return gnmi_pb2.TypedValue(ascii_val=f"{value:.2f}")
    return gnmi_pb2.TypedValue(ascii_val=str(value))


def nest(values: Iterable[tuple[tuple[Elem, ...], Any]], *, qualified: bool = True) -> dict[str, Any]:
    """Leaves relative to a container, as the container's RFC 7951 JSON object (lists become arrays); member names
    carry their module where it changes unless `qualified` is false (see flat_json)."""
    root: dict[str, Any] = {}
    entries: dict[tuple[int, KeyPairs], dict[str, Any]] = {}
    for rel, value in values:
        if not qualified:
            rel = tuple((_bare(name), keys) for name, keys in rel)
        current = root
        for name, keys in rel[:-1]:
            if keys:
                array = current.setdefault(name, [])
                entry = entries.get((id(array), keys))
                if entry is None:
                    entry = {}
                    array.append(entry)
                    entries[(id(array), keys)] = entry
                current = entry
            else:
                current = current.setdefault(name, {})
        current[rel[-1][0]] = value
    return root


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def path_proto(elems: Iterable[Elem], first_module: str = "") -> gnmi_pb2.Path:
    """A gNMI Path; `first_module` prefixes the first element (SR Linux JSON_IETF style). Other elements go without
    their module, as the devices send them, even where a JSON member name would carry it."""
    built = []
    for index, (name, keys) in enumerate(elems):
        name = _bare(name)
        shown = f"{first_module}:{name}" if index == 0 and first_module else name
        built.append(gnmi_pb2.PathElem(name=shown, key=dict(keys)) if keys else gnmi_pb2.PathElem(name=shown))
    return gnmi_pb2.Path(elem=built)


def path_text(elems: Iterable[Elem]) -> str:
    return "/" + "/".join(name + "".join(f"[{k}={v}]" for k, v in keys) for name, keys in elems)
