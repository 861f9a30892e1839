"""JumpHostPool against the lab's jump host over real sockets: one shared connection, gNMI forwarding, drops,
host keys, ProxyJump chains and an inventory built by the lab."""

from __future__ import annotations

import asyncio
import errno
import functools
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from grpc import aio
from pygnmi.spec.v080 import gnmi_pb2, gnmi_pb2_grpc

from edgeops.devices.errors import HostKeyUnknown, Unreachable
from edgeops.devices.hostkeys import HostKeyPolicy, KnownHosts
from edgeops.devices.samples import Failure, SessionState
from edgeops.devices.ssh import SshSession, SshTarget
from edgeops.devices.tunnel import JumpHostPool, JumpSpec, hop_name
from edgeops.inventory.secrets import resolve_secret
from edgeops.inventory.ssh_config import ProxyHop
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.servers.jump import JumpHostServer
from edgeops.lab.servers.ssh import Endpoint
from edgeops.lab.topology import LAB_PASSWORD, build_fleet, synthetic_sites

LAB_SSH_PORT = 2222
LAB_GNMI_PORT = 57400

pytestmark = pytest.mark.lab


@pytest.fixture
async def start_lab(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Lab]]]:
    """Start a lab in its own 127.<block> range; by default jump-only (devices reachable only via the jump host)."""
    labs: list[Lab] = []

    async def start(*, sites: int = 1, devices_per_site: int = 5, **options: Any) -> Lab:
        options.setdefault("jump_only", True)
        for attempt in range(8):
            block = random.randrange(100, 250)
            fleet = build_fleet(
                synthetic_sites(sites), devices_per_site, ssh_port=LAB_SSH_PORT, gnmi_port=LAB_GNMI_PORT
            )
            lab = Lab(
                relocate(fleet, block),
                lab_dir=tmp_path / f"lab{len(labs)}-{attempt}",
                ssh_port=LAB_SSH_PORT,
                gnmi_port=LAB_GNMI_PORT,
                **options,
            )
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
def known_hosts(tmp_path: Path) -> KnownHosts:
    return KnownHosts(tmp_path / "known_hosts", user_files=())


def jump_spec(lab: Lab) -> JumpSpec:
    jump = lab.jump
    assert jump is not None
    return JumpSpec(jump.name, jump.host, jump.port, jump.username, use_agent=False, password=lambda: jump.password)


def make_pool(known_hosts: KnownHosts, **options: Any) -> JumpHostPool:
    options.setdefault("connect_timeout_s", 10.0)
    return JumpHostPool(known_hosts=known_hosts, **options)


def device_session(lab: Lab, name: str, known_hosts: KnownHosts, pool: JumpHostPool, jump: str) -> SshSession:
    identity = lab.device(name).identity
    target = SshTarget(name, identity.platform, identity.host, identity.ssh_port, identity.username, use_agent=False)
    return SshSession(
        target,
        known_hosts=known_hosts,
        password=lambda: identity.password,
        tunnel=lambda: pool.get_tunnel(jump),
        via=jump,
        connect_timeout_s=10.0,
    )


async def gnmi_capabilities(lab: Lab, device: str, host: str, port: int) -> gnmi_pb2.CapabilityResponse:
    """A real gNMI Capabilities call (plaintext, as the lab serves it) to host:port, with the device's login."""
    identity = lab.device(device).identity
    login = (("username", identity.username), ("password", identity.password))
    async with aio.insecure_channel(f"{host}:{port}") as channel:
        stub = gnmi_pb2_grpc.gNMIStub(channel)
        return await stub.Capabilities(gnmi_pb2.CapabilityRequest(), metadata=login, timeout=10)


