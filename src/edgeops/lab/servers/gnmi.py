"""The lab's gNMI servers: Capabilities, Get and Subscribe for every simulated device, one grpc.aio server each.

Why one server per device: a grpc.aio servicer cannot see which local address or `:authority` a call arrived
on (the context exposes only the peer), so a single server listening on many addresses could not tell the
devices apart. A server per device costs little: 200 of them add no threads and a few MB (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import grpc
from grpc import aio
from pygnmi.create_gnmi_path import gnmi_path_generator
from pygnmi.spec.v080 import gnmi_pb2, gnmi_pb2_grpc

from edgeops.lab.device import LabDevice
from edgeops.lab.model import DeviceIdentity
from edgeops.lab.servers.certs import LabCertificateAuthority
from edgeops.lab.servers.gnmi_tree import (
    DeviceTree,
    Elem,
    Kind,
    Match,
    PathError,
    ascii_value,
    dumps,
    flat_json,
    json_member,
    json_scalar,
    json_text,
    nest,
    path_proto,
    request_elems,
    typed_value,
)
from edgeops.platforms import Platform

log = logging.getLogger(__name__)

Encoding = int  # a gnmi_pb2.Encoding value

SRLINUX_ENCODINGS = (gnmi_pb2.JSON_IETF, gnmi_pb2.PROTO, gnmi_pb2.ASCII)
SROS_ENCODINGS = (gnmi_pb2.JSON, gnmi_pb2.BYTES, gnmi_pb2.PROTO, gnmi_pb2.JSON_IETF)
SRLINUX_GNMI_VERSION = "0.10.0"
SROS_GNMI_VERSION = "0.8.0"
SRLINUX_DEFAULT_SAMPLE_S = 1.0
SRLINUX_MIN_SAMPLE_S = 0.1
SROS_MIN_SAMPLE_S = 1.0  # SR OS refuses to sample faster than once a second
OUTBOX_HIGH_WATER = 200  # queued responses beyond which a slow client's samples are skipped, not queued
SERVER_OPTIONS = (
    # Two servers must never share an address:port silently (gRPC sets SO_REUSEPORT by default).
    ("grpc.so_reuseport", 0),
    # Clients may keep streams alive with pings; a real device does not GOAWAY them for it.
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.max_ping_strikes", 0),
)

SRLINUX_NATIVE_MODELS = (
    ("chassis:interfaces", "srl_nokia-interfaces"),
    ("chassis:platform", "srl_nokia-platform"),
    ("chassis:platform-control", "srl_nokia-platform-control"),
    ("chassis:platform-cpu", "srl_nokia-platform-cpu"),
    ("chassis:platform-memory", "srl_nokia-platform-memory"),
    ("chassis:platform-fan", "srl_nokia-platform-fan"),
    ("chassis:platform-psu", "srl_nokia-platform-psu"),
    ("general:system", "srl_nokia-system"),
    ("general:system-info", "srl_nokia-system-info"),
    ("general:system-name", "srl_nokia-system-name"),
    ("network-instance:network-instance", "srl_nokia-network-instance"),
)
OPENCONFIG_MODELS = (
    ("openconfig-interfaces", "3.0.0"),
    ("openconfig-if-ethernet", "2.13.0"),
    ("openconfig-system", "2.1.0"),
    ("openconfig-platform", "0.24.0"),
    ("openconfig-alarms", "0.3.2"),
)
SROS_MODELS = ("nokia-conf", "nokia-state", "nokia-li-state", "nokia-li-conf")


def _srlinux_model_date(version: str) -> str:
    """`v25.10.1` -> `2025-10-31`: SR Linux stamps its modules with the release month."""
    try:
        year, month = version.lstrip("v").split(".")[:2]
        return f"20{int(year):02d}-{int(month):02d}-31"
    except ValueError:
        return "2025-10-31"


def _sros_model_version(version: str) -> str:
    """`B-24.3.R2-1` -> `24.3.R2-1` (the release without the build letter)."""
    return version.split("-", 1)[1] if version[:2] in ("B-", "C-") else version


def capabilities_for(identity: DeviceIdentity) -> gnmi_pb2.CapabilityResponse:
    """What the real platform answers to Capabilities: gNMI version, models and encodings."""
    if identity.platform.is_sros:
        release = _sros_model_version(identity.version)
        models = [gnmi_pb2.ModelData(name=name, organization="Nokia", version=release) for name in SROS_MODELS]
        models += [
            gnmi_pb2.ModelData(name=name, organization="OpenConfig working group", version=version)
            for name, version in OPENCONFIG_MODELS
        ]
        return gnmi_pb2.CapabilityResponse(
            supported_models=models, supported_encodings=SROS_ENCODINGS, gNMI_version=SROS_GNMI_VERSION
        )
    date = _srlinux_model_date(identity.version)
    models = [
        gnmi_pb2.ModelData(name=f"urn:nokia.com:srlinux:{area}:{module}", organization="Nokia", version=date)
        for area, module in SRLINUX_NATIVE_MODELS
    ]
    models += [
        gnmi_pb2.ModelData(name=name, organization="OpenConfig working group", version=version)
        for name, version in OPENCONFIG_MODELS
    ]
    return gnmi_pb2.CapabilityResponse(
        supported_models=models, supported_encodings=SRLINUX_ENCODINGS, gNMI_version=SRLINUX_GNMI_VERSION
    )


def supported_encodings(platform: Platform) -> tuple[Encoding, ...]:
    return SROS_ENCODINGS if platform.is_sros else SRLINUX_ENCODINGS


# -- shaping notifications ----------------------------------------------------------------------------

LeafValues = list[tuple[tuple[Elem, ...], Any, Kind]]  # (path relative to the match, value, kind)


class CounterRow(list[int]):
    """The values of a container of counters, read in one call, in the container's child order.

    Sampling every interface's counters every second is the lab's hot path: a row is rendered from a
    precomputed template instead of leaf by leaf.
    """


Values = LeafValues | CounterRow
Reading = tuple[Match, Values]


def leaf_values(match: Match, values: Values) -> LeafValues:
    if isinstance(values, CounterRow):
        return [(rel, value, Kind.U64) for rel, value in zip(match.bulk_rels, values, strict=True)]
    return values


_RELATIVE_PATHS: dict[tuple[Elem, ...], gnmi_pb2.Path] = {}  # `statistics/in-octets` below any SR OS prefix

# -- protobuf wire format, for the sampling hot path ------------------------------------------------------------
# Building Update/Notification objects for every counter row on every tick was most of the lab's CPU. The
# sampler instead joins bytes: each match keeps its update's path already serialized, and only the JSON value is
# new per tick. The bytes are the same messages (tests parse them back and compare with the object-built ones).


def _varint(number: int) -> bytes:
    if number < 0x80:
        return bytes((number,))
    out = bytearray()
    while number >= 0x80:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field: tag, length, payload."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _field_number(message: Any, name: str) -> int:
    return int(message.DESCRIPTOR.fields_by_name[name].number)


_NOTIFICATION_TIMESTAMP_TAG = _varint(_field_number(gnmi_pb2.Notification, "timestamp") << 3)  # a varint field
_NOTIFICATION_PREFIX = _field_number(gnmi_pb2.Notification, "prefix")
_NOTIFICATION_UPDATE = _field_number(gnmi_pb2.Notification, "update")
_UPDATE_PATH = _field_number(gnmi_pb2.Update, "path")
_UPDATE_VAL = _field_number(gnmi_pb2.Update, "val")
_RESPONSE_UPDATE = _field_number(gnmi_pb2.SubscribeResponse, "update")
# The TypedValue field a JSON-family encoding puts its text in.
_JSON_VALUE_FIELD = {
    gnmi_pb2.JSON_IETF: _field_number(gnmi_pb2.TypedValue, "json_ietf_val"),
    gnmi_pb2.JSON: _field_number(gnmi_pb2.TypedValue, "json_val"),
    gnmi_pb2.BYTES: _field_number(gnmi_pb2.TypedValue, "bytes_val"),
}
_RELATIVE_HEADS: dict[tuple[tuple[Elem, ...], ...], list[bytes]] = {}  # SR OS counter updates' serialized paths


def serialize_response(response: gnmi_pb2.SubscribeResponse | bytes) -> bytes:
    """The Subscribe response serializer: a response the sampler already serialized goes out as it is."""
    return response if isinstance(response, bytes) else response.SerializeToString()


class NotificationShaper:
    """Turns matches and their current leaf values into Notifications shaped like the real platform's.

    SR Linux (and every Get): one update per match with the full path, the first element module-prefixed
    under JSON_IETF, and a container's leaves as one JSON object. SR OS Subscribe: one notification per match,
    `prefix` set to the matched container, one update per leaf. PROTO and ASCII: one typed update per leaf.
    """

    def __init__(self, platform: Platform, encoding: Encoding, *, subscribe: bool, target: str = "") -> None:
        self.platform = platform
        self.encoding = encoding
        self.target = target
        self.sros = platform.is_sros
        self.per_leaf = encoding in (gnmi_pb2.PROTO, gnmi_pb2.ASCII) or (self.sros and subscribe)
        self.prefixed = self.sros and subscribe
        self.module_prefix = not self.sros and encoding == gnmi_pb2.JSON_IETF
        self.qualified = encoding == gnmi_pb2.JSON_IETF  # RFC 7951 member names: module where it changes

    # -- values --

    def _json_value(self, obj: Any) -> gnmi_pb2.TypedValue:
        return self._json_bytes(dumps(obj))

    def _json_bytes(self, data: bytes) -> gnmi_pb2.TypedValue:
        if self.encoding == gnmi_pb2.JSON_IETF:
            return gnmi_pb2.TypedValue(json_ietf_val=data)
        if self.encoding == gnmi_pb2.BYTES:
            return gnmi_pb2.TypedValue(bytes_val=data)
        return gnmi_pb2.TypedValue(json_val=data)

    def _leaf_value(self, value: Any, kind: Kind) -> gnmi_pb2.TypedValue:
        if self.encoding == gnmi_pb2.PROTO:
            return typed_value(value, kind)
        if self.encoding == gnmi_pb2.ASCII:
            return ascii_value(value, kind)
        return self._json_bytes(json_text(value, kind).encode())

    # -- paths (built once per match and reused on every sample) --

    # Wire paths are built once and reused on every sample where it pays: a cached Path costs ~1.6 KB of
    # native memory, so only containers (one per interface) keep theirs; paths relative to an SR OS
    # prefix are the same for every port and are shared by all devices.

    def _full_path(self, match: Match) -> gnmi_pb2.Path:
        module = match.root.module if self.module_prefix else ""
        if match.node.is_leaf:
            return path_proto(match.elems, module)
        cache_key = ("full", self.module_prefix)
        path = match.cache.get(cache_key)
        if path is None:
            path = match.cache[cache_key] = path_proto(match.elems, module)
        return path

    def _prefix_parts(self, match: Match) -> tuple[tuple[Elem, ...], tuple[Elem, ...]]:
        """(prefix elements, elements from the prefix to the match): a leaf match hangs off its parent."""
        if match.node.is_leaf:
            return match.elems[:-1], match.elems[-1:]
        return match.elems, ()

    def _prefix_path(self, match: Match) -> gnmi_pb2.Path:
        cache_key = ("prefix", self.target)
        path = match.cache.get(cache_key)
        if path is None:
            path = path_proto(self._prefix_parts(match)[0])
            if self.target:
                path.target = self.target
            match.cache[cache_key] = path
        return path

    def _leaf_path(self, match: Match, rel: tuple[Elem, ...]) -> gnmi_pb2.Path:
        if self.prefixed:
            relative = (*self._prefix_parts(match)[1], *rel)
            path = _RELATIVE_PATHS.get(relative)
            if path is None:
                path = _RELATIVE_PATHS[relative] = path_proto(relative)
            return path
        return path_proto((*match.elems, *rel), match.root.module if self.module_prefix else "")

    def _target_prefix(self) -> gnmi_pb2.Path | None:
        return gnmi_pb2.Path(target=self.target) if self.target else None

    # -- notifications --

    def _counter_json(self, match: Match) -> str:
        """`{"in-octets":"%d",...}`: a counters container's JSON with its values left to fill in."""
        template = match.cache.get("counter-json")
        if template is None:
            members = (json_member(rel[0][0]) + '"%d"' for rel in match.bulk_rels)
            template = match.cache["counter-json"] = "{" + ",".join(members) + "}"
        return template

    def _counter_value(self, value: int) -> gnmi_pb2.TypedValue:
        if self.encoding == gnmi_pb2.PROTO:
            return gnmi_pb2.TypedValue(uint_val=value)
        if self.encoding == gnmi_pb2.ASCII:
            return gnmi_pb2.TypedValue(ascii_val=str(value))
        return self._json_bytes(b'"%d"' % value)

    def _leaf_updates(self, match: Match, values: Values) -> list[gnmi_pb2.Update]:
        if isinstance(values, CounterRow):
            cache_key = ("counter-paths", self.prefixed, self.module_prefix)
            paths = match.cache.get(cache_key)
            if paths is None:
                paths = match.cache[cache_key] = [self._leaf_path(match, rel) for rel in match.bulk_rels]
            make = self._counter_value
            return [gnmi_pb2.Update(path=path, val=make(value)) for path, value in zip(paths, values, strict=True)]
        return [
            gnmi_pb2.Update(path=self._leaf_path(match, rel), val=self._leaf_value(value, kind))
            for rel, value, kind in values
        ]

    def updates(self, snapshot: Sequence[Reading], timestamp: int) -> list[gnmi_pb2.Notification]:
        """Notifications carrying the given leaf values (matches without values send nothing)."""
        if self.prefixed:
            return [
                gnmi_pb2.Notification(
                    timestamp=timestamp, prefix=self._prefix_path(match), update=self._leaf_updates(match, values)
                )
                for match, values in snapshot
                if values
            ]
        updates = []
        for match, values in snapshot:
            if values:
                updates.extend(self._match_updates(match, values))
        if not updates:
            return []
        return [gnmi_pb2.Notification(timestamp=timestamp, prefix=self._target_prefix(), update=updates)]

    def _match_updates(self, match: Match, values: Values) -> list[gnmi_pb2.Update]:
        """The updates of one match outside an SR OS subscription (one per leaf, or one for the container)."""
        if self.per_leaf:
            return self._leaf_updates(match, values)
        if isinstance(values, CounterRow):
            data = (self._counter_json(match) % tuple(values)).encode()
            return [gnmi_pb2.Update(path=self._full_path(match), val=self._json_bytes(data))]
        if match.node.is_leaf:
            _, value, kind = values[0]
            return [gnmi_pb2.Update(path=self._full_path(match), val=self._leaf_value(value, kind))]
        if match.flat:
            data = flat_json(values, qualified=self.qualified).encode()
            return [gnmi_pb2.Update(path=self._full_path(match), val=self._json_bytes(data))]
        obj = nest(((rel, json_scalar(value, kind)) for rel, value, kind in values), qualified=self.qualified)
        return [gnmi_pb2.Update(path=self._full_path(match), val=self._json_value(obj))]

    # -- the same notifications, serialized (the sampling hot path) --

    def encoded_updates(self, snapshot: Sequence[Reading], timestamp: int) -> list[bytes]:
        """What updates() gives, as serialized SubscribeResponses; counter rows are joined from cached bytes."""
        stamp = _NOTIFICATION_TIMESTAMP_TAG + _varint(timestamp)
        if self.prefixed:
            return [
                _field(_RESPONSE_UPDATE, stamp + self._wire_prefix(match) + self._wire_leaf_updates(match, values))
                for match, values in snapshot
                if values
            ]
        body = b"".join([self._wire_match_updates(match, values) for match, values in snapshot if values])
        if not body:
            return []
        target = self._target_prefix()
        prefix = _field(_NOTIFICATION_PREFIX, target.SerializeToString()) if target is not None else b""
        return [_field(_RESPONSE_UPDATE, stamp + prefix + body)]

    def _wire_prefix(self, match: Match) -> bytes:
        cache_key = ("wire-prefix", self.target)
        data = match.cache.get(cache_key)
        if data is None:
            data = match.cache[cache_key] = _field(_NOTIFICATION_PREFIX, self._prefix_path(match).SerializeToString())
        return data

    def _wire_match_updates(self, match: Match, values: Values) -> bytes:
        value_field = _JSON_VALUE_FIELD.get(self.encoding)
        if self.per_leaf or value_field is None or not isinstance(values, CounterRow):
            if self.per_leaf:
                return self._wire_leaf_updates(match, values)
            return b"".join(
                _field(_NOTIFICATION_UPDATE, update.SerializeToString())
                for update in self._match_updates(match, values)
            )
        cache_key = ("wire-row", self.module_prefix)
        head = match.cache.get(cache_key)
        if head is None:
            head = match.cache[cache_key] = _field(_UPDATE_PATH, self._full_path(match).SerializeToString())
        data = (self._counter_json(match) % tuple(values)).encode()
        return _field(_NOTIFICATION_UPDATE, head + _field(_UPDATE_VAL, _field(value_field, data)))

    def _wire_leaf_updates(self, match: Match, values: Values) -> bytes:
        value_field = _JSON_VALUE_FIELD.get(self.encoding)
        if value_field is None or not isinstance(values, CounterRow):
            return b"".join(
                _field(_NOTIFICATION_UPDATE, update.SerializeToString()) for update in self._leaf_updates(match, values)
            )
        heads = self._wire_counter_heads(match)
        return b"".join(
            [
                _field(_NOTIFICATION_UPDATE, head + _field(_UPDATE_VAL, _field(value_field, b'"%d"' % value)))
                for head, value in zip(heads, values, strict=True)
            ]
        )

    def _wire_counter_heads(self, match: Match) -> list[bytes]:
        """Each counter update's serialized path field; under an SR OS prefix they are shared by every port."""
        if self.prefixed and not match.node.is_leaf:
            heads = _RELATIVE_HEADS.get(match.bulk_rels)
            if heads is None:
                paths = [self._leaf_path(match, rel) for rel in match.bulk_rels]
                heads = _RELATIVE_HEADS[match.bulk_rels] = [
                    _field(_UPDATE_PATH, path.SerializeToString()) for path in paths
                ]
            return heads
        cache_key = ("wire-counter-heads", self.prefixed, self.module_prefix)
        heads = match.cache.get(cache_key)
        if heads is None:
            paths = [self._leaf_path(match, rel) for rel in match.bulk_rels]
            heads = match.cache[cache_key] = [_field(_UPDATE_PATH, path.SerializeToString()) for path in paths]
        return heads

    def deletes(self, paths: Iterable[tuple[Elem, ...]], module_of: dict[tuple[Elem, ...], str], timestamp: int):
        """One notification deleting the given absolute paths (alarms cleared, leaves gone)."""
        protos = [path_proto(elems, module_of.get(elems, "") if self.module_prefix else "") for elems in paths]
        if not protos:
            return []
        return [gnmi_pb2.Notification(timestamp=timestamp, prefix=self._target_prefix(), delete=protos)]


