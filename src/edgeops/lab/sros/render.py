"""SR OS show-command output rendered from a device model, in the layouts the real commands print."""

from __future__ import annotations

import calendar
import json
import re
import time
from collections.abc import Iterable
from typing import Any

from edgeops.lab.faults import HOSTILE_DESCRIPTION
from edgeops.lab.model import Counters, DeviceModel, LabInterface, LabLag, RouterInterface, stable_fraction

WIDTH = 79
EQUALS = "=" * WIDTH
DASHES = "-" * WIDTH
TRUNCATED_FOOTER = "* indicates that the corresponding row element may have been truncated."
NO_ENTRIES = "No Matching Entries"

# Port ids as SR OS spells them: 1/1/c1/1 (breakout), 1/1/c1 (connector), 1/1/1, A/1 (CPM management),
# esat-1/1/1 and esat-1/1/c65/u1 (satellite access and uplink ports), pxc-1.a (port cross-connect sub-port).
PORT_ID_SYNTAX = re.compile(
    r"^(?:\d+(?:/\d+(?:/(?:c\d+(?:/\d+)?|\d+))?)?|[AB](?:/\d+)?"
    r"|esat-\d+(?:/\d+(?:/(?:c\d+(?:/u?\d+)?|u?\d+))?)?|pxc-\d+(?:\.[ab])?)$"
)


# -- small formatting pieces ------------------------------------------------------------------------


def titled(title: str) -> list[str]:
    return [EQUALS, title, EQUALS]


def thousands(number: int) -> str:
    return f"{number:,}"


def percent(value: float) -> str:
    """SR OS prints a tilde for a share that is above zero but rounds to 0.00 %."""
    if 0 < value < 0.005:
        return "~0.00%"
    return f"{value:.2f}%"


def format_uptime(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    centis = round(seconds * 100)
    days, rest = divmod(centis, 86_400 * 100)
    hours, rest = divmod(rest, 3600 * 100)
    minutes, rest = divmod(rest, 60 * 100)
    secs, cs = divmod(rest, 100)
    return f"{days} days, {hours:02d}:{minutes:02d}:{secs:02d}.{cs:02d} (hr:min:sec)"


def timestamp(at: float, fmt: str = "%Y/%m/%d %H:%M:%S") -> str:
    return time.strftime(fmt, time.gmtime(at))


def two_columns(left: tuple[str, str], right: tuple[str, str] | None = None) -> str:
    """`Label              : value                      Label            : value` (port detail layout)."""
    text = f"{left[0]:<19}: {left[1]}"
    if right is None:
        return text
    return f"{text:<48}{right[0]:<17}: {right[1]}"


def chassis_line(label: str, value: object, depth: int = 1) -> str:
    """Chassis labels are indented by two per level and padded so the colon sits at column 36."""
    indent = "  " * depth
    return f"{indent}{label:<{36 - len(indent)}}: {value}".rstrip()


def release_year(version: str) -> int:
    """C-25.10.R2 -> 2025, B-24.3.R2-1 -> 2024."""
    match = re.search(r"-(\d{2})\.", version)
    return 2000 + int(match.group(1)) if match else 2025


# -- version and system ---------------------------------------------------------------------------


def render_version(model: DeviceModel, hostile: bool = False) -> list[str]:
    identity = model.identity
    version = identity.version or "C-25.10.R2"
    year = release_year(version)
    # Newer (C-) images are built per CPM architecture, older (B-) ones for both.
    arch = "cpm/x86_64" if version.startswith("C-") else "both/x86_64"
    family = re.sub(r"-\w+$", "", identity.model)  # "7750 SR-7" -> "7750 SR"
    stream, _, release = version.partition("-")[2].rpartition(".")
    build_dir = f"/builds/{stream.replace('.', '')}B/{release}/panos"
    day = int(stable_fraction("sros-build", version) * 60)
    built = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(_release_epoch(year) + day * 86_400 + 76_036))
    lines = [
        f"TiMOS-{version} {arch} Nokia {family} Copyright (c) 2000-{year} Nokia.",
        "All rights reserved. All use subject to applicable license agreements.",
        f"Built on {built} by builder in {build_dir}",
    ]
    if hostile:
        lines.append(f"Patch notes: {HOSTILE_DESCRIPTION}")
    return lines


def _release_epoch(year: int) -> float:
    return float(calendar.timegm((year, 3, 1, 0, 0, 0, 0, 0, 0)))


