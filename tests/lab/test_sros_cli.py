"""The simulated SR OS CLI: prompts, paging, config mode, errors and show output that real parsers accept."""

from __future__ import annotations

import json
import re

import pytest
from ntc_templates.parse import parse_output
from scrapli_community.nokia.sros.nokia_sros import SCRAPLI_PLATFORM

from edgeops.lab.faults import HOSTILE_DESCRIPTION, FaultState
from edgeops.lab.hardware import hardware
from edgeops.lab.model import Counters, DeviceIdentity, DeviceModel
from edgeops.lab.sros import render as sros_render
from edgeops.lab.sros.cli import MD_PAGER_PROMPT, SrosCli
from edgeops.lab.topology import build_fleet

START = 1_750_000_000.0
MD_LEVELS = SCRAPLI_PLATFORM["defaults"]["privilege_levels"]
CLASSIC_LEVELS = SCRAPLI_PLATFORM["variants"]["classic"]["privilege_levels"]
# scrapli compiles privilege patterns with these flags and searches the whole channel buffer.
SCRAPLI_FLAGS = re.M | re.I


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def gateway() -> DeviceIdentity:
    return next(identity for identity in build_fleet() if identity.model == "7750 SR-7")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def model(gateway: DeviceIdentity, clock: Clock) -> DeviceModel:
    return DeviceModel(gateway, clock=clock)


@pytest.fixture
def faults() -> FaultState:
    return FaultState()


@pytest.fixture
def md(model: DeviceModel, faults: FaultState) -> SrosCli:
    return SrosCli(model, faults)


@pytest.fixture
def classic(model: DeviceModel, faults: FaultState) -> SrosCli:
    return SrosCli(model, faults, classic=True)


def run(cli: SrosCli, command: str) -> str:
    reply = cli.execute(command)
    assert not reply.close
    return reply.output


def matches(level: str, levels: dict, text: str) -> bool:
    return re.search(levels[level].pattern, text, SCRAPLI_FLAGS) is not None


def rules_are_79(output: str) -> None:
    for line in output.splitlines():
        if line and set(line) <= {"=", "-"}:
            assert len(line) == 79, line


# -- prompt, banner, scrapli ----------------------------------------------------------------------


def test_md_banner_lines_are_indented_by_one_space(md: SrosCli):
    banner = md.banner().splitlines()
    assert " SR OS Software" in banner
    assert any(re.fullmatch(r" Copyright \(c\) Nokia 20\d\d\.  All Rights Reserved\.", line) for line in banner)
    assert all(line == "" or line.startswith(" ") for line in banner)


def test_md_prompt_byte_stream_after_output(md: SrosCli, gateway: DeviceIdentity):
    prompt = md.prompt()
    assert prompt == f"\n[/]\nA:admin@{gateway.name}# "
    output = run(md, "show version")
    stream = output + prompt
    assert stream.endswith(f"\n\n[/]\nA:admin@{gateway.name}# ")
    # A command that prints nothing leaves just the blank line before the context line.
    assert run(md, "environment more false") == ""


def test_md_prompt_matches_scrapli_exec_pattern_only_at_the_end(md: SrosCli):
    for command in ("show version", "show port", "show router interface", "show system cpu", "//environment no more"):
        output = run(md, command)
        buffer = f"{command}\n{output}{md.prompt()}"
        found = list(re.finditer(MD_LEVELS["exec"].pattern, buffer, SCRAPLI_FLAGS))
        assert len(found) == 1 and found[0].end() == len(buffer), command
        assert not matches("configuration", MD_LEVELS, buffer)


def test_md_config_mode_prompts_and_scrapli_patterns(md: SrosCli, gateway: DeviceIdentity):
    host = f"A:admin@{gateway.name}# "
    out = run(md, "edit-config exclusive")
    assert "INFO: CLI #2060: Entering exclusive configuration mode" in out
    assert md.prompt() == f"\n(ex)[/]\n{host}"
    assert matches("configuration", MD_LEVELS, md.prompt())
    assert not matches("exec", MD_LEVELS, md.prompt())

    assert run(md, '/configure port 1/1/c1/1 description "x"') == ""
    assert md.prompt() == f"\n*(ex)[/]\n{host}"
    assert matches("configuration", MD_LEVELS, md.prompt())

    assert run(md, "discard") == ""
    assert md.prompt() == f"\n(ex)[/]\n{host}"
    run(md, "quit-config")
    assert md.prompt() == f"\n[/]\n{host}"
    assert matches("exec", MD_LEVELS, md.prompt())

    for mode, short in (("private", "pr"), ("global", "gl"), ("read-only", "ro")):
        run(md, f"edit-config {mode}")
        assert md.prompt() == f"\n({short})[/]\n{host}"
        assert not matches("exec", MD_LEVELS, md.prompt())
        run(md, "quit-config")


