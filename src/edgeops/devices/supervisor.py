"""The per-device supervisor: keeps one SSH session and one gNMI session to a device open, through every fault.

Two asyncio tasks per device on the caller's loop, no threads. The SSH task opens the CLI session (through a
jump host when the device has one), watches it and reopens it with backoff; commands ride on it. The gNMI task
connects, and subscribes to each group of the platform's path map (counters, oper-state, health, alarms) with a
Subscribe call of its own on the one channel (an HTTP/2 stream each), feeding every decoded sample to the sink
(the fleet store). A path the device refuses costs its group only: the group is remembered as refused (with the
device's words, for the software it runs), polled over SSH meanwhile, and asked for again on the next connect.
A group that goes silent has its call restarted; a cut session is reconnected. A device that offers no gNMI, or
refuses every group, is polled over its SSH session instead, and gNMI is tried again now and then. Every state
change goes to the sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol

import asyncssh

from edgeops.clock import Clock, SystemClock
from edgeops.defaults import (
    COMMAND_TIMEOUT_S,
    CONNECT_TIMEOUT_S,
    COUNTER_INTERVAL_S,
    HEALTH_INTERVAL_S,
    KEEPALIVE_COUNT_MAX,
    KEEPALIVE_INTERVAL_S,
    MAX_OUTPUT_BYTES,
    SSH_POLL_INTERVAL_S,
    STALE_FACTOR,
)
from edgeops.devices.backoff import SEVERE, TRANSIENT, Backoff, BackoffPolicy
from edgeops.devices.errors import (
    AuthFailed,
    ConnectionLost,
    ConnectTimeout,
    DeviceError,
    GnmiAuthError,
    GnmiError,
    GnmiRejected,
    GnmiStreamCut,
    GnmiUnavailable,
    HostKeyRejected,
    Unreachable,
)
from edgeops.devices.gnmi import GnmiSession
from edgeops.devices.gnmi_paths import (
    StreamMode,
    SubscriptionSpec,
    native_path_map,
)
from edgeops.devices.hostkeys import KnownHosts
from edgeops.devices.interface_rows import COUNTERS_AT, InterfaceBatch
from edgeops.devices.pacing import TurnPacer
from edgeops.devices.ratelimit import ConnectLimiter
from edgeops.devices.samples import (
    COUNTER_FIELDS,
    CommandResult,
    HealthSample,
    SessionState,
    TelemetrySource,
    Transport,
)
from edgeops.devices.ssh import PasswordSource, SshSession, SshTarget, resolve_password
from edgeops.devices.ssh_poll import SshPoller
from edgeops.devices.subscriptions import GROUP_ORDER, GroupRejection, SubscriptionState
from edgeops.devices.tunnel import JumpHostPool
from edgeops.inventory.model import Device
from edgeops.logging_setup import DeviceLoggerAdapter, device_logger
from edgeops.platforms import Platform

# Devices do not sample faster than this, whatever we ask (SR OS: once a second); staleness is judged on
# the interval the device really uses.
PLATFORM_MIN_SAMPLE_S: dict[Platform, float] = {Platform.SROS: 1.0, Platform.SROS_CLASSIC: 1.0}


# A restart costs the device a new subscription and a full initial dump. When the client itself falls behind (a
# busy loop reads streams late), a short timeout would restart healthy streams and make it fall further behind:
# the data is shown stale after stale_factor x interval anyway; the restart can wait longer.
MIN_STALL_TIMEOUT_S = 20.0


class TelemetrySink(Protocol):
    """Where a supervisor reports (the fleet store satisfies it); every call is made on the event loop."""

    def apply_interfaces(self, batch: InterfaceBatch) -> None: ...

    def apply_health(self, sample: HealthSample) -> None: ...

    def set_session(self, device: str, transport: Transport, state: SessionState, detail: str = "") -> None: ...

    def set_telemetry_source(self, device: str, source: TelemetrySource | None) -> None: ...

    def set_expected_interval(self, device: str, seconds: float | None) -> None: ...

    def set_subscriptions(self, device: str, groups: Sequence[SubscriptionSpec], release: str) -> None: ...

    def set_subscription_state(
        self, device: str, group: str, state: SubscriptionState, rejection: GroupRejection | None = None
    ) -> None: ...

    def subscription_data(self, device: str, group: str) -> None: ...


# How often at most a group's data is reported to the sink (FleetStore.subscription_data): far below any stale
# limit (a multiple of the sample interval), so a group that comes back shows live within a second.
DATA_REPORT_INTERVAL_S = 1.0


@dataclass(frozen=True)
class SupervisorSettings:
    """The knobs of one device's supervision (part of the FleetEngine's EngineSettings)."""

    counter_interval_s: float = COUNTER_INTERVAL_S  # gNMI SAMPLE interval of interface counters
    health_interval_s: float = HEALTH_INTERVAL_S  # gNMI SAMPLE interval of CPU, memory, temperatures, alarms...
    ssh_poll_interval_s: float = SSH_POLL_INTERVAL_S  # SSH polling of a device without gNMI
    stale_factor: float = STALE_FACTOR  # data older than this many intervals is stale
    # A gNMI stream silent this long is restarted; None: twice the time after which its data counts as stale,
    # and never less than MIN_STALL_TIMEOUT_S.
    stall_timeout_s: float | None = None
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    command_timeout_s: float = COMMAND_TIMEOUT_S
    # The most output one command may return (the console's commands, as `edgeops run --max-output`); past it the
    # command fails with output-limit and the session is opened again.
    max_output_bytes: int = MAX_OUTPUT_BYTES
    # How long a command waits for a session that is still connecting before it fails.
    command_wait_s: float = 5.0
    keepalive_interval_s: float = KEEPALIVE_INTERVAL_S
    keepalive_count_max: int = KEEPALIVE_COUNT_MAX
    backoff: BackoffPolicy = TRANSIENT
    severe_backoff: BackoffPolicy = SEVERE  # after a rejected login or host key
    # A session that stayed up this long starts its next backoff schedule from the base again.
    stable_after_s: float = 30.0
    # Consecutive failed gNMI connects, while SSH works, before the device is polled over SSH instead.
    gnmi_fallback_after: int = 3
    gnmi_retry_s: float = 300.0


class GnmiStalled(GnmiUnavailable):
    """A gNMI stream stayed open but sent nothing for longer than the stall timeout."""


class _NoGnmi(Exception):
    """The device does not serve gNMI to us (refused, rejected the login, refused every group): poll over SSH."""

    def __init__(self, state: SessionState, detail: str) -> None:
        super().__init__(detail)
        self.state = state
        self.detail = detail


# What each group's data is in an interface sample polled over SSH (the rest of the sample is another group's).
_INTERFACE_GROUPS = frozenset({"counters", "oper-state"})
_HEALTH_GROUPS = frozenset({"health", "alarms"})
ALL_GROUPS = frozenset(GROUP_ORDER)


class RestartOutcome(StrEnum):
    """What `DeviceSupervisor.restart_subscriptions` did."""

    RESTARTING = "restarting"  # the calls are made again on the open session
    RETRYING_GNMI = "retrying-gnmi"  # the device was polled over SSH: gNMI is tried again now
    NO_SESSION = "no-session"  # no gNMI session to subscribe on (connecting, down, or no gNMI at all)
    NOT_SUBSCRIBED = "not-subscribed"  # the session has no such group (it has no paths on this platform)


@dataclass(eq=False)
class SubscribeCall:
    """One Subscribe call on the running gNMI session, carrying one or more groups."""

    specs: tuple[SubscriptionSpec, ...]
    task: asyncio.Task[None] | None = None
    delivered: int = 0  # responses this call received
    refusal: GnmiRejected | None = None  # the device refused the call
    failure: BaseException | None = None  # the call ended otherwise: the session is at fault

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.specs)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()


@dataclass(eq=False)
class GroupCall:
    """One group on the running gNMI session: the call that carries it (none while the device refuses it) and
    when its data last came."""

    spec: SubscriptionSpec
    stall_after_s: float  # silent this long (a sampled group), its call is made again
    call: SubscribeCall | None = None
    last_data: float = 0.0  # loop time of the group's latest data (or of its call's start)
    reported_data: float = float("-inf")  # loop time the sink was last told of this group's data
    rejection: GroupRejection | None = None  # the device refused this group
    restarts: int = 0

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The task of the call carrying the group (several groups share one)."""
        return self.call.task if self.call is not None else None

    @property
    def running(self) -> bool:
        return self.call is not None and self.call.running


