"""The recording's tick coding: any events round-trip exactly along the chain, from any keyframe; damaged ticks raise
EventFormatError with a code and break the chain only until the next keyframe; a format-1 file is named as such."""

from __future__ import annotations

import itertools
import sqlite3
import zlib
from pathlib import Path
from typing import Any
from unittest import mock

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeops.devices.interface_rows import COUNTERS_AT, ROW_LENGTH, InterfaceBatch
from edgeops.devices.samples import HealthSample, TemperatureReading
from edgeops.fleet.events import (
    EventFormatError,
    EventFormatProblem,
    FleetEvent,
    HealthChanged,
    InterfacesChanged,
    SubscriptionData,
)
from edgeops.recording import coding
from edgeops.recording.coding import Chain
from edgeops.recording.reader import Recording
from edgeops.recording.recorder import Recorder
from edgeops.recording.schema import RecordingError, RecordingProblem

counters = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=2**64 - 1),
    st.integers(min_value=0, max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False),
)
state_values = st.one_of(st.none(), st.sampled_from(["up", "down", "enable"]), st.integers(0, 10**11))
times = st.one_of(
    st.floats(min_value=1.7e9, max_value=1.8e9),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(0, 2**40),
)


@st.composite
def rows(draw: st.DrawFn) -> list[object]:
    return [draw(state_values) for _ in range(COUNTERS_AT)] + [draw(counters) for _ in range(ROW_LENGTH - COUNTERS_AT)]


@st.composite
def device_events(draw: st.DrawFn, device: str) -> list[FleetEvent]:
    out: list[FleetEvent] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["interfaces", "health", "mark"]))
        time = draw(times)
        if kind == "interfaces":
            names = draw(st.lists(st.sampled_from(["e1", "e2", "mgmt0"]), unique=True, max_size=3))
            batch = InterfaceBatch(device, draw(times), {name: draw(rows()) for name in names})
            out.append(InterfacesChanged(device, time, batch))
        elif kind == "health":
            sample = HealthSample(
                device,
                draw(times),
                hostname=draw(st.sampled_from([None, "leaf1"])),
                cpu_pct=draw(st.one_of(st.none(), st.floats(0, 100))),
                memory_used=draw(st.one_of(st.none(), st.integers(0, 2**40))),
                temperatures=draw(st.sampled_from([None, (TemperatureReading("A", 40.0),)])),
            )
            out.append(HealthChanged(device, time, sample))
        else:
            out.append(SubscriptionData(device, time, "counters"))
    return out


ticks = st.lists(st.fixed_dictionaries({"leaf1": device_events("leaf1"), "leaf2": device_events("leaf2")}), max_size=6)


def _steady(n: int) -> list[dict[str, list[FleetEvent]]]:
    """Counters of a busy port every 2 s (with jitter in the device's timestamps) and an idle one."""
    out: list[dict[str, list[FleetEvent]]] = []
    start = 1_767_225_600.0
    for tick in range(n):
        at = start + 2 * tick + (0.003 if tick % 3 else 0.0)
        octets = 10**12 + int(250_000_000 * (at - start))
        row: list[object] = [None] * ROW_LENGTH
        row[5], row[6], row[7], row[8] = octets, octets // 3, octets // 700, octets // 2100
        idle: list[object] = [None] * COUNTERS_AT + [5, 5, 1, 1, 0, 0, 0, 0]
        batch = InterfaceBatch("leaf1", at, {"e1": row, "e2": idle})
        out.append({"leaf1": [InterfacesChanged("leaf1", at + 0.01, batch)]})
    return out


@settings(max_examples=150, deadline=None)
@given(ticks)
def test_any_ticks_round_trip_exactly_along_the_chain(sequence: list[dict[str, list[FleetEvent]]]) -> None:
    writer, reader, one_device = Chain(), Chain(), Chain()
    for tick in sequence:
        data = writer.encode(tick)
        assert reader.decode(data) == [event for events in tick.values() for event in events]
        # A reader of one device decodes only its part, along its own chain.
        assert one_device.decode(data, "leaf2") == tick["leaf2"]


