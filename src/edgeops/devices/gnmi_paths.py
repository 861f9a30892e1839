"""What edgeops subscribes to over gNMI: one declarative path map per platform (SR Linux, SR OS, OpenConfig)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pygnmi.create_gnmi_path import gnmi_path_generator
from pygnmi.spec.v080 import gnmi_pb2

from edgeops.defaults import COUNTER_INTERVAL_S, HEALTH_INTERVAL_S
from edgeops.devices.decode import merge_groups, path_names
from edgeops.platforms import Platform


class StreamMode(StrEnum):
    SAMPLE = "sample"
    ON_CHANGE = "on-change"
    TARGET_DEFINED = "target-defined"

    @property
    def proto(self) -> int:
        return {
            StreamMode.SAMPLE: gnmi_pb2.SAMPLE,
            StreamMode.ON_CHANGE: gnmi_pb2.ON_CHANGE,
            StreamMode.TARGET_DEFINED: gnmi_pb2.TARGET_DEFINED,
        }[self]


@dataclass(frozen=True)
class SubscriptionSpec:
    """A group of paths subscribed the same way, e.g. interface counters sampled every 2 s."""

    name: str  # "counters", "oper-state", "health", "alarms"
    paths: tuple[str, ...]
    mode: StreamMode
    interval_s: float = 0.0  # SAMPLE interval; 0 lets the device pick

    def protos(self) -> list[gnmi_pb2.Subscription]:
        interval_ns = int(self.interval_s * 1_000_000_000) if self.mode is not StreamMode.ON_CHANGE else 0
        return [
            gnmi_pb2.Subscription(path=gnmi_path(path), mode=self.mode.proto, sample_interval=interval_ns)
            for path in self.paths
        ]


@dataclass(frozen=True)
class PathMap:
    """The paths of one data model family, grouped by what they tell us and how often we want it.

    Every path is one the platform's published YANG model has, with its list keys by name (tests/conformance
    checks them against the model tables).
    """

    name: str
    counters: tuple[str, ...]  # interface counters: sampled
    oper_state: tuple[str, ...]  # interface state (oper/admin/description/speed): on change
    health: tuple[str, ...]  # CPU, memory, temperatures, fans, PSUs, version, uptime: sampled slowly
    # The device's alarm list; empty where it keeps none (SR Linux): its alarms are then derived from its state.
    alarms: tuple[str, ...] = ()
    # How alarms are asked for: on change where the device promises it, else the device's choice.
    alarms_mode: StreamMode = StreamMode.ON_CHANGE
    # Groups whose leaves alarms are derived from (decode.derived_alarm), where the model keeps no alarm list.
    derived_alarm_groups: tuple[str, ...] = ()

    def subscriptions(
        self,
        *,
        counter_interval_s: float = COUNTER_INTERVAL_S,
        health_interval_s: float = HEALTH_INTERVAL_S,
    ) -> tuple[SubscriptionSpec, ...]:
        """Every group, in a fixed order. A group may have no paths (SR Linux keeps no alarm list): it is shown as
        such and never subscribed."""
        return (
            SubscriptionSpec("counters", self.counters, StreamMode.SAMPLE, counter_interval_s),
            SubscriptionSpec("oper-state", self.oper_state, StreamMode.ON_CHANGE),
            SubscriptionSpec("health", self.health, StreamMode.SAMPLE, health_interval_s),
            SubscriptionSpec("alarms", self.alarms, self.alarms_mode, health_interval_s),
        )


_MATCH_CACHE_LIMIT = 10_000


class GroupMatcher:
    """Which groups a notification of a Subscribe call carrying several groups belongs to, by its paths.

    A path belongs to the group one of whose paths it lies under (keys aside: the device names the instances the
    group's wildcards asked for); a path above a group's path (a whole container sent at once) belongs to every
    group below it. Devices send the same paths on every sample, so answers are remembered by element names, up to
    `cache_limit` of each kind (a device inventing paths must not grow them without bound). decode_notification
    asks it about the paths it walks anyway (see decode.PathGrouping); `groups_of` answers for a notification alone.
    Calls with the same groups share one matcher (`group_matcher`), so its answers are learnt once per fleet.
    """

    def __init__(self, specs: Sequence[SubscriptionSpec], *, cache_limit: int = _MATCH_CACHE_LIMIT) -> None:
        self._paths = tuple(
            (spec.name, path_names(gnmi_path(path))) for spec in specs for path in spec.paths if spec.paths
        )
        self._cache_limit = cache_limit
        self._under: dict[tuple[str, ...], str | None] = {}
        self._matches: dict[tuple[str, ...], tuple[str, ...]] = {}

    @property
    def remembered(self) -> int:
        """How many answers are remembered (of both kinds)."""
        return len(self._under) + len(self._matches)

    def group_above(self, names: tuple[str, ...]) -> str | None:
        """The group whose path `names` lies under (the longest such path), if any."""
        found = self._under.get(names, _UNSEEN)
        if found is _UNSEEN:
            best: tuple[int, str] | None = None
            for group, path in self._paths:
                if names[: len(path)] == path and (best is None or len(path) > best[0]):
                    best = (len(path), group)
            found = best[1] if best is not None else None
            if len(self._under) < self._cache_limit:
                self._under[names] = found
        return found  # type: ignore[return-value]

    def groups_at(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The groups of one path (absolute element names), sorted; () when none of the groups asked for it."""
        found = self._matches.get(names)
        if found is None:
            group = self.group_above(names)
            if group is not None:
                found = (group,)
            else:  # a container above the groups' paths: every group below it
                below = {group for group, path in self._paths if path[: len(names)] == names}
                found = tuple(sorted(below))
            if len(self._matches) < self._cache_limit:
                self._matches[names] = found
        return found

    def groups_of(self, notification: gnmi_pb2.Notification) -> tuple[str, ...]:
        """The groups a notification carries data (or deletes) of; () when none of its paths is a group's."""
        base = path_names(notification.prefix) if notification.HasField("prefix") else ()
        if base:
            group = self.group_above(base)
            if group is not None:  # the prefix decides (no update path need be looked at)
                return (group,)
        found: tuple[str, ...] = ()
        for path in (*(update.path for update in notification.update), *notification.delete):
            found = merge_groups(found, self.groups_at(base + path_names(path)))
        return found


_UNSEEN = object()


@functools.lru_cache(maxsize=64)
def group_matcher(specs: tuple[SubscriptionSpec, ...]) -> GroupMatcher:
    """The matcher of a call carrying `specs`, shared by every call with the same groups (every device of a path
    map subscribes the same way, and a reconnect asks for the same groups again)."""
    return GroupMatcher(specs)


SRLINUX_NATIVE = PathMap(
    name="srlinux-native",
    counters=("/interface[name=*]/statistics",),
    oper_state=(
        "/interface[name=*]/oper-state",
        # Present only while the interface is down; what SR Linux's derived interface alarms come from.
        "/interface[name=*]/oper-down-reason",
        "/interface[name=*]/admin-state",
        "/interface[name=*]/description",
        "/interface[name=*]/last-change",
        "/interface[name=*]/ethernet/port-speed",
    ),
    health=(
        "/platform/control[slot=*]/cpu[index=all]/total",
        "/platform/control[slot=*]/memory",
        "/platform/control[slot=*]/temperature",
        "/platform/control[slot=*]/oper-state",
        "/platform/linecard[slot=*]/temperature",
        "/platform/linecard[slot=*]/oper-state",
        "/platform/fan-tray[id=*]/oper-state",
        "/platform/power-supply[id=*]/oper-state",
        "/platform/chassis/type",
        "/platform/chassis/oper-state",
        "/system/name/host-name",
        "/system/information/version",
        "/system/information/last-booted",
    ),
    # SR Linux 25.3 keeps no alarm list, natively or in OpenConfig (its deviations mark /system/alarms
    # not-supported): its alarms are derived from the oper-states, temperature alarm-status and oper-down-reason
    # above (devices.decode).
    alarms=(),
    derived_alarm_groups=("oper-state", "health"),
)

SROS_STATE = PathMap(
    name="sros-state",
    counters=("/state/port[port-id=*]/statistics",),
    oper_state=(
        "/state/port[port-id=*]/oper-state",
        "/state/port[port-id=*]/oper-state-last-changed",
        "/state/port[port-id=*]/ethernet/oper-speed",
        # Admin state and description are configuration on SR OS; it streams configuration changes too.
        "/configure/port[port-id=*]/admin-state",
        "/configure/port[port-id=*]/description",
    ),
    health=(
        "/state/system/cpu[sample-period=1]/summary/usage/cpu-usage",
        "/state/system/memory-pools/summary",
        "/state/cpm[cpm-slot=*]/hardware-data/temperature",
        "/state/card[slot-number=*]/hardware-data/temperature",
        "/state/chassis[chassis-class=*][chassis-number=*]/hardware-data/temperature",
        "/state/chassis[chassis-class=*][chassis-number=*]/fan[fan-slot=*]/hardware-data/oper-state",
        "/state/chassis[chassis-class=*][chassis-number=*]/power-supply[power-supply-id=*]/hardware-data/oper-state",
        "/state/system/oper-name",
        "/state/system/platform",
        "/state/system/version/version-number",
        "/state/system/up-time",
    ),
    alarms=("/state/system/alarms/active[raised-time=*][index=*]",),
    # SR OS streams on change only for selected state; TARGET_DEFINED lets it choose.
    alarms_mode=StreamMode.TARGET_DEFINED,
)

OPENCONFIG = PathMap(
    name="openconfig",
    counters=("/interfaces/interface[name=*]/state/counters",),
    oper_state=(
        "/interfaces/interface[name=*]/state/oper-status",
        "/interfaces/interface[name=*]/state/admin-status",
        "/interfaces/interface[name=*]/state/description",
        "/interfaces/interface[name=*]/state/last-change",
        "/interfaces/interface[name=*]/ethernet/state/port-speed",
    ),
    health=(
        "/system/state/hostname",
        "/system/state/software-version",
        "/system/state/boot-time",
        "/system/cpus/cpu[index=*]/state/total/instant",
        "/system/memory/state",
        "/components/component[name=*]/state",
    ),
    # openconfig-alarms is not supported where it is tabled (SR Linux's deviations); alarms are derived from the
    # components' oper-status and temperature alarm-status.
    alarms=(),
    derived_alarm_groups=("health",),
)

NATIVE_MODEL_MARKERS = {
    Platform.SRLINUX: "srl_nokia-interfaces",
    Platform.SROS: "nokia-state",
    Platform.SROS_CLASSIC: "nokia-state",
}


def native_path_map(platform: Platform) -> PathMap:
    return SROS_STATE if platform.is_sros else SRLINUX_NATIVE


def path_map_for(platform: Platform, models: Iterable[str] = ()) -> PathMap:
    """The native map when the device lists its native models (or lists none), else OpenConfig if it has it."""
    names = [model.rsplit(":", 1)[-1] for model in models]
    if not names or NATIVE_MODEL_MARKERS[platform] in names:
        return native_path_map(platform)
    if "openconfig-interfaces" in names:
        return OPENCONFIG
    return native_path_map(platform)


def gnmi_path(xpath: str) -> gnmi_pb2.Path:
    """An XPath-like string (`/interface[name=*]/statistics`) as a gNMI Path."""
    return gnmi_path_generator(xpath)


def subscription_list(
    specs: Sequence[SubscriptionSpec],
    encoding: int,
    *,
    mode: int = gnmi_pb2.SubscriptionList.STREAM,
    updates_only: bool = False,
) -> gnmi_pb2.SubscriptionList:
    """One SubscriptionList carrying every spec (one stream per device, however many groups)."""
    wire = _subscription_wire(tuple(specs), encoding, mode, updates_only)
    return gnmi_pb2.SubscriptionList.FromString(wire)


@functools.lru_cache(maxsize=64)
def _subscription_wire(specs: tuple[SubscriptionSpec, ...], encoding: int, mode: int, updates_only: bool) -> bytes:
    # Every device of a platform subscribes the same way: parsing the paths once per fleet rather than once per
    # device and reconnect takes that work out of the connect storm.
    subscriptions = [proto for spec in specs for proto in spec.protos()]
    request = gnmi_pb2.SubscriptionList(
        subscription=subscriptions, mode=mode, encoding=encoding, updates_only=updates_only
    )
    return request.SerializeToString()
