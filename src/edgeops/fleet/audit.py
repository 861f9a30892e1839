"""The audit log: JSON lines written ahead of every command sent to a device, durable, rotated by size, never torn.

Write-ahead: before a command goes to a device a `sent` record is on disk (fsynced); when the device has answered
(or the command failed, timed out or was cancelled) an `outcome` record refers to it by its command id. A process
killed at any point (kill -9, power loss) leaves a `sent` record with no outcome, which the reader reports as
"outcome unknown": the command may have reached the device. Records written before the log had kinds are complete
records on their own (an outcome without a `sent`), and read as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edgeops.devices.samples import CommandResult
from edgeops.inventory.model import Device
from edgeops.redaction import redact
from edgeops.textsafety import json_text

try:  # serialises rotation between edgeops processes sharing one log; not available on Windows
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_BACKUPS = 5
SOURCES = ("console", "run")

# The kinds of record (AuditEntry.kind); "" is a record written before kinds existed: a complete one.
SENT = "sent"
OUTCOME = "outcome"
KINDS = (SENT, OUTCOME, "")


def local_user() -> str:
    """Who runs edgeops on this machine (not the device login), as the audit log records it: the account the process
    runs as, from the password database, never $USER or $LOGNAME, which anyone can set to any name."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):  # no passwd entry (some containers), or not a POSIX system
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def utc_timestamp(unix_time: float) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, e.g. 2025-06-01T08:30:00.125Z."""
    return datetime.fromtimestamp(unix_time, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """One record about a command for one device: `sent` (written before it goes out), or its `outcome` (answered,
    failed, refused or cancelled). Field order is the JSON key order."""

    time: str  # when the command was sent, UTC ISO 8601 with Z
    kind: str = ""  # SENT, OUTCOME, or "" (an old-style complete record)
    run_id: str = ""  # one per fan-out (an `edgeops run`, a console command)
    command_id: str = ""  # one per device and command; an outcome carries its `sent` record's id
    user: str  # the local user running edgeops
    jump_host: str | None = None
    device: str
    site: str = ""
    platform: str = ""
    command: str
    ok: bool | None = None  # None in a `sent` record: not known yet
    reason: str = ""
    failure: str = ""  # CommandResult.failure: timeout, connection-refused, auth, device-error, refused (guard)...
    duration_s: float = 0.0
    output_bytes: int = 0
    source: str = "run"  # "console" or "run"
    guard_lifted: bool = False

    @classmethod
    def for_result(
        cls,
        result: CommandResult,
        device: Device,
        *,
        source: str,
        guard_lifted: bool = False,
        user: str | None = None,
        run_id: str = "",
        command_id: str = "",
    ) -> AuditEntry:
        """The outcome record for one CommandResult. Only names and numbers are taken from the device: no
        credentials."""
        if source not in SOURCES:
            raise ValueError(f"audit source must be one of {', '.join(SOURCES)}, not {source!r}")
        return cls(
            time=utc_timestamp(result.started),
            kind=OUTCOME,
            run_id=run_id,
            command_id=command_id,
            user=user if user is not None else local_user(),
            jump_host=device.jump,
            device=device.name,
            site=device.site,
            platform=device.platform.value,
            command=result.command,
            ok=result.ok,
            reason=result.reason,
            failure=result.failure or "",
            duration_s=round(max(result.duration_s, 0.0), 3),
            output_bytes=len(result.output.encode("utf-8", errors="replace")),
            source=source,
            guard_lifted=guard_lifted,
        )

    @classmethod
    def sent(
        cls,
        device: Device,
        command: str,
        *,
        sent_at: float,
        source: str,
        run_id: str,
        command_id: str,
        guard_lifted: bool = False,
        user: str | None = None,
    ) -> AuditEntry:
        """The record written (and fsynced) before `command` goes to `device`: who, where, what, when."""
        if source not in SOURCES:
            raise ValueError(f"audit source must be one of {', '.join(SOURCES)}, not {source!r}")
        return cls(
            time=utc_timestamp(sent_at),
            kind=SENT,
            run_id=run_id,
            command_id=command_id,
            user=user if user is not None else local_user(),
            jump_host=device.jump,
            device=device.name,
            site=device.site,
            platform=device.platform.value,
            command=command,
            source=source,
            guard_lifted=guard_lifted,
        )

    def to_json(self) -> str:
        """One line of JSON (newlines inside values are escaped), secrets redacted."""
        # Every field is a plain value: a dict of them is what asdict() would make, without copying each one.
        record = {name: getattr(self, name) for name in _ENTRY_FIELDS}
        record["command"], record["reason"] = redact(self.command), redact(self.reason)
        return json_text(record, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEntry:
        """An entry from a parsed line; unknown keys (from newer versions) are ignored."""
        values = {key: value for key, value in data.items() if key in _ENTRY_FIELDS}
        values.setdefault("kind", "")
        if values["kind"] not in KINDS:
            raise ValueError(f"audit line of unknown kind {values['kind']!r}")
        required = ("time", "user", "device", "command") + (("ok",) if values["kind"] != SENT else ())
        for name in required:
            if name not in values:
                raise ValueError(f"audit line without {name!r}")
        return cls(**values)


_ENTRY_FIELDS = tuple(field.name for field in fields(AuditEntry))  # in the order the JSON lines have them


class AuditLog:
    """Appends AuditEntry lines to a file; rotates it by size like logging's RotatingFileHandler.

    Each batch of records is one os.write() of complete lines on an O_APPEND descriptor, then one fsync, so a
    process killed at any point leaves whole lines (at worst a torn last line, which readers skip and the next
    writer closes off), and several edgeops processes can share one log. If the file ends in a partial line (power
    loss), the next record starts on a fresh line. record() is one write and one fsync; record_many() writes many
    records for the price of one (group commit: see AuditWriter). A lock makes both thread-safe.
    Write errors (disk full) raise OSError: losing audit records silently would be worse.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS
    ) -> None:
        if max_bytes > 0 and backups < 1:
            raise ValueError("rotating the audit log needs at least one backup (or max_bytes=0 to never rotate)")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self._fd: int | None = None
        self._needs_newline = False
        self._lock = threading.Lock()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def backup_path(self, number: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{number}")

    def record(self, entry: AuditEntry) -> None:
        """Append one entry durably (written and fsynced before this returns)."""
        self.record_many((entry,))

    def record_many(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries in order, durably: one write and one fsync for all of them (more only across a rotation).

        Still one JSON line per entry; a batch is split only where the log rotates, so no file outgrows max_bytes
        by more than one line.
        """
        lines = [(entry.to_json() + "\n").encode("utf-8") for entry in entries]
        if not lines:
            return
        with self._lock:
            start = 0
            while start < len(lines):
                fd = self._current_fd()
                end = self._lines_that_fit(fd, lines, start)
                if end == start:  # not even the next line fits: start a new file
                    self._rotate(len(lines[start]))
                    continue
                self._write_durably(fd, b"".join(lines[start:end]))
                start = end

    def _lines_that_fit(self, fd: int, lines: Sequence[bytes], start: int) -> int:
        """The end of the run of lines from `start` that the current file takes without outgrowing max_bytes."""
        if self.max_bytes <= 0:
            return len(lines)
        size = os.fstat(fd).st_size
        end = start
        while end < len(lines):
            size += len(lines[end])
            if size > self.max_bytes and (end > start or size > len(lines[end])):
                break  # an empty file takes one line whatever its size, or nothing would ever be written
            end += 1
        return end

    def _write_durably(self, fd: int, data: bytes) -> None:
        if self._needs_newline:
            data = b"\n" + data
        written = os.write(fd, data)
        if written != len(data):
            self._needs_newline = True
            raise OSError(f"audit log {self.path}: short write ({written} of {len(data)} bytes; disk full?)")
        self._needs_newline = False
        os.fsync(fd)

    def close(self) -> None:
        with self._lock:
            self._close_fd()

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _current_fd(self) -> int:
        """The descriptor of the file now at self.path, reopened if another process rotated or removed it."""
        if self._fd is not None:
            try:
                on_disk = os.stat(self.path)
                ours = os.fstat(self._fd)
                if (on_disk.st_dev, on_disk.st_ino) == (ours.st_dev, ours.st_ino):
                    return self._fd
            except FileNotFoundError:
                pass
            self._close_fd()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        created = not self.path.exists()
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(self.path, flags, 0o600)
        if created:
            _fsync_directory(self.path.parent)
        size = os.fstat(self._fd).st_size
        # A line cut short by a crash or power loss must not swallow the next record.
        self._needs_newline = size > 0 and os.pread(self._fd, 1, size - 1) != b"\n"
        return self._fd

    def _rotate(self, incoming: int) -> None:
        """Rename the chain (log.4 -> log.5, ..., log -> log.1) under a lock shared with other processes."""
        with self._rotation_lock():
            # Another process may have rotated while we waited: only rotate a file that is still too big.
            try:
                size = os.stat(self.path).st_size
            except FileNotFoundError:
                size = 0
            if size > 0 and size + incoming > self.max_bytes:
                for number in range(self.backups - 1, 0, -1):
                    source = self.backup_path(number)
                    if source.exists():
                        os.replace(source, self.backup_path(number + 1))
                os.replace(self.path, self.backup_path(1))
                _fsync_directory(self.path.parent)
            self._close_fd()

    @contextlib.contextmanager
    def _rotation_lock(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover - Windows: one process per log
            yield
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(lock_fd)  # closing releases the lock


class AuditWriter:
    """Group commit for an AuditLog used from an event loop: records submitted while a write is under way go out
    together in the next one (one write, one fsync), on a thread of its own so fsync never stalls the loop.

    `await writer.write(entry)` returns once the entry is durable (or raises the OSError that stopped it), so a
    result can be handed on only after its record is safe. 200 devices answering together cost a handful of fsyncs
    instead of 200. aclose() waits until everything submitted is written.
    """

    def __init__(self, log: AuditLog) -> None:
        self.log = log
        self._queue: list[tuple[AuditEntry, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edgeops-audit")
        self.batches = 0  # how many writes were made (for tests and figures)

    def submit(self, entry: AuditEntry) -> asyncio.Future[None]:
        """Queue the entry; the future completes when it is durable. Call on the event loop."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        # Nobody may wait for a record submitted on the way out (a cancelled device): do not warn about it then.
        done.add_done_callback(_consume_exception)
        self._queue.append((entry, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush(), name="audit group commit")
        return done

    async def write(self, entry: AuditEntry) -> None:
        """Record the entry durably. Shielded: a caller cancelled now does not take the record with it."""
        await asyncio.shield(self.submit(entry))

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            batch, self._queue = self._queue, []
            job = self._thread.submit(self.log.record_many, [entry for entry, _ in batch])
            try:
                await asyncio.wrap_future(job, loop=loop)
            except asyncio.CancelledError:
                if job.cancel():  # not started: aclose() writes it without the thread (started: the thread does)
                    self._queue[:0] = batch
                raise
            except Exception as error:  # OSError: every waiter of this batch learns it
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                continue
            self.batches += 1
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def aclose(self) -> None:
        """Write everything submitted, then stop the thread. Records are written even if this is cancelled."""
        try:
            while self._flusher is not None and not self._flusher.done():
                await asyncio.shield(self._flusher)
        finally:
            if self._flusher is not None and not self._flusher.done():
                self._flusher.cancel()
            self._thread.shutdown(wait=True)  # a batch already on the thread finishes
            leftover, self._queue = self._queue, []
            if leftover:
                self.log.record_many([entry for entry, _ in leftover])
                for _, done in leftover:
                    if not done.done():
                        done.set_result(None)


def _consume_exception(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _fsync_directory(directory: Path) -> None:
    """Make a create or rename durable; not every platform can open a directory, which is fine there."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - filesystems that refuse fsync on directories
        pass
    finally:
        os.close(fd)


def read_audit(path: str | os.PathLike[str], *, include_rotated: bool = False) -> Iterator[AuditEntry]:
    """The entries of an audit log in order, skipping lines that are not whole records (a torn last line).

    With include_rotated, the backups (log.N ... log.1) come first, oldest first.
    """
    path = Path(path)
    files = [path]
    if include_rotated:
        # Found by listing, not by counting up from .1: a crash in the middle of a rotation can leave a gap.
        numbered = {}
        for candidate in path.parent.glob(f"{glob.escape(path.name)}.*"):
            suffix = candidate.name[len(path.name) + 1 :]
            if suffix.isdigit():
                numbered[int(suffix)] = candidate
        files = [*(numbered[number] for number in sorted(numbered, reverse=True)), path]
    for file in files:
        try:
            handle = open(file, "rb")  # noqa: SIM115 - closed by the with below, after the existence check
        except FileNotFoundError:
            continue
        with handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    yield AuditEntry.from_dict(json.loads(raw))
                except (ValueError, TypeError, AttributeError):
                    logger.warning("%s:%d: skipped a line that is not a whole audit record", file, number)


@dataclass(frozen=True)
class AuditedCommand:
    """One command on one device as the log tells it: its `sent` record and its outcome, either of which may be
    missing (a refusal or an old-style record has no `sent`; a process killed mid-command left no outcome)."""

    sent: AuditEntry | None
    outcome: AuditEntry | None

    @property
    def entry(self) -> AuditEntry:
        """The record that says most: the outcome when there is one."""
        found = self.outcome or self.sent
        assert found is not None
        return found

    @property
    def outcome_unknown(self) -> bool:
        """Sent, and nothing recorded since: the command may or may not have reached the device."""
        return self.outcome is None

    @property
    def status(self) -> str:
        """ "ok", the failure code (e.g. "timeout", "cancelled", "refused"), or "outcome unknown"."""
        if self.outcome is None:
            return "outcome unknown"
        if self.outcome.ok:
            return "ok"
        return self.outcome.failure or "failed"


def pair_records(entries: Iterable[AuditEntry]) -> list[AuditedCommand]:
    """Each `sent` record with the outcome that refers to it, in the order the commands were first recorded."""
    commands: list[AuditedCommand] = []
    waiting: dict[str, int] = {}  # command id -> index in commands of a `sent` still without an outcome
    for entry in entries:
        if entry.kind == SENT:
            waiting[entry.command_id] = len(commands)
            commands.append(AuditedCommand(sent=entry, outcome=None))
        elif entry.kind == OUTCOME and entry.command_id in waiting:
            index = waiting.pop(entry.command_id)
            commands[index] = replace(commands[index], outcome=entry)
        else:  # an old-style complete record, a refusal (never sent), or an outcome whose `sent` rotated away
            commands.append(AuditedCommand(sent=None, outcome=entry))
    return commands


def read_audited_commands(path: str | os.PathLike[str], *, include_rotated: bool = True) -> list[AuditedCommand]:
    """The commands of an audit log (backups included by default), each sent record paired with its outcome."""
    return pair_records(read_audit(path, include_rotated=include_rotated))