@settings(max_examples=100, deadline=None)
@given(ticks)
def test_a_reader_of_one_device_decodes_what_a_reader_of_all_does_at_any_precision(
    sequence: list[dict[str, list[FleetEvent]]],
) -> None:
    writer, reader, one_device = Chain(precision_bits=4), Chain(), Chain()
    for tick in sequence:
        data = writer.encode(tick)
        everything = reader.decode(data)
        assert one_device.decode(data, "leaf2") == [event for event in everything if event.device == "leaf2"]


@settings(max_examples=60, deadline=None)
@given(ticks, ticks)
def test_a_reader_starting_at_a_keyframe_decodes_what_follows(
    before: list[dict[str, list[FleetEvent]]], after: list[dict[str, list[FleetEvent]]]
) -> None:
    writer = Chain()
    for tick in before:
        writer.encode(tick)
    keyframe = [event for tick in before for events in tick.values() for event in events]
    writer.reset(keyframe)
    reader = Chain()
    reader.reset(keyframe)
    for tick in after:
        assert reader.decode(writer.encode(tick)) == [event for events in tick.values() for event in events]


@settings(max_examples=60, deadline=None)
@given(ticks, ticks, ticks, st.sampled_from([None, 4, 12]))
def test_a_writer_after_a_keyframe_writes_what_a_new_writer_from_that_keyframe_writes(
    before: list[dict[str, list[FleetEvent]]],
    frame: list[dict[str, list[FleetEvent]]],
    after: list[dict[str, list[FleetEvent]]],
    precision: int | None,
) -> None:
    """The recorder's chain takes its ports' chains up again at each keyframe (cleared, not made anew): nothing of
    what came before the keyframe may show in what follows it, at any precision."""
    writer = Chain(precision)
    for tick in before:
        writer.encode(tick)
    keyframe = [event for tick in frame for events in tick.values() for event in events]
    writer.reset(keyframe)
    new = Chain(precision)
    new.reset(keyframe)
    for tick in after:
        assert writer.encode(tick) == new.encode(tick)


def test_steady_counters_cost_about_a_byte() -> None:
    writer, reader = Chain(), Chain()
    residuals = []
    for tick in _steady(40):
        data = writer.encode(tick)
        assert reader.decode(data) == tick["leaf1"]
        _, _, *columns = msgpack.unpackb(zlib.decompress(data[5:]))
        residuals.append([residual for column in columns for residual in column])
    # From the third sample on (a reading and a difference known) every residual fits in a byte or two, whatever
    # the jitter of the device's timestamps: the prediction follows the device's time and the packet size.
    assert all(abs(residual) < 128 for sample in residuals[2:] for residual in sample)
    assert max(residuals[0]) == 10**12  # the first is written whole


def _traffic_error(true: int, decoded: int, difference: int) -> float:
    return abs(decoded - true) / max(abs(difference), 1)


def test_traffic_counters_are_kept_to_the_precision_and_exact_at_each_keyframe() -> None:
    writer, reader, exact = Chain(precision_bits=16), Chain(), Chain()
    sequence = _steady(60)
    worst = 0.0
    sizes = {"exact": 0, "precise": 0}
    previous: list[object] | None = None
    for number, tick in enumerate(sequence):
        if number == 30:  # a keyframe: both chains start again from the whole, exact values
            keyframe = tick["leaf1"]
            writer.reset(keyframe)
            reader.reset(keyframe)
            # The same readings once more: predicted from the keyframe's exact values, so decoded exactly.
            assert reader.decode(writer.encode(tick)) == keyframe
            previous = None
            continue
        data = writer.encode(tick)
        sizes["precise"] += len(data)
        sizes["exact"] += len(exact.encode(tick))
        (decoded,) = reader.decode(data)
        assert isinstance(decoded, InterfacesChanged)
        (sent,) = tick["leaf1"]
        assert isinstance(sent, InterfacesChanged)
        true_row, row = sent.batch.rows["e1"], decoded.batch.rows["e1"]
        assert row[:COUNTERS_AT] == true_row[:COUNTERS_AT]
        assert decoded.batch.rows["e2"] == sent.batch.rows["e2"]  # idle: exact
        for index in range(COUNTERS_AT, COUNTERS_AT + 4):
            if previous is not None:
                difference = int(true_row[index]) - int(previous[index])  # type: ignore[call-overload]
                worst = max(worst, _traffic_error(int(true_row[index]), int(row[index]), difference))  # type: ignore[call-overload]
        assert row[COUNTERS_AT + 4 :] == true_row[COUNTERS_AT + 4 :]  # errors and discards: exact
        previous = true_row
    # Within half a step of 16 significant bits of one sample's difference, and cheaper than exact.
    assert worst <= 2**-16
    assert sizes["precise"] < sizes["exact"]


