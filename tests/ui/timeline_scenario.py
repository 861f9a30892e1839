"""A small fleet with one port that flaps and raises an alarm, driven by a hand clock: the timeline tests' data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edgeops.clock import ManualClock
from edgeops.devices.interface_rows import InterfaceBatch
from edgeops.devices.samples import (
    Alarm,
    CommandResult,
    HealthSample,
    InterfaceSample,
    SessionState,
    Severity,
    TemperatureReading,
)
from edgeops.fleet.events import CommandRan, EventTap, FleetEvent, apply_event
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Device, Inventory, Site
from edgeops.platforms import Platform
from edgeops.recording.reader import ReplayClock

START = 1_767_225_600.0  # 2026-01-01 00:00 UTC
STEP_S = 2.0
DEVICE = "alcala-leaf1"
PORT = "ethernet-1/1"
OTHER_PORT = "ethernet-1/2"
FLAP_DOWN_AT = START + 240.0  # 00:04:00
FLAP_UP_AT = START + 300.0  # 00:05:00
ALARM_ID = f"{PORT}/oper-down-reason"
COMMAND_AT = FLAP_DOWN_AT + 20.0
COMMAND = f"show interface {PORT}"


def scenario_inventory() -> Inventory:
    device = Device(
        name=DEVICE, site="alcala", role="leaf", platform=Platform.SRLINUX, model="7220 IXR-D3L", host="127.99.1.1"
    )
    return Inventory(sites=(Site("Tecno-Alcalá", "alcala", ""),), devices=(device,))


@dataclass
class FlapScenario:
    """Traffic every 2 s on two ports; PORT goes down at FLAP_DOWN_AT (errors before it, an alarm while down) and
    comes back at FLAP_UP_AT. `run_until` moves the hand clock and feeds the store on the way."""

    inventory: Inventory = field(default_factory=scenario_inventory)
    clock: ManualClock = field(default_factory=lambda: ManualClock(START))
    store: FleetStore = field(init=False)
    octets: int = 0
    errors: int = 0

    def __post_init__(self) -> None:
        self.store = FleetStore(self.inventory, self.clock)
        self.store.set_session(DEVICE, "ssh", SessionState.UP)
        self.store.set_session(DEVICE, "gnmi", SessionState.UP)
        self.store.set_telemetry_source(DEVICE, "gnmi")
        self.store.set_expected_interval(DEVICE, STEP_S)
        self._tick()

    def run_until(self, when: float) -> None:
        while self.clock.now() + STEP_S <= when:
            self.clock.advance(STEP_S)
            self._tick()

    def _tick(self) -> None:
        batch, health = scenario_samples(self.clock.now(), self)
        self.store.apply_interfaces(batch)
        self.store.apply_health(health)


@dataclass
class _Counters:
    octets: int = 0
    errors: int = 0


def scenario_samples(now: float, counters: FlapScenario | _Counters) -> tuple[InterfaceBatch, HealthSample]:
    """The samples of the scenario's device at `now` (counters move on by one step in `counters`)."""
    down = FLAP_DOWN_AT <= now < FLAP_UP_AT
    elapsed = now - START
    # A slow ramp so the plot has a shape; nothing moves while the port is down.
    if not down:
        counters.octets += int(1_250_000 * STEP_S * (1 + (elapsed % 120) / 60))
    if FLAP_DOWN_AT - 30 <= now < FLAP_DOWN_AT:
        counters.errors += 40
    state = "down" if down else "up"
    last_change = FLAP_DOWN_AT if down else (FLAP_UP_AT if now >= FLAP_UP_AT else START - 86_400)
    samples = [
        InterfaceSample(
            DEVICE,
            PORT,
            now,
            admin_state="enable",
            oper_state=state,
            speed_bps=25_000_000_000,
            last_change=last_change,
            in_octets=counters.octets,
            out_octets=counters.octets // 3,
            in_errors=counters.errors,
            out_errors=0,
            in_discards=0,
            out_discards=0,
        ),
        InterfaceSample(
            DEVICE,
            OTHER_PORT,
            now,
            admin_state="enable",
            oper_state="up",
            speed_bps=25_000_000_000,
            last_change=START - 86_400,
            in_octets=counters.octets // 2,
            out_octets=counters.octets // 2,
        ),
    ]
    alarms: tuple[Alarm, ...] = ()
    if down:
        alarms = (
            Alarm(DEVICE, ALARM_ID, Severity.MAJOR, PORT, f"{PORT} is down, reason lower-layer-down", FLAP_DOWN_AT),
        )
    health = HealthSample(
        DEVICE,
        now,
        cpu_pct=10.0 + (elapsed % 60) / 3,
        memory_total=16 * 1024**3,
        memory_used=int((5 + (elapsed % 300) / 300) * 1024**3),
        temperatures=(TemperatureReading("control A", 42.0 + (elapsed % 100) / 50),),
        alarms=alarms,
    )
    return InterfaceBatch.of(*samples), health


