"""The one event format of the fleet: what a recording stores and what the bus carries.

Every call a device supervisor makes on its TelemetrySink (the fleet store) is one event, stamped with the unix time
it happened. Applying the events in order to a fresh FleetStore whose clock reads each event's time rebuilds the fleet
as the live store saw it. Commands run on devices are events too (CommandRan): they change nothing in the store, but
a recording keeps them beside the telemetry.

On the wire a batch of events is a 5-byte header (magic b"EOEV" and the format version) and a zlib-compressed
msgpack array of events, each an array whose first item is the event's kind code.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from edgeops.clock import Clock, SystemClock
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
    TelemetrySource,
    TemperatureReading,
    Transport,
)
from edgeops.devices.subscriptions import GroupRejection, SubscriptionState
from edgeops.redaction import redact

if TYPE_CHECKING:  # (the supervisor pulls in asyncssh, gRPC and scrapli: a recording's reader needs none of them)
    from edgeops.devices.supervisor import TelemetrySink

log = logging.getLogger(__name__)

EVENT_FORMAT_VERSION: int = 1
MAGIC = b"EOEV"
HEADER_LENGTH = len(MAGIC) + 1
# A command's output in an event: enough to read what the device said, never megabytes per command.
MAX_EVENT_OUTPUT = 64 * 1024


class EventFormatProblem(StrEnum):
    """Why bytes could not be read as events."""

    TRUNCATED = "truncated"  # the bytes end before the batch does
    CORRUPT = "corrupt"  # the header is ours but what follows is damaged
    NEWER_VERSION = "newer-version"  # written by a newer edgeops, in a format this one does not know
    NOT_EDGEOPS = "not-edgeops"  # not an event batch at all


class EventFormatError(Exception):
    """Bytes that are not a readable event batch: `code` says why (branch on it), the message says it for a person."""

    def __init__(self, code: EventFormatProblem, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


# ---------------------------------------------------------------------------------------------
# The events


@dataclass(frozen=True, slots=True)
class InterfacesChanged:
    device: str
    time: float
    batch: InterfaceBatch


@dataclass(frozen=True, slots=True)
class HealthChanged:
    device: str
    time: float
    sample: HealthSample  # alarms ride in the sample


@dataclass(frozen=True, slots=True)
class SessionChanged:
    device: str
    time: float
    transport: Transport
    state: SessionState
    detail: str = ""


@dataclass(frozen=True, slots=True)
class TelemetrySourceChanged:
    device: str
    time: float
    source: TelemetrySource | None


@dataclass(frozen=True, slots=True)
class ExpectedIntervalChanged:
    device: str
    time: float
    seconds: float | None


@dataclass(frozen=True, slots=True)
class SubscriptionsDeclared:
    device: str
    time: float
    groups: tuple[SubscriptionSpec, ...]
    release: str


@dataclass(frozen=True, slots=True)
class SubscriptionStateChanged:
    device: str
    time: float
    group: str
    state: SubscriptionState
    rejection: GroupRejection | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionData:
    device: str
    time: float
    group: str


@dataclass(frozen=True, slots=True)
class CommandRan:
    """A command's outcome on one device, with the audit log's run and command ids (the audit record it refers to).
    The output is redacted and capped at MAX_EVENT_OUTPUT characters (`output_truncated` says it was cut)."""

    device: str
    time: float  # when the command ended
    command: str
    ok: bool
    started: float
    ended: float
    output: str = ""
    reason: str = ""
    failure: Failure | None = None
    guard_rule: str = ""
    run_id: str = ""
    command_id: str = ""
    user: str = ""
    output_truncated: bool = False

    @classmethod
    def of(cls, result: CommandResult, *, run_id: str = "", command_id: str = "", user: str = "") -> CommandRan:
        """The event of a command's result: output redacted (secrets masked) and capped."""
        output = redact(result.output)
        truncated = len(output) > MAX_EVENT_OUTPUT
        return cls(
            device=result.device,
            time=result.ended,
            command=result.command,
            ok=result.ok,
            started=result.started,
            ended=result.ended,
            output=output[:MAX_EVENT_OUTPUT] if truncated else output,
            reason=result.reason,
            failure=result.failure,
            guard_rule=result.guard_rule,
            run_id=run_id,
            command_id=command_id,
            user=user,
            output_truncated=truncated,
        )


