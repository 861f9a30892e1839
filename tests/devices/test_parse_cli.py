"""`edgeops parse`: saved output from a file or standard input, read by the SSH fallback's parsers, as JSON lines."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from edgeops.cli import main
from edgeops.lab.faults import HOSTILE_DESCRIPTION, FaultState
from edgeops.lab.model import DeviceModel
from edgeops.lab.srlinux.cli import SrLinuxCli
from edgeops.lab.sros.cli import SrosCli
from edgeops.lab.topology import build_fleet

NOW = 1_795_000_000.0


def model_of(name: str) -> DeviceModel:
    identity = next(identity for identity in build_fleet() if identity.name == name)
    return DeviceModel(identity, clock=lambda: NOW)


def parse(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, list[dict[str, object]], str]:
    code = main(["parse", *arguments])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_a_saved_show_port_from_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    model = model_of("alcala-gw2")
    model.set_description("1/1/c2/1", HOSTILE_DESCRIPTION)
    cli = SrosCli(model, FaultState())
    saved = tmp_path / "show-port.txt"
    # As a terminal capture has it: the command after its prompt, the output, the next prompt.
    saved.write_text(f"A:admin@alcala-gw2# show port\n{cli.execute('show port').output}{cli.prompt()}", "utf-8")
    code, rows, err = parse(capsys, "sros", "show port", str(saved))
    assert (code, err) == (0, "")
    connectors = {iface.spec.connector for iface in model.interfaces.values() if iface.spec.connector}
    assert sorted(row["port_id"] for row in rows if row["link"]) == sorted(model.interfaces)
    assert {row["port_id"] for row in rows if not row["link"]} == connectors

    saved.write_text(cli.execute("show port description").output, "utf-8")
    code, rows, _ = parse(capsys, "sros", "show port description", str(saved))
    assert code == 0
    assert {row["port_id"]: row["description"] for row in rows}["1/1/c2/1"] == HOSTILE_DESCRIPTION


def test_standard_input_with_a_dash_or_no_file(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    model = model_of("alcala-gw1")
    output = SrosCli(model, FaultState(), classic=True).execute("show system cpu").output
    # An SSH client strips trailing blanks from every line; the summary lines still read.
    stripped = "\n".join(line.rstrip() for line in output.split("\n"))
    for arguments in (("sros-classic", "show system cpu", "-"), ("sros-classic", "show system cpu")):
        monkeypatch.setattr("sys.stdin", io.StringIO(stripped))
        code, rows, _ = parse(capsys, *arguments)
        assert code == 0
        usage = next(row for row in rows if row["name"] == "Usage")
        assert usage["cpu_usage"] == f"{model.cpu_pct():.2f}%"


def test_sr_linux_output_the_fallback_reads(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    model = model_of("alcala-leaf1")
    cli = SrLinuxCli(model, FaultState())
    monkeypatch.setattr("sys.stdin", io.StringIO(cli.execute("show version | as json").output))
    code, rows, _ = parse(capsys, "srlinux", "show version | as json")
    assert code == 0 and rows[0]["hostname"] == "alcala-leaf1" and rows[0]["version"] == model.identity.version
    monkeypatch.setattr("sys.stdin", io.StringIO(cli.execute("info from state /interface * | as json").output))
    code, rows, _ = parse(capsys, "srlinux", "info from state /interface * | as json")
    assert code == 0 and sorted(row["name"] for row in rows) == sorted(model.interfaces)
    assert all("device" not in row and "timestamp" not in row for row in rows)


def test_no_parser_exits_2_and_output_of_another_layout_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("Hostname : leaf1\n"))
    code, rows, err = parse(capsys, "srlinux", "show version")
    assert (code, rows) == (2, []) and "no parser for this command on SR Linux: 'show version'" in err
    code, rows, err = parse(capsys, "sros", "show router bgp neighbor", "-")
    assert (code, rows) == (2, []) and "no parser for this command on SR OS" in err

    saved = tmp_path / "version.txt"
    saved.write_text(SrosCli(model_of("alcala-gw1"), FaultState()).execute("show version").output, "utf-8")
    code, rows, err = parse(capsys, "sros", "show port", str(saved))
    assert (code, rows) == (1, []) and "is not what 'show port' prints" in err

    code, _, err = parse(capsys, "sros", "show port", str(tmp_path / "missing.txt"))
    assert code == 2 and "cannot read" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["parse", "junos", "show port", "-"])
    assert exit_info.value.code == 2
