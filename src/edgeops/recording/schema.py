"""The recording file: its sqlite schema, its version, the problems a file can have, and the series it keeps."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgeops.recording.reader import Recording

# 2: one row per commit for every device, counters as residuals of a prediction (recording/coding.py). A file of
# format 1 is not read: Recording.open says which edgeops wrote it, and a recorder moves it aside.
# 3: ticks of version 2 (residuals by counter, traffic counters to a precision, idle rows as a bit). An older
# edgeops reading a format-3 file is told it is newer rather than finding every tick damaged.
RECORDING_FORMAT_VERSION = 3
OLDEST_READABLE_FORMAT = 2  # format 2's ticks (version 1) are still read
APP_ID = "edgeops-recording"
RECORDING_FILE = "recording.sqlite"
PAGE_SIZE = 1024
SQLITE_MAGIC = b"SQLite format 3\x00"


class BatchKind(IntEnum):
    """What a row of `batches` holds."""

    EVENTS = 0  # the events of every device in one commit: a tick (recording/coding.py); device is ''
    KEYFRAME = 1  # one device's whole state as events, at the keyframe's time
    COMMANDS = 2  # the commands one device ran in one tick (apart, so that listing commands reads only them)


class Resolution(IntEnum):
    """How much of its events a batch still holds."""

    FULL = 0
    REDUCED = 1  # past the full-resolution window: counters and data marks removed (the rollups keep the series),
    # written as a plain event batch (encode_events) that needs no chain


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    t0 REAL NOT NULL,
    t1 REAL NOT NULL,
    device TEXT NOT NULL,
    kind INTEGER NOT NULL,
    resolution INTEGER NOT NULL DEFAULT 0,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_t1 ON batches (t1);
CREATE INDEX IF NOT EXISTS batches_device ON batches (device, t1);
-- A keyframe holds every event of the batches up to last_id: a seek applies it, then the batches after last_id.
CREATE TABLE IF NOT EXISTS keyframes (time REAL PRIMARY KEY, last_id INTEGER NOT NULL);
-- One device's one-minute rollups (low, mean, high, count of every series that was not zero all minute), as a
-- zlib-compressed msgpack map {port: {metric: [low, mean, high, count]}}; a minute may have more than one row.
CREATE TABLE IF NOT EXISTS rollups (device TEXT NOT NULL, minute REAL NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS rollups_device ON rollups (device, minute);
CREATE INDEX IF NOT EXISTS rollups_minute ON rollups (minute);
"""


class RecordingProblem(StrEnum):
    """Why a file cannot be read as a recording (or only in part)."""

    NOT_A_RECORDING = "not-a-recording"
    NEWER_VERSION = "newer-version"
    OLDER_VERSION = "older-version"  # written by an edgeops whose format this one no longer reads
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"


class RecordingError(Exception):
    """A recording that cannot be read as a whole: `code` says why. `salvaged` is the part that could be read (a
    recording of its own, in memory), or None when nothing could."""

    def __init__(self, code: RecordingProblem, message: str, *, salvaged: Recording | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.salvaged = salvaged

    def __str__(self) -> str:
        return self.message


class Metric(StrEnum):
    """A series of the timeline: interface rates (per second) and device health."""

    IN_BPS = "in-bps"
    OUT_BPS = "out-bps"
    IN_PPS = "in-pps"
    OUT_PPS = "out-pps"
    IN_ERRORS = "in-errors"  # per second
    OUT_ERRORS = "out-errors"
    IN_DISCARDS = "in-discards"
    OUT_DISCARDS = "out-discards"
    CPU = "cpu"  # percent
    MEMORY = "memory"  # bytes used
    TEMPERATURE = "temperature"  # degrees Celsius; the sensor is the series' port


# The interface metrics in InterfaceCounters order, with the factor from the counter's rate (octets to bits).
INTERFACE_METRICS: tuple[tuple[Metric, float], ...] = (
    (Metric.IN_BPS, 8.0),
    (Metric.OUT_BPS, 8.0),
    (Metric.IN_PPS, 1.0),
    (Metric.OUT_PPS, 1.0),
    (Metric.IN_ERRORS, 1.0),
    (Metric.OUT_ERRORS, 1.0),
    (Metric.IN_DISCARDS, 1.0),
    (Metric.OUT_DISCARDS, 1.0),
)


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One step of a series: the lowest, mean and highest value in [time, time + step)."""

    time: float
    low: float
    mean: float
    high: float
    count: int


def connect_writer(path: str, *, max_page_count: int | None = None) -> sqlite3.Connection:
    """The writer's connection: WAL (readers never wait for it, a crash loses only uncommitted batches),
    synchronous NORMAL (a commit is durable against a process kill, the WAL is synced at checkpoints)."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
    # Small pages for a new file: a tick or rollup row is a few kB and overflows its page, and half of its last
    # page stays unused (4 kB pages left 15 % of the file unused; 1 kB pages a quarter of that).
    connection.execute(f"PRAGMA page_size={PAGE_SIZE}")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    if max_page_count is not None:
        connection.execute(f"PRAGMA max_page_count={int(max_page_count)}")
    connection.executescript(SCHEMA)
    return connection