def test_a_version_1_tick_still_decodes() -> None:
    """Recordings written before the residuals went by counter (tick version 1) read as they did."""
    row: list[object] = [None] * ROW_LENGTH
    row[1], row[COUNTERS_AT], row[COUNTERS_AT + 1] = "up", 10**12, 5
    shape = [["e1"], [1 << 1 | 1 << COUNTERS_AT | 1 << (COUNTERS_AT + 1)]]
    item = [100, 1_767_225_600.5, 1_767_225_600.0, shape, ["up"], [10**12, 5]]
    data = b"EOTK\x01" + zlib.compress(msgpack.packb([["leaf1", item]]))
    (event,) = Chain().decode(data)
    assert isinstance(event, InterfacesChanged)
    assert event.batch.rows == {"e1": row}
    assert event.batch.timestamp == 1_767_225_600.0


@pytest.mark.parametrize(
    ("damage", "code"),
    [
        (lambda data: data[:-3], EventFormatProblem.CORRUPT),
        (lambda data: data[:5] + bytes(b ^ 0x5A for b in data[5:]), EventFormatProblem.CORRUPT),
        (lambda data: b"EOEV" + data[4:], EventFormatProblem.NOT_EDGEOPS),
        (lambda data: data[:4] + b"\x09" + data[5:], EventFormatProblem.NEWER_VERSION),
        (lambda data: b"", EventFormatProblem.NOT_EDGEOPS),
    ],
)
def test_a_damaged_tick_gives_its_code_and_breaks_the_chain_until_the_next_keyframe(damage, code) -> None:  # type: ignore[no-untyped-def]
    steady = _steady(4)
    writer, reader = Chain(), Chain()
    first = writer.encode(steady[0])
    second = writer.encode(steady[1])
    reader.decode(first)
    with pytest.raises(EventFormatError) as raised:
        reader.decode(damage(second))
    assert raised.value.code is code
    assert reader.decode(writer.encode(steady[2])) == []  # the chain is broken: nothing is guessed
    keyframe = [event for tick in steady[:3] for events in tick.values() for event in events]
    writer.reset(keyframe)
    reader.reset(keyframe)
    assert reader.decode(writer.encode(steady[3])) == steady[3]["leaf1"]


def test_a_format_1_recording_is_named_and_a_recorder_keeps_it_aside(tmp_path: Path) -> None:
    path = tmp_path / "recording.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('app', 'edgeops-recording'), ('format', '1');"
        "CREATE TABLE batches (id INTEGER PRIMARY KEY, t0 REAL, t1 REAL, device TEXT, kind INTEGER,"
        " resolution INTEGER, data BLOB);"
    )
    old.commit()
    old.close()
    with pytest.raises(RecordingError) as raised:
        Recording.open(path)
    assert raised.value.code is RecordingProblem.OLDER_VERSION
    assert "older edgeops (format 1" in str(raised.value)
    recorder = Recorder(path)
    recorder.close()
    with Recording.open(path) as recording:  # a new recording, of this format
        assert recording.span()
    with pytest.raises(RecordingError) as kept:
        Recording.open(tmp_path / "recording-format-1.sqlite")
    assert kept.value.code is RecordingProblem.OLDER_VERSION


