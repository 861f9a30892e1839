"""The fleet event format: round trips, the tap, the inverse, and damaged or foreign bytes."""

from __future__ import annotations

import zlib

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeops.clock import ManualClock
from edgeops.devices.gnmi_paths import StreamMode, SubscriptionSpec
from edgeops.devices.interface_rows import ROW_LENGTH, InterfaceBatch
from edgeops.devices.samples import (
    Alarm,
    CommandResult,
    ComponentStatus,
    Failure,
    HealthSample,
    SessionState,
    Severity,
    TemperatureReading,
)
from edgeops.devices.subscriptions import GroupRejection, SubscriptionState
from edgeops.fleet.events import (
    EVENT_FORMAT_VERSION,
    MAGIC,
    MAX_EVENT_OUTPUT,
    CommandRan,
    EventFormatError,
    EventFormatProblem,
    EventTap,
    ExpectedIntervalChanged,
    FleetEvent,
    HealthChanged,
    InterfacesChanged,
    SessionChanged,
    SubscriptionData,
    SubscriptionsDeclared,
    SubscriptionStateChanged,
    TelemetrySourceChanged,
    apply_event,
    decode_events,
    encode_events,
)
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Device, Inventory, Site
from edgeops.platforms import Platform

START = 1_767_225_600.0

texts = st.text(max_size=20)
times = st.floats(min_value=0, max_value=4e9, allow_nan=False)
counters = st.one_of(st.none(), st.integers(min_value=0, max_value=2**64 - 1))
rows = st.lists(
    st.one_of(st.none(), st.sampled_from(["up", "down"]), counters, times), min_size=ROW_LENGTH, max_size=ROW_LENGTH
)
batches = st.builds(InterfaceBatch, st.just("leaf1"), times, st.dictionaries(texts, rows, max_size=4))
alarms = st.builds(Alarm, texts, texts, st.sampled_from(Severity), texts, texts, st.none() | times, st.booleans())
components = st.builds(ComponentStatus, texts, texts, texts)
health = st.builds(
    HealthSample,
    st.just("leaf1"),
    times,
    st.none() | texts,
    st.none() | texts,
    st.none() | texts,
    st.none() | times,
    st.none() | st.floats(0, 100),
    st.none() | st.integers(0, 2**40),
    st.none() | st.integers(0, 2**40),
    st.none() | st.lists(st.builds(TemperatureReading, texts, st.floats(-50, 150), st.booleans())).map(tuple),
    st.none() | st.lists(components, max_size=3).map(tuple),
    st.none() | st.lists(components, max_size=3).map(tuple),
    st.none() | st.lists(alarms, max_size=3).map(tuple),
)
specs = st.builds(SubscriptionSpec, texts, st.lists(texts, max_size=3).map(tuple), st.sampled_from(StreamMode), times)
events: st.SearchStrategy[FleetEvent] = st.one_of(
    st.builds(InterfacesChanged, st.just("leaf1"), times, batches),
    st.builds(HealthChanged, st.just("leaf1"), times, health),
    st.builds(SessionChanged, texts, times, st.sampled_from(["ssh", "gnmi"]), st.sampled_from(SessionState), texts),
    st.builds(TelemetrySourceChanged, texts, times, st.sampled_from(["gnmi", "ssh", None])),
    st.builds(ExpectedIntervalChanged, texts, times, st.none() | times),
    st.builds(SubscriptionsDeclared, texts, times, st.lists(specs, max_size=3).map(tuple), texts),
    st.builds(
        SubscriptionStateChanged,
        texts,
        times,
        texts,
        st.sampled_from(SubscriptionState),
        st.none() | st.builds(GroupRejection, texts, texts, texts, times),
    ),
    st.builds(SubscriptionData, texts, times, texts),
    st.builds(
        CommandRan,
        texts,
        times,
        texts,
        st.booleans(),
        times,
        times,
        texts,
        texts,
        st.none() | st.sampled_from(Failure),
        texts,
        texts,
        texts,
        texts,
        st.booleans(),
    ),
)


@given(st.lists(events, max_size=8))
def test_every_event_survives_a_round_trip(batch: list[FleetEvent]) -> None:
    assert decode_events(encode_events(batch)) == batch


@given(st.binary(max_size=200))
@settings(max_examples=300)
def test_foreign_bytes_raise_only_the_format_error(data: bytes) -> None:
    try:
        decode_events(data)
    except EventFormatError as error:
        assert isinstance(error.code, EventFormatProblem)


@given(st.lists(events, min_size=1, max_size=4), st.data())
def test_damaged_batches_raise_only_the_format_error(batch: list[FleetEvent], data: st.DataObject) -> None:
    encoded = bytearray(encode_events(batch))
    position = data.draw(st.integers(0, len(encoded) - 1))
    if data.draw(st.booleans()):
        damaged = bytes(encoded[:position])
    else:
        encoded[position] ^= data.draw(st.integers(1, 255))
        damaged = bytes(encoded)
    try:
        decode_events(damaged)
    except EventFormatError as error:
        assert isinstance(error.code, EventFormatProblem)


