"""One persistent SSH CLI session per device: scrapli's asyncio driver over asyncssh, with our errors and results."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import inspect
import re
import shlex
import socket
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import asyncssh
from scrapli import AsyncScrapli
from scrapli.driver import AsyncNetworkDriver
from scrapli.exceptions import (
    ScrapliAuthenticationFailed,
    ScrapliConnectionError,
    ScrapliConnectionNotOpened,
    ScrapliException,
    ScrapliPrivilegeError,
    ScrapliTimeout,
)

from edgeops.clock import Clock, SystemClock
from edgeops.defaults import (
    COMMAND_TIMEOUT_S,
    CONNECT_TIMEOUT_S,
    KEEPALIVE_COUNT_MAX,
    KEEPALIVE_INTERVAL_S,
    MAX_OUTPUT_BYTES,
)
from edgeops.devices.errors import (
    AuthFailed,
    CommandTimeout,
    ConnectionLost,
    ConnectTimeout,
    DeviceError,
    Unreachable,
    device_error_reason,
)
from edgeops.devices.hostkeys import HostKeyCheck, KnownHosts
from edgeops.devices.samples import CommandResult, Failure, SessionState
from edgeops.inventory.model import Device
from edgeops.inventory.ssh_config import ConfigUse, HostKeyConfig, SshSettings
from edgeops.logging_setup import device_logger
from edgeops.platforms import Platform

PasswordSource = Callable[[], "str | Awaitable[str | None] | None"]
"""Called at connect time for the password (never stored on the session, never logged); None: no password."""

TunnelSource = asyncssh.SSHClientConnection | Callable[[], Awaitable[asyncssh.SSHClientConnection]]
"""A jump host connection, or a coroutine function returning the current one (e.g. JumpHostPool.get_tunnel)."""

StateListener = Callable[["SshSession", SessionState], None]

# scrapli_community platform name and variant per platform.
SCRAPLI_PLATFORMS: dict[Platform, tuple[str, str | None]] = {
    Platform.SRLINUX: ("nokia_srlinux", None),
    Platform.SROS: ("nokia_sros", None),
    Platform.SROS_CLASSIC: ("nokia_sros", "classic"),
}

# What each platform's CLI needs set after login so that command output comes back whole and unchanged (the
# platform reference, section 1). Each inner tuple is one step: its commands are typed in one write and the step ends
# at the prompt after the last one, so a step costs one round trip however many commands it holds.
# - SR Linux: the basic CLI engine (the default one redraws the line with escape sequences as it is typed) and no
#   completion on space (a space could turn what we typed into something else). No paging by default. The engine
#   switch gets a step of its own: whether the new engine reads input typed before the switch is not documented.
# - SR OS MD-CLI: paging off (`environment more false`; otherwise the pager prompt stops long output), a 512-column
#   console (no wrapped or truncated table lines) and no completion on space. Plain `environment` leaves, typed
#   ahead as a pasted block is. Paging of the classic engine (`//environment no more`) matters only to `//commands`,
#   so it is sent before a session's first one (CLASSIC_PAGING_OFF), not at every login.
# - SR OS classic CLI: paging off.
LOGIN_STEPS: dict[Platform, tuple[tuple[str, ...], ...]] = {
    Platform.SRLINUX: (("environment cli-engine type basic",), ("environment complete-on-space false",)),
    Platform.SROS: (
        ("environment command-completion space false", "environment more false", "environment console width 512"),
    ),
    Platform.SROS_CLASSIC: (("environment no more",),),
}
CLASSIC_PAGING_OFF = "//environment no more"

# How much longer than scrapli's own operation timeout we wait before giving up on a command ourselves.
COMMAND_TIMEOUT_GRACE_S = 2.0
CLOSE_TIMEOUT_S = 5.0

_UNREACHABLE_ERRNOS = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL, errno.EHOSTDOWN}


@dataclass(frozen=True)
class SshTarget:
    """Where and as whom to log in to one device (the inventory entry, after ~/.ssh/config was applied)."""

    device: str
    platform: Platform
    host: str
    port: int = 22
    username: str = "admin"
    key_files: tuple[Path, ...] = ()  # empty: the default identities (~/.ssh/id_*), as OpenSSH does
    use_agent: bool = True
    host_keys: HostKeyConfig | None = None  # ssh_config's host key options for this host
    config: ConfigUse | None = None  # how asyncssh applies ssh_config; None: no ssh_config at all

    @classmethod
    def from_device(cls, device: Device) -> SshTarget:
        credentials = device.credentials
        return cls(
            device=device.name,
            platform=device.platform,
            host=device.host,
            port=device.ssh_port,
            username=credentials.username,
            key_files=credentials.key_files,
            use_agent=credentials.use_agent,
        )

    @classmethod
    def from_settings(cls, device: Device, settings: SshSettings) -> SshTarget:
        """The device's target after ~/.ssh/config (see inventory.ssh_config.ssh_settings_for)."""
        return cls(
            device=device.name,
            platform=device.platform,
            host=settings.host,
            port=settings.port,
            username=settings.username,
            key_files=settings.key_files,
            use_agent=settings.use_agent,
            host_keys=settings.host_keys,
            config=settings.config,
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


async def resolve_password(source: PasswordSource | None) -> str | None:
    if source is None:
        return None
    value = source()
    if inspect.isawaitable(value):
        value = await value
    return value or None


# asyncssh's default order puts chacha20-poly1305 first, which it computes in Python per packet (two cipher
# objects per packet); AES-GCM is one call into OpenSSL. Same algorithms, only reordered, so every server that
# worked before still negotiates; with hundreds of sessions on one event loop the difference is CPU time.
ENCRYPTION_PREFERENCE = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
)