def test_idle_rows_need_no_residual_and_keep_every_value_and_its_type() -> None:
    """A port whose counters did not move is written as one bit; a reading equal in value but not an integer
    (5.0 after 5) is not mistaken for one, and a port that wakes up is predicted from where it stopped."""
    writer, reader = Chain(precision_bits=16), Chain()
    readings: list[list[object]] = [
        [100, 50, 1, 1, 0, 0, 0, 0],
        [200, 100, 2, 2, 0, 0, 0, 0],
        [200, 100, 2, 2, 0, 0, 0, 0],  # still after moving once: not idle yet (its last differences were not 0)
        [200, 100, 2, 2, 0, 0, 0, 0],  # idle
        [200.0, 100, 2, 2, 0, 0, 0, 0],  # equal, but a float: written as it is, and its chain starts again
        [200, 100, 2, 2, 0, 0, 0, 0],
        [200, 100, 2, 2, 0, 0, 0, 0],
        [200, 100, 2, 2, 0, 0, 0, 0],  # idle again
        [900, 400, 9, 4, 0, 0, 1, 0],  # wakes up
    ]
    idle_rows = []
    for number, counters in enumerate(readings):
        at = 1_767_225_600.0 + 2 * number
        row: list[object] = [None, "up", None, None, None, *counters]
        tick = {"leaf1": [InterfacesChanged("leaf1", at, InterfaceBatch("leaf1", at, {"e1": row}))]}
        data = writer.encode(tick)
        ((decoded,),) = [reader.decode(data)]
        assert isinstance(decoded, InterfacesChanged)
        got = decoded.batch.rows["e1"]
        assert got == row and [type(value) for value in got] == [type(value) for value in row]
        _, ((_, item),), *_ = msgpack.unpackb(zlib.decompress(data[5:]))
        idle_rows.append(item[-1] != b"")
    assert idle_rows == [False, False, False, True, False, False, False, True, False]


def test_a_format_2_recording_is_still_read_and_a_recorder_starts_a_new_file_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "recording.sqlite"
    first = Recorder(path)
    first.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '2' WHERE key = 'format'")
    with Recording.open(path) as recording:  # format 2 (ticks of version 1) is read
        assert recording.span()
    Recorder(path).close()  # an older format is not appended to: it is kept aside
    with Recording.open(tmp_path / "recording-format-2.sqlite") as kept, Recording.open(path) as fresh:
        assert kept.span() and fresh.span()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone() == ("3",)


def test_a_reader_of_one_device_passes_over_the_idle_rows_of_the_others() -> None:
    writer, everything, one_device = Chain(precision_bits=12), Chain(), Chain()
    for number in range(12):
        at = 1_767_225_600.0 + 2 * number
        idle: list[object] = [None, "up", None, None, None, 5, 5, 1, 1, 0, 0, 0, 0]
        busy: list[object] = [None, "up", None, None, None, *(10**9 * number + k for k in range(8))]
        tick = {
            "leaf1": [
                InterfacesChanged("leaf1", at, InterfaceBatch("leaf1", at, {"e1": idle, "e2": busy, "e3": idle}))
            ],
            "leaf2": [InterfacesChanged("leaf2", at, InterfaceBatch("leaf2", at, {"e1": list(busy), "e2": idle}))],
        }
        data = writer.encode(tick)
        assert one_device.decode(data, "leaf2") == [
            event for event in everything.decode(data) if event.device == "leaf2"
        ]


