"""`edgeops audit`: the table, --json, and the --since and --device filters over a written-ahead log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgeops.cli import main
from edgeops.cli.audit import parse_since
from edgeops.devices.samples import CommandResult, Failure
from edgeops.fleet.audit import AuditEntry, AuditLog
from edgeops.inventory.model import Device
from edgeops.platforms import Platform

T0 = 1_750_000_000.0  # 2025-06-15T15:06:40Z


def device(name: str) -> Device:
    return Device(name=name, site="lab", role="leaf", platform=Platform.SRLINUX, model="7220 IXR-D2L", host="127.0.0.1")


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A log with: leaf1 ok (an hour before T0), leaf2 sent with no outcome, leaf1 timed out, an old-style record."""
    state = tmp_path / "state"
    with AuditLog(state / "audit.jsonl") as log:
        for number, (name, sent_at, result) in enumerate(
            [
                ("leaf1", T0 - 3600, CommandResult("leaf1", "show version", "x", T0 - 3600, T0 - 3599, ok=True)),
                ("leaf2", T0, None),
                (
                    "leaf1",
                    T0 + 1,
                    CommandResult.failed(
                        "leaf1", "show version", failure=Failure.TIMEOUT, reason="timeout after 30 s", started=T0 + 1
                    ),
                ),
            ],
            start=1,
        ):
            log.record(
                AuditEntry.sent(
                    device(name), "show version", sent_at=sent_at, source="run", run_id="r", command_id=f"r.{number}"
                )
            )
            if result is not None:
                log.record(
                    AuditEntry.for_result(result, device(name), source="run", run_id="r", command_id=f"r.{number}")
                )
        old = {"time": "2025-06-15T16:00:00.000Z", "user": "ops", "device": "leaf3", "command": "show x", "ok": True}
    with open(state / "audit.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(old) + "\n")
    return state


def audit(state: Path, capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--state-dir", str(state), "--log-dir", str(state.parent / "logs"), "audit", *arguments])
    return code, capsys.readouterr().out


def test_table_lists_every_command_with_its_outcome(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = audit(state, capsys)
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["TIME", "USER", "DEVICE", "STATUS", "COMMAND", "REASON"]
    assert [row.split()[2] for row in rows] == ["leaf1", "leaf2", "leaf1", "leaf3"]
    assert "outcome unknown" in rows[1] and " ok " in rows[0] and "timeout after 30 s" in rows[2]


def test_json_gives_one_object_per_command(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = audit(state, capsys, "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [(r["device"], r["status"], r["outcome_unknown"]) for r in records] == [
        ("leaf1", "ok", False),
        ("leaf2", "outcome unknown", True),
        ("leaf1", "timeout", False),
        ("leaf3", "ok", False),
    ]
    assert records[1]["command_id"] == "r.2" and records[1]["ok"] is None


def test_device_and_since_filter(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = audit(state, capsys, "--json", "--device", "leaf1")
    assert [json.loads(line)["status"] for line in out.splitlines()] == ["ok", "timeout"]
    _, out = audit(state, capsys, "--json", "--since", "2025-06-15T15:06:40Z")
    assert [json.loads(line)["device"] for line in out.splitlines()] == ["leaf2", "leaf1", "leaf3"]
    _, out = audit(state, capsys, "--json", "--since", "2025-06-15T15:30")
    assert [json.loads(line)["device"] for line in out.splitlines()] == ["leaf3"]


def test_since_accepts_relative_ages_and_refuses_nonsense(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_since("1h", now=T0) == T0 - 3600
    assert parse_since("30m", now=T0) == T0 - 1800
    assert parse_since("2d", now=T0) == T0 - 2 * 86400
    code, _ = audit(state, capsys, "--since", "yesterday-ish")
    assert code == 2
    code, out = audit(state, capsys, "--since", "1h")  # the records are from 2025: none in the last hour
    assert code == 0 and out == "no commands recorded\n"


def test_an_empty_or_missing_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = audit(tmp_path / "state", capsys, "--json")
    assert code == 0 and out == ""
