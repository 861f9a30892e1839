"""The fleet state store: the single source of truth the console and the command runner read.

Device workers write samples and session states into it on the asyncio loop; the UI polls it
(at most a few times a second) for what changed and reads immutable snapshots. Writes only
update small mutable records in place; frozen snapshots are built (and cached) when read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from itertools import islice
from typing import Any, cast

from edgeops.clock import Clock
from edgeops.defaults import STALE_FACTOR
from edgeops.devices.gnmi_paths import StreamMode, SubscriptionSpec
from edgeops.devices.interface_rows import COUNTERS_AT, InterfaceBatch
from edgeops.devices.samples import (
    Alarm,
    DeviceState,
    HealthSample,
    InterfaceCounters,
    SessionState,
    Severity,
    TelemetrySource,
    Transport,
)
from edgeops.devices.subscriptions import GROUP_ORDER, GroupRejection, SubscriptionState
from edgeops.fleet.history import DEFAULT_RESOLUTION_S, Aggregate, RollingSeries
from edgeops.fleet.rates import InterfaceRates, InterfaceRateTracker
from edgeops.fleet.state import derive_device_state
from edgeops.inventory.model import Device, Inventory
from edgeops.naming import natural_key

SEVERITY_ORDER: tuple[Severity, ...] = (Severity.CRITICAL, Severity.MAJOR, Severity.MINOR, Severity.WARNING)
_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITY_ORDER)}

_DOWN_STATES = frozenset({DeviceState.DOWN, DeviceState.UNREACHABLE})
_PROBLEM_STATES = frozenset({DeviceState.AUTH_FAILED, DeviceState.HOSTKEY_MISMATCH})
_CONNECTED_STATES = frozenset({DeviceState.UP, DeviceState.DEGRADED})
_HEALTH_FIELDS = tuple(f.name for f in fields(HealthSample) if f.name != "device")

# (unix time, in_bps, out_bps) and (unix time, cpu %), oldest first.
_TrafficHistory = tuple[tuple[float, float | None, float | None], ...]
_CpuHistory = tuple[tuple[float, float | None], ...]


def alarm_sort_key(alarm: Alarm) -> tuple[int, bool, float, str, str]:
    """Most severe first; within a severity the newest first (unknown times last)."""
    raised = alarm.raised_at
    return (
        _SEVERITY_RANK.get(alarm.severity, len(SEVERITY_ORDER)),
        raised is None,
        -(raised or 0.0),
        alarm.device,
        alarm.alarm_id,
    )


# ---------------------------------------------------------------------------------------------
# What readers get: immutable snapshots.


@dataclass(frozen=True, slots=True)
class InterfaceSnapshot:
    device: str
    name: str
    description: str | None
    admin_state: str | None
    oper_state: str | None
    speed_bps: int | None
    last_change: float | None  # unix time of the last oper-state change
    counters: InterfaceCounters
    rates: InterfaceRates
    history: _TrafficHistory  # one point per history bucket with data
    last_update: float | None  # unix time the store last received data for this interface
    stale: bool


@dataclass(frozen=True, slots=True)
class DeviceSnapshot:
    device: Device
    state: DeviceState
    state_since: float | None  # unix time the derived state last changed (None: never)
    ssh: SessionState
    ssh_detail: str
    gnmi: SessionState
    gnmi_detail: str
    telemetry_source: str | None  # "gnmi", "ssh" or None
    expected_interval_s: float | None
    # All HealthSample fields merged over time (None: never reported); alarms as in `alarms`.
    health: HealthSample | None
    uptime_s: float | None
    alarms: tuple[Alarm, ...]
    interface_count: int
    last_update: float | None  # unix time of the latest sample of any kind
    age_s: float | None  # seconds since then
    stale: bool
    cpu_history: _CpuHistory

    @property
    def name(self) -> str:
        return self.device.name

    @property
    def site(self) -> str:
        return self.device.site


@dataclass(frozen=True, slots=True)
class SubscriptionStatus:
    """One subscription group of one device as the supervisor last reported it (see SubscriptionState).

    `rejection` is the device's latest refusal of the group under the software it runs now (`release`): it stays
    while the group is retried or polled over SSH, and goes once the device serves the group (or was upgraded).
    """

    device: str
    group: str  # "counters", "oper-state", "health", "alarms"
    paths: tuple[str, ...]
    mode: str  # a StreamMode value: "sample", "on-change", "target-defined"
    interval_s: float  # the interval the device samples at; 0 for on-change
    state: SubscriptionState  # STALE is judged at read time, like the device's staleness
    since: float | None  # unix time of the last state change (None: never reported)
    last_data: float | None  # unix time the group last delivered data (over gNMI or SSH polling)
    age_s: float | None  # seconds since then
    rejection: GroupRejection | None
    release: str  # what the device runs (Capabilities), "" before the first gNMI session

    @property
    def error(self) -> str:
        """The device's own error text ("" when it never refused the group)."""
        return self.rejection.text if self.rejection is not None else ""


