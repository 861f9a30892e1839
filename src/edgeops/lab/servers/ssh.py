"""The lab's SSH server: each simulated device's CLI over real SSH on its own address, with the SSH faults."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import socket
import struct
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import asyncssh

from edgeops.lab.cli_engine import CliEngine
from edgeops.lab.device import LabDevice
from edgeops.lab.faults import FaultState
from edgeops.lab.servers.hostkeys import HostKeyStore
from edgeops.platforms import Platform

log = logging.getLogger(__name__)

EngineFactory = Callable[[LabDevice], CliEngine]

# How often a hung session looks whether the hang was cleared; only hung sessions poll.
HANG_POLL_S = 0.1
# Time for partial output to leave the socket before a mid-command drop cuts the connection.
DROP_FLUSH_S = 0.05
LISTEN_BACKLOG = 64
_LINE_ENDING = re.compile(r"\r?\n")
_SESSION_GONE = (OSError, asyncssh.Error)


def default_engine_factory(device: LabDevice) -> CliEngine:
    """The CLI of the device's platform: SR Linux, SR OS MD-CLI, or SR OS classic."""
    platform = device.identity.platform
    if platform is Platform.SRLINUX:
        from edgeops.lab.srlinux.cli import SrLinuxCli

        return SrLinuxCli(device.model, device.faults)
    from edgeops.lab.sros.cli import SrosCli

    return SrosCli(device.model, device.faults, classic=platform is Platform.SROS_CLASSIC)


@dataclass(frozen=True)
class Endpoint:
    """Where a server really listens: a TCP address, or a Unix socket (devices behind the jump host)."""

    host: str = ""
    port: int = 0
    path: str = ""

    @property
    def is_unix(self) -> bool:
        return bool(self.path)

    def __str__(self) -> str:
        return f"unix:{self.path}" if self.path else f"{self.host}:{self.port}"


async def open_listener(
    endpoint: Endpoint, factory: Callable[[], asyncio.BaseProtocol], *, backlog: int = LISTEN_BACKLOG
) -> asyncio.AbstractServer:
    """Listen on a TCP address or a Unix socket (replacing a stale socket file) with a protocol factory."""
    loop = asyncio.get_running_loop()
    if endpoint.is_unix:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(endpoint.path)
        return await loop.create_unix_server(factory, endpoint.path, backlog=backlog)
    return await loop.create_server(factory, endpoint.host, endpoint.port, reuse_address=True, backlog=backlog)


def forget_unix_socket(endpoint: Endpoint) -> None:
    if endpoint.is_unix:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(endpoint.path)


