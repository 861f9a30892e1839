"""The headless collector: the session engine without a screen, publishing every device it holds to the bus.

Per device it holds (see leases.py): every change the supervisors report goes out as one message per device and
event-loop turn on `edgeops.<site>.<device>.telemetry` (the event stream keeps them for replay), the device's latest
state is kept in the state bucket, and command requests are answered through the collector's guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from nats.aio.client import Client
from nats.js.api import PubAck
from nats.js.client import JetStreamContext
from nats.js.kv import KeyValue

from edgeops.bus.commands import CommandResponder
from edgeops.bus.connection import BusSettings, connect_bus
from edgeops.bus.layout import Layout, ensure_layout
from edgeops.bus.leases import LeaseKeeper, default_collector_name
from edgeops.bus.state import DeviceStateFold
from edgeops.bus.subjects import device_key, telemetry_subject
from edgeops.bus.tasks import raise_if_cancelling, stop_tasks
from edgeops.clock import Clock
from edgeops.devices.samples import CommandResult
from edgeops.fleet.engine import EngineSettings, FleetEngine, PasswordPrompt
from edgeops.fleet.events import FleetEvent, encode_events
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Device, Inventory
from edgeops.paths import AppPaths

log = logging.getLogger(__name__)

# How long a sent batch waits for the stream's acknowledgement before it counts as not kept.
ACK_TIMEOUT_S = 10.0
# Batches sent and not yet acknowledged, at most: enough to hide the round trip, few enough that a busy server is
# not flooded (with nats-py's default of 4 000, lease renewals queued behind the flood timed out).
PUBLISH_WINDOW = 64
# A device's changes are gathered this long before they go out as one message: a sample arrives as several gNMI
# notifications a few milliseconds apart, which one message carries at a third of the rate.
BATCH_WINDOW_S = 0.05


@dataclass(frozen=True)
class CollectorSettings:
    """What one collector is called on the bus and how it shares the fleet."""

    name: str = field(default_factory=default_collector_name)
    layout: Layout = field(default_factory=Layout)
    # The collector's guard: config commands only when the collector was started to allow them.
    allow_config: bool = False
    # How often the state bucket is brought up to date (per device, only when something changed).
    state_every_s: float = 1.0


@dataclass
class CollectorCounts:
    """What the collector has done, for its status line and the benchmarks."""

    messages: int = 0
    events: int = 0
    publish_errors: int = 0
    state_writes: int = 0


class Collector:
    """Holds the sessions of the devices it leases and publishes them to the bus."""

    def __init__(
        self,
        inventory: Inventory,
        paths: AppPaths,
        bus: BusSettings,
        settings: CollectorSettings | None = None,
        *,
        engine_settings: EngineSettings | None = None,
        clock: Clock | None = None,
        password_prompt: PasswordPrompt | None = None,
    ) -> None:
        self.inventory = inventory
        self.bus = bus
        self.settings = settings or CollectorSettings()
        self.engine = FleetEngine(
            inventory,
            paths,
            clock=clock,
            settings=engine_settings,
            password_prompt=password_prompt,
        )
        # What the supervisors report reaches the store through the engine's tap; the collector publishes it too.
        self.engine.events.add_listener(self._on_event)
        self.counts = CollectorCounts()
        self._devices = {device.name: device for device in inventory.devices}
        self._pending: dict[str, list[FleetEvent]] = {}
        self._outbox: asyncio.Queue[tuple[str, list[FleetEvent]]] = asyncio.Queue()
        # Batches sent and waiting for the stream's acknowledgement, in the order they were sent.
        self._unacknowledged: asyncio.Queue[tuple[str, list[FleetEvent], asyncio.Future[PubAck] | None]] = (
            asyncio.Queue()
        )
        self._folds: dict[str, DeviceStateFold] = {}
        self._dirty: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self.client: Client | None = None
        self.js: JetStreamContext | None = None
        self.state: KeyValue | None = None
        self.leases: LeaseKeeper | None = None
        self.responder: CommandResponder | None = None
        self._stopped = False

    @property
    def store(self) -> FleetStore:
        return self.engine.store

    @property
    def held(self) -> Sequence[str]:
        return [] if self.leases is None else sorted(self.leases.held)

    async def start(self) -> None:
        """Connect (BusUnreachable when the bus cannot be reached), create the buckets and the stream, and start
        taking leases; sessions open for each device as its lease is taken."""
        self.client = await connect_bus(self.bus, name=f"edgeops collect {self.settings.name}")
        self.js = self.client.jetstream(publish_async_max_pending=PUBLISH_WINDOW)
        self.state, lease_bucket, ttl = await ensure_layout(self.js, self.settings.layout)
        self.responder = CommandResponder(self.client, self._run_command, allow_config=self.settings.allow_config)
        self.leases = LeaseKeeper(
            lease_bucket,
            self.inventory.devices,
            collector=self.settings.name,
            ttl_s=ttl,
            on_acquired=self._acquired,
            on_lost=self._lost,
            clock=self.engine.clock,
        )
        await self.engine.start(devices=())
        self._tasks = [
            asyncio.create_task(self._publish(), name="bus publish"),
            asyncio.create_task(self._fold_acknowledged(), name="bus acknowledgements"),
            asyncio.create_task(self._write_state(), name="bus state"),
            asyncio.create_task(self.leases.run(), name="bus leases"),
        ]

    async def stop(self, *, release: bool = True) -> None:
        """Stop the sessions, give the leases back (unless `release` is false: a test playing a dead collector)
        and close the connection."""
        if self._stopped:
            return
        self._stopped = True
        await stop_tasks(self._tasks)
        if self.responder is not None:
            await self.responder.aclose()
        await self.engine.stop()
        if self.leases is not None and release:
            await self.leases.release_all()
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()

    async def _acquired(self, device: Device) -> None:
        assert self.responder is not None
        self._folds[device.name] = DeviceStateFold()
        await self.responder.serve(device)
        self.engine.start_device(device.name)

    async def _lost(self, device: Device) -> None:
        # Forget the device first: what its supervisor says while stopping is not published (the new holder's
        # sessions speak for it now).
        assert self.responder is not None
        self._folds.pop(device.name, None)
        self._dirty.discard(device.name)
        await self.responder.stop_serving(device)
        await self.engine.stop_device(device.name)

    async def _run_command(self, device: Device, command: str, timeout_s: float) -> CommandResult:
        return await self.engine.run_command(device, command, timeout_s=timeout_s)

    # -- publishing ---------------------------------------------------------------------------------------------

    def _on_event(self, event: FleetEvent) -> None:
        """One change a supervisor reported: batched with the device's other changes of the next BATCH_WINDOW_S."""
        pending = self._pending.get(event.device)
        if pending is None:
            self._pending[event.device] = [event]
            asyncio.get_running_loop().call_later(BATCH_WINDOW_S, self._flush, event.device)
        else:
            pending.append(event)

    def _flush(self, device: str) -> None:
        events = self._pending.pop(device, [])
        if events and device in self._folds:
            self._outbox.put_nowait((device, events))

    async def _publish(self) -> None:
        """Send each batch to the stream in order, without waiting for its acknowledgement before the next.

        Waiting for each acknowledgement caps the collector at one batch per round trip to the server: on a busy
        machine that fell behind a fleet's telemetry and the batches waited in the outbox for tens of seconds.
        The connection keeps the order; `_fold_acknowledged` learns each batch's stream sequence.
        """
        assert self.js is not None
        while True:
            name, events = await self._outbox.get()
            if name not in self._folds:  # the lease was lost meanwhile
                continue
            device = self._devices[name]
            future: asyncio.Future[PubAck] | None
            try:
                future = await self.js.publish_async(telemetry_subject(device.site, name), encode_events(events))
            except Exception as error:  # the bus is away: the stream misses these, the state bucket catches up
                raise_if_cancelling()
                self.counts.publish_errors += 1
                log.debug("%s: not published: %r", name, error)
                future = None
            self._unacknowledged.put_nowait((name, events, future))

    async def _fold_acknowledged(self) -> None:
        """Fold each sent batch into its device's state with the stream sequence the server acknowledged."""
        while True:
            name, events, future = await self._unacknowledged.get()
            sequence = 0
            if future is not None:
                try:
                    ack = await asyncio.wait_for(future, ACK_TIMEOUT_S)
                except Exception as error:  # not kept by the stream (the bus away): the state bucket catches up
                    raise_if_cancelling()
                    self.counts.publish_errors += 1
                    log.debug("%s: not acknowledged: %r", name, error)
                else:
                    sequence = ack.seq
                    self.counts.messages += 1
                    self.counts.events += len(events)
            fold = self._folds.get(name)
            if fold is None:  # the lease was lost meanwhile
                continue
            for event in events:
                fold.fold(event, sequence)
            self._dirty.add(name)

    async def _write_state(self) -> None:
        assert self.state is not None
        while True:
            await asyncio.sleep(self.settings.state_every_s)
            dirty, self._dirty = self._dirty, set()
            for name in dirty:
                fold = self._folds.get(name)
                if fold is None:
                    continue
                device = self._devices[name]
                try:
                    await self.state.put(device_key(device.site, name), fold.encode())
                    self.counts.state_writes += 1
                except Exception as error:  # written again at the next change
                    raise_if_cancelling()
                    self._dirty.add(name)
                    log.debug("%s: state not written: %r", name, error)
