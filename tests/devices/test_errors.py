"""Device-side error detection per platform: real error text is caught, look-alike text is not."""

from __future__ import annotations

import pytest

from edgeops.devices.errors import device_error_reason, find_device_error
from edgeops.lab.faults import FaultState
from edgeops.lab.model import DeviceModel
from edgeops.lab.srlinux.cli import SrLinuxCli
from edgeops.lab.sros.cli import SrosCli
from edgeops.lab.topology import DEMO_SITES, build_fleet
from edgeops.platforms import Platform

SRL_PARSING_ERROR = (
    "Parsing error: Unknown token 'versio'.\n"
    "Options are ['#', '..', '/', '>', '>>', 'interface', 'platform', 'version', '|', '}']\n"
)
SRL_PATH_ERROR = "Error: Path '/interface[name=ethernet-9/9]' does not specify any existing objects\n"
SROS_MINOR = "                         ^^^^^^\nMINOR: MGMT_CORE #2201: Unknown element - 'versio'\n"
SROS_MAJOR = "MAJOR: CLI #2004: Operation failed - configuration is locked\n"
SROS_CRITICAL = "CRITICAL: MGMT_CORE #2000: internal error\n"
CLASSIC_BAD_COMMAND = "                    ^\nError: Bad command.\n"


@pytest.mark.parametrize(
    ("platform", "output", "line"),
    [
        (Platform.SRLINUX, SRL_PARSING_ERROR, "Parsing error: Unknown token 'versio'."),
        (Platform.SRLINUX, SRL_PATH_ERROR, SRL_PATH_ERROR.strip()),
        (Platform.SRLINUX, "Error: No authorization to execute command: 'bash'\n", None),
        (Platform.SROS, SROS_MINOR, "MINOR: MGMT_CORE #2201: Unknown element - 'versio'"),
        (Platform.SROS, SROS_MAJOR, SROS_MAJOR.strip()),
        (Platform.SROS, SROS_CRITICAL, SROS_CRITICAL.strip()),
        (Platform.SROS, "INFO: CLI #2051: Switching to the classic CLI engine\n" + CLASSIC_BAD_COMMAND, None),
        (Platform.SROS_CLASSIC, CLASSIC_BAD_COMMAND, "Error: Bad command."),
        (Platform.SROS_CLASSIC, 'Error: Invalid port "9/9/9"\n', 'Error: Invalid port "9/9/9"'),
        (Platform.SROS_CLASSIC, "MINOR: CLI Cannot modify - port in use.\n", "MINOR: CLI Cannot modify - port in use."),
    ],
)
def test_error_lines_are_found_and_quoted(platform: Platform, output: str, line: str | None) -> None:
    found = find_device_error(platform, output)
    assert found is not None
    if line is not None:
        assert found == line
    assert device_error_reason(platform, output) == f"device error: {found}"


@pytest.mark.parametrize(
    ("platform", "output"),
    [
        # A description or a log line that merely contains the words is not an error.
        (Platform.SRLINUX, '    interface ethernet-1/1 {\n        description "Error: cable cut"\n    }\n'),
        (Platform.SRLINUX, "ethernet-1/1 is down, reason lower-layer-down\n  Description: Parsing error: lab\n"),
        (Platform.SROS, "Description        : MAJOR: uplink to core\nOper State         : up\n"),
        (Platform.SROS, "1          2026/11/28 12:20:34.03  MAJOR     1          Port 1/1/c1/1\n   Port is down\n"),
        (Platform.SROS, "12 2026/11/28 12:00:00.00 UTC MINOR: SYSTEM #2006 Base Config changed\n"),
        (Platform.SROS, "INFO: CLI #2051: Switching to the classic CLI engine\n"),
        (Platform.SROS_CLASSIC, "Description        : Error: fibre swapped\n"),
        (Platform.SRLINUX, ""),
    ],
)
def test_text_that_only_looks_like_an_error_is_not_one(platform: Platform, output: str) -> None:
    assert find_device_error(platform, output) is None
    assert device_error_reason(platform, output) is None


def test_srlinux_parsing_error_is_detected_although_scrapli_would_not_flag_it() -> None:
    # scrapli's community SR Linux platform lists failure strings that do not include "Parsing error:".
    from scrapli_community.nokia.srlinux import SCRAPLI_PLATFORM

    markers: list[str] = SCRAPLI_PLATFORM["defaults"]["failed_when_contains"]  # type: ignore[index]
    assert not any(marker in SRL_PARSING_ERROR for marker in markers)
    assert find_device_error(Platform.SRLINUX, SRL_PARSING_ERROR) is not None


@pytest.fixture(scope="module")
def fleet_models() -> dict[str, DeviceModel]:
    identities = build_fleet(DEMO_SITES[:1], 5)
    return {identity.role: DeviceModel(identity, clock=lambda: 1_795_000_000.0) for identity in identities}


def test_lab_srlinux_engine_errors(fleet_models: dict[str, DeviceModel]) -> None:
    cli = SrLinuxCli(fleet_models["leaf"], FaultState())
    assert find_device_error(Platform.SRLINUX, cli.execute("show versio").output) == (
        "Parsing error: Unknown token 'versio'."
    )
    missing = cli.execute("info from state /interface ethernet-9/9").output
    expected = "Error: Path '/interface[name=ethernet-9/9]'"
    assert (find_device_error(Platform.SRLINUX, missing) or "").startswith(expected)
    assert find_device_error(Platform.SRLINUX, cli.execute("show version").output) is None
    assert find_device_error(Platform.SRLINUX, cli.execute("info from state /interface * | as json").output) is None


def test_lab_sros_engine_errors(fleet_models: dict[str, DeviceModel]) -> None:
    md_cli = SrosCli(fleet_models["gateway"], FaultState())
    assert find_device_error(Platform.SROS, md_cli.execute("show versio").output) == (
        "MINOR: MGMT_CORE #2201: Unknown element - 'versio'"
    )
    assert find_device_error(Platform.SROS, md_cli.execute("//show nonsense").output) == "Error: Bad command."
    for command in ("show version", "show port", "show system alarms", "show chassis"):
        assert find_device_error(Platform.SROS, md_cli.execute(command).output) is None, command
    classic = SrosCli(fleet_models["gateway"], FaultState(), classic=True)
    assert find_device_error(Platform.SROS_CLASSIC, classic.execute("show nonsense").output) == "Error: Bad command."
    assert find_device_error(Platform.SROS_CLASSIC, classic.execute("show port").output) is None


def test_an_srlinux_show_whose_log_text_has_an_error_line_deep_inside_stays_ok() -> None:
    from edgeops.devices.errors import device_error_reason
    from edgeops.platforms import Platform

    log_text = (
        "2025-06-01T08:00:00 leaf1 sr_linux_mgr: starting\n"
        "2025-06-01T08:00:01 leaf1 bgp: peer 10.0.0.1 up\n"
        "Error: this line is part of a log the device printed, not the CLI reporting an error\n"
        "2025-06-01T08:00:02 leaf1 bgp: peer 10.0.0.2 up\n"
    )
    assert device_error_reason(Platform.SRLINUX, log_text) is None
    assert device_error_reason(Platform.SRLINUX, "Error: Path '/x' does not specify any existing objects\n") == (
        "device error: Error: Path '/x' does not specify any existing objects"
    )
    assert device_error_reason(Platform.SRLINUX, "\nParsing error: Unknown token 'versio'.\nOptions are [...]\n")
