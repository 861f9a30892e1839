"""`edgeops run` end to end against the device lab: output modes, --out files, the audit log and exit codes.

The lab serves on the test's event loop; `edgeops.cli.main` runs in a worker thread with its own loop, exactly
as it does from a shell (argument parsing, inventory loading, sessions, printing, exit status).
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edgeops.cli import main
from edgeops.cli.lab import write_lab_inventory
from edgeops.fleet.audit import read_audit, read_audited_commands
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.topology import build_fleet, synthetic_sites

pytestmark = pytest.mark.lab

LAB_SSH_PORT = 2222
SRLINUX = ("alcala-spine1", "alcala-spine2", "alcala-leaf1")
ALL = (*SRLINUX, "alcala-gw1", "alcala-gw2")


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    def json_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


RunCli = Callable[..., Awaitable[Outcome]]


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[Lab]:
    """A one-site lab (spine1/2, leaf1: SR Linux; gw1/2: SR OS MD-CLI) in its own 127.<block> range, SSH only."""
    started: Lab | None = None
    for attempt in range(8):
        identities = relocate(build_fleet(synthetic_sites(1), 5, ssh_port=LAB_SSH_PORT), random.randrange(100, 250))
        candidate = Lab(identities, lab_dir=tmp_path / f"lab{attempt}", ssh_port=LAB_SSH_PORT, gnmi=False)
        try:
            await candidate.start()
        except OSError as error:
            if error.errno == errno.EADDRINUSE and attempt < 7:
                continue
            raise
        started = candidate
        break
    assert started is not None
    yield started
    await started.stop()


@pytest.fixture
def root_logging() -> Iterator[None]:
    """`edgeops run` points the root logger at its log file; put pytest's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture
def inventory_file(lab: Lab, tmp_path: Path) -> Path:
    return write_lab_inventory(lab, tmp_path / "inventory.yaml")


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def edgeops_run(
    inventory_file: Path, state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], root_logging: None
) -> RunCli:
    async def run(*arguments: str, inventory: Path | None = None) -> Outcome:
        argv = [
            "--inventory",
            str(inventory or inventory_file),
            "--state-dir",
            str(state_dir),
            "--log-dir",
            str(tmp_path / "logs"),
            "run",
            *arguments,
        ]
        capsys.readouterr()
        code = await asyncio.to_thread(main, argv)
        out, err = capsys.readouterr()
        return Outcome(code, out, err)

    return run


def broken_copy(inventory: Path, path: Path) -> Path:
    """The inventory with one device's platform misspelt (mode 0600: it holds the lab's literal passwords)."""
    path.write_text(inventory.read_text(encoding="utf-8").replace("platform: sros", "platform: srox", 1), "utf-8")
    os.chmod(path, 0o600)
    return path


def headers(text: str) -> list[str]:
    return [line[4:] for line in text.splitlines() if line.startswith("=== ")]


# -- exit 0 and --json -------------------------------------------------------------------------------------------


async def test_json_lines_one_per_device_and_exit_0(edgeops_run: RunCli, state_dir: Path) -> None:
    outcome = await edgeops_run("show version", "--target", "all", "--json")
    assert outcome.code == 0, outcome.err
    records = outcome.json_lines()
    assert sorted(str(record["name"]) for record in records) == sorted(ALL)
    for record in records:
        assert {"name", "site", "platform", "command", "ok", "reason", "duration_s", "output"} <= set(record)
        assert record["ok"] is True and record["reason"] == "" and record["site"] == "alcala"
        assert record["command"] == "show version" and isinstance(record["duration_s"], float)
    by_name = {record["name"]: record for record in records}
    assert by_name["alcala-gw1"]["platform"] == "sros" and by_name["alcala-leaf1"]["platform"] == "srlinux"
    assert "Hostname             : alcala-leaf1" in str(by_name["alcala-leaf1"]["output"])
    assert "5 devices: 5 ok, 0 failed" in outcome.err  # the summary goes to stderr, stdout stays JSON lines
    entries = [command.entry for command in read_audited_commands(state_dir / "audit.jsonl")]
    assert sorted(entry.device for entry in entries) == sorted(ALL)
    assert all(entry.source == "run" and entry.ok and entry.command == "show version" for entry in entries)


