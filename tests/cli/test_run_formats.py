"""`edgeops run --format yaml|csv|table` on StringIO streams, and how --format meets --json, --group and --parse."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from edgeops.cli import main
from edgeops.cli.run_output import RECORD_FIELDS, RunPrinter
from edgeops.devices.samples import CommandResult, Failure
from edgeops.fleet.results import summarise
from edgeops.inventory.model import Device
from edgeops.platforms import Platform

LEAF = Device("alcala-leaf1", "alcala", "leaf", Platform.SRLINUX, "7220 IXR-D3L", "127.0.0.1")
GATEWAY = Device("alcala-gw1", "alcala", "gateway", Platform.SROS, "7750 SR-7", "127.0.0.2")


def results() -> list[CommandResult]:
    return [
        CommandResult.failed(
            "alcala-gw1", "show version", failure=Failure.TIMEOUT, reason="timeout after 2 s", started=10.0, ended=12.0
        ),
        CommandResult(
            "alcala-leaf1", "show version", "\x1b[31mHostname: leaf1\x1b[0m\r\nSoftware: v25.3\r\n", 10.0, 10.5, ok=True
        ),
    ]


def printed(mode: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    printer = RunPrinter([LEAF, GATEWAY], mode=mode, progress=False, out=out, err=err)
    for result in results():
        printer.result(result)
    printer.finish(results(), summarise(results(), elapsed_s=2.0, command="show version"))
    return out.getvalue(), err.getvalue()


def test_yaml_is_one_list_of_records_and_the_summary_on_stderr() -> None:
    out, err = printed("yaml")
    records = YAML(typ="safe").load(out)
    assert [(record["name"], record["ok"], record["failure"]) for record in records] == [
        ("alcala-gw1", False, "timeout"),
        ("alcala-leaf1", True, ""),
    ]
    assert list(records[1]) == list(RECORD_FIELDS)
    assert records[1]["output"] == "Hostname: leaf1\nSoftware: v25.3\n"  # controls removed, lines kept
    assert "\x1b" not in out
    assert "2 devices: 1 ok, 1 failed" in err


def test_csv_is_a_header_and_a_row_per_device() -> None:
    out, err = printed("csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == list(RECORD_FIELDS)
    assert [(row[0], row[4], row[6]) for row in rows[1:]] == [
        ("alcala-gw1", "False", "timeout"),
        ("alcala-leaf1", "True", ""),
    ]
    assert rows[2][-1] == "Hostname: leaf1\nSoftware: v25.3\n"
    assert "2 devices: 1 ok, 1 failed" in err


def test_table_is_one_aligned_line_per_device_then_the_summary() -> None:
    out, err = printed("table")
    lines = out.splitlines()
    assert lines[0].split() == ["DEVICE", "SITE", "PLATFORM", "RESULT", "SECONDS", "REASON", "/", "FIRST", "LINE"]
    # in inventory order, whatever order they finished in
    assert lines[1].split() == ["alcala-leaf1", "alcala", "srlinux", "ok", "0.50", "Hostname:", "leaf1"]
    assert lines[2].split()[:6] == ["alcala-gw1", "alcala", "sros", "timeout", "2.00", "timeout"]
    assert lines[1].index("alcala ") == lines[2].index("alcala ")  # columns line up
    assert "\n2 devices: 1 ok, 1 failed" in out
    assert err == ""


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    for name in list(os.environ):
        if name.startswith("EDGEOPS_"):
            monkeypatch.delenv(name)
    return ["--config-dir", str(tmp_path), "--log-dir", str(tmp_path), "--inventory", str(tmp_path / "none.yaml")]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--json", "--format", "csv"], "--json and --format csv ask for two formats"),
        (["--format", "table", "--group"], "--group and --diff print text"),
        (["--format", "csv", "--parse"], "--parse goes with --json or --format yaml"),
    ],
)
def test_format_conflicts_are_usage_errors(
    folders: list[str], capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    assert main([*folders, "run", "show version", "--target", "all", *arguments]) == 2
    assert message in capsys.readouterr().err


def test_output_format_in_config_toml_is_the_default_and_a_flag_wins(
    folders: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config.toml").write_text('output_format = "csv"\n')
    assert main([*folders, "run", "show version", "--target", "all", "--group"]) == 2
    assert "do not go with --format csv" in capsys.readouterr().err
    # --format text wins over the file: the run gets as far as the missing inventory
    assert main([*folders, "run", "show version", "--target", "all", "--group", "--format", "text"]) == 2
    assert "none.yaml" in capsys.readouterr().err
