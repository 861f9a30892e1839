"""What the console reads of a recording, and the one place it reaches into the reader's store for its clock."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from edgeops.fleet.events import CommandRan, FleetEvent
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Inventory
from edgeops.paths import AppPaths
from edgeops.recording.reader import ReplayClock
from edgeops.recording.schema import RECORDING_FILE, Metric, SeriesPoint


class RecordingReader(Protocol):
    """The reader API the console uses (edgeops.recording.reader.Recording; tests hand a small stand-in)."""

    def span(self) -> tuple[float, float]: ...

    def store_at(self, t: float, inventory: Inventory, *, counters_of: str | None = None) -> FleetStore: ...

    def events(
        self, since: float, until: float, *, device: str | None = None, counters_of: str | None = None
    ) -> Iterable[FleetEvent]: ...

    def commands(self, since: float, until: float, *, device: str | None = None) -> Iterable[CommandRan]: ...

    def series(
        self, device: str, port: str | None, metric: Metric, since: float, until: float, step: float
    ) -> list[SeriesPoint]: ...


def store_and_clock(
    recording: RecordingReader, t: float, inventory: Inventory, *, counters_of: str | None = None
) -> tuple[FleetStore, ReplayClock]:
    """The fleet at `t` and the replay clock it reads, which the caller moves as it applies later events.

    The reader builds the store on a ReplayClock of its own and does not hand it out; it is taken from the store
    here, in one place, until `store_at` accepts the caller's clock.
    """
    store = recording.store_at(t, inventory, counters_of=counters_of)
    clock = store._clock
    if not isinstance(clock, ReplayClock):
        raise TypeError("a replayed store must run on a ReplayClock")
    return store, clock


def console_recording(paths: AppPaths) -> Path:
    """The recording a console on these paths writes (the first one; a second console writes recording-2...)."""
    return paths.state_dir / RECORDING_FILE
