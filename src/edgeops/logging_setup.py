"""Logging to a rotating file: never to the terminal while the full-screen console runs."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path
from typing import Any

from edgeops.redaction import redact
from edgeops.textsafety import escape_control

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class DeviceLoggerAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Prefixes every record with the device (or jump host) it concerns."""

    def process(self, msg, kwargs):  # type: ignore[no-untyped-def]
        return f"[{self.extra['device']}] {msg}", kwargs  # type: ignore[index]


def device_logger(name: str, device: str) -> DeviceLoggerAdapter:
    return DeviceLoggerAdapter(logging.getLogger(name), {"device": device})


class RedactingFormatter(logging.Formatter):
    """Formats a record, then takes secrets out of the whole line (message, arguments and traceback alike): a
    command that sets a password is logged as `password ***`, whoever logged it."""

    def format(self, record: logging.LogRecord) -> str:
        # Records quote device names and device text: each line's control characters are written as escapes, so
        # `tail -f edgeops.log` shows an escape sequence instead of acting on it (tracebacks keep their lines).
        lines = redact(super().format(record)).split("\n")
        return "\n".join(escape_control(line) for line in lines)


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file only its owner can read (0600), the rotated ones too: it names devices, users and
    commands."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_formatted: tuple[logging.LogRecord, str] | None = None

    def format(self, record: logging.LogRecord) -> str:
        # The standard handler formats each record twice: once to measure it against maxBytes, once to write it.
        # Redacting is most of a record's cost, so the second time takes the first one's line (emit runs under the
        # handler's lock: the two calls are for the same record, one after the other).
        last = self._last_formatted
        if last is not None and last[0] is record:
            return last[1]
        line = super().format(record)
        self._last_formatted = (record, line)
        return line

    def _open(self):  # type: ignore[no-untyped-def]
        old_umask = os.umask(0o077)
        try:
            stream = super()._open()
        finally:
            os.umask(old_umask)
        os.chmod(self.baseFilename, 0o600)
        return stream


def configure_logging(log_file: Path, level: str = "INFO", *, to_stderr: bool = False) -> None:
    """Send edgeops' (and its libraries') records to `log_file` (0600, secrets redacted), rotated at 5 MB."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    file_handler = PrivateRotatingFileHandler(log_file, maxBytes=5 * 1024 * 1024, backupCount=3, encoding="utf-8")
    file_handler.setFormatter(RedactingFormatter(LOG_FORMAT))
    root.addHandler(file_handler)
    if to_stderr:
        stream = logging.StreamHandler()
        stream.setFormatter(RedactingFormatter(LOG_FORMAT))
        root.addHandler(stream)
    root.setLevel(level.upper())
    # asyncssh logs every channel open at INFO; that drowns our own records with 200 devices.
    logging.getLogger("asyncssh").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("scrapli").setLevel(max(logging.WARNING, root.level))
