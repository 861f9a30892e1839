"""OpenSSH's own client against lab devices: host keys checked, key and password login, exec and PTY sessions."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_clients import CLIENT_TIMEOUT_S, PROMPTS, SRL, SRL_24, SROS, SROS_CLASSIC, VERSION_LINES, LabThread, host_line

from edgeops.lab.servers.jump import JUMP_USERNAME

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed"),
]

EVERY_DEVICE = [SRL, SRL_24, SROS, SROS_CLASSIC]
RUN_TIMEOUT_S = 20.0
# What a person types in a session: paging off where the device pages, one show command, and the way out.
SESSION_INPUT = {
    SRL: ["show version", "quit"],
    SRL_24: ["show version", "quit"],
    SROS: ["environment more false", "show version", "logout"],
    SROS_CLASSIC: ["environment no more", "show version", "logout"],
}
SROS_PAGER_PROMPT = "Press Q to quit, Enter to print next line or any other key to print next page."
BANNERS = {
    SRL: "Welcome to the Nokia SR Linux CLI.",
    SRL_24: "Welcome to the srlinux CLI.",
    SROS: " SR OS Software",
    SROS_CLASSIC: " SR OS Software",
}


def client_env(**extra: str) -> dict[str, str]:
    """The environment without an SSH agent, so only the key or password the test gives is tried."""
    env = {key: value for key, value in os.environ.items() if key not in ("SSH_AUTH_SOCK", "SSH_ASKPASS")}
    env.update(extra)
    return env


def ssh_args(known_hosts: Path, *options: str) -> list[str]:
    """`ssh` with no user configuration, the lab's known_hosts as the only one, and strict host key checking."""
    return [
        "ssh",
        "-F",
        "/dev/null",
        "-o",
        f"UserKnownHostsFile={known_hosts}",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        f"ConnectTimeout={int(CLIENT_TIMEOUT_S)}",
        "-o",
        "LogLevel=ERROR",
        *options,
    ]


def key_login(client_lab: LabThread) -> list[str]:
    return ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", str(client_lab.lab.client_key_file)]


def target(client_lab: LabThread, name: str) -> list[str]:
    identity = client_lab.identity(name)
    return ["-p", str(identity.ssh_port), f"{identity.username}@{identity.host}"]


