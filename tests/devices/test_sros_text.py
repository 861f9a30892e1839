"""SR OS text into rows: ntc-templates' templates where they exist, our parsers elsewhere, and the SSH fallback on
top of them; on layouts as real devices print them and on the lab's output compared with its model."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from edgeops.clock import ManualClock
from edgeops.devices import sros_text
from edgeops.devices.samples import CommandResult, Failure
from edgeops.devices.sros_text import NoParser, TextParseError, parse_sros, parser_for
from edgeops.devices.ssh_poll import PollParseError, SshPoller, parse_sros_cpu, parse_sros_port_table
from edgeops.lab.faults import FaultState
from edgeops.lab.model import DeviceModel
from edgeops.lab.sros.cli import SrosCli
from edgeops.lab.topology import build_fleet
from edgeops.platforms import Platform

NOW = 1_795_000_000.0


def capture(text: str) -> str:
    """A capture written with `$` after trailing blanks that matter (editors and linters strip them otherwise)."""
    return re.sub(r"\$$", "", text, flags=re.M)


def stripped(text: str) -> str:
    """The same output as an SSH client that strips trailing blanks from every line (scrapli) hands it over."""
    return "\n".join(line.rstrip() for line in text.split("\n"))


# A multi-slot `show port` in the layout of recent releases: breakout connectors with their ports under them, a
# connector with no breakout configured, a port in `Link Up`, a separator line of blanks, the CPM slot, a satellite
# whose uplink ids are as wide as the id column (each on a line of its own), and a port cross-connect.
SHOW_PORT_MULTI_SLOT = capture("""
===============================================================================
Ports on Slot 1
===============================================================================
Port          Admin Link Port    Cfg  Oper LAG/ Port Port Port   C/QS/S/XFP/
Id            State      State   MTU  MTU  Bndl Mode Encp Type   MDIMDX
-------------------------------------------------------------------------------
1/1/c1        Up         Link Up                          conn   40G PSM4  10*
1/1/c1/1      Up    Yes  Up      9212 9212    - netw null xgige  $
1/1/c1/2      Up    Yes  Up      9212 9212    - netw null xgige  $
1/1/c1/3      Down  No   Down    9212 9212    - netw null xgige  $
1/1/c1/4      Up    No   Down    9212 9212    - netw null xgige  $
1/1/c2        Up         Link Up                          conn   100GBASE-LR4*
1/1/c2/1      Up    Yes  Up      9212 9212   12 accs dotq cgige  $
1/1/c5        Down       Down                             conn   $
1/2/c3        Up         Link Up                          conn   100GBASE-LR4*
1/2/c3/1      Up    Yes  Link Up 9212 9212   12 accs dotq cgige  $
                                      $
===============================================================================
Ports on Slot 2
===============================================================================
Port          Admin Link Port    Cfg  Oper LAG/ Port Port Port   C/QS/S/XFP/
Id            State      State   MTU  MTU  Bndl Mode Encp Type   MDIMDX
-------------------------------------------------------------------------------
2/1/c1        Up         Link Up                          conn   100GBASE-LR4*
2/1/c1/1      Up    Yes  Up      9212 9212    - netw null cgige  $

===============================================================================
Ports on Slot A
===============================================================================
Port          Admin Link Port    Cfg  Oper LAG/ Port Port Port   C/QS/S/XFP/
Id            State      State   MTU  MTU  Bndl Mode Encp Type   MDIMDX
-------------------------------------------------------------------------------
A/1           Up    Yes  Up      1514 1514    - netw null xcme   MDI
A/3           Down  No   Down    1514 1514    - netw null xcme   $

===============================================================================
Ports on Satellite esat-2
===============================================================================
Port          Admin Link Port    Cfg  Oper LAG/ Port Port Port   C/QS/S/XFP/
Id            State      State   MTU  MTU  Bndl Mode Encp Type   MDIMDX
-------------------------------------------------------------------------------
esat-2/1/1    Up    Yes  Up      1518 1518    - accs dotq vspeed MDI GIGE-T *
esat-2/1/2    Down  No   Down    9208 9208    - netw null vspeed $
esat-2/1/c49  Up         Link Up                          conn   100GBASE-LR4*
esat-2/1/c49/u1
              Up    Yes  Up      9212 9212    - accs dotq cgige  $