FleetEvent = (
    InterfacesChanged
    | HealthChanged
    | SessionChanged
    | TelemetrySourceChanged
    | ExpectedIntervalChanged
    | SubscriptionsDeclared
    | SubscriptionStateChanged
    | SubscriptionData
    | CommandRan
)


# ---------------------------------------------------------------------------------------------
# Encoding: each event as a flat array [kind, device, time, ...fields]; nested records as arrays in field order.

_INTERFACES, _HEALTH, _SESSION, _SOURCE, _INTERVAL, _DECLARED, _SUB_STATE, _SUB_DATA, _COMMAND = range(9)


def _alarm_out(alarm: Alarm) -> list[Any]:
    return [
        alarm.device,
        alarm.alarm_id,
        alarm.severity.value,
        alarm.resource,
        alarm.text,
        alarm.raised_at,
        alarm.derived,
    ]


def _alarm_in(item: Sequence[Any]) -> Alarm:
    device, alarm_id, severity, resource, text, raised_at, derived = item
    return Alarm(
        _str(device), _str(alarm_id), Severity(severity), _str(resource), _str(text), _opt_num(raised_at), bool(derived)
    )


def _health_out(sample: HealthSample) -> list[Any]:
    return [
        sample.timestamp,
        sample.hostname,
        sample.chassis,
        sample.version,
        sample.boot_time,
        sample.cpu_pct,
        sample.memory_total,
        sample.memory_used,
        None if sample.temperatures is None else [[t.sensor, t.celsius, t.alarm] for t in sample.temperatures],
        None if sample.fans is None else [[c.component, c.oper_state, c.detail] for c in sample.fans],
        None
        if sample.power_supplies is None
        else [[c.component, c.oper_state, c.detail] for c in sample.power_supplies],
        None if sample.alarms is None else [_alarm_out(alarm) for alarm in sample.alarms],
    ]


def _components(items: Sequence[Any] | None) -> tuple[ComponentStatus, ...] | None:
    if items is None:
        return None
    return tuple(ComponentStatus(_str(c), _str(s), _str(d)) for c, s, d in items)


def _health_in(device: str, item: Sequence[Any]) -> HealthSample:
    (timestamp, hostname, chassis, version, boot, cpu, mem_total, mem_used, temps, fans, psus, alarms) = item
    return HealthSample(
        device=device,
        timestamp=_num(timestamp),
        hostname=_opt_str(hostname),
        chassis=_opt_str(chassis),
        version=_opt_str(version),
        boot_time=_opt_num(boot),
        cpu_pct=_opt_num(cpu),
        memory_total=_opt_int(mem_total),
        memory_used=_opt_int(mem_used),
        temperatures=None
        if temps is None
        else tuple(TemperatureReading(_str(s), _num(c), bool(a)) for s, c, a in temps),
        fans=_components(fans),
        power_supplies=_components(psus),
        alarms=None if alarms is None else tuple(_alarm_in(alarm) for alarm in alarms),
    )


