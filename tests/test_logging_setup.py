"""The log file: only its owner reads it, and no secret reaches it, whoever logs one."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgeops.logging_setup import PrivateRotatingFileHandler, configure_logging

SECRET = "Xy9!secret-value"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_the_log_file_is_private_and_redacted(tmp_path: Path, restore_logging: None) -> None:
    log_file = tmp_path / "logs" / "edgeops.log"
    configure_logging(log_file, "DEBUG")
    log = logging.getLogger("edgeops.test")
    log.info("running %r on alcala-leaf1", f"set / system aaa authentication user x password {SECRET}")
    log.warning('config: {"password": "%s"}', SECRET)
    try:
        raise ValueError(f"authentication-key {SECRET} refused")
    except ValueError:
        log.exception("a failure that carries it in its traceback")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text(encoding="utf-8")
    assert SECRET not in text
    assert "password ***" in text and "authentication-key ***" in text
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600


def test_device_names_and_text_reach_the_log_file_inert(tmp_path: Path, restore_logging: None) -> None:
    from edgeops.logging_setup import device_logger

    log_file = tmp_path / "logs" / "edgeops.log"
    configure_logging(log_file, "DEBUG")
    device_logger("edgeops.test", "leaf\x1b[2J1").warning("said %s", "\x1b]52;c;cHduZWQ=\x07 \u202eevil\x9b31m")
    try:
        raise ValueError("line one\nline two")
    except ValueError:
        logging.getLogger("edgeops.test").exception("a traceback keeps its lines")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text(encoding="utf-8")
    assert not any(raw in text for raw in ("\x1b", "\x07", "\u202e", "\x9b"))  # `tail -f` acts on nothing
    assert "[leaf\\x1b[2J1] said \\x1b]52;c;cHduZWQ=\\x07 \\u202eevil\\x9b31m" in text  # shown, escaped
    assert "line one\nline two" in text


class _CountingFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(message)s")
        self.calls = 0

    def format(self, record: logging.LogRecord) -> str:
        self.calls += 1
        return super().format(record)


def test_each_record_is_formatted_once_and_the_file_still_rotates_at_its_size(tmp_path: Path) -> None:
    log_file = tmp_path / "edgeops.log"
    handler = PrivateRotatingFileHandler(log_file, maxBytes=100, backupCount=5, encoding="utf-8")
    formatter = _CountingFormatter()
    handler.setFormatter(formatter)
    logger = logging.Logger("rotation-test")
    logger.addHandler(handler)
    lines = [f"record {number:02d} " + "x" * 20 for number in range(10)]  # 30 bytes a line: three to a file
    try:
        for line in lines:
            logger.info("%s", line)
    finally:
        handler.close()
    assert formatter.calls == len(lines)  # the standard handler formats each record twice
    files = [tmp_path / f"edgeops.log.{number}" for number in range(5, 0, -1)] + [log_file]
    written = [line for path in files if path.exists() for line in path.read_text().splitlines()]
    assert written == lines
    assert all(path.stat().st_size < 100 for path in files if path.exists())
    assert (tmp_path / "edgeops.log.3").exists()
