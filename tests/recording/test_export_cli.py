"""`edgeops export`: a port's rows and marks as CSV and JSON; a file that is not a recording is exit 2."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from edgeops.cli.export import parse_when
from edgeops.cli.main import main
from edgeops.devices.samples import CommandResult

from .test_recording import PORT, START, Fleet


def _recording(tmp_path: Path) -> Path:
    fleet = Fleet(tmp_path / "state")
    fleet.run(20, oper="up")
    fleet.tick(oper="down")
    result = CommandResult("leaf1", "show interface", "down", fleet.clock.now(), fleet.clock.now() + 1, True)
    fleet.tap.command_ran(result, "run7", "run7.1", "ops")
    fleet.run(10, oper="up")
    fleet.recorder.close()
    return fleet.recorder.path


def test_export_csv_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _recording(tmp_path)
    span = ["--since", "2026-01-01T00:00Z", "--until", "2026-01-01T00:01Z"]
    assert main(["export", "--file", str(path), "--device", "leaf1", "--port", PORT, *span]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("time,in-bps,out-bps") and len(lines) > 10
    assert main(["export", "--file", str(path), "--device", "leaf1", "--port", PORT, *span, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    kinds = [mark["kind"] for mark in document["marks"]]
    assert kinds.count("oper-state") == 2 and "command" in kinds
    assert document["rows"][0]["in-bps"] == 8000.0


def test_a_bad_file_is_exit_2_with_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a recording\n" * 50)
    assert main(["export", "--file", str(junk), "--device", "leaf1", "--since", "10m"]) == 2
    assert "not an edgeops recording [not-a-recording]" in capsys.readouterr().err


def test_times_as_iso_clock_or_age() -> None:
    now = START + 5000
    assert parse_when("2026-01-01T00:00Z", now=now) == START
    assert parse_when("30m", now=now) == now - 1800
    clock = datetime.fromtimestamp(parse_when("03:05", now=now))
    assert (clock.hour, clock.minute) == (3, 5)
    with pytest.raises(ValueError):
        parse_when("25:00", now=now)