# -- subscriptions ------------------------------------------------------------------------------------


@dataclass(eq=False)
class CompiledSubscription:
    """One subscription path, resolved once (again each time only if it reaches into a list that changes)."""

    tree: DeviceTree
    origin: str
    elems: list[tuple[str, dict[str, str]]]
    mode: int  # gnmi_pb2.SAMPLE or gnmi_pb2.ON_CHANGE (TARGET_DEFINED is split into both)
    interval_s: float
    volatile: bool | None = None  # only volatile (True) / only steady (False) leaves; None: all
    suppress_redundant: bool = False
    heartbeat_s: float = 0.0
    dynamic: bool = False
    _matches: list[Match] | None = None
    # What was last sent, per match and leaf: for ON_CHANGE, suppress_redundant and deletes.
    sent: dict[tuple[Elem, ...], dict[tuple[Elem, ...], Any]] = field(default_factory=dict)
    sent_modules: dict[tuple[Elem, ...], str] = field(default_factory=dict)
    has_volatile: bool = False

    @property
    def tracks_changes(self) -> bool:
        return self.mode == gnmi_pb2.ON_CHANGE or self.suppress_redundant

    def matches(self) -> list[Match]:
        if self._matches is None or self.dynamic:
            self._matches = self.tree.matches(self.origin, self.elems)
        return self._matches

    def read(self) -> list[Reading]:
        """Current values of every subscribed leaf (absent leaves left out)."""
        snapshot: list[Reading] = []
        wanted = self.volatile
        for match in self.matches():
            bulk = match.node.bulk
            if bulk is not None:
                # A container of counters (all volatile): every value in one call.
                snapshot.append((match, CounterRow(bulk(match.item)) if wanted is not False else []))
                continue
            values: LeafValues = []
            for ref in match.leaves:
                node = ref.node
                if wanted is not None and node.volatile != wanted:
                    continue
                value = node.value(ref.item)  # type: ignore[misc]
                if value is not None:
                    values.append((ref.rel, value, node.kind))
            snapshot.append((match, values))
        return snapshot

    def changes(
        self, snapshot: list[Reading], *, everything: bool
    ) -> tuple[list[Reading], list[tuple[Elem, ...]], dict[tuple[Elem, ...], str]]:
        """(what changed since the last send, absolute paths that disappeared, their modules); records the send."""
        changed: list[Reading] = []
        gone: list[tuple[Elem, ...]] = []
        modules: dict[tuple[Elem, ...], str] = {}
        seen = set()
        for match, row in snapshot:
            values = leaf_values(match, row)
            seen.add(match.key)
            before = self.sent.get(match.key, {})
            now = {rel: value for rel, value, _ in values}
            delta = values if everything else [item for item in values if before.get(item[0], _MISSING) != item[1]]
            if delta:
                changed.append((match, delta))
            removed = before.keys() - now.keys()
            if removed:
                for path in _deleted_paths(removed, now.keys()):
                    gone.append((*match.elems, *path))
                    modules[(*match.elems, *path)] = match.root.module
            self.sent[match.key] = now
            self.sent_modules[match.key] = match.root.module
        for key in list(self.sent):
            if key not in seen:
                # A whole list entry went away (an alarm cleared): delete the entry, not what was below it.
                keyed = [index for index, elem in enumerate(key) if elem[1]]
                entry = key[: keyed[-1] + 1] if keyed else key
                gone.append(entry)
                modules[entry] = self.sent_modules.pop(key, "")
                del self.sent[key]
        return changed, gone, modules