async def test_text_output_streams_a_header_per_device_then_a_summary(edgeops_run: RunCli, lab: Lab) -> None:
    await lab.inject("alcala-leaf1", "hostile-text")
    outcome = await edgeops_run("@interfaces", "-t", "site:alcala", "--no-progress")
    assert outcome.code == 0, outcome.err
    assert sorted(header.split(" ")[0] for header in headers(outcome.out)) == sorted(ALL)
    assert "alcala-gw1 (alcala, SR OS): ok" in outcome.out and "Ports on Slot 1" in outcome.out
    assert "PWNED" in outcome.out  # the hostile description is shown...
    assert "\x1b" not in outcome.out and "\x07" not in outcome.out  # ...inert
    assert "5 devices: 5 ok, 0 failed" in outcome.out and "slowest: " in outcome.out
    # No terminal: no progress line. The only thing on stderr is the announcement of each host key recorded on
    # first use (as OpenSSH's "Permanently added"), with its fingerprint.
    assert all(line.startswith("new host key of ") and "SHA256:" in line for line in outcome.err.splitlines())


# -- --parse --json ----------------------------------------------------------------------------------------------


async def test_parse_adds_each_devices_rows_read_by_the_fallback_parsers(edgeops_run: RunCli, lab: Lab) -> None:
    outcome = await edgeops_run("@interfaces", "-t", "role:gateway", "--json", "--parse")
    assert outcome.code == 0, outcome.err
    records = {record["name"]: record for record in outcome.json_lines()}
    assert sorted(records) == ["alcala-gw1", "alcala-gw2"]
    for name, record in records.items():
        model = lab.devices[name].model
        connectors = {iface.spec.connector for iface in model.interfaces.values() if iface.spec.connector}
        rows = record["rows"]
        assert isinstance(rows, list) and record["rows_error"] == ""
        assert {row["port_id"] for row in rows} == set(model.interfaces) | connectors
        assert record["output"]  # the text stays beside its rows
    # alcala-gw2 has breakouts, a satellite whose uplink ids wrap, and a port cross-connect: all of them are rows.
    assert {"1/1/c1/4", "esat-1/1/c65/u1", "pxc-1.b"} <= {row["port_id"] for row in records["alcala-gw2"]["rows"]}


async def test_parse_says_why_a_device_has_no_rows(edgeops_run: RunCli, lab: Lab) -> None:
    await lab.inject("alcala-spine2", "auth-reject")
    outcome = await edgeops_run("show version", "-t", "all", "--json", "--parse")
    assert outcome.code == 1
    records = {record["name"]: record for record in outcome.json_lines()}
    for name in ("alcala-gw1", "alcala-gw2"):
        [row] = records[name]["rows"]
        assert row["version"] == lab.devices[name].identity.version and records[name]["rows_error"] == ""
    for name in ("alcala-spine1", "alcala-leaf1"):  # SR Linux's plain `show version` has no parser
        assert records[name]["rows"] is None and "no parser for this command on SR Linux" in records[name]["rows_error"]
    assert (records["alcala-spine2"]["rows"], records["alcala-spine2"]["rows_error"]) == (None, "")  # not sent

    srlinux = await edgeops_run("info from state /interface * | as json", "-t", "alcala-leaf1", "--json", "--parse")
    assert srlinux.code == 0, srlinux.err
    [record] = srlinux.json_lines()
    model = lab.devices["alcala-leaf1"].model
    assert {row["name"] for row in record["rows"]} == set(model.interfaces)


# -- exit 1 ------------------------------------------------------------------------------------------------------


async def test_some_devices_failing_exits_1_and_says_why(edgeops_run: RunCli, lab: Lab) -> None:
    await lab.inject("alcala-gw2", "auth-reject")
    outcome = await edgeops_run("show version", "-t", "all", "--json")
    assert outcome.code == 1
    failed = [record for record in outcome.json_lines() if not record["ok"]]
    assert [(record["name"], record["failure"]) for record in failed] == [("alcala-gw2", "auth")]
    assert "rejected the login" in str(failed[0]["reason"])
    assert "5 devices: 4 ok, 1 failed (auth 1)" in outcome.err and "alcala-gw2: " in outcome.err


