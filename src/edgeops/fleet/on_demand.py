"""A CommandTransport that opens SSH sessions when a device is first asked for, reuses them, and closes them all."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from edgeops.defaults import CONNECT_TIMEOUT_S, MAX_OUTPUT_BYTES
from edgeops.devices.errors import AuthFailed, DeviceError
from edgeops.devices.hostkeys import KnownHosts
from edgeops.devices.samples import CommandResult, Failure
from edgeops.devices.ssh import PasswordSource, SshSession, SshTarget
from edgeops.inventory.model import Device, Inventory, SecretRef
from edgeops.inventory.problems import InventoryError
from edgeops.inventory.secrets import PromptCache, SecretError, resolve_secret
from edgeops.inventory.ssh_config import ProxyHop, SshSettings, ssh_settings_for

if TYPE_CHECKING:  # imported on the first device behind a jump host: most runs have none
    from edgeops.devices.tunnel import JumpHostPool

log = logging.getLogger(__name__)

# Logins take many round trips (key exchange, authentication, the CLI's environment commands), so opening many at
# once hides their latency; the cap keeps a run of thousands from opening thousands of handshakes at the same
# moment (a jump host's connection limits, the client's CPU). At 200 lab devices 20 at a time took twice as long
# as 100 (docs/performance.md).
DEFAULT_MAX_OPENING = 100

SecretResolver = Callable[[SecretRef], str]


def default_secret_resolver(prompt_cache: PromptCache | None = None) -> SecretResolver:
    """resolve_secret with one prompt cache, so a `prompt` password is asked for once per run."""
    cache: PromptCache = {} if prompt_cache is None else prompt_cache
    return lambda ref: resolve_secret(ref, prompt_cache=cache)


class OnDemandTransport:
    """Sessions for one run (or one script): opened on first use, a capped number at a time, closed by aclose().

    A session that dies during the run is reopened by the next command to its device. Devices behind a jump host
    (from the inventory or a ProxyJump in ssh_config) share one connection per jump host.
    """

    def __init__(
        self,
        inventory: Inventory,
        *,
        known_hosts: KnownHosts,
        resolve_password: SecretResolver | None = None,
        max_opening: int = DEFAULT_MAX_OPENING,
        connect_timeout_s: float | None = None,
        max_output_bytes: int = MAX_OUTPUT_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """connect_timeout_s: a cap on each login inside the command's timeout (the person set one); None: the login
        may take the whole timeout. clock: monotonic seconds, to measure what the login spent."""
        if max_opening < 1:
            raise ValueError("max_opening must be at least 1")
        self.inventory = inventory
        self.known_hosts = known_hosts
        self.connect_timeout_s = connect_timeout_s
        self._clock = clock
        self.max_output_bytes = max_output_bytes
        self.max_opening = max_opening
        self._resolve = resolve_password or default_secret_resolver()
        self._opening: asyncio.Semaphore | None = None  # created on the loop that uses it
        self._sessions: dict[str, SshSession] = {}
        self._settings: dict[str, SshSettings] = {}
        self._jump_pool: JumpHostPool | None = None
        self._closed = False
        self.sessions_opened = 0  # how many times a session was opened (reopens included), for tests and figures

    def prepare(self, devices: Iterable[Device]) -> None:
        """Work out every device's SSH settings now, so an ssh_config problem is reported before anything runs.

        Raises InventoryError (with FILE:LINE:COL problems).
        """
        problems = []
        for device in devices:
            try:
                self._settings_for(device)
            except InventoryError as error:
                problems.extend(error.problems)
        if problems:
            raise InventoryError(dict.fromkeys(problems))

    async def run_command(self, device: Device, command: str, *, timeout_s: float) -> CommandResult:
        """Open the device's session if needed, then run; `timeout_s` is the budget of both together.

        The login may take all of it, or connect_timeout_s when that is set; the command has what the login left.
        The budget starts when the login starts: waiting for a free opening slot (max_opening) is not the device's
        time.
        """
        if self._closed:
            raise RuntimeError("the transport is closed")
        started = time.time()
        try:
            session = self._session(device)
        except InventoryError as error:
            return _failed(device, command, started, Failure.CONFIG, error.format())
        login_s = 0.0
        if not session.alive:
            if self._opening is None:
                self._opening = asyncio.Semaphore(self.max_opening)
            async with self._opening:
                if not session.alive:
                    budget = self.login_budget(timeout_s)
                    session.connect_timeout_s = budget
                    if self._jump_pool is not None:
                        self._jump_pool.connect_timeout_s = budget  # a jump host's login is part of this one
                    login_began = self._clock()
                    try:
                        await session.open()
                    except DeviceError as error:
                        return _failed(device, command, started, error.code, error.message)
                    login_s = self._clock() - login_began
                    self.sessions_opened += 1
        left = timeout_s - login_s
        if left <= 0:
            # Logged in just as the budget ran out: nothing is sent that could not be waited for.
            return _failed(device, command, started, Failure.TIMEOUT, _spent_by_login(timeout_s, login_s))
        result = await session.run(command, timeout=left)
        if login_s and result.failure is Failure.TIMEOUT:
            # "timeout after 3.2 s" would hide that the login had the rest of the budget.
            return replace(result, reason=f"{_spent_by_login(timeout_s, login_s)}; {result.reason}")
        return result

    def login_budget(self, timeout_s: float) -> float:
        """How long one login may take under a command's timeout: all of it, or the connect timeout if smaller."""
        return timeout_s if self.connect_timeout_s is None else min(self.connect_timeout_s, timeout_s)

    async def aclose(self) -> None:
        """Log out of every session (politely, all at once) and close the jump host connections."""
        self._closed = True
        sessions = list(self._sessions.values())
        self._sessions.clear()
        if sessions:
            await asyncio.gather(*(session.close() for session in sessions), return_exceptions=True)
        if self._jump_pool is not None:
            await self._jump_pool.close()

    async def __aenter__(self) -> OnDemandTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- sessions -------------------------------------------------------------------------------------------

    def _settings_for(self, device: Device) -> SshSettings:
        settings = self._settings.get(device.name)
        if settings is None:
            settings = ssh_settings_for(device, self.inventory)
            self._settings[device.name] = settings
        return settings

    def _session(self, device: Device) -> SshSession:
        session = self._sessions.get(device.name)
        if session is not None:
            return session
        settings = self._settings_for(device)
        jump = self._jump_for(settings)
        session = SshSession(
            SshTarget.from_settings(device, settings),
            known_hosts=self.known_hosts,
            password=self._password_source(device.name, device.credentials.password),
            tunnel=(lambda: self._jumps().get_tunnel(jump)) if jump else None,
            via=jump or "",
            connect_timeout_s=self.connect_timeout_s or CONNECT_TIMEOUT_S,  # each login sets its own budget
            max_output_bytes=self.max_output_bytes,
        )
        self._sessions[device.name] = session
        return session

    def _password_source(self, who: str, ref: SecretRef | None) -> PasswordSource | None:
        if ref is None:
            return None

        def password() -> str:
            try:
                return self._resolve(ref)
            except SecretError as error:
                # An AuthFailed passes through SshSession unchanged: the person sees why, with failure "auth".
                raise AuthFailed(who, f"cannot get the password for {who}: {error}") from None  # it names the ref

        return password

    def _jump_for(self, settings: SshSettings) -> str | None:
        """Register the device's jump chain with the pool; the name of the last hop, or None for a direct login."""
        if not settings.proxy_jump:
            return None
        return self._jumps().add_chain(settings.proxy_jump, self._hop_password, self._hop_uses_agent)

    def _jumps(self) -> JumpHostPool:
        """One connection per jump host, shared by the devices behind it; created when the first one needs it."""
        if self._jump_pool is None:
            from edgeops.devices.tunnel import JumpHostPool

            # Its timeout is each login's budget (set before every login); until one starts, the connect timeout.
            self._jump_pool = JumpHostPool(
                known_hosts=self.known_hosts, connect_timeout_s=self.connect_timeout_s or CONNECT_TIMEOUT_S
            )
        return self._jump_pool

    def _hop_password(self, hop: ProxyHop) -> PasswordSource | None:
        if not hop.jump_host:
            return None
        credentials = self.inventory.jump_host(hop.jump_host).credentials
        return self._password_source(hop.jump_host, credentials.password if credentials else None)

    def _hop_uses_agent(self, hop: ProxyHop) -> bool:
        credentials = self.inventory.jump_host(hop.jump_host).credentials if hop.jump_host else None
        return credentials.use_agent if credentials else True


def _spent_by_login(timeout_s: float, login_s: float) -> str:
    return f"timeout: the login took {login_s:.1f} s of the {timeout_s:g} s budget"


def _failed(device: Device, command: str, started: float, failure: Failure, reason: str) -> CommandResult:
    return CommandResult.failed(
        device.name, command, failure=failure, reason=reason, started=started, ended=time.time()
    )
