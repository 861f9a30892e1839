"""Netmiko's Nokia drivers (paramiko underneath) against lab devices: log in, run show commands, configuration
mode where the CLI has one, and log out."""

from __future__ import annotations

from typing import Any

import pytest
from lab_clients import CLIENT_TIMEOUT_S, SRL, SRL_24, SROS, SROS_CLASSIC, VERSION_LINES, LabThread, host_line
from netmiko import ConnectHandler

pytestmark = pytest.mark.lab

DEVICE_TYPES = {SRL: "nokia_srl", SRL_24: "nokia_srl", SROS: "nokia_sros", SROS_CLASSIC: "nokia_sros"}
# A second command in each CLI's own terms: MD-CLI runs a classic command with `//`.
PORT_TABLES = {
    SRL: ("show interface brief", "ethernet-1/1"),
    SRL_24: ("show interface brief", "ethernet-1/1"),
    SROS: ("//show port", "Ports on Slot 1"),
    SROS_CLASSIC: ("show port", "Ports on Slot 1"),
}


def connect(client_lab: LabThread, name: str, **extra: Any) -> Any:
    identity = client_lab.identity(name)
    settings: dict[str, Any] = {"password": identity.password, "use_keys": False, **extra}
    return ConnectHandler(
        device_type=DEVICE_TYPES[name],
        host=identity.host,
        port=identity.ssh_port,
        username=identity.username,
        allow_agent=False,
        ssh_config_file=None,
        conn_timeout=CLIENT_TIMEOUT_S,
        auth_timeout=CLIENT_TIMEOUT_S,
        banner_timeout=CLIENT_TIMEOUT_S,
        read_timeout_override=CLIENT_TIMEOUT_S,
        **settings,
    )


@pytest.mark.parametrize("name", [SRL, SRL_24, SROS, SROS_CLASSIC])
def test_show_commands_and_disconnect(client_lab: LabThread, name: str) -> None:
    conn = connect(client_lab, name)
    try:
        assert conn.find_prompt() == host_line(name)
        version = conn.send_command("show version")
        assert VERSION_LINES[name] in version
        # Netmiko strips the command echo and the prompt (SR Linux's context line too); nothing of them is left.
        assert host_line(name) not in version
        assert "--{" not in version and "[/]" not in version
        command, expected = PORT_TABLES[name]
        table = conn.send_command(command)
        assert expected in table
        assert host_line(name) not in table
    finally:
        conn.disconnect()
    assert not conn.is_alive()
    client_lab.wait_idle()


@pytest.mark.parametrize("name", [SRL, SROS])
def test_configuration_mode_and_back(client_lab: LabThread, name: str) -> None:
    """SR Linux `enter candidate private` / SR OS `edit-config exclusive`, seen and left as Netmiko expects."""
    conn = connect(client_lab, name)
    try:
        conn.config_mode()
        assert conn.check_config_mode()
        conn.exit_config_mode()
        assert not conn.check_config_mode()
        assert conn.find_prompt() == host_line(name)
    finally:
        conn.disconnect()
    client_lab.wait_idle()


def test_key_login(client_lab: LabThread) -> None:
    """Netmiko (paramiko) with the lab's key and no password."""
    conn = connect(client_lab, SRL, password=None, use_keys=True, key_file=str(client_lab.lab.client_key_file))
    try:
        assert VERSION_LINES[SRL] in conn.send_command("show version")
    finally:
        conn.disconnect()
    client_lab.wait_idle()
