"""SshSession against the lab's SSH servers over real sockets: commands, device errors, faults, keepalive."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from edgeops.devices.errors import AuthFailed, ConnectionLost, ConnectTimeout, HostKeyMismatch, Unreachable
from edgeops.devices.hostkeys import KnownHosts
from edgeops.devices.samples import Failure, SessionState
from edgeops.devices.ssh import SshSession, SshTarget, connect_error
from edgeops.inventory.model import Credentials, Device
from edgeops.inventory.ssh_config import SshSettings
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.topology import build_fleet, synthetic_sites
from edgeops.platforms import Platform

LAB_SSH_PORT = 2222

pytestmark = pytest.mark.lab


@pytest.fixture
async def start_lab(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Lab]]]:
    """Start a one-site lab (spine1/2, leaf1: SR Linux; gw1/2: SR OS) in its own 127.<block> range.

    `platforms` changes a device's platform, e.g. {"alcala-gw2": Platform.SROS_CLASSIC}.
    """
    labs: list[Lab] = []

    async def start(platforms: dict[str, Platform] | None = None, **options: Any) -> Lab:
        options.setdefault("gnmi", False)
        for attempt in range(8):
            block = random.randrange(100, 250)
            identities = relocate(build_fleet(synthetic_sites(1), 5, ssh_port=LAB_SSH_PORT), block)
            identities = [
                dataclasses.replace(identity, platform=(platforms or {}).get(identity.name, identity.platform))
                for identity in identities
            ]
            lab = Lab(identities, lab_dir=tmp_path / f"lab{len(labs)}-{attempt}", ssh_port=LAB_SSH_PORT, **options)
            try:
                await lab.start()
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE and attempt < 7:
                    continue
                raise
            labs.append(lab)
            return lab
        raise AssertionError("no free address block")

    yield start
    for lab in reversed(labs):
        await lab.stop()


@pytest.fixture
async def lab(start_lab: Callable[..., Awaitable[Lab]]) -> Lab:
    return await start_lab(platforms={"alcala-gw2": Platform.SROS_CLASSIC})


@pytest.fixture
def known_hosts(tmp_path: Path) -> KnownHosts:
    return KnownHosts(tmp_path / "known_hosts", user_files=())


def make_session(lab: Lab, name: str, known_hosts: KnownHosts, **options: Any) -> SshSession:
    identity = lab.device(name).identity
    target = SshTarget(name, identity.platform, identity.host, identity.ssh_port, identity.username, use_agent=False)
    options.setdefault("password", lambda: identity.password)
    options.setdefault("connect_timeout_s", 10.0)
    return SshSession(target, known_hosts=known_hosts, **options)


# -- commands and device errors -----------------------------------------------------------------------------


async def test_srlinux_session_runs_commands_and_flags_parsing_errors(lab: Lab, known_hosts: KnownHosts) -> None:
    async with make_session(lab, "alcala-spine1", known_hosts) as session:
        assert session.alive and session.state is SessionState.UP
        version = await session.run("show version")
        assert version.ok and version.failure is None and version.reason == ""
        assert "Hostname             : alcala-spine1" in version.output
        assert version.device == "alcala-spine1" and version.command == "show version"
        assert version.started <= version.ended

        bad = await session.run("show versio")
        assert not bad.ok
        assert bad.failure == "device-error"
        assert bad.reason == "device error: Parsing error: Unknown token 'versio'."
        assert "Options are" in bad.output

        missing = await session.run("info from state /interface ethernet-9/9")
        assert missing.failure == "device-error"
        assert missing.reason.startswith("device error: Error: Path '/interface[name=ethernet-9/9]'")

        after = await session.run("info from state /interface ethernet-1/1 oper-state")
        assert after.ok and "oper-state" in after.output  # the session is still in step after errors


async def test_sros_md_cli_session_flags_minor_errors(lab: Lab, known_hosts: KnownHosts) -> None:
    async with make_session(lab, "alcala-gw1", known_hosts) as session:
        version = await session.run("show version")
        assert version.ok and version.output.startswith("TiMOS-")
        bad = await session.run("show versio")
        assert not bad.ok and bad.failure == "device-error"
        assert bad.reason == "device error: MINOR: MGMT_CORE #2201: Unknown element - 'versio'"
        ports = await session.run("show port")
        assert ports.ok and "Ports on Slot 1" in ports.output


async def test_sros_classic_session_flags_bad_commands(lab: Lab, known_hosts: KnownHosts) -> None:
    async with make_session(lab, "alcala-gw2", known_hosts) as session:
        assert session.target.platform is Platform.SROS_CLASSIC
        ports = await session.run("show port")
        assert ports.ok and "1/1/c1/1" in ports.output
        bad = await session.run("show nonsense")
        assert bad.failure == "device-error" and bad.reason == "device error: Error: Bad command."


async def test_login_sets_the_cli_environment_each_platform_needs_and_nothing_else(
    lab: Lab, known_hosts: KnownHosts, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edgeops.lab.srlinux.cli import SrLinuxCli
    from edgeops.lab.sros.cli import SrosCli

    received: dict[str, list[str]] = {}
    for engine in (SrLinuxCli, SrosCli):
        real = engine.execute

        def recording(self: Any, line: str, real: Any = real) -> Any:
            received.setdefault(self.model.identity.name, []).append(line.strip())
            return real(self, line)

        monkeypatch.setattr(engine, "execute", recording)
    for name in ("alcala-spine1", "alcala-gw1", "alcala-gw2"):
        async with make_session(lab, name, known_hosts) as session:
            assert (await session.run("show version")).ok
            if name == "alcala-gw1":
                classic = await session.run("//show version")  # the classic engine's paging goes off first
                assert classic.ok and "TiMOS-" in classic.output
                assert (await session.run("//show version")).ok
    for lines in received.values():  # leave out the logout (scrapli finds the prompt first, then says logout)
        while lines and lines[-1] in ("", "logout", "quit"):
            lines.pop()
    # No bare Enter to find the prompt: the first thing each CLI reads is an environment command.
    assert received["alcala-spine1"] == [
        "environment cli-engine type basic",
        "environment complete-on-space false",
        "show version",
    ]
    assert received["alcala-gw1"] == [
        "environment command-completion space false",
        "environment more false",
        "environment console width 512",
        "show version",
        "//environment no more",
        "//show version",
        "//show version",
    ]
    assert received["alcala-gw2"] == ["environment no more", "show version"]


async def test_a_long_sros_output_is_not_paged_after_login(lab: Lab, known_hosts: KnownHosts) -> None:
    async with make_session(lab, "alcala-gw1", known_hosts, command_timeout_s=5.0) as session:
        ports = await session.run("show port")
        assert ports.ok and "Press Q to quit" not in ports.output
        assert len(ports.output.splitlines()) > 24  # longer than a terminal page


async def test_commands_to_one_device_are_serialised(lab: Lab, known_hosts: KnownHosts) -> None:
    names = [f"ethernet-1/{n}" for n in range(1, 13)]
    async with make_session(lab, "alcala-leaf1", known_hosts) as session:
        results = await asyncio.gather(
            *(session.run(f"info from state /interface {name} oper-state") for name in names)
        )
    for name, result in zip(names, results, strict=True):
        assert result.ok, result.reason
        assert f"interface {name} {{" in result.output
        assert sum("interface ethernet-" in line for line in result.output.splitlines()) == 1


async def test_a_command_asked_for_during_an_open_waits_for_the_session(lab: Lab, known_hosts: KnownHosts) -> None:
    session = make_session(lab, "alcala-gw1", known_hosts)
    opening = asyncio.create_task(session.open())
    await asyncio.sleep(0)  # the open has started and holds the channel
    result = await session.run("show version")
    await opening
    assert result.ok and result.output.startswith("TiMOS-")
    await session.close()


async def test_close_logs_out_and_the_device_sees_the_session_end(lab: Lab, known_hosts: KnownHosts) -> None:
    assert lab.ssh is not None
    states: list[SessionState] = []
    session = make_session(lab, "alcala-gw1", known_hosts, on_state=lambda _s, state: states.append(state))
    await session.open()
    await session.open()  # already open: no second connection
    assert lab.ssh.sessions_open == 1
    await session.close()
    assert not session.alive and session.state is SessionState.IDLE
    for _ in range(100):
        if lab.ssh.sessions_open == 0:
            break
        await asyncio.sleep(0.02)
    assert lab.ssh.sessions_open == 0
    assert states == [SessionState.CONNECTING, SessionState.UP, SessionState.IDLE]
    result = await session.run("show version")
    assert result.failure == "connection-lost" and not result.ok


# -- connection failures and their classes --------------------------------------------------------------------


async def test_auth_refused_hang_and_closed_port_map_to_our_errors(lab: Lab, known_hosts: KnownHosts) -> None:
    faults = lab.device("alcala-spine2").faults

    faults.auth_reject = True
    session = make_session(lab, "alcala-spine2", known_hosts)
    with pytest.raises(AuthFailed) as auth:
        await session.open()
    assert session.state is SessionState.AUTH_FAILED and auth.value.code is Failure.AUTH
    refused_command = await session.run("show version")  # says why there is no session
    assert (refused_command.failure, refused_command.reason) == ("auth", auth.value.message)
    faults.auth_reject = False

    faults.ssh_refuse = True
    with pytest.raises(Unreachable) as refused:
        await make_session(lab, "alcala-spine2", known_hosts).open()
    assert refused.value.code is Failure.CONNECTION_REFUSED
    faults.ssh_refuse = False

    faults.ssh_hang = True
    hung = make_session(lab, "alcala-spine2", known_hosts, connect_timeout_s=0.5)
    with pytest.raises(ConnectTimeout) as hang:
        await hung.open()
    assert hang.value.code is Failure.TIMEOUT and hung.state is SessionState.UNREACHABLE
    faults.ssh_hang = False

    assert lab.ssh is not None
    await lab.ssh.set_listening("alcala-spine2", False)
    closed = make_session(lab, "alcala-spine2", known_hosts)
    with pytest.raises(Unreachable) as nobody:
        await closed.open()
    assert nobody.value.refused and closed.state is SessionState.UNREACHABLE
    await lab.ssh.set_listening("alcala-spine2", True)

    async with make_session(lab, "alcala-spine2", known_hosts) as session:  # all clear: it works again
        assert (await session.run("show version")).ok


async def test_password_is_resolved_at_connect_time_and_never_logged(
    lab: Lab, known_hosts: KnownHosts, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    identity = lab.device("alcala-leaf1").identity
    calls = []

    async def password() -> str:
        calls.append(1)
        return identity.password

    session = make_session(lab, "alcala-leaf1", known_hosts, password=password)
    assert calls == []  # nothing is resolved before connecting
    await session.open()
    await session.run("show version")
    lab.device("alcala-leaf1").faults.drop_ssh()
    await asyncio.wait_for(session.wait_lost(), 10)
    await session.open()
    await session.close()
    assert len(calls) == 2  # once per connection
    assert caplog.records
    assert not any(identity.password in record.getMessage() for record in caplog.records)
    assert identity.password not in repr(session.__dict__)


# -- sessions that die ----------------------------------------------------------------------------------------


async def test_a_dropped_session_is_not_alive_and_run_reports_connection_lost(
    lab: Lab, known_hosts: KnownHosts
) -> None:
    session = make_session(lab, "alcala-gw1", known_hosts)
    await session.open()
    assert lab.device("alcala-gw1").faults.drop_ssh() == 1
    lost = await asyncio.wait_for(session.wait_lost(), 10)
    assert isinstance(lost, ConnectionLost)
    assert not session.alive and session.state is SessionState.DOWN
    result = await session.run("show version")
    assert not result.ok and result.failure == "connection-lost"
    assert "lost" in result.reason

    await session.open()  # reopening brings it back
    assert session.alive and (await session.run("show version")).ok
    await session.close()


async def test_a_drop_in_the_middle_of_a_command_fails_that_command(lab: Lab, known_hosts: KnownHosts) -> None:
    async with make_session(lab, "alcala-spine1", known_hosts) as session:
        lab.device("alcala-spine1").faults.ssh_drop_mid_command = True
        result = await session.run("show interface")
        assert not result.ok and result.failure == "connection-lost"
        assert not session.alive and session.state is SessionState.DOWN


async def test_a_command_timeout_closes_the_session_and_a_reopen_recovers(lab: Lab, known_hosts: KnownHosts) -> None:
    session = make_session(lab, "alcala-leaf1", known_hosts)
    await session.open()
    faults = lab.device("alcala-leaf1").faults
    faults.ssh_latency_s = 2.0
    result = await session.run("show version", timeout=0.3)
    assert not result.ok and result.failure == "timeout"
    assert "0.3 s" in result.reason
    assert not session.alive and session.state is SessionState.DOWN
    faults.ssh_latency_s = 0.0
    await session.open()
    assert (await session.run("show version")).ok  # no stale output from the timed-out command
    await session.close()


class Blackhole:
    """A TCP relay to a device that can stop passing bytes without closing anything (a dead path)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.silent = False
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink))
            self.tasks.add(task)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                if not self.silent:
                    sink.write(data)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_keepalive_detects_a_dead_path(lab: Lab, known_hosts: KnownHosts) -> None:
    identity = lab.device("alcala-spine1").identity
    relay = Blackhole(identity.host, identity.ssh_port)
    port = await relay.start()
    try:
        target = SshTarget("alcala-spine1", identity.platform, "127.0.0.1", port, identity.username, use_agent=False)
        session = SshSession(
            target,
            known_hosts=known_hosts,
            password=lambda: identity.password,
            keepalive_interval_s=0.2,
            keepalive_count_max=2,
        )
        await session.open()
        assert (await session.run("show version")).ok
        relay.silent = True  # packets vanish; no FIN, no RST
        lost = await asyncio.wait_for(session.wait_lost(), 10)
        assert isinstance(lost, ConnectionLost)
        assert not session.alive and session.state is SessionState.DOWN
        await session.close()
    finally:
        await relay.stop()


