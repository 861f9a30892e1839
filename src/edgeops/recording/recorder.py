"""The recorder: an EventTap listener that appends the fleet's events to a sqlite recording in the state folder.

On the event loop it only appends each event to a list. A thread of its own takes the list every RECORDING_COMMIT_S,
encodes one batch per device (encode_events), and commits them in one transaction; it also writes the keyframes, the
one-minute rollups of the timeline's series, and applies retention. A full disk pauses the recording (its status says
so) until a write succeeds again. One process writes a recording file at a time (a lock file): a second recorder in
the same folder takes a file of its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from edgeops.clock import Clock, SystemClock
from edgeops.defaults import (
    RECORDING_COMMIT_S,
    RECORDING_FULL_RESOLUTION_S,
    RECORDING_KEYFRAME_S,
    RECORDING_MAX_AGE_S,
    RECORDING_MAX_BYTES,
)
from edgeops.devices.interface_rows import COUNTERS_AT, InterfaceBatch
from edgeops.fleet.events import (
    EVENT_FORMAT_VERSION,
    CommandRan,
    EventFormatError,
    FleetEvent,
    InterfacesChanged,
    SubscriptionData,
    decode_events,
    encode_events,
    payload_of,
)
from edgeops.recording.coding import Bases, bases_of, compact_tick, to_differences
from edgeops.recording.keyframes import FleetShadow
from edgeops.recording.pins import pinned_since
from edgeops.recording.schema import (
    APP_ID,
    RECORDING_FILE,
    RECORDING_FORMAT_VERSION,
    BatchKind,
    Resolution,
    SeriesPoint,
    connect_writer,
)
from edgeops.recording.series import MetricExtractor, RollupAccumulator, SeriesKey, pack_rollups

log = logging.getLogger(__name__)

MAX_WRITERS_PER_FOLDER = 16
# Retention and downsampling run this often, in slices short enough not to hold the file for long.
MAINTENANCE_S = 30.0
DOWNSAMPLE_SLICE = 2000
EARLY_KEYFRAME_S = 10.0
OLD_KEYFRAME_S = 600.0  # the keyframe interval kept past the full-resolution window


class RecorderState(StrEnum):
    """What the recorder is doing, for the status bar."""

    RECORDING = "recording"
    DISK_FULL = "disk-full"  # paused: the disk (or the file's limit) is full; resumes when a write succeeds
    FAILED = "failed"  # a write failed for another reason; retried on every commit
    STOPPED = "stopped"


@dataclass(frozen=True)
class RecorderStatus:
    state: RecorderState
    path: Path
    detail: str = ""
    events_dropped: int = 0  # events lost while paused


@dataclass(frozen=True)
class RecorderSettings:
    max_age_s: float = RECORDING_MAX_AGE_S
    max_bytes: int = RECORDING_MAX_BYTES
    full_resolution_s: float = RECORDING_FULL_RESOLUTION_S
    keyframe_s: float = RECORDING_KEYFRAME_S
    commit_s: float = RECORDING_COMMIT_S
    maintenance_s: float = MAINTENANCE_S
    # The file's page limit (sqlite max_page_count): a full disk in tests; None: no limit but the disk's.
    max_page_count: int | None = None


class RecordingBusy(Exception):
    """Another process writes this recording."""


def _lock(path: Path) -> int | None:
    """An exclusive lock on `path` (created), or None if another open file holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def writable_recording(state_dir: Path) -> tuple[Path, int]:
    """The first recording file in the folder that no other process writes, with its lock held (an fd): the
    usual one, or recording-2.sqlite, -3... when other consoles record there already."""
    state_dir.mkdir(parents=True, exist_ok=True)
    for number in range(1, MAX_WRITERS_PER_FOLDER + 1):
        name = RECORDING_FILE if number == 1 else f"recording-{number}.sqlite"
        path = state_dir / name
        fd = _lock(path.with_name(path.name + ".lock"))
        if fd is not None:
            return path, fd
    raise RecordingBusy(f"{MAX_WRITERS_PER_FOLDER} processes record in {state_dir} already")


