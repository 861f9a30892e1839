"""`edgeops replay`: what it says, and its exit status, when the recording or the time cannot be used."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgeops.cli.exit_codes import ExitCode
from edgeops.cli.main import main
from edgeops.ui.replay import opening

START = 1_767_225_600.0


class SpanOnly:
    def span(self) -> tuple[float, float]:
        return START, START + 600.0


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def run(tmp_path: Path, *argv: str) -> int:
    return main(["replay", "--state-dir", str(tmp_path / "state"), "--log-dir", str(tmp_path / "logs"), *argv])


def test_a_missing_recording_is_said_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, str(tmp_path / "nothing.rec")) == ExitCode.USAGE
    assert "nothing.rec: no such recording" in capsys.readouterr().err


def test_a_file_that_is_not_a_recording_is_said_with_exit_2_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("not a recording\n" * 20)
    assert run(tmp_path, str(file)) == ExitCode.USAGE
    assert "notes.txt is not an edgeops recording" in capsys.readouterr().err
    assert file.read_text() == "not a recording\n" * 20


def test_a_time_outside_the_recording_is_said_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "fleet.rec"
    file.write_bytes(b"")
    monkeypatch.setattr(opening, "open_reader", lambda path: SpanOnly())
    assert run(tmp_path, str(file), "--at", "23:00") == ExitCode.USAGE
    assert "--at: the recording holds 00:00:00 to 00:10:00, not 23:00" in capsys.readouterr().err
    assert run(tmp_path, str(file), "--at", "noon") == ExitCode.USAGE
    assert "not a time of day" in capsys.readouterr().err


def test_speed_is_one_of_x1_to_x60(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        run(tmp_path, "--speed", "7")
    assert exit_.value.code == ExitCode.USAGE
