"""One connection to the bus: where it is, how to log in (TLS, user/password, nkeys, credentials files), and a clear
error when it cannot be reached."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from nats.aio.client import Client

log = logging.getLogger(__name__)

DEFAULT_PORT = 4222
SCHEMES = ("nats", "tls")
CONNECT_TIMEOUT_S = 5.0
# Reconnecting: nats-py waits this long between attempts at one server (plus its own jitter), forever.
RECONNECT_WAIT_S = 1.0

# Credentials come from the environment, never from the command line (where `ps` shows them) and never from the bus.
ENV_USER = "EDGEOPS_BUS_USER"
ENV_PASSWORD = "EDGEOPS_BUS_PASSWORD"
ENV_NKEY_SEED = "EDGEOPS_BUS_NKEY"  # a file holding an nkey seed (SU...)
ENV_CREDS = "EDGEOPS_BUS_CREDS"  # a NATS credentials file (user JWT and nkey seed)
ENV_CA = "EDGEOPS_BUS_CA"  # the CA that signed the server's certificate
ENV_CERT = "EDGEOPS_BUS_CERT"  # a client certificate, for servers that verify clients (with ENV_KEY)
ENV_KEY = "EDGEOPS_BUS_KEY"


class BusUnreachable(Exception):
    """The bus could not be reached (or refused us) when connecting; names the URL (without a password) and why."""

    def __init__(self, url: str, cause: str) -> None:
        super().__init__(f"cannot reach the bus at {url}: {cause}")
        self.url = url
        self.cause = cause


@dataclass(frozen=True)
class BusSettings:
    """Where the bus is and how edgeops logs in to it."""

    url: str
    user: str | None = None
    password: str | None = None
    nkey_seed_file: Path | None = None
    creds_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    reconnect_wait_s: float = RECONNECT_WAIT_S

    @classmethod
    def from_url(cls, url: str, environ: Mapping[str, str] | None = None, **options: object) -> BusSettings:
        """Settings for `url` (nats://HOST[:PORT] or tls://HOST[:PORT]), the login from the EDGEOPS_BUS_* variables.
        Raises ValueError on a URL that is not a bus URL."""
        env = os.environ if environ is None else environ
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ValueError(f"not a bus URL: {redact_url(url)!r} (expected nats://HOST:PORT or tls://HOST:PORT)")

        def path(name: str) -> Path | None:
            value = env.get(name)
            return Path(value) if value else None

        return cls(
            url=url,
            user=env.get(ENV_USER) or None,
            password=env.get(ENV_PASSWORD) or None,
            nkey_seed_file=path(ENV_NKEY_SEED),
            creds_file=path(ENV_CREDS),
            ca_file=path(ENV_CA),
            cert_file=path(ENV_CERT),
            key_file=path(ENV_KEY),
            **options,  # type: ignore[arg-type]
        )

    @property
    def shown_url(self) -> str:
        """The URL as messages and logs show it: a password in it is replaced by ***."""
        return redact_url(self.url)

    def tls_context(self) -> ssl.SSLContext | None:
        """The TLS context for a tls:// URL or a configured CA; None for plain nats://."""
        if urlsplit(self.url).scheme != "tls" and self.ca_file is None and self.cert_file is None:
            return None
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.cert_file is not None:
            context.load_cert_chain(str(self.cert_file), str(self.key_file) if self.key_file else None)
        return context


def redact_url(url: str) -> str:
    """`url` with the password of its user part replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def describe(error: BaseException) -> str:
    """What went wrong, for a person: the OS's words for a socket error, the server's for a refusal."""
    if isinstance(error, ssl.SSLCertVerificationError):  # its errno is OpenSSL's, which strerror misreads as EPERM
        return f"TLS: the server's certificate was not accepted ({error.verify_message or error.reason})"
    if isinstance(error, ssl.SSLError):
        return f"TLS: {(error.reason or str(error)).lower().replace('_', ' ')}"
    if isinstance(error, OSError) and error.errno:
        return os.strerror(error.errno).lower()  # asyncio's own words repeat the address instead
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    if isinstance(error, asyncio.TimeoutError | TimeoutError):
        return "no answer in time"
    text = str(error).strip() or type(error).__name__
    return text.removeprefix("nats: ")


Callback = Callable[[], Awaitable[None]]
ErrorCallback = Callable[[Exception], Awaitable[None]]


async def connect_bus(
    settings: BusSettings,
    *,
    name: str,
    on_disconnect: Callback | None = None,
    on_reconnect: Callback | None = None,
    on_error: ErrorCallback | None = None,
) -> Client:
    """A connection to the bus that reconnects by itself (with backoff) once it has been up.

    The first connection is tried once: an unreachable server, a TLS failure or a refused login raise BusUnreachable
    at once instead of retrying forever. `name` is how the server lists this client (e.g. "edgeops collect host").
    """
    client = Client()
    first_error: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()
    connected = False

    async def error_cb(error: Exception) -> None:
        if not connected and not first_error.done():
            first_error.set_result(error)
        elif on_error is not None:
            await on_error(error)
        else:
            log.warning("bus %s: %s", settings.shown_url, describe(error))

    async def disconnected_cb() -> None:
        if connected and on_disconnect is not None:
            await on_disconnect()

    async def reconnected_cb() -> None:
        if on_reconnect is not None:
            await on_reconnect()

    options: dict[str, object] = {
        "servers": [settings.url],
        "name": name,
        "connect_timeout": settings.connect_timeout_s,
        "reconnect_time_wait": settings.reconnect_wait_s,
        "max_reconnect_attempts": -1,
        "allow_reconnect": True,
        "error_cb": error_cb,
        "disconnected_cb": disconnected_cb,
        "reconnected_cb": reconnected_cb,
    }
    if settings.user is not None:
        options["user"] = settings.user
        options["password"] = settings.password or ""
    if settings.creds_file is not None:
        options["user_credentials"] = str(settings.creds_file)
    elif settings.nkey_seed_file is not None:
        options["nkeys_seed"] = str(settings.nkey_seed_file)
    try:
        tls = settings.tls_context()
    except (OSError, ssl.SSLError) as error:
        raise BusUnreachable(settings.shown_url, f"TLS files: {describe(error)}") from None
    if tls is not None:
        options["tls"] = tls
        hostname = urlsplit(settings.url).hostname
        if hostname:
            options["tls_hostname"] = hostname
    attempt: asyncio.Future[None] = asyncio.ensure_future(client.connect(**options))  # type: ignore[arg-type]
    waiting: set[asyncio.Future[Any]] = {attempt, first_error}
    done, _ = await asyncio.wait(waiting, timeout=settings.connect_timeout_s + 1.0, return_when=asyncio.FIRST_COMPLETED)
    if attempt in done and attempt.exception() is None:
        connected = True
        log.info("connected to the bus at %s", settings.shown_url)
        return client
    if attempt in done:
        cause = describe(attempt.exception())  # type: ignore[arg-type]
    elif first_error in done:
        cause = describe(first_error.result())
    else:
        cause = "no answer in time"
    attempt.cancel()
    with contextlib.suppress(BaseException):
        await attempt
    with contextlib.suppress(Exception):
        await client.close()
    raise BusUnreachable(settings.shown_url, cause)


async def probe_bus(settings: BusSettings) -> None:
    """Connect once and leave; BusUnreachable (naming the URL and the cause) when that fails."""
    client = await connect_bus(settings, name="edgeops probe")
    await client.close()
