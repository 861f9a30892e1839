"""scrapli with scrapli-community's Nokia platforms against lab devices, over asyncssh and over OpenSSH (system)."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from lab_clients import CLIENT_TIMEOUT_S, PROMPTS, SRL, SRL_24, SROS, SROS_CLASSIC, VERSION_LINES, LabThread, host_line
from scrapli import AsyncScrapli, Scrapli

pytestmark = pytest.mark.lab

EVERY_DEVICE = [SRL, SRL_24, SROS, SROS_CLASSIC]
# scrapli-community's platform for each device; the classic CLI is a variant of `nokia_sros`.
PLATFORMS: dict[str, dict[str, str]] = {
    SRL: {"platform": "nokia_srlinux"},
    SRL_24: {"platform": "nokia_srlinux"},
    SROS: {"platform": "nokia_sros"},
    SROS_CLASSIC: {"platform": "nokia_sros", "variant": "classic"},
}
# A mistyped command, and whether scrapli's failure indicators catch the device's answer: SR Linux's
# `Parsing error:` is not among them (a gotcha of the real platform definition), SR OS's `MINOR:` and `Error:` are.
MISTYPED = {
    SRL: ("show versio", False),
    SRL_24: ("show versio", False),
    SROS: ("show versio", True),
    SROS_CLASSIC: ("show bogus", True),
}
needs_openssh = pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")


def settings(client_lab: LabThread, name: str, transport: str, **extra: Any) -> dict[str, Any]:
    identity = client_lab.identity(name)
    return {
        "host": identity.host,
        "port": identity.ssh_port,
        "auth_username": identity.username,
        "auth_password": identity.password,
        "transport": transport,
        "timeout_socket": CLIENT_TIMEOUT_S,
        "timeout_transport": CLIENT_TIMEOUT_S,
        "timeout_ops": CLIENT_TIMEOUT_S,
        **PLATFORMS[name],
        **extra,
    }


def bare_host_known_hosts(client_lab: LabThread, path: Path) -> Path:
    """The lab's known_hosts with `[host]:port` written as `host`: scrapli's own host key check looks hosts up
    without their port (OpenSSH's form for port 22), so on the lab's port 2222 it needs this spelling."""
    lines = []
    for line in client_lab.lab.known_hosts_file.read_text().splitlines():
        pattern, _, key = line.partition(" ")
        if pattern.startswith("["):
            pattern = pattern[1:].partition("]")[0]
        lines.append(f"{pattern} {key}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("name", EVERY_DEVICE)
async def test_asyncssh_transport_opens_runs_show_version_and_closes(
    client_lab: LabThread, name: str, tmp_path: Path
) -> None:
    known_hosts = bare_host_known_hosts(client_lab, tmp_path / "known_hosts")
    conn = AsyncScrapli(
        **settings(client_lab, name, "asyncssh", auth_strict_key=True, ssh_known_hosts_file=str(known_hosts))
    )
    await conn.open()
    try:
        assert (await conn.get_prompt()) == PROMPTS[name].strip()
        response = await conn.send_command("show version")
        assert not response.failed
        assert VERSION_LINES[name] in response.result
        assert host_line(name) not in response.result  # scrapli found the end of the output where the device put it
        command, fails = MISTYPED[name]
        assert (await conn.send_command(command)).failed is fails
    finally:
        await conn.close()
    assert not conn.isalive()
    await asyncio.to_thread(client_lab.wait_idle)  # the test loop stays free to finish the close


@needs_openssh
@pytest.mark.parametrize("name", EVERY_DEVICE)
def test_system_transport_opens_runs_show_version_and_closes(client_lab: LabThread, name: str) -> None:
    """The system transport runs OpenSSH in a PTY and types the password at its prompt."""
    known_hosts = str(client_lab.lab.known_hosts_file)
    conn = Scrapli(
        **settings(
            client_lab, name, "system", auth_strict_key=True, ssh_known_hosts_file=known_hosts, ssh_config_file=False
        )
    )
    conn.open()
    try:
        assert conn.get_prompt() == PROMPTS[name].strip()
        response = conn.send_command("show version")
        assert not response.failed
        assert VERSION_LINES[name] in response.result
        assert host_line(name) not in response.result
        command, fails = MISTYPED[name]
        assert conn.send_command(command).failed is fails
    finally:
        conn.close()
    assert not conn.isalive()
    client_lab.wait_idle()


@pytest.mark.parametrize("name", [SRL, SROS])
async def test_configuration_privilege_and_back(client_lab: LabThread, name: str) -> None:
    """scrapli's privilege levels recognise the candidate and exclusive configuration prompts, and leave them."""
    async with AsyncScrapli(**settings(client_lab, name, "asyncssh", auth_strict_key=False)) as conn:
        await conn.acquire_priv("configuration")
        config_prompt = await conn.get_prompt()
        assert re.search(conn.privilege_levels["configuration"].pattern, config_prompt, re.M | re.I)
        assert not re.search(conn.privilege_levels["exec"].pattern, config_prompt, re.M | re.I)
        await conn.acquire_priv("exec")
        assert (await conn.get_prompt()) == PROMPTS[name].strip()
    await asyncio.to_thread(client_lab.wait_idle)


@needs_openssh
@pytest.mark.parametrize("name", [SRL, SROS])
def test_system_transport_with_the_lab_key(client_lab: LabThread, name: str) -> None:
    """Key login through OpenSSH (`ssh -i`), no password anywhere."""
    conn = Scrapli(
        **settings(
            client_lab,
            name,
            "system",
            auth_password="",
            auth_private_key=str(client_lab.lab.client_key_file),
            auth_strict_key=True,
            ssh_known_hosts_file=str(client_lab.lab.known_hosts_file),
            ssh_config_file=False,
        )
    )
    with conn:
        assert VERSION_LINES[name] in conn.send_command("show version").result
    client_lab.wait_idle()