def test_a_reading_is_never_decoded_below_the_one_before_and_a_reset_is_read_exactly() -> None:
    # A busy port (250 MB/s, kept to 12 bits of each difference) whose traffic all but stops, then is cleared (the
    # counter back to 0) and climbs again slowly: rounding must not take a reading below the last one (a replay
    # would show a reset that never happened), and the reset must be read where it happened, exactly.
    start = 1_767_225_600.0
    octets = [10**12 + 500_000_000 * n for n in range(8)]
    octets += [octets[-1] + 10, octets[-1] + 25, 0, 1_000, 2_000, 3_000]
    writer, reader = Chain(precision_bits=12), Chain()
    decoded: list[int] = []
    for number, value in enumerate(octets):
        row: list[object] = [None] * ROW_LENGTH
        row[COUNTERS_AT] = value
        at = start + 2 * number
        (event,) = reader.decode(
            writer.encode({"leaf1": [InterfacesChanged("leaf1", at, InterfaceBatch("leaf1", at, {"e1": row}))]})
        )
        assert isinstance(event, InterfacesChanged)
        reading = event.batch.rows["e1"][COUNTERS_AT]
        assert isinstance(reading, int)
        decoded.append(reading)
    reset = octets.index(0)
    assert decoded[reset:] == octets[reset:]
    assert all(later >= earlier for earlier, later in itertools.pairwise(decoded[:reset]))
    # Every reading within half a step of 12 bits of its difference (the precision's promise).
    assert all(abs(got - sent) <= 500_000_000 >> 12 for got, sent in zip(decoded, octets, strict=True))


def test_the_writer_gives_the_event_loop_its_turn_before_each_device() -> None:
    turns: list[int] = []
    ticks = _steady(1)[0]
    Chain().encode({**ticks, "leaf2": []}, between=lambda: turns.append(len(turns)))
    assert turns == [0, 1]


def _port_ticks(readings: list[tuple[float, list[Any]]]) -> list[dict[str, list[FleetEvent]]]:
    """Ticks of one device with two ports that both read `readings` ((device time, eight counters) each)."""
    sequence: list[dict[str, list[FleetEvent]]] = []
    for at, counters in readings:
        row: list[object] = [None] * COUNTERS_AT + list(counters)
        batch = InterfaceBatch("leaf1", at, {"e1": row, "e2": list(row)})
        sequence.append({"leaf1": [InterfacesChanged("leaf1", at + 0.01, batch)]})
    return sequence


@st.composite
def working_port(draw: st.DrawFn) -> list[dict[str, list[FleetEvent]]]:
    """A port at work sampled again and again: traffic that moves on (now and then cleared, wrapped, stopped or
    jumping far), errors that mostly stand still, device times mostly 2 s apart (now and then none or backwards),
    and now and then a counter missing or not an integer for a sample: the rows the writer's shortcut takes, and
    its edges."""
    at = draw(st.floats(min_value=1.7e9, max_value=1.8e9))
    values = [draw(st.integers(0, 2**64 - 1)) for _ in range(ROW_LENGTH - COUNTERS_AT)]
    readings: list[tuple[float, list[Any]]] = []
    for _ in range(draw(st.integers(2, 14))):
        at += draw(st.sampled_from([2.0, 2.0, 2.0, 2.003, 1.997, 0.0, -1.0, 1e-9, 1e6]))
        usual = draw(st.integers(0, 3)) > 0  # a sample like most: traffic moved on, errors did not
        shown: list[Any] = []
        for index, value in enumerate(values):
            traffic = index < coding.TRAFFIC_COUNTERS
            change = 0 if usual else draw(st.integers(0, 11))
            if change <= 6:
                step = draw(st.integers(1 if usual else 0, 10**9) | st.integers(1, 2**64 - 1)) if traffic else 0
            elif change == 7:
                step = draw(st.integers(0, 3))
            elif change == 8:
                step = draw(st.integers(0, 2**64 - 1))  # a jump, or a wrap past 2^64
            elif change == 9:
                value, step = 0, draw(st.integers(0, 10**4))  # cleared
            else:
                step = 0
            values[index] = (value + step) % 2**64
            # Missing from this sample, or not an integer in it (the counter goes on behind).
            shown.append(draw(st.sampled_from([None, 1.5])) if change == 10 else values[index])
        readings.append((at, shown))
    return _port_ticks(readings)


def _written(sequence: list[dict[str, list[FleetEvent]]], precision: int | None) -> tuple[list[bytes], list[Any]]:
    writer, rates = Chain(precision), []

    def sink(device: str, at: float, ports: list[str], port_rates: list[coding.PortRates]) -> None:
        # The shortcut hands a port at work its rates as a tuple, the general loop as a list: the same values.
        rates.append((device, at, ports, [list(values) for values in port_rates]))

    data = [writer.encode(tick, rates=sink) for tick in sequence]
    return data, rates