def render_system_information(model: DeviceModel) -> list[str]:
    identity = model.identity
    uptime = format_uptime(model.uptime_s)
    boots = 2 + int(stable_fraction(model.seed, identity.name, "boots") * 9)
    engine_id = "0000197f00" + identity.mac.replace(":", "").lower() + "00"
    pairs: list[tuple[str, str] | None] = [
        ("System Name", identity.name),
        ("System Type", identity.model),
        ("Chassis Topology", "Standalone"),
        ("System Version", identity.version),
        ("System Contact", ""),
        ("System Location", identity.site_name),
        ("System Coordinates", ""),
        ("System Active Slot", "A"),
        ("System Up Time", uptime),
        ("System Up Time (64-bit)", uptime),
        None,
        ("Configuration Mode Cfg", "model-driven"),
        ("Configuration Mode Oper", "model-driven"),
        ("Last Mode Changed", "N/A"),
        None,
        ("SNMP Port", "161"),
        ("SNMP Engine ID", engine_id),
        ("SNMP Engine Boots", str(boots)),
        ("SNMP Max Message Size", "1500"),
        ("SNMP Max Bulk Duration", "N/A"),
        ("SNMP Admin State", "Disabled"),
        ("SNMP Oper State", "Disabled"),
        ("SNMP Index Boot Status", "Not Persistent"),
        ("SNMP Sync State", "N/A"),
        None,
        ("Tel/Tel6/SSH/FTP Admin", "Disabled/Disabled/Enabled/Disabled"),
        ("Tel/Tel6/SSH/FTP Oper", "Down/Down/Up/Down"),
        None,
        ("BOF Source", "cf3:"),
        ("Image Source", "primary"),
        ("Config Source", "primary"),
        ("Last Booted Config File", "cf3:\\config.cfg"),
        ("Last Boot Cfg Version", timestamp(model.boot_time, "%a %b %d %H:%M:%S %Y UTC").upper()),
        ("Last Saved Config", "N/A"),
        ("Time Last Saved", "N/A"),
        ("Changes Since Last Save", "No"),
        ("Max Cfg/BOF Backup Rev", "5"),
        None,
        ("Management IP Addr", f"{identity.host}/8"),
        ("Primary DNS Server", "N/A"),
        ("Secondary DNS Server", "N/A"),
        ("DNS Domain", "(Not Specified)"),
    ]
    lines = titled("System Information")
    for pair in pairs:
        lines.append("" if pair is None else f"{pair[0]:<23}: {pair[1]}".rstrip())
    lines.append(EQUALS)
    return lines


def render_system_time(model: DeviceModel) -> list[str]:
    now = model.now()
    lines = titled("Date & Time")
    lines += [
        f"{'Current Date & Time':<20}: {timestamp(now)} UTC",
        f"{'DST Active':<20}: no",
        f"{'Zone':<20}: UTC",
        f"{'Zone type':<20}: standard",
        f"{'Offset from UTC':<20}: 0:00",
        EQUALS,
    ]
    return lines


def render_time(model: DeviceModel) -> list[str]:
    stamp = time.gmtime(model.now())
    return [time.strftime("%a %b ", stamp) + f"{stamp.tm_mday:>2}" + time.strftime(" %H:%M:%S UTC %Y", stamp)]


# -- ports ----------------------------------------------------------------------------------------


def is_cpm_port(name: str) -> bool:
    return name.startswith(("A/", "B/"))


def is_satellite_port(name: str) -> bool:
    return name.startswith("esat-")


def is_pxc_port(name: str) -> bool:
    return name.startswith("pxc-")


def default_description(iface: LabInterface) -> str:
    """What SR OS shows for a port nobody described: its hardware type."""
    name = iface.name
    if is_cpm_port(name):
        return "10/100/Gig Ethernet"
    if is_pxc_port(name):
        return "Port cross-connect"
    if is_satellite_port(name) and not iface.spec.connector:
        return "1-Gig/10-Gig Ethernet"
    gig = iface.speed_bps // 1_000_000_000
    return f"{gig}-Gig Ethernet"


def shown_description(iface: LabInterface) -> str:
    return iface.description or default_description(iface)


# The transceiver's vendor text as the port table shows it (before it is cut to the column).
OPTIC_VENDOR_TEXT = {"100GBASE-LR4": "100GBASE-LR4 10km", "40G PSM4": "40G PSM4  10km"}


def fit_column(text: str) -> str:
    """The C/QS/S/XFP/MDIMDX column holds 13 characters: longer text is cut to 12 and marked with `*`."""
    return text if len(text) <= 13 else text[:12] + "*"


def optic_text(iface: LabInterface) -> str:
    optic = iface.spec.transceiver
    return fit_column(OPTIC_VENDOR_TEXT.get(optic, optic)) if optic else ""


def port_mode_and_encap(model: DeviceModel, iface: LabInterface) -> tuple[str, str]:
    if is_cpm_port(iface.name):
        return "netw", "null"
    if any(ri.port.split(":", 1)[0] == iface.name for ri in model.router_interfaces):
        return "netw", "dotq"
    if lag_of(model, iface.name) is not None:
        return "accs", "dotq"
    if iface.description or is_pxc_port(iface.name):
        return "hybr", "dotq"
    return "netw", "null"


def port_type(iface: LabInterface) -> str:
    if is_cpm_port(iface.name):
        return "xcme"
    if is_satellite_port(iface.name) and not iface.spec.connector:
        return "vspeed"  # satellite access ports run at 1G or 10G, whichever the optic takes
    return {1: "xcme", 100: "cgige", 400: "cdgige", 10: "xgige", 25: "xgige", 40: "xlgige"}.get(
        iface.speed_bps // 1_000_000_000, "gige"
    )