@pytest.mark.parametrize("name", EVERY_DEVICE)
def test_exec_with_the_lab_key(client_lab: LabThread, name: str) -> None:
    """`ssh -i key device "show version"`: the output alone (no banner, no prompt) and exit status 0."""
    args = ssh_args(client_lab.lab.known_hosts_file, *key_login(client_lab), *target(client_lab, name))
    result = subprocess.run(
        [*args, "show version"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=client_env(),
    )
    assert result.returncode == 0, result.stderr
    assert VERSION_LINES[name] in result.stdout
    assert "\r" not in result.stdout  # no PTY, so no terminal line endings
    assert host_line(name) not in result.stdout
    assert BANNERS[name] not in result.stdout
    client_lab.wait_idle()


@pytest.mark.parametrize("name", [SRL, SROS])
def test_exec_with_a_password_from_askpass(client_lab: LabThread, name: str, tmp_path: Path) -> None:
    """Password login, the password handed over by an SSH_ASKPASS program as a desktop would."""
    identity = client_lab.identity(name)
    askpass = tmp_path / "askpass"
    askpass.write_text(f"#!/bin/sh\nprintf '%s\\n' '{identity.password}'\n")
    askpass.chmod(0o700)
    args = ssh_args(
        client_lab.lab.known_hosts_file,
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "PreferredAuthentications=password",
        "-o",
        "NumberOfPasswordPrompts=1",
        *target(client_lab, name),
    )
    result = subprocess.run(
        [*args, "show version"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=client_env(SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0"),
    )
    assert result.returncode == 0, result.stderr
    assert VERSION_LINES[name] in result.stdout
    client_lab.wait_idle()


@pytest.mark.parametrize("name", EVERY_DEVICE)
def test_pty_session_with_commands_on_stdin(client_lab: LabThread, name: str) -> None:
    """`ssh -tt device` with typed lines on stdin: banner, prompt, echo, output, and a clean logout."""
    args = ssh_args(client_lab.lab.known_hosts_file, "-tt", *key_login(client_lab), *target(client_lab, name))
    lines = SESSION_INPUT[name]
    result = subprocess.run(
        args,
        input="".join(f"{line}\r" for line in lines).encode(),  # Enter, as a terminal sends it
        capture_output=True,
        timeout=RUN_TIMEOUT_S,
        env=client_env(),
    )
    assert result.returncode == 0, result.stderr.decode()
    raw = result.stdout.decode()
    assert "\r\n" in raw and "\n" not in raw.replace("\r\n", "")  # a terminal's line endings, and only those
    out = raw.replace("\r\n", "\n")
    assert BANNERS[name] in out.split(PROMPTS[name])[0]
    # Every line typed is echoed behind the prompt, in order, and the prompt starts a line (after a blank one
    # where the platform leaves one); the output follows its command.
    position = 0
    for line in lines:
        echoed = f"\n{PROMPTS[name]}{line}\n"
        found = out.find(echoed, position)
        assert found >= 0, f"no {echoed!r} after position {position} in {out!r}"
        position = found + len(echoed) - 1  # the echo's line break starts what follows
    version_at = out.find(VERSION_LINES[name])
    assert out.find(f"{PROMPTS[name]}show version\n") < version_at < out.rfind(PROMPTS[name])
    client_lab.wait_idle()


@pytest.mark.parametrize("name", [SRL, SROS])
def test_exec_through_the_jump_host(client_lab: LabThread, name: str) -> None:
    """`ssh -o ProxyCommand='ssh -W %h:%p jump' device`: OpenSSH's forwarding through the lab's jump host."""
    jump = client_lab.lab.jump
    assert jump is not None
    known_hosts = client_lab.lab.known_hosts_file
    proxy = ssh_args(
        known_hosts, *key_login(client_lab), "-W", "%h:%p", "-p", str(jump.port), f"{JUMP_USERNAME}@{jump.host}"
    )
    forwarded_before = jump.stats.forwarded_channels
    args = ssh_args(
        known_hosts, *key_login(client_lab), "-o", f"ProxyCommand={' '.join(proxy)}", *target(client_lab, name)
    )
    result = subprocess.run(
        [*args, "show version"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=client_env(),
    )
    assert result.returncode == 0, result.stderr
    assert VERSION_LINES[name] in result.stdout
    assert jump.stats.forwarded_channels == forwarded_before + 1
    client_lab.wait_idle()


async def test_a_dropped_connection_ends_the_session_with_status_255(client_lab: LabThread) -> None:
    """The ssh-drop fault cuts the TCP connection: OpenSSH reports a lost connection, as with a real device."""
    args = ssh_args(client_lab.lab.known_hosts_file, "-tt", *key_login(client_lab), *target(client_lab, SRL))
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=client_env(),
    )
    assert process.stdout is not None and process.stdin is not None
    try:
        await asyncio.wait_for(process.stdout.readuntil(host_line(SRL).encode()), CLIENT_TIMEOUT_S)
        await asyncio.to_thread(client_lab.inject, SRL, "ssh-drop")
        _, stderr = await asyncio.wait_for(process.communicate(), CLIENT_TIMEOUT_S)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 255, stderr.decode()
    await asyncio.to_thread(client_lab.clear, SRL)
    await asyncio.to_thread(client_lab.wait_idle)


class LocalTerminal:
    """A pseudo-terminal of a given size with `ssh` running in it, as in a terminal window on a desktop."""

    def __init__(self, args: list[str], rows: int, columns: int) -> None:
        self.master, slave = pty.openpty()
        self.resize(rows, columns)
        self.process = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env=client_env(TERM="xterm"), start_new_session=True
        )
        os.close(slave)
        self.seen = ""

    def resize(self, rows: int, columns: int) -> None:
        """Change the window size; ssh learns it from SIGWINCH (as from a window manager) and tells the device."""
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        if getattr(self, "process", None) is not None:
            self.process.send_signal(signal.SIGWINCH)

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def read_until(self, *markers: str) -> str:
        """Everything up to and including the first of `markers` to appear; fail if none does in time."""
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        while True:
            found = [(self.seen.find(marker), marker) for marker in markers if marker in self.seen]
            if found:
                at, marker = min(found)
                head, self.seen = self.seen[: at + len(marker)], self.seen[at + len(marker) :]
                return head
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"none of {markers!r} in {self.seen!r}"
            if select.select([self.master], [], [], remaining)[0]:
                try:
                    self.seen += os.read(self.master, 65536).decode(errors="replace")
                except OSError:  # the session ended and the terminal closed
                    raise AssertionError(f"the session ended before {markers!r}; got {self.seen!r}") from None

    def wait(self) -> int:
        """ssh's exit status once the session has ended."""
        return self.process.wait(CLIENT_TIMEOUT_S)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)


@pytest.fixture
def sros_terminal(client_lab: LabThread) -> Iterator[LocalTerminal]:
    """`ssh -t` to the MD-CLI gateway from a 120x60 terminal, logged in and at the prompt."""
    args = ssh_args(client_lab.lab.known_hosts_file, "-t", *key_login(client_lab), *target(client_lab, SROS))
    terminal = LocalTerminal(args, rows=60, columns=120)
    try:
        terminal.read_until(PROMPTS[SROS].replace("\n", "\r\n"))
        yield terminal
    finally:
        terminal.close()


def test_sros_pages_by_the_window_size_ssh_reports(client_lab: LabThread, sros_terminal: LocalTerminal) -> None:
    """The MD-CLI console length follows the SSH window: no page break in a 60-row window, and after the window
    shrinks to 20 rows, a page break after 19 lines (one row stays for the pager prompt)."""
    prompt = PROMPTS[SROS].replace("\n", "\r\n")
    sros_terminal.send("show port\r")
    output = sros_terminal.read_until(SROS_PAGER_PROMPT, prompt)
    assert SROS_PAGER_PROMPT not in output
    assert "Ports on Slot A" in output and 20 < output.count("\r\n") < 59
    sros_terminal.resize(rows=20, columns=120)
    # OpenSSH may send a line typed right after a resize before the resize itself; one Enter and its prompt
    # later, the device knows the new size (as it would by the time a person typed the next command).
    sros_terminal.send("\r")
    sros_terminal.read_until(prompt)
    sros_terminal.send("show port\r")
    page = sros_terminal.read_until(SROS_PAGER_PROMPT, prompt)
    assert page.endswith(SROS_PAGER_PROMPT)
    assert page.split("show port\r\n", 1)[1].count("\r\n") == 19
    sros_terminal.send("q")
    sros_terminal.read_until(prompt)
    sros_terminal.send("logout\r")
    assert sros_terminal.wait() == 0
    client_lab.wait_idle()