def test_md_commit_writes_the_description_into_the_shared_model(md: SrosCli, model: DeviceModel):
    run(md, "edit-config private")
    run(md, '/configure port 1/1/c2/1 description "to madrid-gw1 via dwdm"')
    assert model.interfaces["1/1/c2/1"].description != "to madrid-gw1 via dwdm"
    assert run(md, "commit") == ""
    assert model.interfaces["1/1/c2/1"].description == "to madrid-gw1 via dwdm"
    assert "*" not in md.prompt()
    # A port context, relative leaves and info in that context.
    run(md, "/configure port 1/1/c3/1")
    assert "(pr)[/configure port 1/1/c3/1]" in md.prompt()
    run(md, 'description "spare"')
    assert run(md, "info").splitlines() == ["    admin-state enable", '    description "spare"']
    run(md, "exit all")
    assert "*(pr)[/]" in md.prompt()
    run(md, "quit-config")  # uncommitted changes are discarded on exit
    assert model.interfaces["1/1/c3/1"].description != "spare"


def test_md_configuration_is_refused_outside_config_mode_and_in_read_only(md: SrosCli, model: DeviceModel):
    before = model.interfaces["1/1/c1/1"].description
    out = run(md, '/configure port 1/1/c1/1 description "x"')
    assert out == "MINOR: CLI #2069: Operation not allowed - currently in operational mode\n"
    run(md, "edit-config read-only")
    out = run(md, '/configure port 1/1/c1/1 description "x"')
    assert "MINOR: CLI #2069: Operation not allowed - currently in read-only mode" in out
    assert model.interfaces["1/1/c1/1"].description == before


def test_md_info_json_shows_the_candidate(md: SrosCli):
    run(md, "edit-config exclusive")
    run(md, '/configure port A/1 description "oob switch port 7"')
    config = json.loads(run(md, "info json"))["nokia-conf:configure"]
    ports = {port["port-id"]: port for port in config["port"]}
    assert ports["A/1"]["description"] == "oob switch port 7"
    assert config["router"][0]["router-name"] == "Base"


def test_logout_closes_the_session(md: SrosCli, classic: SrosCli):
    assert md.execute("logout").close
    assert classic.execute("logout").close


def test_scrapli_on_open_commands_are_accepted(md: SrosCli):
    for command in (
        "environment command-completion space false",
        "environment console width 512",
        "environment more false",
    ):
        assert run(md, command) == "", command
    out = run(md, "//environment no more")
    lines = out.splitlines()
    assert lines[0] == "INFO: CLI #2051: Switching to the classic CLI engine"
    assert lines[-1] == "INFO: CLI #2052: Switching to the MD-CLI engine"
    assert any(line.endswith("# /environment no more") for line in lines)
    for marker in ("MINOR:", "MAJOR:", "CRITICAL:", "Error:"):
        assert marker not in out
    assert md.prompt().startswith("\n[/]\n")  # back in the MD-CLI engine


def test_classic_no_more_spelling_is_rejected_by_md_cli_like_the_real_one(md: SrosCli, gateway: DeviceIdentity):
    # MD-CLI has no `no` form; scrapli's built-in spelling fails there and leaves paging on.
    out = run(md, "environment no more")
    host = f"A:admin@{gateway.name}# "
    caret, message = out.splitlines()
    assert message == "MINOR: MGMT_CORE #2201: Unknown element - 'no'"
    assert caret == " " * (len(host) + len("environment ")) + "^^"
    assert md.page_lines == 23


# -- paging ---------------------------------------------------------------------------------------


def test_md_pager_is_on_by_default_and_follows_the_environment(md: SrosCli):
    assert md.page_lines == 23
    assert md.pager_prompt == MD_PAGER_PROMPT
    assert md.pager_prompt == "Press Q to quit, Enter to print next line or any other key to print next page."
    run(md, "environment console length 48")
    assert md.page_lines == 47
    md.set_terminal_size(120, 40)
    assert md.page_lines == 39
    run(md, "environment more false")
    assert md.page_lines is None
    run(md, "environment more true")
    assert md.page_lines == 39