def play_scenario(tap: EventTap, clock: ManualClock, until: float, tick: Callable[[], None] = lambda: None) -> None:
    """The scenario's store calls through `tap` from the clock's time to `until` (`tick` after each step)."""
    counters = _Counters()
    while clock.now() <= until:
        batch, health = scenario_samples(clock.now(), counters)
        tap.apply_interfaces(batch)
        tap.apply_health(health)
        if clock.now() == COMMAND_AT:
            output = f"{PORT} is down (lower-layer-down)\n"
            result = CommandResult(DEVICE, COMMAND, output, COMMAND_AT, COMMAND_AT + 0.4, ok=True)
            tap.emit(CommandRan.of(result, run_id="run-1"))
        tick()
        clock.advance(STEP_S)


class ScenarioRecording:
    """The scenario from START to `until` as a recording, in memory: the store's calls taken by an EventTap as fleet
    events, plus one command, read back with the reader's API (span, store_at, events, commands). A recording on disk
    is tested with the real reader in test_replay_recording.py."""

    def __init__(self, until: float) -> None:
        self.inventory = scenario_inventory()
        clock = ManualClock(START)
        tap = EventTap(FleetStore(self.inventory, clock), clock)
        events: list[FleetEvent] = []
        tap.add_listener(events.append)
        tap.set_session(DEVICE, "ssh", SessionState.UP)
        tap.set_session(DEVICE, "gnmi", SessionState.UP)
        tap.set_telemetry_source(DEVICE, "gnmi")
        tap.set_expected_interval(DEVICE, STEP_S)
        play_scenario(tap, clock, until)
        self._events = events
        self.store_at_calls = 0
        self.counters_asked: list[str | None] = []  # each store_at's counters_of

    def span(self) -> tuple[float, float]:
        return self._events[0].time, self._events[-1].time

    def store_at(self, t: float, inventory: Inventory, *, counters_of: str | None = None) -> FleetStore:
        """As the reader builds it: a fresh store on a ReplayClock, every event up to `t` applied at its time
        (every device's counters, whatever `counters_of` says: the stand-in has no chain to spare)."""
        self.store_at_calls += 1
        self.counters_asked.append(counters_of)
        clock = ReplayClock(t)
        store = FleetStore(inventory, clock)
        for event in self._events:
            if event.time > t:
                break
            clock.t = event.time
            apply_event(store, event)
        clock.t = t
        return store

    def events(
        self, since: float, until: float, *, device: str | None = None, counters_of: str | None = None
    ) -> list[FleetEvent]:
        return [
            event
            for event in self._events
            if since <= event.time <= until and (device is None or event.device == device)
        ]

    def commands(self, since: float, until: float, *, device: str | None = None) -> list[CommandRan]:
        return [e for e in self.events(since, until, device=device) if isinstance(e, CommandRan)]


async def until_ready(pilot: Any, app: Any) -> None:
    """Wait (boundedly) until the console's main screen is up and filled: before that, go_to has nothing to move."""
    for _ in range(200):
        main = app.main_screen
        if main is not None and main.ready:
            return
        await pilot.pause(0.05)
