"""The command runner's history: recent commands, one per line in the state dir, de-duplicated, bounded, atomic."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from edgeops.files import write_private
from edgeops.redaction import contains_secret

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 500


def _keepable(command: str) -> bool:
    """Whether a command can be stored: one printable line that carries no secret-looking value.

    A line break would split it into two entries; a password typed into a configuration command (with the guard
    lifted) must not sit in a plain file, so such commands are simply not kept.
    """
    if not command or any(char in command for char in "\r\n\x00"):
        return False
    return not contains_secret(command)


def _normalised(entries: Sequence[str], limit: int) -> list[str]:
    """Entries oldest first, each kept only at its latest position, and only the newest `limit` of them."""
    latest: dict[str, None] = {}
    for entry in entries:
        latest.pop(entry, None)
        latest[entry] = None
    kept = list(latest)
    return kept[-limit:] if limit > 0 else []


class CommandHistory:
    """Commands run from the console, oldest first, persisted in a text file (one command per line).

    Every add() re-reads the file before writing it, so two consoles sharing a state dir keep each other's
    commands; the write goes to a temporary file that replaces the old one, so a crash never leaves half a file.
    A file that cannot be read or written costs the history, never the console: the error is logged.
    """

    def __init__(self, path: str | os.PathLike[str], *, limit: int = DEFAULT_LIMIT) -> None:
        self.path = Path(path)
        self.limit = limit
        self._entries: list[str] = self._read()

    @property
    def entries(self) -> tuple[str, ...]:
        """The commands, oldest first."""
        return tuple(self._entries)

    def newest_first(self) -> list[str]:
        return list(reversed(self._entries))

    def add(self, command: str) -> bool:
        """Remember a command (moved to the end if already known); False when it is not kept (see _keepable)."""
        command = command.strip()
        if not _keepable(command):
            return False
        # The file may hold commands another console added since we read it; it is newer than our copy.
        self._entries = _normalised([*self._entries, *self._read(), command], self.limit)
        self._write()
        return True

    def _read(self) -> list[str]:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as error:
            logger.warning("command history %s cannot be read: %s", self.path, error)
            return []
        lines = (line.strip() for line in text.splitlines())
        return _normalised([line for line in lines if _keepable(line)], self.limit)

    def _write(self) -> None:
        text = "".join(f"{entry}\n" for entry in self._entries)
        try:
            write_private(self.path, text, durable=True)
        except OSError as error:
            logger.warning("command history %s cannot be written: %s", self.path, error)


class HistoryCursor:
    """Walks a history with Up and Down the way shells do, keeping what was being typed.

    With text already typed, only commands starting with it are visited (like zsh's history-beginning-search),
    so `show` + Up goes through the earlier show commands. Down past the newest entry gives back the draft.
    """

    def __init__(self) -> None:
        self._draft: str | None = None
        self._matches: list[str] = []
        self._index = -1

    @property
    def active(self) -> bool:
        return self._draft is not None

    def reset(self) -> None:
        self._draft = None
        self._matches = []
        self._index = -1

    def older(self, history: CommandHistory, current: str) -> str | None:
        """The next older command, or None when there is none (the input is left as it is)."""
        if self._draft is None:
            self._draft = current
            prefix = current.strip().casefold()
            self._matches = [entry for entry in history.newest_first() if entry.casefold().startswith(prefix)]
            # The newest match may be exactly what is typed; stepping onto it would look like nothing happened.
            if self._matches and self._matches[0] == current.strip():
                self._matches.pop(0)
            self._index = -1
        if self._index + 1 >= len(self._matches):
            return None
        self._index += 1
        return self._matches[self._index]

    def newer(self) -> str | None:
        """The next newer command, the draft after the newest, or None when not walking the history."""
        if self._draft is None:
            return None
        if self._index <= 0:
            draft = self._draft
            self.reset()
            return draft
        self._index -= 1
        return self._matches[self._index]