def test_md_paging_and_classic_paging_are_separate_engines(md: SrosCli):
    run(md, "environment more false")
    run(md, "//")
    assert md.page_lines == 23  # the classic engine still pages
    run(md, "environment no more")
    assert md.page_lines is None
    run(md, "//")
    assert md.page_lines is None


# -- errors ---------------------------------------------------------------------------------------


def test_md_caret_points_at_the_unknown_token(md: SrosCli, gateway: DeviceIdentity):
    host = f"A:admin@{gateway.name}# "
    out = run(md, "show tt")
    assert out == " " * (len(host) + 5) + "^^\nMINOR: MGMT_CORE #2201: Unknown element - 'tt'\n"
    out = run(md, "show router interfaces")
    assert out.splitlines()[0] == " " * (len(host) + 12) + "^" * len("interfaces")
    out = run(md, "ping")
    assert out.splitlines()[-1] == "MINOR: CLI #2001: Missing element value - 'destination-address'"
    # MD-CLI does not take abbreviations; the classic CLI does.
    assert "Unknown element - 'ver'" in run(md, "show ver")


def test_port_that_does_not_exist(md: SrosCli, classic: SrosCli):
    assert run(md, "show port 1/1/c9/1").startswith("MINOR: ")
    assert "1/1/c9/1" in run(md, "show port 1/1/c9/1")
    assert run(classic, "show port 1/1/c9/1").startswith("Error: ")
    assert "Unknown element - 'eth1'" in run(md, "show port eth1")


# -- show commands and their parsers --------------------------------------------------------------


def test_show_port_parses_with_ntc_templates_and_matches_the_model(md: SrosCli, model: DeviceModel):
    model.set_oper_state("1/1/c2/1", False)
    output = run(md, "show port")
    assert output.startswith("\n" + "=" * 79 + "\nPorts on Slot 1\n")
    rules_are_79(output)
    rows = parse_output(platform="alcatel_sros", command="show port", data=output)
    by_id = {row["port_id"]: row for row in rows}
    for name, iface in model.interfaces.items():
        row = by_id[name]
        assert row["admin_state"] == ("Up" if iface.admin_up else "Down")
        assert row["link"] == ("Yes" if iface.oper_up else "No")
        assert row["port_state"] == ("Up" if iface.oper_up else "Down")
        assert row["cfg_mtu"] == str(iface.mtu)
        if iface.spec.connector:
            connector = by_id[iface.spec.connector]
            assert connector["port_state"] == ("Link Up" if iface.oper_up else "Down")
            assert connector["c_qs_s_xfp_mdimdx"] == "100GBASE-LR4*"
    assert by_id["1/1/c2/1"]["port_state"] == "Down"
    assert by_id["A/1"]["port_mode"] == "netw"
    assert "Ports on Slot A" in output
    assert output.rstrip("\n").endswith("* indicates that the corresponding row element may have been truncated.")


def test_show_port_columns_sit_where_sr_os_puts_them(md: SrosCli, model: DeviceModel):
    lines = run(md, "show port").splitlines()
    header = lines[lines.index("Ports on Slot 1") + 2]
    for word, column in (("Admin", 14), ("Link", 20), ("Cfg", 33), ("Oper", 38), ("LAG/", 43), ("C/QS", 65)):
        assert header.index(word) == column, word
    assert [m.start() for m in re.finditer("Port", header)] == [0, 25, 48, 53, 58]
    row = next(line for line in lines if line.startswith("1/1/c1/1 "))
    assert row[14:16] == "Up" and row[33:37] == str(model.interfaces["1/1/c1/1"].mtu)
    assert row[46] == "-" and row[48:52] in ("netw", "hybr", "accs")
    connector = next(line for line in lines if line.startswith("1/1/c1 "))
    assert connector[58:62] == "conn" and connector[65:] == "100GBASE-LR4*"


