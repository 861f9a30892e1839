"""The live session engine: a supervisor per device, shared jump host connections, and the fleet store they feed."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import random
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from edgeops.clock import Clock, SystemClock
from edgeops.devices.errors import AuthFailed, ConnectionLost
from edgeops.devices.hostkeys import HostKeyAnnouncer, HostKeyConfirm, HostKeyPolicy, KnownHosts
from edgeops.devices.pacing import TURN_SLICE_S, TurnPacer
from edgeops.devices.ratelimit import ConnectLimiter
from edgeops.devices.samples import CommandResult, SessionState
from edgeops.devices.ssh import PasswordSource, SshTarget
from edgeops.devices.supervisor import DeviceSupervisor, RestartOutcome, SupervisorSettings
from edgeops.devices.tunnel import JumpHostPool
from edgeops.fleet.events import EventTap
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Device, Inventory, SecretRef
from edgeops.inventory.secrets import PromptCache, SecretError, resolve_secret
from edgeops.inventory.ssh_config import ssh_settings_for
from edgeops.paths import AppPaths

log = logging.getLogger(__name__)

PasswordPrompt = Callable[[str], "str | Awaitable[str]"]
"""Asks the user for a password (the console shows a dialog); called with a prompt like "Password for lab: "."""


@dataclass(frozen=True)
class EngineSettings:
    """How the engine talks to the fleet. Defaults suit a real fleet; tests shorten the intervals.

    `supervisor` holds what each device's supervision needs (intervals, timeouts, backoff); the rest is the
    engine's own: fleet-wide pacing, host keys, the staleness tick.
    """

    supervisor: SupervisorSettings = field(default_factory=SupervisorSettings)
    # Per transport (SSH logins, gNMI channels), across the whole fleet. A login is a dozen or so round trips, so the
    # storm is bound by latency, not by this machine: 500 lab devices came up in 72 s opening 32 at a time, 37 s
    # with 128 and 23 s with 256. Through a jump host the opens are channels on its one connection (sshd's
    # MaxStartups and MaxSessions do not count forwarded channels).
    max_concurrent_opens: int = 256
    opens_per_second: float = 100.0  # per transport, after a burst of max_concurrent_opens
    # gNMI decoding one event-loop turn may do for all devices together before the loop serves its timers and keys
    # again (see TurnPacer); 0 turns the sharing off, each stream then decodes whatever it has received.
    decode_slice_s: float = TURN_SLICE_S
    # None: each host's StrictHostKeyChecking in ssh_config, else accept-new (hostkeys.DEFAULT_POLICY).
    hostkey_policy: HostKeyPolicy | None = None
    # The user's and the system's OpenSSH known_hosts files, read only; None: each host's UserKnownHostsFile /
    # GlobalKnownHostsFile in ssh_config, else OpenSSH's defaults. Ours is AppPaths.known_hosts.
    user_known_hosts: tuple[Path, ...] | None = None
    global_known_hosts: tuple[Path, ...] | None = None
    staleness_tick_s: float = 1.0
    seed: int | None = None  # seeds the backoff jitter (tests); None: random


class SecretSource:
    """Resolves credential references when a connection is opened, asking the user at most once per prompt label.

    The secret is handed to the connection and kept nowhere else; failures become AuthFailed, whose message
    names the reference but never a secret.
    """

    def __init__(self, prompt: PasswordPrompt | None = None) -> None:
        self._prompt = prompt
        self._cache: PromptCache = {}
        self._asking: dict[str, asyncio.Lock] = {}

    async def resolve(self, ref: SecretRef) -> str:
        """The secret behind `ref`; raises SecretError."""
        if ref.kind != "prompt":
            return resolve_secret(ref, prompt_cache=self._cache)
        label = ref.value
        if label in self._cache:
            return self._cache[label]
        if self._prompt is None:
            raise SecretError(f"the password for {label or 'devices'} is to be asked, but nothing can ask for it")
        # Hundreds of devices share one prompt: one question, everyone else waits for the answer.
        async with self._asking.setdefault(label, asyncio.Lock()):
            if label not in self._cache:
                answer = self._prompt(f"Password for {label or 'devices'}: ")
                if inspect.isawaitable(answer):
                    answer = await answer
                self._cache[label] = answer
        return self._cache[label]

    def password_for(self, who: str, ref: SecretRef | None) -> PasswordSource | None:
        """A password source for one device or jump host: resolved on each connect, errors as AuthFailed."""
        if ref is None:
            return None

        async def password() -> str:
            try:
                return await self.resolve(ref)
            except SecretError as error:
                raise AuthFailed(who, f"{who}: no password to log in with: {error}") from None

        return password


class FleetEngine:
    """Keeps an SSH session and a gNMI subscription open to every device and feeds `store`.

    `start()` returns at once; each device's supervisor connects in the background, paced by one shared
    connection limiter. Devices behind a jump host (inventory `jump:` or ssh_config ProxyJump) share one
    connection to it. Implements CommandTransport for the command runner.
    """

    def __init__(
        self,
        inventory: Inventory,
        paths: AppPaths,
        *,
        clock: Clock | None = None,
        settings: EngineSettings | None = None,
        password_prompt: PasswordPrompt | None = None,
        on_new_host_key: HostKeyAnnouncer | None = None,
        confirm_host_key: HostKeyConfirm | None = None,
    ) -> None:
        """on_new_host_key: told about each host key recorded on first use. confirm_host_key: asks the user about a
        new host key under the policy ask (without it, ask refuses like strict)."""
        self.inventory = inventory
        self.paths = paths
        self.clock: Clock = clock or SystemClock()
        self.settings = settings = settings or EngineSettings()
        supervision = settings.supervisor
        self.store = FleetStore(inventory, self.clock, stale_factor=supervision.stale_factor)
        # Every change the supervisors make passes the tap on its way to the store: a recorder (or a publisher)
        # listens there. With no listener it only forwards.
        self.events = EventTap(self.store, self.clock)
        self.secrets = SecretSource(password_prompt)
        self.known_hosts = KnownHosts(
            paths.known_hosts,
            user_files=settings.user_known_hosts,
            global_files=settings.global_known_hosts,
            policy=settings.hostkey_policy,
            on_new_key=on_new_host_key,
            confirm=confirm_host_key,
        )
        # SSH logins and gNMI channels are paced separately: a login costs the device (and a jump host) a key
        # exchange and an authentication, a gNMI channel a TCP and HTTP/2 handshake; one bucket for both
        # would make the slower of them hold the other back.
        self.ssh_limiter = ConnectLimiter(settings.max_concurrent_opens, settings.opens_per_second)
        self.gnmi_limiter = ConnectLimiter(settings.max_concurrent_opens, settings.opens_per_second)
        self.jumps, device_jumps = JumpHostPool.from_inventory(
            inventory,
            resolve_secret=self._jump_secret,
            known_hosts=self.known_hosts,
            connect_timeout_s=supervision.connect_timeout_s,
            keepalive_interval_s=supervision.keepalive_interval_s,
            keepalive_count_max=supervision.keepalive_count_max,
            backoff_base_s=supervision.backoff.base_s,
            backoff_cap_s=supervision.backoff.cap_s,
            clock=self.clock,
            rng=random.Random(settings.seed) if settings.seed is not None else None,
        )
        # One generator for every device's jitter: a Mersenne Twister holds 2.5 KB of state (half a megabyte for 200
        # devices), and jitter needs its draws spread, not independent per device.
        jitter = random.Random(settings.seed)
        # One pacer for the fleet: every stream's decoding shares each event-loop turn (see TurnPacer).
        self.pacer = TurnPacer(settings.decode_slice_s if settings.decode_slice_s > 0 else math.inf)
        self._supervisors: dict[str, DeviceSupervisor] = {}
        for device in inventory.devices:
            ssh = ssh_settings_for(device, inventory)
            self._supervisors[device.name] = DeviceSupervisor(
                device,
                sink=self.events,
                known_hosts=self.known_hosts,
                limiter=self.ssh_limiter,
                gnmi_limiter=self.gnmi_limiter,
                settings=supervision,
                ssh_target=SshTarget.from_settings(device, ssh),
                password=self.secrets.password_for(device.name, device.credentials.password),
                jumps=self.jumps if device.name in device_jumps else None,
                jump=device_jumps.get(device.name),
                clock=self.clock,
                rng=jitter,
                pacer=self.pacer,
            )
        self._by_jump: dict[str, list[DeviceSupervisor]] = {}
        for name, jump in device_jumps.items():
            self._by_jump.setdefault(jump, []).append(self._supervisors[name])
        self._ticker: asyncio.Task[None] | None = None
        self._started = False
        self._closed = False

    async def _jump_secret(self, ref: SecretRef) -> str:
        try:
            return await self.secrets.resolve(ref)
        except SecretError as error:
            raise AuthFailed("jump host", f"no password for a jump host: {error}") from None

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self, devices: Collection[str] | None = None) -> None:
        """Start every supervisor (or those of `devices` only) and the staleness ticker; returns at once
        (connections open in the background)."""
        if self._closed:
            raise RuntimeError("the engine was stopped; build a new one")
        if self._started:
            return
        self._started = True
        self.jumps.add_listener(self._on_jump_state)
        for name, supervisor in self._supervisors.items():
            if devices is None or name in devices:
                supervisor.start()
        self._ticker = asyncio.create_task(self._tick_staleness(), name="fleet staleness")
        log.info("session engine started for %d devices", len(self._supervisors) if devices is None else len(devices))

    def start_device(self, name: str) -> None:
        """Start one device's supervisor on a started engine (a collector that took the device's lease)."""
        if self._started and not self._closed:
            self._supervisors[name].start()

    async def stop_device(self, name: str) -> None:
        """Stop one device's supervisor and close its sessions (a collector that lost the device's lease)."""
        await self._supervisors[name].stop()

    async def stop(self) -> None:
        """Stop every supervisor, close every session and jump host connection; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        await asyncio.gather(*(supervisor.stop() for supervisor in self._supervisors.values()))
        self.jumps.remove_listener(self._on_jump_state)
        await self.jumps.close()
        if self._started:
            log.info("session engine stopped")

    aclose = stop

    async def __aenter__(self) -> FleetEngine:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _tick_staleness(self) -> None:
        while True:
            await asyncio.sleep(self.settings.staleness_tick_s)
            try:
                self.store.refresh_staleness()
            except Exception:  # a store bug must not stop staleness for the rest of the run
                log.exception("refreshing staleness failed")

    def _on_jump_state(self, jump: str, state: SessionState) -> None:
        for supervisor in self._by_jump.get(jump, ()):
            supervisor.on_jump_state(state)

    # -- what others read -------------------------------------------------------------------------

    @property
    def supervisors(self) -> Mapping[str, DeviceSupervisor]:
        return self._supervisors

    def supervisor(self, name: str) -> DeviceSupervisor:
        return self._supervisors[name]

    def jump_states(self) -> dict[str, SessionState]:
        """The state of every jump host connection, by jump host name."""
        return {name: self.jumps.state(name) for name in self.jumps.names}

    def restart_subscriptions(self, device: str, group: str | None = None) -> RestartOutcome:
        """Make one subscription group's call (or all of the device's) again without reconnecting the device.
        KeyError for a device not in the inventory."""
        return self._supervisors[device].restart_subscriptions(group)

    @property
    def samples_applied(self) -> int:
        """Samples (interface and health) written into the store so far, over gNMI and SSH polling."""
        return sum(supervisor.samples_applied for supervisor in self._supervisors.values())

    # -- CommandTransport -------------------------------------------------------------------------

    async def run_command(self, device: Device | str, command: str, *, timeout_s: float) -> CommandResult:
        """Run one command on the device's persistent session; always returns a result."""
        name = device if isinstance(device, str) else device.name
        supervisor = self._supervisors.get(name)
        if supervisor is None:
            now = self.clock.now()
            error = ConnectionLost(name, f"{name} is not in the inventory the session engine runs")
            return CommandResult.failed(name, command, failure=error.code, reason=error.message, started=now)
        return await supervisor.run_command(command, timeout_s)
