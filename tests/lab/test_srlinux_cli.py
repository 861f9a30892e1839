"""The simulated SR Linux command line, driven directly (no sockets): prompts, modes, reports, modifiers, errors."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from scrapli_community.nokia.srlinux.nokia_srlinux import DEFAULT_PRIVILEGE_LEVELS

from edgeops.lab.faults import HOSTILE_DESCRIPTION, FaultState
from edgeops.lab.model import Counters, DeviceModel
from edgeops.lab.srlinux.cli import SrLinuxCli
from edgeops.lab.topology import build_fleet

EXEC_PROMPT = re.compile(DEFAULT_PRIVILEGE_LEVELS["exec"].pattern, re.M | re.I)
CONFIG_PROMPT = re.compile(DEFAULT_PRIVILEGE_LEVELS["configuration"].pattern, re.M | re.I)
START = 1_790_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def identity(name: str, **changes):
    device = next(d for d in build_fleet() if d.name == name)
    return dataclasses.replace(device, **changes)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def model(clock: Clock) -> DeviceModel:
    return DeviceModel(identity("alcala-leaf1"), clock=clock)  # a 7220 IXR-D2L on 25.3


@pytest.fixture
def faults() -> FaultState:
    return FaultState()


@pytest.fixture
def cli(model: DeviceModel, faults: FaultState) -> SrLinuxCli:
    return SrLinuxCli(model, faults)


def run(cli: SrLinuxCli, line: str) -> str:
    reply = cli.execute(line)
    assert not reply.close
    return reply.output


def first_up_port(model: DeviceModel) -> str:
    return next(name for name, iface in model.interfaces.items() if name != "mgmt0" and iface.passing_traffic)


def labelled_value(text: str, label: str) -> str:
    match = re.search(rf"^\s*{re.escape(label)}\s*: (.*)$", text, re.M)
    assert match, f"no {label!r} in output"
    return match.group(1)


# -- prompt, banner, modes ------------------------------------------------------------------------------


def test_running_prompt_matches_scrapli_exec_pattern_only(cli: SrLinuxCli):
    prompt = cli.prompt()
    assert prompt == "\n--{ running }--[  ]--\nA:admin@alcala-leaf1# "
    assert EXEC_PROMPT.search(prompt)
    assert not CONFIG_PROMPT.search(prompt)


@pytest.mark.parametrize(
    ("command", "mode"),
    [
        ("enter candidate private", "candidate private private-admin"),
        ("enter candidate exclusive", "candidate exclusive default"),
        ("enter candidate", "candidate shared default"),
    ],
)
def test_candidate_prompts_match_scrapli_config_pattern(cli: SrLinuxCli, command: str, mode: str):
    assert run(cli, command) == ""
    prompt = cli.prompt()
    assert prompt.startswith(f"\n--{{ {mode} }}--[  ]--\n")
    assert CONFIG_PROMPT.search(prompt)
    assert not EXEC_PROMPT.search(prompt)


def test_change_marks_star_commit_leaves_plus_and_running(cli: SrLinuxCli, model: DeviceModel):
    port = first_up_port(model)
    run(cli, "enter candidate private")
    assert run(cli, f'set / interface {port} description "to spine 7"') == ""
    assert "--{ * candidate private private-admin }--" in cli.prompt()
    assert CONFIG_PROMPT.search(cli.prompt())
    assert model.interfaces[port].description != "to spine 7"  # not before the commit

    assert run(cli, "commit now") == "All changes have been committed. Leaving candidate mode.\n"
    assert "--{ + running }--[  ]--" in cli.prompt()
    assert EXEC_PROMPT.search(cli.prompt())
    assert model.interfaces[port].description == "to spine 7"  # the shared model (and gNMI) see it

    assert "Saved current running configuration" in run(cli, "save startup")
    assert "--{ running }--" in cli.prompt()


def test_discard_returns_to_running_without_applying(cli: SrLinuxCli, model: DeviceModel):
    port = first_up_port(model)
    before = model.interfaces[port].description
    run(cli, "enter candidate exclusive")
    run(cli, f"set / interface {port} description scratch")
    assert run(cli, "discard now") == "All changes have been discarded. Leaving candidate mode.\n"
    assert cli.prompt().startswith("\n--{ running }--")
    assert model.interfaces[port].description == before


def test_commit_stay_keeps_candidate_mode(cli: SrLinuxCli):
    run(cli, "enter candidate")
    run(cli, "set / system name host-name other")
    assert "--{ * candidate shared default }--" in cli.prompt()
    assert run(cli, "commit stay") == "All changes have been committed. Starting new transaction.\n"
    assert "--{ + candidate shared default }--" in cli.prompt()


def test_candidate_info_shows_the_pending_description(cli: SrLinuxCli, model: DeviceModel):
    port = first_up_port(model)
    run(cli, "enter candidate private")
    run(cli, f'set / interface {port} description "new text"')
    assert 'description "new text"' in run(cli, f"info from candidate /interface {port}")
    assert 'description "new text"' not in run(cli, f"info from running /interface {port}")


def test_release_24_10_uses_old_banner_and_host_only_prompt(clock: Clock, faults: FaultState):
    model = DeviceModel(identity("alcala-spine1", version="v24.10.1", build="492-gf8858c5836"), clock=clock)
    cli = SrLinuxCli(model, faults)
    assert "Using configuration file(s):" in cli.banner()
    assert "Welcome to the srlinux CLI." in cli.banner()
    assert cli.prompt() == "\n--{ running }--[  ]--\nA:alcala-spine1# "
    assert EXEC_PROMPT.search(cli.prompt())


def test_release_25_banner(cli: SrLinuxCli):
    lines = cli.banner().splitlines()
    assert lines[0] == "Loading environment configuration file(s): ['/etc/opt/srlinux/srlinux.rc']"
    assert lines[1] == "Welcome to the Nokia SR Linux CLI."


def test_scrapli_session_setup_commands_print_nothing(cli: SrLinuxCli):
    assert run(cli, "environment cli-engine type basic") == ""
    assert run(cli, "environment complete-on-space false") == ""
    assert run(cli, "") == ""


def test_quit_and_exit_at_root_close_the_session(cli: SrLinuxCli):
    assert cli.execute("quit").close
    assert SrLinuxCli(cli.model, cli.faults).execute("exit").close


def test_context_navigation_changes_the_prompt_and_exit_goes_up(cli: SrLinuxCli, model: DeviceModel):
    port = first_up_port(model)
    assert run(cli, f"interface {port}") == ""
    assert f"--[ interface {port} ]--" in cli.prompt()
    assert EXEC_PROMPT.search(cli.prompt())
    assert re.search(r"^\s+oper-state up$", run(cli, "info from state oper-state"), re.M)
    assert run(cli, "exit") == ""
    assert "--[  ]--" in cli.prompt()


def test_paging_is_off(cli: SrLinuxCli):
    assert cli.page_lines is None
    assert cli.pager_prompt == ""


# -- errors ---------------------------------------------------------------------------------------------


def test_unknown_token_is_a_two_line_parsing_error(cli: SrLinuxCli):
    output = run(cli, "show versio")
    lines = output.splitlines()
    assert lines[0] == "Parsing error: Unknown token 'versio'."
    assert lines[1].startswith("Options are [") and "'version'" in lines[1] and "'interface'" in lines[1]
    assert len(lines) == 2


def test_unknown_token_after_an_interface_lists_the_views(cli: SrLinuxCli, model: DeviceModel):
    output = run(cli, f"show interface {first_up_port(model)} versio")
    assert output == (
        "Parsing error: Unknown token 'versio'.\n"
        "Options are ['#', '..', '/', '>', '>>', 'all', 'brief', 'detail', '|', '}']\n"
    )


def test_unknown_command_at_root(cli: SrLinuxCli):
    output = run(cli, "shwo version")
    assert output.startswith("Parsing error: Unknown token 'shwo'.\nOptions are [")
    assert "'show'" in output and "'info'" in output


def test_missing_interface_is_an_error_naming_the_path(cli: SrLinuxCli):
    expected = "Error: Path '/interface[name=ethernet-1/99]' does not specify any existing objects\n"
    assert run(cli, "show interface ethernet-1/99") == expected
    assert run(cli, "show interface ethernet-1/99 detail") == expected
    assert run(cli, "info from state /interface ethernet-1/99 statistics") == expected


def test_configuration_in_running_mode_is_refused(cli: SrLinuxCli, model: DeviceModel):
    output = run(cli, f"set / interface {first_up_port(model)} description x")
    assert output.startswith("Error: ")
    assert "candidate" in output
    assert run(cli, "commit now").startswith("Error: ")


def test_bash_is_refused_with_an_error(cli: SrLinuxCli):
    assert run(cli, "bash").startswith("Error: ")


def test_errors_ignore_output_modifiers(cli: SrLinuxCli):
    assert run(cli, "show versio | as json").startswith("Parsing error: Unknown token 'versio'.")


# -- show version ---------------------------------------------------------------------------------------


def test_show_version_rows_come_from_the_model(cli: SrLinuxCli, model: DeviceModel):
    output = run(cli, "show version")
    ident = model.identity
    assert output.splitlines()[0] == "-" * 120
    assert labelled_value(output, "Hostname") == ident.name
    assert labelled_value(output, "Chassis Type") == "7220 IXR-D2L"
    assert labelled_value(output, "Serial Number") == ident.serial
    assert labelled_value(output, "System HW MAC Address") == ident.mac
    assert labelled_value(output, "Software Version") == ident.version == "v25.3.2"
    assert labelled_value(output, "Build Number") == ident.build
    total, used = model.memory()
    assert labelled_value(output, "Total Memory") == f"{total // 1024} kB"
    assert labelled_value(output, "Free Memory") == f"{(total - used) // 1024} kB"
    assert "Hostname             : " in output  # labels padded to 21


def test_show_version_as_json_is_all_strings_and_matches_the_text(cli: SrLinuxCli):
    text = run(cli, "show version")
    data = json.loads(run(cli, "show version | as json"))
    info = data["basic system info"]
    assert all(isinstance(value, str) for value in info.values())
    for label in ("Hostname", "Chassis Type", "Serial Number", "Software Version", "Last Booted", "Free Memory"):
        assert info[label] == labelled_value(text, label)


def test_hostile_text_fault_reaches_show_version(cli: SrLinuxCli, faults: FaultState):
    assert HOSTILE_DESCRIPTION not in run(cli, "show version")
    faults.hostile_text = True
    output = run(cli, "show version")
    assert HOSTILE_DESCRIPTION in output
    assert "\x1b]52;" in output and "[red]" in output
    assert json.loads(run(cli, "show version | as json"))["basic system info"]["Description"] == HOSTILE_DESCRIPTION


def test_hostile_descriptions_from_the_model_pass_through(cli: SrLinuxCli, model: DeviceModel):
    port = first_up_port(model)
    model.set_description(port, HOSTILE_DESCRIPTION)
    assert HOSTILE_DESCRIPTION in run(cli, "show interface brief")
    assert HOSTILE_DESCRIPTION in run(cli, f"show interface {port} detail")
    state = json.loads(run(cli, f"info from state /interface {port} description | as json"))
    assert state["interface"][0]["description"] == HOSTILE_DESCRIPTION


# -- show interface -------------------------------------------------------------------------------------


def test_show_interface_lists_up_interfaces_with_subinterfaces_and_summary(cli: SrLinuxCli, model: DeviceModel):
    output = run(cli, "show interface")
    up = [iface for iface in model.interfaces.values() if iface.oper_up and iface.name != "mgmt0"]
    down = [iface for iface in model.interfaces.values() if not iface.oper_up]
    assert down, "the demo leaf has down ports"
    for iface in up:
        assert f"{iface.name} is up, speed " in output
        for sub in iface.subinterfaces:
            assert f"  {iface.name}.{sub.index} is up" in output
            assert f"IPv4 addr    : {sub.ipv4} (static, preferred, primary)" in output
    assert not any(f"{iface.name} is down" in output for iface in down)
    assert "mgmt0 is up, speed 1G, type None" in output
    assert f"  {len(up)} ethernet interfaces are up\n" in output
    assert "Summary\n" in output and output.splitlines()[0] == "=" * 120


def test_show_interface_all_adds_down_ports_with_reasons(cli: SrLinuxCli, model: DeviceModel):
    output = run(cli, "show interface all")
    for iface in model.interfaces.values():
        if not iface.oper_up:
            reason = "port-admin-disabled" if not iface.admin_up else "lower-layer-down"
            assert f"{iface.name} is down, reason {reason}\n" in output
    ethernet = [iface for iface in model.interfaces.values() if iface.name != "mgmt0"]
    up = sum(iface.oper_up for iface in ethernet)
    assert f"  {up} ethernet interfaces are up, {len(ethernet) - up} are down" in output
    assert "  1 management interfaces are up, 0 are down" in output


def test_port_flap_shows_in_show_interface(cli: SrLinuxCli, model: DeviceModel, clock: Clock):
    port = first_up_port(model)
    clock.now += 30
    model.set_oper_state(port, False)
    assert f"{port} is down, reason lower-layer-down" in run(cli, f"show interface {port}")
    detail = run(cli, f"show interface {port} detail")
    assert labelled_value(detail, "Oper state") == "down"
    assert re.search(rf"Last change\s+: 0s ago, {model.interfaces[port].flaps} flaps since last clear", detail)


def test_show_interface_brief_grid(cli: SrLinuxCli, model: DeviceModel):
    output = run(cli, "show interface brief")
    lines = output.splitlines()
    assert lines[0].startswith("+---------------------+")
    assert re.match(
        r"^\|\s+Port\s+\|\s+Admin State\s+\|\s+Oper State\s+\|\s+Speed\s+\|\s+Type\s+\|\s+Description", lines[1]
    )
    assert set(lines[2]) == {"+", "="}
    rows = lines[3:-1]
    assert len(rows) == len(model.interfaces)
    port = first_up_port(model)
    row = next(line for line in rows if line.startswith(f"| {port} "))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    iface = model.interfaces[port]
    assert cells == [port, "enable", "up", "25G", "", iface.description]
    data = json.loads(run(cli, "show interface brief | as json"))["IfBrief"]
    entry = next(item for item in data if item["Port"] == port)
    assert entry == {
        "Port": port,
        "Admin State": "enable",
        "Oper State": "up",
        "Speed": "25G",
        "Description": iface.description,
    }


def test_show_interface_detail_traffic_table_matches_the_model(cli: SrLinuxCli, model: DeviceModel):
    port = first_up_port(model)
    output = run(cli, f"show interface {port} detail")  # the clock stands still: same instant as the model
    counters = model.interfaces[port].counters
    for section in (
        "L2CP transparency rule",
        "Traffic statistics",
        "Traffic rate statistics",
        "Frame length statistics",
    ):
        assert f"{section} for {port}\n" in output
    assert output.startswith("=" * 120 + f"\nInterface: {port}\n")
    octets = re.search(r"^  Octets\s+(\d+)\s+(\d+)$", output, re.M)
    assert octets
    assert int(octets.group(1)) == Counters.value(counters.in_octets)
    assert int(octets.group(2)) == Counters.value(counters.out_octets)
    assert re.search(r"^  FCS error packets\s+\d+\s+N/A$", output, re.M)
    assert re.search(r"Last change\s+: (\d+d)?\d+h\d+m\d+s ago, \d+ flaps since last clear", output)
    assert f"  Subinterface: {port}.0" in output
    data = json.loads(run(cli, f"show interface {port} detail | as json"))
    assert data["Traffic statistics"]["Octets"]["Rx"] == int(octets.group(1))


# -- counters over time ---------------------------------------------------------------------------------


def statistics(cli: SrLinuxCli, port: str) -> dict[str, int]:
    text = run(cli, f"info from state /interface {port} statistics")
    return {name: int(value) for name, value in re.findall(r"^ {12}([a-z-]+) (\d+)$", text, re.M)}


def test_counters_grow_between_calls(cli: SrLinuxCli, model: DeviceModel, clock: Clock):
    port = first_up_port(model)
    first = statistics(cli, port)
    clock.now += 10
    second = statistics(cli, port)
    assert second["in-octets"] > first["in-octets"]
    assert second["out-packets"] > first["out-packets"]
    assert second["carrier-transitions"] == first["carrier-transitions"]
    # Ten seconds at the profile's rate, within a percent (START opens a 10-second burst bucket).
    expected_octets = sum(model.nominal_in_bps(port, START + t + 0.5) for t in range(10)) / 8
    assert second["in-octets"] - first["in-octets"] == pytest.approx(expected_octets, rel=0.01)


def test_info_statistics_text_layout(cli: SrLinuxCli, model: DeviceModel):
    port = first_up_port(model)
    lines = run(cli, f"info from state /interface {port} statistics").splitlines()
    assert lines[0] == f"    interface {port} {{"
    assert lines[1] == "        statistics {"
    names = [line.split()[0] for line in lines[2:-2]]
    assert names == [
        "in-packets", "in-octets", "in-unicast-packets", "in-broadcast-packets", "in-multicast-packets",
        "in-discarded-packets", "in-error-packets", "in-fcs-error-packets", "out-packets", "out-octets",
        "out-mirror-octets", "out-unicast-packets", "out-broadcast-packets", "out-multicast-packets",
        "out-discarded-packets", "out-error-packets", "out-mirror-packets", "carrier-transitions",
    ]  # fmt: skip
    assert lines[-2:] == ["        }", "    }"]


def test_info_as_json_carries_counters_as_strings_with_the_same_numbers(cli: SrLinuxCli, model: DeviceModel):
    port = first_up_port(model)
    text = statistics(cli, port)
    data = json.loads(run(cli, f"info from state /interface {port} statistics | as json"))
    entry = data["interface"][0]
    assert entry["name"] == port
    stats = entry["statistics"]
    assert all(isinstance(value, str) for value in stats.values())
    assert {name: int(value) for name, value in stats.items()} == text
    assert text["in-octets"] == Counters.value(model.interfaces[port].counters.in_octets)


def test_info_interface_state_leaves(cli: SrLinuxCli, model: DeviceModel):
    port = first_up_port(model)
    data = json.loads(run(cli, f"info from state /interface {port} | as json"))["interface"][0]
    assert data["oper-state"] == "up"
    assert data["admin-state"] == "enable"
    assert data["mtu"] == 9232  # small integers stay numbers
    assert data["ethernet"]["port-speed"] == "25G"
    assert int(data["traffic-rate"]["in-bps"]) == int(model.nominal_in_bps(port))
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", data["last-change"])
    text = run(cli, f"info from state /interface {port}")
    assert re.search(r'^ {8}last-change "\S+Z \(.+ ago\)"$', text, re.M)


def test_xpath_form_and_filter_fields(cli: SrLinuxCli, model: DeviceModel):
    port = first_up_port(model)
    data = json.loads(
        run(cli, f"info from state /interface[name={port}]/statistics | filter fields in-octets out-octets | as json")
    )
    assert set(data["interface"][0]["statistics"]) == {"in-octets", "out-octets"}


def test_grep_filters_lines_and_chains_after_json(cli: SrLinuxCli, model: DeviceModel):
    port = first_up_port(model)
    lines = run(cli, f"info from state /interface {port} statistics | grep octets").splitlines()
    assert [line.split()[0] for line in lines] == ["in-octets", "out-octets", "out-mirror-octets"]
    assert run(cli, "show version | as json | grep Hostname").strip() == '"Hostname": "alcala-leaf1",'
    assert run(cli, "show version | grep -v -- ---").count("\n") == 12


def test_yaml_output(cli: SrLinuxCli):
    output = run(cli, "show version | as yaml")
    assert output.startswith("basic system info:\n  Hostname: alcala-leaf1\n")


# -- platform -------------------------------------------------------------------------------------------


def test_show_platform_chassis(cli: SrLinuxCli, model: DeviceModel):
    output = run(cli, "show platform chassis")
    assert labelled_value(output, "Type") == "7220 IXR-D2L"
    assert labelled_value(output, "Last Boot type") == "normal"
    assert labelled_value(output, "HW MAC address") == model.identity.mac
    assert labelled_value(output, "Oper Status") == "up"
    assert labelled_value(output, "Part number") == model.hardware.chassis_part


def test_show_platform_environment_grid(cli: SrLinuxCli, model: DeviceModel):
    output = run(cli, "show platform environment")
    assert re.search(
        r"\| Module Type\s+\| ID \| Admin State \| Operational State \|\s+Model\s+\| Temperature \|", output
    )
    temps = dict(model.temperatures())
    assert re.search(rf"\| control\s+\| A\s+\| N/A\s+\| up\s+\|[^|]+\| {temps['A']}\s+\|", output)
    assert output.count("| fan-tray ") == len(model.fans)
    assert output.count("| power-supply ") == len(model.power_supplies)


def test_show_platform_control_detail_matches_the_model(cli: SrLinuxCli, model: DeviceModel):
    output = run(cli, "show platform control A detail")
    assert "Show report for Controller A" in output
    assert labelled_value(output, "Current") == f"{dict(model.temperatures())['A']} Celsius"
    total_row = re.search(r"^  Total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", output, re.M)
    assert total_row and int(total_row.group(1)) == round(model.cpu_pct())
    total, used = model.memory()
    assert labelled_value(output, "Physical") == f"{total} bytes"
    assert labelled_value(output, "Free") == f"{total - used} bytes"
    assert labelled_value(output, "Utilization") == f"{round(used * 100 / total)}%"


def test_cpu_spike_shows_in_cpu_state(cli: SrLinuxCli, model: DeviceModel):
    model.cpu_spike(97.0, seconds=60)
    data = json.loads(run(cli, "info from state /platform control A cpu all | as json"))
    total = data["platform"]["control"][0]["cpu"][0]["total"]
    assert total["instant"] == 97
    assert isinstance(total["instant"], int)


def test_memory_state_json_types(cli: SrLinuxCli, model: DeviceModel):
    memory = json.loads(run(cli, "info from state /platform control A memory | as json"))["platform"]["control"][0]
    assert memory["slot"] == "A"
    total, used = model.memory()
    assert memory["memory"] == {
        "physical": str(total),
        "reserved": str(used),
        "free": str(total - used),
        "utilization": round(used * 100 / total),
    }


def test_failed_power_supply_shows_down(cli: SrLinuxCli, model: DeviceModel):
    model.fail_power_supply(2)
    output = run(cli, "show platform power-supply")
    assert re.search(r"\| power-supply \| 1\s+\| N/A\s+\| up\s+\|", output)
    assert re.search(r"\| power-supply \| 2\s+\| N/A\s+\| down\s+\|", output)
    assert re.search(r"\| power-supply \| 2\s+\| N/A\s+\| down\s+\|", run(cli, "show platform environment"))
    state = run(cli, "info from state /platform power-supply 2")
    assert "oper-state down" in state and 'failure-reason "input power lost"' in state
    # SR Linux keeps no alarm list: the supply's state is all there is.
    assert run(cli, "info from state /system alarms").startswith("Parsing error: Unknown token 'alarms'.")


def test_fan_trays_wildcard_and_detail(cli: SrLinuxCli, model: DeviceModel):
    state = run(cli, "info from state /platform fan-tray *")
    assert state.count("        fan-tray ") == len(model.fans)
    assert run(cli, "show platform fan-tray").count("| fan-tray ") == len(model.fans)
    assert "Show report for Fan Tray 1" in run(cli, "show platform fan-tray 1 detail")
    assert run(cli, "show platform fan-tray 99").startswith("Error: Path '/platform/fan-tray[id=99]'")


def test_system_information(cli: SrLinuxCli, model: DeviceModel):
    data = json.loads(run(cli, "info from state /system information | as json"))["system"]["information"]
    assert data["version"] == f"{model.identity.version}-{model.identity.build}"
    assert data["current-datetime"].startswith("2026-09-21T")  # START, in UTC
    text = run(cli, "info from state /system information")
    assert text.startswith("    system {\n        information {\n")
