"""Shared fixtures for tests against the device lab: address blocks, running labs, and SSH/scrapli clients.

Every lab a test starts gets its own 127.<block>.x.y range (blocks 100..249, starting at a random one per run),
so tests running in parallel, or a lab left over from a crashed run, never collide. Ports are the non-root
fallbacks (SSH 2222, gNMI 57400), so the tests run the same as root and as a normal user.

    async def test_something(lab, lab_ssh):                  # a running 5-device lab, both platforms
        async with lab_ssh.connect(lab, "alcala-gw1") as conn:
            result = await conn.run("show version")

    async def test_other(lab_factory):                       # labs with options, stopped after the test
        lab = await lab_factory(jump_only=True, devices_per_site=4)
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from edgeops.lab.model import DeviceIdentity
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.topology import build_fleet, synthetic_sites

LAB_TEST_SSH_PORT = 2222
LAB_TEST_GNMI_PORT = 57400
FIRST_TEST_BLOCK, LAST_TEST_BLOCK = 100, 249
CONNECT_TIMEOUT_S = 10.0

_blocks = itertools.count(random.randrange(LAST_TEST_BLOCK - FIRST_TEST_BLOCK + 1))


def next_address_block() -> int:
    """A 127.<block> range no other lab of this run has used (wrapping after 150 labs)."""
    return FIRST_TEST_BLOCK + next(_blocks) % (LAST_TEST_BLOCK - FIRST_TEST_BLOCK + 1)


def lab_identities(
    block: int,
    *,
    sites: int = 1,
    devices_per_site: int = 5,
    seed: int = 1,
    ssh_port: int = LAB_TEST_SSH_PORT,
    gnmi_port: int = LAB_TEST_GNMI_PORT,
) -> list[DeviceIdentity]:
    """Demo-fleet identities at 127.<block>.<site>.<n>. 5 per site: 2 spines, 1 leaf (SR Linux), 2 gateways (SR OS)."""
    fleet = build_fleet(synthetic_sites(sites), devices_per_site, seed=seed, ssh_port=ssh_port, gnmi_port=gnmi_port)
    return relocate(fleet, block)


LabFactory = Callable[..., Awaitable[Lab]]


@pytest.fixture
async def lab_factory(tmp_path: Path) -> AsyncIterator[LabFactory]:
    """Start labs with any Lab options; every lab is stopped when the test ends.

    `await lab_factory(sites=1, devices_per_site=5, identities=None, lab_dir=None, **lab_options)`:
    identities default to a fresh address block; ssh_port/gnmi_port default to 2222/57400.
    A block already taken on this machine (another run) is skipped for the next one.
    """
    labs: list[Lab] = []
    counter = itertools.count()

    async def start(
        *,
        identities: list[DeviceIdentity] | None = None,
        sites: int = 1,
        devices_per_site: int = 5,
        seed: int = 1,
        lab_dir: Path | None = None,
        **options: Any,
    ) -> Lab:
        options.setdefault("ssh_port", LAB_TEST_SSH_PORT)
        options.setdefault("gnmi_port", LAB_TEST_GNMI_PORT)
        directory = lab_dir or tmp_path / f"lab{next(counter)}"
        for attempt in range(5):
            chosen = identities or lab_identities(
                next_address_block(), sites=sites, devices_per_site=devices_per_site, seed=seed
            )
            lab = Lab(chosen, lab_dir=directory, seed=seed, **options)
            try:
                await lab.start()
            except OSError as error:
                if error.errno != errno.EADDRINUSE or identities is not None or attempt == 4:
                    raise
                continue
            labs.append(lab)
            return lab
        raise AssertionError("unreachable")  # pragma: no cover

    yield start
    for lab in reversed(labs):
        await lab.stop()


@pytest.fixture
async def lab(lab_factory: LabFactory) -> Lab:
    """A running lab of one site: alcala-spine1/2 and alcala-leaf1 (SR Linux), alcala-gw1/2 (SR OS MD-CLI)."""
    return await lab_factory(identities=None, sites=1, devices_per_site=5)


class LabSshClient:
    """Clients for lab devices: asyncssh connections and scrapli drivers with the right address and login."""

    @staticmethod
    def identity(lab: Lab, name: str) -> DeviceIdentity:
        return lab.devices[name].identity

    @contextlib.asynccontextmanager
    async def connect(self, lab: Lab, name: str, **options: Any) -> AsyncIterator[asyncssh.SSHClientConnection]:
        """An asyncssh connection to a device (password login, host key not checked unless known_hosts given)."""
        identity = self.identity(lab, name)
        settings: dict[str, Any] = {
            "username": identity.username,
            "password": identity.password,
            "known_hosts": None,
            "client_keys": None,
            "agent_path": None,
            "connect_timeout": CONNECT_TIMEOUT_S,
        }
        settings.update(options)
        conn = await asyncssh.connect(identity.host, identity.ssh_port, **settings)
        try:
            yield conn
        finally:
            conn.close()
            with contextlib.suppress(Exception):
                await conn.wait_closed()

    async def run(self, lab: Lab, name: str, command: str, **options: Any) -> asyncssh.SSHCompletedProcess:
        """Run one command non-interactively (`ssh device "command"`)."""
        async with self.connect(lab, name, **options) as conn:
            return await conn.run(command, check=False)

    def scrapli(self, lab: Lab, name: str, **options: Any) -> Any:
        """An (unopened) scrapli AsyncScrapli driver for the device's platform over asyncssh."""
        from scrapli import AsyncScrapli

        identity = self.identity(lab, name)
        settings: dict[str, Any] = {
            "host": identity.host,
            "port": identity.ssh_port,
            "auth_username": identity.username,
            "auth_password": identity.password,
            "auth_strict_key": False,
            "transport": "asyncssh",
            "platform": "nokia_sros" if identity.platform.is_sros else "nokia_srlinux",
            "timeout_socket": CONNECT_TIMEOUT_S,
            "timeout_transport": CONNECT_TIMEOUT_S,
            "timeout_ops": CONNECT_TIMEOUT_S,
        }
        settings.update(options)
        return AsyncScrapli(**settings)


@pytest.fixture
def lab_ssh() -> LabSshClient:
    return LabSshClient()


@pytest.fixture
def lab_address_block() -> int:
    """A fresh N for 127.N.x.y, for labs started some other way (start_demo_lab, `edgeops lab --address-block`)."""
    return next_address_block()


@pytest.fixture
def make_lab_identities() -> Callable[..., list[DeviceIdentity]]:
    """`make_lab_identities(sites=1, devices_per_site=5, seed=1)`: identities in a fresh address block."""

    def make(**options: Any) -> list[DeviceIdentity]:
        return lab_identities(next_address_block(), **options)

    return make