def port_state(iface: LabInterface) -> str:
    return "Up" if iface.oper_up else "Down"


def lag_of(model: DeviceModel, name: str) -> int | None:
    return next((lag.lag_id for lag in model.lags if name in lag.members), None)


def port_id_cell(name: str, width: int) -> str:
    """A port id in its column; one as wide as the column goes on a line of its own, the row under it."""
    return f"{name:<{width}}" if len(name) < width else f"{name}\n{'':<{width}}"


def _connector_row(connector: str, members: list[LabInterface]) -> str:
    # A connector carries light as soon as its optic sees a peer, whatever the breakout ports' admin state.
    state = "Link Up" if any(member.oper_up for member in members) else "Down"
    return f"{port_id_cell(connector, 14)}{'Up':<11}{state:<33}{'conn':<7}{optic_text(members[0])}"


def _port_row(model: DeviceModel, iface: LabInterface) -> str:
    """One port: fixed columns, padded to the port type's full width even where nothing follows it."""
    mode, encap = port_mode_and_encap(model, iface)
    admin = "Up" if iface.admin_up else "Down"
    link = "Yes" if iface.oper_up else "No"
    lag = lag_of(model, iface.name)
    mdi = "MDI" if is_cpm_port(iface.name) and iface.oper_up else ""
    optic = "" if iface.spec.connector or is_cpm_port(iface.name) else optic_text(iface)
    column = fit_column(f"{mdi} {optic}".strip())
    return (
        f"{port_id_cell(iface.name, 14)}{admin:<6}{link:<5}{port_state(iface):<8}{iface.mtu:<5}{iface.mtu:<4}"
        f"{'-' if lag is None else lag:>5} {mode} {encap} {port_type(iface):<7}{column}"
    )


def port_section(name: str) -> tuple[int, int, str]:
    """Where a port is listed: (order, number, title). Line cards by slot, then the CPMs, the satellites and the
    port cross-connects, as `show port` lists them."""
    if is_satellite_port(name):
        satellite = name.split("/", 1)[0]
        return 2, int(satellite.removeprefix("esat-")), f"Satellite {satellite}"
    if is_pxc_port(name):
        number = name.removeprefix("pxc-").split(".", 1)[0]
        return 3, int(number), f"Port Cross Connect {number}"
    slot = name.split("/", 1)[0]
    if slot.isdigit():
        return 0, int(slot), f"Slot {slot}"
    return 1, ord(slot[0]), f"Slot {slot}"


def _by_section(interfaces: Iterable[LabInterface]) -> list[tuple[str, list[LabInterface]]]:
    groups: dict[tuple[int, int, str], list[LabInterface]] = {}
    for iface in interfaces:
        groups.setdefault(port_section(iface.name), []).append(iface)
    return [(key[2], members) for key, members in sorted(groups.items())]


def ports_matching(model: DeviceModel, prefix: str | None) -> list[LabInterface]:
    """Ports whose id is the prefix or starts with it at a `/` or `.` boundary (`1`, `1/1`, `1/1/c3`, `A`,
    `esat-1`, `pxc-1`)."""
    if prefix is None:
        return list(model.interfaces.values())
    return [
        iface
        for iface in model.interfaces.values()
        if iface.name == prefix or iface.name.startswith((prefix + "/", prefix + ".")) or iface.spec.connector == prefix
    ]


def render_port_summary(model: DeviceModel, interfaces: list[LabInterface]) -> list[str]:
    lines: list[str] = []
    header = [
        "Port          Admin Link Port    Cfg  Oper LAG/ Port Port Port   C/QS/S/XFP/",
        "Id            State      State   MTU  MTU  Bndl Mode Encp Type   MDIMDX",
        DASHES,
    ]
    for index, (title, members) in enumerate(_by_section(interfaces)):
        if index:
            lines.append("")
        lines += titled(f"Ports on {title}")
        lines += header
        previous_connector = ""
        for iface in members:
            connector = iface.spec.connector
            if connector and connector != previous_connector:
                lines.append(_connector_row(connector, [m for m in members if m.spec.connector == connector]))
            previous_connector = connector
            lines.append(_port_row(model, iface))
    lines.append(EQUALS)
    lines.append(TRUNCATED_FOOTER)
    return lines


def render_port_descriptions(model: DeviceModel, interfaces: list[LabInterface]) -> list[str]:
    lines: list[str] = []
    for index, (title, members) in enumerate(_by_section(interfaces)):
        if index:
            lines.append("")
        lines += titled(f"Port Descriptions on {title}")
        lines += ["Port Id        Description", DASHES]
        previous_connector = ""
        for iface in members:
            connector = iface.spec.connector
            if connector and connector != previous_connector:
                lines.append(f"{port_id_cell(connector, 15)}QSFP28 Connector")
            previous_connector = connector
            lines.append(f"{port_id_cell(iface.name, 15)}{shown_description(iface)}")
        lines.append(EQUALS)
    return lines


