"""The lab's SSH server over real sockets: scrapli and OpenSSH sessions, line editing, the pager, host keys."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import stat
from pathlib import Path

import asyncssh
import pytest

from edgeops.lab.cli_engine import CliReply
from edgeops.lab.device import LabDevice
from edgeops.lab.model import DeviceModel
from edgeops.lab.servers.ssh import default_engine_factory
from edgeops.lab.srlinux.cli import SrLinuxCli
from edgeops.lab.sros.cli import SrosCli
from edgeops.platforms import Platform

pytestmark = pytest.mark.lab

READ_TIMEOUT_S = 10.0

# Every show command the SR Linux engine offers, with a piece of text its output must contain.
SRLINUX_COMMANDS = [
    ("show version", "Software Version"),
    ("show version | as json", '"basic system info"'),
    ("show interface", "ethernet-1/1 is up"),
    ("show interface all", "ethernet-1/1 is"),
    ("show interface brief", "Admin State"),
    ("show interface brief | grep ethernet-1/1", "ethernet-1/1"),
    ("show interface ethernet-1/1", "ethernet-1/1 is"),
    ("show interface ethernet-1/1 detail", "Traffic statistics for ethernet-1/1"),
    ("show platform chassis", "Type"),
    ("show platform environment", "Module Type"),
    ("show platform control A detail", "Controller A"),
    ("show platform fan-tray", "fan-tray"),
    ("show platform power-supply", "power-supply"),
    ("show platform linecard", "linecard"),
    ("info from state /interface ethernet-1/1 statistics", "in-octets"),
    ("info from state /platform control A", "oper-state"),
    ("info from state /system information", "current-datetime"),
]
# Every show command the SR OS MD-CLI engine offers.
SROS_COMMANDS = [
    ("show version", "TiMOS-"),
    ("show system information", "System Name"),
    ("show port", "Ports on Slot 1"),
    ("show port 1/1/c1/1", "Ethernet Interface"),
    ("show router interface", "Interface Table (Router: Base)"),
    ("show card", "Card Summary"),
    ("show mda", "MDA Summary"),
    ("show chassis", "Chassis Information"),
    ("show system cpu", "CPU Utilization"),
    ("show system memory-pools", "Memory Pools"),
    ("show system alarms", "Alarms ["),
    ("show lag", "Lag Data"),
    ("show uptime", "System Up Time"),
    ("show time", "UTC"),
]


class Terminal:
    """An interactive PTY session, read until some text appears (as a person or scrapli would)."""

    def __init__(self, conn: asyncssh.SSHClientConnection) -> None:
        self.conn = conn
        self.seen = ""

    async def open(self) -> Terminal:
        self.stdin, self.stdout, _ = await self.conn.open_session(term_type="xterm", term_size=(200, 24))
        return self

    def send(self, text: str) -> None:
        self.stdin.write(text)

    async def read_until(self, text: str) -> str:
        """Everything up to and including `text`; what follows stays for the next read."""

        async def read() -> str:
            while text not in self.seen:
                chunk = await self.stdout.read(65536)
                if not chunk:
                    raise EOFError(f"session closed before {text!r}; got {self.seen!r}")
                self.seen += chunk
            head, _, tail = self.seen.partition(text)
            self.seen = tail
            return head + text

        return await asyncio.wait_for(read(), READ_TIMEOUT_S)

    async def read_to_end(self) -> str:
        async def read() -> str:
            while chunk := await self.stdout.read(65536):
                self.seen += chunk
            return self.seen

        return await asyncio.wait_for(read(), READ_TIMEOUT_S)


class TinyCli:
    """A minimal engine for testing the server's terminal handling apart from any platform."""

    PROMPT = "\nA:tiny# "

    def __init__(self, model: DeviceModel, faults: object) -> None:
        self.paging = True

    def banner(self) -> str:
        return "tiny banner\n"

    def prompt(self) -> str:
        return self.PROMPT

    def execute(self, line: str) -> CliReply:
        if line == "quit":
            return CliReply("bye\n", close=True)
        if line == "paging off":
            self.paging = False
            return CliReply("")
        if line.startswith("lines "):
            return CliReply("".join(f"row {n}\n" for n in range(1, int(line.split()[1]) + 1)))
        return CliReply(f"ran [{line}]\n")

    @property
    def page_lines(self) -> int | None:
        return 5 if self.paging else None

    @property
    def pager_prompt(self) -> str:
        return "--More--"


