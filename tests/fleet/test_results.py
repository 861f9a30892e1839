"""Run results made readable: identical outputs folded with range labels, diffs, the summary and --out files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgeops.devices.samples import CommandResult, Failure
from edgeops.fleet.results import (
    RANGE_DASH,
    device_file_name,
    device_range_label,
    diff_against,
    failure_class,
    group_identical,
    natural_key,
    summarise,
    write_out_dir,
)


def ok(device: str, output: str, duration: float = 0.1, command: str = "show version") -> CommandResult:
    return CommandResult(device, command, output, started=100.0, ended=100.0 + duration, ok=True)


def failed(device: str, failure: str, reason: str, duration: float = 0.0, output: str = "") -> CommandResult:
    return CommandResult.failed(
        device,
        "show version",
        failure=Failure(failure),
        reason=reason,
        started=100.0,
        ended=100.0 + duration,
        output=output,
        guard_rule="commit" if failure == "refused" else "",
    )


GUARD = "refused by the read-only guard (rule commit, SR Linux): 'commit now' commits ...; lift the guard ..."


# -- labels -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "label"),
    [
        (["alcala-leaf1", "alcala-leaf2", "alcala-leaf3", "alcala-leaf4"], f"alcala-leaf1{RANGE_DASH}leaf4"),
        (["alcala-leaf4", "alcala-leaf2", "alcala-leaf3", "alcala-leaf1"], f"alcala-leaf1{RANGE_DASH}leaf4"),
        (["alcala-leaf1", "alcala-leaf2"], "alcala-leaf1, alcala-leaf2"),
        (
            ["alcala-leaf1", "alcala-leaf2", "alcala-leaf3", "alcala-leaf5"],
            f"alcala-leaf1{RANGE_DASH}leaf3, alcala-leaf5",
        ),
        (
            ["alcala-leaf9", "alcala-leaf10", "alcala-leaf11", "bilbao-leaf1"],
            f"alcala-leaf9{RANGE_DASH}leaf11, bilbao-leaf1",
        ),
        (["leaf01", "leaf02", "leaf03"], f"leaf01{RANGE_DASH}leaf03"),
        (["leaf1", "leaf02", "leaf3"], "leaf1, leaf02, leaf3"),  # mixed padding is not one series
        (["alcala-gw1", "alcala-spine1", "bilbao-gw1"], "alcala-gw1, alcala-spine1, bilbao-gw1"),
        (["core", "edge", "core"], "core, edge"),
        (["r1", "r2", "r3"], f"r1{RANGE_DASH}r3"),
        ([], ""),
    ],
)
def test_device_range_labels(names: list[str], label: str) -> None:
    assert device_range_label(names) == label


def test_natural_order() -> None:
    assert sorted(["leaf10", "leaf2", "Leaf1"], key=natural_key) == ["Leaf1", "leaf2", "leaf10"]


# -- grouping ---------------------------------------------------------------------------------------------------


def test_identical_outputs_are_grouped_largest_first_and_failures_last() -> None:
    results = [
        ok("alcala-leaf3", "Architecture : x86_64\n"),
        ok("alcala-gw1", "TiMOS-C-25.10.R2\n"),
        ok("alcala-leaf1", "Architecture : x86_64\n"),
        ok("alcala-leaf2", "Architecture : x86_64   \n"),  # trailing padding does not make it different
        failed("alcala-gw2", "timeout", "timeout after 30 s"),
        ok("alcala-leaf4", "Architecture : x86_64"),
    ]
    groups = group_identical(results)
    assert [group.devices for group in groups] == [
        ("alcala-leaf1", "alcala-leaf2", "alcala-leaf3", "alcala-leaf4"),
        ("alcala-gw1",),
        ("alcala-gw2",),
    ]
    assert groups[0].label == f"alcala-leaf1{RANGE_DASH}leaf4" and groups[0].count == 4 and groups[0].ok
    assert groups[0].output.startswith("Architecture")
    assert not groups[2].ok and groups[2].reason == "timeout after 30 s"


def test_failures_group_by_reason_not_by_output() -> None:
    groups = group_identical(
        [
            failed("a1", "refused", GUARD),
            failed("a2", "refused", GUARD),
            failed("a3", "device-error", "device error: x", output="x"),
            ok("a4", ""),
        ]
    )
    assert [(group.ok, group.devices) for group in groups] == [(True, ("a4",)), (False, ("a1", "a2")), (False, ("a3",))]


# -- diffs --------------------------------------------------------------------------------------------------------


def test_diff_against_a_reference_device() -> None:
    results = [
        ok("alcala-spine1", "Hostname : alcala-spine1\nOS : SR Linux\n"),
        ok("alcala-spine2", "Hostname : alcala-spine2\nOS : SR Linux\n"),
        ok("alcala-leaf1", "Hostname : alcala-spine1\nOS : SR Linux   \n"),
        failed("alcala-gw1", "timeout", "timeout after 30 s"),
    ]
    diffs = diff_against(results, "alcala-spine1")
    assert set(diffs) == {"alcala-spine2", "alcala-leaf1"}  # failures have nothing to compare
    assert diffs["alcala-leaf1"] == ""
    lines = diffs["alcala-spine2"].splitlines()
    assert lines[:2] == ["--- alcala-spine1", "+++ alcala-spine2"]
    assert "-Hostname : alcala-spine1" in lines and "+Hostname : alcala-spine2" in lines and " OS : SR Linux" in lines


def test_diff_against_an_unknown_or_failed_reference_says_why() -> None:
    results = [ok("a1", "x"), failed("a2", "auth", "the device rejected the login")]
    with pytest.raises(ValueError, match="a3 is not one of"):
        diff_against(results, "a3")
    with pytest.raises(ValueError, match="the device rejected the login"):
        diff_against(results, "a2")


# -- summary --------------------------------------------------------------------------------------------------------


def test_summary_counts_failures_by_class_and_names_the_slowest() -> None:
    results = [
        ok("d1", "x", duration=0.2),
        ok("d2", "x", duration=1.5),
        failed("d3", "timeout", "timeout after 30 s", duration=30.0),
        failed("d4", "connection-lost", "lost", duration=0.3),
        failed("d5", "refused", GUARD),
        failed("d6", "connection-refused", "127.1.1.1:22 refused the connection", duration=0.01),
        failed("d7", "timeout", "timeout after 30 s", duration=30.5),
    ]
    summary = summarise(results, elapsed_s=31.24, command="show version")
    assert (summary.total, summary.ok, summary.failed, summary.refused) == (7, 2, 5, 1)
    assert dict(summary.failures) == {"timeout": 2, "connection-lost": 1, "connection-refused": 1, "refused": 1}
    assert next(iter(summary.failures)) == "timeout"  # most frequent first
    assert [timing.device for timing in summary.slowest] == ["d7", "d3", "d2", "d4", "d1"]
    assert summary.headline() == (
        "7 devices: 2 ok, 5 failed (timeout 2, connection-lost 1, connection-refused 1, refused 1) in 31.2 s"
    )
    assert summary.slowest_line().startswith("slowest: d7 30.50 s, d3 30.00 s")
    assert not summary.all_ok and not summary.all_refused


def test_summary_of_an_all_refused_run() -> None:
    summary = summarise([failed("d1", "refused", GUARD), failed("d2", "refused", GUARD)])
    assert (
        summary.all_refused
        and summary.slowest == ()
        and summary.headline() == ("2 devices: 0 ok, 2 failed (refused 2)")
    )


def test_guard_refusals_are_told_apart_from_refused_connections() -> None:
    refusal = failed("d", "refused", GUARD)
    assert refusal.refused and refusal.guard_rule == "commit" and failure_class(refusal) == "refused"
    refused_connection = failed("d", "connection-refused", "127.1.1.1:22 refused the connection")
    assert not refused_connection.refused and failure_class(refused_connection) == "connection-refused"
    odd = CommandResult("d", "show version", "", 100.0, 100.0, ok=False, reason="odd")
    assert failure_class(odd) == "failed"


# -- --out ------------------------------------------------------------------------------------------------------------


def test_write_out_dir_writes_one_file_per_device_and_a_summary(tmp_path: Path) -> None:
    results = [
        ok("alcala-leaf1", "plain output\n"),
        ok("alcala-leaf2", "desc \x1b]52;c;ZWNobw==\x07[red]x[/red]\x1b[31m!\n"),
        failed("alcala-gw1", "timeout", "timeout after 30 s"),
        ok("odd/name", "a"),
        ok("odd_name", "b"),
    ]
    summary = summarise(results, elapsed_s=1.0, command="show version")
    details = {"alcala-leaf1": {"site": "alcala", "platform": "srlinux", "command": "show version"}}
    folder = write_out_dir(tmp_path / "out", results, summary, details=details)
    assert (folder / "alcala-leaf1.txt").read_text(encoding="utf-8") == "plain output\n"
    assert (folder / "alcala-leaf2.txt").read_text(encoding="utf-8") == "desc [red]x[/red]!\n"  # made inert
    assert (folder / "alcala-gw1.txt").read_text(encoding="utf-8") == ""
    assert (folder / "odd_name.txt").read_text() == "a" and (folder / "odd_name-2.txt").read_text() == "b"
    document = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert (document["total"], document["ok"], document["failed"]) == (5, 4, 1)
    assert document["failures"] == {"timeout": 1} and document["command"] == "show version"
    by_name = {entry["name"]: entry for entry in document["devices"]}
    assert by_name["alcala-leaf1"]["site"] == "alcala" and by_name["alcala-leaf1"]["file"] == "alcala-leaf1.txt"
    assert by_name["alcala-gw1"]["ok"] is False and by_name["alcala-gw1"]["reason"] == "timeout after 30 s"
    assert by_name["odd/name"]["file"] == "odd_name.txt"
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        ["alcala-leaf1.txt", "alcala-leaf2.txt", "alcala-gw1.txt", "odd_name.txt", "odd_name-2.txt", "summary.json"]
    )


@pytest.mark.parametrize(
    ("name", "file"), [("alcala-leaf1", "alcala-leaf1.txt"), ("../etc/passwd", "_etc_passwd.txt"), ("..", "_.txt")]
)
def test_device_file_names_stay_inside_the_folder(name: str, file: str) -> None:
    assert device_file_name(name) == file


def test_a_refused_device_gets_no_file_and_secrets_stay_out_of_every_file(tmp_path: Path) -> None:
    secret = "Tr0ub4dor&3"
    command = f"set / system aaa authentication user ops password {secret}"
    refused = failed("alcala-leaf2", "refused", f"refused by the read-only guard (rule config-change): {command!r}")
    results = [ok("alcala-leaf1", f"echo: {command}\n", command=command), refused]
    summary = summarise(results, elapsed_s=1.0, command=command)
    folder = write_out_dir(tmp_path / "out", results, summary)
    assert sorted(path.name for path in folder.iterdir()) == ["alcala-leaf1.txt", "summary.json"]
    document = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert {entry["name"]: entry["file"] for entry in document["devices"]}["alcala-leaf2"] is None
    for path in folder.iterdir():
        assert secret not in path.read_text(encoding="utf-8"), path.name
    assert "password ***" in (folder / "alcala-leaf1.txt").read_text(encoding="utf-8")