def if_index(iface: LabInterface) -> int:
    """A stable ifIndex in the style of SR OS (slot, MDA and connector packed into the number)."""
    name = iface.name
    numbers = [int(n) for n in re.findall(r"\d+", name)]
    if is_cpm_port(name):
        return 0x10000000 * (1 if name[0] == "A" else 2) + numbers[0]
    if is_pxc_port(name):
        return 0x50000000 | (numbers[0] << 1) | (1 if name.endswith(".b") else 0)
    slot, mda, conn, port = [*numbers, 0, 0, 0, 0][:4]
    base = 0x40000000 if is_satellite_port(name) else 0
    return base | (slot << 25) | (mda << 21) | (conn << 15) | (port << 8) | 1


def hardware_address(model: DeviceModel, iface: LabInterface) -> str:
    base = bytes.fromhex(model.identity.mac.replace(":", "") or "0c0000000000")
    offset = list(model.interfaces).index(iface.name) + 1
    value = (int.from_bytes(base, "big") + offset) % 2**48
    return ":".join(f"{b:02x}" for b in value.to_bytes(6, "big"))


def _speed_text(iface: LabInterface) -> str:
    gig = iface.speed_bps / 1e9
    return f"{gig:g} Gbps" if gig >= 1 else f"{iface.speed_bps // 1_000_000} mbps"


def _stat_row(label: str, rx: int | str | None, tx: int | str | None = None) -> str:
    line = f"{label}{rx if rx is not None else ''!s:>{56 - len(label)}}"
    if tx is not None:
        line += f"{tx!s:>23}"
    return line


def _medium_row(left: tuple[str, int], right: tuple[str, int]) -> str:
    return f"{left[0]:<17}: {left[1]:>19}  {right[0]:<17}: {right[1]:>19}"


def wrap_description(text: str) -> list[str]:
    """Descriptions continue under the value column when they would pass column 79."""
    width = WIDTH - 21
    if len(text) <= width:
        return [text]
    words, lines, current = text.split(" "), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return lines