def _shortcut_writes_what_the_general_loop_writes(
    sequence: list[dict[str, list[FleetEvent]]], precision: int | None
) -> None:
    shortcut = _written(sequence, precision)
    with mock.patch.object(coding, "_traffic_moved", return_value=None):
        general = _written(sequence, precision)
    assert shortcut == general
    reader = Chain()
    for tick, data in zip(sequence, shortcut[0], strict=True):
        decoded = reader.decode(data)
        if precision is None:
            assert decoded == tick["leaf1"]


@settings(max_examples=300, deadline=None)
@given(working_port(), st.sampled_from([None, 4, 12]))
def test_the_shortcut_for_a_working_port_writes_what_the_general_loop_writes(
    sequence: list[dict[str, list[FleetEvent]]], precision: int | None
) -> None:
    _shortcut_writes_what_the_general_loop_writes(sequence, precision)


_T = 1_767_225_600.0
_QUIET = [0, 0, 0, 0]


@pytest.mark.parametrize("precision", [None, 12])
@pytest.mark.parametrize(
    "readings",
    [
        # A difference past 2^63, then a small one: the residual is below what 64 bits hold.
        [
            (_T, [5, 5, 5, 5, *_QUIET]),
            (_T + 2, [5 + 2**63 + 5, 10, 10, 10, *_QUIET]),
            (_T + 4, [2**63 + 20, 20, 20, 20, *_QUIET]),
        ],
        [
            (_T, [5, 5, 5, 5, *_QUIET]),
            (_T + 2, [10, 10, 5 + 2**63 + 5, 10, *_QUIET]),
            (_T + 4, [20, 20, 2**63 + 20, 20, *_QUIET]),
        ],
        # A small difference, then a jump past 2^63: the residual is above what 64 bits hold.
        [
            (_T, [0, 0, 0, 0, *_QUIET]),
            (_T + 2, [1000] * 4 + _QUIET),
            (_T + 4, [2**63 + 2000, 2000, 2000, 2000, *_QUIET]),
        ],
        [
            (_T, [0, 0, 0, 0, *_QUIET]),
            (_T + 2, [1000] * 4 + _QUIET),
            (_T + 4, [2000, 2000, 2000, 2**63 + 2000, *_QUIET]),
        ],
        # A counter missing from one sample: its difference then spans two samples' time, the others' one.
        [(_T + 2 * n, [1000 * n, None if n == 2 else 1000 * n, 10 * n, 10 * n, *_QUIET]) for n in range(6)],
        # Errors that moved, or were read at another time than the traffic.
        [(_T + 2 * n, [1000 * n, 1000 * n, 10 * n, 10 * n, 0, 0, 0, n // 3]) for n in range(6)],
        [(_T + 2 * n, [1000 * n, 1000 * n, 10 * n, 10 * n, 0, 0, None if n == 2 else 0, 0]) for n in range(6)],
        # Device times that stand still or go back.
        [(_T + (2 * n if n != 3 else 2), [1000 * n, 1000 * n, 10 * n, 10 * n, *_QUIET]) for n in range(6)],
    ],
)
def test_the_shortcut_stands_aside_at_the_edges(readings: list[tuple[float, list[Any]]], precision: int | None) -> None:
    _shortcut_writes_what_the_general_loop_writes(_port_ticks(readings), precision)


def test_the_shortcut_takes_the_rows_of_a_working_port() -> None:
    taken: list[bool] = []
    real = coding._traffic_moved

    def spy(*args: Any) -> Any:
        moved = real(*args)
        taken.append(moved is not None)
        return moved

    sequence = _steady(12)
    for tick in sequence:
        for event in tick["leaf1"]:
            assert isinstance(event, InterfacesChanged)
            event.batch.rows["e1"][COUNTERS_AT + 4 :] = [0, 0, 0, 0]
    with mock.patch.object(coding, "_traffic_moved", spy):
        _written(sequence, 12)
    # From the third sample on (a difference known), the busy port goes the short way.
    assert taken.count(True) >= 9
