"""~/.ssh/config (or the inventory's ssh_config) shapes each device's SSH settings; the inventory wins."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from edgeops.inventory import ssh_config as ssh_config_module
from edgeops.inventory.loader import load_inventory
from edgeops.inventory.model import Credentials, Device, Inventory, JumpHost
from edgeops.inventory.problems import InventoryError
from edgeops.inventory.ssh_config import ProxyHop, SshSettings, unhonoured_in, unhonoured_options
from edgeops.inventory.ssh_config import ssh_settings_for as settings_with_config
from edgeops.platforms import Platform

from .conftest import WriteFile

SSH_CONFIG = """
Host bastion-alias
  HostName 127.0.0.10
  User netops
  Port 2222
  IdentityFile ~/.ssh/id_bastion

Host leaf-*
  ProxyJump bastion
  User ops
  Port 2201
  IdentityFile ~/.ssh/id_lab

Host gw-*
  HostName %h.edge.example
  ProxyJump jumper@127.0.0.20:2200,bastion-alias

Host outer-*
  ProxyJump none

Host 127.0.0.20
  ProxyJump first-hop

Host first-hop
  HostName 127.0.0.30
  User relay
"""

INVENTORY = """
ssh_config: ssh_config
sites: [alcala]
jump_hosts:
  - {name: bastion, host: bastion-alias}
  - {name: direct, host: 127.0.0.40, username: direct-user, port: 2022}
defaults: {site: alcala, platform: srlinux, role: leaf}
devices:
  - {name: leaf-01, host: leaf-01}
  - {name: leaf-02, host: leaf-02, username: admin, ssh_port: 22, key_files: [own_key]}
  - {name: leaf-03, host: leaf-03, jump: direct}
  - {name: leaf-04, host: leaf-04, jump: null}
  - {name: gw-1, host: gw-1}
  - {name: outer-1, host: outer-1}