_MISSING = object()


def _deleted_paths(removed: Iterable[tuple[Elem, ...]], present: Iterable[tuple[Elem, ...]]) -> list[tuple[Elem, ...]]:
    """The paths to delete for leaves that vanished: a whole list entry once when all of it went, else the leaf."""
    live = {rel[: i + 1] for rel in present for i, elem in enumerate(rel) if elem[1]}
    paths: dict[tuple[Elem, ...], None] = {}
    for rel in sorted(removed):
        cut = rel
        for i, elem in enumerate(rel):
            if elem[1] and rel[: i + 1] not in live:
                cut = rel[: i + 1]
                break
        paths[cut] = None
    return list(paths)


def compile_subscriptions(
    tree: DeviceTree, request: gnmi_pb2.SubscriptionList, platform: Platform
) -> list[CompiledSubscription]:
    """The request's subscriptions as sample/on-change units (TARGET_DEFINED: counters sampled, state on change)."""
    compiled = []
    stream = request.mode == gnmi_pb2.SubscriptionList.STREAM
    for sub in request.subscription:
        origin, elems = request_elems(request.prefix if request.HasField("prefix") else None, sub.path)
        matches = tree.matches(origin, elems)  # raises PathError for a path the schema lacks
        interval = sub.sample_interval / 1e9
        if platform.is_sros:
            interval = max(interval, SROS_MIN_SAMPLE_S)
        else:
            interval = max(interval, SRLINUX_MIN_SAMPLE_S) if interval else SRLINUX_DEFAULT_SAMPLE_S
        common: dict[str, Any] = dict(
            tree=tree,
            origin=origin,
            elems=elems,
            interval_s=interval,
            suppress_redundant=sub.suppress_redundant,
            heartbeat_s=sub.heartbeat_interval / 1e9,
            dynamic=tree.path_is_dynamic(elems),
            _matches=matches,
        )
        mode = sub.mode if stream else gnmi_pb2.SAMPLE
        if mode == gnmi_pb2.TARGET_DEFINED:
            compiled.append(CompiledSubscription(mode=gnmi_pb2.SAMPLE, volatile=True, **common))
            compiled.append(CompiledSubscription(mode=gnmi_pb2.ON_CHANGE, volatile=False, **common))
        else:
            compiled.append(CompiledSubscription(mode=mode, **common))
    for unit in compiled:
        unit.has_volatile = unit.volatile is not False and any(
            match.node.bulk is not None or any(ref.node.volatile for ref in match.leaves) for match in unit.matches()
        )
    return compiled


