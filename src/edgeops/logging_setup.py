"""Logging to a rotating file: never to the terminal while the full-screen console runs."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class DeviceLoggerAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Prefixes every record with the device (or jump host) it concerns."""

    def process(self, msg, kwargs):  # type: ignore[no-untyped-def]
        return f"[{self.extra['device']}] {msg}", kwargs  # type: ignore[index]


def device_logger(name: str, device: str) -> DeviceLoggerAdapter:
    return DeviceLoggerAdapter(logging.getLogger(name), {"device": device})


def configure_logging(log_file: Path, level: str = "INFO", *, to_stderr: bool = False) -> None:
    """Send edgeops' (and its libraries') records to `log_file`, rotated at 5 MB."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    file_handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=5 * 1024 * 1024, backupCount=3, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(file_handler)
    if to_stderr:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(stream)
    root.setLevel(level.upper())
    # asyncssh logs every channel open at INFO; that drowns our own records with 200 devices.
    logging.getLogger("asyncssh").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("scrapli").setLevel(max(logging.WARNING, root.level))