async def test_two_devices_share_one_jump_connection_and_gnmi_is_forwarded(
    start_lab: Callable[..., Awaitable[Lab]], known_hosts: KnownHosts
) -> None:
    lab = await start_lab()
    assert lab.jump is not None
    stats = lab.jump.stats
    async with make_pool(known_hosts) as pool:
        name = pool.add(jump_spec(lab))
        srl = device_session(lab, "alcala-leaf1", known_hosts, pool, name)
        sros = device_session(lab, "alcala-gw1", known_hosts, pool, name)
        await asyncio.gather(srl.open(), sros.open())
        assert (await srl.run("show version")).output.count("alcala-leaf1") == 1
        assert (await sros.run("show system information")).ok

        assert stats.connections == 1 and pool.connections_opened(name) == 1
        assert pool.state(name) is SessionState.UP and pool.up_event(name).is_set()
        leaf = lab.device("alcala-leaf1").identity
        assert stats.forwarded_to[f"{leaf.host}:{leaf.ssh_port}"] == 1

        # gNMI: a local port forwarded over the same connection reaches the device's gNMI server.
        local_host, local_port = await pool.forward(name, leaf.host, leaf.gnmi_port)
        assert local_host == "127.0.0.1"
        capabilities = await gnmi_capabilities(lab, "alcala-leaf1", local_host, local_port)
        assert capabilities.supported_encodings
        assert await pool.forward(name, leaf.host, leaf.gnmi_port) == (local_host, local_port)  # reused
        assert stats.connections == 1
        assert stats.forwarded_to[f"{leaf.host}:{leaf.gnmi_port}"] == 1

        await srl.close()
        await sros.close()

    # Devices of a jump-only lab cannot be reached without the jump host.
    direct = SshSession(
        SshTarget("alcala-leaf1", leaf.platform, leaf.host, leaf.ssh_port, leaf.username, use_agent=False),
        known_hosts=known_hosts,
        password=lambda: leaf.password,
        connect_timeout_s=5.0,
    )
    with pytest.raises(Unreachable):
        await direct.open()


async def test_devices_go_down_together_and_come_back_together_when_the_jump_host_drops(
    start_lab: Callable[..., Awaitable[Lab]], known_hosts: KnownHosts
) -> None:
    lab = await start_lab()
    assert lab.jump_server is not None and lab.jump is not None
    events: list[tuple[str, SessionState]] = []
    async with make_pool(known_hosts, backoff_base_s=0.05, backoff_cap_s=0.2) as pool:
        pool.add_listener(lambda jump, state: events.append((jump, state)))
        name = pool.add(jump_spec(lab))
        names = ["alcala-spine1", "alcala-spine2", "alcala-gw1"]
        sessions = [device_session(lab, device, known_hosts, pool, name) for device in names]
        await asyncio.gather(*(session.open() for session in sessions))
        leaf = lab.device("alcala-leaf1").identity
        forwarded = await pool.forward(name, leaf.host, leaf.gnmi_port)

        await lab.jump_server.stop()
        await asyncio.wait_for(asyncio.gather(*(session.wait_lost() for session in sessions)), 10)
        assert not any(session.alive for session in sessions)
        assert not pool.up_event(name).is_set()
        assert (name, SessionState.DOWN) in events

        await lab.jump_server.start()
        await asyncio.wait_for(pool.wait_up(name), 10)  # the pool reconnects by itself
        assert pool.state(name) is SessionState.UP and pool.connections_opened(name) == 2
        await asyncio.gather(*(session.open() for session in sessions))
        assert all([(await session.run("show version")).ok for session in sessions])
        assert lab.jump.stats.connections == 2  # still one connection for all of them, after the drop

        # The forwarded gNMI port came back on the same local port.
        assert await pool.forward(name, leaf.host, leaf.gnmi_port) == forwarded
        assert (await gnmi_capabilities(lab, "alcala-leaf1", *forwarded)).supported_encodings
        for session in sessions:
            await session.close()


async def test_jump_host_keys_follow_the_same_policy_and_failures_back_off(
    start_lab: Callable[..., Awaitable[Lab]], tmp_path: Path
) -> None:
    lab = await start_lab(gnmi=False)
    assert lab.jump is not None
    strict = KnownHosts(tmp_path / "strict", user_files=(), policy=HostKeyPolicy.STRICT)
    async with make_pool(strict, backoff_base_s=30.0) as pool:
        name = pool.add(jump_spec(lab))
        with pytest.raises(HostKeyUnknown):
            await pool.get_tunnel(name)
        assert pool.state(name) is SessionState.HOSTKEY_MISMATCH
        connections = lab.jump.stats.connections
        with pytest.raises(HostKeyUnknown):  # within the backoff: the same failure at once, no new attempt
            await pool.get_tunnel(name)
        assert lab.jump.stats.connections == connections
        session = device_session(lab, "alcala-leaf1", strict, pool, name)
        with pytest.raises(Unreachable) as raised:
            await session.open()
        assert "jump host" in str(raised.value)
        assert lab.jump.stats.logins == 0  # no credentials went to the unverified jump host

    # The lab's own known_hosts (the user's file here) makes the jump host known.
    trusted = KnownHosts(tmp_path / "strict", user_files=(lab.known_hosts_file,), policy=HostKeyPolicy.STRICT)
    async with make_pool(trusted) as pool:
        name = pool.add(jump_spec(lab))
        assert isinstance(await pool.get_tunnel(name), asyncssh.SSHClientConnection)