esat-2/1/c50  Up         Link Up                          conn   100GBASE-LR4*
esat-2/1/c50/u1
              Up    No   Ghost   9212 9212    - accs dotq cgige  $

===============================================================================
Ports on Port Cross Connect 3
===============================================================================
Port          Admin Link Port    Cfg  Oper LAG/ Port Port Port   C/QS/S/XFP/
Id            State      State   MTU  MTU  Bndl Mode Encp Type   MDIMDX
-------------------------------------------------------------------------------
pxc-3.a       Up    Yes  Up      9208 9208    - hybr dotq cgige  $
pxc-3.b       Up    Yes  Up      9208 9208    - hybr dotq cgige  $
===============================================================================
* indicates that the corresponding row element may have been truncated.
""")

PORTS = {
    "1/1/c1/1": ("enable", "up"),
    "1/1/c1/2": ("enable", "up"),
    "1/1/c1/3": ("disable", "down"),
    "1/1/c1/4": ("enable", "down"),
    "1/1/c2/1": ("enable", "up"),
    "1/2/c3/1": ("enable", "down"),  # Link Up: light, but not up
    "2/1/c1/1": ("enable", "up"),
    "A/1": ("enable", "up"),
    "A/3": ("disable", "down"),
    "esat-2/1/1": ("enable", "up"),
    "esat-2/1/2": ("disable", "down"),
    "esat-2/1/c49/u1": ("enable", "up"),
    "esat-2/1/c50/u1": ("enable", "down"),  # Ghost
    "pxc-3.a": ("enable", "up"),
    "pxc-3.b": ("enable", "up"),
}
CONNECTORS = {"1/1/c1", "1/1/c2", "1/1/c5", "1/2/c3", "2/1/c1", "esat-2/1/c49", "esat-2/1/c50"}

MD_PROMPT = "\n[/]\nA:admin@pe1# "


class Canned:
    """A session that answers `show port` with a capture and every other command with a device error."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.commands: list[str] = []

    async def run(self, command: str, timeout: float | None = None) -> CommandResult:  # noqa: ASYNC109
        self.commands.append(command)
        if command == "show port":
            return CommandResult("pe1", command, self.table, NOW, NOW, ok=True)
        return CommandResult("pe1", command, "", NOW, NOW, ok=False, reason="MINOR: no", failure=Failure.DEVICE_ERROR)


# -- show port: every kind of port id, however the output reaches us ------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        SHOW_PORT_MULTI_SLOT,
        stripped(SHOW_PORT_MULTI_SLOT),
        f"A:admin@pe1# show port\n{SHOW_PORT_MULTI_SLOT}{MD_PROMPT}",
        f"*A:pe1# show port\r\n{stripped(SHOW_PORT_MULTI_SLOT)}*A:pe1# ".replace("\n", "\r\n"),
    ],
    ids=["as printed", "trailing blanks stripped", "md-cli capture with prompts", "classic capture, CRLF"],
)
def test_a_multi_slot_show_port_gives_every_port_and_connector(text: str) -> None:
    rows = parse_sros("show port", text)
    assert [row["port_id"] for row in rows if row["link"]] == list(PORTS)
    assert {row["port_id"] for row in rows if not row["link"]} == CONNECTORS
    by_id = {row["port_id"]: row for row in rows}
    assert by_id["esat-2/1/c49/u1"]["port_type"] == "cgige" and by_id["1/1/c2/1"]["lag"] == "12"
    assert by_id["1/1/c1"]["c_qs_s_xfp_mdimdx"] == "40G PSM4  10*"


async def test_the_ssh_fallback_polls_every_port_of_a_multi_slot_device() -> None:
    session = Canned(stripped(SHOW_PORT_MULTI_SLOT))
    poller = SshPoller(session, "pe1", Platform.SROS, clock=ManualClock(NOW))
    samples = [sample for batch in await poller.poll_interfaces() for sample in batch.samples()]
    assert {sample.name: (sample.admin_state, sample.oper_state) for sample in samples} == PORTS
    assert session.commands == ["show port"] + [f"show port {name}" for name in PORTS]


def test_show_port_parses_the_same_through_the_fallback_parser() -> None:
    samples = parse_sros_port_table("pe1", SHOW_PORT_MULTI_SLOT, NOW)
    assert {s.name: (s.admin_state, s.oper_state) for s in samples} == PORTS


