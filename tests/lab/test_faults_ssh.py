"""Every SSH fault the lab injects, observed by a real client over real sockets; and the jump host."""

from __future__ import annotations

import asyncio
import shutil
import socket

import asyncssh
import pytest

from edgeops.lab.faults import HOSTILE_DESCRIPTION

pytestmark = pytest.mark.lab

READ_TIMEOUT_S = 10.0
SRL_PROMPT = "alcala-leaf1# "  # "A:admin@alcala-leaf1# " from 25.x, "A:alcala-leaf1# " before


async def open_terminal(conn: asyncssh.SSHClientConnection) -> tuple[asyncssh.SSHWriter, asyncssh.SSHReader]:
    stdin, stdout, _ = await conn.open_session(term_type="xterm", term_size=(200, 24))
    return stdin, stdout


async def read_until(stdout: asyncssh.SSHReader, text: str) -> str:
    async def read() -> str:
        seen = ""
        while text not in seen:
            chunk = await stdout.read(65536)
            if not chunk:
                raise EOFError(f"session closed before {text!r}")
            seen += chunk
        return seen

    return await asyncio.wait_for(read(), READ_TIMEOUT_S)


async def read_until_closed(stdout: asyncssh.SSHReader) -> str:
    """What arrives before the connection ends (EOF or a lost connection both count as the end)."""

    async def read() -> str:
        seen = ""
        try:
            while chunk := await stdout.read(65536):
                seen += chunk
        except (asyncssh.ConnectionLost, asyncssh.DisconnectError, ConnectionError):
            pass
        return seen

    return await asyncio.wait_for(read(), READ_TIMEOUT_S)


async def eventually(check, seconds: float = 5.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


async def test_ssh_drop_closes_live_sessions(lab, lab_ssh):
    async with lab_ssh.connect(lab, "alcala-leaf1") as conn:
        _, stdout = await open_terminal(conn)
        await read_until(stdout, SRL_PROMPT)
        assert await lab.inject("alcala-leaf1", "ssh-drop") == "dropped 1 SSH connection(s)"
        assert await read_until_closed(stdout) == ""
        with pytest.raises((asyncssh.ChannelOpenError, asyncssh.ConnectionLost, ConnectionError, OSError)):
            await conn.run("show version")
    # A new connection works: the drop is an event, not a state.
    assert "alcala-leaf1" in (await lab_ssh.run(lab, "alcala-leaf1", "show version")).stdout


async def test_ssh_drop_mid_command_prints_part_of_the_output_then_cuts(lab, lab_ssh):
    full = (await lab_ssh.run(lab, "alcala-leaf1", "show interface brief")).stdout
    last_port_row = [line for line in full.splitlines() if line.startswith("| ethernet-1/")][-1]
    await lab.inject("alcala-leaf1", "ssh-drop-mid-command")
    async with lab_ssh.connect(lab, "alcala-leaf1") as conn:
        stdin, stdout = await open_terminal(conn)
        await read_until(stdout, SRL_PROMPT)
        stdin.write("show interface brief\n")
        partial = await read_until_closed(stdout)
    assert "| ethernet-1/1 " in partial  # the first part arrived ...
    assert last_port_row not in partial  # ... the rest never did
    assert SRL_PROMPT not in partial
    # Once only: the next session gets the whole output.
    assert last_port_row in (await lab_ssh.run(lab, "alcala-leaf1", "show interface brief")).stdout


async def test_ssh_hang_accepts_and_never_answers(lab, lab_ssh):
    faults = lab.devices["alcala-spine1"].faults
    await lab.inject("alcala-spine1", "ssh-hang")
    before = faults.ssh_connections
    identity = lab.devices["alcala-spine1"].identity
    # The TCP connection is accepted, but no SSH banner ever comes.
    reader, writer = await asyncio.open_connection(identity.host, identity.ssh_port)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(1), 0.5)
    writer.close()
    with pytest.raises(TimeoutError):
        async with lab_ssh.connect(lab, "alcala-spine1", connect_timeout=0.5):
            pass
    assert faults.ssh_connections >= before + 2
    await lab.clear("alcala-spine1")
    assert "alcala-spine1" in (await lab_ssh.run(lab, "alcala-spine1", "show version")).stdout


async def test_ssh_hang_also_freezes_open_sessions(lab, lab_ssh):
    async with lab_ssh.connect(lab, "alcala-leaf1") as conn:
        stdin, stdout = await open_terminal(conn)
        await read_until(stdout, SRL_PROMPT)
        await lab.inject("alcala-leaf1", "ssh-hang")
        stdin.write("show version\n")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(read_until(stdout, "Hostname"), 0.5)
        await lab.clear("alcala-leaf1")
        assert "alcala-leaf1" in await read_until(stdout, SRL_PROMPT)