def render_port_detail(model: DeviceModel, iface: LabInterface) -> list[str]:
    c = iface.counters
    value = Counters.value
    mode, encap = port_mode_and_encap(model, iface)
    mgmt = is_cpm_port(iface.name)
    description = wrap_description(shown_description(iface))
    lines = titled("Ethernet Interface")
    lines.append(two_columns(("Description", description[0])))
    lines += [f"{'':<21}{more}" for more in description[1:]]
    oper_speed = _speed_text(iface) if iface.oper_up else "N/A"
    lines += [
        two_columns(("Interface", iface.name), ("Oper Speed", oper_speed)),
        two_columns(("FP Number", "1" if not mgmt else "N/A"), ("MAC Chip Number", "1" if not mgmt else "N/A")),
        two_columns(("Link-level", "Ethernet"), ("Config Speed", "N/A" if not mgmt else "1 Gbps")),
        two_columns(("Admin State", "up" if iface.admin_up else "down"), ("Oper Duplex", "full")),
        two_columns(("Oper State", "up" if iface.oper_up else "down")),
        two_columns(("Config Duplex", "N/A" if not mgmt else "full")),
        two_columns(("Physical Link", "Yes" if iface.oper_up else "No"), ("MTU", str(iface.mtu))),
        two_columns(("Single Fiber Mode", "No"), ("Min Frame Length", "64 Bytes")),
        two_columns(("IfIndex", str(if_index(iface))), ("Hold time up", "0 seconds")),
        two_columns(
            ("Last State Change", timestamp(iface.last_change, "%m/%d/%Y %H:%M:%S")), ("Hold time down", "0 seconds")
        ),
        two_columns(("Hold Time Down Rmng", "0 cs"), ("Hold Time Up Rmng", "0 cs")),
        two_columns(("Last Cleared Time", "N/A")),
        two_columns(("Phys State Chng Cnt", str(value(c.carrier_transitions)))),
        "",
        two_columns(
            ("Configured Mode", {"netw": "network", "hybr": "hybrid", "accs": "access"}[mode]),
            ("Encap Type", {"dotq": "802.1q", "null": "null", "qinq": "QinQ"}[encap]),
        ),
        two_columns(("Dot1Q Ethertype", "0x8100"), ("QinQ Ethertype", "0x8100")),
        two_columns(("PBB Ethertype", "0x88e7")),
        two_columns(("Ing. Pool % Rate", "100"), ("Egr. Pool % Rate", "100")),
        two_columns(("Net. Egr. Queue Pol", "default")),
        two_columns(("Auto-negotiate", "false" if not mgmt else "true"), ("MDI/MDX", "N/A" if not mgmt else "MDI")),
        two_columns(("Accounting Policy", "None"), ("Collect-stats", "Disabled")),
        two_columns(("Egress Rate", "Default"), ("Ingress Rate", "Default")),
        two_columns(("Load-balance-algo", "Default"), ("LACP Tunnel", "Disabled")),
        "",
        two_columns(("Down-when-looped", "Disabled"), ("Keep-alive", "10")),
        two_columns(("Loop Detected", "False"), ("Retry", "120")),
        "",
        two_columns(("Configured Address", hardware_address(model, iface))),
        two_columns(("Hardware Address", hardware_address(model, iface))),
    ]
    if iface.spec.transceiver and not mgmt:
        serial = f"NK{int(stable_fraction(model.identity.serial, iface.name) * 10**8):08d}"
        lines += [
            "",
            "Transceiver Data",
            "",
            two_columns(("Transceiver Status", "operational")),
            two_columns(("Transceiver Type", "QSFP28" if iface.spec.connector else "SFP+")),
            two_columns(("Model Number", "3HE10550AARA01  NOK  IPU3BFLLAA")),
            two_columns(("TX Laser Wavelength", "1310 nm"), ("Diag Capable", "yes")),
            two_columns(("Connector Code", "LC"), ("Vendor OUI", "00:90:65")),
            two_columns(("Manufacture date", "2023/05/11"), ("Media", "Ethernet")),
            two_columns(("Serial Number", serial)),
            two_columns(("Part Number", "FTLC1154RDPL-NK")),
            two_columns(("Optical Compliance", iface.spec.transceiver)),
            two_columns(("Link Length support", "10km for SMF")),
        ]
    in_util = 100.0 * model.nominal_in_bps(iface.name) / iface.speed_bps
    out_util = 100.0 * model.nominal_out_bps(iface.name) / iface.speed_bps
    lines += titled("Traffic Statistics")
    lines += [
        _stat_row("", "Input", "Output"),
        DASHES,
        _stat_row("Octets", value(c.in_octets), value(c.out_octets)),
        _stat_row("Packets", value(c.in_packets), value(c.out_packets)),
        _stat_row("Errors", value(c.in_errors), value(c.out_errors)),
        _stat_row("Utilization (300 seconds)", percent(in_util), percent(out_util)),
        EQUALS,
        "",
    ]
    lines += titled("Port Statistics")
    lines += [
        _stat_row("", "Input", "Output"),
        DASHES,
        _stat_row("Unicast Packets", value(c.in_unicast), value(c.out_unicast)),
        _stat_row("Multicast Packets", value(c.in_multicast), value(c.out_multicast)),
        _stat_row("Broadcast Packets", value(c.in_broadcast), value(c.out_broadcast)),
        _stat_row("Discards", value(c.in_discards), value(c.out_discards)),
        _stat_row("Unknown Proto Discards", 0),
        EQUALS,
        "",
    ]
    lines += titled("Ethernet-like Medium Statistics")
    lines += [
        "",
        _medium_row(("Alignment Errors", 0), ("Sngl Collisions", 0)),
        _medium_row(("FCS Errors", value(c.in_fcs_errors)), ("Mult Collisions", 0)),
        _medium_row(("SQE Test Errors", 0), ("Late Collisions", 0)),
        _medium_row(("CSE", 0), ("Excess Collisns", 0)),
        _medium_row(("Too long Frames", 0), ("Int MAC Tx Errs", 0)),
        _medium_row(("Symbol Errors", 0), ("Int MAC Rx Errs", 0)),
        _medium_row(("In Pause Frames", 0), ("Out Pause Frames", 0)),
        EQUALS,
    ]
    return lines


# -- router, cards, chassis -----------------------------------------------------------------------


def router_interface_up(model: DeviceModel, ri: RouterInterface) -> bool:
    """An IP interface is operationally up only while the port under its SAP passes traffic."""
    port = model.interfaces.get(ri.port.split(":", 1)[0])
    return ri.oper_up and (port is None or port.passing_traffic)


def render_router_interfaces(model: DeviceModel, interfaces: list[RouterInterface]) -> list[str]:
    lines = titled("Interface Table (Router: Base)")
    lines += [
        "Interface-Name                   Adm       Opr(v4/v6)  Mode    Port/SapId",
        "   IP-Address                                                  PfxState",
        DASHES,
    ]
    for ri in sorted(interfaces, key=lambda item: item.name):
        opr = "Up/Down" if router_interface_up(model, ri) else "Down/Down"
        name = ri.name if len(ri.name) <= 32 else f"{ri.name}\n{'':<32}"
        lines.append(f"{name:<33}{'Up':<10}{opr:<12}{'Network':<8}{ri.port}")
        lines.append(f"   {ri.ipv4:<60}n/a")
    lines += [DASHES, f"Interfaces : {len(interfaces)}", EQUALS]
    return lines