async def test_an_unreadable_port_table_is_a_recorded_parse_failure() -> None:
    broken = SHOW_PORT_MULTI_SLOT.replace("pxc-3.b       Up", "pxc-3.b       Maybe")
    with pytest.raises(TextParseError, match=r"alcatel_sros_show_port\.textfsm"):
        parse_sros("show port", broken)
    with pytest.raises(PollParseError):
        parse_sros_port_table("pe1", broken, NOW)
    poller = SshPoller(Canned(broken), "pe1", Platform.SROS, clock=ManualClock(NOW))
    assert await poller.poll_interfaces() == []
    assert [(f.command, f.failure) for f in poller.last_failures] == [("show port", "parse")]


# -- show system cpu: the summary's padding, which SSH clients strip -----------------------------------------------

SHOW_SYSTEM_CPU = capture("""
===============================================================================
CPU Utilization (Sample period: 1 second)
===============================================================================
Name                                   CPU Time       CPU Usage        Capacity
                                         (uSec)                           Usage
-------------------------------------------------------------------------------
BFD                                         411           0.04%           0.02%
DHCP Server                                  19          ~0.00%          ~0.00%
IOM                                      41,223           4.11%           2.40%
System                                   60,102           6.00%           3.01%
-------------------------------------------------------------------------------
Total                                 1,002,004         100.00%                $
   Idle                                 900,249          89.84%                $
   Usage                                101,755          10.16%                $
Busiest Core Utilization                101,755          10.16%                $
===============================================================================
""")


@pytest.mark.parametrize("text", [SHOW_SYSTEM_CPU, stripped(SHOW_SYSTEM_CPU)], ids=["as printed", "stripped"])
def test_show_system_cpu_reads_with_the_template_even_without_the_padding(text: str) -> None:
    rows = parse_sros("show system cpu", text)
    assert [row["name"] for row in rows] == [
        "BFD",
        "DHCP Server",
        "IOM",
        "System",
        "Total",
        "Idle",
        "Usage",
        "Busiest Core Utilization",
    ]
    assert rows[1]["cpu_usage"] == "~0.00%"
    assert parse_sros_cpu(text) == 10.16


# -- which parser reads what ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "output", "source"),
    [
        ("show port", "", "ntc-templates alcatel_sros_show_port.textfsm"),
        ("/show   port | no-more", "", "ntc-templates alcatel_sros_show_port.textfsm"),
        ("show port 1/1", "\nPorts on Slot 1\n", "ntc-templates alcatel_sros_show_port.textfsm"),
        ("show port 1/1/c1/1", "\nEthernet Interface\n", "edgeops parse_port_detail"),
        ("show port description", "", "ntc-templates alcatel_sros_show_port_description.textfsm"),
        ("show port esat-1 description", "", "ntc-templates alcatel_sros_show_port_description.textfsm"),
        ("show router interface", "", "ntc-templates alcatel_sros_show_router_interface.textfsm"),
        ("sh router 10 int", "", "ntc-templates alcatel_sros_show_router_interface.textfsm"),
        ("show system cpu", "", "ntc-templates alcatel_sros_show_system_cpu.textfsm"),
        ("show lag", "", "ntc-templates alcatel_sros_show_lag.textfsm"),
        ("show lag 1 port", "", "ntc-templates alcatel_sros_show_lag_port.textfsm"),
        ("show system information", "", "edgeops parse_label_report"),
        ("show version", "", "edgeops parse_version"),
        ("show system memory-pools", "", "edgeops parse_memory_pools"),
        ("show chassis", "", "edgeops parse_chassis"),
        ("show system alarms", "", "edgeops parse_alarms"),
        ("show card", "", "edgeops parse_cards"),
        ("show mda", "", "edgeops parse_mdas"),
    ],
)
def test_each_command_goes_to_its_template_or_to_our_parser(command: str, output: str, source: str) -> None:
    parser = parser_for(command, output)
    assert parser is not None and parser.source == source


def test_commands_nothing_reads_are_refused() -> None:
    for command in ("show router interface detail", "show port | match Up", "show service service-using extra"):
        assert parser_for(command) is None, command
        with pytest.raises(NoParser):
            parse_sros(command, "")