# -- units ----------------------------------------------------------------------------------------------------


def test_targets_from_the_inventory_and_from_ssh_settings() -> None:
    device = Device(
        name="alcala-gw1",
        site="alcala",
        role="gateway",
        platform=Platform.SROS,
        model="7750 SR-7",
        host="10.1.0.7",
        ssh_port=830,
        credentials=Credentials(username="ops", key_files=(Path("/keys/id_ed25519"),), use_agent=False),
    )
    target = SshTarget.from_device(device)
    assert (target.host, target.port, target.username, target.use_agent) == ("10.1.0.7", 830, "ops", False)
    assert target.key_files == (Path("/keys/id_ed25519"),)
    settings = SshSettings(host="gw1.mgmt", port=22, username="netops", key_files=(), use_agent=True)
    from_settings = SshTarget.from_settings(device, settings)
    assert (from_settings.host, from_settings.port, from_settings.username) == ("gw1.mgmt", 22, "netops")
    assert from_settings.platform is Platform.SROS and from_settings.device == "alcala-gw1"


def test_library_errors_map_onto_our_hierarchy() -> None:
    def mapped(exc: BaseException) -> Any:
        return connect_error(exc, device="d", address="10.0.0.1:22", check=None, timeout=5)

    assert isinstance(mapped(asyncssh.PermissionDenied("no")), AuthFailed)
    assert mapped(ConnectionRefusedError(errno.ECONNREFUSED, "refused")).code is Failure.CONNECTION_REFUSED
    assert mapped(OSError(errno.EHOSTUNREACH, "No route to host")).code is Failure.UNREACHABLE
    assert isinstance(mapped(TimeoutError()), ConnectTimeout)
    assert isinstance(mapped(asyncssh.ConnectionLost("gone")), ConnectionLost)
    channel = asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED, "Connection refused")
    assert mapped(channel).code is Failure.CONNECTION_REFUSED
    # scrapli wraps asyncssh's errors: the cause decides.
    from scrapli.exceptions import ScrapliAuthenticationFailed

    wrapped = ScrapliAuthenticationFailed("timed out opening connection to device")
    wrapped.__cause__ = TimeoutError()
    assert isinstance(mapped(wrapped), ConnectTimeout)
    denied = ScrapliAuthenticationFailed("all authentication methods failed")
    denied.__cause__ = asyncssh.PermissionDenied("no")
    assert isinstance(mapped(denied), AuthFailed)
    assert not isinstance(mapped(asyncssh.HostKeyNotVerifiable("x")), HostKeyMismatch)  # needs the check's verdict