def _event_out(event: FleetEvent) -> list[Any]:
    head: list[Any]
    match event:
        case InterfacesChanged(device, time, batch):
            return [_INTERFACES, device, time, batch.timestamp, batch.rows]
        case HealthChanged(device, time, sample):
            return [_HEALTH, device, time, _health_out(sample)]
        case SessionChanged(device, time, transport, state, detail):
            return [_SESSION, device, time, transport, state.value, detail]
        case TelemetrySourceChanged(device, time, source):
            return [_SOURCE, device, time, source]
        case ExpectedIntervalChanged(device, time, seconds):
            return [_INTERVAL, device, time, seconds]
        case SubscriptionsDeclared(device, time, groups, release):
            specs = [[spec.name, list(spec.paths), spec.mode.value, spec.interval_s] for spec in groups]
            return [_DECLARED, device, time, specs, release]
        case SubscriptionStateChanged(device, time, group, state, rejection):
            head = [_SUB_STATE, device, time, group, state.value]
            if rejection is None:
                return [*head, None]
            return [*head, [rejection.code, rejection.text, rejection.release, rejection.at]]
        case SubscriptionData(device, time, group):
            return [_SUB_DATA, device, time, group]
        case CommandRan():
            e = event
            return [
                _COMMAND,
                e.device,
                e.time,
                e.command,
                e.ok,
                e.started,
                e.ended,
                e.output,
                e.reason,
                None if e.failure is None else e.failure.value,
                e.guard_rule,
                e.run_id,
                e.command_id,
                e.user,
                e.output_truncated,
            ]
    raise TypeError(f"not a fleet event: {type(event).__name__}")


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected text")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("expected a number")
    return float(value)


def _opt_num(value: Any) -> float | None:
    return None if value is None else _num(value)


def _opt_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("expected an integer")
    return value


def _row_in(row: Any) -> list[Any]:
    if not isinstance(row, list) or len(row) != ROW_LENGTH:
        raise TypeError("an interface row has the wrong shape")
    for value in row:
        if value is not None and not isinstance(value, str | int | float):
            raise TypeError("an interface row holds something that is not a value")
    return row


def _event_in(item: Any) -> FleetEvent:
    if not isinstance(item, list) or len(item) < 3:
        raise TypeError("an event is not an array")
    kind, device, time, *rest = item
    device = _str(device)
    time = _num(time)
    if kind == _INTERFACES:
        timestamp, rows = rest
        if not isinstance(rows, dict):
            raise TypeError("interface rows are not a map")
        batch = InterfaceBatch(device, _num(timestamp), {_str(name): _row_in(row) for name, row in rows.items()})
        return InterfacesChanged(device, time, batch)
    if kind == _HEALTH:
        (health,) = rest
        return HealthChanged(device, time, _health_in(device, health))
    if kind == _SESSION:
        transport, state, detail = rest
        if transport not in ("ssh", "gnmi"):
            raise ValueError("unknown transport")
        return SessionChanged(device, time, transport, SessionState(state), _str(detail))
    if kind == _SOURCE:
        (source,) = rest
        if source not in ("gnmi", "ssh", None):
            raise ValueError("unknown telemetry source")
        return TelemetrySourceChanged(device, time, source)
    if kind == _INTERVAL:
        (seconds,) = rest
        return ExpectedIntervalChanged(device, time, _opt_num(seconds))
    if kind == _DECLARED:
        specs, release = rest
        groups = tuple(
            SubscriptionSpec(_str(name), tuple(_str(path) for path in paths), StreamMode(mode), _num(interval))
            for name, paths, mode, interval in specs
        )
        return SubscriptionsDeclared(device, time, groups, _str(release))
    if kind == _SUB_STATE:
        group, state, rejection = rest
        refused = None
        if rejection is not None:
            code, text, release, at = rejection
            refused = GroupRejection(_str(code), _str(text), _str(release), _num(at))
        return SubscriptionStateChanged(device, time, _str(group), SubscriptionState(state), refused)
    if kind == _SUB_DATA:
        (group,) = rest
        return SubscriptionData(device, time, _str(group))
    if kind == _COMMAND:
        command, ok, started, ended, output, reason, failure, guard_rule, run_id, command_id, user, cut = rest
        return CommandRan(
            device=device,
            time=time,
            command=_str(command),
            ok=bool(ok),
            started=_num(started),
            ended=_num(ended),
            output=_str(output),
            reason=_str(reason),
            failure=None if failure is None else Failure(failure),
            guard_rule=_str(guard_rule),
            run_id=_str(run_id),
            command_id=_str(command_id),
            user=_str(user),
            output_truncated=bool(cut),
        )
    raise ValueError("unknown event kind")