class _Cut:
    """Marks the point where fault injection cut the stream."""


class _Done:
    """Marks the end of a ONCE stream."""


CUT = _Cut()
DONE = _Done()
SYNC = gnmi_pb2.SubscribeResponse(sync_response=True)


class SubscribeStream:
    """One Subscribe call: its subscriptions, the tasks that feed it and the queue the handler drains."""

    def __init__(
        self,
        device: LabDevice,
        tree: DeviceTree,
        request: gnmi_pb2.SubscriptionList,
        units: list[CompiledSubscription],
    ) -> None:
        self.device = device
        self.tree = tree
        self.request = request
        self.units = units
        target = request.prefix.target if request.HasField("prefix") else ""
        self.shaper = NotificationShaper(device.identity.platform, request.encoding, subscribe=True, target=target)
        self.outbox: asyncio.Queue[Any] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []
        self.changed = asyncio.Event()

    # -- sending --

    @property
    def stalled(self) -> bool:
        return self.device.faults.gnmi_stall

    def _emit(self, notifications: Iterable[gnmi_pb2.Notification]) -> None:
        for note in notifications:
            self.outbox.put_nowait(gnmi_pb2.SubscribeResponse(update=note))

    def _emit_encoded(self, responses: Iterable[bytes]) -> None:
        for response in responses:
            self.outbox.put_nowait(response)

    def _timestamp(self) -> int:
        return int(self.device.model.advance() * 1e9)

    def dump(self) -> None:
        """Every subscribed value now, then sync_response (the initial dump, a ONCE, or a POLL)."""
        if self.stalled:
            return
        stamp = self._timestamp()
        everything: list[Reading] = []
        for unit in self.units:
            snapshot = unit.read()
            if unit.tracks_changes:
                unit.changes(snapshot, everything=True)
            everything.extend(snapshot)
        self._emit(self.shaper.updates(everything, stamp))
        self.outbox.put_nowait(SYNC)

    def _send_changes(self, unit: CompiledSubscription, *, everything: bool = False) -> None:
        # Only counters and the like need the model brought up to now; state leaves are current already.
        stamp = self._timestamp() if unit.has_volatile else int(self.device.model.now() * 1e9)
        changed, gone, modules = unit.changes(unit.read(), everything=everything)
        self._emit(self.shaper.updates(changed, stamp))
        self._emit(self.shaper.deletes(gone, modules, stamp))

    # -- the feeding tasks --

    def on_model_change(self, kind: str, key: str) -> None:
        self.changed.set()

    async def _sample(self, units: list[CompiledSubscription]) -> None:
        """One ticker for every sampled subscription sharing an interval: one instant, one timestamp per tick."""
        loop = asyncio.get_running_loop()
        interval = units[0].interval_s
        next_at = loop.time() + interval
        heartbeats = [unit.heartbeat_s for unit in units if unit.heartbeat_s]
        heartbeat_s = min(heartbeats) if heartbeats else 0.0
        heartbeat_at = loop.time() + heartbeat_s if heartbeat_s else None
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            now = loop.time()
            next_at += interval
            if next_at < now:  # fell behind (a busy loop): skip missed ticks rather than burst
                next_at = now + interval
            if self.stalled or self.outbox.qsize() > OUTBOX_HIGH_WATER:
                continue
            beat = heartbeat_at is not None and now >= heartbeat_at
            if beat:
                heartbeat_at = now + heartbeat_s
            stamp = self._timestamp()
            snapshot: list[Reading] = []
            for unit in units:
                if unit.suppress_redundant:
                    changed, gone, modules = unit.changes(unit.read(), everything=beat)
                    snapshot.extend(changed)
                    self._emit(self.shaper.deletes(gone, modules, stamp))
                else:
                    snapshot.extend(unit.read())
            self._emit_encoded(self.shaper.encoded_updates(snapshot, stamp))

    async def _on_change(self, units: list[CompiledSubscription]) -> None:
        loop = asyncio.get_running_loop()
        # State leaves are checked when the model reports a change; leaves that change continuously
        # (someone asked ON_CHANGE for a counter) are also checked every second.
        polled = [unit for unit in units if unit.has_volatile]
        heartbeats = [unit.heartbeat_s for unit in units if unit.heartbeat_s]
        heartbeat_s = min(heartbeats) if heartbeats else 0.0
        heartbeat_at = loop.time() + heartbeat_s if heartbeat_s else None
        while True:
            timeout = 1.0 if polled else None
            if heartbeat_at is not None:
                until_beat = max(0.0, heartbeat_at - loop.time())
                timeout = until_beat if timeout is None else min(timeout, until_beat)
            event = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout)
                event = True
            self.changed.clear()
            beat = heartbeat_at is not None and loop.time() >= heartbeat_at
            if beat:
                heartbeat_at = loop.time() + heartbeat_s
            if self.stalled:
                continue
            for unit in units if (event or beat) else polled:
                self._send_changes(unit, everything=beat)

    def start(self) -> None:
        on_change = [unit for unit in self.units if unit.mode == gnmi_pb2.ON_CHANGE]
        by_interval: dict[float, list[CompiledSubscription]] = {}
        for unit in self.units:
            if unit.mode == gnmi_pb2.SAMPLE:
                by_interval.setdefault(unit.interval_s, []).append(unit)
        for units in by_interval.values():
            self.tasks.append(asyncio.create_task(self._sample(units)))
        if on_change:
            self.device.model.listeners.append(self.on_model_change)
            self.tasks.append(asyncio.create_task(self._on_change(on_change)))

    async def stop(self) -> None:
        if self.on_model_change in self.device.model.listeners:
            self.device.model.listeners.remove(self.on_model_change)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()

    def cut(self) -> None:
        """Fault injection: end the stream now with an error."""
        self.outbox.put_nowait(CUT)


