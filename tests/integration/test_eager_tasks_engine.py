"""The engine and the lab on an event loop that starts tasks eagerly, as the console's loop does on Python 3.12+.

Textual sets `asyncio.eager_task_factory` on its loop where it exists. asyncssh's login assumed the task it starts
for each login method had not run yet when it stored the method's handler; started eagerly, every SSH login failed
("Unexpected data at end of packet") and the lab's servers dropped their own login prompts (see
edgeops.devices.ssh_auth and edgeops.lab.servers.ssh.LoginCallbacksServer). Here the lab runs on the same eager loop
as the engine, so both sides are covered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncssh
import pytest

from edgeops.devices.errors import AuthFailed
from edgeops.devices.hostkeys import KnownHosts
from edgeops.devices.samples import DeviceState, Failure, SessionState
from edgeops.devices.ssh import SshSession, SshTarget
from edgeops.fleet.engine import FleetEngine
from edgeops.fleet.store import FleetStore
from edgeops.lab.runner import Lab
from edgeops.platforms import Platform

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(not hasattr(asyncio, "eager_task_factory"), reason="asyncio starts tasks eagerly from 3.12"),
]

LabFactory = Callable[..., Awaitable[Lab]]
EngineFactory = Callable[..., Awaitable[FleetEngine]]
# A bound on how long a broken login can hang a test, not a timing assertion.
EVENTUALLY_S = 30.0


@pytest.fixture
async def eager_loop() -> AsyncIterator[asyncio.AbstractEventLoop]:
    """The test's loop, starting every new task eagerly (as Textual's App.run does); put back afterwards.

    Ask for it before the lab and engine fixtures: it is then set before they start and reset after they stop.
    """
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()
    loop.set_task_factory(asyncio.eager_task_factory)
    try:
        assert started_eagerly()
        yield loop
    finally:
        loop.set_task_factory(previous)


def started_eagerly() -> bool:
    """True when a task created now has run to its first suspension before create_task returned."""
    ran: list[bool] = []

    async def note() -> None:
        ran.append(True)

    task = asyncio.create_task(note())
    return task.done() and ran == [True]


async def eventually(condition: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + EVENTUALLY_S
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {EVENTUALLY_S:g} s waiting for {what}")
        await asyncio.sleep(0.1)


def all_up(store: FleetStore) -> bool:
    return all(store.device(name).state is DeviceState.UP for name in store.device_names())


def ssh_errors(engine: FleetEngine) -> dict[str, str]:
    """The SSH error each device last reported (none while every login worked)."""
    errors = {}
    for name, supervisor in engine.supervisors.items():
        error = supervisor.ssh.last_error
        if error is not None:
            errors[name] = error.message
    return errors


async def test_every_device_logs_in_over_ssh_and_gnmi_on_an_eager_loop(
    eager_loop: asyncio.AbstractEventLoop, start_lab: LabFactory, start_engine: EngineFactory
) -> None:
    lab = await start_lab(sites=2, devices_per_site=5)
    engine = await start_engine(lab.inventory())
    store = engine.store
    platforms = {device.platform for device in lab.inventory().devices}
    assert platforms == {Platform.SRLINUX, Platform.SROS}

    await eventually(lambda: all_up(store) or bool(ssh_errors(engine)), "every device up, or an SSH error")
    assert ssh_errors(engine) == {}
    await eventually(lambda: all_up(store), "every device up")
    for name in store.device_names():
        snapshot = store.device(name)
        assert (snapshot.ssh, snapshot.gnmi) == (SessionState.UP, SessionState.UP), name
        assert snapshot.telemetry_source == "gnmi", name
        assert engine.supervisor(name).ssh_opens == 1, f"{name} needed more than one login"
    # The sessions take commands on both platforms: the CLI set-up after login ran too.
    srl = await engine.run_command("alcala-spine1", "show version", timeout_s=10)
    sros = await engine.run_command("alcala-gw1", "show system information", timeout_s=10)
    assert srl.ok and "alcala-spine1" in srl.output, srl
    assert sros.ok and "alcala-gw1" in sros.output, sros


async def test_a_jump_only_lab_is_up_through_one_jump_connection_on_an_eager_loop(
    eager_loop: asyncio.AbstractEventLoop, start_lab: LabFactory, start_engine: EngineFactory
) -> None:
    lab = await start_lab(sites=2, devices_per_site=3, jump_only=True)
    assert lab.jump is not None
    engine = await start_engine(lab.inventory())
    store = engine.store

    await eventually(lambda: all_up(store) or bool(ssh_errors(engine)), "every device up, or an SSH error")
    assert ssh_errors(engine) == {}
    await eventually(lambda: all_up(store), "every device up through the jump host")
    assert engine.jump_states() == {lab.jump.name: SessionState.UP}
    assert all(store.device(name).ssh_detail == f"via {lab.jump.name}" for name in store.device_names())
    # One shared connection and one login to the jump host carry every device's SSH and gNMI.
    assert (lab.jump.stats.connections, lab.jump.stats.logins) == (1, 1)
    assert lab.jump.stats.forwarded_channels >= 2 * len(store.device_names())


def session_to(lab: Lab, name: str, tmp_path: Path, *, key_files: tuple[Path, ...], password: str | None) -> SshSession:
    identity = lab.device(name).identity
    target = SshTarget(
        name, identity.platform, identity.host, identity.ssh_port, identity.username, key_files, use_agent=False
    )
    known_hosts = KnownHosts(tmp_path / "known_hosts", user_files=())
    return SshSession(target, known_hosts=known_hosts, password=lambda: password, connect_timeout_s=10.0)


async def test_a_key_login_and_a_password_after_a_refused_key_work_on_an_eager_loop(
    eager_loop: asyncio.AbstractEventLoop, start_lab: LabFactory, tmp_path: Path
) -> None:
    lab = await start_lab(gnmi=False)
    identity = lab.device("alcala-gw1").identity
    # The lab's client key: public key login only (no password offered), answered by the lab's key check.
    accepted = lab.host_keys.client_key_file
    async with session_to(lab, "alcala-spine1", tmp_path, key_files=(accepted,), password=None) as session:
        assert session.state is SessionState.UP
        assert (await session.run("show version")).ok
    # A key the device refuses, then the password: asyncssh moves from public key (no key left) to
    # keyboard-interactive, the hand-over that went wrong on an eager loop.
    refused = tmp_path / "id_refused"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(refused)
    async with session_to(lab, "alcala-gw1", tmp_path, key_files=(refused,), password=identity.password) as session:
        assert session.state is SessionState.UP
        result = await session.run("show system information")
        assert result.ok and "alcala-gw1" in result.output


async def test_a_wrong_password_is_an_auth_failure_on_an_eager_loop(
    eager_loop: asyncio.AbstractEventLoop, start_lab: LabFactory, tmp_path: Path
) -> None:
    lab = await start_lab(gnmi=False)
    # Every method is tried and refused (keyboard-interactive, then password): the login ends as rejected, not as
    # a protocol error from a method's handler getting another method's messages.
    session = session_to(lab, "alcala-leaf1", tmp_path, key_files=(), password="not the password")
    with pytest.raises(AuthFailed) as caught:
        await session.open()
    assert caught.value.code is Failure.AUTH
    assert session.state is SessionState.AUTH_FAILED