def _is_disk_full(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "full" in str(error).lower()


class Recorder:
    """Records every event it is handed (`listener`, for EventTap.add_listener) into `path`.

    `open_in(state_dir)` picks the file and takes its writer lock. `close()` commits what is left and stops the
    thread. Time is injected: the keyframe, rollup and retention decisions read `clock.now()`.
    """

    def __init__(
        self,
        path: Path,
        *,
        lock_fd: int | None = None,
        clock: Clock | None = None,
        settings: RecorderSettings | None = None,
    ) -> None:
        if lock_fd is None:
            lock_fd = _lock(path.with_name(path.name + ".lock"))
            if lock_fd is None:
                raise RecordingBusy(f"another process writes {path}")
        self.path = path
        self._lock_fd: int | None = lock_fd
        self.clock: Clock = clock or SystemClock()
        self.settings = settings or RecorderSettings()
        self._pending: list[FleetEvent] = []
        self._state = RecorderState.RECORDING
        self._detail = ""
        self._dropped = 0
        self._shadow = FleetShadow()
        self._metrics = MetricExtractor()
        self._rollups = RollupAccumulator()
        self._closed_rollups: list[tuple[SeriesKey, SeriesPoint]] = []
        self._last_keyframe: float | None = None
        self._bases: Bases = {}  # the counters' bases since the last keyframe (see recording/coding.py)
        # Each device's batches are compressed against the payload of its keyframe (names, shapes, states repeat).
        self._dictionaries: dict[str, bytes] = {}
        self._with_interfaces: set[str] = set()  # devices whose dictionary (keyframe) has their interfaces
        # After a failed commit the chain of differences is broken: the next commit writes a keyframe only.
        self._broken = False
        self._last_maintenance = 0.0
        self._wake = threading.Event()
        self._stopping = False
        self._write_lock = threading.Lock()
        self.commit_seconds: list[float] = []  # how long each commit took (the benchmark reads it)
        self._db = connect_writer(str(path), max_page_count=self.settings.max_page_count)
        self._init_meta()
        self._thread: threading.Thread | None = None

    @classmethod
    def open_in(cls, state_dir: Path, **kwargs: object) -> Recorder:
        path, fd = writable_recording(state_dir)
        return cls(path, lock_fd=fd, **kwargs)  # type: ignore[arg-type]

    def _init_meta(self) -> None:
        rows = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if rows and rows.get("app") != APP_ID:
            raise RecordingBusy(f"{self.path} is not an edgeops recording: not overwritten")
        if rows and int(rows.get("format", "0")) > RECORDING_FORMAT_VERSION:
            raise RecordingBusy(f"{self.path} was written by a newer edgeops: not overwritten")
        if not rows:
            now = self.clock.now()
            with self._transaction():
                self._db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [
                        ("app", APP_ID),
                        ("format", str(RECORDING_FORMAT_VERSION)),
                        ("event_format", str(EVENT_FORMAT_VERSION)),
                        ("created", repr(now)),
                        ("full_since", repr(now)),
                        ("counters", "differences-since-keyframe"),
                    ],
                )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- the loop's side ----------------------------------------------------------------------------

    def listener(self, event: FleetEvent) -> None:
        """Called on the event loop for every event: an append, nothing more."""
        self._pending.append(event)

    def start(self) -> None:
        """Start the writing thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="edgeops recorder", daemon=True)
            self._thread.start()

    @property
    def status(self) -> RecorderStatus:
        return RecorderStatus(self._state, self.path, self._detail, self._dropped)

    def close(self) -> None:
        """Commit what is pending, write the last rollups, stop the thread and release the file."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._lock_fd is None:
            return
        self.flush(final=True)
        self._state = RecorderState.STOPPED
        self._db.close()
        os.close(self._lock_fd)
        self._lock_fd = None

    # -- the writer's side ------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.settings.commit_s)
            if self._stopping:
                break
            try:
                self.flush()
            except Exception:  # the recorder must go on recording whatever one commit did
                log.exception("writing the recording failed")

    def flush(self, *, final: bool = False) -> None:
        """Commit the pending events (the thread calls it every commit_s; tests call it with an injected clock)."""
        with self._write_lock:
            events, self._pending = self._pending, []
            now = self.clock.now()
            ticks: dict[tuple[str, BatchKind], list[FleetEvent]] = {}
            metrics, rollups, closed = self._metrics, self._rollups, self._closed_rollups
            for event in events:
                kind = BatchKind.COMMANDS if type(event) is CommandRan else BatchKind.EVENTS
                ticks.setdefault((event.device, kind), []).append(event)
                self._shadow.apply(event)
                if type(event) is InterfacesChanged:
                    assert isinstance(event, InterfacesChanged)
                    for port, values in metrics.interface_rates(event):
                        rollups.add_rates(event.device, port, event.time, values)
                else:
                    for key, at, value in metrics.health_readings(event):
                        rollups.add(key, at, value, closed)
            if final:
                self._rollups.flush(closed)
            else:
                self._rollups.close_before(now, closed)
            broken = self._broken
            rows = []
            if not broken:
                bases = self._bases
                for (device, kind), tick in ticks.items():
                    first, last = min(e.time for e in tick), max(e.time for e in tick)
                    if kind is BatchKind.EVENTS:
                        written = [to_differences(event, bases) for event in compact_tick(tick)]
                        data = encode_events(written, zdict=self._dictionaries.get(device))
                    else:
                        data = encode_events(tick)
                    rows.append((first, last, device, kind, data))
            since_keyframe = math.inf if self._last_keyframe is None else now - self._last_keyframe
            # A device whose batches have no dictionary yet (it came up after the last keyframe) compresses poorly
            # until the next one: that comes early then, at most every EARLY_KEYFRAME_S.
            undictionaried = any(
                device not in self._with_interfaces and any(type(e) is InterfacesChanged for e in tick)
                for (device, kind), tick in ticks.items()
                if kind is BatchKind.EVENTS
            )
            keyframe = (
                broken
                or since_keyframe >= self.settings.keyframe_s
                or (undictionaried and since_keyframe >= EARLY_KEYFRAME_S)
            )
            started = time.perf_counter()
            try:
                with self._transaction():
                    if rows:
                        self._db.executemany(
                            "INSERT INTO batches (t0, t1, device, kind, data) VALUES (?, ?, ?, ?, ?)", rows
                        )
                    if self._closed_rollups:
                        self._db.executemany(
                            "INSERT INTO rollups (device, minute, data) VALUES (?, ?, ?)",
                            pack_rollups(self._closed_rollups),
                        )
                    if keyframe:
                        self._write_keyframe(now)
            except sqlite3.Error as error:
                self._closed_rollups.clear()
                self._dropped += len(events)
                self._detail = str(error)
                self._state = RecorderState.DISK_FULL if _is_disk_full(error) else RecorderState.FAILED
                # What was dropped breaks the chain of events: the next commit that succeeds writes a keyframe (only:
                # the events it was handed are in the keyframe's state).
                self._broken = True
                log.warning("recording paused (%s): %s", self._state, error)
                return
            self.commit_seconds.append(time.perf_counter() - started)
            self._closed_rollups.clear()
            if self._state is not RecorderState.RECORDING:
                log.info("recording resumed after %s", self._state)
                self._state = RecorderState.RECORDING
                self._detail = ""
            self._broken = False
            if keyframe:
                self._last_keyframe = now
            if now - self._last_maintenance >= self.settings.maintenance_s:
                self._last_maintenance = now
                try:
                    self.maintain(now)
                except sqlite3.Error as error:
                    log.warning("recording retention failed: %s", error)

    def _write_keyframe(self, now: float) -> None:
        frames = self._shadow.keyframe()
        (last_id,) = self._db.execute("SELECT coalesce(max(id), 0) FROM batches").fetchone()
        blobs = {device: encode_events(events) for device, events in frames.items()}
        self._db.executemany(
            "INSERT INTO batches (t0, t1, device, kind, data) VALUES (?, ?, ?, ?, ?)",
            [(now, now, device, BatchKind.KEYFRAME, blob) for device, blob in blobs.items()],
        )
        self._dictionaries = {device: payload_of(blob) for device, blob in blobs.items()}
        self._with_interfaces = {
            device for device, events in frames.items() if any(type(e) is InterfacesChanged for e in events)
        }
        # The chain of differences starts again from the keyframe's whole values.
        self._bases = bases_of(event for events in frames.values() for event in events)
        self._db.execute("INSERT OR REPLACE INTO keyframes (time, last_id) VALUES (?, ?)", (now, last_id))

    # -- retention ----------------------------------------------------------------------------------

    def used_bytes(self) -> int:
        page_size, pages, free = (
            self._db.execute(f"PRAGMA {name}").fetchone()[0] for name in ("page_size", "page_count", "freelist_count")
        )
        return int(page_size * (pages - free))

    def maintain(self, now: float) -> None:
        """Downsample what left the full-resolution window, then drop what is too old or too much, never past a
        pinned span and always from keyframe to keyframe (so the recording starts with one)."""
        self._downsample(now - self.settings.full_resolution_s)
        limit = now - self.settings.max_age_s
        pinned = pinned_since(self.path)
        if pinned is not None:
            limit = min(limit, pinned)
        self._drop_before(self._keyframe_at_or_before(limit))
        while self.used_bytes() > self.settings.max_bytes:
            frames = [row[0] for row in self._db.execute("SELECT time FROM keyframes ORDER BY time LIMIT 2")]
            if len(frames) < 2 or (pinned is not None and frames[1] > pinned):
                break
            self._drop_before(frames[1])

    def _keyframe_at_or_before(self, t: float) -> float | None:
        row = self._db.execute("SELECT max(time) FROM keyframes WHERE time <= ?", (t,)).fetchone()
        return None if row is None else row[0]

    def _drop_before(self, t: float | None) -> None:
        if t is None:
            return
        with self._transaction():
            self._db.execute("DELETE FROM batches WHERE t1 < ? OR (kind = ? AND t0 < ?)", (t, BatchKind.KEYFRAME, t))
            self._db.execute("DELETE FROM keyframes WHERE time < ?", (t,))
            self._db.execute("DELETE FROM rollups WHERE minute < ?", (t - t % 60.0,))

    def _downsample(self, before: float) -> None:
        """Counters and data marks leave batches older than `before` (their series stay as rollups). A batch is
        read and written again with its chain's dictionary (its device's payload in the keyframe before it)."""
        frames = self._db.execute("SELECT last_id, time FROM keyframes ORDER BY last_id").fetchall()
        dictionaries: dict[tuple[float, str], bytes | None] = {}

        def dictionary(row_id: int, device: str) -> bytes | None:
            frame_time = None
            for last_id, time_ in frames:
                if last_id < row_id:
                    frame_time = time_
                else:
                    break
            if frame_time is None:
                return None
            key = (frame_time, device)
            if key not in dictionaries:
                row = self._db.execute(
                    "SELECT data FROM batches WHERE kind = ? AND t0 = ? AND device = ?",
                    (BatchKind.KEYFRAME, frame_time, device),
                ).fetchone()
                try:
                    dictionaries[key] = None if row is None else payload_of(row[0])
                except EventFormatError:
                    dictionaries[key] = None
            return dictionaries[key]

        while True:
            rows = self._db.execute(
                "SELECT id, device, data FROM batches WHERE kind = ? AND resolution = ? AND t1 < ? ORDER BY id LIMIT ?",
                (BatchKind.EVENTS, Resolution.FULL, before, DOWNSAMPLE_SLICE),
            ).fetchall()
            if not rows:
                break
            updates: list[tuple[bytes, int, int]] = []
            deletes: list[tuple[int]] = []
            for row_id, device, data in rows:
                zdict = dictionary(row_id, device)
                try:
                    events = decode_events(data, zdict=zdict)
                except EventFormatError:
                    updates.append((data, Resolution.REDUCED, row_id))  # unreadable: left as it is, not tried again
                    continue
                reduced = [kept for event in events if (kept := _reduced(event)) is not None]
                if reduced:
                    # Written without a dictionary: it no longer needs its keyframe, which may then be thinned out.
                    updates.append((encode_events(reduced), Resolution.REDUCED, row_id))
                else:
                    deletes.append((row_id,))
            with self._transaction():
                self._db.executemany("UPDATE batches SET data = ?, resolution = ? WHERE id = ?", updates)
                self._db.executemany("DELETE FROM batches WHERE id = ?", deletes)
                self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('full_since', ?)", (repr(before),))
            if len(rows) < DOWNSAMPLE_SLICE:
                break
        self._thin_keyframes(before)

    def _thin_keyframes(self, before: float) -> None:
        """Past the full-resolution window one keyframe per OLD_KEYFRAME_S is enough (a seek there replays only state
        changes and health): the others go, once every batch of their chain is reduced (the next keyframe is older
        than `before` too)."""
        frames = [row[0] for row in self._db.execute("SELECT time FROM keyframes ORDER BY time")]
        doomed = []
        slot = None
        for index, frame_time in enumerate(frames[:-1]):
            if frames[index + 1] >= before:
                break
            this_slot = frame_time // OLD_KEYFRAME_S
            if this_slot == slot:
                doomed.append((frame_time,))
            slot = this_slot
        if doomed:
            with self._transaction():
                self._db.executemany(f"DELETE FROM batches WHERE kind = {int(BatchKind.KEYFRAME)} AND t0 = ?", doomed)
                self._db.executemany("DELETE FROM keyframes WHERE time = ?", doomed)


def _reduced(event: FleetEvent) -> FleetEvent | None:
    """An event past the full-resolution window: interface rows without counters (state changes stay), no data
    marks; everything else as it was."""
    if type(event) is SubscriptionData:
        return None
    if type(event) is InterfacesChanged:
        assert isinstance(event, InterfacesChanged)
        rows = {
            name: list(row[:COUNTERS_AT]) + [None] * (len(row) - COUNTERS_AT)
            for name, row in event.batch.rows.items()
            if any(value is not None for value in row[:COUNTERS_AT])
        }
        if not rows:
            return None
        return InterfacesChanged(event.device, event.time, InterfaceBatch(event.device, event.batch.timestamp, rows))
    return event


__all__ = ["CommandRan", "Recorder", "RecorderSettings", "RecorderState", "RecorderStatus", "RecordingBusy"]
