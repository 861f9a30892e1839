"""Device leases: which collector holds the sessions of which device, kept in a JetStream key-value bucket.

A lease is taken with create (it exists: someone else holds it) and renewed with update at the revision this
collector last wrote (compare-and-set: a lease someone else took meanwhile is never overwritten). The bucket's age
limit is the TTL, so a lease a dead collector stops renewing disappears, and the next sweep of a live collector
takes it. A collector leases only devices of its own inventory.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass

from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import Error as JetStreamError
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError
from nats.js.kv import KeyValue

from edgeops.bus.subjects import device_key, token, untoken
from edgeops.bus.tasks import raise_if_cancelling
from edgeops.clock import Clock, SystemClock
from edgeops.inventory.model import Device

log = logging.getLogger(__name__)

CONFLICT = "conflict"  # first token of the keys that report two collectors with different credentials for a device
LEASE_VERSION = 1


def credentials_fingerprint(device: Device) -> str:
    """What identifies how a collector logs in to a device, without any secret: a hash of the address, the user
    name, where the password comes from (the reference, never its value) and the key file names."""
    credentials = device.credentials
    facts = [
        device.host,
        device.ssh_port,
        device.gnmi_port,
        credentials.username,
        None if credentials.password is None else [credentials.password.kind, credentials.password.value],
        sorted(path.name for path in credentials.key_files),
    ]
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Lease:
    """Who holds a device (the value of its key in the lease bucket)."""

    device: str
    site: str
    collector: str
    host: str
    credentials: str  # credentials_fingerprint of the holder's inventory entry
    since: float  # unix time the holder took it
    renewed: float  # unix time of the holder's latest renewal (its clock)

    def encode(self) -> bytes:
        return json.dumps({"version": LEASE_VERSION, **asdict(self)}, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> Lease | None:
        """The lease in `data`, or None when it is not one of ours."""
        try:
            fields = json.loads(data)
            if not isinstance(fields, dict) or fields.pop("version", None) != LEASE_VERSION:
                return None
            return cls(**fields)
        except (ValueError, TypeError):
            return None


@dataclass(frozen=True)
class Conflict:
    """A collector that wanted a device another collector holds with different credentials."""

    device: str
    site: str
    holder: str
    holder_credentials: str
    collector: str
    credentials: str

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> Conflict | None:
        try:
            fields = json.loads(data)
            return cls(**fields) if isinstance(fields, dict) else None
        except (ValueError, TypeError):
            return None


def conflict_key(site: str, device: str, collector: str) -> str:
    return f"{CONFLICT}.{device_key(site, device)}.{token(collector)}"


def default_collector_name() -> str:
    return socket.gethostname() or "collector"


DeviceCallback = Callable[[Device], Awaitable[None]]
_BUS_ERRORS = (NatsError, JetStreamError, NatsTimeout, asyncio.TimeoutError)


class LeaseKeeper:
    """Takes, renews and gives back the leases of one collector.

    `sweep()` (every TTL/3 from `run()`) renews what it holds, and tries to take every device of its inventory that
    nobody holds. A lease lost to compare-and-set (someone else holds it now), or not renewed within the TTL (the
    bus was unreachable: another collector may have it by now), is given up at once: `on_lost` stops its sessions.
    """

    def __init__(
        self,
        kv: KeyValue,
        devices: Iterable[Device],
        *,
        collector: str,
        ttl_s: float,
        on_acquired: DeviceCallback,
        on_lost: DeviceCallback,
        clock: Clock | None = None,
    ) -> None:
        self.kv = kv
        self.devices = {device.name: device for device in devices}
        self.collector = collector
        self.host = socket.gethostname()
        self.ttl_s = ttl_s
        self.clock = clock or SystemClock()
        self._on_acquired = on_acquired
        self._on_lost = on_lost
        self._fingerprints = {name: credentials_fingerprint(device) for name, device in self.devices.items()}
        self.held: dict[str, tuple[int, float, float]] = {}  # device -> (revision, since, monotonic renewal)
        self.conflicts: dict[str, Lease] = {}  # device -> the other collector's lease, with other credentials

    @property
    def renew_every_s(self) -> float:
        return self.ttl_s / 3

    async def run(self) -> None:
        """Sweep until cancelled."""
        while True:
            try:
                await self.sweep()
            except Exception:  # one bad sweep must not end the leases: the next one tries again
                raise_if_cancelling()
                log.exception("lease sweep failed")
            await asyncio.sleep(self.renew_every_s)

    async def sweep(self) -> None:
        for name, device in self.devices.items():
            if name in self.held:
                await self._renew(device)
            else:
                await self._take(device)

    def _lease(self, device: Device, since: float) -> Lease:
        return Lease(
            device=device.name,
            site=device.site,
            collector=self.collector,
            host=self.host,
            credentials=self._fingerprints[device.name],
            since=since,
            renewed=self.clock.now(),
        )

    async def _take(self, device: Device) -> None:
        key = device_key(device.site, device.name)
        since = self.clock.now()
        try:
            revision = await self.kv.create(key, self._lease(device, since).encode())
        except KeyWrongLastSequenceError:
            await self._check_holder(device, key)
            return
        except _BUS_ERRORS as error:
            log.debug("%s: lease not taken: %r", device.name, error)
            return
        self.held[device.name] = (revision, since, self.clock.monotonic())
        self.conflicts.pop(device.name, None)
        log.info("%s: lease taken", device.name)
        await self._on_acquired(device)

    async def _check_holder(self, device: Device, key: str) -> None:
        try:
            entry = await self.kv.get(key)
        except (KeyNotFoundError, *_BUS_ERRORS):
            return
        holder = Lease.decode(entry.value or b"")
        if holder is None or holder.credentials == self._fingerprints[device.name]:
            self.conflicts.pop(device.name, None)
            return
        if device.name not in self.conflicts:
            log.warning(
                "%s is collected by %s with other credentials than ours (%s, ours %s): not taking it over",
                device.name,
                holder.collector,
                holder.credentials,
                self._fingerprints[device.name],
            )
        self.conflicts[device.name] = holder
        report = Conflict(
            device.name,
            device.site,
            holder.collector,
            holder.credentials,
            self.collector,
            self._fingerprints[device.name],
        )
        try:  # kept in the lease bucket, so it fades out within the TTL once the conflict is gone
            await self.kv.put(conflict_key(device.site, device.name, self.collector), report.encode())
        except _BUS_ERRORS as error:
            log.debug("%s: conflict not reported: %r", device.name, error)

    async def _renew(self, device: Device) -> None:
        revision, since, renewed = self.held[device.name]
        key = device_key(device.site, device.name)
        try:
            new_revision = await self.kv.update(key, self._lease(device, since).encode(), last=revision)
        except (KeyWrongLastSequenceError, KeyNotFoundError):
            log.warning("%s: lease lost (another collector holds it now)", device.name)
            await self._give_up(device)
            return
        except _BUS_ERRORS as error:
            if self.clock.monotonic() - renewed >= self.ttl_s:
                log.warning("%s: lease not renewed within %g s (%r): giving it up", device.name, self.ttl_s, error)
                await self._give_up(device)
            return
        self.held[device.name] = (new_revision, since, self.clock.monotonic())

    async def _give_up(self, device: Device) -> None:
        self.held.pop(device.name, None)
        await self._on_lost(device)

    async def release_all(self) -> None:
        """Give back every lease (a collector stopping cleanly): the others take the devices at their next sweep."""
        for name in list(self.held):
            revision, _, _ = self.held.pop(name)
            device = self.devices[name]
            try:
                await self.kv.delete(device_key(device.site, name), last=revision)
            except _BUS_ERRORS as error:
                log.debug("%s: lease not given back: %r", name, error)


@dataclass(frozen=True)
class Ownership:
    """What `edgeops collect --status` shows: every lease and every reported conflict."""

    leases: tuple[Lease, ...]
    conflicts: tuple[Conflict, ...]


async def read_ownership(kv: KeyValue) -> Ownership:
    """Every lease and conflict in the bucket now."""
    leases: list[Lease] = []
    conflicts: list[Conflict] = []
    try:
        keys = await kv.keys()
    except NoKeysError:
        keys = []
    for key in keys:
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:
            continue
        value = entry.value or b""
        parts = key.split(".")
        if parts[0] == CONFLICT and len(parts) == 4:
            conflict = Conflict.decode(value)
            if conflict is not None:
                conflicts.append(conflict)
        elif len(parts) == 2:
            lease = Lease.decode(value)
            if lease is not None and (untoken(parts[0]), untoken(parts[1])) == (lease.site, lease.device):
                leases.append(lease)
    return Ownership(tuple(sorted(leases, key=lambda lease: (lease.site, lease.device))), tuple(conflicts))