def test_show_port_description_parses_and_keeps_device_text_raw(md: SrosCli, model: DeviceModel):
    model.set_description("1/1/c3/1", HOSTILE_DESCRIPTION)
    for command in ("show port description", "show port 1/1 description"):
        output = run(md, command)
        rules_are_79(output)
        rows = parse_output(platform="alcatel_sros", command=command, data=output)
        by_id = {row["port_id"]: row["description"] for row in rows}
        assert by_id["1/1/c3/1"] == HOSTILE_DESCRIPTION
        assert by_id["1/1/c1/1"] == model.interfaces["1/1/c1/1"].description
    by_id = {r["port_id"]: r["description"] for r in parse_output("alcatel_sros", "show port description", output)}
    idle = next(name for name, iface in model.interfaces.items() if not iface.description)
    assert by_id[idle] == "100-Gig Ethernet"  # SR OS shows the hardware type for an undescribed port


def test_show_router_interface_parses_and_follows_port_state(md: SrosCli, model: DeviceModel):
    output = run(md, "show router interface")
    rules_are_79(output)
    header = output.splitlines()[4]
    assert [header.index(w) for w in ("Adm", "Opr(v4/v6)", "Mode", "Port/SapId")] == [33, 43, 55, 63]
    rows = parse_output(platform="alcatel_sros", command="show router interface", data=output)
    assert {row["interface"] for row in rows} == {ri.name for ri in model.router_interfaces}
    for row in rows:
        ri = next(ri for ri in model.router_interfaces if ri.name == row["interface"])
        assert row["port_sap_id"] == ri.port
        assert row["ip_address"] == [ri.ipv4]
        assert row["oper_state_v4"] == "Up"
    assert f"Interfaces : {len(model.router_interfaces)}" in output
    # Taking a port down takes the IP interface on its SAP down with it.
    uplink = next(ri for ri in model.router_interfaces if ri.port != "system")
    model.set_oper_state(uplink.port.split(":")[0], False)
    rows = parse_output("alcatel_sros", "show router interface", run(md, "show router interface"))
    assert next(r for r in rows if r["interface"] == uplink.name)["oper_state_v4"] == "Down"


def test_show_system_cpu_parses_and_reports_the_model_cpu(md: SrosCli, model: DeviceModel):
    output = run(md, "show system cpu")
    rules_are_79(output)
    rows = parse_output(platform="alcatel_sros", command="show system cpu", data=output)
    by_name = {row["name"]: row for row in rows}
    assert by_name["Usage"]["cpu_usage"] == f"{model.cpu_pct():.2f}%"
    assert by_name["Total"]["cpu_usage"] == "100.00%"
    tasks = [row for row in rows if row["capacity_usage"]]
    busy = sum(int(row["cpu_time"].replace(",", "")) for row in tasks)
    assert busy == int(by_name["Usage"]["cpu_time"].replace(",", ""))
    model.cpu_spike(97.0, 60)
    rows = parse_output("alcatel_sros", "show system cpu", run(md, "show system cpu"))
    assert next(r for r in rows if r["name"] == "Usage")["cpu_usage"] == "97.00%"


def test_show_lag_parses_and_lists_the_model_lags(md: SrosCli, model: DeviceModel):
    output = run(md, "show lag")
    rules_are_79(output)
    rows = parse_output(platform="alcatel_sros", command="show lag", data=output)
    assert [(row["lag_id"], row["lag_name"]) for row in rows] == [(str(lag.lag_id), lag.name) for lag in model.lags]
    assert len(rows) == 2
    lag = model.lags[0]
    model.set_oper_state(lag.members[0], False)
    model.set_oper_state(lag.members[1], False)
    (row,) = parse_output("alcatel_sros", "show lag", run(md, f"show lag {lag.lag_id}"))
    assert (row["opr"], row["up_count"]) == ("down", "0")
    assert f"Total Lag-ids: {len(model.lags):<8}Single Chassis:" in output


def test_classic_outputs_parse_too(classic: SrosCli, model: DeviceModel):
    for command in ("show port", "show port description", "show router interface", "show system cpu", "show lag"):
        output = run(classic, command)
        assert output.startswith("=" * 79), command  # the classic CLI prints no leading blank line
        parse_output(platform="alcatel_sros", command=command, data=output)
    rows = parse_output("alcatel_sros", "show port", run(classic, "show port"))
    assert {row["port_id"] for row in rows} >= set(model.interfaces)


