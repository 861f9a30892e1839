"""The lab's SSH jump host: logs users in and forwards direct-tcpip channels to lab devices, and nowhere else."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import cast

import asyncssh

from edgeops.lab.servers.ssh import Endpoint, LoginCallbacksServer, forget_unix_socket, open_listener

log = logging.getLogger(__name__)

JUMP_HOST_NAME = "lab-jump"
JUMP_USERNAME = "netops"


@dataclass
class JumpStats:
    """What the jump host saw, so a test can prove a client really went through it."""

    connections: int = 0  # TCP connections that reached the SSH server
    logins: int = 0
    forwarded_channels: int = 0  # direct-tcpip channels accepted
    refused_channels: int = 0  # channels to anything that is not a lab device
    forwarded_to: Counter[str] = field(default_factory=Counter)  # "host:port" -> channels


@dataclass(frozen=True)
class JumpHostInfo:
    name: str
    host: str
    port: int
    username: str
    password: str
    stats: JumpStats = field(compare=False)


class _JumpConnection(LoginCallbacksServer):
    def __init__(self, jump: JumpHostServer) -> None:
        self.jump = jump
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.jump.connections.add(conn)
        self.jump.stats.connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.jump.connections.discard(self.conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    async def password_ok(self, username: str, password: str) -> bool:
        return username == self.jump.username and password == self.jump.password

    def public_key_auth_supported(self) -> bool:
        return bool(self.jump.client_keys)

    async def public_key_ok(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == self.jump.username and key.public_data in self.jump.client_keys

    def auth_completed(self) -> None:
        self.jump.stats.logins += 1

    def session_requested(self) -> bool:
        return False  # a jump host here forwards; it offers no shell

    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> Awaitable[asyncssh.SSHTCPSession[bytes]]:
        """direct-tcpip (`ssh -J`, asyncssh `tunnel=`): only to lab devices, mapped to where they really listen."""
        assert self.conn is not None
        stats = self.jump.stats
        target = self.jump.routes.get((dest_host, dest_port))
        if target is None:
            stats.refused_channels += 1
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, f"{dest_host}:{dest_port} is not a lab device"
            )
        stats.forwarded_channels += 1
        stats.forwarded_to[f"{dest_host}:{dest_port}"] += 1
        # asyncssh runs the returned coroutine to connect; if the device does not answer, the channel open fails.
        forward = (
            self.conn.forward_unix_connection(target.path)
            if target.is_unix
            else self.conn.forward_connection(target.host, target.port)
        )
        return cast(Awaitable[asyncssh.SSHTCPSession[bytes]], forward)


class JumpHostServer:
    """An SSH jump host on its own address.

    `routes` maps the (host, port) a client asks for — the address in the inventory — to where the device's
    server really listens: the same address normally, a Unix socket when devices are reachable only through here.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        host_key: asyncssh.SSHKey,
        routes: Mapping[tuple[str, int], Endpoint],
        username: str = JUMP_USERNAME,
        password: str,
        client_keys: tuple[asyncssh.SSHKey, ...] = (),
        name: str = JUMP_HOST_NAME,
    ) -> None:
        self.name = name
        self.endpoint = Endpoint(host, port)
        self.username = username
        self.password = password
        self.routes = routes
        self.client_keys = frozenset(key.public_data for key in client_keys)
        self.stats = JumpStats()
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self._host_key = host_key
        self._server: asyncio.AbstractServer | None = None
        self._options: asyncssh.SSHServerConnectionOptions | None = None

    @property
    def info(self) -> JumpHostInfo:
        return JumpHostInfo(self.name, self.endpoint.host, self.endpoint.port, self.username, self.password, self.stats)

    def _accept(self) -> asyncio.BaseProtocol:
        assert self._options is not None
        return asyncssh.SSHServerConnection(asyncio.get_running_loop(), self._options)

    async def start(self) -> None:
        self._options = asyncssh.SSHServerConnectionOptions(
            loop=asyncio.get_running_loop(),
            server_host_keys=[self._host_key],
            server_factory=functools.partial(_JumpConnection, self),
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
        )
        try:
            self._server = await open_listener(self.endpoint, self._accept)
        except OSError as error:
            raise OSError(error.errno, f"jump host: cannot listen on {self.endpoint}: {error.strerror}") from error

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            forget_unix_socket(self.endpoint)
        for conn in list(self.connections):
            conn.abort()
