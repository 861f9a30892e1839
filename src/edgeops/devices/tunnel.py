"""One shared asyncssh connection per jump host: tunnels for SSH sessions and forwarded local ports for gNMI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from edgeops.clock import Clock, SystemClock
from edgeops.defaults import CONNECT_TIMEOUT_S, KEEPALIVE_INTERVAL_S
from edgeops.devices.errors import DeviceError, Unreachable
from edgeops.devices.hostkeys import HostKeyCheck, KnownHosts
from edgeops.devices.samples import SessionState
from edgeops.devices.ssh import (
    PasswordSource,
    ProxyCommandTunnel,
    asyncssh_auth_options,
    connect_error,
    resolve_password,
    ssh_config_options,
)
from edgeops.inventory.model import Inventory, SecretRef
from edgeops.inventory.ssh_config import ConfigUse, HostKeyConfig, ProxyHop, ssh_settings_for
from edgeops.logging_setup import device_logger

log = logging.getLogger(__name__)

LOCAL_FORWARD_HOST = "127.0.0.1"
CLOSE_TIMEOUT_S = 5.0

JumpListener = Callable[[str, SessionState], None]
"""Called with (jump name, new state) whenever a jump host connection changes state."""


@dataclass(frozen=True)
class JumpSpec:
    """How to reach one jump host: its address and login, and the jump host in front of it (if any)."""

    name: str
    host: str
    port: int = 22
    username: str = ""
    key_files: tuple[Path, ...] = ()
    use_agent: bool = True
    password: PasswordSource | None = field(default=None, compare=False, repr=False)
    via: str | None = None  # the name of the jump host this one is reached through
    host_keys: HostKeyConfig | None = None  # ssh_config's host key options for this host
    config: ConfigUse | None = None  # how asyncssh applies ssh_config; None: no ssh_config at all

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def hop_name(hop: ProxyHop, via: str | None) -> str:
    """An inventory jump host keeps its name; an ssh_config ProxyJump hop is named user@host:port (after its via)."""
    if hop.jump_host:
        return hop.jump_host
    plain = f"{hop.username}@{hop.host}:{hop.port}"
    return f"{via}>{plain}" if via else plain


@dataclass
class _Forward:
    device_host: str
    device_port: int
    local_port: int = 0
    listener: asyncssh.SSHListener | None = None


@dataclass
class _Jump:
    spec: JumpSpec
    state: SessionState = SessionState.IDLE
    conn: asyncssh.SSHClientConnection | None = None
    up: asyncio.Event = field(default_factory=asyncio.Event)
    connecting: asyncio.Task[asyncssh.SSHClientConnection] | None = None
    reconnecting: asyncio.Task[None] | None = None
    last_error: DeviceError | None = None
    failures: int = 0
    retry_at: float = 0.0  # monotonic: before this, a failed jump host fails fast instead of being retried
    was_up: bool = False  # only a jump host that was in use is reconnected in the background
    connections_opened: int = 0
    proxy: ProxyCommandTunnel | None = None  # the ssh_config ProxyCommand of the last attempt, if it used one
    forwards: dict[tuple[str, int], _Forward] = field(default_factory=dict)


class JumpHostPool:
    """The connections to every jump host, opened on demand and shared by all the devices behind each.

    A jump host that drops takes its devices' sessions with it (they ride on its channels); the pool then
    reconnects it in the background with capped, jittered backoff, and `wait_up()` / the listeners tell the
    devices' supervisors when to reopen, so they go down together and come back together.
    """

    def __init__(
        self,
        *,
        known_hosts: KnownHosts,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        keepalive_interval_s: float = KEEPALIVE_INTERVAL_S,
        keepalive_count_max: int = 3,
        backoff_base_s: float = 1.0,
        backoff_cap_s: float = 30.0,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.known_hosts = known_hosts
        self.connect_timeout_s = connect_timeout_s
        self.keepalive_interval_s = keepalive_interval_s
        self.keepalive_count_max = keepalive_count_max
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self._clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._jumps: dict[str, _Jump] = {}
        self._listeners: list[JumpListener] = []
        self._closed = False

    # -- registration -------------------------------------------------------------------------------

    def add(self, spec: JumpSpec) -> str:
        """Register a jump host (idempotent for the same name); returns its name."""
        existing = self._jumps.get(spec.name)
        if existing is None:
            self._jumps[spec.name] = _Jump(spec)
        elif existing.spec != spec:
            log.warning("jump host %s is registered twice with different settings; keeping the first", spec.name)
        return spec.name

    def add_chain(
        self,
        hops: Sequence[ProxyHop],
        password_for: Callable[[ProxyHop], PasswordSource | None] | None = None,
        use_agent_for: Callable[[ProxyHop], bool] | None = None,
    ) -> str | None:
        """Register a ProxyJump chain (outermost first, as SshSettings.proxy_jump); returns the last hop's name."""
        via: str | None = None
        for hop in hops:
            name = hop_name(hop, via)
            self.add(
                JumpSpec(
                    name=name,
                    host=hop.host,
                    port=hop.port,
                    username=hop.username,
                    key_files=hop.key_files,
                    use_agent=use_agent_for(hop) if use_agent_for else True,
                    password=password_for(hop) if password_for else None,
                    via=via,
                    host_keys=hop.host_keys,
                    config=hop.config,
                )
            )
            via = name
        return via

    @classmethod
    def from_inventory(
        cls,
        inventory: Inventory,
        *,
        resolve_secret: Callable[[SecretRef], str | Awaitable[str]],
        **options: Any,
    ) -> tuple[JumpHostPool, dict[str, str]]:
        """A pool with every jump chain the inventory's devices use; also device name -> the jump to tunnel through.

        Jump host passwords are resolved by `resolve_secret` when a connection is opened, never before.
        """
        pool = cls(**options)

        def password_for(hop: ProxyHop) -> PasswordSource | None:
            if not hop.jump_host:
                return None
            credentials = inventory.jump_host(hop.jump_host).credentials
            ref = credentials.password if credentials else None
            return None if ref is None else (lambda: resolve_secret(ref))

        def use_agent_for(hop: ProxyHop) -> bool:
            credentials = inventory.jump_host(hop.jump_host).credentials if hop.jump_host else None
            return credentials.use_agent if credentials else True

        device_jumps: dict[str, str] = {}
        for device in inventory.devices:
            settings = ssh_settings_for(device, inventory)
            if settings.proxy_jump:
                last = pool.add_chain(settings.proxy_jump, password_for, use_agent_for)
                assert last is not None
                device_jumps[device.name] = last
        return pool, device_jumps

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._jumps)

    def spec(self, name: str) -> JumpSpec:
        return self._jump(name).spec

    def _jump(self, name: str) -> _Jump:
        try:
            return self._jumps[name]
        except KeyError:
            raise KeyError(f"unknown jump host {name!r}") from None

    # -- state --------------------------------------------------------------------------------------

    def state(self, name: str) -> SessionState:
        return self._jump(name).state

    def last_error(self, name: str) -> DeviceError | None:
        return self._jump(name).last_error

    def connections_opened(self, name: str) -> int:
        """How many connections the pool has opened to this jump host (1 while it never dropped)."""
        return self._jump(name).connections_opened

    def up_event(self, name: str) -> asyncio.Event:
        """Set while the jump host connection is up; cleared when it drops."""
        return self._jump(name).up

    async def wait_up(self, name: str) -> None:
        await self._jump(name).up.wait()

    def add_listener(self, listener: JumpListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: JumpListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _set_state(self, jump: _Jump, state: SessionState) -> None:
        if jump.state is state:
            return
        jump.state = state
        for listener in list(self._listeners):
            try:
                listener(jump.spec.name, state)
            except Exception:  # a broken listener must not stop the others from hearing about it
                log.exception("jump host state listener failed")

    # -- connections --------------------------------------------------------------------------------

    async def get_tunnel(self, name: str) -> asyncssh.SSHClientConnection:
        """The open connection to jump host `name`, opening it if needed (one attempt shared by all callers).

        Raises a DeviceError subclass; during the backoff after a failed attempt it raises that failure again
        at once, so hundreds of devices behind a dead jump host do not hammer it.
        """
        if self._closed:
            raise Unreachable(name, f"jump host {name}: the pool is closed")
        jump = self._jump(name)
        if jump.conn is not None:
            return jump.conn
        if jump.connecting is None:
            if jump.last_error is not None and self._clock.monotonic() < jump.retry_at:
                raise jump.last_error
            jump.connecting = asyncio.create_task(self._connect(jump), name=f"jump-connect-{name}")
            jump.connecting.add_done_callback(self._connect_done)
        # shield: a device that gives up waiting must not cancel the attempt the others share.
        return await asyncio.shield(jump.connecting)

    def _connect_done(self, task: asyncio.Task[asyncssh.SSHClientConnection]) -> None:
        for jump in self._jumps.values():
            if jump.connecting is task:
                jump.connecting = None
        if not task.cancelled():
            task.exception()  # retrieved here, so an attempt nobody waited for does not warn at exit

    async def _connect(self, jump: _Jump) -> asyncssh.SSHClientConnection:
        spec = jump.spec
        logger = device_logger(__name__, spec.name)
        self._set_state(jump, SessionState.CONNECTING)
        check: HostKeyCheck | None = None
        try:
            tunnel: asyncssh.SSHClientConnection | None = None
            if spec.via:
                try:
                    tunnel = await self.get_tunnel(spec.via)
                except DeviceError as exc:
                    message = f"jump host {spec.name} is behind {spec.via}, which is down: {exc}"
                    raise Unreachable(spec.name, message) from exc
            check = self.known_hosts.check(spec.name, spec.host, spec.port, spec.host_keys)
            password = await resolve_password(spec.password)
            try:
                conn = await asyncio.wait_for(
                    self._open_connection(jump, check, password, tunnel), self.connect_timeout_s
                )
            except Exception:
                # Policy ask: asyncssh refused a new key while the user had not answered; on a yes, again.
                if not await check.confirm():
                    raise
                conn = await asyncio.wait_for(
                    self._open_connection(jump, check, password, tunnel), self.connect_timeout_s
                )
        except asyncio.CancelledError:
            self._set_state(jump, SessionState.DOWN if jump.was_up else SessionState.IDLE)
            raise
        except Exception as exc:
            if jump.proxy is not None:
                await jump.proxy.settle()
            error = connect_error(
                exc,
                device=spec.name,
                address=spec.address,
                check=check,
                timeout=self.connect_timeout_s,
                via=spec.via or "",
                proxy=jump.proxy,
            )
            jump.last_error = error
            jump.failures += 1
            jump.retry_at = self._clock.monotonic() + self._backoff(jump.failures)
            logger.warning("jump host connection failed: %s", error.message.splitlines()[0])
            self._set_state(jump, error.session_state)
            raise error from exc
        jump.conn = conn
        jump.connections_opened += 1
        jump.last_error = None
        jump.failures = 0
        jump.was_up = True
        logger.info("jump host connection open to %s", spec.address)
        await self._restore_forwards(jump, conn)
        jump.up.set()
        self._set_state(jump, SessionState.UP)
        return conn

    async def _open_connection(
        self,
        jump: _Jump,
        check: HostKeyCheck,
        password: str | None,
        tunnel: asyncssh.SSHClientConnection | None,
    ) -> asyncssh.SSHClientConnection:
        spec = jump.spec
        holder: list[asyncssh.SSHClientConnection] = []
        route: asyncssh.SSHClientConnection | ProxyCommandTunnel | None = tunnel
        jump.proxy = None
        if route is None and spec.config is not None and spec.config.proxy_command:
            route = jump.proxy = ProxyCommandTunnel(spec.config.proxy_command, spec.name)

        def on_lost(exc: Exception | None) -> None:
            if holder:
                self._connection_lost(jump, holder[0], exc)

        options: dict[str, Any] = {
            "host": spec.host,
            **ssh_config_options(
                spec.config,
                keepalive_interval_s=self.keepalive_interval_s,
                keepalive_count_max=self.keepalive_count_max,
                cli=False,
            ),
        }
        conn = await asyncssh.connect(
            port=spec.port,
            # The chain was resolved already (ProxyJump included): asyncssh must not follow a ProxyJump itself.
            tunnel=route,
            username=spec.username or (),
            password=password,
            known_hosts=check.known_hosts,
            client_factory=check.client_factory(on_lost),
            **options,
            **asyncssh_auth_options(password=password, key_files=spec.key_files, use_agent=spec.use_agent),
        )
        holder.append(conn)
        return conn

    def _backoff(self, failures: int) -> float:
        """Exponential backoff with jitter (half to full of the step), capped."""
        step = min(self.backoff_cap_s, self.backoff_base_s * 2 ** max(0, failures - 1))
        return step * self._rng.uniform(0.5, 1.0)

    def _connection_lost(self, jump: _Jump, conn: asyncssh.SSHClientConnection, exc: Exception | None) -> None:
        if jump.conn is not conn:
            return
        jump.conn = None
        jump.up.clear()
        for forward in jump.forwards.values():
            forward.listener = None  # asyncssh closed the listeners with the connection
        if self._closed:
            return
        jump.last_error = Unreachable(
            jump.spec.name, f"the connection to jump host {jump.spec.name} was lost{f': {exc}' if exc else ''}"
        )
        device_logger(__name__, jump.spec.name).warning("%s", jump.last_error)
        self._set_state(jump, SessionState.DOWN)
        if jump.was_up and jump.reconnecting is None:
            jump.reconnecting = asyncio.create_task(self._reconnect(jump), name=f"jump-reconnect-{jump.spec.name}")

    async def _reconnect(self, jump: _Jump) -> None:
        """Bring a dropped jump host back, backing off between attempts, until it is up or the pool closes."""
        try:
            while not self._closed and jump.conn is None:
                await asyncio.sleep(max(0.0, jump.retry_at - self._clock.monotonic()))
                with contextlib.suppress(DeviceError):
                    await self.get_tunnel(jump.spec.name)
                if jump.conn is None and jump.retry_at <= self._clock.monotonic():
                    jump.retry_at = self._clock.monotonic() + self._backoff(max(1, jump.failures))
        finally:
            jump.reconnecting = None

    # -- port forwarding ----------------------------------------------------------------------------

    async def forward(self, name: str, device_host: str, device_port: int) -> tuple[str, int]:
        """A local address that reaches device_host:device_port through jump host `name` (for gNMI).

        One listener per device and port, reused by every caller; after the jump host reconnects, the
        listener comes back on the same local port when that port is still free.
        """
        jump = self._jump(name)
        key = (device_host, device_port)
        forward = jump.forwards.get(key)
        if forward is not None and forward.listener is not None:
            return LOCAL_FORWARD_HOST, forward.local_port
        conn = await self.get_tunnel(name)
        forward = jump.forwards.setdefault(key, _Forward(device_host, device_port))
        if forward.listener is None:
            await self._listen(jump, conn, forward)
        return LOCAL_FORWARD_HOST, forward.local_port

    async def _listen(self, jump: _Jump, conn: asyncssh.SSHClientConnection, forward: _Forward) -> None:
        listener: asyncssh.SSHListener | None = None
        if forward.local_port:
            try:
                listener = await conn.forward_local_port(
                    LOCAL_FORWARD_HOST, forward.local_port, forward.device_host, forward.device_port
                )
            except OSError as exc:
                device_logger(__name__, jump.spec.name).warning(
                    "local port %d for %s:%d is taken (%s); forwarding from a new port",
                    forward.local_port,
                    forward.device_host,
                    forward.device_port,
                    exc,
                )
        if listener is None:
            listener = await conn.forward_local_port(LOCAL_FORWARD_HOST, 0, forward.device_host, forward.device_port)
        forward.listener = listener
        forward.local_port = listener.get_port()

    async def _restore_forwards(self, jump: _Jump, conn: asyncssh.SSHClientConnection) -> None:
        for forward in jump.forwards.values():
            if forward.listener is None:
                try:
                    await self._listen(jump, conn, forward)
                except (OSError, asyncssh.Error) as exc:
                    device_logger(__name__, jump.spec.name).warning(
                        "could not restore forwarding to %s:%d: %s", forward.device_host, forward.device_port, exc
                    )

    # -- closing ------------------------------------------------------------------------------------

    async def close(self) -> None:
        """Close every forward and jump host connection and stop reconnecting."""
        self._closed = True
        tasks = []
        for jump in self._jumps.values():
            for task in (jump.connecting, jump.reconnecting):
                if task is not None:
                    task.cancel()
                    tasks.append(task)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        # Innermost first: a jump host reached through another one closes before the one carrying it.
        closing = []
        for jump in reversed(list(self._jumps.values())):
            for forward in jump.forwards.values():
                if forward.listener is not None:
                    forward.listener.close()
                    forward.listener = None
            conn, jump.conn = jump.conn, None
            jump.up.clear()
            if conn is not None:
                conn.close()
                closing.append(conn)
            self._set_state(jump, SessionState.IDLE)
        for conn in closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(conn.wait_closed(), CLOSE_TIMEOUT_S)

    async def __aenter__(self) -> JumpHostPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