"""


def ssh_settings_for(device: Device, inventory: Inventory) -> SshSettings:
    """The settings without how asyncssh applies the file (ConfigUse, tested on its own below): the routes."""
    settings = settings_with_config(device, inventory)
    hops = tuple(hop._replace(config=None) for hop in settings.proxy_jump)
    return dataclasses.replace(settings, proxy_jump=hops, config=None)


@pytest.fixture
def inventory(write: WriteFile) -> Inventory:
    write("ssh_config", SSH_CONFIG)
    return load_inventory(write("inventory.yaml", INVENTORY))


@pytest.fixture
def bastion(isolated_home: Path) -> ProxyHop:
    """The inventory jump host `bastion`, whose ssh alias sets address, user, port and key."""
    return ProxyHop("127.0.0.10", 2222, "netops", (isolated_home / ".ssh/id_bastion",), "bastion")


def test_proxy_jump_reaches_the_device_settings(inventory: Inventory, bastion: ProxyHop, isolated_home: Path) -> None:
    settings = ssh_settings_for(inventory.device("leaf-01"), inventory)
    assert settings == SshSettings(
        host="leaf-01",
        port=2201,
        username="ops",
        key_files=(isolated_home / ".ssh/id_lab",),
        proxy_jump=(bastion,),  # ProxyJump names the inventory's jump host: its settings apply
    )
    host, port, user = settings.proxy_jump[0][:3]
    assert (host, port, user) == ("127.0.0.10", 2222, "netops")


def test_fields_the_inventory_sets_win_over_the_config(inventory: Inventory, bastion: ProxyHop, tmp_path: Path) -> None:
    settings = ssh_settings_for(inventory.device("leaf-02"), inventory)
    assert (settings.username, settings.port, settings.key_files) == ("admin", 22, (tmp_path / "own_key",))
    assert settings.proxy_jump == (bastion,)  # jump was not set: the config's ProxyJump still applies


def test_a_device_jump_wins_over_proxy_jump(inventory: Inventory) -> None:
    via_direct = ssh_settings_for(inventory.device("leaf-03"), inventory)
    assert via_direct.proxy_jump == (ProxyHop("127.0.0.40", 2022, "direct-user", (), "direct"),)
    # `jump: null` says "no jump host", whatever the config says.
    assert ssh_settings_for(inventory.device("leaf-04"), inventory).proxy_jump == ()


def test_multi_hop_proxy_jump(inventory: Inventory, bastion: ProxyHop) -> None:
    settings = ssh_settings_for(inventory.device("gw-1"), inventory)
    assert settings.host == "gw-1.edge.example"  # HostName %h.edge.example
    assert settings.proxy_jump == (
        # The first hop follows its own ProxyJump (as OpenSSH does), the later hops do not.
        ProxyHop("127.0.0.30", 22, "relay"),
        ProxyHop("127.0.0.20", 2200, "jumper"),
        bastion,  # written as its ssh alias: still the inventory's jump host
    )


def test_proxy_jump_none_means_direct(inventory: Inventory) -> None:
    assert ssh_settings_for(inventory.device("outer-1"), inventory).proxy_jump == ()


def test_jump_host_via_chain_without_any_config(write: WriteFile) -> None:
    path = write(
        "inventory.yaml",
        """
        ssh_config: false
        sites: [alcala]
        jump_hosts:
          - {name: inner, host: 127.0.0.2, username: a, via: outer}
          - {name: outer, host: 127.0.0.1, port: 2200, username: b, key_files: [/keys/outer]}
        devices:
          - {name: leaf1, site: alcala, role: leaf, platform: srlinux, host: 127.0.0.3, jump: inner}
        """,
    )
    inventory = load_inventory(path)
    settings = ssh_settings_for(inventory.device("leaf1"), inventory)
    assert settings == SshSettings(
        host="127.0.0.3",
        port=22,
        username="admin",
        proxy_jump=(
            ProxyHop("127.0.0.1", 2200, "b", (Path("/keys/outer"),), "outer"),
            ProxyHop("127.0.0.2", 22, "a", (), "inner"),
        ),
    )


def test_a_proxy_jump_loop_is_an_inventory_error(write: WriteFile) -> None:
    write("ssh_config", "Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n")
    path = write(
        "inventory.yaml",
        "ssh_config: ssh_config\nsites: [s]\ndevices:\n  - {name: d, site: s, role: leaf, platform: sros, host: a}\n",
    )
    inventory = load_inventory(path)
    with pytest.raises(InventoryError, match="loop"):
        ssh_settings_for(inventory.device("d"), inventory)


def test_devices_built_in_code_take_non_default_values_as_set(write: WriteFile) -> None:
    # `Host *` reaches the jump host too; a ProxyJump that names the hop itself is not followed.
    config = write("ssh_config", "Host *\n  User from-config\n  Port 2022\n  ProxyJump 127.0.0.9\n")
    device = Device(
        name="leaf1",
        site="s",
        role="leaf",
        platform=Platform.SRLINUX,
        model="",
        host="127.0.0.1",
        credentials=Credentials(username="netops"),
        jump="j",
    )
    inventory = Inventory(
        devices=(device,), jump_hosts=(JumpHost(name="j", host="127.0.0.9", port=2200),), ssh_config=config
    )
    settings = ssh_settings_for(device, inventory)
    assert (settings.username, settings.port) == ("netops", 2022)  # username differs from admin: it was set
    assert [hop.jump_host for hop in settings.proxy_jump] == ["j"]
    assert settings.proxy_jump[0][:3] == ("127.0.0.9", 2200, "from-config")


# -- what asyncssh is handed, and what nobody honours ---------------------------------------------------------

HONOURED_AND_NOT = """
Host leaf-*
  IdentitiesOnly yes
  ControlMaster auto
  LogLevel QUIET

Include extra.conf

Host *
  RemoteCommand cli
