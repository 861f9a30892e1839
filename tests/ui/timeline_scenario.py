"""A small fleet with one port that flaps and raises an alarm, driven by a hand clock: the timeline tests' data."""

from __future__ import annotations

from dataclasses import dataclass, field

from edgeops.clock import ManualClock
from edgeops.devices.interface_rows import InterfaceBatch
from edgeops.devices.samples import Alarm, HealthSample, InterfaceSample, SessionState, Severity, TemperatureReading
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Device, Inventory, Site
from edgeops.platforms import Platform

START = 1_767_225_600.0  # 2026-01-01 00:00 UTC
STEP_S = 2.0
DEVICE = "alcala-leaf1"
PORT = "ethernet-1/1"
OTHER_PORT = "ethernet-1/2"
FLAP_DOWN_AT = START + 240.0  # 00:04:00
FLAP_UP_AT = START + 300.0  # 00:05:00
ALARM_ID = f"{PORT}/oper-down-reason"


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
        now = self.clock.now()
        down = FLAP_DOWN_AT <= now < FLAP_UP_AT
        elapsed = now - START
        # A slow ramp so the plot has a shape; nothing moves while the port is down.
        if not down:
            self.octets += int(1_250_000 * STEP_S * (1 + (elapsed % 120) / 60))
        if FLAP_DOWN_AT - 30 <= now < FLAP_DOWN_AT:
            self.errors += 40
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
                in_octets=self.octets,
                out_octets=self.octets // 3,
                in_errors=self.errors,
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
                in_octets=self.octets // 2,
                out_octets=self.octets // 2,
            ),
        ]
        self.store.apply_interfaces(InterfaceBatch.of(*samples))
        alarms = ()
        if down:
            alarms = (
                Alarm(DEVICE, ALARM_ID, Severity.MAJOR, PORT, f"{PORT} is down, reason lower-layer-down", FLAP_DOWN_AT),
            )
        self.store.apply_health(
            HealthSample(
                DEVICE,
                now,
                cpu_pct=10.0 + (elapsed % 60) / 3,
                memory_total=16 * 1024**3,
                memory_used=int((5 + (elapsed % 300) / 300) * 1024**3),
                temperatures=(TemperatureReading("control A", 42.0 + (elapsed % 100) / 50),),
                alarms=alarms,
            )
        )