def test_show_version_and_system_information(md: SrosCli, model: DeviceModel, clock: Clock):
    version = run(md, "show version").splitlines()
    assert version[0].startswith(f"TiMOS-{model.identity.version} ")
    assert "Nokia 7750 SR Copyright (c) 2000-" in version[0]
    assert version[1].startswith("All rights reserved.")
    assert version[2].startswith("Built on ")
    info = run(md, "show system information")
    assert info.startswith("\n" + "=" * 79 + "\nSystem Information\n")
    rules_are_79(info)
    # Labels are padded to 23 characters, so every colon sits in column 23.
    fields = {line[:23].rstrip(): line[25:] for line in info.splitlines() if len(line) > 23 and line[23] == ":"}
    assert fields["System Name"] == model.identity.name
    assert fields["System Type"] == "7750 SR-7"
    assert fields["System Version"] == model.identity.version
    assert fields["Chassis Topology"] == "Standalone"
    uptime = fields["System Up Time"]
    assert re.fullmatch(r"\d+ days, \d\d:\d\d:\d\d\.\d\d \(hr:min:sec\)", uptime)
    clock.now += 86_400
    later = run(md, "show system information")
    days = int(uptime.split()[0])
    assert f"System Up Time         : {days + 1} days," in later


def test_show_port_detail_counters_grow_with_the_clock(md: SrosCli, model: DeviceModel, clock: Clock):
    name = next(n for n, i in model.interfaces.items() if i.passing_traffic and i.profile.utilisation >= 0.05)

    def counters(output: str) -> dict[str, tuple[int, int]]:
        section = output.split("Traffic Statistics", 1)[1].split("Port Statistics", 1)[0]
        values = {}
        for label in ("Octets", "Packets", "Errors"):
            line = next(line for line in section.splitlines() if line.startswith(label + " "))
            rx, tx = line.split()[-2:]
            values[label] = (int(rx), int(tx))
        return values

    first = run(md, f"show port {name}")
    for label in ("Description", "Interface", "Oper State", "MTU", "Octets", "Packets", "Errors"):
        assert label in first
    assert f"Description        : {model.interfaces[name].description}" in first
    assert "Oper State         : up" in first
    rules_are_79(first)
    before = counters(first)
    c = model.interfaces[name].counters
    assert before["Octets"] == (Counters.value(c.in_octets), Counters.value(c.out_octets))

    clock.now += 30
    after = counters(run(md, f"show port {name}"))
    grown = after["Octets"][0] - before["Octets"][0]
    expected = model.nominal_in_bps(name) * 30 / 8
    assert grown > 0 and after["Packets"][0] > before["Packets"][0]
    assert 0.5 * expected < grown < 1.5 * expected
    assert after["Octets"] == (Counters.value(c.in_octets), Counters.value(c.out_octets))

    down = next(n for n, i in model.interfaces.items() if not i.oper_up)
    assert "Oper State         : down" in run(md, f"show port {down}")


def test_show_card_mda_chassis(md: SrosCli, model: DeviceModel):
    cards = run(md, "show card")
    assert "Card Summary" in cards
    assert re.search(r"^1 +iom5-e:he1200g\+ +up +up$", cards, re.M)
    assert re.search(r"^A +cpm5 +up +up/active$", cards, re.M)
    assert re.search(r"^B +cpm5 +up +up/standby$", cards, re.M)
    mdas = run(md, "show mda")
    assert "MDA Summary" in mdas
    assert re.search(r"^1 +1 +me6-100gb-qsfp28 +up +up$", mdas, re.M)
    assert re.search(r"^ +2 +me6-100gb-qsfp28 +up +up$", mdas, re.M)

    chassis = run(md, "show chassis")
    rules_are_79(chassis)
    for section in ("Chassis Information", "Environment Information", "Power Supply Information"):
        assert section in chassis
    labelled = [line for line in chassis.splitlines() if line.startswith("  ")]
    assert labelled and all(line[36] == ":" for line in labelled)
    assert "  Critical LED state                : Off" in chassis
    assert chassis.count("  Fan tray number") == len(model.fans)
    assert chassis.count("    Status                          : up") == len(model.fans) + len(model.power_supplies)

    model.fail_power_supply(2)
    chassis = run(md, "show chassis")
    psu2 = chassis.split("Power supply number               : 2", 1)[1].split("Power supply number", 1)[0]
    assert "    Status                          : failed" in psu2
    assert "  Major LED state                   : On" in chassis
    power = run(md, "show chassis power-supply")
    assert "Chassis 1 Detail" in power and "failed" in power