def tiny_engine(device: LabDevice) -> TinyCli:
    return TinyCli(device.model, device.faults)


# -- scrapli over asyncssh, both platforms ----------------------------------------------------------------


async def test_scrapli_runs_every_srlinux_show_command(lab, lab_ssh):
    async with lab_ssh.scrapli(lab, "alcala-leaf1") as conn:
        prompt = await conn.get_prompt()
        assert prompt.endswith("A:alcala-leaf1#") or "alcala-leaf1" in prompt
        responses = await conn.send_commands([command for command, _ in SRLINUX_COMMANDS])
    for (command, expected), response in zip(SRLINUX_COMMANDS, responses, strict=True):
        assert not response.failed, command
        assert "Parsing error" not in response.result and "Error:" not in response.result, command
        assert expected in response.result, f"{command}: {response.result[:300]!r}"
    assert "alcala-leaf1" in responses[0].result


async def test_scrapli_runs_every_sros_show_command(lab, lab_ssh):
    async with lab_ssh.scrapli(lab, "alcala-gw1") as conn:
        responses = await conn.send_commands([command for command, _ in SROS_COMMANDS])
    for (command, expected), response in zip(SROS_COMMANDS, responses, strict=True):
        assert not response.failed, f"{command}: {response.result[:300]!r}"
        assert expected in response.result, f"{command}: {response.result[:300]!r}"
    assert "alcala-gw1" in responses[1].result


async def test_each_device_answers_on_its_own_address(lab, lab_ssh):
    hosts = {lab.devices[name].identity.host for name in lab.devices}
    assert len(hosts) == len(lab.devices)
    for name in ("alcala-spine2", "alcala-gw2"):
        result = await lab_ssh.run(lab, name, "show system information" if "gw" in name else "show version")
        assert name in result.stdout


# -- non-interactive exec, OpenSSH -----------------------------------------------------------------------


async def test_exec_runs_one_command_and_exits_zero(lab, lab_ssh):
    result = await lab_ssh.run(lab, "alcala-spine1", "show version")
    assert result.exit_status == 0
    assert "Hostname             : alcala-spine1" in result.stdout
    unknown = await lab_ssh.run(lab, "alcala-spine1", "show versio")
    assert unknown.exit_status == 0
    assert "Parsing error: Unknown token 'versio'" in unknown.stdout