async def test_a_hung_session_that_is_dropped_ends(lab, lab_ssh):
    async with lab_ssh.connect(lab, "alcala-leaf1") as conn:
        stdin, stdout = await open_terminal(conn)
        await read_until(stdout, SRL_PROMPT)
        await lab.inject("alcala-leaf1", "ssh-hang")
        stdin.write("show version\n")
        await asyncio.sleep(0.2)
        assert lab.status().ssh_sessions == 1
        await lab.inject("alcala-leaf1", "ssh-drop")
        # The handler notices, though the device still hangs.
        assert await eventually(lambda: lab.status().ssh_sessions == 0)
    assert lab.devices["alcala-leaf1"].faults.ssh_hang


async def test_ssh_slow_delays_every_answer(lab, lab_ssh):
    loop = asyncio.get_running_loop()
    async with lab_ssh.connect(lab, "alcala-gw1") as conn:
        await lab.inject("alcala-gw1", "ssh-slow", seconds=0.4)
        started = loop.time()
        result = await conn.run("show version", check=False)
        elapsed = loop.time() - started
    assert "TiMOS-" in result.stdout
    assert elapsed >= 0.4  # a lower bound only: the machine may be slower, never faster
    assert lab.devices["alcala-gw1"].faults.ssh_latency_s == 0.4


async def test_ssh_refuse_refuses_new_connections_until_cleared(lab, lab_ssh):
    async with lab_ssh.connect(lab, "alcala-gw2") as conn:
        await lab.inject("alcala-gw2", "ssh-refuse")
        with pytest.raises(ConnectionRefusedError):
            async with lab_ssh.connect(lab, "alcala-gw2"):
                pass
        # The session that was already open stays up, as on a device whose SSH server stopped listening.
        assert "TiMOS-" in (await conn.run("show version", check=False)).stdout
    await lab.clear("alcala-gw2")
    assert "TiMOS-" in (await lab_ssh.run(lab, "alcala-gw2", "show version")).stdout


async def test_ssh_refuse_flag_alone_resets_each_connection(lab, lab_ssh):
    lab.devices["alcala-gw2"].faults.ssh_refuse = True  # set directly, without the controller
    with pytest.raises((ConnectionError, asyncssh.ConnectionLost, asyncssh.DisconnectError)):
        async with lab_ssh.connect(lab, "alcala-gw2"):
            pass
    lab.devices["alcala-gw2"].faults.ssh_refuse = False


async def test_auth_reject_rejects_passwords_and_keys(lab, lab_ssh):
    await lab.inject("alcala-leaf1", "auth-reject")
    with pytest.raises(asyncssh.PermissionDenied):
        async with lab_ssh.connect(lab, "alcala-leaf1"):
            pass
    with pytest.raises(asyncssh.PermissionDenied):
        async with lab_ssh.connect(lab, "alcala-leaf1", password=None, client_keys=[str(lab.client_key_file)]):
            pass
    await lab.clear("alcala-leaf1")
    async with lab_ssh.connect(lab, "alcala-leaf1", password=None, client_keys=[str(lab.client_key_file)]) as conn:
        assert "alcala-leaf1" in (await conn.run("show version", check=False)).stdout


async def test_hostkey_change_fails_a_client_that_checks_known_hosts(lab, lab_ssh):
    known_hosts = str(lab.known_hosts_file)
    async with lab_ssh.connect(lab, "alcala-spine2", known_hosts=known_hosts):
        pass
    identity = lab.devices["alcala-spine2"].identity
    old_key = await asyncssh.get_server_host_key(identity.host, identity.ssh_port)
    await lab.inject("alcala-spine2", "hostkey-change")
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        async with lab_ssh.connect(lab, "alcala-spine2", known_hosts=known_hosts):
            pass
    new_key = await asyncssh.get_server_host_key(identity.host, identity.ssh_port)
    assert new_key is not None and old_key is not None
    assert new_key.public_data != old_key.public_data
    await lab.clear("alcala-spine2")  # a changed key stays changed
    again = await asyncssh.get_server_host_key(identity.host, identity.ssh_port)
    assert again is not None and again.public_data == new_key.public_data