# -- paths a device refuses ---------------------------------------------------------------------------

# The gRPC status a `gnmi-reject` fault answers with, by the name the fault takes.
REJECT_STATUS: dict[str, grpc.StatusCode] = {
    "invalid-argument": grpc.StatusCode.INVALID_ARGUMENT,
    "not-found": grpc.StatusCode.NOT_FOUND,
    "unimplemented": grpc.StatusCode.UNIMPLEMENTED,
}

RequestElems = list[tuple[str, dict[str, str]]]


@functools.lru_cache(maxsize=256)
def _prefix(xpath: str) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    _, elems = request_elems(None, gnmi_path_generator(xpath))
    return tuple((name, tuple(sorted(keys.items()))) for name, keys in elems)


def prefix_elems(xpath: str) -> RequestElems:
    """A path prefix as a fault or a release option names it (`/interface[name=*]/statistics`), as elements."""
    return [(name, dict(keys)) for name, keys in _prefix(xpath)]


def path_under(elems: RequestElems, prefix: RequestElems) -> bool:
    """Whether a requested path is the prefix or lies below it. Keys count only where both name a concrete value:
    `/interface[name=*]/statistics` is under `/interface/statistics` and under `/interface[name=*]`."""
    if not prefix or len(elems) < len(prefix):
        return False
    for (name, keys), (want, wanted_keys) in zip(elems, prefix, strict=False):
        if "*" not in (name, want) and name != want:
            return False
        for key, value in wanted_keys.items():
            have = keys.get(key, "*")
            if "*" not in (have, value) and have != value:
                return False
    return True


