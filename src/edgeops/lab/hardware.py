"""Hardware catalogue of the simulated models: port layouts, speeds, cards, fans and power supplies."""

from __future__ import annotations

from dataclasses import dataclass

from edgeops.platforms import Platform

G = 1_000_000_000


@dataclass(frozen=True)
class PortSpec:
    name: str  # ethernet-1/1, 1/1/c1/1, A/1, esat-1/1/1, pxc-1.a, mgmt0
    speed_bps: int
    connector: str = ""  # SR OS connector the port breaks out of, e.g. "1/1/c1", "esat-1/1/c65"
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


def _qsfp28_connectors(
    mda: str, count: int, breakouts: dict[int, tuple[int, int, str]] | None = None
) -> list[PortSpec]:
    """QSFP28 connectors `<mda>/c1..cN`, each carrying one 100G port `/1`, or for a connector in `breakouts`
    (number -> ports, speed, optic) that many ports `/1..n` at that speed, as a breakout cable splits it."""
    ports: list[PortSpec] = []
    for conn in range(1, count + 1):
        connector = f"{mda}/c{conn}"
        lanes, speed, optic = (breakouts or {}).get(conn, (1, 100 * G, "100GBASE-LR4"))
        ports.extend(
            PortSpec(f"{connector}/{lane}", speed, connector=connector, transceiver=optic)
            for lane in range(1, lanes + 1)
        )
    return ports


def _sros_ports(mdas: int, connectors_per_mda: int) -> tuple[PortSpec, ...]:
    ports = [PortSpec("A/1", 1 * G, transceiver="1000BASE-T")]
    for mda in range(1, mdas + 1):
        ports += _qsfp28_connectors(f"1/{mda}", connectors_per_mda)
    return tuple(ports)


def _satellite_ports(satellite: int, access: int, uplinks: int) -> list[PortSpec]:
    """An Ethernet satellite: `esat-N/1/1..access` 1/10G access ports, then QSFP28 uplink connectors numbered on
    from there, each with one 100G uplink port `u1` (`esat-N/1/c65/u1`, longer than the port column is wide)."""
    ports = [PortSpec(f"esat-{satellite}/1/{n}", 10 * G, transceiver="10GBASE-SR") for n in range(1, access + 1)]
    for conn in range(access + 1, access + uplinks + 1):
        connector = f"esat-{satellite}/1/c{conn}"
        ports.append(PortSpec(f"{connector}/u1", 100 * G, connector=connector, transceiver="100GBASE-LR4"))
    return ports


def _pxc_ports(pxc: int) -> list[PortSpec]:
    """A port cross-connect's two sub-ports (`pxc-N.a`, `pxc-N.b`), looped back inside a 100G port."""
    return [PortSpec(f"pxc-{pxc}.{side}", 100 * G) for side in ("a", "b")]


def _sros_aggregation_ports() -> tuple[PortSpec, ...]:
    """A larger gateway: two line cards with 4x10G breakouts, a 64-port satellite and a port cross-connect."""
    ten_gig_breakout = {1: (4, 10 * G, "40G PSM4")}
    ports = [PortSpec("A/1", 1 * G, transceiver="1000BASE-T")]
    ports += _qsfp28_connectors("1/1", 6, ten_gig_breakout)
    ports += _qsfp28_connectors("1/2", 6)
    ports += _qsfp28_connectors("2/1", 6, ten_gig_breakout)
    ports += _satellite_ports(1, access=64, uplinks=4)
    ports += _pxc_ports(1)
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
    "7750 SR-12": HardwareSpec(
        "7750 SR-12",
        Platform.SROS,
        _sros_aggregation_ports(),
        fan_trays=3,
        power_supplies=4,
        memory_bytes=32 * 1024**3,
        chassis_part="3HE06989AARA01",
        cards=(("1", "iom5-e:he1200g+"), ("2", "iom5-e:he1200g+"), ("A", "cpm5"), ("B", "cpm5")),
        mdas=(("1/1", "me6-100gb-qsfp28"), ("1/2", "me6-100gb-qsfp28"), ("2/1", "me6-100gb-qsfp28")),
    ),
}


def hardware(model: str) -> HardwareSpec:
    try:
        return CATALOGUE[model]
    except KeyError:
        raise ValueError(f"the lab does not simulate model {model!r}; known: {', '.join(CATALOGUE)}") from None
