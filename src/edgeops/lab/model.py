"""The state of one simulated device: the single model its CLI and its gNMI server both read.

Counters are integrals of a deterministic traffic profile, advanced lazily whenever someone reads
them, so the CLI and gNMI always agree on the same instant and nothing runs while nobody asks.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edgeops.inventory.model import Device
from edgeops.lab.hardware import HardwareSpec, PortSpec, hardware
from edgeops.platforms import Platform

COUNTER_MODULUS = 2**64
BURST_BUCKET_S = 10.0  # traffic bursts change every 10 s
DAY_S = 86_400.0


def stable_fraction(*parts: object) -> float:
    """A deterministic number in [0, 1) from the given parts (same everywhere, unlike hash())."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass
class TrafficProfile:
    """How busy a port is: a mean utilisation, a daily swing around it, and short bursts."""

    utilisation: float  # mean fraction of line rate, each direction
    out_ratio: float = 1.0  # out rate relative to in rate
    daily_swing: float = 0.3  # +-30 % over the day, lowest at 04:00 local
    burstiness: float = 0.25  # bursts up to +25 % in 10-second buckets
    mean_packet_bytes: int = 800
    error_ppm: float = 0.0  # in-errors per million packets
    discard_ppm: float = 0.0  # out-discards per million packets
    broadcast_share: float = 0.002
    multicast_share: float = 0.01

    @classmethod
    def steady(cls, utilisation: float, mean_packet_bytes: int = 1000) -> TrafficProfile:
        """A flat profile with exact, known rates: for tests that compare rates with the model."""
        return cls(utilisation, daily_swing=0.0, burstiness=0.0, mean_packet_bytes=mean_packet_bytes)


@dataclass
class Counters:
    """64-bit interface counters, as floats internally; read with `value()` (wrapped like a device)."""

    in_octets: float = 0.0
    out_octets: float = 0.0
    in_unicast: float = 0.0
    out_unicast: float = 0.0
    in_broadcast: float = 0.0
    out_broadcast: float = 0.0
    in_multicast: float = 0.0
    out_multicast: float = 0.0
    in_errors: float = 0.0
    out_errors: float = 0.0
    in_fcs_errors: float = 0.0
    in_discards: float = 0.0
    out_discards: float = 0.0
    carrier_transitions: float = 0.0

    @property
    def in_packets(self) -> float:
        return self.in_unicast + self.in_broadcast + self.in_multicast

    @property
    def out_packets(self) -> float:
        return self.out_unicast + self.out_broadcast + self.out_multicast

    @staticmethod
    def value(number: float) -> int:
        return int(number) % COUNTER_MODULUS


@dataclass
class SubInterface:
    index: int
    vlan: int | None
    ipv4: str | None  # "192.168.10.1/30"


@dataclass
class LabInterface:
    spec: PortSpec
    description: str
    admin_up: bool
    oper_up: bool
    profile: TrafficProfile
    last_change: float  # unix time of the last oper-state change
    flaps: int = 0
    mtu: int = 9232
    subinterfaces: list[SubInterface] = field(default_factory=list)
    counters: Counters = field(default_factory=Counters)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def speed_bps(self) -> int:
        return self.spec.speed_bps

    @property
    def passing_traffic(self) -> bool:
        return self.admin_up and self.oper_up


# What a raised alarm did to the state of a device that keeps no alarm list (SR Linux): (kind, key), kind one of
# "interface" (the port went down), "power-supply" or "fan-tray" (it failed), "temperature" (the sensor overheated).
AlarmEffect = tuple[str, str]


@dataclass
class LabAlarm:
    alarm_id: str
    severity: str  # critical / major / minor / warning
    resource: str
    text: str
    raised_at: float
    index: int = 0  # SR OS lists active alarms by (raised-time, index)
    effect: AlarmEffect | None = None  # SR Linux: the state that expresses the alarm


@dataclass
class Component:
    """A fan tray or power supply."""

    kind: str  # "fan-tray" / "power-supply"
    ident: int
    oper_up: bool = True
    detail: str = ""


@dataclass
class RouterInterface:
    """An SR OS IP interface (show router interface)."""

    name: str
    port: str  # port or SAP, e.g. "1/1/c1/1:100", "system"
    ipv4: str
    oper_up: bool = True


@dataclass
class LabLag:
    """An SR OS link aggregation group (show lag): its members are ports of the device."""

    lag_id: int
    name: str  # SR OS LAG names start with "lag-"
    members: list[str]