def render_cards(model: DeviceModel) -> list[str]:
    lines = titled("Card Summary")
    lines += [
        "Slot      Provisioned Type                         Admin Operational   Comments",
        "              Equipped Type (if different)         State State",
        DASHES,
    ]
    cpms = [slot for slot, _ in model.hardware.cards if not slot.isdigit()]
    for slot, card_type in model.hardware.cards:
        state = "up"
        if not slot.isdigit():
            state = "up/active" if slot == cpms[0] else "up/standby"
        lines.append(f"{slot:<10}{card_type:<41}{'up':<6}{state}")
    lines.append(EQUALS)
    return lines


def render_mdas(model: DeviceModel) -> list[str]:
    lines = titled("MDA Summary")
    lines += [
        "Slot  Mda   Provisioned Type                            Admin     Operational",
        "                Equipped Type (if different)            State     State",
        DASHES,
    ]
    previous_slot = None
    for position, mda_type in model.hardware.mdas:
        slot, mda = position.split("/")
        shown_slot = "" if slot == previous_slot else slot
        previous_slot = slot
        lines.append(f"{shown_slot:<6}{mda:<6}{mda_type:<44}{'up':<10}up")
    lines.append(EQUALS)
    return lines


def lag_up_count(model: DeviceModel, lag: LabLag) -> int:
    return sum(1 for name in lag.members if model.interfaces[name].passing_traffic)


def render_lag(model: DeviceModel, lags: list[LabLag] | None = None) -> list[str]:
    """`show lag`: one row per LAG with its name on the line under it (releases with named LAGs)."""
    lags = model.lags if lags is None else lags
    lines = titled("Lag Data")
    # The name header is padded to the width of the columns before MC Act/Stdby.
    lines += ["Lag-id         Adm     Opr     Weighted Threshold Up-Count MC Act/Stdby", f"{'    name':<59}", DASHES]
    for lag in sorted(lags, key=lambda item: item.lag_id):
        up = lag_up_count(model, lag)
        opr = "up" if up else "down"
        lines.append(f"{lag.lag_id:<15}{'up':<8}{opr:<8}{'No':<9}{'0':<10}{up:<9}N/A")
        lines.append(f"    {lag.name}")
    count = len(lags)
    lines += [
        DASHES,
        f"Total Lag-ids: {count:<8}Single Chassis: {count:<9}MC Act: {0:<8}MC Stdby: 0",
        EQUALS,
    ]
    return lines


def chassis_temperature(model: DeviceModel) -> int:
    """The chassis inlet reads a few degrees under the coolest module (as the gNMI state tree reports it)."""
    return min(celsius for _, celsius in model.temperatures()) - 3


def render_chassis(model: DeviceModel) -> list[str]:
    identity = model.identity
    hardware = model.hardware
    severities = {alarm.severity for alarm in model.alarms}
    led = {level: ("On" if level in severities else "Off") for level in ("critical", "major", "minor")}
    temperature = chassis_temperature(model)
    ports = [iface for iface in model.interfaces.values() if not is_cpm_port(iface.name)]
    connectors = {iface.spec.connector for iface in ports if iface.spec.connector}
    lines = titled("Chassis Information")
    lines += [
        chassis_line("Name", identity.name),
        chassis_line("Type", identity.model),
        chassis_line("Chassis Topology", "Standalone"),
        chassis_line("Location", identity.site_name),
        chassis_line("Coordinates", ""),
        chassis_line("CLLI code", ""),
        chassis_line("Number of slots", len(hardware.cards)),
        chassis_line("Oper number of slots", len(hardware.cards)),
        chassis_line("Num of faceplate ports/connectors", len(connectors) or len(ports)),
        chassis_line("Num of physical ports", len(model.interfaces)),
        chassis_line("Critical LED state", led["critical"]),
        chassis_line("Major LED state", led["major"]),
        chassis_line("Minor LED state", led["minor"]),
        chassis_line("Over Temperature state", "OK"),
        chassis_line("Base MAC address", identity.mac.lower()),
        "",
        "Hardware Data",
        chassis_line("Part number", hardware.chassis_part),
        chassis_line("CLEI code", ""),
        chassis_line("Serial number", identity.serial),
        chassis_line("Manufacture date", ""),
        chassis_line("Manufacturing deviations", ""),
        chassis_line("Administrative state", "up"),
        chassis_line("Operational state", "up"),
        chassis_line("Temperature", f"+{temperature}C"),
        chassis_line("Temperature threshold", "+75C"),
        chassis_line("Time of last boot", timestamp(model.boot_time)),
        chassis_line("Current alarm state", "alarm active" if model.alarms else "alarm cleared"),
        DASHES,
        "Environment Information",
        chassis_line("Number of fan trays", len(model.fans)),
        chassis_line("Number of fans", 3 * len(model.fans)),
    ]
    for fan in model.fans:
        lines += [
            "",
            chassis_line("Fan tray number", fan.ident),
            chassis_line("Speed", "half speed" if fan.oper_up else "stopped", depth=2),
            chassis_line("Status", "up" if fan.oper_up else "failed", depth=2),
        ]
    lines += [DASHES, "Power Supply Information", chassis_line("Number of power supplies", len(model.power_supplies))]
    for psu in model.power_supplies:
        lines += [
            "",
            chassis_line("Power supply number", psu.ident),
            chassis_line("Defaulted power supply type", "ac single", depth=2),
            chassis_line("Power supply model", "pem", depth=2),
            chassis_line("Status", "up" if psu.oper_up else "failed", depth=2),
            chassis_line("AC power", "within range" if psu.oper_up else "out of range", depth=2),
        ]
    lines.append(EQUALS)
    return lines