async def test_a_device_refusing_the_connection_is_not_a_guard_refusal(
    edgeops_run: RunCli, lab: Lab, state_dir: Path
) -> None:
    await lab.inject("alcala-gw2", "ssh-refuse")
    outcome = await edgeops_run("show version", "-t", "role:gateway", "--json")
    assert outcome.code == 1, "a refused connection is a failure, not exit 3 (which means the guard refused)"
    records = {record["name"]: record for record in outcome.json_lines()}
    assert records["alcala-gw1"]["ok"] and records["alcala-gw2"]["failure"] == "connection-refused"
    assert "(connection-refused 1)" in outcome.err and "refused by the read-only guard" not in outcome.err
    failures = {entry.device: entry.failure for entry in read_audit(state_dir / "audit.jsonl")}
    assert failures == {"alcala-gw1": "", "alcala-gw2": "connection-refused"}


async def test_a_command_refused_on_one_platform_only_exits_1(edgeops_run: RunCli, lab: Lab) -> None:
    outcome = await edgeops_run("show version | grep OS", "-t", "all", "--no-progress")
    assert outcome.code == 1
    assert "REFUSED on alcala-gw1, alcala-gw2" in outcome.out and "rule output-modifier, SR OS" in outcome.out
    assert all(f"{name} (alcala, SR Linux): ok" in outcome.out for name in SRLINUX)
    assert lab.devices["alcala-gw1"].faults.ssh_connections == 0


# -- exit 3 ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["commit now", "admin reboot now", "tools system reboot"])
async def test_a_command_refused_everywhere_exits_3_without_connecting(
    edgeops_run: RunCli, lab: Lab, state_dir: Path, command: str
) -> None:
    outcome = await edgeops_run(command, "-t", "all", "--no-progress")
    assert outcome.code == 3
    assert "REFUSED on alcala-leaf1, alcala-spine1, alcala-spine2" in outcome.out
    assert "REFUSED on alcala-gw1, alcala-gw2" in outcome.out
    assert "--allow-config" in outcome.out  # the refusal says how to lift the guard
    assert all(device.faults.ssh_connections == 0 for device in lab.devices.values())
    assert [entry.failure for entry in read_audit(state_dir / "audit.jsonl")] == ["refused"] * 5


async def test_allow_config_sends_the_command_and_the_audit_log_records_it(
    edgeops_run: RunCli, state_dir: Path
) -> None:
    outcome = await edgeops_run("discard now", "-t", "alcala-leaf1", "--allow-config", "--json")
    assert outcome.code == 1  # sent; the device answers that there is no candidate to discard
    [record] = outcome.json_lines()
    assert record["failure"] == "device-error"
    [entry] = [command.entry for command in read_audited_commands(state_dir / "audit.jsonl")]
    assert entry.guard_lifted and entry.command == "discard now"


# -- exit 2 ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("show version", "-t", "site:alcla"), "unknown site 'alcla'"),
        (("show version", "-t", "role:border"), "no device matches"),
        (("@versoin", "-t", "all"), "unknown alias '@versoin' (did you mean @version?)"),
        (("@interface", "-t", "all"), "@interface takes one argument"),
        (("show version", "-t", "platform:sros", "--diff", "alcala-leaf1"), "--diff alcala-leaf1"),
        (("show version", "-t", "all", "--timeout", "0"), "--timeout"),
        (("show port", "-t", "all", "--parse"), "--parse goes with --json"),
    ],
)
async def test_usage_errors_exit_2_with_a_message(
    edgeops_run: RunCli, lab: Lab, arguments: tuple[str, ...], message: str
) -> None:
    outcome = await edgeops_run(*arguments)
    assert outcome.code == 2
    assert message in outcome.err and "Traceback" not in outcome.err
    assert outcome.out == ""
    assert all(device.faults.ssh_connections == 0 for device in lab.devices.values())


async def test_inventory_problems_exit_2_with_file_line_col(
    edgeops_run: RunCli, inventory_file: Path, tmp_path: Path
) -> None:
    broken = broken_copy(inventory_file, tmp_path / "broken.yaml")
    outcome = await edgeops_run("show version", "-t", "all", inventory=broken)
    assert outcome.code == 2 and "Traceback" not in outcome.err
    assert re.search(rf"^{re.escape(str(broken))}:\d+:\d+: .*srox", outcome.err, re.MULTILINE), outcome.err

    missing = await edgeops_run("show version", "-t", "all", inventory=tmp_path / "nowhere.yaml")
    assert missing.code == 2 and "no such file" in missing.err


async def test_a_missing_target_is_an_argparse_usage_error(edgeops_run: RunCli) -> None:
    with pytest.raises(SystemExit) as exit_info:
        await edgeops_run("show version")
    assert exit_info.value.code == 2