async def test_a_device_the_jump_host_cannot_reach_is_unreachable(
    start_lab: Callable[..., Awaitable[Lab]], known_hosts: KnownHosts
) -> None:
    lab = await start_lab(gnmi=False)
    async with make_pool(known_hosts) as pool:
        name = pool.add(jump_spec(lab))
        target = SshTarget("ghost", lab.device("alcala-leaf1").identity.platform, "127.0.0.9", 2222, "admin")
        ghost = SshSession(
            target, known_hosts=known_hosts, password=lambda: "x", tunnel=lambda: pool.get_tunnel(name), via=name
        )
        with pytest.raises(Unreachable) as raised:
            await ghost.open()
        assert raised.value.code is Failure.UNREACHABLE and "via lab-jump" in str(raised.value)
        assert pool.state(name) is SessionState.UP  # the jump host itself is fine


async def test_a_proxyjump_chain_of_two_hops(start_lab: Callable[..., Awaitable[Lab]], known_hosts: KnownHosts) -> None:
    lab = await start_lab(gnmi=False)
    assert lab.jump is not None
    inner = lab.jump
    outer_host = inner.host.rsplit(".", 1)[0] + ".2"  # next to the lab's jump host, in the lab's block
    outer = JumpHostServer(
        host=outer_host,
        port=LAB_SSH_PORT,
        host_key=asyncssh.generate_private_key("ssh-ed25519"),
        routes={(inner.host, inner.port): Endpoint(inner.host, inner.port)},
        password="outer-secret",
        name="bastion",
    )
    await outer.start()
    try:
        passwords = {outer_host: "outer-secret", inner.host: inner.password}
        hops = (
            ProxyHop(outer_host, LAB_SSH_PORT, "netops"),
            ProxyHop(inner.host, inner.port, inner.username),
        )
        async with make_pool(known_hosts) as pool:
            last = pool.add_chain(hops, password_for=lambda hop: lambda: passwords[hop.host])
            assert last == hop_name(hops[1], hop_name(hops[0], None))
            assert pool.spec(last).via == hop_name(hops[0], None)
            session = device_session(lab, "alcala-gw2", known_hosts, pool, last)
            async with session:
                assert (await session.run("show version")).ok
            assert outer.stats.connections == 1 and inner.stats.connections == 1
            assert outer.stats.forwarded_to[f"{inner.host}:{inner.port}"] == 1
    finally:
        await outer.stop()


async def test_a_jump_only_lab_from_its_inventory_is_fully_up_through_one_connection(
    start_lab: Callable[..., Awaitable[Lab]], known_hosts: KnownHosts
) -> None:
    lab = await start_lab(sites=4, gnmi=False)
    assert lab.jump is not None
    inventory = lab.inventory()
    pool, device_jumps = JumpHostPool.from_inventory(
        inventory,
        resolve_secret=lambda ref: resolve_secret(ref, prompt_cache={}),
        known_hosts=known_hosts,
        connect_timeout_s=10.0,
    )
    async with pool:
        assert set(device_jumps) == {device.name for device in inventory.devices}
        assert set(device_jumps.values()) == {lab.jump.name}
        spec = pool.spec(lab.jump.name)
        assert (spec.host, spec.port, spec.username, spec.use_agent) == (lab.jump.host, lab.jump.port, "netops", False)
        sessions = []
        for device in inventory.devices:
            assert device.credentials.password is not None
            secret = device.credentials.password
            jump = device_jumps[device.name]
            sessions.append(
                SshSession(
                    SshTarget.from_device(device),
                    known_hosts=known_hosts,
                    password=functools.partial(resolve_secret, secret, prompt_cache={}),
                    tunnel=functools.partial(pool.get_tunnel, jump),
                    via=jump,
                    connect_timeout_s=10.0,
                )
            )
        await asyncio.gather(*(session.open() for session in sessions))
        assert all(session.alive for session in sessions) and len(sessions) == 20
        assert lab.jump.stats.connections == 1 and lab.jump.stats.logins == 1
        results = await asyncio.gather(*(session.run("show version") for session in sessions))
        assert all(result.ok for result in results)
        for session in sessions:
            await session.close()
    assert LAB_PASSWORD not in known_hosts.own_file.read_text()