PROXY_STDERR_KEPT = 4096  # bytes of a ProxyCommand's error output kept for the log and the message


class ProxyCommandTunnel:
    """An ssh_config ProxyCommand, run by edgeops and handed to asyncssh as its `tunnel=`.

    asyncssh can run a ProxyCommand itself, but the command's error output then goes to our own stderr: under the
    console, onto the screen. Here it is kept (the last PROXY_STDERR_KEPT bytes), logged, and quoted when the
    command ends before the login: that is how a name the command cannot resolve, or a gateway it cannot reach,
    is told apart from a device that closed the connection.
    """

    def __init__(self, command: str, device: str) -> None:
        self.command = command
        self.device = device
        self.stderr = b""
        self.ended = False  # the command closed its output or exited: the route is gone
        self.stopped = False  # edgeops closed it (a login refused, a timeout, a close): its end says nothing
        self.returncode: int | None = None
        self._finished: asyncio.Event | None = None  # set once it exited and every pipe is read to the end

    async def settle(self, within_s: float = 1.0) -> None:
        """After the command ended, wait (briefly) for the rest of its error output: it may trail its exit."""
        if self.ended and self._finished is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._finished.wait(), within_s)

    def describe(self) -> str:
        """Why the command ended, for a person: its last error line, or its exit status."""
        lines = [line for line in self.stderr.decode("utf-8", errors="replace").splitlines() if line.strip()]
        if lines:
            return lines[-1].strip()
        if self.returncode is not None:
            return f"it exited with status {self.returncode}"
        return "it ended before the SSH login"

    async def create_connection(
        self, session_factory: Callable[[], Any], remote_host: str, remote_port: int
    ) -> tuple[Any, Any]:
        """asyncssh's tunnel interface: start the command and run the SSH connection over its stdin and stdout."""
        loop = asyncio.get_running_loop()
        self._finished = asyncio.Event()
        connection = session_factory()
        _, pipe = await loop.subprocess_exec(
            lambda: _ProxyPipe(self, connection),
            *shlex.split(self.command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C in the terminal is ours to handle, not the command's
        )
        return pipe, connection


class _ProxyPipe(asyncio.SubprocessProtocol):
    """The command's pipes as the transport of an asyncssh connection (what asyncssh's own proxy does)."""

    def __init__(self, tunnel: ProxyCommandTunnel, connection: Any) -> None:
        self.tunnel = tunnel
        self.connection = connection
        self.transport: asyncio.SubprocessTransport | None = None
        self.log = device_logger(__name__, tunnel.device)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # subprocess_exec hands a SubprocessTransport
        self.connection.connection_made(self)

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 2:
            self.tunnel.stderr = (self.tunnel.stderr + data)[-PROXY_STDERR_KEPT:]
            self.log.info("ProxyCommand: %s", data.decode("utf-8", errors="replace").rstrip())
        else:
            self.connection.data_received(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            self.tunnel.ended = True
            self.connection.connection_lost(exc)

    def process_exited(self) -> None:
        self.tunnel.ended = True
        self.tunnel.returncode = self.transport.get_returncode() if self.transport is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.tunnel._finished is not None:
            self.tunnel._finished.set()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.transport.get_extra_info(name, default) if self.transport is not None else default

    def write(self, data: bytes) -> None:
        stdin = self.transport.get_pipe_transport(0) if self.transport is not None else None
        if stdin is not None and not stdin.is_closing():
            stdin.write(data)  # type: ignore[attr-defined]

    def is_closing(self) -> bool:
        return self.transport is None or self.transport.is_closing()

    def abort(self) -> None:
        self.close()

    def close(self) -> None:
        transport, self.transport = self.transport, None
        if transport is not None:
            if not self.tunnel.ended:
                self.tunnel.stopped = True
            transport.close()  # closes the pipes and kills the command if it is still running


def ssh_config_options(
    config: ConfigUse | None, *, keepalive_interval_s: float, keepalive_count_max: int, cli: bool
) -> dict[str, Any]:
    """asyncssh options that hand it the ssh_config file (its public `config=` option) and edgeops' own defaults
    for what the file does not set: an option the file sets for the host is left to asyncssh.

    The host is the Host alias, so Host and Match blocks match as with `ssh ALIAS`; asyncssh then applies HostName
    itself. The route is edgeops' to choose: the caller passes `tunnel=` (a jump host, a ProxyCommandTunnel for
    the file's ProxyCommand when ConfigUse carries one, or None). `cli`: the session is the device's interactive
    CLI, so a RemoteCommand or `RequestTTY no` of the file must not replace it.
    """
    configured = config.configured if config is not None else frozenset()
    options: dict[str, Any] = {"config": [str(path) for path in config.files] if config is not None else []}
    if config is not None:
        options["host"] = config.alias
    # The route is edgeops' to choose: a jump host, the file's ProxyCommand (ProxyCommandTunnel) or direct.
    options["proxy_command"] = None
    if "Ciphers" not in configured:
        options["encryption_algs"] = ENCRYPTION_PREFERENCE
    if "ServerAliveInterval" not in configured:
        options["keepalive_interval"] = keepalive_interval_s
    if "ServerAliveCountMax" not in configured:
        options["keepalive_count_max"] = keepalive_count_max
    if cli:
        options["command"] = None
        options["request_pty"] = True
    return options


def asyncssh_auth_options(*, password: str | None, key_files: tuple[Path, ...], use_agent: bool) -> dict[str, Any]:
    """asyncssh options for logging in; the password itself travels separately (it must never be in a repr)."""
    return {
        "client_keys": [str(path.expanduser()) for path in key_files] if key_files else (),
        "agent_path": () if use_agent else None,
        # Without a password, offering password or keyboard-interactive would send an empty one.
        "preferred_auth": ("publickey", "keyboard-interactive", "password") if password else ("publickey",),
    }


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what it was raised from, outermost first (scrapli wraps asyncssh's errors)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def connect_error(
    exc: BaseException,
    *,
    device: str,
    address: str,
    check: HostKeyCheck | None,
    timeout: float,
    via: str = "",
    proxy: ProxyCommandTunnel | None = None,
) -> DeviceError:
    """Map whatever opening a connection raised (asyncssh, scrapli, OS) onto our error hierarchy."""
    where = f"{address} via {via}" if via else address
    if proxy is not None and proxy.ended and not proxy.stopped and not isinstance(exc, DeviceError):
        # The command is the route: when it ends before the login, the device could not be reached through it.
        return Unreachable(device, f"{address}: the ssh_config ProxyCommand ended: {proxy.describe()}")
    for cause in _causes(exc):
        if isinstance(cause, DeviceError):
            return cause
        if isinstance(cause, asyncssh.PermissionDenied):
            return AuthFailed(device, f"{where} rejected the login (every authentication method failed)")
        if isinstance(cause, asyncssh.HostKeyNotVerifiable) and check is not None:
            return check.error(str(cause))
        known_host = check is not None and bool(check.recorded)
        if isinstance(cause, asyncssh.KeyExchangeFailed) and known_host and "host key" in str(cause):
            assert check is not None
            return check.error(str(cause))  # the device no longer offers any key type recorded for it
        if isinstance(cause, asyncssh.ChannelOpenError):
            refused = "refused" in cause.reason.lower()
            return Unreachable(device, f"the jump host could not reach {where}: {cause.reason}", refused=refused)
        if isinstance(cause, ConnectionResetError) and not isinstance(exc, ScrapliException):
            # Reset before the SSH handshake finished: the device is not taking SSH connections.
            return Unreachable(device, f"{where} reset the connection (not accepting SSH)", refused=True)
        if isinstance(cause, ConnectionRefusedError):
            return Unreachable(device, f"{where} refused the connection", refused=True)
        if isinstance(cause, socket.gaierror):
            # A name that does not resolve: nothing to connect to, like a host with no route.
            name = address.rpartition(":")[0] or address
            return Unreachable(device, f"{where}: the name {name} does not resolve ({cause.strerror or cause})")
        if isinstance(cause, OSError) and cause.errno in _UNREACHABLE_ERRNOS:
            return Unreachable(device, f"{where} is unreachable: {cause.strerror}")
        if isinstance(cause, TimeoutError | ScrapliTimeout):
            return ConnectTimeout(device, f"{where} did not answer within {timeout:g} s (connect, login or prompt)")
        if isinstance(cause, ScrapliPrivilegeError):
            return ConnectTimeout(device, f"{where}: logged in, but the prompt was not recognised: {cause}")
        if isinstance(cause, asyncssh.DisconnectError | ConnectionError | EOFError):
            return ConnectionLost(device, f"{where} closed the connection while it was being opened: {cause}")
        if isinstance(cause, OSError):
            return Unreachable(device, f"{where}: {cause.strerror or cause}")
    return ConnectionLost(device, f"{where}: could not open a session: {exc!r}")


async def prepare_cli(driver: AsyncNetworkDriver, steps: tuple[tuple[str, ...], ...]) -> None:
    """scrapli's on_open for our sessions: wait for the first prompt, then set the CLI environment (LOGIN_STEPS).

    Replaces scrapli-community's on_open, which sends a bare Enter to find the prompt and then one command per round
    trip. The device prints its prompt after the banner by itself, so nothing is sent until it has.
    """
    channel = driver.channel
    pattern = channel._get_prompt_pattern(class_pattern=channel._base_channel_args.comms_prompt_pattern)
    prompt = await _read_prompt_after(channel, pattern, b"")
    for commands in steps:
        return_char = channel._base_channel_args.comms_return_char
        channel.write("".join(command + return_char for command in commands))
        prompt = await _read_prompt_after(channel, pattern, commands[-1].encode())
    exec_level = driver.privilege_levels[driver.default_desired_privilege_level]
    if re.search(exec_level.pattern.encode(), prompt, re.M | re.I):
        driver._current_priv_level = exec_level  # what scrapli's acquire_priv would find, without asking again
    else:  # pragma: no cover - a login that does not land at the exec prompt: let scrapli sort it out
        await driver.acquire_priv(desired_priv=driver.default_desired_privilege_level)


async def _read_prompt_after(channel: Any, pattern: re.Pattern[bytes], echo: bytes) -> bytes:
    """Read until a prompt follows the echo of `echo` (the last command typed); returns that prompt's text.

    Only what comes after the echo is searched: with commands typed ahead, an earlier prompt is followed on its
    line by the next command's echo and must not end the wait.
    """
    buffer = b""
    while True:
        buffer += await channel.read()
        echoed_at = buffer.rfind(echo) if echo else 0
        if echoed_at < 0:
            continue  # the echo has not arrived yet
        match = pattern.search(buffer, echoed_at + len(echo))
        if match:
            return match.group(0)


class OutputLimitExceeded(Exception):
    """Raised from inside scrapli's read loop when a command's output passes the session's cap."""


@contextlib.contextmanager
def capped_reads(channel: Any, limit: int) -> Iterator[list[bytes]]:
    """Count what scrapli's channel reads while a command runs; past `limit` bytes, stop the command.

    scrapli gathers a command's output in one buffer until it sees the prompt, however long that takes: a device
    that streams without end fills memory. Every read of the channel passes through here, so the command is cut
    off after at most one read (64 KiB) past the cap: memory stays within about twice the cap (scrapli's buffer
    and the kept copy). Reading on to the prompt would keep the session but could last the whole command timeout
    on a stream that never ends; the session is closed instead (the caller's job) and the next command reopens it.
    Yields the list the first `limit` bytes read are kept in (the echo of the command included).
    """
    kept: list[bytes] = []
    size = 0
    read = channel.read

    async def counted_read() -> bytes:
        nonlocal size
        chunk: bytes = await read()
        if size < limit:
            kept.append(chunk[: limit - size])
        size += len(chunk)
        if size > limit:
            raise OutputLimitExceeded(size)
        return chunk

    channel.read = counted_read
    try:
        yield kept
    finally:
        del channel.read  # scrapli's own method again


class SshSession:
    """A persistent CLI session to one device.

    `open()` logs in (or raises a DeviceError subclass); `run()` sends one command at a time and always returns a
    CommandResult: device-side errors and connection problems come back as ok=False with a reason and a failure
    class. A session that died (keepalive, EOF, timeout) reports `alive == False`; open() it again to reconnect.
    """

    def __init__(
        self,
        target: SshTarget,
        *,
        known_hosts: KnownHosts,
        password: PasswordSource | None = None,
        tunnel: TunnelSource | None = None,
        via: str = "",
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        command_timeout_s: float = COMMAND_TIMEOUT_S,
        max_output_bytes: int = MAX_OUTPUT_BYTES,
        keepalive_interval_s: float = KEEPALIVE_INTERVAL_S,
        keepalive_count_max: int = KEEPALIVE_COUNT_MAX,
        clock: Clock | None = None,
        on_state: StateListener | None = None,
    ) -> None:
        self.target = target
        self.known_hosts = known_hosts
        self.connect_timeout_s = connect_timeout_s
        self.command_timeout_s = command_timeout_s
        if max_output_bytes < 1:
            raise ValueError("max_output_bytes must be at least 1")
        self.max_output_bytes = max_output_bytes
        self.keepalive_interval_s = keepalive_interval_s
        self.keepalive_count_max = keepalive_count_max
        self.via = via
        self._password = password
        self._tunnel = tunnel
        self._clock: Clock = clock or SystemClock()
        self._on_state = on_state
        self._driver: AsyncNetworkDriver | None = None
        self._connection: asyncssh.SSHClientConnection | None = None
        # One user of the channel at a time: a command, or an open (whose login commands must not interleave
        # with a command; a command asked for during an open waits for it and then runs on the new session).
        self._lock = asyncio.Lock()
        self._lost = asyncio.Event()
        self._state = SessionState.IDLE
        self._classic_paging_off = False  # per login: see CLASSIC_PAGING_OFF
        self._proxy: ProxyCommandTunnel | None = None  # the ProxyCommand of the last open, if it used one
        self.last_error: DeviceError | None = None
        self.log = device_logger(__name__, target.device)

    # -- state --------------------------------------------------------------------------------------

    @property
    def device(self) -> str:
        return self.target.device

    @property
    def state(self) -> SessionState:
        return self._state

    def _set_state(self, state: SessionState) -> None:
        if state is self._state:
            return
        self._state = state
        if self._on_state is not None:
            self._on_state(self, state)

    @property
    def alive(self) -> bool:
        """True while the session can take commands: scrapli's isalive plus our connection-lost signal."""
        driver = self._driver
        if driver is None or self._lost.is_set():
            return False
        if self._connection is not None:
            # asyncssh's own answer: scrapli's isalive asks the transport is_closing(), which the pipe of a
            # ProxyCommand lacks, so a session through one always looked dead.
            return not self._connection.is_closed()
        try:
            return bool(driver.isalive())
        except ScrapliException:
            return False

    async def wait_lost(self) -> DeviceError | None:
        """Wait until an open session dies (or is closed); returns why, if it died."""
        await self._lost.wait()
        return self.last_error

    def _connection_lost(self, exc: Exception | None) -> None:
        """asyncssh's connection_lost callback: keepalive timeout, peer closed, jump host gone, or our close."""
        if self._lost.is_set():
            return
        self._lost.set()
        if self._state is SessionState.UP:
            detail = f": {exc}" if exc else ""
            self.last_error = ConnectionLost(
                self.device, f"the SSH connection to {self.target.address} was lost{detail}"
            )
            self.log.warning("%s", self.last_error)
            self._set_state(SessionState.DOWN)

    # -- opening ------------------------------------------------------------------------------------

    async def __aenter__(self) -> SshSession:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Log in and reach the exec prompt within connect_timeout_s; raises a DeviceError subclass on failure."""
        async with self._lock:
            if self.alive:
                return
            self._discard()
            self._set_state(SessionState.CONNECTING)
            check: HostKeyCheck | None = None
            try:
                check = self.known_hosts.check(self.device, self.target.host, self.target.port, self.target.host_keys)
                try:
                    await asyncio.wait_for(self._open(check), self.connect_timeout_s)
                except Exception:
                    # Policy ask: asyncssh refused a new key while the user had not answered; on a yes, again.
                    if not await check.confirm():
                        raise
                    self._discard()
                    await asyncio.wait_for(self._open(check), self.connect_timeout_s)
            except asyncio.CancelledError:
                self._discard()
                self._set_state(SessionState.IDLE)
                raise
            except Exception as exc:
                self._discard()
                if self._proxy is not None:
                    await self._proxy.settle()
                error = connect_error(
                    exc,
                    device=self.device,
                    address=self.target.address,
                    check=check,
                    timeout=self.connect_timeout_s,
                    via=self.via,
                    proxy=self._proxy,
                )
                self.last_error = error
                self.log.warning("could not open the SSH session: %s", error.message.splitlines()[0])
                self._set_state(error.session_state)
                raise error from exc
            self.last_error = None
            self.log.info("SSH session open to %s%s", self.target.address, f" via {self.via}" if self.via else "")
            self._set_state(SessionState.UP)

    async def _open(self, check: HostKeyCheck) -> None:
        target = self.target
        password = await resolve_password(self._password)
        tunnel: asyncssh.SSHClientConnection | ProxyCommandTunnel | None = None
        self._proxy = None
        if self._tunnel is not None:
            try:
                tunnel = (
                    self._tunnel if isinstance(self._tunnel, asyncssh.SSHClientConnection) else await self._tunnel()
                )
            except DeviceError as exc:
                raise Unreachable(self.device, f"{target.address} is behind a jump host that is down: {exc}") from exc
        elif target.config is not None and target.config.proxy_command:
            tunnel = self._proxy = ProxyCommandTunnel(target.config.proxy_command, self.device)
        lost = asyncio.Event()
        self._lost = lost

        def on_lost(exc: Exception | None) -> None:
            if self._lost is lost:  # a late callback from an earlier connection must not mark this one lost
                self._connection_lost(exc)

        options: dict[str, Any] = {
            # Host keys: our known_hosts callable and client (scrapli's own check is off, see below). The client's
            # login callbacks also keep asyncssh's login working on loops that start tasks eagerly (ssh_auth.py).
            "known_hosts": check.known_hosts,
            "client_factory": check.client_factory(on_lost),
            # scrapli's asyncssh transport passes transport_options["asyncssh"] straight to asyncssh.connect()
            # (over its own host, port and config): ssh_config, a jump host, all go through it.
            **ssh_config_options(
                target.config,
                keepalive_interval_s=self.keepalive_interval_s,
                keepalive_count_max=self.keepalive_count_max,
                cli=True,
            ),
            # The route is edgeops' choice (shared jump hosts): asyncssh must not follow ProxyJump on its own.
            "tunnel": tunnel,
            **asyncssh_auth_options(password=password, key_files=target.key_files, use_agent=target.use_agent),
        }
        platform, variant = SCRAPLI_PLATFORMS[target.platform]
        driver = AsyncScrapli(
            platform=platform,
            variant=variant,
            host=target.host,
            port=target.port,
            auth_username=target.username,
            auth_password=password or "",  # scrapli redacts this in its repr; transport_options it would print
            auth_strict_key=False,  # scrapli's check runs after login; ours (via known_hosts) runs before it
            transport="asyncssh",
            timeout_socket=self.connect_timeout_s,
            timeout_transport=0,  # per-read timeout off: each command has its own timeout_ops
            timeout_ops=self.command_timeout_s,
            transport_options={"asyncssh": options},
            logging_uid=target.device,
            on_open=functools.partial(prepare_cli, steps=LOGIN_STEPS[target.platform]),
        )
        self._classic_paging_off = False
        self._driver = driver
        await driver.open()
        self._connection = getattr(driver.transport, "session", None)

    # -- commands -----------------------------------------------------------------------------------

    async def run(self, command: str, timeout: float | None = None) -> CommandResult:  # noqa: ASYNC109 (scrapli's)
        """Run one command; never raises for device or connection errors (see CommandResult.ok/failure)."""
        timeout = self.command_timeout_s if timeout is None else timeout
        async with self._lock:
            started = self._clock.now()
            driver = self._driver
            if driver is None or not self.alive:
                # Say why there is no session (auth, host key, unreachable...), not just that there is none.
                error = self.last_error or ConnectionLost(self.device, "the SSH session is not open")
                return self._result(command, "", started, failure=error.code, reason=error.message)
            try:
                if self._needs_classic_paging_off(command):
                    await asyncio.wait_for(
                        driver.send_command(CLASSIC_PAGING_OFF, failed_when_contains=[], timeout_ops=timeout),
                        timeout + COMMAND_TIMEOUT_GRACE_S,
                    )
                    self._classic_paging_off = True
                with capped_reads(driver.channel, self.max_output_bytes) as kept:
                    response = await asyncio.wait_for(
                        driver.send_command(command, failed_when_contains=[], timeout_ops=timeout),
                        timeout + COMMAND_TIMEOUT_GRACE_S,
                    )
            except OutputLimitExceeded:
                return self._truncated(command, kept, started)
            except asyncio.CancelledError:
                self._fail(ConnectionLost(self.device, "a command was cancelled mid-output; the session was closed"))
                raise
            except (ScrapliTimeout, TimeoutError):
                error = CommandTimeout(
                    self.device, f"timeout after {timeout:g} s waiting for the prompt; the session was closed"
                )
                self._fail(error)
                return self._result(command, "", started, failure=error.code, reason=error.message)
            except (
                ScrapliConnectionError,
                ScrapliConnectionNotOpened,
                ScrapliAuthenticationFailed,
                asyncssh.Error,
                OSError,
                EOFError,
            ) as exc:
                error = ConnectionLost(self.device, f"the SSH session to {self.target.address} was lost: {exc}")
                self._fail(error)
                return self._result(command, "", started, failure=error.code, reason=error.message)
            output = response.result
            reason = device_error_reason(self.target.platform, output)
            if reason is not None:
                return self._result(command, output, started, failure=Failure.DEVICE_ERROR, reason=reason)
            return self._result(command, output, started)

    def _truncated(self, command: str, kept: list[bytes], started: float) -> CommandResult:
        """The first max_output_bytes of an output that went past them; the session is closed (output pending)."""
        text = b"".join(kept).decode("utf-8", errors="replace")
        first_line, newline, rest = text.partition("\n")
        if newline and command in first_line:  # the echo of what was typed is not output
            text = rest
        limit = self.max_output_bytes
        error = ConnectionLost(
            self.device, f"output over the limit of {limit} bytes: the first {limit} kept; the session was closed"
        )
        self._fail(error)
        return self._result(command, text, started, failure=Failure.OUTPUT_LIMIT, reason=error.message)

    def _needs_classic_paging_off(self, command: str) -> bool:
        """An MD-CLI session's first `//command` (run by the classic engine) needs that engine's paging off."""
        return (
            self.target.platform is Platform.SROS and not self._classic_paging_off and command.lstrip().startswith("//")
        )

    def _result(
        self, command: str, output: str, started: float, *, failure: Failure | None = None, reason: str = ""
    ) -> CommandResult:
        ended = self._clock.now()
        if failure is None:
            return CommandResult(self.device, command, output, started, ended, ok=True)
        return CommandResult.failed(
            self.device, command, failure=failure, reason=reason, started=started, ended=ended, output=output
        )

    def _fail(self, error: DeviceError) -> None:
        """The channel is unusable (unknown output pending, or gone): drop it so the next open starts clean."""
        self.last_error = error
        self.log.warning("%s", error)
        self._discard()
        self._set_state(error.session_state)

    # -- closing ------------------------------------------------------------------------------------

    def _discard(self) -> None:
        """Forget the driver and abort its connection without waiting (no logout)."""
        driver, connection = self._driver, self._connection
        self._driver = None
        self._connection = None
        self._lost.set()
        if connection is not None:
            connection.abort()
        if driver is not None:
            try:
                if connection is None and getattr(driver.transport, "session", None) is not None:
                    driver.transport.session.abort()
                driver.transport.close()
                driver.channel.close()
            except (ScrapliException, OSError):
                pass

    def abort(self) -> None:
        """Drop the session at once (no logout)."""
        self._discard()
        self._set_state(SessionState.IDLE)

    async def close(self) -> None:
        """Log out politely if the session is alive, then close the connection and wait for it to be gone."""
        driver, connection = self._driver, self._connection
        if driver is None:
            self._set_state(SessionState.IDLE)
            return
        alive = self.alive
        # Set before logging out, so the connection_lost that the logout causes is not reported as a failure.
        self._lost.set()
        if alive and not self._lock.locked():
            with contextlib.suppress(ScrapliException, asyncssh.Error, OSError, TimeoutError):
                await asyncio.wait_for(driver.close(), CLOSE_TIMEOUT_S)
        self._discard()
        if connection is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(connection.wait_closed(), CLOSE_TIMEOUT_S)
        self._set_state(SessionState.IDLE)