STOP_PATIENCE_S = 10.0


async def cancel_and_wait(tasks: Sequence[asyncio.Task[None]], log: DeviceLoggerAdapter) -> None:
    """Cancel tasks and wait until they are really done.

    Cancelling once is not always enough on Python 3.11: `asyncio.wait_for` (used by gRPC, scrapli and
    asyncssh) swallows a cancellation that arrives just as the awaited operation completes, and the task
    carries on. So cancel again until every task has ended (or STOP_PATIENCE_S has passed, which is logged).
    """
    pending = {task for task in tasks if not task.done()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STOP_PATIENCE_S
    while pending:
        if loop.time() > deadline:
            log.warning("%d task(s) did not stop when cancelled: %s", len(pending), [t.get_name() for t in pending])
            return
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved, so a task that failed while stopping does not warn at exit


def _served_part(batch: InterfaceBatch, groups: frozenset[str]) -> InterfaceBatch:
    """The part of a polled batch that these groups serve: the state (oper-state), the counters, or both."""
    state, counters = "oper-state" in groups, "counters" in groups
    if state and counters:
        return batch
    no_state, no_counters = [None] * COUNTERS_AT, [None] * len(COUNTER_FIELDS)
    rows = {
        name: (row[:COUNTERS_AT] if state else no_state) + (row[COUNTERS_AT:] if counters else no_counters)
        for name, row in batch.rows.items()
    }
    return InterfaceBatch(batch.device, batch.timestamp, rows)


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else text


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class DeviceSupervisor:
    """Keeps one device's SSH session and gNMI stream up and reports everything to the sink.

    `start()` launches the two tasks on the running loop; `stop()` cancels them and closes both sessions.
    Every open waits for the shared limiter (`gnmi_limiter`, when given, paces the gNMI channels separately).
    `run_command()` runs a command on the persistent SSH session (serialised with the SSH polling).
    Jump hosts: the device's sessions ride on the pool's shared connection; when it drops they drop with it,
    and `on_jump_state(UP)` (wired by the engine to the pool's listener) wakes the supervisor at once so every
    device behind it comes back together, paced by the shared limiter.
    """

    def __init__(
        self,
        device: Device,
        *,
        sink: TelemetrySink,
        known_hosts: KnownHosts,
        limiter: ConnectLimiter,
        gnmi_limiter: ConnectLimiter | None = None,
        settings: SupervisorSettings | None = None,
        ssh_target: SshTarget | None = None,
        password: PasswordSource | None = None,
        jumps: JumpHostPool | None = None,
        jump: str | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        pacer: TurnPacer | None = None,
    ) -> None:
        if jump is not None and jumps is None:
            raise ValueError(f"{device.name}: a jump host needs the jump host pool")
        self.device = device
        self.name = device.name
        self.settings = settings or SupervisorSettings()
        self.jump = jump
        self._sink = sink
        self._limiter = limiter
        self._gnmi_limiter = gnmi_limiter or limiter
        self._jumps = jumps
        self._password = password
        self._clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._pacer = pacer or TurnPacer()
        self.log = device_logger(__name__, device.name)
        self.target = ssh_target or SshTarget.from_device(device)
        settings_ = self.settings
        self.ssh = SshSession(
            self.target,
            known_hosts=known_hosts,
            password=password,
            tunnel=self._tunnel if jump is not None else None,
            via=jump or "",
            connect_timeout_s=settings_.connect_timeout_s,
            command_timeout_s=settings_.command_timeout_s,
            max_output_bytes=settings_.max_output_bytes,
            keepalive_interval_s=settings_.keepalive_interval_s,
            keepalive_count_max=settings_.keepalive_count_max,
            clock=self._clock,
        )
        self.gnmi: GnmiSession | None = None
        self.ssh_state = SessionState.IDLE
        self.gnmi_state = SessionState.IDLE if device.gnmi_port is not None else SessionState.UNAVAILABLE
        self.ssh_detail = ""
        self.gnmi_detail = ""
        self.telemetry_source: TelemetrySource | None = None
        self.polling_over_ssh = False  # every group: the device has no usable gNMI
        # The groups' calls on the running gNMI session, by group name (empty while there is none).
        self.groups: dict[str, GroupCall] = {}
        self._calls: list[SubscribeCall] = []  # the Subscribe calls carrying them (one, normally)
        # What the device refused, by group, under the software it runs (`release`): kept across reconnects (the
        # group is asked for again each time) and forgotten when the release changes.
        self.release = ""
        self.rejections: dict[str, GroupRejection] = {}
        self.ssh_groups: frozenset[str] = frozenset()  # groups the device refused, polled over SSH meanwhile
        # Counters for tests, the benchmark and the log.
        self.samples_applied = 0
        self.ssh_opens = 0
        self.gnmi_streams = 0  # sessions whose streams delivered data
        self.stalls = 0
        self.group_restarts = 0  # group calls made again on a running session (asked for, or silent)
        self._ssh_up = asyncio.Event()
        self._ssh_wake = asyncio.Event()
        self._gnmi_wake = asyncio.Event()
        self._retry_gnmi = asyncio.Event()  # while polling over SSH: try gNMI again now
        self._group_event = asyncio.Event()  # a group call ended, or a restart was asked for
        self._restarts_wanted: set[str] = set()
        self._declared: tuple[SubscriptionSpec, ...] = ()
        self._ssh_group_task: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        self._delivered = 0  # items the current gNMI attempt has received

    # -- intervals --------------------------------------------------------------------------------

    @property
    def counter_interval_s(self) -> float:
        """The counter interval the device really samples at (never below its platform's minimum)."""
        return max(self.settings.counter_interval_s, PLATFORM_MIN_SAMPLE_S.get(self.device.platform, 0.0))

    @property
    def stall_timeout_s(self) -> float:
        configured = self.settings.stall_timeout_s
        if configured is not None:
            return configured
        return max(MIN_STALL_TIMEOUT_S, 2 * self.settings.stale_factor * self.counter_interval_s)

    def sampled_interval_s(self, seconds: float) -> float:
        """The interval the device really samples at when asked for `seconds` (its platform has a floor)."""
        return max(seconds, PLATFORM_MIN_SAMPLE_S.get(self.device.platform, 0.0))

    def group_stall_timeout_s(self, spec: SubscriptionSpec) -> float:
        """How long a sampled group may stay silent before its call is made again: as `stall_timeout_s`, but
        never less than two of the group's own intervals (health is sampled less often than counters)."""
        interval = self.sampled_interval_s(spec.interval_s)
        configured = self.settings.stall_timeout_s
        if configured is not None:
            return max(configured, 2 * interval)
        return max(MIN_STALL_TIMEOUT_S, 2 * self.settings.stale_factor * interval)

    @property
    def expected_interval_s(self) -> float:
        """How often interface data should come: counters streamed, or polled over SSH (refused, or no gNMI)."""
        if self.polling_over_ssh or "counters" in self.ssh_groups:
            return self.settings.ssh_poll_interval_s
        return self.counter_interval_s

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Launch the SSH and gNMI tasks on the running loop (returns at once)."""
        if self._running:
            return
        self._running = True
        self._tasks = [
            asyncio.create_task(self._guard("ssh", self._ssh_loop), name=f"ssh {self.name}"),
            asyncio.create_task(self._guard("gnmi", self._gnmi_loop), name=f"gnmi {self.name}"),
        ]

    async def stop(self) -> None:
        """Cancel both tasks and close both sessions; nothing of this device is left running."""
        self._running = False
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(tasks, self.log)
        if self._ssh_group_task is not None:  # normally stopped with the session that started it
            await cancel_and_wait([self._ssh_group_task], self.log)
            self._ssh_group_task = None
        gnmi, self.gnmi = self.gnmi, None
        if gnmi is not None:
            with contextlib.suppress(Exception):
                await gnmi.close()
        with contextlib.suppress(Exception):
            await self.ssh.close()
        self._ssh_up.clear()

    async def _guard(self, what: str, loop_fn: Callable[[], Awaitable[None]]) -> None:
        """Run a supervision loop; a bug in it is logged and the loop restarted, never silently lost."""
        while True:
            try:
                await loop_fn()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception("the %s supervisor failed unexpectedly; restarting it", what)
                await asyncio.sleep(self.settings.backoff.cap_s / 4)

    # -- reporting --------------------------------------------------------------------------------

    def _set_ssh(self, state: SessionState, detail: str = "") -> None:
        if state is not self.ssh_state:
            self.log.info("SSH %s%s", state.value, f": {_first_line(detail)}" if detail else "")
        self.ssh_state = state
        self.ssh_detail = detail
        self._sink.set_session(self.name, "ssh", state, detail)

    def _set_gnmi(self, state: SessionState, detail: str = "") -> None:
        if state is not self.gnmi_state:
            self.log.info("gNMI %s%s", state.value, f": {_first_line(detail)}" if detail else "")
        self.gnmi_state = state
        self.gnmi_detail = detail
        self._sink.set_session(self.name, "gnmi", state, detail)

    def _set_source(self, source: TelemetrySource) -> None:
        self.telemetry_source = source
        self._sink.set_telemetry_source(self.name, source)
        self._sink.set_expected_interval(self.name, self.expected_interval_s)

    def _declare(self, specs: Sequence[SubscriptionSpec], release: str) -> None:
        """Tell the sink which groups there are now, each with the interval the device really samples at."""
        shown = tuple(
            replace(spec, interval_s=self.sampled_interval_s(spec.interval_s))
            if spec.mode is not StreamMode.ON_CHANGE
            else spec
            for spec in specs
        )
        self._declared = shown
        self._sink.set_subscriptions(self.name, shown, release)

    def _group_state(self, group: str, state: SubscriptionState, rejection: GroupRejection | None = None) -> None:
        self._sink.set_subscription_state(self.name, group, state, rejection)

    def _via(self) -> str:
        return f"via {self.jump}" if self.jump else ""

    # -- jump hosts -------------------------------------------------------------------------------

    async def _tunnel(self) -> asyncssh.SSHClientConnection:
        assert self._jumps is not None and self.jump is not None
        return await self._jumps.get_tunnel(self.jump)

    def _jump_down(self) -> bool:
        return self._jumps is not None and self.jump is not None and self._jumps.state(self.jump) is not SessionState.UP

    def on_jump_state(self, state: SessionState) -> None:
        """The pool's listener, for this device's jump host: when it is back, stop waiting and reconnect."""
        if state is SessionState.UP:
            self._ssh_wake.set()
            self._gnmi_wake.set()

    async def _pause(self, seconds: float, wake: asyncio.Event) -> None:
        """Sleep for a backoff delay, cut short when the jump host comes back.

        The loops clear `wake` when they start an attempt, not here: a jump host that came back between the
        failure and this pause has already set it, and the pause then ends at once.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await wake.wait()

    # -- SSH --------------------------------------------------------------------------------------

    async def _ssh_loop(self) -> None:
        backoff = Backoff(self.settings.backoff, self.settings.severe_backoff, rng=self._rng)
        loop = asyncio.get_running_loop()
        while self._running:
            self._ssh_wake.clear()
            self._set_ssh(SessionState.CONNECTING, self._via())
            try:
                async with self._limiter.opening():
                    await self.ssh.open()
            except DeviceError as error:
                self._report_ssh_error(error)
                severe = isinstance(error, AuthFailed | HostKeyRejected)
                await self._pause(backoff.next_delay(severe=severe), self._ssh_wake)
                continue
            self.ssh_opens += 1
            up_since = loop.time()
            self._set_ssh(SessionState.UP, self._via())
            self._ssh_up.set()
            try:
                lost = await self._watch_ssh()
            finally:
                self._ssh_up.clear()
            if not self._running:
                return
            self._report_ssh_error(lost or ConnectionLost(self.name, "the SSH session ended"))
            if loop.time() - up_since >= self.settings.stable_after_s:
                backoff.reset()
            await self._pause(backoff.next_delay(), self._ssh_wake)

    async def _watch_ssh(self) -> DeviceError | None:
        """Wait until the session dies: connection lost (keepalive, EOF, jump host), a failed command, not alive."""
        interval = max(1.0, self.settings.keepalive_interval_s)
        while self._running:
            try:
                async with asyncio.timeout(interval):
                    return await self.ssh.wait_lost()
            except TimeoutError:
                if not self.ssh.alive:
                    return self.ssh.last_error
        return None

    def _report_ssh_error(self, error: DeviceError) -> None:
        detail = error.message
        state = error.session_state
        if self._jump_down():
            assert self.jump is not None
            detail = f"jump host {self.jump} is down: {_first_line(detail)}"
        self._set_ssh(state, detail)

    async def run_command(self, command: str, timeout_s: float | None = None) -> CommandResult:
        """Run one command on the persistent session; never raises (see CommandResult.ok / failure).

        A session still connecting is waited for (up to command_wait_s); a session that is down fails at once
        with the reason it is down.
        """
        timeout = self.settings.command_timeout_s if timeout_s is None else timeout_s
        if not self._ssh_up.is_set():
            if not self._running:
                return self._failed(command, ConnectionLost(self.name, f"{self.name}: the session engine is stopped"))
            if self.ssh_state in (SessionState.IDLE, SessionState.CONNECTING):
                wait = self.settings.command_wait_s
                try:
                    async with asyncio.timeout(wait):
                        await self._ssh_up.wait()
                except TimeoutError:
                    message = f"the SSH session to {self.name} is still connecting (waited {wait:g} s)"
                    return self._failed(command, ConnectTimeout(self.name, message))
            else:
                # The whole reason (a host key warning is several lines), for the person reading the result.
                error = self.ssh.last_error
                why = error.message if error is not None else self.ssh_detail
                reason = f"the SSH session to {self.name} is {self.ssh_state.value}" + (f": {why}" if why else "")
                return self._failed(command, error or ConnectionLost(self.name, reason), reason)
        return await self.ssh.run(command, timeout)

    def _failed(self, command: str, error: DeviceError, reason: str | None = None) -> CommandResult:
        return CommandResult.failed(
            self.name, command, failure=error.code, reason=reason or error.message, started=self._clock.now()
        )

    # -- gNMI -------------------------------------------------------------------------------------

    async def _gnmi_loop(self) -> None:
        if self.device.gnmi_port is None:
            self._set_gnmi(SessionState.UNAVAILABLE, "no gNMI port in the inventory: polled over SSH")
            await self._poll_over_ssh(until=None)
            return
        loop = asyncio.get_running_loop()
        backoff = Backoff(self.settings.backoff, self.settings.severe_backoff, rng=self._rng)
        refusals = 0  # consecutive failed connects while SSH worked
        fallback: _NoGnmi | None = None  # set while the device is polled over SSH instead
        while self._running:
            if fallback is not None:
                await self._poll_over_ssh(until=loop.time() + self.settings.gnmi_retry_s)
            started = loop.time()
            self._delivered = 0
            self._gnmi_wake.clear()
            try:
                await self._gnmi_session(announce=fallback is None)
                return  # the stream ended without an error: only when we are stopping
            except (_NoGnmi, DeviceError) as failure:
                outcome: Exception = failure
            delivered = self._delivered > 0
            if delivered:  # gNMI worked this time: leave the SSH fallback
                fallback = None
                refusals = 0
            if isinstance(outcome, _NoGnmi):
                fallback = outcome
                self._set_gnmi(outcome.state, outcome.detail)
                continue
            if fallback is not None:  # a retry from SSH polling failed: keep polling, try again later
                self._set_gnmi(fallback.state, fallback.detail)
                continue
            if isinstance(outcome, GnmiStalled):
                self.stalls += 1
                self._set_gnmi(SessionState.DOWN, str(outcome))
                delay = backoff.next_delay()
            elif isinstance(outcome, DeviceError) and not isinstance(outcome, GnmiError):
                # SSH's side of the hierarchy: the jump host is down, or no password could be had
                self._report_gnmi_device_error(outcome)
                delay = backoff.next_delay(severe=isinstance(outcome, AuthFailed))
            elif delivered:  # a stream that was delivering was cut
                self._set_gnmi(SessionState.DOWN, str(outcome))
                if loop.time() - started >= self.settings.stable_after_s:
                    backoff.reset()
                delay = backoff.next_delay()
            else:  # the connect (or the subscription) failed before any data came
                # Count refusals only while SSH works: a device that is down altogether is not "without gNMI".
                if self._ssh_up.is_set():
                    refusals += 1
                if refusals >= self.settings.gnmi_fallback_after:
                    detail = f"gNMI not available ({_first_line(str(outcome))}): polled over SSH"
                    fallback = _NoGnmi(SessionState.UNAVAILABLE, detail)
                    self._set_gnmi(fallback.state, fallback.detail)
                    continue
                self._set_gnmi(SessionState.DOWN, str(outcome))
                delay = backoff.next_delay()
            await self._pause(delay, self._gnmi_wake)

    def _report_gnmi_device_error(self, error: DeviceError) -> None:
        detail = error.message
        if self._jump_down():
            assert self.jump is not None
            detail = f"jump host {self.jump} is down: {_first_line(detail)}"
        self._set_gnmi(error.session_state, detail)

    async def _gnmi_session(self, *, announce: bool) -> None:
        """Connect, subscribe and feed the sink until the session ends; raises why it ended."""
        device = self.device
        assert device.gnmi_port is not None
        target: str | None = None
        if self._jumps is not None and self.jump is not None:
            try:
                local_host, local_port = await self._jumps.forward(self.jump, self.target.host, device.gnmi_port)
            except (OSError, asyncssh.Error) as error:
                message = f"cannot forward gNMI to {self.target.host}:{device.gnmi_port} via {self.jump}: {error}"
                raise Unreachable(self.name, message) from error
            target = _host_port(local_host, local_port)
        elif self.target.host != device.host:
            target = _host_port(self.target.host, device.gnmi_port)  # an ssh_config HostName for an alias
        if announce:
            self._set_gnmi(SessionState.CONNECTING, self._via())
        password = await resolve_password(self._password)
        session = GnmiSession(
            device,
            username=device.credentials.username,
            password=password,
            target=target,
            connect_timeout_s=self.settings.connect_timeout_s,
        )
        self.gnmi = session
        try:
            try:
                async with self._gnmi_limiter.opening():
                    await session.connect()
            except GnmiAuthError as error:
                raise _NoGnmi(SessionState.DOWN, f"gNMI rejected the login ({error}): polled over SSH") from error
            await self._stream(session)
        finally:
            self.gnmi = None
            await session.close()
            if self._running and announce:  # (while polling over SSH, the groups stay polled through retries)
                self._groups_down()

    def _groups_down(self) -> None:
        """The session ended: no group has a call until the next one (refused groups keep their reason)."""
        for spec in self._declared:
            if spec.paths:
                self._group_state(spec.name, SubscriptionState.DOWN)

    async def _stream(self, session: GnmiSession) -> None:
        """Subscribe to every group on ONE call, and supervise it until the session has to end: the call cut or
        failing (raised), every sampled group silent (GnmiStalled), every group refused (_NoGnmi).

        A refused call is split: each of its groups is asked for on a call of its own, to learn which ones the
        device refuses (remembered per release, polled over SSH meanwhile), and the groups it takes are carried
        again on one call. A group that goes silent has the call carrying it made again."""
        specs = session.default_subscriptions(
            counter_interval_s=self.settings.counter_interval_s,
            health_interval_s=self.settings.health_interval_s,
        )
        release = session.release
        if release != self.release:
            if self.rejections:
                self.log.info("the device now runs %s (was %s): asking again for every group", release, self.release)
            self.rejections = {}
            self.release = release
        self._declare(specs, release)
        # A device samples on a timer that starts with the subscription. Subscriptions opened in the same burst
        # (the connect storm, a jump host coming back) would all report at the same instant every interval, and
        # decoding them back to back holds the loop for tens of milliseconds. A random start spreads them out.
        await asyncio.sleep(self._rng.uniform(0.0, self.counter_interval_s))
        groups = {spec.name: GroupCall(spec, self.group_stall_timeout_s(spec)) for spec in specs if spec.paths}
        self.groups = groups
        self._calls = []
        self._restarts_wanted.clear()
        self._group_event.clear()
        if groups:
            # Every group, refused before or not, on one call: the device may serve now what it refused.
            self._open_call(session, [group.spec for group in groups.values()])
        try:
            await self._supervise(session, groups)
        finally:
            self.groups = {}
            calls, self._calls = self._calls, []
            polling, self._ssh_group_task = self._ssh_group_task, None
            self._poll_refused_groups(frozenset())
            pending = [call.task for call in calls if call.task is not None]
            if polling is not None:
                pending.append(polling)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    @property
    def subscribe_calls(self) -> int:
        """How many Subscribe calls the running gNMI session holds (one, unless the device refuses the groups
        together but takes them one by one)."""
        return sum(1 for call in self._calls if call.running)

    async def _supervise(self, session: GnmiSession, groups: Mapping[str, GroupCall]) -> None:
        loop = asyncio.get_running_loop()
        check_every = min((group.stall_after_s for group in groups.values()), default=self.stall_timeout_s) / 3
        while self._running:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(check_every):
                    await self._group_event.wait()
            self._group_event.clear()
            for call in list(self._calls):
                if call.running:
                    continue
                if call.failure is not None:
                    raise call.failure  # cut, or failed otherwise: the session (or the device) is at fault
                if call.refusal is not None:
                    self._calls.remove(call)
                    await self._refused_call(session, call)
            wanted, self._restarts_wanted = self._restarts_wanted, set()
            if wanted:
                await self._restart(session, wanted)
            refusals = {name: group.rejection for name, group in groups.items() if group.rejection is not None}
            if groups and len(refusals) == len(groups):
                reasons = "; ".join(f"{name}: {_first_line(why.text)}" for name, why in refusals.items())
                raise _NoGnmi(SessionState.UNAVAILABLE, f"every subscription was refused ({reasons}): polled over SSH")
            self._poll_refused_groups(frozenset(refusals))
            now = loop.time()
            sampled = [group for group in groups.values() if group.spec.mode is StreamMode.SAMPLE and group.running]
            stalled = [group for group in sampled if now - group.last_data > group.stall_after_s]
            if stalled and len(stalled) == len(sampled):
                silent = now - max(group.last_data for group in sampled)
                raise GnmiStalled(f"{self.name}: no gNMI update for {silent:.0f} s: restarting the stream")
            silent_calls: list[SubscribeCall] = []
            for group in stalled:  # others deliver: only the call carrying the silent group is made again
                self.stalls += 1
                self.log.info(
                    "no %s update for %.0f s: making its subscription again", group.name, now - group.last_data
                )
                if group.call is not None and group.call not in silent_calls:
                    silent_calls.append(group.call)
            for call in silent_calls:
                self.group_restarts += 1
                await self._close_call(call)
                self._open_call(session, call.specs)

    def _open_call(self, session: GnmiSession, specs: Sequence[SubscriptionSpec]) -> SubscribeCall:
        """Make one Subscribe call carrying these groups."""
        call = SubscribeCall(tuple(specs))
        now = asyncio.get_running_loop().time()
        for spec in specs:
            group = self.groups[spec.name]
            group.call = call
            group.last_data = now
            group.rejection = None  # asked for again: no longer polled in its stead (its words stay shown)
        self._calls.append(call)
        names = "+".join(call.names)
        call.task = asyncio.create_task(self._run_call(session, call), name=f"gnmi-{names} {self.name}")
        return call

    async def _close_call(self, call: SubscribeCall) -> None:
        task = call.task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if call in self._calls:
            self._calls.remove(call)
        for group in self.groups.values():
            if group.call is call:
                group.call = None

    async def _refused_call(self, session: GnmiSession, call: SubscribeCall) -> None:
        """The device refused a call: a call of one group refuses that group; a call of several is split."""
        assert call.refusal is not None
        for group in self.groups.values():
            if group.call is call:
                group.call = None
        if len(call.specs) == 1:
            self._refused(call.specs[0].name, call.refusal)
            return
        self.log.info("the device refused the subscription: asking for each group alone to learn which it refuses")
        accepted = await self._probe(session, call.specs)
        if not accepted:
            return
        if len(accepted) == len(call.specs):
            # Refused together, taken one by one: the device cannot carry them on one call; give each its own.
            self.log.info("the device takes each group alone but not together: one call each")
            for spec in accepted:
                self._open_call(session, (spec,))
            return
        self._open_call(session, accepted)

    async def _probe(self, session: GnmiSession, specs: Sequence[SubscriptionSpec]) -> list[SubscriptionSpec]:
        """Ask for each group on a call of its own, all at once, each call ended at the device's first answer:
        the groups the device takes (in the order given); each one it refuses is recorded as refused."""

        failures: list[Exception] = []

        async def answer(spec: SubscriptionSpec) -> GnmiRejected | None:
            stream = session.stream((spec,))
            try:
                async with contextlib.aclosing(stream), asyncio.timeout(self.settings.connect_timeout_s):
                    async for _ in stream:
                        return None  # the device took the group: data (or the end of an empty dump) came
            except GnmiRejected as refusal:
                return refusal
            except TimeoutError:
                return None  # no answer, but no refusal either: the call carrying it will tell
            except Exception as error:  # a cut or failed session: raised below as itself, not in a group
                failures.append(error)
            return None

        async with asyncio.TaskGroup() as probes:
            answers = [probes.create_task(answer(spec), name=f"gnmi-probe-{spec.name} {self.name}") for spec in specs]
        if failures:
            raise failures[0]
        accepted = []
        for spec, task in zip(specs, answers, strict=True):
            refusal = task.result()
            if refusal is None:
                accepted.append(spec)
            else:
                self._refused(spec.name, refusal)
        return accepted

    def _refused(self, name: str, refusal: GnmiRejected) -> None:
        """The device refused one group: remember its words (under the software it runs) and show them."""
        rejection = GroupRejection(
            code=refusal.status_name, text=refusal.details, release=self.release, at=self._clock.now()
        )
        known = self.rejections.get(name)
        if known is None or known.text != rejection.text:
            self.log.info("the device refused the %s subscription: %s", name, _first_line(refusal.details))
        self.rejections[name] = rejection
        group = self.groups.get(name)
        if group is not None:
            group.rejection = rejection
            group.call = None
        self._group_state(name, SubscriptionState.REJECTED, rejection)

    async def _restart(self, session: GnmiSession, names: set[str]) -> None:
        """Make the asked-for groups' subscription again on the same channel (never a reconnect).

        Only refused groups asked for: each is asked for alone first, and the call carrying the others is made
        again with those the device takes now (untouched if it takes none). Otherwise the call is made again
        carrying what it carried and the groups asked for (every group, for a restart of all), split if refused."""
        groups = self.groups
        self.group_restarts += 1
        for name in sorted(names):
            self.log.info("making the %s subscription again, as asked", name)
            groups[name].restarts += 1
            self._group_state(name, SubscriptionState.PENDING)
        refused = [group.spec for name, group in groups.items() if name in names and group.call is None]
        carried = {name for name, group in groups.items() if group.call is not None}
        if len(refused) == len(names):
            taken = {spec.name for spec in await self._probe(session, refused)}
            if not taken:
                return
            wanted = carried | taken
        else:
            wanted = carried | names
        for call in list(self._calls):
            await self._close_call(call)
        self._open_call(session, [group.spec for name, group in groups.items() if name in wanted])

    async def _run_call(self, session: GnmiSession, call: SubscribeCall) -> None:
        try:
            await self._consume(session, call)
            call.failure = GnmiStreamCut(f"{self.name}: the {'+'.join(call.names)} stream ended")
        except GnmiRejected as refusal:
            call.refusal = refusal
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a cut stream, or anything else: the supervisor decides
            call.failure = error
        finally:
            self._group_event.set()

    def _answered(self, call: SubscribeCall, names: tuple[str, ...]) -> None:
        """A response on `call`, with data of the groups `names` (see GnmiSession.stream's `on_data`)."""
        groups = self.groups
        if not call.delivered:  # the device took the call: every group on it is live
            for spec in call.specs:
                group = groups.get(spec.name)
                if group is not None and group.call is call:
                    group.rejection = None
                    if self.rejections.pop(spec.name, None) is not None:
                        self.log.info("the device serves the %s subscription now", spec.name)
                    self._group_state(spec.name, SubscriptionState.LIVE)
        call.delivered += 1
        if not self._delivered:  # gNMI is up when data flows, not when the channel opens
            self.gnmi_streams += 1
            self._set_gnmi(SessionState.UP, self._via())
            self._set_source("gnmi")
        self._delivered += 1
        if names:
            now = asyncio.get_running_loop().time()
            data = self._sink.subscription_data
            for name in names:
                group = groups.get(name)
                if group is None:
                    data(self.name, name)
                    continue
                group.last_data = now
                # The sink needs to hear of data often enough to see a group turn stale and come back, not for
                # every notification (several a second per device, each one an event for every tap listener).
                if now - group.reported_data >= DATA_REPORT_INTERVAL_S:
                    group.reported_data = now
                    data(self.name, name)

    async def _consume(self, session: GnmiSession, call: SubscribeCall) -> None:
        sink = self._sink
        answered = functools.partial(self._answered, call)
        # The pacer is shared by every stream of the fleet: their decoding shares each loop turn, and a stream
        # with a backlog (a large initial dump, a loop that fell behind) lets the others and the console run.
        async for item in session.stream(call.specs, pace=self._pacer.turn, on_data=answered):
            if isinstance(item, InterfaceBatch):
                self._apply(sink.apply_interfaces, item, len(item.rows))
            elif isinstance(item, HealthSample):
                self._apply(sink.apply_health, item, 1)
            del item  # the store has it: not held through the wait for the next (see GnmiSession.stream)

    def _apply(self, apply: Callable[[Any], None], item: InterfaceBatch | HealthSample, samples: int) -> None:
        try:
            apply(item)
            self.samples_applied += samples
        except Exception:  # data the sink cannot take must not end the stream
            self.log.exception("could not apply gNMI data: %r", item)

    # -- restarting groups ------------------------------------------------------------------------

    def restart_subscriptions(self, group: str | None = None) -> RestartOutcome:
        """Make one group's subscription (or every group's) again on the open gNMI session, without reconnecting:
        a refused group is asked for again, a silent one resubscribed. The groups the device takes ride on one
        call, so restarting one of them makes that call again (still no reconnect). A device polled over SSH (no
        usable gNMI) tries gNMI again at once instead."""
        calls = self.groups
        if not calls:
            if self.polling_over_ssh and self.device.gnmi_port is not None:
                self._retry_gnmi.set()
                return RestartOutcome.RETRYING_GNMI
            return RestartOutcome.NO_SESSION
        names = list(calls) if group is None else [group]
        if any(name not in calls for name in names):
            return RestartOutcome.NOT_SUBSCRIBED
        self._restarts_wanted.update(names)
        self._group_event.set()
        return RestartOutcome.RESTARTING

    # -- SSH polling ------------------------------------------------------------------------------

    def _poll_refused_groups(self, groups: frozenset[str]) -> None:
        """Poll these (refused) groups over SSH while the others stream; an empty set stops the polling."""
        if groups == self.ssh_groups:
            return
        counters_moved = ("counters" in groups) != ("counters" in self.ssh_groups)
        self.ssh_groups = groups
        if counters_moved and self.telemetry_source is not None:
            self._sink.set_expected_interval(self.name, self.expected_interval_s)
        task = self._ssh_group_task
        if groups and (task is None or task.done()):
            self._ssh_group_task = asyncio.create_task(self._poll_groups_over_ssh(), name=f"ssh-poll {self.name}")
        elif not groups and task is not None:
            task.cancel()
            self._ssh_group_task = None

    async def _poll_groups_over_ssh(self) -> None:
        """Poll the groups in `ssh_groups` every ssh_poll_interval_s (read each round: the set may change)."""
        loop = asyncio.get_running_loop()
        interval = self.settings.ssh_poll_interval_s
        poller = self._poller()
        while self._running and self.ssh_groups:
            await self._ssh_up.wait()
            started = loop.time()
            try:
                await self._poll_once(poller, self.ssh_groups)
            except DeviceError as error:
                self.log.info("SSH polling interrupted: %s", _first_line(error.message))
                await asyncio.sleep(min(interval, 1.0))
                continue
            await asyncio.sleep(max(0.0, started + interval - loop.time()))

    def _poller(self) -> SshPoller:
        return SshPoller(
            self.ssh,
            self.name,
            self.device.platform,
            clock=self._clock,
            command_timeout_s=self.settings.command_timeout_s,
        )

    async def _poll_once(self, poller: SshPoller, groups: Iterable[str]) -> None:
        """One SSH poll of the given groups: only their part of each sample reaches the sink (the other groups
        stream, and their values, counters above all, must come from one source only)."""
        wanted = frozenset(groups)
        served: set[str] = set()
        if wanted & _INTERFACE_GROUPS:
            for batch in await poller.poll_interfaces():
                batch = _served_part(batch, wanted)
                self._sink.apply_interfaces(batch)
                self.samples_applied += len(batch.rows)
                if batch.rows:
                    served |= wanted & _INTERFACE_GROUPS
        if wanted & _HEALTH_GROUPS:
            health = await poller.poll_health()
            if "health" not in wanted:
                health = HealthSample(device=health.device, timestamp=health.timestamp, alarms=health.alarms)
            elif "alarms" not in wanted:
                health = replace(health, alarms=None)
            self._sink.apply_health(health)
            self.samples_applied += 1
            if "alarms" in wanted and health.alarms is not None:
                served.add("alarms")
            if "health" in wanted and any(
                getattr(health, name) is not None for name in ("cpu_pct", "memory_total", "version", "temperatures")
            ):
                served.add("health")
        declared = {spec.name for spec in self._declared}
        for group in sorted(served & declared):
            self._group_state(group, SubscriptionState.POLLED)
            self._sink.subscription_data(self.name, group)

    async def _poll_over_ssh(self, *, until: float | None) -> None:
        """Poll every group over the SSH session every ssh_poll_interval_s, until `until` (loop time), or until
        asked to try gNMI again (`restart_subscriptions`)."""
        loop = asyncio.get_running_loop()
        interval = self.settings.ssh_poll_interval_s
        poller = self._poller()
        if not self._declared:  # never connected over gNMI: show the platform's groups, served by polling
            self._declare(
                native_path_map(self.device.platform).subscriptions(
                    counter_interval_s=self.settings.counter_interval_s,
                    health_interval_s=self.settings.health_interval_s,
                ),
                self.release,
            )
        self.polling_over_ssh = True
        self._retry_gnmi.clear()
        self._set_source("ssh")
        try:
            while until is None or loop.time() < until:
                remaining = None if until is None else until - loop.time()
                try:
                    async with asyncio.timeout(remaining):
                        await self._ssh_up.wait()
                except TimeoutError:
                    return
                started = loop.time()
                try:
                    await self._poll_once(poller, ALL_GROUPS)
                except DeviceError as error:
                    # The session failed under the poll: the SSH task notices and reopens it. Pause first, so
                    # a session that still looks up for a moment is not asked again in a tight loop.
                    self.log.info("SSH polling interrupted: %s", _first_line(error.message))
                    await asyncio.sleep(min(interval, 1.0))
                    continue
                next_at = started + interval
                if until is not None:
                    next_at = min(next_at, until)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, next_at - loop.time())):
                        await self._retry_gnmi.wait()
                if self._retry_gnmi.is_set():
                    self._retry_gnmi.clear()
                    return  # gNMI is to be tried again now
        finally:
            self.polling_over_ssh = False
