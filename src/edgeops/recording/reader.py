"""Reading a recording: its span, the fleet at any instant (a FleetStore), its events, series and commands.

Readers open the file read-only and never take the writer's lock: a console replays (or a timeline reads) a
recording while another process writes it. A file that is damaged, truncated, from a newer edgeops or not a recording
raises RecordingError with its code; what can be read of a damaged file is handed along (`salvaged`).
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import itertools
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from edgeops.fleet.events import (
    CommandRan,
    EventFormatError,
    FleetEvent,
    InterfacesChanged,
    apply_event,
    decode_events,
)
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Inventory
from edgeops.recording.coding import Chain, state_only
from edgeops.recording.pins import Pin
from edgeops.recording.schema import (
    APP_ID,
    OLDEST_READABLE_FORMAT,
    RECORDING_FORMAT_VERSION,
    SCHEMA,
    SQLITE_MAGIC,
    BatchKind,
    Metric,
    RecordingError,
    RecordingProblem,
    Resolution,
    SeriesPoint,
)
from edgeops.recording.series import MetricExtractor, bucket_points, unpack_rollup

# How far before a series' range the rates' first counters are looked for.
RATE_LEAD_S = 60.0


class ReplayClock:
    """The clock a replayed store reads: wall and monotonic time both at the instant being shown."""

    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t


@dataclass
class _Follow:
    """Where the last `events()` of the whole fleet stopped, so that the next one, asked from there (a replay
    playing on), decodes only what follows instead of the whole chain from its keyframe again."""

    until: float  # every event up to this time was handed out
    last_id: int  # every batch up to this id was decoded
    chain: Chain
    frame_id: int  # the last batch id of the keyframe the chain started from
    later: list[FleetEvent] = field(default_factory=list)  # decoded, later than `until` (or at it: asked again)
    counters_of: str | None = None  # whose counters the chain decodes (Chain.decode); None: every device's


class Recording:
    """A recording opened for reading (`Recording.open`)."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection
        self.damaged_batches = 0  # batches skipped because they could not be decoded
        self._follow: _Follow | None = None

    # -- opening ------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path) -> Recording:
        """Open a recording. Raises RecordingError (code: not-a-recording, newer-version, truncated, corrupt); for
        a truncated or corrupt file its `salvaged` is the readable part (in memory), when there is one."""
        path = Path(path)
        try:
            with path.open("rb") as file:
                header = file.read(100)
                size = path.stat().st_size
        except OSError as error:
            raise RecordingError(
                RecordingProblem.NOT_A_RECORDING, f"{path}: cannot read it ({error.strerror})"
            ) from None
        if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
            if header and SQLITE_MAGIC.startswith(header[: len(SQLITE_MAGIC)]):
                raise RecordingError(RecordingProblem.TRUNCATED, f"{path}: the recording ends inside its header")
            raise RecordingError(RecordingProblem.NOT_A_RECORDING, f"{path} is not an edgeops recording")
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        header_valid = header[24:28] == header[92:96]  # the change counter matches version-valid-for
        truncated = header_valid and pages > 0 and (size < pages * page_size or size % page_size)
        if truncated:
            raise RecordingError(
                RecordingProblem.TRUNCATED,
                f"{path}: the recording is truncated (cut off at {size} bytes); the part that could be read is shown",
                salvaged=_salvage_truncated(path, page_size),
            )
        try:
            connection = _connect_read_only(path)
        except sqlite3.DatabaseError as error:
            raise RecordingError(RecordingProblem.CORRUPT, f"{path}: the recording is damaged ({error})") from None
        try:
            meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as error:
            if truncated:
                raise RecordingError(
                    RecordingProblem.TRUNCATED,
                    f"{path}: the recording is truncated ({error})",
                    salvaged=_salvage(path, connection),
                ) from None
            if "no such table" in str(error) or "not a database" in str(error):
                raise RecordingError(RecordingProblem.NOT_A_RECORDING, f"{path} is not an edgeops recording") from None
            raise RecordingError(RecordingProblem.CORRUPT, f"{path}: the recording is damaged ({error})") from None
        if meta.get("app") != APP_ID:
            connection.close()
            raise RecordingError(
                RecordingProblem.NOT_A_RECORDING, f"{path} is an sqlite file, not an edgeops recording"
            )
        try:
            version = int(meta.get("format", "0"))
        except ValueError:
            version = 0
        if version > RECORDING_FORMAT_VERSION:
            connection.close()
            raise RecordingError(
                RecordingProblem.NEWER_VERSION,
                f"{path} was recorded by a newer edgeops (format {version}; this one reads {RECORDING_FORMAT_VERSION}):"
                " upgrade edgeops to read it",
            )
        if version < OLDEST_READABLE_FORMAT:
            connection.close()
            raise RecordingError(
                RecordingProblem.OLDER_VERSION,
                f"{path} was recorded by an older edgeops (format {version}; this one reads"
                f" {RECORDING_FORMAT_VERSION}): open it with the edgeops version that recorded it",
            )
        recording = cls(path, connection)
        try:
            (check,) = connection.execute("PRAGMA quick_check(1)").fetchone()
        except sqlite3.DatabaseError as error:
            check = str(error)
        if check != "ok":
            raise RecordingError(
                RecordingProblem.CORRUPT,
                f"{path}: the recording is damaged ({check}); the part that could be read is shown",
                salvaged=_salvage(path, connection),
            )
        return recording

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def pin(self, since: float) -> Pin:
        """Keep retention from deleting anything from `since` on while the pin is held (a replay pins what it
        shows; `Pin.move` as it moves, `Pin.release` or `with` when done)."""
        return Pin(self.path, since)

    # -- reading ------------------------------------------------------------------------------------

    def span(self) -> tuple[float, float]:
        """The first and last instant the recording holds (both the creation time while it is empty)."""
        first, last = self._query("SELECT min(t0), max(t1) FROM batches").fetchone()
        if first is None:
            created = float(self._meta("created") or 0.0)
            return created, created
        return float(first), float(last)

    def store_at(self, t: float, inventory: Inventory, *, counters_of: str | None = None) -> FleetStore:
        """The fleet as it was at `t`: the last keyframe at or before it, then every event up to `t`, applied to a
        fresh store whose clock reads each event's time and, at the end, `t`. Devices not in `inventory` are
        left out.

        With `counters_of` (a device, or "" for none), the other devices' interfaces are brought to `t` by their
        state fields only and carry no counters, and their health samples come merged into one: a replay shows one
        device's counters at a time, for a fraction of the decoding (Chain.decode)."""
        with _collector_paused():
            return self._store_at(t, inventory, counters_of)

    def _store_at(self, t: float, inventory: Inventory, counters_of: str | None) -> FleetStore:
        clock = ReplayClock(t)
        store = FleetStore(inventory, clock)
        known = {device.name for device in inventory.devices}
        events: Iterable[FleetEvent] = self._chain(
            t, t, kinds=(BatchKind.EVENTS,), keyframe_events=True, counters_of=counters_of
        )
        if counters_of is not None:
            # The deferred samples come at the end of the chain: applied in time order with the rest. The other
            # devices' counters are left out of the keyframe too: a store shows no counter it cannot rate.
            events = sorted(
                (
                    state_only(event) if type(event) is InterfacesChanged and event.device != counters_of else event
                    for event in events
                ),
                key=lambda event: event.time,
            )
        for event in events:
            if event.device in known:
                clock.t = event.time
                apply_event(store, event)
        clock.t = t
        return store

    def events(
        self, since: float, until: float, *, device: str | None = None, counters_of: str | None = None
    ) -> Iterator[FleetEvent]:
        """Every event (commands too) with since <= time <= until, in time order. Asked for the whole fleet from
        where the last such call stopped (a replay playing on), it decodes only the batches that follow. With
        `counters_of` (the whole fleet only), the other devices' interface samples give their state fields only,
        the latest of each shape per call (see `store_at`)."""
        if device is None:
            yield from self._events_on(since, until, counters_of)
            return
        events = [
            event
            for event in self._chain(since, until, kinds=(BatchKind.EVENTS, BatchKind.COMMANDS), device=device)
            if since <= event.time <= until
        ]
        events.sort(key=lambda event: event.time)
        yield from events

    def _events_on(self, since: float, until: float, counters_of: str | None) -> list[FleetEvent]:
        follow = self._follow
        if follow is None or follow.until != since or until < since or follow.counters_of != counters_of:
            follow = self._follow_from(since, counters_of)
        kinds = (BatchKind.EVENTS, BatchKind.COMMANDS)
        # Keyframes written after the batches decoded so far (a console may still be recording): the chain starts
        # again from each one's whole values once its last batch is passed.
        boundaries = self._query(
            "SELECT last_id, time FROM keyframes WHERE last_id > ? ORDER BY last_id, time", (follow.frame_id,)
        ).fetchall()
        rows = self._query(
            "SELECT id, kind, resolution, t0, data FROM batches WHERE id > ? AND kind IN (?, ?) ORDER BY id",
            (follow.last_id, *kinds),
        )
        decoded = follow.later
        try:
            for row_id, kind, resolution, t0, data in rows:
                if t0 > until:
                    break  # batches' first times never go back (Recorder.flush): this one and the next are later
                while boundaries and row_id > boundaries[0][0]:
                    follow.frame_id, frame_time = boundaries.pop(0)
                    decoded.extend(self._deferred(follow.chain))
                    follow.chain.reset(self._keyframe(frame_time, None), counters_of=counters_of)
                decoded.extend(self._batch_events(follow.chain, kind, resolution, data, counters_of=counters_of))
                follow.last_id = row_id
            decoded.extend(self._deferred(follow.chain))
        except sqlite3.DatabaseError as error:
            raise RecordingError(RecordingProblem.CORRUPT, f"{self.path}: the recording is damaged ({error})") from None
        decoded.sort(key=lambda event: event.time)
        out = [event for event in decoded if since <= event.time <= until]
        follow.later = [event for event in decoded if event.time >= until]
        follow.until = until
        self._follow = follow
        return out

    def _follow_from(self, since: float, counters_of: str | None) -> _Follow:
        """A cursor at the last keyframe at or before `since`, its chain at the keyframe's values."""
        frame = self._query(
            "SELECT time, last_id FROM keyframes WHERE time <= ? ORDER BY time DESC LIMIT 1", (since,)
        ).fetchone()
        chain = Chain()
        if frame is None:
            return _Follow(since, 0, chain, 0, counters_of=counters_of)
        frame_time, last_id = frame
        chain.reset(self._keyframe(frame_time, None), counters_of=counters_of)
        return _Follow(since, last_id, chain, last_id, counters_of=counters_of)

    def _batch_events(
        self,
        chain: Chain,
        kind: int,
        resolution: int,
        data: bytes,
        device: str | None = None,
        *,
        counters_of: str | None = None,
    ) -> list[FleetEvent]:
        """One batch's events (only `device`'s when given): a full-resolution tick along the chain, anything else
        on its own."""
        if kind != BatchKind.EVENTS or resolution != Resolution.FULL:
            events = self._decode(data)
            return events if device is None else [event for event in events if event.device == device]
        if chain.broken:
            return []  # a damaged tick broke the chain: nothing decodes until the next keyframe
        try:
            return chain.decode(data, device, counters_of=counters_of)
        except EventFormatError:
            self.damaged_batches += 1
            return []

    def _deferred(self, chain: Chain) -> list[FleetEvent]:
        """The interface samples a chain read for their state only (Chain.take_deferred)."""
        try:
            return list(chain.take_deferred())
        except EventFormatError:
            self.damaged_batches += 1
            return []

    def _chain(
        self,
        since: float,
        until: float,
        *,
        kinds: tuple[BatchKind, ...],
        device: str | None = None,
        keyframe_events: bool = False,
        counters_of: str | None = None,
    ) -> Iterator[FleetEvent]:
        """The events from the last keyframe at or before `since` on, as written (id order), each tick decoded
        along its chain (recording/coding.py), up to the batches that start after `until`. With `keyframe_events`,
        the keyframe's own events come first, and the chain stops at the next keyframe (its events belong to that
        one)."""
        frames = self._query("SELECT time, last_id FROM keyframes ORDER BY time").fetchall()
        start_index = None
        for index, (time_, _) in enumerate(frames):
            if time_ <= since:
                start_index = index
        # Ticks hold every device (device ''): a reader of one device decodes only its part of them.
        device_clause = "" if device is None else " AND (device = ? OR device = '')"
        device_args: tuple[object, ...] = () if device is None else (device,)
        chain = Chain()
        after_id = 0
        later = frames if start_index is None else frames[start_index + 1 :]
        if start_index is not None:
            frame_time, after_id = frames[start_index]
            events = self._keyframe(frame_time, device)
            chain.reset(events, device, counters_of=counters_of)
            if keyframe_events:
                yield from events
        stop_id = later[0][1] if later and keyframe_events else None
        boundaries = [(last_id, frame_time) for frame_time, last_id in later]
        kind_list = ", ".join(str(int(kind)) for kind in kinds)
        query = (
            f"SELECT id, kind, resolution, data FROM batches WHERE kind IN ({kind_list}) AND id > ? AND t0 <= ?"
            + device_clause
            + ("" if stop_id is None else f" AND id <= {int(stop_id)}")
            + " ORDER BY id"
        )
        rows = self._query(query, (after_id, until, *device_args))
        try:
            for row_id, kind, resolution, data in rows:
                while boundaries and row_id > boundaries[0][0]:
                    # Past the next keyframe's last batch: the chain starts again from its whole values.
                    yield from self._deferred(chain)
                    chain.reset(self._keyframe(boundaries.pop(0)[1], device), device, counters_of=counters_of)
                yield from self._batch_events(chain, kind, resolution, data, device, counters_of=counters_of)
            yield from self._deferred(chain)
        except sqlite3.DatabaseError as error:
            raise RecordingError(RecordingProblem.CORRUPT, f"{self.path}: the recording is damaged ({error})") from None

    def _keyframe(self, frame_time: float, device: str | None) -> list[FleetEvent]:
        """A keyframe's events (only `device`'s when given)."""
        events: list[FleetEvent] = []
        device_clause = "" if device is None else " AND device = ?"
        device_args: tuple[object, ...] = () if device is None else (device,)
        for (data,) in self._query(
            "SELECT data FROM batches WHERE kind = ? AND t0 = ?" + device_clause,
            (BatchKind.KEYFRAME, frame_time, *device_args),
        ).fetchall():
            events.extend(self._decode(data))
        return events

    def commands(self, since: float, until: float, *, device: str | None = None) -> Iterator[CommandRan]:
        """The commands that ended between since and until, in time order."""
        query = "SELECT t0, data FROM batches WHERE kind = ? AND t1 >= ? AND t0 <= ?"
        parameters: tuple[object, ...] = (BatchKind.COMMANDS, since, until)
        if device is not None:
            query += " AND device = ?"
            parameters += (device,)
        for event in self._in_time_order(self._query(query + " ORDER BY t0, id", parameters), since, until):
            if isinstance(event, CommandRan):
                yield event

    def series(
        self, device: str, port: str | None, metric: Metric, since: float, until: float, step: float
    ) -> list[SeriesPoint]:
        """One series of the timeline in steps of `step` seconds from `since`: full resolution where the recording
        still has it, the one-minute rollups (low, mean, high) where it is older."""
        if step <= 0:
            raise ValueError("a series' step must be positive")
        metric = Metric(metric)
        port_key = port or ""
        full_since = float(self._meta("full_since") or 0.0)
        points: list[tuple[float, float, float, float, int]] = []
        if since < full_since:
            for minute, data in self._query(
                "SELECT minute, data FROM rollups WHERE device = ? AND minute >= ? AND minute < ? AND minute <= ?"
                " ORDER BY minute",
                (device, since - since % 60.0, full_since, until),
            ):
                values = unpack_rollup(data, port_key, metric)
                if values is not None:
                    points.append((minute, *values))
        start = max(since, full_since)
        if start <= until:
            extractor = MetricExtractor()
            wanted = (device, port_key, metric)
            for event in self.events(start - RATE_LEAD_S, until, device=device):
                for key, at, value in extractor.readings(event):
                    if key == wanted and at >= start and at >= since:
                        points.append((at, value, value, value, 1))
        points.sort(key=lambda point: point[0])
        return [point for point in bucket_points(points, since, step) if point.time <= until]

    # -- internals ----------------------------------------------------------------------------------

    def _query(self, sql: str, parameters: tuple[object, ...] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, parameters)
        except sqlite3.DatabaseError as error:
            raise RecordingError(RecordingProblem.CORRUPT, f"{self.path}: the recording is damaged ({error})") from None

    def _meta(self, key: str) -> str | None:
        row = self._query("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _decode(self, data: bytes, zdict: bytes | None = None) -> list[FleetEvent]:
        try:
            return decode_events(data, zdict=zdict)
        except EventFormatError:
            self.damaged_batches += 1
            return []

    def _in_time_order(self, rows: sqlite3.Cursor, since: float, until: float) -> Iterator[FleetEvent]:
        """Events of batches ordered by their first time, merged into time order: an event earlier than the next
        batch's first time can come out."""
        waiting: list[tuple[float, int, FleetEvent]] = []
        order = itertools.count()
        try:
            for t0, data in rows:
                while waiting and waiting[0][0] < t0:
                    yield heapq.heappop(waiting)[2]
                for event in self._decode(data):
                    if since <= event.time <= until:
                        heapq.heappush(waiting, (event.time, next(order), event))
        except sqlite3.DatabaseError as error:
            raise RecordingError(RecordingProblem.CORRUPT, f"{self.path}: the recording is damaged ({error})") from None
        while waiting:
            yield heapq.heappop(waiting)[2]


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No garbage collection while a seek builds a store: its tens of thousands of objects live as long as the store,
    and the collector would walk them again and again as they are made (at 200 devices, two full collections in
    each seek). Paused, it walks them once afterwards: a seek and a full collection after it took less time than
    the seek alone (bench/record.py times both together)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _connect_read_only(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError as error:
        # A writer that was killed leaves a WAL to recover, which a read-only connection may not do: a read-write
        # one recovers it (committed batches only; nothing of the recording is changed).
        if "readonly" not in str(error).lower() and "read-only" not in str(error).lower():
            raise
        connection.close()
        connection = sqlite3.connect(str(path), check_same_thread=False)
        connection.execute("PRAGMA query_only=1")
    return connection


def _salvage_truncated(path: Path, page_size: int) -> Recording | None:
    """The readable part of a file cut short: its whole pages, in memory, with the header saying that many (the
    file itself is left as it is), then every row that can be read."""
    try:
        data = bytearray(path.read_bytes())
    except OSError:
        return None
    pages = len(data) // page_size
    if pages == 0:
        return None
    del data[pages * page_size :]
    data[28:32] = pages.to_bytes(4, "big")
    data[18:20] = b"\x01\x01"  # a rollback-journal database: memory cannot hold a WAL
    source = sqlite3.connect(":memory:", check_same_thread=False)
    try:
        source.deserialize(bytes(data))
        # The schema names tables and indexes whose pages are gone: read what is left regardless.
        source.execute("PRAGMA writable_schema=ON")
    except sqlite3.DatabaseError:
        source.close()
        return None
    return _salvage(path, source)


def _salvage(path: Path, source: sqlite3.Connection) -> Recording | None:
    """Copy every row that can still be read into a recording in memory; None when nothing could be."""
    target = sqlite3.connect(":memory:", check_same_thread=False)
    target.executescript(SCHEMA)
    copied = 0
    for table, key, columns in (
        ("meta", "rowid", "key, value"),
        ("keyframes", "rowid", "time, last_id"),
        ("batches", "id", "id, t0, t1, device, kind, resolution, data"),
        ("rollups", "rowid", "device, minute, data"),
    ):
        copied += _copy_readable(source, target, table, key, columns)
    source.close()
    if copied == 0:
        target.close()
        return None
    if target.execute("SELECT count(*) FROM meta").fetchone()[0] == 0:
        target.execute("INSERT INTO meta VALUES ('app', ?), ('format', ?)", (APP_ID, str(RECORDING_FORMAT_VERSION)))
    target.commit()
    return Recording(path, target)


def _copy_readable(source: sqlite3.Connection, target: sqlite3.Connection, table: str, key: str, columns: str) -> int:
    width = len(columns.split(","))
    insert = f"INSERT OR REPLACE INTO {table} ({columns}) VALUES ({', '.join('?' * width)})"
    select = f"SELECT {columns} FROM {table}"
    try:
        rows = source.execute(select).fetchall()
    except sqlite3.DatabaseError:
        pass
    else:
        target.executemany(insert, rows)
        return len(rows)
    # A damaged table: its row ids from wherever they can still be read (an index survives a lost table page, and
    # the other way round), then each row on its own.
    ids: set[int] = set()
    for query in (
        f"SELECT {key} FROM {table} INDEXED BY batches_t1 WHERE t1 > -1e308" if table == "batches" else "",
        f"SELECT {key} FROM {table} ORDER BY {key}",
    ):
        if not query:
            continue
        with contextlib.suppress(sqlite3.DatabaseError):
            for (row_id,) in source.execute(query):
                ids.add(row_id)
    copied = 0
    for row_id in sorted(ids):
        try:
            row = source.execute(f"{select} WHERE {key} = ?", (row_id,)).fetchone()
        except sqlite3.DatabaseError:
            continue
        if row is not None:
            target.execute(insert, row)
            copied += 1
    return copied