class _ResetProtocol(asyncio.Protocol):
    """ssh-refuse while the listener is still open: reset the connection at once (the client sees a reset)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Linger 0: close sends a RST instead of a FIN, as close to "refused" as an accepted socket gets.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        cast(asyncio.Transport, transport).abort()


class _SilentProtocol(asyncio.Protocol):
    """ssh-hang: accept the TCP connection and never send the SSH banner or anything else."""

    def __init__(self, listener: DeviceSshListener) -> None:
        self.listener = listener
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.listener.silent.add(self.transport)
        self.listener.faults.ssh_closers.add(self.transport.abort)

    def data_received(self, data: bytes) -> None:
        pass  # read and ignore, so the client's writes never block

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.listener.silent.discard(self.transport)
            self.listener.faults.ssh_closers.discard(self.transport.abort)


class LoginCallbacksServer(asyncssh.SSHServer):
    """The login side of the lab's SSH servers: password (also as a keyboard-interactive prompt) and public keys.

    Every answer comes after one turn of the event loop, so the servers work on loops that start tasks eagerly
    (`asyncio.eager_task_factory`, which Textual sets where it exists: the lab may run on the console's loop).
    asyncssh stores a login method's handler with `self._auth = lookup_server_auth(...)`, and the handler's
    constructor starts the method's `_start()` coroutine as a task; a handler sends its answer only while it is
    `conn.auth`. Started eagerly, `_start()` runs inside the constructor, before `_auth` is set, so an answer it
    gives without suspending first was dropped without a word and the client waited until its connect timeout:
    asyncssh's own keyboard-interactive "Password:" prompt (always sent at once), and a password or key check that
    did not need to wait. Hence keyboard-interactive is served here rather than by asyncssh, and every check yields
    once before it answers. (The client side has the same hazard: edgeops.devices.ssh_auth.)
    """

    def kbdint_auth_supported(self) -> bool:
        return self.password_auth_supported()

    async def get_kbdint_challenge(
        self, username: str, lang: str, submethods: str
    ) -> tuple[str, str, str, tuple[tuple[str, bool], ...]]:
        await asyncio.sleep(0)  # yield: asyncssh must store this method's handler before the prompt is sent
        return "", "", "en-US", (("Password:", False),)  # the prompt asyncssh itself sends for a password

    async def validate_kbdint_response(self, username: str, responses: Sequence[str]) -> bool:
        return len(responses) == 1 and await self.validate_password(username, responses[0])

    async def validate_password(self, username: str, password: str) -> bool:
        await asyncio.sleep(0)  # yield: asyncssh must store this method's handler before the verdict is sent
        return await self.password_ok(username, password)

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        await asyncio.sleep(0)  # yield: as in validate_password
        return await self.public_key_ok(username, key)

    async def password_ok(self, username: str, password: str) -> bool:
        return False

    async def public_key_ok(self, username: str, key: asyncssh.SSHKey) -> bool:
        return False


class _DeviceConnection(LoginCallbacksServer):
    """One SSH connection to one device: authentication and bookkeeping."""

    def __init__(self, listener: DeviceSshListener) -> None:
        self.listener = listener
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.listener.connections.add(conn)
        self.listener.faults.ssh_closers.add(conn.abort)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.listener.connections.discard(self.conn)
            self.listener.faults.ssh_closers.discard(self.conn.abort)

    def begin_auth(self, username: str) -> bool:
        return True  # always ask for credentials

    def password_auth_supported(self) -> bool:
        return True

    def _gone(self) -> bool:
        return self.conn is None or self.conn.is_closed()

    async def password_ok(self, username: str, password: str) -> bool:
        await self.listener.answer_delay(self._gone)
        identity = self.listener.device.identity
        return self.listener.login_allowed(username) and password == identity.password

    def public_key_auth_supported(self) -> bool:
        return bool(self.listener.client_keys or self.listener.user_ca_keys)

    async def public_key_ok(self, username: str, key: asyncssh.SSHKey) -> bool:
        await self.listener.answer_delay(self._gone)
        return self.listener.login_allowed(username) and key.public_data in self.listener.client_keys

    async def validate_ca_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        """A user certificate is accepted when the lab's user CA signed it (asyncssh checks principal and dates)."""
        await asyncio.sleep(0)  # yield: as in validate_password
        return self.listener.login_allowed(username) and key.public_data in self.listener.user_ca_keys


class DeviceSshListener:
    """The SSH server of one device: its listening socket, its live connections, and its CLI sessions."""

    def __init__(
        self,
        device: LabDevice,
        endpoint: Endpoint,
        host_keys: HostKeyStore,
        engine_factory: EngineFactory,
        client_keys: frozenset[bytes],
        user_ca_keys: frozenset[bytes] = frozenset(),
    ) -> None:
        self.device = device
        self.endpoint = endpoint
        self.host_keys = host_keys
        self.engine_factory = engine_factory
        self.client_keys = client_keys  # public key blobs accepted for key login
        self.user_ca_keys = user_ca_keys  # public key blobs of the CAs whose user certificates are accepted
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self.silent: set[asyncio.Transport] = set()  # connections held open by ssh-hang
        self.sessions = 0
        self._session_tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.AbstractServer | None = None
        self._options: dict[int, asyncssh.SSHServerConnectionOptions] = {}

    @property
    def faults(self) -> FaultState:
        return self.device.faults

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def open(self) -> None:
        if self._server is None:
            self._server = await open_listener(self.endpoint, self._accept)

    async def close_listener(self) -> None:
        """Stop accepting (new connections are refused by the kernel); live sessions stay up."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            forget_unix_socket(self.endpoint)

    async def close(self) -> None:
        await self.close_listener()
        for conn in list(self.connections):
            conn.abort()
        for transport in list(self.silent):
            transport.abort()
        # asyncssh does not cancel session handlers when their connection goes; a hung or slow one would linger.
        for task in list(self._session_tasks):
            task.cancel()

    def login_allowed(self, username: str) -> bool:
        return not self.faults.auth_reject and username == self.device.identity.username

    async def answer_delay(self, gone: Callable[[], bool] = lambda: False) -> None:
        """What every answer waits for: a hang (until it is cleared, or the client is `gone`) and the latency."""
        # FaultState is a plain flag anyone may set, so a hung session polls it (only while hung).
        while self.faults.ssh_hang and not gone():  # noqa: ASYNC110
            await asyncio.sleep(HANG_POLL_S)
        if gone():
            raise asyncssh.ConnectionLost("the client went away while the device hung")
        if self.faults.ssh_latency_s > 0:
            await asyncio.sleep(self.faults.ssh_latency_s)

    def _accept(self) -> asyncio.BaseProtocol:
        """Called for every accepted connection: the faults decide what answers it."""
        faults = self.faults
        faults.ssh_connections += 1
        if faults.ssh_refuse:
            return _ResetProtocol()
        if faults.ssh_hang:
            return _SilentProtocol(self)
        return asyncssh.SSHServerConnection(asyncio.get_running_loop(), self._options_for(faults.hostkey_generation))

    def _options_for(self, generation: int) -> asyncssh.SSHServerConnectionOptions:
        options = self._options.get(generation)
        if options is None:
            options = asyncssh.SSHServerConnectionOptions(
                loop=asyncio.get_running_loop(),
                server_host_keys=[self.host_keys.host_key(self.device.name, generation)],
                server_factory=functools.partial(_DeviceConnection, self),
                process_factory=self._run_session,
                # The CLI does its own echo and line editing, and the pager needs single key presses.
                line_editor=False,
                allow_scp=False,
                agent_forwarding=False,
                x11_forwarding=False,
            )
            self._options[generation] = options
        return options

    async def _run_session(self, process: asyncssh.SSHServerProcess) -> None:
        self.sessions += 1
        task = asyncio.current_task()
        if task is not None:
            self._session_tasks.add(task)
        try:
            await CliSession(self, process).run()
        except _SESSION_GONE:
            pass  # the client or a fault ended the connection
        except Exception:
            log.exception("%s: CLI session failed", self.device.name)
            with contextlib.suppress(*_SESSION_GONE):
                process.exit(1)
        finally:
            self.sessions -= 1
            if task is not None:
                self._session_tasks.discard(task)


class CliSession:
    """One SSH session on one device: a terminal line discipline and pager around a platform CLI engine."""

    PAGER_KEYS_STOP = frozenset("qQ\x03")

    def __init__(self, listener: DeviceSshListener, process: asyncssh.SSHServerProcess) -> None:
        self.listener = listener
        self.process = process
        self.faults = listener.faults
        self.pty = process.get_terminal_type() is not None
        self.engine = listener.engine_factory(listener.device)
        if self.pty:
            width, height, _, _ = process.get_terminal_size()
            self._resize(width, height)
        self._input = ""
        self._input_pos = 0
        self._after_cr = False
        # What the session has to say since it last waited: sent as one channel write (one SSH packet, unless
        # it is long) just before it waits again, the way a device answers a read with one write.
        self._pending: list[str] = []

    def _gone(self) -> bool:
        return self.process.is_closing()

    def _resize(self, width: int, height: int) -> None:
        """The client's window size, at login and on every change: SR OS sizes its console (and pager) by it."""
        resize = getattr(self.engine, "set_terminal_size", None)  # engines that do not page have none
        if resize is not None:
            resize(width, height)

    async def _answer_delay(self) -> None:
        if self.faults.ssh_hang or self.faults.ssh_latency_s > 0:
            self._flush()  # a slow or hung device has echoed the command line before it stalls
        await self.listener.answer_delay(self._gone)

    # -- input ----------------------------------------------------------------------------------------

    async def _read_char(self) -> str | None:
        while self._input_pos >= len(self._input):
            # Everything the last read caused (its echo, output, prompt) leaves before the next wait.
            self._flush()
            try:
                data = await self.process.stdin.read(4096)
            except asyncssh.TerminalSizeChanged as change:
                self._resize(change.width, change.height)
                continue
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                continue
            if not data:
                return None
            self._input, self._input_pos = data, 0
        char = self._input[self._input_pos]
        self._input_pos += 1
        return char

    async def _read_key(self) -> str | None:
        """The next key press, with CR LF (a terminal's Enter on some clients) read as one "\\r"."""
        while True:
            char = await self._read_char()
            if char == "\n" and self._after_cr:
                self._after_cr = False
                continue
            self._after_cr = char == "\r"
            return char

    async def _skip_escape_sequence(self) -> None:
        """Swallow an arrow key or function key (ESC [ ... final byte) rather than echo it."""
        char = await self._read_char()
        if char not in ("[", "O"):
            return
        while True:
            char = await self._read_char()
            if char is None or "@" <= char <= "~":
                return

    # -- output ---------------------------------------------------------------------------------------

    # asyncssh sends every channel write as its own packet, so output is collected and written once per read:
    # typed-ahead input echoes in the piece it arrived in, and a command's echo, output and prompt go together.

    def _write(self, text: str) -> None:
        if text:
            self._pending.append(_LINE_ENDING.sub("\r\n", text) if self.pty else text)

    def _echo(self, text: str) -> None:
        if self.pty:
            self._pending.append(text)

    def _flush(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self.process.stdout.write(text)

    def _exit(self, status: int) -> None:
        self._flush()
        self.process.exit(status)

    # -- the session ----------------------------------------------------------------------------------

    async def run(self) -> None:
        if self.process.command is not None:
            await self._run_exec(self.process.command)
        elif self.process.subsystem is not None:
            self.process.stderr.write(f"subsystem {self.process.subsystem} is not available\n")
            self.process.exit(1)
        else:
            await self._run_interactive()

    async def _run_exec(self, command: str) -> None:
        """`ssh device "show version"`: one command, its output, exit status 0."""
        await self._answer_delay()
        reply = self.engine.execute(command.strip())
        if await self._dropped_mid_output(reply.output):
            return
        self._write(reply.output)
        self._exit(0)

    async def _run_interactive(self) -> None:
        await self._answer_delay()
        self._write(self.engine.banner())
        self._write(self.engine.prompt())
        line: list[str] = []
        while True:
            key = await self._read_key()
            if key is None:
                break  # the client closed its side
            if key in ("\r", "\n"):
                self._echo("\r\n")
                text, line = "".join(line), []
                if await self._run_line(text):
                    break
            elif key in ("\x7f", "\x08"):
                if line:
                    line.pop()
                    self._echo("\b \b")
            elif key == "\x03":
                line = []
                self._echo("^C\r\n")
                self._write(self.engine.prompt())
            elif key == "\x15":  # Ctrl-U: erase the line typed so far
                self._echo("\b \b" * len(line))
                line = []
            elif key == "\x1b":
                await self._skip_escape_sequence()
            elif key >= " ":
                line.append(key)
                self._echo(key)
        self._exit(0)

    async def _run_line(self, text: str) -> bool:
        """Run one line; True when the session is over (quit, logout, or a drop)."""
        await self._answer_delay()
        if self.faults.ssh_flood_bytes:
            await self._flood()
            return True
        reply = self.engine.execute(text)
        if await self._dropped_mid_output(reply.output):
            return True
        if not await self._page(reply.output):
            return True
        if reply.close:
            return True
        self._write(self.engine.prompt())
        return False

    async def _flood(self) -> None:
        """ssh-flood: print the fault's size of log-like lines, as fast as the client reads, then no prompt; the
        session stays silent until the client goes away (once: the fault is spent)."""
        remaining, self.faults.ssh_flood_bytes = self.faults.ssh_flood_bytes, 0
        line = "flood: a device printing without end " + "x" * 25 + "\n"  # 64 bytes
        chunk = line * 1024
        with contextlib.suppress(*_SESSION_GONE):
            while remaining > 0:
                self._write(chunk[:remaining])
                remaining -= len(chunk)
                self._flush()
                await self.process.stdout.drain()
            while await self._read_key() is not None:
                pass

    async def _dropped_mid_output(self, output: str) -> bool:
        """ssh-drop-mid-command: print the first part of the output, then cut the connection (once)."""
        if not (self.faults.ssh_drop_mid_command and output):
            return False
        self.faults.ssh_drop_mid_command = False
        lines = output.splitlines(keepends=True)
        first_part = "".join(lines[: len(lines) // 2]) if len(lines) > 1 else output[: max(1, len(output) // 2)]
        self._write(first_part)
        with contextlib.suppress(*_SESSION_GONE):
            self._flush()
            await self.process.stdout.drain()
        await asyncio.sleep(DROP_FLUSH_S)
        self.process.channel.get_connection().abort()
        return True

    async def _page(self, output: str) -> bool:
        """Write output through the device's pager when it is on; False when the client went away."""
        page_lines = self.engine.page_lines
        lines = output.splitlines(keepends=True)
        if not self.pty or page_lines is None or page_lines <= 0 or len(lines) <= page_lines:
            self._write(output)
            return True
        shown, budget = 0, page_lines
        while shown < len(lines):
            chunk = lines[shown : shown + budget]
            self._write("".join(chunk))
            shown += len(chunk)
            if shown >= len(lines):
                break
            pager_prompt = self.engine.pager_prompt
            self._write(pager_prompt)
            key = await self._read_key()
            # Erase the pager line, as the device does, so the output reads on without it.
            self._write("\r" + " " * len(pager_prompt) + "\r")
            if key is None:
                return False
            if key in self.PAGER_KEYS_STOP:
                break
            budget = 1 if key in ("\r", "\n") else page_lines
        return True


class LabSshServer:
    """The SSH servers of every lab device, on one event loop."""

    def __init__(
        self,
        devices: Iterable[LabDevice],
        host_keys: HostKeyStore,
        *,
        endpoints: Mapping[str, Endpoint] | None = None,
        engine_factory: EngineFactory = default_engine_factory,
        client_keys: Iterable[asyncssh.SSHKey] = (),
        user_ca_keys: Iterable[asyncssh.SSHKey] = (),
    ) -> None:
        keys = frozenset(key.public_data for key in client_keys)
        ca_keys = frozenset(key.public_data for key in user_ca_keys)
        self.listeners: dict[str, DeviceSshListener] = {}
        for device in devices:
            endpoint = (endpoints or {}).get(device.name) or Endpoint(device.identity.host, device.identity.ssh_port)
            self.listeners[device.name] = DeviceSshListener(device, endpoint, host_keys, engine_factory, keys, ca_keys)

    async def start(self) -> None:
        """Open every listener; if one cannot be opened, close the others and raise an error naming it."""
        try:
            for listener in self.listeners.values():
                try:
                    await listener.open()
                except OSError as error:
                    raise OSError(
                        error.errno, f"{listener.device.name}: cannot listen on {listener.endpoint}: {error.strerror}"
                    ) from error
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        for listener in self.listeners.values():
            await listener.close()

    def listener(self, device_name: str) -> DeviceSshListener:
        return self.listeners[device_name]

    async def set_listening(self, device_name: str, listening: bool) -> None:
        """Open or close one device's listener (a closed one refuses connections the way a real host does)."""
        listener = self.listeners[device_name]
        if listening:
            await listener.open()
        else:
            await listener.close_listener()

    @property
    def connections_open(self) -> int:
        return sum(len(listener.connections) for listener in self.listeners.values())

    @property
    def sessions_open(self) -> int:
        return sum(listener.sessions for listener in self.listeners.values())


def unix_socket_dir(preferred: Path, *, needed: int = 24) -> Path:
    """A folder for Unix sockets: `preferred` when its paths stay under the OS limit, else a short temp folder."""
    # sun_path holds 108 bytes on Linux and 104 on macOS; leave room for the socket's own name.
    if len(os.fsencode(preferred)) + needed < 100:
        preferred.mkdir(parents=True, exist_ok=True, mode=0o700)
        return preferred
    return Path(tempfile.mkdtemp(prefix="edgeops-lab-"))