@dataclass
class DeviceIdentity:
    name: str
    site: str  # site code
    site_name: str
    role: str
    model: str
    platform: Platform
    host: str  # the loopback address the device listens on
    ssh_port: int
    gnmi_port: int
    username: str = "admin"
    password: str = "admin"
    serial: str = ""
    mac: str = ""
    version: str = ""  # "v25.10.1" or "C-25.10.R2"
    build: str = ""
    # Path prefixes this device's release does not serve over gNMI (an older release, see topology.older_release):
    # a Subscribe or Get naming a path under one is answered NOT_FOUND. The CLI still shows everything.
    unserved: tuple[str, ...] = ()

    def inventory_device(self, **fields: Any) -> Device:
        """This device as an inventory entry (name, site, role, platform, model, address and ports as served);
        `fields` override or add any Device field (a test server's address, gnmi_tls, credentials...)."""
        served: dict[str, Any] = {
            "name": self.name,
            "site": self.site,
            "role": self.role,
            "platform": self.platform,
            "model": self.model,
            "host": self.host,
            "ssh_port": self.ssh_port,
            "gnmi_port": self.gnmi_port,
        }
        return Device(**(served | fields))


ChangeListener = Callable[[str, str], None]  # (kind, key): ("oper-state", "ethernet-1/1"), ("alarms", "")

# Temperatures at which a sensor's alarm-status turns true (SR Linux's control module and linecard).
TEMPERATURE_ALARM_C = {"A": 80, "B": 80, "1": 85}
OVERHEAT_MARGIN_C = 4  # how far above its alarm threshold an overheated sensor reads
_PSU_RESOURCE = re.compile(r"^(?:power-supply|psu)[ -]?(\d+)$", re.IGNORECASE)
_FAN_RESOURCE = re.compile(r"^(?:fan-tray|fan)[ -]?(\d+)$", re.IGNORECASE)
_LINECARD_RESOURCE = re.compile(r"^linecard[ -]?(\d+)$", re.IGNORECASE)