# -- health ---------------------------------------------------------------------------------------

# Share of the busy time each task takes, roughly as a quiet provider-edge router spends it; the tasks and their
# order are those of a real 7750's listing.
CPU_TASKS: tuple[tuple[str, float], ...] = (
    ("BFD", 0.002),
    ("BGP", 0.03),
    ("BGP PE-CE", 0.0),
    ("BIER", 0.0),
    ("CFLOWD", 0.0004),
    ("Cards & Ports", 0.018),
    ("DHCP Server", 0.0001),
    ("ETH-CFM", 0.002),
    ("HQoS Algorithm", 0.001),
    ("HQoS Statistics", 0.005),
    ("ICC", 0.004),
    ("IGMP/MLD", 0.0006),
    ("IMSI Db Appl", 0.0001),
    ("IOM", 0.28),
    ("IP Stack", 0.026),
    ("IS-IS", 0.0022),
    ("ISA", 0.001),
    ("LDP", 0.0032),
    ("Logging", 0.0001),
    ("MBUF", 0.0),
    ("MCS", 0.0001),
    ("MPLS/RSVP", 0.009),
    ("MSCP", 0.0),
    ("MSDP", 0.0),
    ("Management", 0.19),
    ("OAM", 0.013),
    ("OSPF", 0.0),
    ("OpenFlow", 0.00003),
    ("PIM/L2Mcast", 0.0),
    ("PKI", 0.00002),
    ("PTP", 0.0001),
    ("RIP", 0.0),
    ("RTM/Policies", 0.0),
    ("Redundancy", 0.0),
    ("SIM", 0.03),
    ("SNMP Daemon", 0.0),
    ("Security", 0.0),
    ("Services", 0.009),
    ("Stats", 0.0),
    ("Stats-Extended", 0.0),
    ("Subscriber Mgmt", 0.006),
    ("System", 0.0),  # takes whatever the other tasks leave
    ("Traffic Eng", 0.0),
    ("Tree Sid", 0.0),
    ("VRRP", 0.0017),
    ("WEB Redirect", 0.0001),
)


def _cpu_row(name: str, micros: int, usage: str, capacity: str) -> str:
    return f"{name:<36}{thousands(micros):>11}{usage:>16}{capacity:>16}"


