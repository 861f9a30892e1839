"""The console's fleet from the bus: the store filled from the state bucket, then kept live from the event stream.

It stands where the console's engine stands (edgeops.ui.session.Engine): the console draws the same store, with the
same panes, badges and staleness. Staleness is judged here, on the receiving side, by when events arrive (the store's
own clock), so a collector that stops publishing makes its devices stale and clock skew between machines does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from edgeops.bus.commands import BusCommandTransport, PermissionErrors
from edgeops.bus.connection import BusSettings, connect_bus
from edgeops.bus.layout import bind_layout
from edgeops.bus.subjects import ALL_TELEMETRY, EVENT_STREAM, device_key, device_of_subject
from edgeops.bus.tasks import stop_tasks
from edgeops.clock import Clock, SystemClock
from edgeops.defaults import STALE_FACTOR
from edgeops.devices.samples import CommandResult, SessionState
from edgeops.devices.supervisor import RestartOutcome
from edgeops.fleet.audit import local_user
from edgeops.fleet.events import EventFormatError, FleetEvent, apply_event, decode_events
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Device, Inventory

from .state import decode_state

log = logging.getLogger(__name__)

BUS_LOST = "bus lost"
HEARTBEAT_S = 2.0
# State entries read at once when a console starts or the bus comes back (one request each).
STATE_READS_AT_ONCE = 64


class BusState(enum.StrEnum):
    CONNECTING = "connecting"
    UP = "up"
    LOST = "lost"


@dataclass
class SourceCounts:
    """What the console received, for its status bar and the benchmarks."""

    messages: int = 0
    events: int = 0
    dropped: int = 0  # malformed or foreign messages (and events for devices this console does not know)
    duplicates: int = 0  # events the state bucket had already given


class BusSource:
    """The console's engine when its fleet comes from the bus (`edgeops --source nats://HOST:4222`)."""

    def __init__(
        self,
        inventory: Inventory,
        bus: BusSettings,
        *,
        clock: Clock | None = None,
        stale_factor: float = STALE_FACTOR,
        staleness_tick_s: float = 1.0,
    ) -> None:
        self.inventory = inventory
        self.bus = bus
        self.clock = clock or SystemClock()
        self.store = FleetStore(inventory, self.clock, stale_factor=stale_factor)
        self.staleness_tick_s = staleness_tick_s
        self.counts = SourceCounts()
        self.state = BusState.CONNECTING
        self._devices = {device.name: device for device in inventory.devices}
        self._covered: dict[str, int] = {}  # device -> stream sequence its state entry already holds
        self._permission_errors = PermissionErrors()
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._state_kv: KeyValue | None = None
        self._subscription: object | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._transport: BusCommandTransport | None = None
        self._closed = False
        self.applied_at: list[tuple[float, float]] | None = None  # (event time, applied time), when measuring

    # -- lifecycle ------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (BusUnreachable), draw the fleet from the state bucket, then follow the stream from there."""
        self._client = await connect_bus(
            self.bus,
            name="edgeops console",
            on_disconnect=self._lost,
            on_reconnect=self._back,
            on_error=self._error,
        )
        self._transport = BusCommandTransport(self._client, local_user(), permission_errors=self._permission_errors)
        self._js = self._client.jetstream()
        self._state_kv, _ = await bind_layout(self._js)
        start = await self._load_state()
        self._subscription = await self._js.subscribe(
            ALL_TELEMETRY,
            stream=EVENT_STREAM,
            cb=self._on_message,
            ordered_consumer=True,
            # Two missed heartbeats and the consumer is made again from the last message received: how the console
            # catches up after the server restarted (the consumer lived in its memory).
            idle_heartbeat=HEARTBEAT_S,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start),
        )
        self.state = BusState.UP
        self._ticker = asyncio.create_task(self._tick_staleness(), name="bus staleness")

    async def stop(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._ticker is not None:
            await stop_tasks([self._ticker])
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()

    aclose = stop

    async def _tick_staleness(self) -> None:
        while True:
            await asyncio.sleep(self.staleness_tick_s)
            self.store.refresh_staleness()

    # -- the state bucket -----------------------------------------------------------------------------------------

    async def _load_state(self, *, sessions_only: bool = False) -> int:
        """Apply every device's state entry; returns the stream sequence to follow from (the oldest entry's next).

        `sessions_only`: after a reconnect, only what says how the device is connected (its interfaces and health
        come from the stream, which the console catches up on).
        """
        assert self._state_kv is not None and self._js is not None
        info = await self._js.stream_info(EVENT_STREAM)
        start = info.state.last_seq + 1
        # Each device's entry by its key, the keys being known from the inventory: listing the bucket's keys
        # (nats-py's KeyValue.keys, a watcher) can end early under load and leave a console drawing no device.
        names = list(self._devices)
        entries: list[KeyValue.Entry | None] = []
        for first in range(0, len(names), STATE_READS_AT_ONCE):
            batch = names[first : first + STATE_READS_AT_ONCE]
            entries += await asyncio.gather(*(self._state_entry(name) for name in batch))
        for name, entry in zip(names, entries, strict=True):
            if entry is None:
                continue
            key = entry.key
            try:
                sequence, events = decode_state(entry.value or b"")
            except EventFormatError as error:
                self.counts.dropped += 1
                log.debug("state entry %s dropped: %s", key, error)
                continue
            if not events or events[0].device != name:  # an entry may speak only of the device its key names
                self.counts.dropped += 1 if events else 0
                continue
            device = name
            if not sessions_only:
                self._covered[device] = sequence
                if sequence:
                    start = min(start, sequence + 1)
            for event in events:
                if sessions_only and not _says_how_connected(event):
                    continue
                self._apply(device, event)
        return start

    async def _state_entry(self, name: str) -> KeyValue.Entry | None:
        """The device's entry in the state bucket; None when it has none (no collector has held it yet)."""
        assert self._state_kv is not None
        device = self._devices[name]
        try:
            return await self._state_kv.get(device_key(device.site, name))
        except KeyNotFoundError:
            return None

    # -- live events ----------------------------------------------------------------------------------------------

    async def _on_message(self, msg: Msg) -> None:
        self.counts.messages += 1
        where = device_of_subject(msg.subject)
        if where is None or where[1] not in self._devices:
            self.counts.dropped += 1
            return
        device = where[1]
        try:
            sequence = msg.metadata.sequence.stream
        except Exception:  # not a stream message: nothing to order it by
            sequence = 0
        if sequence and sequence <= self._covered.get(device, 0):
            self.counts.duplicates += 1
            return
        try:
            events = decode_events(msg.data)
        except EventFormatError as error:
            self.counts.dropped += 1
            log.debug("message on %s dropped: %s", msg.subject, error)
            return
        for event in events:
            self._apply(device, event)

    def _apply(self, device: str, event: FleetEvent) -> None:
        if event.device != device:  # a message may speak only of the device its subject names
            self.counts.dropped += 1
            return
        try:
            apply_event(self.store, event)
        except (KeyError, ValueError, TypeError) as error:
            self.counts.dropped += 1
            log.debug("event for %s dropped: %r", device, error)
            return
        self.counts.events += 1
        if self.applied_at is not None:
            self.applied_at.append((event.time, self.clock.now()))

    # -- the bus going and coming back ----------------------------------------------------------------------------

    async def _lost(self) -> None:
        if self._closed:
            return
        self.state = BusState.LOST
        log.warning("bus lost: %s", self.bus.shown_url)
        for name in self._devices:
            snapshot = self.store.device(name)
            # The states stay what they were last heard; each says it is no longer heard. The data turns stale
            # by itself, as nothing arrives.
            self.store.set_session(name, "ssh", snapshot.ssh, BUS_LOST)
            self.store.set_session(name, "gnmi", snapshot.gnmi, BUS_LOST)

    async def _back(self) -> None:
        if self._closed:
            return
        log.info("bus back: %s", self.bus.shown_url)
        # The ordered consumer picks up the stream where it stopped; the state entries say how each device is
        # connected now (replacing "bus lost").
        try:
            await self._load_state(sessions_only=True)
        except Exception as error:
            log.warning("reading the state bucket after the bus came back failed: %r", error)
        self.state = BusState.UP

    async def _error(self, error: Exception) -> None:
        if not self._permission_errors.offer(error):
            log.warning("bus %s: %s", self.bus.shown_url, error)

    # -- what the console asks of its engine ----------------------------------------------------------------------

    def jump_states(self) -> Mapping[str, SessionState]:
        """The bus, where the status bar shows jump hosts: "bus" up, connecting or lost, and how many messages
        were dropped as malformed or foreign."""
        state = {BusState.UP: SessionState.UP, BusState.CONNECTING: SessionState.CONNECTING}.get(
            self.state, SessionState.DOWN
        )
        label = "bus" if self.state is not BusState.LOST else BUS_LOST
        if self.counts.dropped:
            label = f"{label} ({self.counts.dropped} dropped)"
        return {label: state}

    async def run_command(self, device: Device, command: str, *, timeout_s: float) -> CommandResult:
        if self._transport is None:
            from edgeops.fleet.command_transport import NotConnected

            return await NotConnected().run_command(device, command, timeout_s=timeout_s)
        return await self._transport.run_command(device, command, timeout_s=timeout_s)

    def restart_subscriptions(self, device: str, group: str | None = None) -> RestartOutcome:
        """The collector holds the subscriptions; restarting them from a console is not offered over the bus."""
        return RestartOutcome.NO_SESSION


def _says_how_connected(event: FleetEvent) -> bool:
    from edgeops.fleet.events import (
        ExpectedIntervalChanged,
        SessionChanged,
        SubscriptionsDeclared,
        SubscriptionStateChanged,
        TelemetrySourceChanged,
    )

    return isinstance(
        event,
        SessionChanged
        | TelemetrySourceChanged
        | ExpectedIntervalChanged
        | SubscriptionsDeclared
        | SubscriptionStateChanged,
    )