@given(
    st.lists(
        st.one_of(st.none(), st.integers(-(2**63), 2**63), st.text(), st.lists(st.integers(0, 9)), st.floats()),
        max_size=6,
    )
)
def test_well_compressed_nonsense_is_corrupt(items: list[object]) -> None:
    data = MAGIC + bytes([EVENT_FORMAT_VERSION]) + zlib.compress(msgpack.packb([[0, *items]]))
    with pytest.raises(EventFormatError) as caught:
        decode_events(data)
    assert caught.value.code is EventFormatProblem.CORRUPT


def test_each_problem_has_its_code() -> None:
    good = encode_events([SubscriptionData("leaf1", START, "counters")])
    cases = {
        b"hello world": EventFormatProblem.NOT_EDGEOPS,
        b"": EventFormatProblem.NOT_EDGEOPS,
        good[:3]: EventFormatProblem.TRUNCATED,
        good[:-3]: EventFormatProblem.TRUNCATED,
        MAGIC + bytes([EVENT_FORMAT_VERSION + 1]) + good[5:]: EventFormatProblem.NEWER_VERSION,
        good[:5] + b"\x00" * 10: EventFormatProblem.CORRUPT,
        good + b"x": EventFormatProblem.CORRUPT,
    }
    for data, code in cases.items():
        with pytest.raises(EventFormatError) as caught:
            decode_events(data)
        assert caught.value.code is code, data


def _inventory() -> Inventory:
    return Inventory(
        sites=(Site("Alcalá", "alc"),),
        devices=(Device("leaf1", "alc", "leaf", Platform.SRLINUX, "7220 IXR-D2L", "127.0.1.1"),),
    )


def _drive(sink: EventTap | FleetStore, clock: ManualClock) -> None:
    """A supervisor's calls: a session comes up, groups are declared, counters and health arrive."""
    sink.set_session("leaf1", "ssh", SessionState.UP)
    sink.set_session("leaf1", "gnmi", SessionState.UP)
    sink.set_telemetry_source("leaf1", "gnmi")
    sink.set_expected_interval("leaf1", 2.0)
    sink.set_subscriptions(
        "leaf1", [SubscriptionSpec("counters", ("/interface/statistics",), StreamMode.SAMPLE, 2.0)], "v25.10.1"
    )
    sink.set_subscription_state("leaf1", "counters", SubscriptionState.LIVE)
    for step in range(5):
        clock.advance(2.0)
        row: list[object] = [None] * ROW_LENGTH
        row[1] = "up" if step != 3 else "down"
        row[5] = 1000 * step * step
        row[6] = 500 * step
        sink.apply_interfaces(InterfaceBatch("leaf1", clock.now(), {"ethernet-1/1": row}))
        sink.subscription_data("leaf1", "counters")
    alarm = Alarm("leaf1", "a1", Severity.MAJOR, "ethernet-1/1", "port down", clock.now())
    sink.apply_health(HealthSample("leaf1", clock.now(), cpu_pct=12.5, alarms=(alarm,)))


def test_applying_the_tapped_events_rebuilds_the_store() -> None:
    live_clock = ManualClock(START)
    live = FleetStore(_inventory(), live_clock)
    tap = EventTap(live, live_clock)
    seen: list[FleetEvent] = []
    tap.add_listener(seen.append)
    _drive(tap, live_clock)

    replay_clock = ManualClock(START)
    replayed = FleetStore(_inventory(), replay_clock)
    for event in decode_events(encode_events(seen)):
        replay_clock.set(event.time)
        apply_event(replayed, event)
    assert replayed.interfaces("leaf1", with_history=False) == live.interfaces("leaf1", with_history=False)
    live_device, replayed_device = live.device("leaf1"), replayed.device("leaf1")
    assert replayed_device.health == live_device.health
    assert replayed_device.alarms == live_device.alarms
    assert (replayed_device.ssh, replayed_device.gnmi, replayed_device.state) == (
        live_device.ssh,
        live_device.gnmi,
        live_device.state,
    )
    assert replayed.subscriptions("leaf1")[0].state == live.subscriptions("leaf1")[0].state
    assert {type(event) for event in seen} >= {InterfacesChanged, HealthChanged, SessionChanged, SubscriptionData}


def test_a_failing_listener_is_dropped_and_never_breaks_the_store() -> None:
    clock = ManualClock(START)
    store = FleetStore(_inventory(), clock)
    tap = EventTap(store, clock)
    calls: list[FleetEvent] = []

    def broken(event: FleetEvent) -> None:
        raise RuntimeError("listener bug")

    tap.add_listener(broken)
    tap.add_listener(calls.append)
    tap.set_session("leaf1", "ssh", SessionState.UP)
    tap.set_session("leaf1", "gnmi", SessionState.UP)
    assert store.device("leaf1").ssh is SessionState.UP
    assert len(calls) == 2  # the good listener heard both; the broken one was dropped after the first


def test_command_events_are_redacted_and_capped() -> None:
    output = "password secret123\n" + "x" * (MAX_EVENT_OUTPUT + 10)
    result = CommandResult("leaf1", "show version", output, START, START + 1.5, True)
    event = CommandRan.of(result, run_id="r1", command_id="r1.1", user="ops")
    assert "secret123" not in event.output
    assert len(event.output) == MAX_EVENT_OUTPUT and event.output_truncated
    assert (event.run_id, event.command_id, event.time) == ("r1", "r1.1", START + 1.5)
    assert decode_events(encode_events([event])) == [event]
