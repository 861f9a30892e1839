"""The device lab as clients written elsewhere see it: a lab in a background thread, its devices and what they show.

OpenSSH, scrapli, Netmiko and pygnmi block (subprocesses, paramiko, grpc's sync API, scrapli's system transport),
so the lab runs on its own event loop in a background thread, like a device in another box: a test calls a client
directly, and the lab keeps answering. One lab per test module (starting one takes well under a second); every test
leaves it idle.

    def test_something(client_lab):
        identity = client_lab.identity(SRL)
        ... run a client against identity.host:identity.ssh_port ...
        client_lab.wait_idle()            # the client closed its sessions and streams on the lab's side too
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import itertools
import random
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from edgeops.lab.model import DeviceIdentity
from edgeops.lab.runner import Lab, LabStatus, relocate
from edgeops.lab.topology import build_fleet, synthetic_sites
from edgeops.platforms import Platform

SSH_PORT = 2222  # the lab's non-root port, so the tests run the same as root and as a normal user
GNMI_PORT = 57400
CLIENT_TIMEOUT_S = 10.0  # what every client is given for connecting and for each answer
IDLE_WAIT_S = 10.0  # how long the lab may take to see a client's close
FIRST_BLOCK, LAST_BLOCK = 100, 249  # the 127.<block> ranges every lab test draws from

# The devices every module's lab has, each pinned to a release so prompts and banners are known:
SRL = "alcala-spine1"  # SR Linux 25.3: `A:admin@host#`
SRL_24 = "alcala-leaf1"  # SR Linux 24.10: `A:host#` and the older banner
SROS = "alcala-gw1"  # SR OS 25.10, MD-CLI
SROS_CLASSIC = "alcala-gw2"  # SR OS 24.3, classic CLI
PINNED: dict[str, dict[str, Any]] = {
    SRL: {"version": "v25.3.2", "build": "134-g5d0ed3f0a2c"},
    SRL_24: {"version": "v24.10.1", "build": "492-gf8858c5836"},
    SROS: {"version": "C-25.10.R2", "build": ""},
    SROS_CLASSIC: {"version": "B-24.3.R2-1", "build": "", "platform": Platform.SROS_CLASSIC},
}

# What each device shows, as the platform reference gives it. A prompt as the device sends it after a command's
# output (which ends with a line break): SR Linux and MD-CLI start theirs with another line break, so a blank
# line separates output and prompt; the classic CLI does not.
PROMPTS = {
    SRL: "\n--{ running }--[  ]--\nA:admin@alcala-spine1# ",
    SRL_24: "\n--{ running }--[  ]--\nA:alcala-leaf1# ",
    SROS: "\n[/]\nA:admin@alcala-gw1# ",
    SROS_CLASSIC: "*A:alcala-gw2# ",
}


def host_line(name: str) -> str:
    """The prompt's last line without its trailing space, as clients that find "the prompt" report it."""
    return PROMPTS[name].split("\n")[-1].strip()


VERSION_LINES = {
    SRL: "Software Version     : v25.3.2",
    SRL_24: "Software Version     : v24.10.1",
    SROS: "TiMOS-C-25.10.R2 ",
    SROS_CLASSIC: "TiMOS-B-24.3.R2-1 ",
}

T = TypeVar("T")

_blocks = itertools.count(random.randrange(LAST_BLOCK - FIRST_BLOCK + 1))


def client_lab_identities() -> list[DeviceIdentity]:
    """One site in a fresh 127.<block> range: alcala-spine1/2, leaf1/2 (SR Linux), gw1 (MD-CLI), gw2 (classic)."""
    block = FIRST_BLOCK + next(_blocks) % (LAST_BLOCK - FIRST_BLOCK + 1)
    fleet = build_fleet(synthetic_sites(1), 6, ssh_port=SSH_PORT, gnmi_port=GNMI_PORT)
    return [dataclasses.replace(identity, **PINNED.get(identity.name, {})) for identity in relocate(fleet, block)]


class LabThread:
    """A Lab served from its own event loop in a daemon thread; blocking clients talk to it over real sockets."""

    def __init__(self, lab_dir: Path, **options: Any) -> None:
        self.lab_dir = lab_dir
        self.options = options
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="device-lab", daemon=True)
        self._lab: Lab | None = None

    @property
    def lab(self) -> Lab:
        assert self._lab is not None, "the lab is not started"
        return self._lab

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the lab's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> LabThread:
        self.thread.start()
        for attempt in range(8):
            lab = Lab(
                client_lab_identities(), lab_dir=self.lab_dir, ssh_port=SSH_PORT, gnmi_port=GNMI_PORT, **self.options
            )
            try:
                self.call(lab.start())
            except OSError as error:  # another run holds this block: take the next one
                if error.errno == errno.EADDRINUSE and attempt < 7:
                    continue
                self.close()
                raise
            self._lab = lab
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        if self._lab is not None:
            self.call(self._lab.stop())
            self._lab = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()

    # -- what tests use -------------------------------------------------------------------------------

    def identity(self, name: str) -> DeviceIdentity:
        return self.lab.devices[name].identity

    def status(self) -> LabStatus:
        async def read() -> LabStatus:
            return self.lab.status()

        return self.call(read())

    def inject(self, device: str, kind: str, **params: object) -> str:
        return self.call(self.lab.inject(device, kind, **params))

    def clear(self, device: str) -> str:
        return self.call(self.lab.clear(device))

    def wait_idle(self) -> LabStatus:
        """Wait until the lab has no SSH connection, session or gNMI stream open; fail if that does not happen."""
        deadline = time.monotonic() + IDLE_WAIT_S
        while True:
            status = self.status()
            if not (status.ssh_connections or status.ssh_sessions or status.gnmi_streams):
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"the lab still has sessions or streams open after the client closed: {status}")
            time.sleep(0.05)