def test_show_system_memory_pools_trailer_matches_the_model(md: SrosCli, model: DeviceModel):
    output = run(md, "show system memory-pools")
    rules_are_79(output)
    total, used = model.memory()

    def number(label: str) -> int:
        line = next(line for line in output.splitlines() if line.startswith(label))
        return int(line.split(":")[1].split()[0].replace(",", ""))

    # The same three numbers as /state/system/memory-pools/summary over gNMI.
    assert number("Current Total Size") == total
    assert number("Total In Use") == used
    assert number("Available Memory") == total - used
    pools = output.split("-" * 79)[1].strip().splitlines()
    assert sum(int(line.split()[-1].replace(",", "")) for line in pools) == used


def test_show_system_alarms(md: SrosCli, model: DeviceModel):
    output = run(md, "show system alarms")
    assert "Alarms [Critical:0 Major:0 Minor:0 Warning:0 Total:0]" in output
    assert "No Matching Entries" in output
    model.fail_power_supply(1)
    model.raise_alarm("minor", "port 1/1/c6/1", "Port 1/1/c6/1 optical power low", "opt-1")
    output = run(md, "show system alarms")
    rules_are_79(output)
    assert "Alarms [Critical:0 Major:1 Minor:1 Warning:0 Total:2]" in output
    assert re.search(r"^1 +\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d\d +MAJOR +psu-1 +power-supply 1$", output, re.M)
    assert "   Power supply 1 failed: input power lost" in output
    assert "No Matching Entries" not in output


def test_every_listed_show_command_renders(md: SrosCli):
    for command in (
        "show version",
        "show system information",
        "show port",
        "show port 1/1/c1/1",
        "show port A/1",
        "show port description",
        "show router interface",
        "show card",
        "show mda",
        "show chassis",
        "show system cpu",
        "show system memory-pools",
        "show system alarms",
        "show lag",
        "show system time",
    ):
        output = run(md, command)
        assert output.endswith("\n") and "MINOR" not in output, command
        if command != "show version":
            assert output.startswith("\n="), command  # MD-CLI tables start with a blank line
        assert max(len(line) for line in output.splitlines()) <= 80, command


def test_output_modifiers(md: SrosCli, model: DeviceModel):
    out = run(md, "show port | match cgige")
    assert out.count("\n") == sum(1 for n in model.interfaces if n != "A/1")
    assert run(md, "show version | count") == "Count: 3 lines\n"


def test_hostile_text_fault(md: SrosCli, faults: FaultState):
    assert "\x1b" not in run(md, "show version")
    faults.hostile_text = True
    out = run(md, "show version")
    assert len(out.splitlines()) == 4
    assert HOSTILE_DESCRIPTION in out


# -- classic CLI ----------------------------------------------------------------------------------


def test_classic_prompt_paging_and_errors(classic: SrosCli, gateway: DeviceIdentity):
    prompt = classic.prompt()
    assert prompt == f"*A:{gateway.name}# "
    assert matches("exec", CLASSIC_LEVELS, prompt)
    assert classic.page_lines == 23
    assert run(classic, "environment no more") == ""
    assert classic.page_lines is None
    out = run(classic, "show tt")
    assert out == " " * (len(prompt) + 5) + "^\nError: Bad command.\n"
    # Abbreviations work in the classic CLI.
    assert run(classic, "sh ver").startswith("TiMOS-")
    assert "Interface Table (Router: Base)" in run(classic, "sh router int")


def test_classic_configuration(classic: SrosCli, model: DeviceModel, gateway: DeviceIdentity):
    run(classic, "configure port 1/1/c4/1")
    assert classic.prompt() == f"*A:{gateway.name}>config>port# "
    assert matches("configuration", CLASSIC_LEVELS, classic.prompt())
    run(classic, 'description "to pamplona-gw2"')
    assert model.interfaces["1/1/c4/1"].description == "to pamplona-gw2"  # classic applies at once
    run(classic, "exit all")
    assert classic.prompt() == f"*A:{gateway.name}# "
    run(classic, "admin save")
    assert classic.prompt() == f"A:{gateway.name}# "
    assert matches("exec", CLASSIC_LEVELS, classic.prompt())


