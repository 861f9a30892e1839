"""The demo fleet: 17 edge data-centre sites in Spain, each with spines, leaves and two gateways."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from edgeops.lab.model import DeviceIdentity
from edgeops.platforms import Platform


@dataclass(frozen=True)
class LabSite:
    code: str
    name: str
    description: str


DEMO_SITES: tuple[LabSite, ...] = (
    LabSite("alcala", "Tecno-Alcalá", "Flagship edge DC, Alcalá de Henares"),
    LabSite("madrid", "Madrid-Julián Camarillo", "Madrid east edge DC"),
    LabSite("barcelona", "Barcelona-Poblenou", "22@ district edge DC"),
    LabSite("valencia", "Valencia-Paterna", "Parque Tecnológico edge DC"),
    LabSite("sevilla", "Sevilla-Cartuja", "Isla de la Cartuja edge DC"),
    LabSite("bilbao", "Bilbao-Zorrotzaurre", "Zorrotzaurre edge DC"),
    LabSite("zaragoza", "Zaragoza-PLAZA", "PLAZA logistics park edge DC"),
    LabSite("malaga", "Málaga-TechPark", "Parque Tecnológico de Andalucía edge DC"),
    LabSite("murcia", "Murcia-Espinardo", "Espinardo edge DC"),
    LabSite("valladolid", "Valladolid-Boecillo", "Parque Tecnológico de Boecillo edge DC"),
    LabSite("vigo", "Vigo-Balaídos", "Balaídos edge DC"),
    LabSite("coruna", "A Coruña-Elviña", "Elviña edge DC"),
    LabSite("oviedo", "Oviedo-Llanera", "Parque Tecnológico de Asturias edge DC"),
    LabSite("palma", "Palma-ParcBit", "ParcBit edge DC"),
    LabSite("laspalmas", "Las Palmas-Tamaraceite", "Canary Islands edge DC"),
    LabSite("santander", "Santander-PCTCAN", "PCTCAN edge DC"),
    LabSite("pamplona", "Pamplona-Noáin", "Noáin edge DC"),
)

# Per site: two spines, leaves, two gateways (the default of 8 per site gives the 136-device demo).
DEFAULT_DEVICES_PER_SITE = 8
LAB_PASSWORD = "NokiaSrl1!"
# The releases whose published YANG models the lab's data follows (tests/data/yang): two maintenance releases of
# each, newest first. The SR Linux build numbers are made up.
SRLINUX_RELEASES = (("v25.3.2", "134-g5d0ed3f0a2c"), ("v25.3.1", "205-g8b7f3e5d1a0"))
SROS_RELEASES = (("C-25.10.R2", ""), ("C-25.10.R1", ""))
# The flagship site's second gateway is a larger 7750 with breakout cables, a satellite and a port cross-connect,
# so the fleet shows every kind of SR OS port id (1/1/c1/4, esat-1/1/c65/u1, pxc-1.a) somewhere.
AGGREGATION_GATEWAY = ("gw2", "7750 SR-12")
# What a device left on an older release claims to run (see older_release): a release before the tabled ones, whose
# models lack some of what the engine asks for.
OLDER_RELEASES: dict[Platform, tuple[str, str]] = {
    Platform.SRLINUX: ("v24.10.1", "492-gf8858c5836"),
    Platform.SROS: ("B-24.3.R2-1", ""),
}


def site_address(site_index: int, device_index: int) -> str:
    """127.10.<site>.<n> for the first 250 per site, spilling into 127.11.x.y beyond."""
    second = 10 + device_index // 250
    return f"127.{second}.{site_index + 1}.{device_index % 250 + 1}"


def site_layout(devices_per_site: int) -> list[tuple[str, str, str]]:
    """(role, name suffix, model) for one site: 2 spines, 2 gateways, the rest leaves."""
    if devices_per_site < 1:
        raise ValueError("a site needs at least one device")
    gateways = 2 if devices_per_site >= 4 else 0
    spines = 2 if devices_per_site >= 3 else min(1, devices_per_site)
    leaves = devices_per_site - gateways - spines
    layout = [("spine", f"spine{i}", "7220 IXR-D3L") for i in range(1, spines + 1)]
    layout += [("leaf", f"leaf{i}", "7220 IXR-D2L") for i in range(1, leaves + 1)]
    layout += [("gateway", f"gw{i}", "7750 SR-7") for i in range(1, gateways + 1)]
    return layout


def build_fleet(
    sites: tuple[LabSite, ...] = DEMO_SITES,
    devices_per_site: int = DEFAULT_DEVICES_PER_SITE,
    *,
    seed: int = 1,
    ssh_port: int = 22,
    gnmi_port: int = 57400,
) -> list[DeviceIdentity]:
    """Identities of every device of the fleet, deterministic for a seed."""
    rng = random.Random(seed)
    fleet = []
    for site_index, site in enumerate(sites):
        # One release per site, as a rollout would leave it; most sites already on the newer one.
        srl_version, srl_build = SRLINUX_RELEASES[0 if rng.random() < 0.75 else 1]
        sros_version, _ = SROS_RELEASES[0 if rng.random() < 0.75 else 1]
        for device_index, (role, suffix, model) in enumerate(site_layout(devices_per_site)):
            if site_index == 0 and suffix == AGGREGATION_GATEWAY[0]:
                model = AGGREGATION_GATEWAY[1]
            platform = Platform.SROS if model.startswith("7750") else Platform.SRLINUX
            serial = f"NK{rng.randrange(10**9):09d}"
            mac = ":".join(f"{rng.randrange(256):02X}" for _ in range(6))
            fleet.append(
                DeviceIdentity(
                    name=f"{site.code}-{suffix}",
                    site=site.code,
                    site_name=site.name,
                    role=role,
                    model=model,
                    platform=platform,
                    host=site_address(site_index, device_index),
                    ssh_port=ssh_port,
                    gnmi_port=gnmi_port,
                    username="admin",
                    password=LAB_PASSWORD,
                    serial=serial,
                    mac=mac,
                    version=srl_version if platform is Platform.SRLINUX else sros_version,
                    build=srl_build if platform is Platform.SRLINUX else "",
                )
            )
    return fleet


def older_release(identity: DeviceIdentity, unserved: Sequence[str], version: str | None = None) -> DeviceIdentity:
    """The device left on an older release that lacks the subtrees `unserved` (path prefixes such as
    `/platform/linecard`): it claims that release (`version`, by default its platform's in OLDER_RELEASES) and its
    gNMI server answers NOT_FOUND for any path under them, as a release without those models would. Which
    subtrees a real release lacks is not modelled: the caller names them."""
    if not unserved:
        raise ValueError(f"{identity.name}: an older release needs at least one subtree it does not serve")
    default_version, default_build = OLDER_RELEASES[Platform.SROS if identity.platform.is_sros else Platform.SRLINUX]
    return replace(
        identity,
        version=version or default_version,
        build="" if version else default_build,
        unserved=tuple(unserved),
    )


def synthetic_sites(count: int) -> tuple[LabSite, ...]:
    """The demo sites first, then numbered extra sites, for benchmarks with larger fleets."""
    extra = tuple(LabSite(f"edge{n:02d}", f"Edge-{n:02d}", "Benchmark site") for n in range(18, count + 1))
    return (DEMO_SITES + extra)[:count]