def event_item(event: FleetEvent) -> list[Any]:
    """One event as the array a batch holds (for a container of its own, such as a recording's tick)."""
    return _event_out(event)


def event_from_item(item: Any) -> FleetEvent:
    """The event of an array made by `event_item` (after a msgpack round trip); raises TypeError or ValueError on
    one that is damaged."""
    return _event_in(item)


def encode_events(events: Sequence[FleetEvent], *, zdict: bytes | None = None) -> bytes:
    """One batch of events as bytes: the header, then the zlib-compressed msgpack array of the events.

    `zdict`: a zlib preset dictionary (a recording compresses a device's batches against the payload of its last
    keyframe, see `payload_of`); the reader must hand decode_events the same one.
    """
    import msgpack  # here: the store imports this module, and a fleet that neither records nor shares never encodes

    payload = msgpack.packb([_event_out(event) for event in events], use_bin_type=True)
    compressor = zlib.compressobj(6, zdict=zdict) if zdict else zlib.compressobj(6)
    return MAGIC + bytes([EVENT_FORMAT_VERSION]) + compressor.compress(payload) + compressor.flush()


def payload_of(data: bytes) -> bytes:
    """The uncompressed payload of an encoded batch (a preset dictionary for batches like it); raises
    EventFormatError like decode_events."""
    _check_header(data)
    return _inflate(data, None)


def decode_events(data: bytes, *, zdict: bytes | None = None) -> list[FleetEvent]:
    """The events of a batch. Raises EventFormatError on any bytes that are not a whole batch we can read, and never
    anything else."""
    import msgpack  # see encode_events

    _check_header(data)
    payload = _inflate(data, zdict)
    try:
        items = msgpack.unpackb(payload, raw=False, strict_map_key=False, use_list=True)
        if not isinstance(items, list):
            raise TypeError("a batch is not an array")
        return [_event_in(item) for item in items]
    except Exception as error:  # anything the data's shape can make fail is damage, never a crash of the reader
        raise EventFormatError(
            EventFormatProblem.CORRUPT, f"the event batch is damaged ({type(error).__name__})"
        ) from None


def _check_header(data: bytes) -> None:
    if len(data) < HEADER_LENGTH:
        if MAGIC.startswith(bytes(data[: len(MAGIC)])) and data:
            raise EventFormatError(EventFormatProblem.TRUNCATED, "the event batch ends inside its header")
        raise EventFormatError(EventFormatProblem.NOT_EDGEOPS, "not an edgeops event batch (too short)")
    if bytes(data[: len(MAGIC)]) != MAGIC:
        raise EventFormatError(EventFormatProblem.NOT_EDGEOPS, "not an edgeops event batch (no EOEV header)")
    version = data[len(MAGIC)]
    if version > EVENT_FORMAT_VERSION:
        raise EventFormatError(
            EventFormatProblem.NEWER_VERSION,
            f"event format {version} is newer than this edgeops reads ({EVENT_FORMAT_VERSION}): upgrade edgeops",
        )
    if version < 1:
        raise EventFormatError(EventFormatProblem.CORRUPT, f"event format {version} does not exist")


def _inflate(data: bytes, zdict: bytes | None) -> bytes:
    inflater = zlib.decompressobj(zdict=zdict) if zdict else zlib.decompressobj()
    try:
        payload = inflater.decompress(bytes(data[HEADER_LENGTH:]))
    except zlib.error as error:
        raise EventFormatError(EventFormatProblem.CORRUPT, f"the event batch is damaged ({error})") from None
    if not inflater.eof:
        raise EventFormatError(EventFormatProblem.TRUNCATED, "the event batch ends before its data does")
    if inflater.unused_data:
        raise EventFormatError(EventFormatProblem.CORRUPT, "the event batch has bytes after its end")
    return payload


# ---------------------------------------------------------------------------------------------
# The tap and its inverse

EventListener = Callable[[FleetEvent], None]


