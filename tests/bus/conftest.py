"""Fixtures for the bus: the real nats-server with JetStream (started and stopped per test module), on its own
loopback address with a temporary store. Nothing here or in the bus tests mocks NATS."""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

START_WITHIN_S = 15.0


def nats_server_binary() -> str:
    binary = shutil.which("nats-server")
    if binary is None:
        pytest.skip("nats-server is not installed (apt-get install nats-server; see README)")
    return binary


def free_loopback() -> tuple[str, int]:
    """A 127.x address of our own and a port free on it."""
    host = f"127.{random.randrange(30, 100)}.{random.randrange(0, 256)}.{random.randrange(1, 255)}"
    with socket.socket() as probe:
        probe.bind((host, 0))
        return host, probe.getsockname()[1]


class NatsServer:
    """One nats-server -js process; `config` is a server configuration file's text (users, permissions)."""

    def __init__(self, root: Path, config: str = "") -> None:
        self.root = root
        self.store = root / "store"
        self.config = config
        self.host, self.port = free_loopback()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_file = root / "server.log"

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self) -> None:
        binary = nats_server_binary()
        self.root.mkdir(parents=True, exist_ok=True)
        command = [binary, "-js", "-a", self.host, "-p", str(self.port), "-sd", str(self.store)]
        if self.config:
            config_file = self.root / "server.conf"
            config_file.write_text(self.config)
            command += ["-c", str(config_file)]
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_WITHIN_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited ({self.process.returncode}): {self.log_file.read_text()}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.5):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"nats-server did not listen within {START_WITHIN_S:g} s")
            time.sleep(0.05)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Stop and start again on the same address and store (what a console sees as the bus lost and back)."""
        self.stop()
        self.start()


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A nats-server -js without authentication, on its own 127.x address, for this test module."""
    server = NatsServer(tmp_path_factory.mktemp("nats"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def start_nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], NatsServer]]:
    """`start_nats_server(config_text)`: a nats-server -js with that configuration (users, permissions), stopped at the
    end of the test module."""
    servers: list[NatsServer] = []

    def start(config: str = "") -> NatsServer:
        server = NatsServer(tmp_path_factory.mktemp("nats"), config)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()
