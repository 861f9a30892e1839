"""Hardware catalogue of the simulated models: port layouts, speeds, cards, fans and power supplies."""

from __future__ import annotations

from dataclasses import dataclass

from edgeops.platforms import Platform

G = 1_000_000_000


@dataclass(frozen=True)
class PortSpec:
    name: str  # ethernet-1/1, 1/1/c1/1, A/1, mgmt0
    speed_bps: int
    connector: str = ""  # SR OS connector the port breaks out of, e.g. "1/1/c1"
    transceiver: str = ""  # e.g. 100GBASE-LR4, 25GBASE-SR


@dataclass(frozen=True)
class HardwareSpec:
    model: str  # "7220 IXR-D3L"
    platform: Platform
    ports: tuple[PortSpec, ...]
    fan_trays: int
    power_supplies: int
    memory_bytes: int
    chassis_part: str
    cards: tuple[tuple[str, str], ...] = ()  # SR OS: (slot, type), e.g. ("1", "iom5-e:he1200g+"), ("A", "cpm5")
    mdas: tuple[tuple[str, str], ...] = ()  # SR OS: (slot/mda, type)


def _srl_ports(groups: list[tuple[int, int, int, str]]) -> tuple[PortSpec, ...]:
    ports = [PortSpec("mgmt0", 1 * G, transceiver="1000BASE-T")]
    for first, last, speed, optic in groups:
        ports.extend(PortSpec(f"ethernet-1/{n}", speed, transceiver=optic) for n in range(first, last + 1))
    return tuple(ports)


def _sros_ports(mdas: int, connectors_per_mda: int) -> tuple[PortSpec, ...]:
    ports = [PortSpec("A/1", 1 * G, transceiver="1000BASE-T")]
    for mda in range(1, mdas + 1):
        for conn in range(1, connectors_per_mda + 1):
            connector = f"1/{mda}/c{conn}"
            ports.append(PortSpec(f"{connector}/1", 100 * G, connector=connector, transceiver="100GBASE-LR4"))
    return tuple(ports)


CATALOGUE: dict[str, HardwareSpec] = {
    "7220 IXR-D1": HardwareSpec(
        "7220 IXR-D1",
        Platform.SRLINUX,
        _srl_ports([(1, 48, 1 * G, "1000BASE-T"), (49, 52, 10 * G, "10GBASE-SR")]),
        fan_trays=1,
        power_supplies=2,
        memory_bytes=8 * 1024**3,
        chassis_part="3HE12453AARA01",
    ),
    "7220 IXR-D2L": HardwareSpec(
        "7220 IXR-D2L",
        Platform.SRLINUX,
        _srl_ports([(1, 48, 25 * G, "25GBASE-SR"), (49, 56, 100 * G, "100GBASE-LR4")]),
        fan_trays=5,
        power_supplies=2,
        memory_bytes=16 * 1024**3,
        chassis_part="3HE16830AARA01",
    ),
    "7220 IXR-D3L": HardwareSpec(
        "7220 IXR-D3L",
        Platform.SRLINUX,
        _srl_ports([(1, 32, 100 * G, "100GBASE-LR4"), (33, 34, 10 * G, "10GBASE-SR")]),
        fan_trays=6,
        power_supplies=2,
        memory_bytes=32 * 1024**3,
        chassis_part="3HE16831AARA01",
    ),
    "7750 SR-1": HardwareSpec(
        "7750 SR-1",
        Platform.SROS,
        _sros_ports(mdas=1, connectors_per_mda=12),
        fan_trays=1,
        power_supplies=2,
        memory_bytes=16 * 1024**3,
        chassis_part="3HE12139AARA01",
        cards=(("1", "iom-1"), ("A", "cpm-1")),
        mdas=(("1/1", "me12-100gb-qsfp28"),),
    ),
    "7750 SR-7": HardwareSpec(
        "7750 SR-7",
        Platform.SROS,
        _sros_ports(mdas=2, connectors_per_mda=6),
        fan_trays=2,
        power_supplies=4,
        memory_bytes=32 * 1024**3,
        chassis_part="3HE06985AARA01",
        cards=(("1", "iom5-e:he1200g+"), ("A", "cpm5"), ("B", "cpm5")),
        mdas=(("1/1", "me6-100gb-qsfp28"), ("1/2", "me6-100gb-qsfp28")),
    ),
}


def hardware(model: str) -> HardwareSpec:
    try:
        return CATALOGUE[model]
    except KeyError:
        raise ValueError(f"the lab does not simulate model {model!r}; known: {', '.join(CATALOGUE)}") from None