# -- --out, --group, --diff ----------------------------------------------------------------------------------------


async def test_out_writes_one_file_per_device_and_a_summary(edgeops_run: RunCli, lab: Lab, tmp_path: Path) -> None:
    await lab.inject("alcala-spine2", "ssh-hang")
    out_dir = tmp_path / "results"
    outcome = await edgeops_run("show version", "-t", "all", "--timeout", "4", "--out", str(out_dir), "--no-progress")
    assert outcome.code == 1
    assert sorted(path.name for path in out_dir.iterdir()) == sorted([f"{name}.txt" for name in ALL] + ["summary.json"])
    assert "Hostname             : alcala-leaf1" in (out_dir / "alcala-leaf1.txt").read_text(encoding="utf-8")
    assert (out_dir / "alcala-gw1.txt").read_text(encoding="utf-8").startswith("TiMOS-")
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    assert (summary["total"], summary["ok"], summary["failed"]) == (5, 4, 1)
    assert summary["failures"] == {"timeout": 1} and summary["command"] == "show version"
    assert [entry["name"] for entry in summary["devices"]] == [device.name for device in lab.inventory().devices]
    hung = next(entry for entry in summary["devices"] if entry["name"] == "alcala-spine2")
    assert hung["ok"] is False and hung["failure"] == "timeout" and hung["platform"] == "srlinux"


async def test_group_folds_identical_outputs(edgeops_run: RunCli) -> None:
    outcome = await edgeops_run("show version | grep Architecture", "-t", "platform:srlinux", "--group")
    assert outcome.code == 0, outcome.err
    assert headers(outcome.out) == ["3 devices: alcala-leaf1, alcala-spine1, alcala-spine2"]
    assert outcome.out.count("Architecture") == 1

    mixed = await edgeops_run("show version", "-t", "all", "--group")
    assert mixed.code == 0
    assert headers(mixed.out) == [  # SR Linux names the host in its version; the SR OS gateways say the same
        "2 devices: alcala-gw1, alcala-gw2",
        "1 device: alcala-leaf1",
        "1 device: alcala-spine1",
        "1 device: alcala-spine2",
    ]


async def test_diff_shows_each_output_against_the_reference(edgeops_run: RunCli) -> None:
    outcome = await edgeops_run("show version", "-t", "platform:srlinux", "--diff", "alcala-spine1")
    assert outcome.code == 0, outcome.err
    found = headers(outcome.out)
    assert found[0] == "alcala-spine1 (reference)"
    assert set(found[1:]) == {"alcala-spine2: differs from alcala-spine1", "alcala-leaf1: differs from alcala-spine1"}
    assert "--- alcala-spine1\n+++ alcala-spine2" in outcome.out
    assert "-Hostname             : alcala-spine1\n+Hostname             : alcala-spine2" in outcome.out


# -- ssh_config ----------------------------------------------------------------------------------------------


async def test_run_applies_ssh_config_and_a_name_that_does_not_resolve_is_unreachable(
    edgeops_run: RunCli, lab: Lab, tmp_path: Path
) -> None:
    identity = lab.device("alcala-leaf1").identity
    config = tmp_path / "ssh_config"
    # Only the alias leads to the device: the file alone gives its address and port.
    config.write_text(f"Host leaf-alias\n  HostName {identity.host}\n  Port {identity.ssh_port}\n")
    inventory = tmp_path / "aliases.yaml"
    inventory.write_text(
        f"ssh_config: {config}\n"
        "sites: [alcala]\n"
        f"defaults: {{site: alcala, role: leaf, platform: srlinux, username: {identity.username}, "
        f"password: 'literal:{identity.password}', gnmi_port: null}}\n"
        "devices:\n"
        "  - {name: alcala-leaf1, host: leaf-alias}\n"
        "  - {name: ghost, host: ghost.edgeops.invalid}\n",
        encoding="utf-8",
    )
    os.chmod(inventory, 0o600)
    outcome = await edgeops_run("show version", "--target", "all", "--json", inventory=inventory)
    assert outcome.code == 1, outcome.err
    by_name = {record["name"]: record for record in outcome.json_lines()}
    assert by_name["alcala-leaf1"]["ok"] is True, by_name["alcala-leaf1"]["reason"]
    ghost = by_name["ghost"]
    assert ghost["ok"] is False and ghost["failure"] == "unreachable"
    assert "ghost.edgeops.invalid does not resolve" in str(ghost["reason"])
