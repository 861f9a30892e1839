"""Everything the lab can serve over gNMI: every simulated model, in every fault state, in every encoding."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pygnmi.spec.v080 import gnmi_pb2

from edgeops.lab.faults import HOSTILE_DESCRIPTION
from edgeops.lab.hardware import CATALOGUE
from edgeops.lab.model import DeviceIdentity, DeviceModel
from edgeops.lab.servers.gnmi import CompiledSubscription, NotificationShaper
from edgeops.lab.servers.gnmi_tree import DeviceTree, Root
from edgeops.lab.topology import SRLINUX_RELEASES, SROS_RELEASES
from edgeops.platforms import Platform

NOW = 1_760_000_000.0  # a fixed instant: values are the same on every run


def identity(model: str) -> DeviceIdentity:
    platform = CATALOGUE[model].platform
    version, build = SROS_RELEASES[0] if platform.is_sros else SRLINUX_RELEASES[0]
    return DeviceIdentity(
        name="conformance-" + model.split()[-1].lower(),
        site="conformance",
        site_name="Conformance",
        role="gateway" if platform.is_sros else "leaf",
        model=model,
        platform=platform,
        host="127.0.0.1",
        ssh_port=22,
        gnmi_port=57400,
        serial="NK000000001",
        mac="1A:2B:3C:4D:5E:6F",
        version=version,
        build=build,
    )


def _first_busy_port(model: DeviceModel) -> str:
    return next(i.name for i in model.interfaces.values() if i.passing_traffic and i.name not in ("mgmt0", "A/1"))


def _port_down(model: DeviceModel) -> None:
    model.set_oper_state(_first_busy_port(model), False)


def _alarms(model: DeviceModel) -> None:
    # What the alarm-raise fault accepts: any resource; the lab's own incidents name PSUs, fans, ports and modules.
    model.raise_alarm("major", "system", "Simulated alarm raised by the lab")
    model.raise_alarm("critical", "fan-tray 1", "Fan tray 1 failed", "fan-1")
    model.raise_alarm("minor", _first_busy_port(model), "Port down", "link-down")
    model.raise_alarm("warning", "control A", "CPU utilisation above 90 %", "cpu-high")


def _psu_failed(model: DeviceModel) -> None:
    model.fail_power_supply(len(model.power_supplies))


def _cpu_spike(model: DeviceModel) -> None:
    model.cpu_spike(99.0, 60.0)


def _counter_reset(model: DeviceModel) -> None:
    model.reboot()


def _hostile_text(model: DeviceModel) -> None:
    for name in list(model.interfaces)[:3]:
        model.set_description(name, HOSTILE_DESCRIPTION)


def _everything(model: DeviceModel) -> None:
    for fault in (_port_down, _alarms, _psu_failed, _cpu_spike, _counter_reset, _hostile_text):
        fault(model)


SCENARIOS: dict[str, Callable[[DeviceModel], None]] = {
    "healthy": lambda model: None,
    "port-down": _port_down,
    "alarms-raised": _alarms,
    "psu-failed": _psu_failed,
    "cpu-spike": _cpu_spike,
    "counter-reset": _counter_reset,
    "hostile-text": _hostile_text,
    "everything": _everything,
}


def lab_model(model: str, scenario: str) -> DeviceModel:
    device = DeviceModel(identity(model), clock=lambda: NOW)
    SCENARIOS[scenario](device)
    return device


def table_of(platform: Platform, root: Root) -> str:
    """The schema table a tree of the lab is checked against."""
    if root.origin == "openconfig":
        # SR OS's OpenConfig deviations are not tabled: the lab serves one OpenConfig tree for both platforms.
        return "srlinux-openconfig"
    return "sros-state" if platform.is_sros else "srlinux-native"


@dataclass(frozen=True)
class Shape:
    """One way the lab shapes its notifications: an encoding, Get or Subscribe."""

    encoding: int
    subscribe: bool

    @property
    def qualified_members(self) -> bool:
        return self.encoding == gnmi_pb2.JSON_IETF

    def __str__(self) -> str:
        return f"{gnmi_pb2.Encoding.Name(self.encoding)} {'Subscribe' if self.subscribe else 'Get'}"


def shapes(platform: Platform) -> tuple[Shape, ...]:
    """The JSON encodings each platform offers, as Get and as Subscribe (SR OS shapes the two differently)."""
    if platform.is_sros:
        return tuple(Shape(e, s) for e in (gnmi_pb2.JSON, gnmi_pb2.JSON_IETF) for s in (False, True))
    return (Shape(gnmi_pb2.JSON_IETF, False), Shape(gnmi_pb2.JSON_IETF, True))


def served(model: DeviceModel) -> Iterator[tuple[str, Shape, gnmi_pb2.Notification]]:
    """(table name, shape, notification) for the whole of every tree the device serves, in every JSON shape."""
    tree = DeviceTree(model)
    platform = model.identity.platform
    stamp = int(NOW * 1e9)
    for root in tree.roots:
        elems = [(root.node.name, {})]
        # The origin names the tree: `/system` is both SR Linux's native system and OpenConfig's.
        origin = root.origin or root.module
        matches = tree.resolve(origin, elems)
        unit = CompiledSubscription(tree, origin, elems, gnmi_pb2.SAMPLE, 0.0, _matches=matches)
        readings = unit.read()
        for shape in shapes(platform):
            shaper = NotificationShaper(platform, shape.encoding, subscribe=shape.subscribe)
            for notification in shaper.updates(readings, stamp):
                yield table_of(platform, root), shape, notification