@dataclass(frozen=True, slots=True)
class AlarmCounts:
    critical: int = 0
    major: int = 0
    minor: int = 0
    warning: int = 0

    @property
    def total(self) -> int:
        return self.critical + self.major + self.minor + self.warning

    def count(self, severity: Severity) -> int:
        return int(getattr(self, Severity(severity).name.lower()))


@dataclass(frozen=True, slots=True)
class SiteRollup:
    """Counts for one site. down includes unreachable; problems are auth failures and host-key mismatches.

    `stale` counts connected (up or degraded) devices whose data stopped arriving: the failure
    the state alone does not show. total = up + degraded + down + connecting + problems.
    """

    code: str
    name: str
    total: int
    up: int
    degraded: int
    down: int
    connecting: int
    problems: int
    stale: int
    alarms: AlarmCounts


@dataclass(frozen=True, slots=True)
class FleetRollup:
    """The SiteRollup counts across all sites, plus how fresh the newest telemetry is."""

    sites: int
    total: int
    up: int
    degraded: int
    down: int
    connecting: int
    problems: int
    stale: int
    alarms: AlarmCounts
    latest_update: float | None  # unix time of the newest sample from any device
    latest_age_s: float | None


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What changed between a reader's version and `version`.

    devices: device-level data changed (session state, health, alarms, staleness, settings).
    interfaces: (device, interface) whose data changed. An interface update also moves its
    device's last_update / age, but that alone does not put the device in `devices`.
    sites: sites whose rollup may have changed (the sites of `devices`).
    structure: interfaces appeared, so lists must be rebuilt rather than patched.
    full: the reader's version was too old to say; redraw everything (all sets are complete).
    """

    version: int
    devices: frozenset[str] = frozenset()
    interfaces: frozenset[tuple[str, str]] = frozenset()
    sites: frozenset[str] = frozenset()
    structure: bool = False
    full: bool = False

    @property
    def empty(self) -> bool:
        return not (self.devices or self.interfaces or self.sites or self.structure or self.full)

    def interfaces_of(self, device: str) -> frozenset[str]:
        """Names of the changed interfaces of one device."""
        return frozenset(name for dev, name in self.interfaces if dev == device)


# ---------------------------------------------------------------------------------------------
# What writers update: small mutable records.


class _InterfaceRecord:
    __slots__ = (
        "admin_state",
        "description",
        "device",
        "history",
        "key",
        "last_change",
        "name",
        "oper_state",
        "reported_stale",
        "snapshot",
        "snapshot_bucket",
        "speed_bps",
        "tracker",
        "updated",
    )

    def __init__(self, device: str, name: str) -> None:
        self.device = device
        self.name = name
        self.key = (device, name)
        self.description: str | None = None
        self.admin_state: str | None = None
        self.oper_state: str | None = None
        self.speed_bps: int | None = None
        self.last_change: float | None = None
        self.tracker = InterfaceRateTracker()
        self.history: RollingSeries | None = None
        self.updated = 0.0  # monotonic time of the last sample
        self.reported_stale = False  # the staleness last announced in the change log
        self.snapshot: InterfaceSnapshot | None = None
        self.snapshot_bucket = 0


class _GroupRecord:
    """One subscription group of a device (written by the supervisor; see FleetStore.set_subscriptions)."""

    __slots__ = (
        "group",
        "interval_s",
        "mode",
        "paths",
        "rejection",
        "release",
        "reported_stale",
        "since",
        "state",
        "updated",
    )

    def __init__(self, group: str) -> None:
        self.group = group
        self.paths: tuple[str, ...] = ()
        self.mode = StreamMode.SAMPLE.value
        self.interval_s = 0.0
        self.state = SubscriptionState.PENDING
        self.since: float | None = None  # unix time
        self.updated: float | None = None  # monotonic time of the latest data
        self.rejection: GroupRejection | None = None
        self.release = ""
        self.reported_stale = False

    def stale(self, now: float, stale_factor: float) -> bool:
        """A live sampled group whose data stopped coming. On-change and target-defined groups may be silent for
        good reason (nothing changed), so they are never judged stale."""
        if self.state is not SubscriptionState.LIVE or self.mode != _SAMPLE or self.updated is None:
            return False
        return now - self.updated > stale_factor * self.interval_s


class _DeviceRecord:
    __slots__ = (
        "alarms",
        "batch_keys",
        "batch_names",
        "cpu",
        "cpu_points",
        "cpu_points_bucket",
        "device",
        "expect_since",
        "gnmi",
        "gnmi_detail",
        "groups",
        "health",
        "interfaces",
        "interval",
        "name",
        "order",
        "reported_stale",
        "site",
        "ssh",
        "ssh_detail",
        "state",
        "state_since",
        "telemetry_source",
        "updated",
    )

    def __init__(self, device: Device, cpu: RollingSeries, now_mono: float) -> None:
        self.device = device
        self.name = device.name
        self.site = device.site
        self.ssh = SessionState.IDLE
        self.ssh_detail = ""
        # A device without a gNMI port is polled over SSH: its gNMI is unavailable, not failing.
        self.gnmi = SessionState.IDLE if device.gnmi_port is not None else SessionState.UNAVAILABLE
        self.gnmi_detail = ""
        self.state = derive_device_state(self.ssh, self.gnmi)
        self.state_since: float | None = None
        self.telemetry_source: str | None = None
        self.interval: float | None = None
        self.expect_since = now_mono  # staleness baseline while no data has arrived
        self.health: HealthSample | None = None
        self.alarms: tuple[Alarm, ...] = ()
        self.cpu = cpu
        self.cpu_points: _CpuHistory | None = None
        self.cpu_points_bucket = 0
        self.updated: float | None = None  # monotonic time of the latest sample of any kind
        self.interfaces: dict[str, _InterfaceRecord] = {}
        # The interface names of the latest batch and their change-log entry (see apply_interfaces).
        self.batch_names: frozenset[str] = frozenset()
        self.batch_keys: frozenset[tuple[str, str]] = frozenset()
        self.order: tuple[str, ...] | None = ()  # interface names in natural order; None: re-sort
        self.reported_stale = False
        self.groups: dict[str, _GroupRecord] = {}  # subscription groups, in GROUP_ORDER once declared


_STRUCTURE = object()  # change-log marker: the set of interfaces changed
# One entry per version step: a device name, an interface key, a frozenset of interface keys (one notification's
# batch) or _STRUCTURE.
_ChangeEntry = str | tuple[str, str] | frozenset[tuple[str, str]] | object

_TELEMETRY_SOURCES = ("gnmi", "ssh", None)
_SAMPLE = StreamMode.SAMPLE.value


def _group_rank(name: str) -> tuple[int, str]:
    return (GROUP_ORDER.index(name) if name in GROUP_ORDER else len(GROUP_ORDER), name)


class FleetStore:
    """Latest state of every device and interface, with rates, history, alarms and a change log.

    Writers are called by device workers on the event loop and never await, so no locks are
    needed. Readers are cheap and return immutable snapshots the UI may keep.

    Staleness: with an expected interval set for a device, its data (and each interface's) is
    stale once nothing arrived for `stale_factor` x interval. Snapshots compute it at read time;
    `refresh_staleness()`, called periodically by the owner, turns transitions into changes.
    """

    def __init__(
        self,
        inventory: Inventory,
        clock: Clock,
        *,
        history_seconds: float = 600.0,
        history_resolution_s: float = DEFAULT_RESOLUTION_S,
        stale_factor: float = STALE_FACTOR,
        change_log_size: int = 65_536,
    ) -> None:
        if stale_factor <= 0:
            raise ValueError("stale_factor must be positive")
        self._inventory = inventory
        self._clock = clock
        self._history_seconds = float(history_seconds)
        self._resolution = float(history_resolution_s)
        self._stale_factor = float(stale_factor)
        now_mono = clock.monotonic()
        self._devices: dict[str, _DeviceRecord] = {}
        for device in inventory.devices:
            if device.name in self._devices:
                raise ValueError(f"device {device.name!r} appears twice in the inventory")
            cpu = RollingSeries(1, seconds=self._history_seconds, resolution_s=self._resolution)
            self._devices[device.name] = _DeviceRecord(device, cpu, now_mono)
        self._site_names: dict[str, str] = {site.code: site.name for site in inventory.sites}
        self._site_devices: dict[str, list[_DeviceRecord]] = {code: [] for code in self._site_names}
        for record in self._devices.values():
            self._site_names.setdefault(record.site, record.site)
            self._site_devices.setdefault(record.site, []).append(record)
        # Version 1 is the store as built; a reader starting from 0 gets everything (full=True).
        self._version = 1
        self._log: deque[_ChangeEntry] = deque(maxlen=change_log_size)
        self._all_alarms: tuple[Alarm, ...] | None = ()

    # -----------------------------------------------------------------------------------------
    # Writers

    def apply_interfaces(self, batch: InterfaceBatch) -> None:
        """Merge a batch of (possibly partial) interface rows: None fields keep their last value.

        The whole batch is one change (one version step): a device's notification carries all its interfaces,
        and readers ask what changed a few times a second.
        """
        rows = batch.rows
        if not rows:
            return
        record_of = self._devices[batch.device]
        timestamp = batch.timestamp
        interfaces = record_of.interfaces
        now = self._clock.monotonic()
        apply_row = self._apply_row
        record: _InterfaceRecord | None = None
        for name, row in rows.items():
            record = interfaces.get(name)
            if record is None:
                record = self._add_interface(record_of, name)
            apply_row(record, timestamp, row, now)
        record_of.updated = now
        self._version += 1
        if len(rows) == 1:
            assert record is not None
            self._log.append(record.key)
        else:
            # A device sends the same interfaces in every notification: the change-log entry is made once and
            # shared, so the log does not fill the heap with lists that live until the log forgets them.
            if rows.keys() != record_of.batch_names:
                record_of.batch_names = frozenset(rows)
                record_of.batch_keys = frozenset((record_of.name, name) for name in rows)
            self._log.append(record_of.batch_keys)
        if record_of.reported_stale:
            record_of.reported_stale = False
            self._changed(record_of.name)

    def _apply_row(self, record: _InterfaceRecord, timestamp: float, row: Sequence[Any], now: float) -> None:
        admin_state, oper_state, description, speed_bps, last_change = row[:COUNTERS_AT]
        if description is not None:
            record.description = description
        if admin_state is not None:
            record.admin_state = admin_state
        if oper_state is not None:
            record.oper_state = oper_state
        if speed_bps is not None:
            record.speed_bps = speed_bps
        if last_change is not None:
            record.last_change = last_change
        tracker = record.tracker
        if tracker.apply_counters(timestamp, row, COUNTERS_AT):
            history = record.history
            if history is None:
                # Traffic in 16-bit log-scale codes (within 0.024 %): half the memory, for a sparkline's needs.
                history = record.history = RollingSeries(
                    2, seconds=self._history_seconds, resolution_s=self._resolution, compact=True
                )
            rates = tracker.rates_now
            in_rate, out_rate = rates[0], rates[1]
            history.record(
                now, None if in_rate is None else in_rate * 8.0, None if out_rate is None else out_rate * 8.0
            )
        record.updated = now
        record.reported_stale = False  # announced by this very change
        record.snapshot = None

    def apply_health(self, sample: HealthSample) -> None:
        """Merge one (possibly partial) health sample; its alarms, when present, replace the device's."""
        device = self._devices[sample.device]
        now = self._clock.monotonic()
        if sample.alarms is not None:
            alarms = tuple(sorted(sample.alarms, key=alarm_sort_key))
            if alarms != device.alarms:
                device.alarms = alarms
                self._all_alarms = None
        previous = device.health
        if previous is None:
            merged = replace(sample, alarms=device.alarms)
        else:
            present = {name: value for name in _HEALTH_FIELDS if (value := getattr(sample, name)) is not None}
            present["alarms"] = device.alarms
            merged = replace(previous, **present)
        device.health = merged
        if sample.cpu_pct is not None:
            device.cpu.record(now, sample.cpu_pct)
            device.cpu_points = None
        device.updated = now
        device.reported_stale = False
        self._changed(device.name)

    def set_session(self, device: str, transport: Transport, state: SessionState, detail: str = "") -> None:
        """Record the state of one transport; `detail` is shown next to it (e.g. the last error)."""
        record = self._devices[device]
        state = SessionState(state)
        if transport == "ssh":
            if record.ssh == state and record.ssh_detail == detail:
                return
            record.ssh = state
            record.ssh_detail = detail
        elif transport == "gnmi":
            if record.gnmi == state and record.gnmi_detail == detail:
                return
            record.gnmi = state
            record.gnmi_detail = detail
        else:
            raise ValueError(f"unknown transport {transport!r} (expected 'ssh' or 'gnmi')")
        derived = derive_device_state(record.ssh, record.gnmi)
        if derived != record.state:
            record.state = derived
            record.state_since = self._clock.now()
        self._changed(record.name)

    def set_telemetry_source(self, device: str, source: TelemetrySource | None) -> None:
        """Where the device's telemetry comes from now: "gnmi", "ssh" (polling) or None (nowhere)."""
        if source not in _TELEMETRY_SOURCES:
            raise ValueError(f"unknown telemetry source {source!r} (expected 'gnmi', 'ssh' or None)")
        record = self._devices[device]
        if record.telemetry_source == source:
            return
        record.telemetry_source = source
        if source is not None:
            record.expect_since = self._clock.monotonic()
        self._changed(record.name)

    def set_expected_interval(self, device: str, seconds: float | None) -> None:
        """How often the device's data should refresh (None: do not judge staleness)."""
        if seconds is not None and seconds <= 0:
            raise ValueError(f"expected interval must be positive, got {seconds}")
        record = self._devices[device]
        if record.interval == seconds:
            return
        record.interval = seconds
        record.expect_since = self._clock.monotonic()
        self._changed(record.name)

    def set_subscriptions(self, device: str, groups: Sequence[SubscriptionSpec], release: str) -> None:
        """The subscription groups a device's session asks for now (paths, mode, the interval the device really
        samples at), each pending, or no-paths when it has none. A group's rejection is kept while the device
        runs the same `release` (it is retried), and forgotten when the release changed."""
        record = self._devices[device]
        now = self._clock.now()
        declared: dict[str, _GroupRecord] = {}
        for spec in sorted(groups, key=lambda spec: _group_rank(spec.name)):
            group = record.groups.get(spec.name) or _GroupRecord(spec.name)
            if release and group.release != release:
                group.rejection = None
            group.release = release or group.release
            group.paths = tuple(spec.paths)
            group.mode = spec.mode.value
            group.interval_s = spec.interval_s if spec.mode is not StreamMode.ON_CHANGE else 0.0
            state = SubscriptionState.PENDING if spec.paths else SubscriptionState.NO_PATHS
            if group.state is not state or group.since is None:
                group.state = state
                group.since = now
            group.reported_stale = False
            declared[spec.name] = group
        record.groups = declared
        self._changed(record.name)

    def set_subscription_state(
        self, device: str, group: str, state: SubscriptionState, rejection: GroupRejection | None = None
    ) -> None:
        """A group's new state. `rejection`: why the device refused it (kept while the group is retried or
        polled); a group that comes live drops its rejection: the device serves it now."""
        record = self._devices[device]
        entry = record.groups.get(group)
        if entry is None:
            raise KeyError(f"{device} has no subscription group {group!r} (declare it with set_subscriptions)")
        state = SubscriptionState(state)
        if state is SubscriptionState.STALE:
            raise ValueError("staleness is judged by the store from the data's age, not set")
        if rejection is not None:
            entry.rejection = rejection
        elif state is SubscriptionState.LIVE:
            entry.rejection = None
        if entry.state is not state:
            entry.state = state
            entry.since = self._clock.now()
        entry.reported_stale = False
        self._changed(record.name)

    def subscription_data(self, device: str, group: str) -> None:
        """Data arrived for a group (every notification, so it stays cheap: no change is logged unless the group
        was shown stale; readers see the data's age when they look)."""
        record = self._devices[device]
        entry = record.groups.get(group)
        if entry is None:
            return
        entry.updated = self._clock.monotonic()
        if entry.reported_stale:
            entry.reported_stale = False
            self._changed(record.name)

    def refresh_staleness(self) -> frozenset[str]:
        """Announce staleness transitions as changes; returns the devices where anything turned.

        Call it periodically (e.g. once a second). Fresh data clears staleness at once without it.
        """
        now = self._clock.monotonic()
        turned: set[str] = set()
        for device in self._devices.values():
            stale = self._device_stale(device, now)
            if stale != device.reported_stale:
                device.reported_stale = stale
                self._changed(device.name)
                turned.add(device.name)
            for group in device.groups.values():
                stale = group.stale(now, self._stale_factor)
                if stale != group.reported_stale:
                    group.reported_stale = stale
                    self._changed(device.name)
                    turned.add(device.name)
            limit = self._stale_limit(device)
            for record in device.interfaces.values():
                stale = limit is not None and now - record.updated > limit
                if stale != record.reported_stale:
                    record.reported_stale = stale
                    self._version += 1
                    self._log.append(record.key)
                    turned.add(device.name)
        return frozenset(turned)

    # -----------------------------------------------------------------------------------------
    # Readers

    @property
    def version(self) -> int:
        """Increases on every change."""
        return self._version

    @property
    def inventory(self) -> Inventory:
        return self._inventory

    @property
    def stale_factor(self) -> float:
        return self._stale_factor

    def site_codes(self) -> tuple[str, ...]:
        """Inventory sites in order, then any site only named by a device."""
        return tuple(self._site_devices)

    def device_names(self, site: str | None = None) -> tuple[str, ...]:
        """Device names in inventory order, optionally of one site."""
        if site is None:
            return tuple(self._devices)
        return tuple(record.name for record in self._site_devices[site])

    def changes_since(self, version: int) -> ChangeSet:
        """What changed after `version` (a reader's last seen `ChangeSet.version` or `store.version`)."""
        current = self._version
        count = current - version
        if count == 0:
            return ChangeSet(current)
        if count < 0 or count > len(self._log):
            return self._everything()
        devices: set[str] = set()
        interfaces: set[tuple[str, str]] = set()
        structure = False
        for entry in islice(reversed(self._log), count):
            if type(entry) is tuple:
                interfaces.add(entry)
            elif type(entry) is frozenset:  # the interfaces of one notification
                interfaces.update(entry)
            elif type(entry) is str:
                devices.add(entry)
            else:
                structure = True
        return ChangeSet(
            version=current,
            devices=frozenset(devices),
            interfaces=frozenset(interfaces),
            sites=frozenset(self._devices[name].site for name in devices),
            structure=structure,
        )

    def device(self, name: str) -> DeviceSnapshot:
        record = self._devices[name]
        now = self._clock.monotonic()
        wall = self._clock.now()
        age = None if record.updated is None else max(0.0, now - record.updated)
        health = record.health
        boot_time = health.boot_time if health is not None else None
        return DeviceSnapshot(
            device=record.device,
            state=record.state,
            state_since=record.state_since,
            ssh=record.ssh,
            ssh_detail=record.ssh_detail,
            gnmi=record.gnmi,
            gnmi_detail=record.gnmi_detail,
            telemetry_source=record.telemetry_source,
            expected_interval_s=record.interval,
            health=health,
            uptime_s=None if boot_time is None else max(0.0, wall - boot_time),
            alarms=record.alarms,
            interface_count=len(record.interfaces),
            last_update=None if age is None else wall - age,
            age_s=age,
            stale=self._device_stale(record, now),
            cpu_history=self._cpu_points(record, now, wall),
        )

    def interfaces(self, device: str, *, with_history: bool = True) -> tuple[InterfaceSnapshot, ...]:
        """The device's interfaces in natural order (ethernet-1/2 before ethernet-1/10).

        `with_history=False` leaves `history` empty: cheaper when only rates are shown.
        """
        record = self._devices[device]
        order = record.order
        if order is None:
            order = record.order = tuple(sorted(record.interfaces, key=natural_key))
        now = self._clock.monotonic()
        wall = self._clock.now()
        limit = self._stale_limit(record)
        interfaces = record.interfaces
        return tuple(self._interface_snapshot(interfaces[name], now, wall, limit, with_history) for name in order)

    def interface(self, device: str, name: str) -> InterfaceSnapshot:
        record = self._devices[device]
        now = self._clock.monotonic()
        return self._interface_snapshot(
            record.interfaces[name], now, self._clock.now(), self._stale_limit(record), True
        )

    def interface_sparkline(
        self, device: str, name: str, width: int, *, last: int | None = None, aggregate: Aggregate = "max"
    ) -> tuple[tuple[float | None, ...], tuple[float | None, ...]]:
        """(in_bps, out_bps) over the `last` history buckets (default: the whole window), `width` wide."""
        history = self._devices[device].interfaces[name].history
        if history is None:
            return (), ()
        now = self._clock.monotonic()
        return (
            history.sparkline(width, 0, until=now, last=last, aggregate=aggregate),
            history.sparkline(width, 1, until=now, last=last, aggregate=aggregate),
        )

    def cpu_sparkline(
        self, device: str, width: int, *, last: int | None = None, aggregate: Aggregate = "max"
    ) -> tuple[float | None, ...]:
        """CPU % over the `last` history buckets (default: the whole window), `width` wide."""
        cpu = self._devices[device].cpu
        return cpu.sparkline(width, until=self._clock.monotonic(), last=last, aggregate=aggregate)

    def site_rollup(self, code: str) -> SiteRollup:
        counts = self._count(self._site_devices[code], self._clock.monotonic())
        return SiteRollup(code, self._site_names[code], *counts)

    def fleet_rollup(self) -> FleetRollup:
        now = self._clock.monotonic()
        counts = self._count(self._devices.values(), now)
        newest = max((r.updated for r in self._devices.values() if r.updated is not None), default=None)
        age = None if newest is None else max(0.0, now - newest)
        return FleetRollup(
            len(self._site_devices),
            *counts,
            latest_update=None if age is None else self._clock.now() - age,
            latest_age_s=age,
        )

    def alarms(self, device: str | None = None) -> tuple[Alarm, ...]:
        """Active alarms of one device or of the whole fleet: most severe first, then newest first."""
        if device is not None:
            return self._devices[device].alarms
        merged = self._all_alarms
        if merged is None:
            everything = [alarm for record in self._devices.values() for alarm in record.alarms]
            merged = self._all_alarms = tuple(sorted(everything, key=alarm_sort_key))
        return merged

    def subscriptions(self, device: str) -> tuple[SubscriptionStatus, ...]:
        """The device's subscription groups in GROUP_ORDER (empty until its supervisor declared them)."""
        record = self._devices[device]
        now = self._clock.monotonic()
        wall = self._clock.now()
        return tuple(self._group_snapshot(record.name, group, now, wall) for group in record.groups.values())

    def subscription(self, device: str, group: str) -> SubscriptionStatus:
        record = self._devices[device]
        return self._group_snapshot(record.name, record.groups[group], self._clock.monotonic(), self._clock.now())

    def _group_snapshot(self, device: str, group: _GroupRecord, now: float, wall: float) -> SubscriptionStatus:
        age = None if group.updated is None else max(0.0, now - group.updated)
        stale = group.stale(now, self._stale_factor)
        return SubscriptionStatus(
            device=device,
            group=group.group,
            paths=group.paths,
            mode=group.mode,
            interval_s=group.interval_s,
            state=SubscriptionState.STALE if stale else group.state,
            since=group.since,
            last_data=None if age is None else wall - age,
            age_s=age,
            rejection=group.rejection,
            release=group.release,
        )

    # -----------------------------------------------------------------------------------------
    # Internals

    def _changed(self, device: str) -> None:
        # The log tells entries apart by type (str: device, tuple: interface): always pass the
        # record's own name, never a caller's string subclass.
        self._version += 1
        self._log.append(device)

    def _add_interface(self, device: _DeviceRecord, name: str) -> _InterfaceRecord:
        record = _InterfaceRecord(device.name, name)
        device.interfaces[name] = record
        device.order = None
        self._version += 1
        self._log.append(_STRUCTURE)
        return record

    def _stale_limit(self, device: _DeviceRecord) -> float | None:
        interval = device.interval
        return None if interval is None else interval * self._stale_factor

    def _device_stale(self, device: _DeviceRecord, now: float) -> bool:
        limit = self._stale_limit(device)
        if limit is None:
            return False
        since = device.updated if device.updated is not None else device.expect_since
        return now - since > limit

    def _interface_snapshot(
        self, record: _InterfaceRecord, now: float, wall: float, limit: float | None, with_history: bool
    ) -> InterfaceSnapshot:
        stale = limit is not None and now - record.updated > limit
        bucket = int(now // self._resolution)
        cached = record.snapshot
        if cached is not None and cached.stale == stale and record.snapshot_bucket == bucket:
            return cached if with_history else replace(cached, history=())
        tracker = record.tracker
        history: _TrafficHistory = ()
        if with_history and record.history is not None:
            history = cast(_TrafficHistory, record.history.points(until=now, offset=wall - now))
        snapshot = InterfaceSnapshot(
            device=record.device,
            name=record.name,
            description=record.description,
            admin_state=record.admin_state,
            oper_state=record.oper_state,
            speed_bps=record.speed_bps,
            last_change=record.last_change,
            counters=InterfaceCounters(*tracker.values),
            rates=tracker.rates(record.speed_bps),
            history=history,
            last_update=wall - (now - record.updated),
            stale=stale,
        )
        if with_history:
            record.snapshot = snapshot
            record.snapshot_bucket = bucket
        return snapshot

    def _cpu_points(self, record: _DeviceRecord, now: float, wall: float) -> _CpuHistory:
        bucket = int(now // self._resolution)
        points = record.cpu_points
        if points is None or record.cpu_points_bucket != bucket:
            points = cast(_CpuHistory, record.cpu.points(until=now, offset=wall - now))
            record.cpu_points = points
            record.cpu_points_bucket = bucket
        return points

    def _count(
        self, records: Iterable[_DeviceRecord], now: float
    ) -> tuple[int, int, int, int, int, int, int, AlarmCounts]:
        total = up = degraded = down = connecting = problems = stale = 0
        severities = dict.fromkeys(SEVERITY_ORDER, 0)
        for record in records:
            total += 1
            state = record.state
            if state is DeviceState.UP:
                up += 1
            elif state is DeviceState.DEGRADED:
                degraded += 1
            elif state in _DOWN_STATES:
                down += 1
            elif state in _PROBLEM_STATES:
                problems += 1
            else:
                connecting += 1
            if state in _CONNECTED_STATES and self._device_stale(record, now):
                stale += 1
            for alarm in record.alarms:
                if alarm.severity in severities:
                    severities[alarm.severity] += 1
        alarms = AlarmCounts(*(severities[s] for s in SEVERITY_ORDER))
        return total, up, degraded, down, connecting, problems, stale, alarms

    def _everything(self) -> ChangeSet:
        return ChangeSet(
            version=self._version,
            devices=frozenset(self._devices),
            interfaces=frozenset(
                record.key for device in self._devices.values() for record in device.interfaces.values()
            ),
            sites=frozenset(self._site_devices),
            structure=True,
            full=True,
        )