class EventTap:
    """A TelemetrySink that forwards every call, unchanged and first, to the sink it wraps (the fleet store), then
    hands the call as an event to each listener. A listener that raises is logged and dropped: it never breaks the
    store or the supervisor calling it. With no listener no event is built."""

    def __init__(self, sink: TelemetrySink, clock: Clock | None = None) -> None:
        self.sink = sink
        self._clock = clock or SystemClock()
        self._listeners: list[EventListener] = []

    def add_listener(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: EventListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, event: FleetEvent) -> None:
        """Hand one event to every listener (commands come in this way: they do not pass the sink)."""
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("an event listener failed and was removed")
                self.remove_listener(listener)

    def command_ran(self, result: CommandResult, run_id: str, command_id: str, user: str) -> None:
        """A command's outcome (the command runner's `on_result`): a CommandRan event, if anyone listens."""
        if self._listeners:
            self.emit(CommandRan.of(result, run_id=run_id, command_id=command_id, user=user))

    def apply_interfaces(self, batch: InterfaceBatch) -> None:
        self.sink.apply_interfaces(batch)
        if self._listeners:
            self.emit(InterfacesChanged(batch.device, self._clock.now(), batch))

    def apply_health(self, sample: HealthSample) -> None:
        self.sink.apply_health(sample)
        if self._listeners:
            self.emit(HealthChanged(sample.device, self._clock.now(), sample))

    def set_session(self, device: str, transport: Transport, state: SessionState, detail: str = "") -> None:
        self.sink.set_session(device, transport, state, detail)
        if self._listeners:
            self.emit(SessionChanged(device, self._clock.now(), transport, SessionState(state), detail))

    def set_telemetry_source(self, device: str, source: TelemetrySource | None) -> None:
        self.sink.set_telemetry_source(device, source)
        if self._listeners:
            self.emit(TelemetrySourceChanged(device, self._clock.now(), source))

    def set_expected_interval(self, device: str, seconds: float | None) -> None:
        self.sink.set_expected_interval(device, seconds)
        if self._listeners:
            self.emit(ExpectedIntervalChanged(device, self._clock.now(), seconds))

    def set_subscriptions(self, device: str, groups: Sequence[SubscriptionSpec], release: str) -> None:
        self.sink.set_subscriptions(device, groups, release)
        if self._listeners:
            self.emit(SubscriptionsDeclared(device, self._clock.now(), tuple(groups), release))

    def set_subscription_state(
        self, device: str, group: str, state: SubscriptionState, rejection: GroupRejection | None = None
    ) -> None:
        self.sink.set_subscription_state(device, group, state, rejection)
        if self._listeners:
            self.emit(SubscriptionStateChanged(device, self._clock.now(), group, SubscriptionState(state), rejection))

    def subscription_data(self, device: str, group: str) -> None:
        self.sink.subscription_data(device, group)
        if self._listeners:
            self.emit(SubscriptionData(device, self._clock.now(), group))


def apply_event(sink: TelemetrySink, event: FleetEvent) -> None:
    """Make on `sink` the call the event records (the replay and bus side). CommandRan changes nothing in a sink."""
    match event:
        case InterfacesChanged(_, _, batch):
            sink.apply_interfaces(batch)
        case HealthChanged(_, _, sample):
            sink.apply_health(sample)
        case SessionChanged(device, _, transport, state, detail):
            sink.set_session(device, transport, state, detail)
        case TelemetrySourceChanged(device, _, source):
            sink.set_telemetry_source(device, source)
        case ExpectedIntervalChanged(device, _, seconds):
            sink.set_expected_interval(device, seconds)
        case SubscriptionsDeclared(device, _, groups, release):
            sink.set_subscriptions(device, groups, release)
        case SubscriptionStateChanged(device, _, group, state, rejection):
            sink.set_subscription_state(device, group, state, rejection)
        case SubscriptionData(device, _, group):
            sink.subscription_data(device, group)
        case CommandRan():
            pass