def _path_text(elems: RequestElems) -> str:
    return "/" + "/".join(name + "".join(f"[{k}={v}]" for k, v in keys.items()) for name, keys in elems)


def refusal_text(platform: Platform, elems: RequestElems, unknown: str) -> str:
    """What the platform says about a path it does not serve: the element it does not know, in its own words."""
    if platform.is_sros:
        return f"MINOR: MGMT_CORE #2201: {_path_text(elems)}: Unknown element - '{unknown}'"
    return f"Path '{_path_text(elems)}' is not valid: unknown element '{unknown}'"


def refusal_for(device: LabDevice, elems: RequestElems) -> tuple[grpc.StatusCode, str] | None:
    """(status, the device's text) when the device refuses to serve a path: an injected `gnmi-reject` fault, or a
    subtree its release does not have (`DeviceIdentity.unserved`, answered NOT_FOUND); None when it serves it."""
    platform = device.identity.platform
    for xpath, status in device.faults.gnmi_rejects.items():
        prefix = prefix_elems(xpath)
        if path_under(elems, prefix):
            return REJECT_STATUS[status], refusal_text(platform, elems, prefix[-1][0])
    for xpath in device.identity.unserved:
        prefix = prefix_elems(xpath)
        if path_under(elems, prefix):
            return grpc.StatusCode.NOT_FOUND, refusal_text(platform, elems, prefix[-1][0])
    return None


