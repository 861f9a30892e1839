"""The recorder: an EventTap listener that appends the fleet's events to a sqlite recording in the state folder.

On the event loop it only appends each event to a list. A thread of its own takes the list every RECORDING_COMMIT_S,
encodes every device's events as one tick (recording/coding.py), and commits it in one transaction; it also writes
the keyframes, the one-minute rollups of the timeline's series, and applies retention. A full disk pauses the
recording (its status says so) until a write succeeds again. One process writes a recording file at a time (a lock
file): a second recorder in the same folder takes a file of its own.
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
    RECORDING_COUNTER_PRECISION_BITS,
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
    HealthChanged,
    InterfacesChanged,
    SubscriptionData,
    decode_events,
    encode_events,
)
from edgeops.recording.coding import Chain, compact_tick
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
OLD_KEYFRAME_S = 600.0  # the keyframe interval kept past the full-resolution window
# A quarter of a millisecond: with a turn every millisecond, 10 minutes recorded at 200 devices still lengthened the
# loop's lag p99 by 1.15 ms (performance.md, Recording); the sleeps cost the thread wall time, not CPU.
LOOP_TURN_EVERY_S = 0.00025
LOOP_TURN_SLEEP_S = 0.0001


class _LoopTurn:
    """Called between pieces of the recorder's work: once it has held the interpreter for `every_s`, it sleeps
    `sleep_s` so that the event loop, if it waits for the interpreter, takes it at once.

    Why: a thread that computes holds the GIL until another thread has waited a whole switch interval (5 ms) for it,
    and an event loop gives the GIL up at every socket call, so while a commit is encoded the loop waited up to 5 ms
    several times in one turn (its lag p99 went from 6 to 15 ms with recording on). Sleeping a tenth of a millisecond
    after every `every_s` of work costs the recorder only wall time, and the loop waits at most about that long."""

    def __init__(self, every_s: float, sleep_s: float) -> None:
        self.every_s = every_s
        self.sleep_s = sleep_s
        self._since = time.perf_counter()

    def start(self) -> None:
        """The work begins (the thread waited for the next commit until now, holding nothing)."""
        self._since = time.perf_counter()

    def __call__(self) -> None:
        if self.every_s <= 0:
            return
        now = time.perf_counter()
        if now - self._since >= self.every_s:
            time.sleep(self.sleep_s)
            self._since = time.perf_counter()


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
    counter_precision_bits: int | None = RECORDING_COUNTER_PRECISION_BITS  # None: every counter exact
    maintenance_s: float = MAINTENANCE_S
    # The recorder's thread gives the event loop its turn after this much work at a stretch (0: never; see _LoopTurn).
    loop_turn_every_s: float = LOOP_TURN_EVERY_S
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
        # What the ticks are predicted from since the last keyframe (recording/coding.py).
        self._chain = Chain(self.settings.counter_precision_bits)
        # After a failed commit the chain of differences is broken: the next commit writes a keyframe only.
        self._broken = False
        self._last_maintenance = 0.0
        self._wake = threading.Event()
        self._stopping = False
        self._write_lock = threading.Lock()
        self._loop_turn = _LoopTurn(self.settings.loop_turn_every_s, LOOP_TURN_SLEEP_S)
        self.commit_seconds: list[float] = []  # how long each commit took (the benchmark reads it)
        self._db = connect_writer(str(path), max_page_count=self.settings.max_page_count)
        if self._older_format():
            # A recording of an earlier edgeops is kept as it was, beside the new one (that edgeops still reads it).
            self._db.close()
            aside = path.with_name(f"{path.stem}-format-{self._older}{path.suffix}")
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(f"{path}{suffix}", f"{aside}{suffix}")
            log.warning("%s was recorded by an older edgeops: kept as %s, recording anew", path, aside)
            self._db = connect_writer(str(path), max_page_count=self.settings.max_page_count)
        self._init_meta()
        self._thread: threading.Thread | None = None

    @classmethod
    def open_in(cls, state_dir: Path, **kwargs: object) -> Recorder:
        path, fd = writable_recording(state_dir)
        return cls(path, lock_fd=fd, **kwargs)  # type: ignore[arg-type]

    def _older_format(self) -> bool:
        rows = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        try:
            version = int(rows.get("format", str(RECORDING_FORMAT_VERSION)))
        except ValueError:
            return False
        self._older = version
        return rows.get("app") == APP_ID and version < RECORDING_FORMAT_VERSION

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
                        ("counters", "predicted-since-keyframe"),
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
            loop_turn = self._loop_turn
            loop_turn.start()
            for number, event in enumerate(events):
                if not number & 63:
                    loop_turn()
                kind = BatchKind.COMMANDS if type(event) is CommandRan else BatchKind.EVENTS
                ticks.setdefault((event.device, kind), []).append(event)
                self._shadow.apply(event)
                # Interface rates come from the tick's encoding below (Chain.encode has every difference at hand).
                if type(event) is HealthChanged:
                    for key, at, value in metrics.health_readings(event):
                        rollups.add(key, at, value, closed)
            broken = self._broken
            rows: list[tuple[float, float, str, BatchKind, bytes]] = []
            devices: dict[str, list[FleetEvent]] = {}
            for (device, kind), tick in ticks.items():
                if kind is BatchKind.EVENTS:
                    devices[device] = compact_tick(tick)
                else:  # commands need no chain: they are written even when the ticks' chain is broken
                    first, last = min(e.time for e in tick), max(e.time for e in tick)
                    rows.append((first, last, device, kind, encode_events(tick)))
            if not broken and devices:
                times = [e.time for tick in devices.values() for e in tick]
                # The tick goes first, and starts no later than the commands after it (a command may have ended
                # before the tick's first event): batches' first times never go back, which a reader reading on
                # relies on (Recording.events).
                first = min(times + [row[0] for row in rows])
                encoded = self._chain.encode(devices, rates=rollups.add_rates, between=loop_turn)
                rows.insert(0, (first, max(times), "", BatchKind.EVENTS, encoded))
            # After the tick's rates are in (their minutes may close now).
            if final:
                rollups.flush(closed)
            else:
                rollups.close_before(now, closed, between=loop_turn)
            since_keyframe = math.inf if self._last_keyframe is None else now - self._last_keyframe
            keyframe = broken or since_keyframe >= self.settings.keyframe_s
            started = time.perf_counter()
            try:
                with self._transaction():
                    if self._last_keyframe is None:
                        # A recorder's chain starts empty: so does a reader's, from this (empty) keyframe on, and not
                        # from a keyframe an earlier recorder of this file wrote.
                        (last_id,) = self._db.execute("SELECT coalesce(max(id), 0) FROM batches").fetchone()
                        start = min([now, *(row[0] for row in rows)])
                        self._db.execute(
                            "INSERT OR REPLACE INTO keyframes (time, last_id) VALUES (?, ?)", (start, last_id)
                        )
                    if rows:
                        self._db.executemany(
                            "INSERT INTO batches (t0, t1, device, kind, data) VALUES (?, ?, ?, ?, ?)", rows
                        )
                    if self._closed_rollups:
                        self._db.executemany(
                            "INSERT INTO rollups (device, minute, data) VALUES (?, ?, ?)",
                            pack_rollups(self._closed_rollups, between=loop_turn),
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
        frames = self._shadow.keyframe(between=self._loop_turn)
        (last_id,) = self._db.execute("SELECT coalesce(max(id), 0) FROM batches").fetchone()
        blobs = {}
        for device, events in frames.items():
            self._loop_turn()
            blobs[device] = encode_events(events)
        self._db.executemany(
            "INSERT INTO batches (t0, t1, device, kind, data) VALUES (?, ?, ?, ?, ?)",
            [(now, now, device, BatchKind.KEYFRAME, blob) for device, blob in blobs.items()],
        )
        # The chain starts again from the keyframe's whole values.
        self._chain.reset(self._paced(frames))
        self._db.execute("INSERT OR REPLACE INTO keyframes (time, last_id) VALUES (?, ?)", (now, last_id))

    def _paced(self, frames: dict[str, list[FleetEvent]]) -> Iterator[FleetEvent]:
        """Every device's events in turn, the event loop given its turn between devices."""
        for events in frames.values():
            self._loop_turn()
            yield from events

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
        """Counters and data marks leave the ticks older than `before` (their series stay as rollups). A tick can
        only be read along its chain, so the ticks are reduced a keyframe interval at a time, from its keyframe on,
        once the whole interval is older than `before`; a reduced tick is a plain event batch that needs no chain."""
        frames = self._db.execute("SELECT time, last_id FROM keyframes ORDER BY time").fetchall()
        bounds = [(None, 0)] + [(frame_time, last_id) for frame_time, last_id in frames]
        for index in range(len(bounds) - 1):
            frame_time, after_id = bounds[index]
            next_time, until_id = bounds[index + 1]
            if next_time >= before:
                break
            rows = self._db.execute(
                "SELECT id, resolution, data FROM batches WHERE kind = ? AND id > ? AND id <= ? ORDER BY id",
                (BatchKind.EVENTS, after_id, until_id),
            ).fetchall()
            if all(resolution != Resolution.FULL for _, resolution, _ in rows):
                continue
            chain = Chain()
            if frame_time is not None:
                chain.reset(self._keyframe_events(frame_time))
            updates: list[tuple[bytes, int, int]] = []
            deletes: list[tuple[int]] = []
            for row_id, resolution, data in rows:
                if resolution != Resolution.FULL:
                    continue
                self._loop_turn()
                try:
                    events = chain.decode(data)
                except EventFormatError:
                    updates.append((data, Resolution.REDUCED, row_id))  # unreadable: left as it is, not tried again
                    continue
                reduced = [kept for event in events if (kept := _reduced(event)) is not None]
                if reduced:
                    updates.append((encode_events(reduced), Resolution.REDUCED, row_id))
                else:
                    deletes.append((row_id,))
            with self._transaction():
                self._db.executemany("UPDATE batches SET data = ?, resolution = ? WHERE id = ?", updates)
                self._db.executemany("DELETE FROM batches WHERE id = ?", deletes)
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('full_since', ?)", (repr(next_time),)
                )
        self._thin_keyframes(before)

    def _keyframe_events(self, frame_time: float) -> list[FleetEvent]:
        events: list[FleetEvent] = []
        for (data,) in self._db.execute(
            "SELECT data FROM batches WHERE kind = ? AND t0 = ?", (BatchKind.KEYFRAME, frame_time)
        ).fetchall():
            with contextlib.suppress(EventFormatError):
                events.extend(decode_events(data))
        return events

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