def render_system_cpu(model: DeviceModel) -> list[str]:
    usage_pct = model.cpu_pct()
    bucket = int(model.now() // 2)
    total = 1_000_000 + int(stable_fraction(model.seed, model.identity.name, "cpu-total", bucket) * 2_000)
    busy = round(total * usage_pct / 100.0)
    per_task = {name: int(busy * share) for name, share in CPU_TASKS}
    per_task["System"] = busy - sum(per_task.values())
    lines = titled("CPU Utilization (Sample period: 1 second)")
    lines += [
        "Name                                   CPU Time       CPU Usage        Capacity",
        "                                         (uSec)                           Usage",
        DASHES,
    ]
    for name, _ in CPU_TASKS:
        micros = per_task[name]
        share = 100.0 * micros / total
        # Capacity spreads the load over all cores, so it reads lower than the single-CPU share.
        lines.append(_cpu_row(name, micros, percent(share), percent(share * 0.6)))
    idle = total - busy
    lines += [
        DASHES,
        f"{'Total':<36}{thousands(total):>11}{'100.00%':>16}{'':>16}",
        f"{'   Idle':<36}{thousands(idle):>11}{f'{100.0 - usage_pct:.2f}%':>16}{'':>16}",
        f"{'   Usage':<36}{thousands(busy):>11}{f'{usage_pct:.2f}%':>16}{'':>16}",
        f"{'Busiest Core Utilization':<36}{thousands(busy):>11}{f'{usage_pct:.2f}%':>16}{'':>16}",
        EQUALS,
    ]
    return lines


MEMORY_POOLS: tuple[tuple[str, int | None, float], ...] = (
    # name, max allowed (None: no limit), share of the allocated memory
    ("System", None, 0.0),  # takes the remainder
    ("Icc", 402_653_184, 0.006),
    ("RTM", 1_073_741_824, 0.03),
    ("Bgp", None, 0.09),
    ("IS-IS", None, 0.004),
    ("LDP", None, 0.005),
    ("MPLS/RSVP", None, 0.012),
    ("OAM", 134_217_728, 0.002),
    ("Services", None, 0.02),
    ("Management", None, 0.06),
    ("IP Stack", 536_870_912, 0.011),
    ("Subscriber Mgmt", None, 0.003),
)
MIB = 1_048_576


def memory_pool_totals(model: DeviceModel) -> tuple[int, int, int]:
    """(current total size, total in use, available memory) in bytes, the same three the gNMI state tree reports:
    the pools span the physical memory, in use is the model's used memory, and the rest is available."""
    total, used = model.memory()
    return total, used, total - used


def render_memory_pools(model: DeviceModel) -> list[str]:
    current, in_use, available = memory_pool_totals(model)
    sizes = {name: int(current * share) // MIB * MIB for name, _, share in MEMORY_POOLS}
    sizes["System"] = current - sum(sizes.values())
    used = {name: sizes[name] * in_use // current for name, _, _ in MEMORY_POOLS}
    used["System"] = in_use - sum(v for k, v in used.items() if k != "System")
    lines = titled("Memory Pools")
    lines += [
        f"{'Name':<15}{'Max Allowed':>16}{'Current Size':>16}{'Max So Far':>16}{'In Use':>16}",
        DASHES,
    ]
    for name, limit, _ in MEMORY_POOLS:
        peak = sizes[name] + (MIB * 4 if sizes[name] else 0)
        allowed = "No limit" if limit is None else thousands(limit)
        lines.append(
            f"{name:<15}{allowed:>16}{thousands(sizes[name]):>16}{thousands(peak):>16}{thousands(used[name]):>16}"
        )
    lines += [
        DASHES,
        f"Current Total Size : {thousands(current):>18} bytes",
        f"Total In Use       : {thousands(in_use):>18} bytes",
        f"Available Memory   : {thousands(available):>18} bytes",
        EQUALS,
    ]
    return lines


def render_alarms(model: DeviceModel) -> list[str]:
    counts = {level: 0 for level in ("critical", "major", "minor", "warning")}
    for alarm in model.alarms:
        counts[alarm.severity] = counts.get(alarm.severity, 0) + 1
    title = (
        f"Alarms [Critical:{counts['critical']} Major:{counts['major']} Minor:{counts['minor']} "
        f"Warning:{counts['warning']} Total:{len(model.alarms)}]"
    )
    lines = titled(title)
    lines += ["Index      Date/Time               Severity  Alarm      Resource", "   Details", DASHES]
    if not model.alarms:
        lines.append(NO_ENTRIES)
    for index, alarm in enumerate(sorted(model.alarms, key=lambda a: a.raised_at), start=1):
        stamp = timestamp(alarm.raised_at) + f".{int(alarm.raised_at * 100) % 100:02d}"
        lines.append(f"{index:<11}{stamp:<24}{alarm.severity.upper():<10}{alarm.alarm_id:<11}{alarm.resource}")
        lines.append(f"   {alarm.text}")
    lines.append(EQUALS)
    return lines


# -- configuration as MD-CLI `info` shows it --------------------------------------------------------


def configuration_tree(model: DeviceModel, descriptions: dict[str, str]) -> dict[str, Any]:
    """The part of `/configure` the lab models: ports and the Base router's interfaces."""
    ports = []
    for iface in model.interfaces.values():
        entry: dict[str, Any] = {"port-id": iface.name, "admin-state": "enable" if iface.admin_up else "disable"}
        description = descriptions.get(iface.name, iface.description)
        if description:
            entry["description"] = description
        ports.append(entry)
    interfaces = []
    for ri in model.router_interfaces:
        address, _, prefix = ri.ipv4.partition("/")
        entry = {"interface-name": ri.name}
        if ri.name == "system":
            entry["ipv4"] = {"primary": {"address": address, "prefix-length": int(prefix)}}
        else:
            entry["port"] = ri.port
            entry["ipv4"] = {"primary": {"address": address, "prefix-length": int(prefix)}}
        interfaces.append(entry)
    return {"port": ports, "router": [{"router-name": "Base", "interface": interfaces}]}


def render_info_json(tree: dict[str, Any]) -> list[str]:
    return json.dumps({"nokia-conf:configure": tree}, indent=4, ensure_ascii=False).splitlines()


def render_info_text(tree: dict[str, Any]) -> list[str]:
    lines = ["    configure {"]
    for port in tree["port"]:
        lines.append(f"        port {port['port-id']} {{")
        lines.append(f"            admin-state {port['admin-state']}")
        if "description" in port:
            lines.append(f'            description "{port["description"]}"')
        lines.append("        }")
    for router in tree["router"]:
        lines.append(f'        router "{router["router-name"]}" {{')
        for ri in router["interface"]:
            lines.append(f'            interface "{ri["interface-name"]}" {{')
            if "port" in ri:
                lines.append(f"                port {ri['port']}")
            primary = ri["ipv4"]["primary"]
            lines += [
                "                ipv4 {",
                "                    primary {",
                f"                        address {primary['address']}",
                f"                        prefix-length {primary['prefix-length']}",
                "                    }",
                "                }",
                "            }",
            ]
        lines.append("        }")
    lines.append("    }")
    return lines