# -- the servicer -------------------------------------------------------------------------------------


class DeviceGnmiServicer(gnmi_pb2_grpc.gNMIServicer):
    """gNMI for one simulated device."""

    def __init__(self, device: LabDevice) -> None:
        self.device = device
        self.identity = device.identity
        self.tree = DeviceTree(device.model)

    async def _admit(self, context: aio.ServicerContext) -> None:
        faults = self.device.faults
        if faults.gnmi_refuse:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "gNMI server is not accepting connections")
        metadata = {item[0]: item[1] for item in context.invocation_metadata() or ()}
        username, password = metadata.get("username"), metadata.get("password")
        if faults.auth_reject or username != self.identity.username or password != self.identity.password:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "authentication failed")

    async def _check_encoding(self, encoding: int, context: aio.ServicerContext) -> None:
        if encoding not in supported_encodings(self.identity.platform):
            name = gnmi_pb2.Encoding.Name(encoding) if encoding in gnmi_pb2.Encoding.values() else str(encoding)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unsupported encoding: {name}")

    async def _path_error(self, error: PathError, context: aio.ServicerContext) -> NoReturn:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid path: {error}")
        raise AssertionError("abort returns only by raising")  # pragma: no cover

    async def _refuse_unserved(self, request: gnmi_pb2.SubscriptionList, context: aio.ServicerContext) -> None:
        """End the call, as the device would, when one of its paths is one the device does not serve."""
        prefix = request.prefix if request.HasField("prefix") else None
        for subscription in request.subscription:
            _, elems = request_elems(prefix, subscription.path)
            refusal = refusal_for(self.device, elems)
            if refusal is not None:
                self.device.faults.gnmi_subscribes_rejected += 1
                await context.abort(*refusal)

    async def Capabilities(
        self, request: gnmi_pb2.CapabilityRequest, context: aio.ServicerContext
    ) -> gnmi_pb2.CapabilityResponse:
        await self._admit(context)
        return capabilities_for(self.identity)

    async def Get(self, request: gnmi_pb2.GetRequest, context: aio.ServicerContext) -> gnmi_pb2.GetResponse:
        await self._admit(context)
        await self._check_encoding(request.encoding, context)
        target = request.prefix.target if request.HasField("prefix") else ""
        shaper = NotificationShaper(self.identity.platform, request.encoding, subscribe=False, target=target)
        stamp = int(self.device.model.advance() * 1e9)
        notifications = []
        for path in request.path:
            origin, elems = request_elems(request.prefix if request.HasField("prefix") else None, path)
            refusal = refusal_for(self.device, elems)
            if refusal is not None:
                await context.abort(*refusal)
            try:
                matches = self.tree.matches(origin, elems)
            except PathError as error:
                await self._path_error(error, context)
            concrete = all(name != "*" and "*" not in keys.values() for name, keys in elems)
            if not matches and concrete:
                await context.abort(grpc.StatusCode.NOT_FOUND, "path does not specify any existing objects")
            unit = CompiledSubscription(self.tree, origin, elems, gnmi_pb2.SAMPLE, 0.0, _matches=matches)
            notes = shaper.updates(unit.read(), stamp)
            notifications.extend(notes or [gnmi_pb2.Notification(timestamp=stamp)])
        return gnmi_pb2.GetResponse(notification=notifications)

    async def Set(self, request: gnmi_pb2.SetRequest, context: aio.ServicerContext) -> gnmi_pb2.SetResponse:
        await self._admit(context)
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, "the lab is read-only over gNMI")
        raise AssertionError("abort returns only by raising")  # pragma: no cover

    async def Subscribe(
        self, request_iterator: AsyncIterator[gnmi_pb2.SubscribeRequest], context: aio.ServicerContext
    ) -> AsyncIterator[gnmi_pb2.SubscribeResponse]:
        await self._admit(context)
        try:
            first = await request_iterator.__anext__()
        except StopAsyncIteration:
            return
        if not first.HasField("subscribe"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first request must be a SubscriptionList")
        request = first.subscribe
        await self._check_encoding(request.encoding, context)
        await self._refuse_unserved(request, context)
        try:
            units = compile_subscriptions(self.tree, request, self.identity.platform)
        except PathError as error:
            await self._path_error(error, context)
        faults = self.device.faults
        faults.gnmi_streams_opened += 1
        stream = SubscribeStream(self.device, self.tree, request, units)
        faults.gnmi_closers.add(stream.cut)
        reader: asyncio.Task[None] | None = None
        try:
            mode = request.mode
            if mode == gnmi_pb2.SubscriptionList.ONCE:
                stream.dump()
                stream.outbox.put_nowait(DONE)
            elif mode == gnmi_pb2.SubscriptionList.POLL:
                stream.dump()
                reader = asyncio.create_task(self._read_polls(request_iterator, stream))
            else:
                if request.updates_only:
                    for unit in units:
                        if unit.tracks_changes:
                            unit.changes(unit.read(), everything=True)
                    if not stream.stalled:
                        stream.outbox.put_nowait(SYNC)
                else:
                    stream.dump()
                stream.start()
                reader = asyncio.create_task(self._drain_requests(request_iterator))
            while True:
                try:
                    item = await stream.outbox.get()
                except asyncio.CancelledError:
                    return  # the client went away or the server is stopping: nothing left to say

                if item is CUT:
                    await context.abort(grpc.StatusCode.UNAVAILABLE, "stream reset by the device")
                if item is DONE:
                    return
                if stream.stalled:
                    continue
                yield item
        finally:
            faults.gnmi_closers.discard(stream.cut)
            await stream.stop()
            if reader is not None:
                reader.cancel()

    @staticmethod
    async def _read_polls(requests: AsyncIterator[gnmi_pb2.SubscribeRequest], stream: SubscribeStream) -> None:
        with contextlib.suppress(Exception):
            async for request in requests:
                if request.HasField("poll"):
                    stream.dump()

    @staticmethod
    async def _drain_requests(requests: AsyncIterator[gnmi_pb2.SubscribeRequest]) -> None:
        with contextlib.suppress(Exception):
            async for _ in requests:
                pass


# -- the lab's servers --------------------------------------------------------------------------------


def add_servicer(servicer: DeviceGnmiServicer, server: aio.Server) -> None:
    """gnmi_pb2_grpc.add_gNMIServicer_to_server, except that Subscribe may yield already serialized responses."""
    handlers = {
        "Capabilities": grpc.unary_unary_rpc_method_handler(
            servicer.Capabilities,
            request_deserializer=gnmi_pb2.CapabilityRequest.FromString,
            response_serializer=gnmi_pb2.CapabilityResponse.SerializeToString,
        ),
        "Get": grpc.unary_unary_rpc_method_handler(
            servicer.Get,
            request_deserializer=gnmi_pb2.GetRequest.FromString,
            response_serializer=gnmi_pb2.GetResponse.SerializeToString,
        ),
        "Set": grpc.unary_unary_rpc_method_handler(
            servicer.Set,
            request_deserializer=gnmi_pb2.SetRequest.FromString,
            response_serializer=gnmi_pb2.SetResponse.SerializeToString,
        ),
        "Subscribe": grpc.stream_stream_rpc_method_handler(
            servicer.Subscribe,
            request_deserializer=gnmi_pb2.SubscribeRequest.FromString,
            response_serializer=serialize_response,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("gnmi.gNMI", handlers),))


class GnmiLabServer:
    """gNMI for a set of lab devices, each on its own `identity.host:identity.gnmi_port`.

    tls_dir: where the lab CA and device certificates live (made on first use, reused after); None serves
    plaintext (like containerlab's insecure port). port_override: listen on this port instead of each device's
    `gnmi_port` (0 picks a free port per device; see `address()`).
    """

    def __init__(
        self, devices: list[LabDevice], *, tls_dir: Path | None = None, port_override: int | None = None
    ) -> None:
        self.devices = {device.name: device for device in devices}
        self.tls_dir = tls_dir
        self.port_override = port_override
        self.authority = LabCertificateAuthority(tls_dir) if tls_dir is not None else None
        self._servers: dict[str, aio.Server] = {}
        self._ports: dict[str, int] = {}

    @property
    def ca_file(self) -> Path | None:
        """The CA certificate a client verifies the devices with (None when serving plaintext)."""
        return self.authority.cert_file if self.authority else None

    def address(self, name: str) -> tuple[str, int]:
        """(host, port) device `name` really listens on."""
        return self.devices[name].identity.host, self._ports[name]

    async def start(self) -> None:
        try:
            for device in self.devices.values():
                await self._start_one(device)
        except BaseException:
            await self.stop()
            raise

    async def _start_one(self, device: LabDevice) -> None:
        identity = device.identity
        port = identity.gnmi_port if self.port_override is None else self.port_override
        server = aio.server(options=SERVER_OPTIONS)
        add_servicer(DeviceGnmiServicer(device), server)
        address = f"{identity.host}:{port}"
        try:
            if self.authority is not None:
                cert = self.authority.server_certificate(identity.name, identity.host)
                credentials = grpc.ssl_server_credentials([(cert.key_pem, cert.chain_pem)])
                bound = server.add_secure_port(address, credentials)
            else:
                bound = server.add_insecure_port(address)
        except RuntimeError as error:
            raise OSError(f"gNMI for {identity.name}: cannot listen on {address}: {error}") from error
        if not bound:
            raise OSError(f"gNMI for {identity.name}: cannot listen on {address}")
        await server.start()
        self._servers[identity.name] = server
        self._ports[identity.name] = bound

    async def stop(self) -> None:
        servers = list(self._servers.values())
        self._servers.clear()
        await asyncio.gather(*(server.stop(None) for server in servers), return_exceptions=True)

    async def __aenter__(self) -> GnmiLabServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
