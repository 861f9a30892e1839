"""The command runner's history file and the Up/Down walk through it."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from edgeops.ui.command_history import CommandHistory, HistoryCursor


def test_commands_are_kept_once_at_their_latest_position(tmp_path: Path) -> None:
    path = tmp_path / "state" / "command_history"
    history = CommandHistory(path)
    for command in ("show version", "  @interfaces ", "show version", "show port"):
        assert history.add(command)
    assert history.entries == ("@interfaces", "show version", "show port")
    assert path.read_text(encoding="utf-8") == "@interfaces\nshow version\nshow port\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert CommandHistory(path).entries == history.entries


def test_the_history_is_bounded_to_the_newest_commands(tmp_path: Path) -> None:
    history = CommandHistory(tmp_path / "history", limit=3)
    for number in range(1, 8):
        history.add(f"show port 1/1/c{number}")
    assert history.entries == ("show port 1/1/c5", "show port 1/1/c6", "show port 1/1/c7")
    assert len((tmp_path / "history").read_text(encoding="utf-8").splitlines()) == 3
    # A file written with a bigger limit is cut to this one's when read.
    assert CommandHistory(tmp_path / "history", limit=2).entries == ("show port 1/1/c6", "show port 1/1/c7")


def test_writes_replace_the_file_and_leave_no_temporary_files(tmp_path: Path) -> None:
    history = CommandHistory(tmp_path / "history")
    for number in range(20):
        history.add(f"show version {number}")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["history"]


def test_empty_multi_line_and_secret_carrying_commands_are_not_kept(tmp_path: Path) -> None:
    history = CommandHistory(tmp_path / "history")
    assert not history.add("   ")
    assert not history.add("show version\nshow port")
    assert not history.add("set / system aaa authentication user ops password hunter2")
    assert not history.add("configure system security snmp community s3cret")
    assert history.add("show system lldp neighbor")
    text = (tmp_path / "history").read_text(encoding="utf-8")
    assert text == "show system lldp neighbor\n" and "hunter2" not in text


def test_two_consoles_sharing_the_file_keep_each_others_commands(tmp_path: Path) -> None:
    path = tmp_path / "history"
    first, second = CommandHistory(path), CommandHistory(path)
    first.add("show version")
    second.add("show port")
    first.add("@alarms")
    assert CommandHistory(path).entries == ("show version", "show port", "@alarms")


def test_a_file_that_cannot_be_read_or_written_costs_the_history_not_the_console(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "garbled").write_bytes(b"show version\n\xff\xfe broken\n\n\nshow port\n")
    assert CommandHistory(tmp_path / "garbled").entries == ("show version", "\ufffd\ufffd broken", "show port")

    blocked = tmp_path / "a-directory"
    blocked.mkdir()
    with caplog.at_level(logging.WARNING, logger="edgeops.ui.command_history"):
        history = CommandHistory(blocked)
        assert history.entries == ()
        assert history.add("show version")  # kept for this session, though it cannot be saved
    assert history.entries == ("show version",)
    assert "cannot be read" in caplog.text and "cannot be written" in caplog.text
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-directory", "garbled"]


def test_up_and_down_walk_the_history_and_give_back_the_draft(tmp_path: Path) -> None:
    history = CommandHistory(tmp_path / "history")
    for command in ("show version", "show port", "@alarms"):
        history.add(command)
    cursor = HistoryCursor()
    assert cursor.newer() is None  # not walking: Down does nothing
    assert cursor.older(history, "") == "@alarms"
    assert cursor.older(history, "@alarms") == "show port"
    assert cursor.older(history, "show port") == "show version"
    assert cursor.older(history, "show version") is None
    assert cursor.newer() == "show port"
    assert cursor.newer() == "@alarms"
    assert cursor.newer() == ""
    assert not cursor.active


def test_typed_text_narrows_the_walk_to_commands_starting_with_it(tmp_path: Path) -> None:
    history = CommandHistory(tmp_path / "history")
    for command in ("show version", "@interfaces", "show port", "show Port description"):
        history.add(command)
    cursor = HistoryCursor()
    assert cursor.older(history, "show p") == "show Port description"
    assert cursor.older(history, "show Port description") == "show port"
    assert cursor.older(history, "show port") is None
    assert cursor.newer() == "show Port description"
    assert cursor.newer() == "show p"

    # The newest match being exactly what is typed would look like Up did nothing: it is skipped.
    history.add("show port")
    assert cursor.older(history, "show port") == "show Port description"