def test_md_cli_can_switch_to_the_classic_engine_and_back(md: SrosCli, gateway: DeviceIdentity):
    out = run(md, "//")
    assert out.startswith("INFO: CLI #2051: Switching to the classic CLI engine\n")
    assert md.prompt() == f"*A:{gateway.name}# "
    assert run(md, "show tt").endswith("Error: Bad command.\n")
    assert run(md, "//") == "INFO: CLI #2052: Switching to the MD-CLI engine\n"
    assert md.prompt() == f"\n[/]\nA:admin@{gateway.name}# "
    show = run(md, "//show card")
    assert "Card Summary" in show and show.endswith("INFO: CLI #2052: Switching to the MD-CLI engine\n")


# -- every layout ntc-templates has a template for, on both gateway models --------------------------------------

TEMPLATE_COMMANDS = ("show port", "show port description", "show router interface", "show system cpu", "show lag")


@pytest.fixture(scope="module")
def aggregation() -> DeviceIdentity:
    """The demo fleet's gateway with breakout connectors, a satellite and a port cross-connect."""
    return next(
        identity
        for identity in build_fleet()
        if identity.platform.is_sros and any(port.name.startswith("esat-") for port in hardware(identity.model).ports)
    )


def test_the_demo_fleet_has_a_gateway_with_breakouts_satellites_and_port_cross_connects(aggregation: DeviceIdentity):
    names = [port.name for port in hardware(aggregation.model).ports]
    connectors: dict[str, int] = {}
    for port in hardware(aggregation.model).ports:
        if port.connector:
            connectors[port.connector] = connectors.get(port.connector, 0) + 1
    assert max(connectors.values()) >= 4  # a connector split by a breakout cable
    assert {"1/1/c1/1", "1/1/c1/4", "A/1", "esat-1/1/1", "esat-1/1/c65/u1", "pxc-1.a", "pxc-1.b"} <= set(names)
    assert {name.split("/", 1)[0] for name in names if name[0].isdigit()} == {"1", "2"}  # more than one slot
    assert sum(1 for identity in build_fleet() if identity.model == aggregation.model) == 1


def connectors_of(model: DeviceModel) -> set[str]:
    return {iface.spec.connector for iface in model.interfaces.values() if iface.spec.connector}


def check_rows_against_the_model(command: str, output: str, model: DeviceModel) -> None:
    """Every row the real template finds, compared with what the model holds: nothing missing, nothing extra."""
    rows = parse_output(platform="alcatel_sros", command=command, data=output)
    if command == "show port":
        by_id = {row["port_id"]: row for row in rows}
        assert len(by_id) == len(rows) and set(by_id) == set(model.interfaces) | connectors_of(model)
        for name, iface in model.interfaces.items():
            row = by_id[name]
            assert (row["admin_state"], row["link"]) == (
                "Up" if iface.admin_up else "Down",
                "Yes" if iface.oper_up else "No",
            )
            assert row["port_state"] == ("Up" if iface.oper_up else "Down") and row["cfg_mtu"] == str(iface.mtu)
            lag = sros_render.lag_of(model, name)
            assert row["lag"] == ("-" if lag is None else str(lag))
            assert row["port_type"] == sros_render.port_type(iface)
        for connector in connectors_of(model):
            lanes = [iface for iface in model.interfaces.values() if iface.spec.connector == connector]
            assert by_id[connector]["port_state"] == ("Link Up" if any(i.oper_up for i in lanes) else "Down")
    elif command == "show port description":
        by_id = {row["port_id"]: row["description"] for row in rows}
        assert len(by_id) == len(rows) and set(by_id) == set(model.interfaces) | connectors_of(model)
        for name, iface in model.interfaces.items():
            assert by_id[name] == sros_render.shown_description(iface)
    elif command == "show router interface":
        assert sorted((row["interface"], row["port_sap_id"], row["ip_address"][0]) for row in rows) == sorted(
            (ri.name, ri.port, ri.ipv4) for ri in model.router_interfaces
        )
    elif command == "show system cpu":
        names = [row["name"] for row in rows]
        assert names == [name for name, _ in sros_render.CPU_TASKS] + [
            "Total",
            "Idle",
            "Usage",
            "Busiest Core Utilization",
        ]
    elif command == "show lag":
        assert [(row["lag_id"], row["lag_name"], row["up_count"]) for row in rows] == [
            (str(lag.lag_id), lag.name, str(sros_render.lag_up_count(model, lag))) for lag in model.lags
        ]