"""


def test_config_use_hands_asyncssh_the_alias_and_the_file(write: WriteFile) -> None:
    config = write("ssh_config", "Host leaf-*\n  Ciphers aes256-ctr\n  ProxyCommand ssh -W %h:%p bastion\n")
    inventory = Inventory(
        devices=(
            Device("leaf-1", "alcala", "leaf", Platform.SRLINUX, "7220 IXR-D3L", "leaf-1"),
            Device("leaf-2", "alcala", "leaf", Platform.SRLINUX, "7220 IXR-D3L", "leaf-2", jump="bastion"),
        ),
        jump_hosts=(JumpHost("bastion", "127.0.0.9"),),
        ssh_config=config,
    )
    use = settings_with_config(inventory.device("leaf-1"), inventory).config
    assert use is not None
    assert (use.alias, use.files, use.proxy_command) == ("leaf-1", (config,), "ssh -W leaf-1:22 bastion")
    assert {"Ciphers", "ProxyCommand"} <= use.configured
    # The inventory chose a route of its own: the file's ProxyCommand must not replace it.
    routed = settings_with_config(inventory.device("leaf-2"), inventory).config
    assert routed is not None and not routed.proxy_command


def test_options_edgeops_does_not_honour_are_listed_with_file_and_line(write: WriteFile) -> None:
    config = write("ssh_config", HONOURED_AND_NOT)
    extra = write("extra.conf", "Host leaf-1\n  ForwardX11 yes\n")
    config.write_text(HONOURED_AND_NOT.replace("Include extra.conf", f"Include {extra}"))
    inventory = Inventory(
        devices=(
            Device("leaf-1", "alcala", "leaf", Platform.SRLINUX, "7220 IXR-D3L", "leaf-1"),
            Device("spine-1", "alcala", "spine", Platform.SRLINUX, "7220 IXR-D3L", "spine-1"),
        ),
        ssh_config=config,
    )
    assert [option.format() for option in unhonoured_options(inventory, "leaf-1")] == [
        f"{config}:4: ControlMaster: not supported: edgeops ignores it",  # LogLevel changes nothing: not listed
        f"{extra}:2: ForwardX11: not supported: edgeops ignores it",
        f"{config}:10: RemoteCommand: not applied: edgeops opens the device's interactive CLI, not a command",
    ]
    found = unhonoured_in(inventory)
    assert [(option.option, names) for option, names in found.items()] == [
        ("ControlMaster", ("leaf-1",)),
        ("ForwardX11", ("leaf-1",)),
        ("RemoteCommand", ("leaf-1", "spine-1")),
    ]


# -- the user's file, then the system's ------------------------------------------------------------------------

SYSTEM_FILE = """
Host leaf-*
  User from-system
  Port 2300
  IdentityFile /keys/system
  StrictHostKeyChecking yes
  ControlPersist 10m
"""

USER_FILE = """
Host leaf-*
  User from-user
"""

FLEET = """
sites: [alcala]
defaults: {site: alcala, platform: srlinux, role: leaf}
devices:
  - {name: leaf-1, host: leaf-1}
  - {name: leaf-2, host: leaf-2, username: from-inventory, ssh_port: 2022}
"""


@pytest.fixture
def system_file(write: WriteFile, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A system-wide ssh_config in a temporary folder, where edgeops looks for /etc/ssh/ssh_config."""
    path = write("etc/ssh/ssh_config", SYSTEM_FILE)
    monkeypatch.setattr(ssh_config_module, "SYSTEM_SSH_CONFIG", path)
    return path


def test_the_users_file_and_the_system_file_both_apply_the_first_value_wins(
    write: WriteFile, system_file: Path, isolated_home: Path
) -> None:
    user_file = write("home/.ssh/config", USER_FILE)
    inventory = load_inventory(write("inventory.yaml", FLEET))
    assert (inventory.ssh_config, inventory.system_ssh_config) == (user_file, system_file)
    settings = settings_with_config(inventory.device("leaf-1"), inventory)
    assert settings.username == "from-user"  # both set User: the user's file wins
    assert settings.port == 2300  # only the system file sets Port: it applies
    assert settings.key_files == (Path("/keys/system"),)
    assert settings.host_keys.strict_host_key_checking == "yes"
    assert settings.config is not None and settings.config.files == (user_file, system_file)
    # The inventory wins over both files.
    own = settings_with_config(inventory.device("leaf-2"), inventory)
    assert (own.username, own.port) == ("from-inventory", 2022)


