"""The recorder and the reader with an injected clock: seeking, series, retention and downsampling, pins, a full
disk, two writers in one folder, a reader beside the writer, and files that are not whole recordings."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from edgeops.clock import ManualClock
from edgeops.devices.interface_rows import ROW_LENGTH, InterfaceBatch
from edgeops.devices.samples import Alarm, CommandResult, HealthSample, SessionState, Severity
from edgeops.fleet.events import CommandRan, EventTap, InterfacesChanged, apply_event
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Device, Inventory, Site
from edgeops.platforms import Platform
from edgeops.recording.pins import pinned_since
from edgeops.recording.reader import Recording
from edgeops.recording.recorder import Recorder, RecorderSettings, RecorderState, RecordingBusy
from edgeops.recording.schema import Metric, RecordingError, RecordingProblem

START = 1_767_225_600.0
PORT = "ethernet-1/1"


def inventory() -> Inventory:
    return Inventory(
        sites=(Site("Alcalá", "alc"),),
        devices=(
            Device("leaf1", "alc", "leaf", Platform.SRLINUX, "7220 IXR-D2L", "127.0.1.1"),
            Device("leaf2", "alc", "leaf", Platform.SRLINUX, "7220 IXR-D2L", "127.0.1.2"),
        ),
    )


class Fleet:
    """A live store behind a tap, a recorder listening, and a hand-moved clock: counters every 2 s."""

    def __init__(self, folder: Path, settings: RecorderSettings | None = None) -> None:
        self.clock = ManualClock(START)
        self.store = FleetStore(inventory(), self.clock)
        self.tap = EventTap(self.store, self.clock)
        self.recorder = Recorder.open_in(folder, clock=self.clock, settings=settings or RecorderSettings())
        self.tap.add_listener(self.recorder.listener)
        self.octets = 0
        for device in ("leaf1", "leaf2"):
            self.tap.set_session(device, "ssh", SessionState.UP)
            self.tap.set_session(device, "gnmi", SessionState.UP)

    def tick(self, *, oper: str | None = None, rate_bps: int = 8000) -> None:
        self.clock.advance(2.0)
        self.octets += rate_bps // 8 * 2
        for device in ("leaf1", "leaf2"):
            row: list[object] = [None] * ROW_LENGTH
            row[1] = oper
            row[5] = self.octets
            row[6] = self.octets // 2
            self.tap.apply_interfaces(InterfaceBatch(device, self.clock.now(), {PORT: row}))

    def run(self, seconds: float, **kwargs: object) -> None:
        """Ticks for `seconds`, committing every second tick (as the writer thread does on its own)."""
        for number in range(int(seconds // 2)):
            self.tick(**kwargs)  # type: ignore[arg-type]
            if number % 2:
                self.recorder.flush()
        self.recorder.flush()


def test_store_at_rebuilds_the_fleet_at_any_instant_across_keyframes(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path, RecorderSettings(keyframe_s=20))
    fleet.run(30, oper="up")
    fleet.tick(oper="down")
    flap = fleet.clock.now()
    alarm = Alarm("leaf1", "a1", Severity.MAJOR, PORT, "port down", flap)
    fleet.tap.apply_health(HealthSample("leaf1", flap, cpu_pct=40.0, alarms=(alarm,)))
    fleet.recorder.flush()
    snapshot = fleet.store.interfaces("leaf1", with_history=False)
    fleet.run(60, oper="up")
    fleet.recorder.close()
    with Recording.open(fleet.recorder.path) as recording:
        then = recording.store_at(flap, inventory())
        assert then.interfaces("leaf1", with_history=False) == snapshot
        assert then.interface("leaf1", PORT).oper_state == "down"
        assert then.alarms("leaf1") == (alarm,)
        later = recording.store_at(recording.span()[1], inventory())
        assert later.interface("leaf1", PORT).oper_state == "up"
        assert later.alarms("leaf1") == (alarm,)  # never cleared
        assert later.interfaces("leaf1", with_history=False) == fleet.store.interfaces("leaf1", with_history=False)
        assert later.device("leaf2").state == fleet.store.device("leaf2").state


def test_series_and_commands(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path)
    fleet.run(20, rate_bps=16000)
    result = CommandResult("leaf1", "show version", "v25.10", fleet.clock.now() - 1, fleet.clock.now(), True)
    fleet.tap.command_ran(result, "run1", "run1.1", "ops")
    fleet.recorder.close()
    with Recording.open(fleet.recorder.path) as recording:
        first, last = recording.span()
        points = recording.series("leaf1", PORT, Metric.IN_BPS, first, last, 2.0)
        assert points and {point.mean for point in points} == {16000.0}
        assert [c.run_id for c in recording.commands(first, last)] == ["run1"]
        assert isinstance(list(recording.events(first, last))[-1], CommandRan)


def test_old_spans_keep_one_minute_rollups_and_retention_drops_by_age(tmp_path: Path) -> None:
    settings = RecorderSettings(keyframe_s=60, full_resolution_s=300, max_age_s=900, maintenance_s=60)
    fleet = Fleet(tmp_path, settings)
    fleet.run(1800, rate_bps=8000)
    fleet.run(600, rate_bps=80000)
    fleet.recorder.close()
    with Recording.open(fleet.recorder.path) as recording:
        first, last = recording.span()
        # Age retention cuts from keyframe to keyframe, and past full resolution one keyframe in 10 min is kept.
        assert 900 <= last - first <= 900 + 600 + 2
        old = recording.series("leaf1", PORT, Metric.IN_BPS, first, first + 240, 60.0)
        # Older than the full-resolution window, and from the first half (8 kb/s): one-minute rollups of 30 readings.
        # (kept as the store's 16-bit log-scale codes: within 0.024 %)
        assert old and all(point.mean == pytest.approx(8000.0, rel=3e-4) for point in old)
        assert max(point.count for point in old) == 30
        # Past the full-resolution window the batches lost their counters (the rollups keep the series). Ticks are
        # reduced a keyframe interval (60 s) at a time, by maintenance every 60 s: 300 + 60 + 60 s back at most.
        counters = [
            event
            for event in recording.events(first, last - 420)
            if isinstance(event, InterfacesChanged) and event.batch.rows[PORT][5] is not None
        ]
        assert counters == []
        # Seeking where keyframes were thinned and batches reduced: the fleet is there, with its counters from the
        # keyframe (whole values).
        old_store = recording.store_at(first + 300, inventory())
        assert old_store.interface("leaf1", PORT).counters.in_octets is not None
        assert old_store.device("leaf1").ssh is SessionState.UP
        recent = recording.series("leaf1", PORT, Metric.IN_BPS, last - 60, last, 2.0)
        assert len(recent) >= 25 and recent[-1].mean == 80000.0


def test_retention_never_deletes_a_pinned_span(tmp_path: Path) -> None:
    settings = RecorderSettings(keyframe_s=60, full_resolution_s=300, max_age_s=300, maintenance_s=60)
    fleet = Fleet(tmp_path, settings)
    fleet.run(120)
    reader = Recording.open(fleet.recorder.path)
    pinned_from = reader.span()[0]
    with reader.pin(pinned_from):
        assert pinned_since(fleet.recorder.path) == pinned_from
        fleet.run(900)
        assert reader.span()[0] == pinned_from
    fleet.run(120)
    assert reader.span()[0] > pinned_from  # released: retention goes on
    reader.close()
    fleet.recorder.close()


def test_a_full_disk_pauses_the_recording_and_it_resumes_when_there_is_room(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path, RecorderSettings(max_page_count=16, maintenance_s=1e9))
    for _ in range(5000):
        fleet.run(4)
        if fleet.recorder.status.state is RecorderState.DISK_FULL:
            break
    status = fleet.recorder.status
    assert status.state is RecorderState.DISK_FULL and status.events_dropped > 0
    fleet.store.interface("leaf1", PORT)  # the store went on all along
    fleet.recorder._db.execute("PRAGMA max_page_count=100000")  # room again
    fleet.run(4)
    assert fleet.recorder.status.state is RecorderState.RECORDING
    fleet.recorder.close()
    with Recording.open(fleet.recorder.path) as recording:
        # The first commit after the pause wrote a keyframe: the fleet is whole again at the end.
        end = recording.store_at(recording.span()[1], inventory())
        assert end.interface("leaf1", PORT).counters == fleet.store.interface("leaf1", PORT).counters


def test_two_writers_in_one_folder_get_a_file_each(tmp_path: Path) -> None:
    first = Fleet(tmp_path)
    second = Fleet(tmp_path)
    assert first.recorder.path != second.recorder.path
    with pytest.raises(RecordingBusy):
        Recorder(first.recorder.path)
    first.run(10)
    second.run(10)
    first.recorder.close()
    second.recorder.close()
    for path in (first.recorder.path, second.recorder.path):
        with Recording.open(path) as recording:
            assert recording.span()[1] > recording.span()[0]
    third = Fleet(tmp_path)  # the first file is free again
    assert third.recorder.path == first.recorder.path
    third.recorder.close()


def test_a_reader_reads_while_the_writer_writes(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path)
    fleet.run(10)
    reader = Recording.open(fleet.recorder.path)
    before = reader.span()[1]
    fleet.run(10)
    assert reader.span()[1] > before
    assert reader.store_at(reader.span()[1], inventory()).interface("leaf1", PORT).counters == (
        fleet.store.interface("leaf1", PORT).counters
    )
    reader.close()
    fleet.recorder.close()


def _recorded(tmp_path: Path) -> Path:
    fleet = Fleet(tmp_path / "rec", RecorderSettings(keyframe_s=60))
    fleet.run(3000)
    fleet.recorder.close()
    copy = tmp_path / "copy.sqlite"
    connection = sqlite3.connect(fleet.recorder.path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    shutil.copy(fleet.recorder.path, copy)
    return copy


def test_a_truncated_recording_raises_and_hands_over_what_can_be_read(tmp_path: Path) -> None:
    path = _recorded(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3 + 100])
    with pytest.raises(RecordingError) as caught:
        Recording.open(path)
    assert caught.value.code is RecordingProblem.TRUNCATED
    salvaged = caught.value.salvaged
    assert salvaged is not None
    first, last = salvaged.span()
    assert last > first
    salvaged.store_at(last, inventory())


def test_a_corrupt_recording_raises_and_hands_over_what_can_be_read(tmp_path: Path) -> None:
    path = _recorded(tmp_path)
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(len(data) // 2, len(data) // 2 + 3 * page):
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError) as caught:
        Recording.open(path)
    assert caught.value.code is RecordingProblem.CORRUPT
    assert caught.value.salvaged is not None
    first, last = caught.value.salvaged.span()
    assert last > first


def test_newer_and_foreign_files(tmp_path: Path) -> None:
    path = _recorded(tmp_path)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE meta SET value = '99' WHERE key = 'format'")
    with pytest.raises(RecordingError) as caught:
        Recording.open(path)
    assert caught.value.code is RecordingProblem.NEWER_VERSION
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 100)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE t (x)")
    for foreign in (text, other, tmp_path / "missing.sqlite"):
        with pytest.raises(RecordingError) as caught:
            Recording.open(foreign)
        assert caught.value.code is RecordingProblem.NOT_A_RECORDING
    header = tmp_path / "header.sqlite"
    header.write_bytes(b"SQLite format")
    with pytest.raises(RecordingError) as caught:
        Recording.open(header)
    assert caught.value.code is RecordingProblem.TRUNCATED


def test_retention_by_size_drops_the_oldest_keyframe_intervals(tmp_path: Path) -> None:
    settings = RecorderSettings(keyframe_s=60, max_bytes=64 * 1024, maintenance_s=60)
    fleet = Fleet(tmp_path, settings)
    fleet.run(300)
    with Recording.open(fleet.recorder.path) as recording:
        assert recording.span()[0] == START  # nothing dropped while small
    fleet.run(3600)
    assert fleet.recorder.used_bytes() <= 64 * 1024 + 16 * 1024  # at most about one interval (and a page) over
    with Recording.open(fleet.recorder.path) as recording:
        first, last = recording.span()
        assert first > START + 600
        assert recording.store_at(last, inventory()).interface("leaf1", PORT).counters == (
            fleet.store.interface("leaf1", PORT).counters
        )
    fleet.recorder.close()


def test_reading_on_from_where_the_last_read_stopped_gives_what_one_read_gives(tmp_path: Path) -> None:
    """A replay playing on asks for the events since its last call: it gets what one call over the whole span
    gives, across keyframes, while the console goes on recording between the calls."""
    fleet = Fleet(tmp_path, RecorderSettings(keyframe_s=20))
    fleet.run(30, oper="up")
    with Recording.open(fleet.recorder.path) as recording:
        first, _ = recording.span()
        pieces: list[list[object]] = []
        since = first
        for number in range(30):
            fleet.run(4, oper="down" if number % 7 == 3 else "up")
            until = since + 3.0
            # Both ends count: what lies on the last call's end comes again, as it would from a new call.
            pieces.append([event for event in recording.events(since, until) if number == 0 or event.time > since])
            since = until
        fleet.recorder.close()
        whole = list(recording.events(first, since, device=None))
        fresh = Recording.open(fleet.recorder.path)
        try:
            assert [event for piece in pieces for event in piece] == list(fresh.events(first, since)) == whole
        finally:
            fresh.close()
    assert any(isinstance(event, InterfacesChanged) for piece in pieces[-5:] for event in piece)


def test_a_commits_tick_starts_no_later_than_its_commands(tmp_path: Path) -> None:
    """A command that ended before the commit's first interface sample: the batches' first times still never go
    back, so that a replay reading on never passes over a command."""
    fleet = Fleet(tmp_path)
    fleet.run(4)
    ended = fleet.clock.now() + 0.5
    fleet.clock.advance(1.0)
    fleet.tap.command_ran(
        CommandResult("leaf1", "show version", "v25.10", ended - 1, ended, True), "run1", "run1.1", "ops"
    )
    fleet.tick()  # its samples are timed after the command's end
    fleet.recorder.flush()
    fleet.recorder.close()
    with sqlite3.connect(fleet.recorder.path) as db:
        firsts = [t0 for (t0,) in db.execute("SELECT t0 FROM batches WHERE kind IN (0, 2) ORDER BY id")]
    assert firsts == sorted(firsts)
    assert ended in firsts  # the command's own batch starts at its end


def _state_of(store: FleetStore, device: str) -> list[tuple[object, ...]]:
    return [
        (s.name, s.admin_state, s.oper_state, s.speed_bps, s.last_change, s.last_update, s.stale)
        for s in store.interfaces(device, with_history=False)
    ]


def test_a_seek_for_one_devices_counters_gives_every_devices_state(tmp_path: Path) -> None:
    """A replay decodes the counters of the device on screen only: that device's rows are what a whole decoding
    gives, every other device's state fields, health (merged from partial samples) and alarms too, and the other
    devices have no counters rather than old ones. Playing on in steps gives the same."""
    fleet = Fleet(tmp_path, RecorderSettings(keyframe_s=20))
    for number in range(40):
        fleet.tick(oper="down" if number % 9 in (4, 5) else "up", rate_bps=8000 + 800 * (number % 5))
        now = fleet.clock.now()
        # Partial health samples: the store merges them field by field.
        if number % 3 == 0:
            fleet.tap.apply_health(HealthSample("leaf2", now, cpu_pct=float(number)))
        elif number % 3 == 1:
            fleet.tap.apply_health(HealthSample("leaf2", now, memory_used=1000 + number))
        if number == 20:
            alarm = Alarm("leaf2", "a1", Severity.MAJOR, PORT, "port down", now)
            fleet.tap.apply_health(HealthSample("leaf2", now, alarms=(alarm,)))
        if number % 2:
            fleet.recorder.flush()
    fleet.recorder.close()
    with Recording.open(fleet.recorder.path) as recording:
        first, last = recording.span()
        instants = [first + (last - first) * share for share in (0.1, 0.33, 0.5, 0.61, 0.8, 0.97, 1.0)]
        for t in instants:
            whole = recording.store_at(t, inventory())
            one = recording.store_at(t, inventory(), counters_of="leaf1")
            assert one.interfaces("leaf1", with_history=False) == whole.interfaces("leaf1", with_history=False)
            assert _state_of(one, "leaf2") == _state_of(whole, "leaf2")
            assert one.device("leaf2").health == whole.device("leaf2").health
            assert one.alarms() == whole.alarms()
            assert one.fleet_rollup() == whole.fleet_rollup()
            assert one.interface("leaf2", PORT).counters.in_octets is None
        assert recording.store_at(last, inventory()).device("leaf2").health.memory_used == 1000 + 37  # type: ignore[union-attr]

        # Playing on from the first instant, 3 s at a time, as ReplayPlayer does.
        since = instants[0]
        store = recording.store_at(since, inventory(), counters_of="leaf1")
        clock = store._clock
        while since < last:
            until = min(last, since + 3.0)
            for event in recording.events(since, until, counters_of="leaf1"):
                if event.time > since:
                    clock.t = max(clock.t, event.time)  # type: ignore[attr-defined]
                    apply_event(store, event)
            since = until
        clock.t = last  # type: ignore[attr-defined]
        whole = recording.store_at(last, inventory())
        assert [(s.name, s.counters, s.rates) for s in store.interfaces("leaf1", with_history=False)] == [
            (s.name, s.counters, s.rates) for s in whole.interfaces("leaf1", with_history=False)
        ]
        assert [s[:5] for s in _state_of(store, "leaf2")] == [s[:5] for s in _state_of(whole, "leaf2")]
        assert store.device("leaf2").health == whole.device("leaf2").health
        assert store.alarms() == whole.alarms()


def test_a_chain_keeps_the_device_whose_counters_it_follows(tmp_path: Path) -> None:
    """Another device's counters cannot be read on from a chain that passed over them: only a keyframe restarts it."""
    from edgeops.recording.coding import Chain

    chain = Chain()
    chain.reset([], counters_of="leaf1")
    with pytest.raises(ValueError, match="keyframe"):
        chain.decode(b"", counters_of="leaf2")
    chain.reset([])
    assert chain.counters_of is None


@pytest.mark.parametrize(("every_s", "turns"), [(1e-9, True), (0.0, False)])
def test_a_commit_gives_the_event_loop_its_turns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every_s: float, turns: bool
) -> None:
    # The recorder's thread sleeps a moment between devices once it has worked `loop_turn_every_s` at a stretch:
    # an event loop waiting for the interpreter takes it then, not a whole switch interval later.
    from edgeops.recording import recorder as recorder_module

    slept: list[float] = []
    monkeypatch.setattr(recorder_module.time, "sleep", slept.append)
    recorder = Recorder(
        tmp_path / "r.sqlite", clock=ManualClock(START), settings=RecorderSettings(loop_turn_every_s=every_s)
    )
    try:
        for number in range(50):
            row: list[object] = [None] * ROW_LENGTH
            row[-8:] = [number] * 8
            device = f"leaf{number}"
            recorder.listener(InterfacesChanged(device, START, InterfaceBatch(device, START, {"e1": row})))
        recorder.flush()
    finally:
        recorder.close()
    assert (len(slept) >= 50) is turns
    assert set(slept) <= {recorder_module.LOOP_TURN_SLEEP_S}