async def _openssh(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        "ssh",
        "-F",
        "/dev/null",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=10",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


needs_openssh = pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")


@needs_openssh
async def test_openssh_client_logs_in_with_the_lab_key_and_runs_a_command(lab):
    identity = lab.devices["alcala-gw1"].identity
    key = lab.client_key_file
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    code, out, err = await _openssh(
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-i",
        str(key),
        "-p",
        str(identity.ssh_port),
        f"{identity.username}@{identity.host}",
        "show system information",
    )
    assert code == 0, err
    assert "System Name            : alcala-gw1" in out


@needs_openssh
async def test_openssh_client_logs_in_with_a_password(lab, tmp_path):
    identity = lab.devices["alcala-leaf1"].identity
    askpass = tmp_path / "askpass.sh"
    askpass.write_text(f"#!/bin/sh\necho '{identity.password}'\n")
    askpass.chmod(0o700)
    env = {**os.environ, "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
    code, out, err = await _openssh(
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "PreferredAuthentications=password",
        "-o",
        "NumberOfPasswordPrompts=1",
        "-p",
        str(identity.ssh_port),
        f"{identity.username}@{identity.host}",
        "show version",
        env=env,
    )
    assert code == 0, err
    assert "Hostname             : alcala-leaf1" in out


@needs_openssh
async def test_openssh_interactive_session_echoes_and_runs_typed_commands(lab):
    identity = lab.devices["alcala-gw1"].identity
    process = await asyncio.create_subprocess_exec(
        "ssh",
        "-F",
        "/dev/null",
        "-tt",  # a PTY on the device although our stdin is a pipe
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-i",
        str(lab.client_key_file),
        "-p",
        str(identity.ssh_port),
        f"{identity.username}@{identity.host}",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(
        process.communicate(b"environment more false\rshow system information\rlogout\r"), 30
    )
    out = stdout.decode()
    assert process.returncode == 0, stderr.decode()
    assert "A:admin@alcala-gw1# show system information\r\n" in out
    assert "System Name            : alcala-gw1" in out
    assert out.rstrip().endswith("A:admin@alcala-gw1# logout")


async def test_wrong_password_and_wrong_user_are_rejected(lab, lab_ssh):
    with pytest.raises(asyncssh.PermissionDenied):
        async with lab_ssh.connect(lab, "alcala-leaf1", password="not-the-password"):
            pass
    with pytest.raises(asyncssh.PermissionDenied):
        async with lab_ssh.connect(lab, "alcala-leaf1", username="root"):
            pass


# -- the terminal: echo, line endings, editing keys, the pager ---------------------------------------------


async def test_terminal_echoes_and_handles_editing_keys(lab_factory, lab_ssh):
    lab = await lab_factory(engine_factory=tiny_engine, gnmi=False)
    async with lab_ssh.connect(lab, "alcala-leaf1") as conn:
        term = await Terminal(conn).open()
        assert "tiny banner\r\n" in await term.read_until("A:tiny# ")
        term.send("show x\r\n")  # CR LF is one Enter, not an Enter and an empty line
        assert await term.read_until("A:tiny# ") == "show x\r\nran [show x]\r\n\r\nA:tiny# "
        term.send("shoq\x7fw y\n")  # backspace erases the q, on screen and in the line
        assert await term.read_until("A:tiny# ") == "shoq\b \bw y\r\nran [show y]\r\n\r\nA:tiny# "
        term.send("junk\x03")  # Ctrl-C drops the line and gives a fresh prompt
        assert (await term.read_until("A:tiny# ")).startswith("junk^C\r\n")
        term.send("ab\x15cd\x1b[Ae\r")  # Ctrl-U erases the line; an arrow key is swallowed, not echoed
        out = await term.read_until("A:tiny# ")
        assert "ran [cde]" in out and "\x1b" not in out
        term.send("quit\n")
        assert "bye" in await term.read_to_end()


class PacketSession(asyncssh.SSHClientSession[str]):
    """A PTY session that keeps each SSH data packet apart, to see how the device split what it wrote."""

    def __init__(self) -> None:
        self.packets: asyncio.Queue[str] = asyncio.Queue()

    def data_received(self, data: str, datatype: asyncssh.DataType) -> None:
        self.packets.put_nowait(data)

    async def next_packet(self) -> str:
        return await asyncio.wait_for(self.packets.get(), READ_TIMEOUT_S)


async def _packet_session(conn: asyncssh.SSHClientConnection) -> tuple[asyncssh.SSHClientChannel[str], PacketSession]:
    return await conn.create_session(PacketSession, term_type="xterm", term_size=(200, 24))


async def test_a_typed_line_comes_back_in_one_piece_and_the_prompt_follows_its_output(lab_factory, lab_ssh):
    lab = await lab_factory(engine_factory=tiny_engine, gnmi=False)
    async with lab_ssh.connect(lab, "alcala-leaf1") as conn:
        channel, session = await _packet_session(conn)
        assert await session.next_packet() == "tiny banner\r\n\r\nA:tiny# "
        channel.write("show version")  # what one read brings is echoed whole, in one write
        assert await session.next_packet() == "show version"
        channel.write("\r")  # Enter: the line break, the output and the next prompt together
        assert await session.next_packet() == "\r\nran [show version]\r\n\r\nA:tiny# "
        channel.write("show x\n")  # a command and its Enter in one piece (Netmiko's way)
        assert await session.next_packet() == "show x\r\nran [show x]\r\n\r\nA:tiny# "
        channel.write("\n")  # an empty line: just a fresh prompt
        assert await session.next_packet() == "\r\nran []\r\n\r\nA:tiny# "
        channel.close()


async def test_typed_ahead_lines_echo_in_order_with_each_output_before_the_next_line(lab_factory, lab_ssh):
    lab = await lab_factory(engine_factory=tiny_engine, gnmi=False)
    async with lab_ssh.connect(lab, "alcala-leaf1") as conn:
        term = await Terminal(conn).open()
        await term.read_until("A:tiny# ")
        term.send("one\rtwo\r\nthree\x7f\x7f\x7f3\r")
        first = await term.read_until("A:tiny# ")
        second = await term.read_until("A:tiny# ")
        third = await term.read_until("A:tiny# ")
        assert first == "one\r\nran [one]\r\n\r\nA:tiny# "
        assert second == "two\r\nran [two]\r\n\r\nA:tiny# "
        assert third == "three\b \b\b \b\b \b3\r\nran [th3]\r\n\r\nA:tiny# "


async def test_srlinux_echoes_a_command_sent_whole_then_prints_output_and_prompt(lab, lab_ssh):
    prompt = "A:admin@alcala-leaf1# "
    async with lab_ssh.connect(lab, "alcala-leaf1") as conn:
        term = await Terminal(conn).open()
        await term.read_until(prompt)
        term.send("show version\n")
        out = await term.read_until(prompt)
        assert out.startswith("show version\r\n")
        assert "Hostname             : alcala-leaf1\r\n" in out
        assert out.endswith("\r\n--{ running }--[  ]--\r\n" + prompt)
        term.send("show versio\x03")  # Ctrl-C: the line is dropped, a fresh prompt
        out = await term.read_until(prompt)
        assert out.startswith("show versio^C\r\n") and "Parsing error" not in out


async def test_pager_enter_gives_one_line_space_a_page_q_stops(lab_factory, lab_ssh):
    lab = await lab_factory(engine_factory=tiny_engine, gnmi=False)
    erase = "\r" + " " * len("--More--") + "\r"
    async with lab_ssh.connect(lab, "alcala-leaf1") as conn:
        term = await Terminal(conn).open()
        await term.read_until("A:tiny# ")
        term.send("lines 20\r")
        first = await term.read_until("--More--")
        assert "row 5\r\n" in first and "row 6" not in first
        term.send("\r")  # Enter: one more line
        after_enter = await term.read_until("--More--")
        assert after_enter == erase + "row 6\r\n--More--"
        term.send(" ")  # any other key: the next page
        after_space = await term.read_until("--More--")
        assert "row 7\r\n" in after_space and "row 11\r\n" in after_space and "row 12" not in after_space
        term.send("q")  # q: the rest is not shown
        rest = await term.read_until("A:tiny# ")
        assert rest.startswith(erase) and "row 12" not in rest
        term.send("paging off\rlines 20\r")
        await term.read_until("A:tiny# ")
        assert "row 20" in await term.read_until("A:tiny# ")


async def test_sros_pager_catches_a_client_that_did_not_turn_paging_off(lab, lab_ssh):
    async with lab_ssh.connect(lab, "alcala-gw1") as conn:
        term = await Terminal(conn).open()
        await term.read_until("A:admin@alcala-gw1# ")
        term.send("show port\n")
        page = await term.read_until("Press Q to quit, Enter to print next line or any other key to print next page.")
        assert "Ports on Slot 1" in page
        term.send("q")
        await term.read_until("A:admin@alcala-gw1# ")
        term.send("environment more false\nshow port\n")
        await term.read_until("A:admin@alcala-gw1# ")
        full = await term.read_until("A:admin@alcala-gw1# ")
        assert "Press Q" not in full and "* indicates that the corresponding row element" in full


async def test_scrapli_without_paging_off_times_out_on_the_pager(lab, lab_ssh):
    from scrapli.exceptions import ScrapliTimeout

    async def leave_paging_on(conn) -> None:
        await conn.acquire_priv(desired_priv=conn.default_desired_privilege_level)

    conn = lab_ssh.scrapli(lab, "alcala-gw2", on_open=leave_paging_on, timeout_ops=1.5)
    await conn.open()
    try:
        with pytest.raises(ScrapliTimeout):
            await conn.send_command("show port")  # stuck at the pager prompt, never sees the device prompt
    finally:
        conn.transport.close()  # scrapli closes on a timeout already; this is for a failed assertion


async def test_quit_ends_the_session(lab, lab_ssh):
    async with lab_ssh.connect(lab, "alcala-spine1") as conn:
        term = await Terminal(conn).open()
        await term.read_until("A:")
        term.send("quit\n")
        await term.read_to_end()
        assert lab.status().ssh_sessions == 0 or await _eventually(lambda: lab.status().ssh_sessions == 0)


async def _eventually(check, seconds: float = 5.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


async def test_status_counts_open_sessions(lab, lab_ssh):
    async with lab_ssh.connect(lab, "alcala-spine1") as conn:
        await Terminal(conn).open()
        assert await _eventually(lambda: lab.status().ssh_sessions == 1)
        assert lab.status().ssh_connections == 1
    assert await _eventually(lambda: lab.status().ssh_connections == 0)


# -- host keys --------------------------------------------------------------------------------------------


async def _host_key(lab, name: str) -> str:
    identity = lab.devices[name].identity
    key = await asyncssh.get_server_host_key(identity.host, identity.ssh_port)
    assert key is not None
    return key.export_public_key().decode()


async def test_host_keys_differ_per_device_and_survive_a_restart(lab_factory, make_lab_identities, tmp_path):
    identities = make_lab_identities(devices_per_site=4)
    first = await lab_factory(identities=identities, lab_dir=tmp_path / "lab", gnmi=False)
    keys = {name: await _host_key(first, name) for name in first.devices}
    assert len(set(keys.values())) == len(keys)
    await first.stop()
    second = await lab_factory(identities=identities, lab_dir=tmp_path / "lab", gnmi=False)
    assert {name: await _host_key(second, name) for name in second.devices} == keys


async def test_known_hosts_file_lets_a_strict_client_in(lab, lab_ssh):
    async with lab_ssh.connect(lab, "alcala-gw2", known_hosts=str(lab.known_hosts_file)) as conn:
        result = await conn.run("show version", check=False)
    assert "TiMOS-" in result.stdout


def test_engine_per_platform(make_lab_identities):
    identity = next(i for i in make_lab_identities() if i.platform is Platform.SROS)
    classic = dataclasses.replace(identity, platform=Platform.SROS_CLASSIC)
    srl = next(i for i in make_lab_identities() if i.platform is Platform.SRLINUX)
    for ident, kind in ((srl, SrLinuxCli), (identity, SrosCli), (classic, SrosCli)):
        engine = default_engine_factory(LabDevice(ident, DeviceModel(ident)))
        assert isinstance(engine, kind)
    classic_engine = default_engine_factory(LabDevice(classic, DeviceModel(classic)))
    assert "[/]" not in classic_engine.prompt()
    assert "[/]" in default_engine_factory(LabDevice(identity, DeviceModel(identity))).prompt()


def test_lab_key_files_are_private(tmp_path):
    from edgeops.lab.servers.hostkeys import HostKeyStore

    store = HostKeyStore(tmp_path / "keys")
    key_file = store.client_key_file
    secret = tmp_path / "keys" / "hostkey-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = HostKeyStore(tmp_path / "keys")
    assert again.public_key_line("x") == store.public_key_line("x")
    assert again.public_key_line("x", 1) != store.public_key_line("x")
    assert Path(str(key_file) + ".pub").read_text().startswith("ssh-ed25519 ")