class DeviceModel:
    """Everything a simulated device knows about itself, advanced lazily to the time it is read at."""

    def __init__(self, identity: DeviceIdentity, *, seed: int = 1, clock: Callable[[], float] = time.time) -> None:
        self.identity = identity
        self.hardware: HardwareSpec = hardware(identity.model)
        self.clock = clock
        self.seed = seed
        rng = random.Random(f"{seed}:{identity.name}")
        now = clock()
        # Booted between 3 and 200 days ago, so uptimes look like a real fleet's.
        self.boot_time = now - rng.uniform(3, 200) * DAY_S
        self._counters_time = now
        self._bursts: dict[str, tuple[int, float]] = {}  # per port: (burst bucket, burst factor in it)
        self.interfaces: dict[str, LabInterface] = {}
        self.router_interfaces: list[RouterInterface] = []
        self.lags: list[LabLag] = []
        self.alarms: list[LabAlarm] = []
        self.fans = [Component("fan-tray", i) for i in range(1, self.hardware.fan_trays + 1)]
        self.power_supplies = [Component("power-supply", i) for i in range(1, self.hardware.power_supplies + 1)]
        self.cpu_base = rng.uniform(6, 22)
        self.cpu_spike_until = 0.0
        self.cpu_spike_pct = 0.0
        self.memory_used_fraction = rng.uniform(0.22, 0.45)
        self.temperature_base = rng.uniform(33, 44)
        self.overheated: set[str] = set()  # sensors reading above their alarm threshold
        self.listeners: list[ChangeListener] = []
        self._alarm_seq = 0
        self._build_interfaces(rng, now)

    # -- construction -------------------------------------------------------------------------------

    def _build_interfaces(self, rng: random.Random, now: float) -> None:
        role = self.identity.role
        for index, spec in enumerate(self.hardware.ports):
            mgmt = spec.name in ("mgmt0", "A/1")
            # Uplinks and a share of access ports carry traffic; the rest are cabled but idle, or down.
            # The first ports are always cabled, so every device has live traffic to look at.
            connected = mgmt or index <= 4 or rng.random() < (0.85 if role in ("spine", "gateway") else 0.6)
            # Ports without a cable are disabled, as SR OS leaves them and operators do on SR Linux: an enabled
            # port that is down is a fault (SR Linux's derived alarms count it as one). The draw that once
            # enabled some of them is kept, so that every later draw, and so a seed's fleet, stays the same.
            if not connected:
                rng.random()
            admin_up = connected
            utilisation = 0.002 if mgmt else rng.choice((0.02, 0.05, 0.1, 0.2, 0.35, 0.5))
            if connected and rng.random() < 0.1:
                utilisation = 0.0  # cabled and up, but idle
            profile = TrafficProfile(
                utilisation=utilisation,
                out_ratio=rng.uniform(0.6, 1.4),
                daily_swing=0.0 if mgmt else 0.3,
                burstiness=0.0 if mgmt else 0.25,
                mean_packet_bytes=rng.choice((400, 700, 900, 1200)),
                error_ppm=0.02 if rng.random() < 0.08 else 0.0,
                discard_ppm=0.5 if rng.random() < 0.1 else 0.0,
            )
            description = self._description(spec, index, connected, mgmt)
            iface = LabInterface(
                spec=spec,
                description=description,
                admin_up=admin_up,
                oper_up=admin_up and connected,
                profile=profile,
                last_change=self.boot_time + rng.uniform(60, max(120.0, now - self.boot_time - 60)),
                flaps=rng.choice((0, 0, 0, 1, 2, 5)),
                mtu=1514 if mgmt else 9232,
            )
            if connected and not mgmt and index < 5:
                third = rng.randrange(0, 250)
                iface.subinterfaces.append(SubInterface(0, None, f"10.{third}.{index}.1/31"))
            self.interfaces[spec.name] = iface
        # Counters start as if the port had been counting since it last came up.
        for iface in self.interfaces.values():
            seconds = min(now - iface.last_change, 40 * DAY_S)
            if iface.passing_traffic:
                self._integrate(iface, iface.profile.utilisation, seconds)
            iface.counters.carrier_transitions = 2 * iface.flaps + 1
        if self.identity.platform.is_sros:
            self._build_router_interfaces(rng)
            self._build_lags()

    def _description(self, spec: PortSpec, index: int, connected: bool, mgmt: bool) -> str:
        if mgmt:
            return "oob-mgmt"
        if not connected:
            return ""
        site = self.identity.site
        role = self.identity.role
        if role == "leaf":
            return f"srv-rack{index % 24 + 1:02d}-{site}" if index < 40 else f"uplink to {site}-spine{index % 2 + 1}"
        if role == "spine":
            return f"to {site}-leaf{index:02d}" if index < 30 else f"to {site}-gw{index % 2 + 1}"
        return f"core-{site}-{index:02d}" if index % 3 else f"to {site}-spine{index % 2 + 1}"

    def _build_router_interfaces(self, rng: random.Random) -> None:
        self.router_interfaces.append(RouterInterface("system", "system", f"10.255.{rng.randrange(256)}.1/32"))
        for iface in self.interfaces.values():
            if iface.name == "A/1" or not iface.passing_traffic:
                continue
            if len(self.router_interfaces) > 6:
                break
            vlan = 100 + len(self.router_interfaces)
            self.router_interfaces.append(
                RouterInterface(
                    f"to-{self.identity.site}-{len(self.router_interfaces):02d}",
                    f"{iface.name}:{vlan}",
                    f"10.{rng.randrange(256)}.{rng.randrange(256)}.0/31",
                )
            )

    def _build_lags(self) -> None:
        """Two LAGs of two line-card ports each, from the last ports no IP interface uses (no randomness, so the
        rest of the device stays as it was without them)."""
        routed = {ri.port.split(":", 1)[0] for ri in self.router_interfaces}
        free = [name for name in self.interfaces if name[0].isdigit() and name not in routed]
        if len(free) < 4:
            return
        site = self.identity.site
        self.lags = [LabLag(1, f"lag-core-{site}", free[-4:-2]), LabLag(2, f"lag-access-{site}", free[-2:])]

    # -- time ---------------------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    @property
    def uptime_s(self) -> float:
        return self.now() - self.boot_time

    @staticmethod
    def _daily_wave(at: float) -> float:
        """The daily swing's shape at `at`, in [-1, 1] (the same for every port, so computed once per instant)."""
        hour = (at % DAY_S) / 3600.0
        return math.sin((hour - 10.0) / 24.0 * 2 * math.pi)

    def _burst(self, iface: LabInterface, bucket: int) -> float:
        """The port's burst factor in a burst bucket; hashing it is costly, so each port keeps its current one."""
        burstiness = iface.profile.burstiness
        if not burstiness:
            return 1.0
        cached = self._bursts.get(iface.name)
        if cached is not None and cached[0] == bucket:
            return cached[1]
        burst = 1.0 + burstiness * stable_fraction(self.seed, self.identity.name, iface.name, bucket)
        self._bursts[iface.name] = (bucket, burst)
        return burst

    def rate_factor(self, iface: LabInterface, at: float) -> float:
        """The traffic level at `at` relative to the profile's mean (daily swing times burst)."""
        daily = 1.0 + iface.profile.daily_swing * self._daily_wave(at)
        return daily * self._burst(iface, int(at // BURST_BUCKET_S))

    def nominal_in_bps(self, name: str, at: float | None = None) -> float:
        """The in-rate the profile produces at an instant (what a client's computed rate should approach)."""
        iface = self.interfaces[name]
        if not iface.passing_traffic:
            return 0.0
        at = self.now() if at is None else at
        return iface.speed_bps * iface.profile.utilisation * self.rate_factor(iface, at)

    def nominal_out_bps(self, name: str, at: float | None = None) -> float:
        return self.nominal_in_bps(name, at) * self.interfaces[name].profile.out_ratio

    def advance(self) -> float:
        """Bring every counter up to now; returns that instant. Cheap when called often."""
        now = self.now()
        start = self._counters_time
        if now <= start:
            return start
        # Integrate piecewise over burst buckets so a read at any instant is exact for the profile. The steps
        # and the daily wave are the same for every port: (seconds, bucket, wave) per step, worked out once.
        steps = []
        t = start
        while t < now:
            bucket_end = (math.floor(t / BURST_BUCKET_S) + 1) * BURST_BUCKET_S
            step_end = min(now, bucket_end)
            steps.append((step_end - t, int(t // BURST_BUCKET_S), self._daily_wave(t)))
            t = step_end
        burst_of, integrate = self._burst, self._integrate
        for iface in self.interfaces.values():
            if not (iface.admin_up and iface.oper_up):
                continue
            profile = iface.profile
            for seconds, bucket, wave in steps:
                daily = 1.0 + profile.daily_swing * wave
                integrate(iface, profile.utilisation * (daily * burst_of(iface, bucket)), seconds)
        self._counters_time = now
        return now

    @staticmethod
    def _integrate(iface: LabInterface, utilisation: float, seconds: float) -> None:
        if seconds <= 0 or utilisation <= 0:
            return
        profile = iface.profile
        c = iface.counters
        in_octets = iface.speed_bps * utilisation * seconds / 8.0
        out_octets = in_octets * profile.out_ratio
        in_pkts = in_octets / profile.mean_packet_bytes
        out_pkts = out_octets / profile.mean_packet_bytes
        c.in_octets += in_octets
        c.out_octets += out_octets
        bcast, mcast = profile.broadcast_share, profile.multicast_share
        c.in_broadcast += in_pkts * bcast
        c.in_multicast += in_pkts * mcast
        c.in_unicast += in_pkts * (1 - bcast - mcast)
        c.out_broadcast += out_pkts * bcast
        c.out_multicast += out_pkts * mcast
        c.out_unicast += out_pkts * (1 - bcast - mcast)
        errors = in_pkts * profile.error_ppm / 1e6
        c.in_errors += errors
        c.in_fcs_errors += errors
        c.out_discards += out_pkts * profile.discard_ppm / 1e6
        c.in_discards += in_pkts * profile.discard_ppm / 4e6

    # -- health -------------------------------------------------------------------------------------

    def cpu_pct(self) -> float:
        now = self.now()
        wobble = 6 * stable_fraction(self.seed, self.identity.name, "cpu", int(now // 2))
        value = self.cpu_base + wobble
        if now < self.cpu_spike_until:
            value = max(value, self.cpu_spike_pct)
        return round(min(value, 100.0), 2)

    def memory(self) -> tuple[int, int]:
        """(total, used) bytes."""
        total = self.hardware.memory_bytes
        drift = 0.01 * stable_fraction(self.seed, self.identity.name, "mem", int(self.now() // 30))
        return total, int(total * (self.memory_used_fraction + drift))

    def temperatures(self) -> list[tuple[str, int]]:
        """(sensor, celsius): control slots and linecards; the CPU spike warms the control module."""
        base = self.temperature_base + (8 if self.now() < self.cpu_spike_until else 0)
        wobble = 2 * stable_fraction(self.seed, self.identity.name, "temp", int(self.now() // 20))
        readings = [("A", round(base + wobble))]
        if self.identity.platform.is_sros:
            readings.append(("B", round(base + wobble - 2)))
        readings.append(("1", round(base + wobble + 5)))
        if self.overheated:
            readings = [
                (sensor, max(celsius, TEMPERATURE_ALARM_C[sensor] + OVERHEAT_MARGIN_C))
                if sensor in self.overheated
                else (sensor, celsius)
                for sensor, celsius in readings
            ]
        return readings

    def temperature_alarm(self, sensor: str) -> bool:
        """A sensor's alarm-status: whether it reads at or above its threshold."""
        return dict(self.temperatures()).get(sensor, 0) >= TEMPERATURE_ALARM_C.get(sensor, 85)

    # -- changes (used by fault injection and by ON_CHANGE subscriptions) ---------------------------

    def _notify(self, kind: str, key: str) -> None:
        for listener in list(self.listeners):
            listener(kind, key)

    def set_oper_state(self, name: str, up: bool) -> None:
        self.advance()
        iface = self.interfaces[name]
        if iface.oper_up == up:
            return
        iface.oper_up = up
        iface.last_change = self.now()
        iface.counters.carrier_transitions += 1
        if not up:
            iface.flaps += 1
        self._notify("oper-state", name)

    def set_description(self, name: str, text: str) -> None:
        self.interfaces[name].description = text
        self._notify("description", name)

    def reboot(self) -> None:
        """Counters to zero and a fresh boot time, as after a reload."""
        self.advance()
        now = self.now()
        self.boot_time = now
        for iface in self.interfaces.values():
            iface.counters = Counters()
            iface.last_change = now
        self._notify("reboot", "")

    def raise_alarm(self, severity: str, resource: str, text: str, alarm_id: str | None = None) -> LabAlarm:
        """Raise an alarm: an entry in SR OS's alarm list; on SR Linux, which keeps no alarm list, the state of the
        resource named (see `_express`), from which a client derives its alarm."""
        self._alarm_seq += 1
        alarm = LabAlarm(alarm_id or f"{self._alarm_seq}", severity, resource, text, self.now(), self._alarm_seq)
        if not self.identity.platform.is_sros:
            alarm.effect = self._express(resource, text)
        self.alarms.append(alarm)
        self._notify("alarms", alarm.alarm_id)
        return alarm

    def clear_alarm(self, alarm_id: str | None = None) -> None:
        cleared = [a for a in self.alarms if alarm_id is None or a.alarm_id == alarm_id]
        self.alarms = [a for a in self.alarms if alarm_id is not None and a.alarm_id != alarm_id]
        standing = {a.effect for a in self.alarms}
        for alarm in cleared:
            if alarm.effect is not None and alarm.effect not in standing:
                self._undo(alarm.effect)
                standing.add(alarm.effect)
        self._notify("alarms", alarm_id or "")

    def _express(self, resource: str, text: str) -> AlarmEffect:
        """Put an SR Linux device in the state an alarm on `resource` stands for: an interface goes down, a power
        supply or fan tray fails, a linecard overheats; anything else overheats the control module."""
        name = resource.strip()
        if name in self.interfaces:
            self.set_oper_state(name, False)
            return ("interface", name)
        for pattern, parts, kind in (
            (_PSU_RESOURCE, self.power_supplies, "power-supply"),
            (_FAN_RESOURCE, self.fans, "fan-tray"),
        ):
            match = pattern.match(name)
            if match and 1 <= int(match.group(1)) <= len(parts):
                part = parts[int(match.group(1)) - 1]
                part.oper_up = False
                part.detail = part.detail or text
                self._notify(kind, str(part.ident))
                return (kind, str(part.ident))
        match = _LINECARD_RESOURCE.match(name)
        sensor = match.group(1) if match and match.group(1) in TEMPERATURE_ALARM_C else "A"
        self.overheated.add(sensor)
        self._notify("temperature", sensor)
        return ("temperature", sensor)

    def _undo(self, effect: AlarmEffect) -> None:
        kind, key = effect
        if kind == "interface":
            self.set_oper_state(key, True)
        elif kind in ("power-supply", "fan-tray"):
            part = (self.power_supplies if kind == "power-supply" else self.fans)[int(key) - 1]
            part.oper_up = True
            part.detail = ""
            self._notify(kind, key)
        else:
            self.overheated.discard(key)
            self._notify("temperature", key)

    def fail_power_supply(self, ident: int) -> None:
        psu = self.power_supplies[ident - 1]
        psu.oper_up = False
        psu.detail = "input power lost"
        self.raise_alarm(
            "major", f"power-supply {ident}", f"Power supply {ident} failed: input power lost", f"psu-{ident}"
        )

    def cpu_spike(self, pct: float = 95.0, seconds: float = 60.0) -> None:
        self.cpu_spike_pct = pct
        self.cpu_spike_until = self.now() + seconds
        self._notify("cpu", "")
