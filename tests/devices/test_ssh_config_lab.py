"""ssh_config applied by asyncssh against the lab over real sockets: ProxyCommand, IdentityAgent and IdentitiesOnly,
CertificateFile, algorithm restrictions, Include and Match host; and a name that does not resolve."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import os
import random
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from edgeops.devices.errors import AuthFailed, Unreachable
from edgeops.devices.hostkeys import KnownHosts
from edgeops.devices.samples import Failure, SessionState
from edgeops.devices.ssh import SshSession, SshTarget, ssh_config_options
from edgeops.devices.tunnel import JumpHostPool, JumpSpec
from edgeops.inventory.model import Credentials, Inventory, JumpHost, SecretRef
from edgeops.inventory.ssh_config import ConfigUse, ssh_settings_for
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.topology import build_fleet, synthetic_sites
from edgeops.platforms import Platform

LAB_SSH_PORT = 2222
DEVICE = "alcala-leaf1"

pytestmark = pytest.mark.lab


@pytest.fixture
async def start_lab(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Lab]]]:
    """Start a one-site lab in its own 127.<block> range (each device on its own address)."""
    labs: list[Lab] = []

    async def start(**options: Any) -> Lab:
        options.setdefault("gnmi", False)
        for attempt in range(8):
            block = random.randrange(100, 250)
            identities = relocate(build_fleet(synthetic_sites(1), 5, ssh_port=LAB_SSH_PORT), block)
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
    return await start_lab()


@pytest.fixture
def known_hosts(tmp_path: Path) -> KnownHosts:
    return KnownHosts(tmp_path / "known_hosts", user_files=())


def session_for(
    lab: Lab,
    config: Path,
    known_hosts: KnownHosts,
    *,
    alias: str,
    password: bool = False,
    **fields: Any,
) -> SshSession:
    """A session to DEVICE written in the inventory as `alias`, resolved against the ssh_config file `config`."""
    identity = lab.device(DEVICE).identity
    fields.setdefault("credentials", Credentials(identity.username))
    fields.setdefault("ssh_port", 22)  # 22 is the default: unset, so the file's Port applies
    device = identity.inventory_device(host=alias, **fields)
    inventory = Inventory(devices=(device,), ssh_config=config)
    target = SshTarget.from_settings(device, ssh_settings_for(device, inventory))
    source = (lambda: identity.password) if password else None
    return SshSession(target, known_hosts=known_hosts, password=source, connect_timeout_s=10.0)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def new_key(path: Path) -> asyncssh.SSHKey:
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(path)
    path.chmod(0o600)
    key.write_public_key(path.with_name(path.name + ".pub"))
    return key


async def run_ok(session: SshSession) -> None:
    await session.open()
    try:
        result = await session.run("show version")
        assert result.ok, result.reason
    finally:
        await session.close()


@contextlib.contextmanager
def ssh_agent(tmp_path: Path, *keys: Path) -> Iterator[Path]:
    """An ssh-agent of our own on a socket in tmp_path, holding `keys`; stopped (by its pid) on exit."""
    socket_path = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket_path)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if socket_path.exists():
                break
            subprocess.run(["sleep", "0.01"], check=True)
        env = {**os.environ, "SSH_AUTH_SOCK": str(socket_path)}
        for key in keys:
            subprocess.run(["ssh-add", "-q", str(key)], env=env, check=True, capture_output=True)
        yield socket_path
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait()


# -- Include, Match host, HostName ----------------------------------------------------------------------------


async def test_include_and_match_host_are_applied_when_connecting(
    lab: Lab, known_hosts: KnownHosts, tmp_path: Path
) -> None:
    identity = lab.device(DEVICE).identity
    write(tmp_path / "conf.d" / "devices.conf", f"Host leaf-alias\n  HostName {identity.host}\n")
    config = write(
        tmp_path / "ssh_config",
        f"Include {tmp_path}/conf.d/*.conf\n"
        # Match host sees the address HostName gave: the port comes from here.
        f"Match host {identity.host.rsplit('.', 1)[0]}.*\n  Port {identity.ssh_port}\n",
    )
    session = session_for(lab, config, known_hosts, alias="leaf-alias", password=True)
    assert (session.target.host, session.target.port) == (identity.host, identity.ssh_port)
    await run_ok(session)


# -- ProxyCommand -----------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the OpenSSH client")
async def test_proxy_command_through_the_jump_host_reaches_a_device_only_it_can_reach(
    start_lab: Callable[..., Awaitable[Lab]], known_hosts: KnownHosts, tmp_path: Path
) -> None:
    lab = await start_lab(jump_only=True)  # devices listen only behind the jump host
    jump = lab.jump
    assert jump is not None
    identity = lab.device(DEVICE).identity
    ssh = (
        f"ssh -F /dev/null -q -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
        f"-o IdentitiesOnly=yes -i {lab.host_keys.client_key_file} -p {jump.port} -l {jump.username}"
    )
    config = write(
        tmp_path / "ssh_config",
        f"Host leaf-alias\n  HostName {identity.host}\n  Port {identity.ssh_port}\n"
        f"  ProxyCommand {ssh} -W %h:%p {jump.host}\n",
    )
    session = session_for(lab, config, known_hosts, alias="leaf-alias", password=True)
    await run_ok(session)
    assert lab.jump_server is not None and lab.jump_server.info.stats.forwarded_channels == 1

    # A login refused through the command is a refused login, not a route that ended.
    refused = session_for(
        lab, config, known_hosts, alias="leaf-alias", credentials=Credentials(identity.username, use_agent=False)
    )
    with pytest.raises(AuthFailed):
        await refused.open()
    assert lab.jump_server.info.stats.forwarded_channels == 2

    # The inventory's `jump: null` chooses the route (direct): the file's ProxyCommand no longer applies, and the
    # device, which listens only behind the jump host, cannot be reached.
    direct = session_for(
        lab, config, known_hosts, alias="leaf-alias", password=True, jump=None, explicit_fields=frozenset({"jump"})
    )
    assert direct.target.config is not None and not direct.target.config.proxy_command
    with pytest.raises(Unreachable):
        await direct.open()
    assert lab.jump_server.info.stats.forwarded_channels == 2


# -- IdentityAgent, IdentitiesOnly ------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("ssh-agent") is None, reason="needs ssh-agent")
async def test_identity_agent_is_used_and_identities_only_keeps_its_keys_out(
    lab: Lab, known_hosts: KnownHosts, tmp_path: Path
) -> None:
    identity = lab.device(DEVICE).identity
    wrong = tmp_path / "wrong_key"
    new_key(wrong)
    # The agent holds the key the lab accepts; the identity file is one it does not.
    with ssh_agent(tmp_path, lab.host_keys.client_key_file) as agent:
        block = f"Host leaf-alias\n  HostName {identity.host}\n  Port {identity.ssh_port}\n"
        block += f"  IdentityAgent {agent}\n  IdentityFile {wrong}\n"
        await run_ok(session_for(lab, write(tmp_path / "with_agent", block), known_hosts, alias="leaf-alias"))

        only = session_for(
            lab, write(tmp_path / "identities_only", block + "  IdentitiesOnly yes\n"), known_hosts, alias="leaf-alias"
        )
        with pytest.raises(AuthFailed):
            await only.open()
        assert only.state is SessionState.AUTH_FAILED


@pytest.mark.skipif(shutil.which("ssh-agent") is None, reason="needs ssh-agent")
async def test_identities_only_logs_in_with_its_file_while_the_agent_holds_a_wrong_key(
    lab: Lab, known_hosts: KnownHosts, tmp_path: Path
) -> None:
    identity = lab.device(DEVICE).identity
    wrong = tmp_path / "wrong_key"
    new_key(wrong)
    with ssh_agent(tmp_path, wrong) as agent:
        config = write(
            tmp_path / "ssh_config",
            f"Host leaf-alias\n  HostName {identity.host}\n  Port {identity.ssh_port}\n  IdentityAgent {agent}\n"
            f"  IdentityFile {lab.host_keys.client_key_file}\n  IdentitiesOnly yes\n",
        )
        await run_ok(session_for(lab, config, known_hosts, alias="leaf-alias"))


# -- CertificateFile ----------------------------------------------------------------------------------------


async def test_certificate_file_logs_in_with_a_certificate_the_lab_ca_signed(
    lab: Lab, known_hosts: KnownHosts, tmp_path: Path
) -> None:
    identity = lab.device(DEVICE).identity
    user_key = new_key(tmp_path / "user_key")
    ca = asyncssh.read_private_key(lab.host_keys.user_ca_key_file())
    certificate = ca.generate_user_certificate(user_key, "edgeops-test", principals=[identity.username])
    certificate.write_certificate(tmp_path / "user.cert")  # not user_key-cert.pub: asyncssh would find that alone
    block = (
        f"Host leaf-alias\n  HostName {identity.host}\n  Port {identity.ssh_port}\n"
        f"  IdentityFile {tmp_path / 'user_key'}\n  IdentitiesOnly yes\n  IdentityAgent none\n"
    )
    without = session_for(lab, write(tmp_path / "without", block), known_hosts, alias="leaf-alias")
    with pytest.raises(AuthFailed):
        await without.open()
    config = write(tmp_path / "with", block + f"  CertificateFile {tmp_path / 'user.cert'}\n")
    await run_ok(session_for(lab, config, known_hosts, alias="leaf-alias"))


# -- algorithms ----------------------------------------------------------------------------------------------


async def test_algorithm_restrictions_are_negotiated(lab: Lab, known_hosts: KnownHosts, tmp_path: Path) -> None:
    identity = lab.device(DEVICE).identity
    plain = write(tmp_path / "plain", f"Host leaf-alias\n  HostName {identity.host}\n  Port {identity.ssh_port}\n")
    restricted = write(
        tmp_path / "restricted",
        plain.read_text()
        + "  Ciphers aes256-ctr\n  MACs hmac-sha2-512\n  KexAlgorithms curve25519-sha256\n"
        + "  HostKeyAlgorithms ssh-ed25519\n",
    )
    negotiated = []
    for config in (plain, restricted):
        session = session_for(lab, config, known_hosts, alias="leaf-alias", password=True)
        await session.open()
        connection = session._connection
        assert connection is not None
        negotiated.append((connection.get_extra_info("send_cipher"), connection.get_extra_info("send_mac")))
        await session.close()
    assert negotiated[0][0] == "aes128-gcm@openssh.com"  # edgeops' own preference, where the file sets none
    assert negotiated[1] == ("aes256-ctr", "hmac-sha2-512")

    only_chacha = write(tmp_path / "chacha", plain.read_text() + "  Ciphers chacha20-poly1305@openssh.com\n")
    session = session_for(lab, only_chacha, known_hosts, alias="leaf-alias", password=True)
    await session.open()
    assert session._connection is not None
    assert session._connection.get_extra_info("send_cipher") == "chacha20-poly1305@openssh.com"
    await session.close()


# -- a name that does not resolve ---------------------------------------------------------------------------


async def test_a_name_that_does_not_resolve_is_unreachable(known_hosts: KnownHosts) -> None:
    target = SshTarget("ghost", Platform.SRLINUX, "ghost.edgeops.invalid", 22, "admin", use_agent=False)
    session = SshSession(target, known_hosts=known_hosts, connect_timeout_s=10.0)
    with pytest.raises(Unreachable) as caught:
        await session.open()
    assert caught.value.code is Failure.UNREACHABLE
    assert session.state is SessionState.UNREACHABLE
    assert "ghost.edgeops.invalid" in caught.value.message and "resolve" in caught.value.message


async def test_a_jump_host_name_that_does_not_resolve_is_unreachable(known_hosts: KnownHosts) -> None:
    pool = JumpHostPool(known_hosts=known_hosts)
    pool.add(JumpSpec("nowhere", "nowhere.edgeops.invalid", username="ops", use_agent=False))
    async with pool:
        with pytest.raises(Unreachable) as caught:
            await asyncio.wait_for(pool.get_tunnel("nowhere"), 10)
    assert caught.value.code is Failure.UNREACHABLE
    assert "resolve" in caught.value.message


# -- jump hosts ----------------------------------------------------------------------------------------------


async def test_a_jump_host_is_reached_with_its_ssh_config(
    start_lab: Callable[..., Awaitable[Lab]], known_hosts: KnownHosts, tmp_path: Path
) -> None:
    lab = await start_lab(jump_only=True)
    jump = lab.jump
    assert jump is not None
    identity = lab.device(DEVICE).identity
    config = write(
        tmp_path / "ssh_config",
        f"Host jump-alias\n  HostName {jump.host}\n  Port {jump.port}\n  User {jump.username}\n"
        f"  IdentityFile {lab.host_keys.client_key_file}\n  IdentitiesOnly yes\n  IdentityAgent none\n"
        "  Ciphers aes256-ctr\n",
    )
    device = identity.inventory_device(jump="bastion", credentials=Credentials(identity.username, use_agent=False))
    inventory = Inventory(devices=(device,), jump_hosts=(JumpHost("bastion", "jump-alias"),), ssh_config=config)
    pool, jumps = JumpHostPool.from_inventory(inventory, resolve_secret=lambda ref: "", known_hosts=known_hosts)
    async with pool:
        tunnel = await pool.get_tunnel(jumps[DEVICE])
        assert tunnel.get_extra_info("send_cipher") == "aes256-ctr"  # the jump host's own Host block applied
        settings = ssh_settings_for(device, inventory)
        session = SshSession(
            SshTarget.from_settings(device, settings),
            known_hosts=known_hosts,
            password=lambda: identity.password,
            tunnel=functools.partial(pool.get_tunnel, jumps[DEVICE]),
            connect_timeout_s=10.0,
        )
        await run_ok(session)


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the OpenSSH client")
async def test_a_proxy_command_that_cannot_resolve_its_gateway_is_unreachable_and_stays_off_the_terminal(
    lab: Lab, known_hosts: KnownHosts, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    config = write(
        tmp_path / "ssh_config",
        "Host leaf-alias\n  ProxyCommand ssh -F /dev/null -o BatchMode=yes -W %h:%p gateway.edgeops.invalid\n",
    )
    session = session_for(lab, config, known_hosts, alias="leaf-alias", password=True)
    with pytest.raises(Unreachable) as caught:
        await session.open()
    assert session.state is SessionState.UNREACHABLE
    assert "ProxyCommand ended" in caught.value.message
    assert "gateway.edgeops.invalid" in caught.value.message  # ssh's own words: could not resolve hostname
    out, err = capfd.readouterr()
    assert "gateway.edgeops.invalid" not in out + err  # the command's error output went to the log, not to us


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash (its /dev/tcp relays the connection)")
async def test_a_jump_host_is_reached_through_its_proxy_command(
    start_lab: Callable[..., Awaitable[Lab]], known_hosts: KnownHosts, tmp_path: Path
) -> None:
    lab = await start_lab(jump_only=True)
    jump = lab.jump
    assert jump is not None and lab.jump_server is not None
    relay = "bash -c 'exec 3<>/dev/tcp/%h/%p; cat <&3 & exec cat >&3'"
    config = write(
        tmp_path / "ssh_config",
        f"Host jump-alias\n  HostName {jump.host}\n  Port {jump.port}\n  User {jump.username}\n"
        f"  ProxyCommand {relay}\n",
    )
    identity = lab.device(DEVICE).identity
    device = identity.inventory_device(jump="bastion", credentials=Credentials(identity.username, use_agent=False))
    credentials = Credentials(jump.username, SecretRef("env", "UNUSED"), use_agent=False)
    bastion = JumpHost("bastion", "jump-alias", credentials=credentials)
    inventory = Inventory(devices=(device,), jump_hosts=(bastion,), ssh_config=config)
    pool, _ = JumpHostPool.from_inventory(inventory, resolve_secret=lambda ref: jump.password, known_hosts=known_hosts)
    assert pool.spec("bastion").config is not None
    assert pool.spec("bastion").config.proxy_command == relay.replace("%h", jump.host).replace("%p", str(jump.port))
    async with pool:
        await pool.get_tunnel("bastion")
        session = SshSession(
            SshTarget.from_settings(device, ssh_settings_for(device, inventory)),
            known_hosts=known_hosts,
            password=lambda: identity.password,
            tunnel=functools.partial(pool.get_tunnel, "bastion"),
            connect_timeout_s=10.0,
        )
        await run_ok(session)
    assert lab.jump_server.info.stats.logins == 1


# -- what asyncssh is handed ---------------------------------------------------------------------------------


def test_edgeops_defaults_give_way_to_what_the_file_sets() -> None:
    plain = ssh_config_options(
        ConfigUse("leaf-alias", (Path("/cfg"),)), keepalive_interval_s=15.0, keepalive_count_max=3, cli=True
    )
    assert plain["host"] == "leaf-alias" and plain["config"] == ["/cfg"]
    assert plain["keepalive_interval"] == 15.0 and plain["keepalive_count_max"] == 3
    assert plain["encryption_algs"][0] == "aes128-gcm@openssh.com"
    # The device's CLI, whatever RemoteCommand or RequestTTY say; the route is edgeops' (tunnel=), never asyncssh's.
    assert (plain["command"], plain["request_pty"], plain["proxy_command"]) == (None, True, None)
    configured = frozenset({"Ciphers", "ServerAliveInterval", "ServerAliveCountMax"})
    from_file = ssh_config_options(
        ConfigUse("leaf-alias", (Path("/cfg"),), configured),
        keepalive_interval_s=15.0,
        keepalive_count_max=3,
        cli=False,
    )
    assert not {"encryption_algs", "keepalive_interval", "keepalive_count_max", "command"} & set(from_file)
    # No ssh_config at all: asyncssh must not read ~/.ssh/config on its own.
    assert ssh_config_options(None, keepalive_interval_s=15.0, keepalive_count_max=3, cli=False)["config"] == []
