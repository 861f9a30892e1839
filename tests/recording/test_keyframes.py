"""A keyframe's interface counters: each interface's last two readings, whatever sets of ports the samples carried
(the shadow keeps only the last two samples of each set)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from edgeops.devices.interface_rows import COUNTERS_AT, ROW_LENGTH, InterfaceBatch
from edgeops.fleet.events import InterfacesChanged
from edgeops.recording.keyframes import FleetShadow

PORTS = ["e1", "e2", "e3", "mgmt0"]


@st.composite
def samples(draw: st.DrawFn) -> list[InterfacesChanged]:
    out: list[InterfacesChanged] = []
    for number in range(draw(st.integers(1, 30))):
        rows: dict[str, list[object]] = {}
        for name in draw(st.lists(st.sampled_from(PORTS), unique=True, min_size=1)):
            row: list[object] = [None] * ROW_LENGTH
            if draw(st.booleans()):  # counters (some of them), or a state change only
                for index in draw(st.lists(st.integers(COUNTERS_AT, ROW_LENGTH - 1), min_size=1, unique=True)):
                    row[index] = number * 100 + index
            if draw(st.integers(0, 3)) == 0:
                row[1] = draw(st.sampled_from(["up", "down"]))
            rows[name] = row
        at = 1_767_225_600.0 + 2 * number
        out.append(InterfacesChanged("leaf1", at, InterfaceBatch("leaf1", at, rows)))
    return out


@settings(max_examples=200, deadline=None)
@given(samples())
def test_a_keyframe_has_each_interfaces_last_two_counter_readings_and_merged_state(
    sequence: list[InterfacesChanged],
) -> None:
    shadow = FleetShadow()
    expected: dict[str, list[list[object]]] = {}
    state: dict[str, list[object]] = {}
    for event in sequence:
        shadow.apply(event)
        for name, row in event.batch.rows.items():
            if any(value is not None for value in row[COUNTERS_AT:]):
                expected[name] = [*expected.get(name, [])[-1:], row[COUNTERS_AT:]]
            for index in range(COUNTERS_AT):
                if row[index] is not None:
                    state.setdefault(name, [None] * COUNTERS_AT)[index] = row[index]
    events = shadow.keyframe().get("leaf1", [])
    interface_events = [event for event in events if isinstance(event, InterfacesChanged)]
    counter_rows = [
        (name, row[COUNTERS_AT:])
        for event in interface_events
        for name, row in event.batch.rows.items()
        if any(value is not None for value in row[COUNTERS_AT:])
    ]
    got: dict[str, list[list[object]]] = {}
    for name, counters in counter_rows:
        got.setdefault(name, []).append(counters)
    # Applied in the keyframe's order the readings give each interface its two last ones, the latest last.
    assert {name: readings[-2:] for name, readings in got.items()} == expected
    assert all(len(readings) <= 2 for readings in got.values())
    merged = {
        name: row[:COUNTERS_AT]
        for event in interface_events
        for name, row in event.batch.rows.items()
        if any(value is not None for value in row[:COUNTERS_AT])
    }
    assert merged == state