@pytest.mark.parametrize("classic", [False, True], ids=["md-cli", "classic"])
@pytest.mark.parametrize("which", ["sr-7", "aggregation"])
def test_every_template_command_parses_and_finds_every_row(
    which: str, classic: bool, gateway: DeviceIdentity, aggregation: DeviceIdentity, clock: Clock
):
    model = DeviceModel(gateway if which == "sr-7" else aggregation, clock=clock)
    cli = SrosCli(model, FaultState(), classic=classic)
    for command in TEMPLATE_COMMANDS:
        check_rows_against_the_model(command, run(cli, command), model)
    # One section at a time: a slot, the CPM, the satellite, the cross-connect.
    for prefix in ("1", "A", "esat-1", "pxc-1") if which == "aggregation" else ("1", "A"):
        rows = parse_output("alcatel_sros", "show port", run(cli, f"show port {prefix}"))
        listed = {iface.name for iface in sros_render.ports_matching(model, prefix)}
        assert {row["port_id"] for row in rows if row["link"]} == listed, prefix


def test_show_port_lists_every_kind_of_port_as_the_real_listing_does(aggregation: DeviceIdentity, clock: Clock):
    model = DeviceModel(aggregation, clock=clock)
    lines = run(SrosCli(model, FaultState()), "show port").split("\n")
    titles = [lines[i + 1] for i, line in enumerate(lines[:-2]) if line == "=" * 79 and lines[i + 2] == "=" * 79]
    assert titles == [
        "Ports on Slot 1",
        "Ports on Slot 2",
        "Ports on Slot A",
        "Ports on Satellite esat-1",
        "Ports on Port Cross Connect 1",
    ]
    # An id as wide as its column stands on a line of its own, with the row under it.
    wrapped = lines.index("esat-1/1/c65/u1")
    assert lines[wrapped + 1].startswith(" " * 14 + "Up    ")
    assert lines[wrapped - 1].startswith("esat-1/1/c65  Up         ")
    # Rows keep their padding: the port type is padded to its 7 columns even when no optic follows.
    breakout = next(line for line in lines if line.startswith("1/1/c1/2 "))
    assert len(breakout) == 65 and breakout[58:65] == "xgige  "
    connector = next(line for line in lines if line.startswith("1/1/c1 "))
    assert connector[58:65] == "conn   " and connector[65:] == "40G PSM4  10*"
    member = model.lags[0].members[0]
    row = next(line for line in lines if line.startswith(member + " "))
    assert row[42:47] == f"{model.lags[0].lag_id:>5}"
    assert lines[-2:] == ["* indicates that the corresponding row element may have been truncated.", ""]


def test_show_port_description_puts_a_long_id_on_its_own_line(aggregation: DeviceIdentity, clock: Clock):
    model = DeviceModel(aggregation, clock=clock)
    lines = run(SrosCli(model, FaultState()), "show port description").split("\n")
    wrapped = lines.index("esat-1/1/c65/u1")
    assert lines[wrapped + 1] == " " * 15 + sros_render.shown_description(model.interfaces["esat-1/1/c65/u1"])
    assert "Port Descriptions on Satellite esat-1" in lines and "Port Descriptions on Port Cross Connect 1" in lines
    pxc = model.interfaces["pxc-1.a"]
    assert f"pxc-1.a        {sros_render.shown_description(pxc)}" in lines


def test_show_lag_has_the_named_layout(md: SrosCli, model: DeviceModel):
    lines = run(md, "show lag").split("\n")
    header = lines.index("Lag-id         Adm     Opr     Weighted Threshold Up-Count MC Act/Stdby")
    assert lines[header + 1] == "    name" + " " * 51
    first = lines[header + 3]
    assert first[:15] == f"{model.lags[0].lag_id:<15}" and first[15:17] == "up" and first[31:33] == "No"
    assert lines[header + 4] == f"    {model.lags[0].name}"


def test_show_system_cpu_summary_lines_are_padded_to_the_full_width(md: SrosCli):
    lines = run(md, "show system cpu").splitlines()
    summary = lines[lines.index("-" * 79, lines.index("-" * 79) + 1) + 1 : -1]
    assert [line.split()[0] for line in summary] == ["Total", "Idle", "Usage", "Busiest"]
    assert all(len(line) == 79 and line.endswith(" " * 16) for line in summary)