def test_a_template_is_compiled_once_and_starts_afresh_on_every_parse() -> None:
    first = parse_sros("show system cpu", SHOW_SYSTEM_CPU)
    again = parse_sros("show system cpu", SHOW_SYSTEM_CPU)
    assert first == again
    path = sros_text.template_dir() / "alcatel_sros_show_system_cpu.textfsm"
    assert sros_text._compiled(path) is sros_text._compiled(path)


# -- the lab's SR OS output, read with the fallback's parsers, against the lab's model ----------------------------


@pytest.fixture(params=["alcala-gw1", "alcala-gw2"])
def gateway_model(request: pytest.FixtureRequest) -> DeviceModel:
    identity = next(identity for identity in build_fleet() if identity.name == request.param)
    return DeviceModel(identity, clock=lambda: NOW)


@pytest.mark.parametrize("classic", [False, True], ids=["md-cli", "classic"])
def test_every_lab_output_reads_and_matches_the_model(gateway_model: DeviceModel, classic: bool) -> None:
    model = gateway_model
    model.raise_alarm("minor", "port 1/1/c2/1", "Port 1/1/c2/1 optical power low", "opt-1")
    cli = SrosCli(model, FaultState(), classic=classic)

    def rows(command: str) -> list[sros_text.Row]:
        return parse_sros(command, cli.execute(command).output + cli.prompt())

    connectors = {iface.spec.connector for iface in model.interfaces.values() if iface.spec.connector}
    assert {row["port_id"] for row in rows("show port")} == set(model.interfaces) | connectors
    assert {row["port_id"] for row in rows("show port description")} == set(model.interfaces) | connectors
    assert {row["interface"] for row in rows("show router interface")} == {ri.name for ri in model.router_interfaces}
    assert [row["lag_name"] for row in rows("show lag")] == [lag.name for lag in model.lags]
    (info,) = rows("show system information")
    assert (info["system_name"], info["system_type"], info["system_version"]) == (
        model.identity.name,
        model.identity.model,
        model.identity.version,
    )
    (version,) = rows("show version")
    assert version["version"] == model.identity.version and version["platform"] == "Nokia 7750 SR"
    pools = rows("show system memory-pools")
    total, used = model.memory()
    assert (int(pools[0]["current_total_size"].replace(",", "")), int(pools[0]["total_in_use"].replace(",", ""))) == (
        total,
        used,
    )
    chassis = rows("show chassis")
    assert chassis[0]["type"] == model.identity.model
    assert sum(1 for row in chassis if row["component"] == "fan-tray") == len(model.fans)
    assert sum(1 for row in chassis if row["component"] == "power-supply") == len(model.power_supplies)
    assert [(row["alarm"], row["details"]) for row in rows("show system alarms")] == [
        ("opt-1", "Port 1/1/c2/1 optical power low")
    ]
    assert [row["slot"] for row in rows("show card")] == [slot for slot, _ in model.hardware.cards]
    assert [f"{row['slot']}/{row['mda']}" for row in rows("show mda")] == [pos for pos, _ in model.hardware.mdas]
    for name in (n for n in ("1/1/c1/1", "A/1", "esat-1/1/c65/u1", "pxc-1.a") if n in model.interfaces):
        (detail,) = rows(f"show port {name}")
        assert detail["port_id"] == name and detail["oper_state"] == (
            "up" if model.interfaces[name].oper_up else "down"
        )


# -- the real captures ntc-templates tests its templates with ----------------------------------------------------

NTC_TESTS = os.environ.get("EDGEOPS_NTC_SROS_TESTS", "")


@pytest.mark.skipif(
    not NTC_TESTS,
    reason="set EDGEOPS_NTC_SROS_TESTS to an ntc-templates checkout's tests/alcatel_sros to read its captures",
)
def test_the_real_captures_read_as_ntc_templates_expects() -> None:
    """Every capture of ntc-templates' own tests, through our entry point, gives the rows its test expects."""
    yaml = YAML(typ="safe")
    checked = 0
    for raw in sorted(Path(NTC_TESTS).glob("*/*.raw")):
        command = raw.parent.name.replace("_", " ")
        expected = yaml.load(raw.with_suffix(".yml").read_text(encoding="utf-8"))["parsed_sample"]
        assert parse_sros(command, raw.read_text(encoding="utf-8")) == expected, raw.name
        checked += 1
    assert checked >= 30
