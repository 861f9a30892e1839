"""Reading the past from the event stream: every device's events from a moment on, in the order they were published,
so that a console can go back to before it started (apply them to a fresh store with fleet.events.apply_event)."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from edgeops.bus.connection import BusSettings, connect_bus
from edgeops.bus.subjects import ALL_TELEMETRY, EVENT_STREAM, device_of_subject
from edgeops.fleet.events import EventFormatError, FleetEvent, decode_events


@dataclass(frozen=True)
class StreamBatch:
    """One message of the stream: a device's events of one moment, with where it sits in the stream."""

    sequence: int
    published: float  # unix time the server stored it
    device: str
    events: tuple[FleetEvent, ...]


async def read_stream(
    bus: BusSettings, *, since: float | None = None, until: float | None = None
) -> AsyncIterator[StreamBatch]:
    """Every message the stream holds from `since` (unix time; None: its oldest) up to what it held when the
    reading began (or `until`). Malformed messages and messages whose events name another device are skipped."""
    client = await connect_bus(bus, name="edgeops replay")
    try:
        js = client.jetstream()
        info = await js.stream_info(EVENT_STREAM)
        last = info.state.last_seq
        if last == 0:
            return
        if since is None:
            config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
        else:
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_TIME,
                opt_start_time=datetime.datetime.fromtimestamp(since, tz=datetime.UTC),  # type: ignore[arg-type]
            )
        queue: asyncio.Queue[Msg] = asyncio.Queue()

        async def received(msg: Msg) -> None:
            queue.put_nowait(msg)

        subscription = await js.subscribe(
            ALL_TELEMETRY, stream=EVENT_STREAM, cb=received, ordered_consumer=True, config=config
        )
        try:
            while True:
                msg = await queue.get()
                metadata = msg.metadata
                sequence = metadata.sequence.stream
                published = metadata.timestamp.timestamp()
                if until is not None and published > until:
                    return
                where = device_of_subject(msg.subject)
                if where is not None:
                    try:
                        events = decode_events(msg.data)
                    except EventFormatError:
                        events = []
                    if events and all(event.device == where[1] for event in events):
                        yield StreamBatch(sequence, published, where[1], tuple(events))
                if sequence >= last or metadata.num_pending == 0:
                    return
        finally:
            await subscription.unsubscribe()
    finally:
        await client.close()
