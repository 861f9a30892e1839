"""Pins: a reader (a replay) tells the recorder which span it shows, so that retention never deletes it.

A pin is a small file beside the recording (`<recording>.pins/<pid>-<n>`) holding the start of the span, locked by
the reader for as long as it holds the pin. A pin whose lock is free belongs to a reader that is gone: retention
removes it and ignores it. Files and locks need no write access to the recording itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
from pathlib import Path

_numbers = itertools.count(1)


def _pin_dir(recording: Path) -> Path:
    return recording.with_name(recording.name + ".pins")


class Pin:
    """A held pin on the span from `since` on; `move(since)` as the replay moves; `release()` when done."""

    def __init__(self, recording: Path, since: float) -> None:
        folder = _pin_dir(recording)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{os.getpid()}-{next(_numbers)}"
        # Locked and written under a name retention skips, then renamed: it never sees an unheld pin of ours.
        staging = folder / f".{name}"
        self._fd: int | None = os.open(staging, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self.move(since)
        self.path = folder / name
        os.replace(staging, self.path)

    def move(self, since: float) -> None:
        if self._fd is None:
            raise ValueError("the pin was released")
        data = repr(float(since)).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> Pin:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def pinned_since(recording: Path) -> float | None:
    """The earliest start of a live pin on the recording (None: nothing is pinned); stale pins are removed."""
    folder = _pin_dir(recording)
    if not folder.is_dir():
        return None
    earliest: float | None = None
    for path in folder.iterdir():
        if path.name.startswith("."):
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # held: a live reader
                text = os.pread(fd, 64, 0).decode(errors="replace")
                with contextlib.suppress(ValueError):
                    since = float(text)
                    earliest = since if earliest is None else min(earliest, since)
            else:  # nobody holds it: its reader is gone
                with contextlib.suppress(OSError):
                    path.unlink()
        finally:
            os.close(fd)
    return earliest