async def test_hostile_text_reaches_the_client_verbatim(lab, lab_ssh):
    await lab.inject("alcala-leaf1", "hostile-text")
    output = (await lab_ssh.run(lab, "alcala-leaf1", "show interface ethernet-1/1 detail")).stdout
    assert "\x1b]52;c;" in output and "[red]PWNED[/red]" in output
    assert lab.devices["alcala-leaf1"].model.interfaces["ethernet-1/1"].description == HOSTILE_DESCRIPTION
    await lab.clear("alcala-leaf1")
    output = (await lab_ssh.run(lab, "alcala-leaf1", "show interface ethernet-1/1 detail")).stdout
    assert "\x1b" not in output


async def test_connections_are_counted(lab, lab_ssh):
    faults = lab.devices["alcala-gw1"].faults
    before = faults.ssh_connections
    await lab_ssh.run(lab, "alcala-gw1", "show version")
    await lab_ssh.run(lab, "alcala-gw1", "show version")
    assert faults.ssh_connections == before + 2


# -- the jump host ----------------------------------------------------------------------------------------


async def test_jump_only_devices_are_reachable_only_through_the_jump_host(lab_factory, lab_ssh):
    lab = await lab_factory(jump_only=True, devices_per_site=4)
    jump = lab.jump
    assert jump is not None
    identity = lab.devices["alcala-gw1"].identity
    # Nothing listens on the device's inventory address: a direct client is refused.
    with pytest.raises(OSError):
        async with lab_ssh.connect(lab, "alcala-gw1"):
            pass
    async with asyncssh.connect(
        jump.host, jump.port, username=jump.username, password=jump.password, known_hosts=None
    ) as tunnel:
        async with lab_ssh.connect(lab, "alcala-gw1", tunnel=tunnel) as conn:
            result = await conn.run("show system information", check=False)
        with pytest.raises(asyncssh.ChannelOpenError):
            await tunnel.open_connection("127.0.0.1", 22)  # not a lab device
    assert "System Name            : alcala-gw1" in result.stdout
    assert jump.stats.connections == 1
    assert jump.stats.forwarded_channels == 1
    assert jump.stats.refused_channels == 1
    assert jump.stats.forwarded_to[f"{identity.host}:{identity.ssh_port}"] == 1


async def test_jump_host_forwards_gnmi_ports_too(lab_factory):
    lab = await lab_factory(jump_only=True, devices_per_site=4)
    if lab.gnmi_server is None:
        pytest.skip("this build has no gNMI server")
    jump = lab.jump
    identity = lab.devices["alcala-spine1"].identity
    # The inventory's gNMI port is not served directly ...
    with socket.socket() as probe:
        probe.settimeout(2)
        assert probe.connect_ex((identity.host, identity.gnmi_port)) != 0
    # ... but the jump host forwards it to where gNMI really listens (HTTP/2 answers the preface).
    async with asyncssh.connect(
        jump.host, jump.port, username=jump.username, password=jump.password, known_hosts=None
    ) as tunnel:
        reader, writer = await tunnel.open_connection(identity.host, identity.gnmi_port)
        writer.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000"))
        frame = await asyncio.wait_for(reader.read(9), READ_TIMEOUT_S)
        writer.close()
    assert len(frame) == 9 and frame[3] == 0x04  # the server's SETTINGS frame


async def test_jump_host_without_jump_only_forwards_to_device_addresses(lab_factory, lab_ssh):
    lab = await lab_factory(jump_host=True, devices_per_site=4, gnmi=False)
    jump = lab.jump
    async with (
        asyncssh.connect(
            jump.host, jump.port, username=jump.username, client_keys=[str(lab.client_key_file)], known_hosts=None
        ) as tunnel,
        lab_ssh.connect(lab, "alcala-spine1", tunnel=tunnel) as conn,
    ):
        assert "alcala-spine1" in (await conn.run("show version", check=False)).stdout
    # Directly reachable too: the jump host is an extra path here, not the only one.
    assert "alcala-spine1" in (await lab_ssh.run(lab, "alcala-spine1", "show version")).stdout
    assert jump.stats.forwarded_channels == 1


@pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")
async def test_openssh_reaches_a_device_through_the_jump_host(lab_factory):
    lab = await lab_factory(jump_only=True, devices_per_site=4, gnmi=False)
    jump = lab.jump
    identity = lab.devices["alcala-spine2"].identity
    key = str(lab.client_key_file)
    common = ["-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    common += ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-i", key]
    proxy = " ".join(["ssh", *common, "-p", str(jump.port), "-W", "%h:%p", f"{jump.username}@{jump.host}"])
    process = await asyncio.create_subprocess_exec(
        "ssh",
        *common,
        "-o",
        f"ProxyCommand={proxy}",
        "-p",
        str(identity.ssh_port),
        f"{identity.username}@{identity.host}",
        "show version",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    assert "Hostname             : alcala-spine2" in out.decode()
    assert jump.stats.connections == 1