def test_the_system_file_applies_without_a_users_file(write: WriteFile, system_file: Path) -> None:
    inventory = load_inventory(write("inventory.yaml", FLEET))
    assert inventory.ssh_config is None  # no ~/.ssh/config in the test's home
    settings = settings_with_config(inventory.device("leaf-1"), inventory)
    assert (settings.username, settings.port) == ("from-system", 2300)


def test_a_file_the_inventory_names_is_the_only_one_read(write: WriteFile, system_file: Path) -> None:
    # As `ssh -F FILE`: neither the user's nor the system's file applies.
    write("home/.ssh/config", USER_FILE)
    named = write("fleet_ssh_config", "Host leaf-*\n  User from-named\n")
    inventory = load_inventory(write("inventory.yaml", "ssh_config: fleet_ssh_config\n" + FLEET))
    assert (inventory.ssh_config, inventory.system_ssh_config) == (named, None)
    settings = settings_with_config(inventory.device("leaf-1"), inventory)
    assert (settings.username, settings.port) == ("from-named", 22)
    switched_off = load_inventory(write("off.yaml", "ssh_config: false\n" + FLEET))
    assert (switched_off.ssh_config, switched_off.system_ssh_config) == (None, None)


def test_an_option_of_the_system_file_edgeops_cannot_honour_is_reported(write: WriteFile, system_file: Path) -> None:
    inventory = load_inventory(write("inventory.yaml", FLEET))
    assert [(option.format(), names) for option, names in unhonoured_in(inventory).items()] == [
        (f"{system_file}:6: ControlPersist: not supported: edgeops ignores it", ("leaf-1", "leaf-2")),
    ]


def test_a_mistake_in_the_system_file_is_reported_at_its_line(write: WriteFile, system_file: Path) -> None:
    system_file.write_text("Host *\n  Port notanumber\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(write("inventory.yaml", FLEET))
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == (str(system_file), 2)


def test_no_test_reads_the_machines_own_system_file() -> None:
    assert not ssh_config_module.SYSTEM_SSH_CONFIG.exists()  # conftest.py points it at a file never written


def test_match_and_include_select_the_lines_as_openssh_does(write: WriteFile, isolated_home: Path) -> None:
    included = write("home/.ssh/conf.d/lab.conf", "Host lab-*\n  IdentityFile ~/.ssh/id_%r\n  FooBar yes\n")
    config = write(
        "ssh_config",
        f"""
        Include {included.parent}/*.conf
        Match originalhost lab-* user ops
          StrictHostKeyChecking accept-new
        Match host *.example !originalhost lab-2
          UserKnownHostsFile none
        Host lab-* !lab-3
          HostName %h.example
          User ops
        Host lab-3
          User=relay
        """,
    )
    devices = tuple(
        Device(name, "alcala", "leaf", Platform.SRLINUX, "7220 IXR-D3L", name) for name in ("lab-1", "lab-2", "lab-3")
    )
    inventory = Inventory(devices=devices, ssh_config=config)
    one, two, three = (settings_with_config(device, inventory) for device in devices)
    # %r in IdentityFile is the user in effect once every file is read, as OpenSSH expands it.
    assert (one.host, one.username, one.key_files) == ("lab-1.example", "ops", (isolated_home / ".ssh/id_ops",))
    # `Match user ops` is read before any User line: the local user, so it does not match.
    assert one.host_keys.strict_host_key_checking is None
    assert one.host_keys.user_known_hosts is None  # `Match host` sees the HostName only once it is set
    assert (two.host, three.host, three.username) == ("lab-2.example", "lab-3", "relay")
    assert [option.format() for option in unhonoured_options(inventory, "lab-3")] == [
        f"{included}:3: FooBar: not supported: edgeops ignores it"
    ]
