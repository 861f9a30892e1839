"""The bus's JetStream parts: the state and lease buckets and the event stream. Collectors create them; consoles
(which may be read-only users) only bind to them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError
from nats.js.kv import KeyValue

from edgeops.bus.subjects import ALL_TELEMETRY, EVENT_STREAM, LEASE_BUCKET, STATE_BUCKET

log = logging.getLogger(__name__)

DEFAULT_LEASE_TTL_S = 15.0
# Replay goes back this far; past it, or past the size cap, the oldest events are dropped.
DEFAULT_RETENTION_S = 24 * 3600.0
DEFAULT_STREAM_BYTES = 1 << 30


@dataclass(frozen=True)
class Layout:
    """How long leases live and how much of the past the stream keeps."""

    lease_ttl_s: float = DEFAULT_LEASE_TTL_S
    retention_s: float = DEFAULT_RETENTION_S
    stream_bytes: int = DEFAULT_STREAM_BYTES


async def ensure_layout(js: JetStreamContext, layout: Layout) -> tuple[KeyValue, KeyValue, float]:
    """Create (or bind to) the state and lease buckets and the event stream; returns (state, leases, lease TTL).

    The lease bucket's age limit is the lease TTL: a lease nobody renews disappears by itself. The first collector
    on a bus sets it; a collector asking for another one is told the bucket's (every collector must renew in time
    for the same limit).
    """
    try:
        state = await js.create_key_value(bucket=STATE_BUCKET, history=1, description="edgeops: latest device state")
    except BadRequestError:  # it exists with another configuration: use it as it is
        state = await js.key_value(STATE_BUCKET)
    try:
        leases = await js.create_key_value(
            bucket=LEASE_BUCKET, history=1, ttl=layout.lease_ttl_s, description="edgeops: who collects which device"
        )
        ttl = layout.lease_ttl_s
    except BadRequestError:
        leases = await js.key_value(LEASE_BUCKET)
        ttl = (await leases.status()).ttl or layout.lease_ttl_s
        if ttl != layout.lease_ttl_s:
            log.warning(
                "the lease bucket's TTL is %g s (set by the first collector); using it, not %g s",
                ttl,
                layout.lease_ttl_s,
            )
    config = StreamConfig(
        name=EVENT_STREAM,
        description="edgeops: every device's events, for replay",
        subjects=[ALL_TELEMETRY],
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        storage=StorageType.FILE,
        max_age=layout.retention_s,
        max_bytes=layout.stream_bytes,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:  # it exists with other limits (another collector's): keep them
        await js.stream_info(EVENT_STREAM)
    return state, leases, ttl


async def bind_layout(js: JetStreamContext) -> tuple[KeyValue, KeyValue]:
    """The state and lease buckets as they are (no collector has run yet: nats.js.errors.BucketNotFoundError)."""
    return await js.key_value(STATE_BUCKET), await js.key_value(LEASE_BUCKET)
