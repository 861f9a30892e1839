"""Plain dataclasses describing the fleet: what the rest of edgeops works from."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from edgeops.platforms import GnmiTls, Platform


@dataclass(frozen=True)
class SecretRef:
    """Where a secret comes from; edgeops never stores the secret itself.

    kind is one of: "env" (value = variable name), "keyring" (value = "SERVICE/USER"),
    "prompt" (asked once per run), "file" (value = path of a file readable only by its owner),
    "literal" (only allowed when the inventory file is mode 0600, as the lab writes it).
    """

    kind: str
    value: str = ""

    def __repr__(self) -> str:  # never print a literal secret, even in a traceback
        # Only kinds whose value says where the secret is (never the secret itself) show it; any other kind,
        # literal or not, might hold the password.
        shown = self.value if self.kind in _WHERE_KINDS else "***"
        return f"SecretRef({self.kind}:{shown})"

    def __str__(self) -> str:
        """The reference as a person reads it in a message; never the secret."""
        if self.kind == "env":
            return f"environment variable {self.value}"
        if self.kind == "keyring":
            return f"keyring entry {self.value}"
        if self.kind == "file":
            return f"password file {self.value}"
        if self.kind == "prompt":
            return f"password prompt for {self.value or 'devices'}"
        return "password written in the inventory"


_WHERE_KINDS = frozenset({"env", "keyring", "prompt", "file"})


@dataclass(frozen=True)
class Credentials:
    """How to log in: a username plus a password reference and/or key files (ssh-agent is always tried)."""

    username: str
    password: SecretRef | None = None
    key_files: tuple[Path, ...] = ()
    use_agent: bool = True


@dataclass(frozen=True)
class Site:
    name: str  # e.g. "Tecno-Alcalá"
    code: str  # short code used in target expressions, e.g. "alcala"
    description: str = ""


@dataclass(frozen=True)
class JumpHost:
    name: str
    host: str
    port: int = 22
    credentials: Credentials | None = None
    # Used by the lab and by ssh_config's ProxyJump; a jump host may itself be behind another one.
    via: str | None = None
    # Which fields the inventory set (port, username, key_files, via): those win over ~/.ssh/config.
    explicit_fields: frozenset[str] = field(default=frozenset(), compare=False, repr=False)


@dataclass(frozen=True)
class Device:
    name: str
    site: str  # Site.code
    role: str
    platform: Platform
    model: str  # e.g. "7220 IXR-D3L", "7750 SR-7"
    host: str
    ssh_port: int = 22
    gnmi_port: int | None = 57400  # None: the device offers no gNMI; edgeops polls over SSH
    gnmi_tls: GnmiTls = GnmiTls.TLS
    gnmi_ca_file: Path | None = None
    gnmi_server_name: str | None = None  # TLS server name override (certificate SAN)
    jump: str | None = None  # JumpHost.name
    credentials: Credentials = field(default_factory=lambda: Credentials(username="admin"))
    tags: frozenset[str] = frozenset()
    source_line: int | None = None  # where the device was defined, for messages
    # Which fields the inventory set (on the device, a group or defaults), e.g. "username", "ssh_port",
    # "key_files", "jump": those win over ~/.ssh/config; the others may come from it.
    explicit_fields: frozenset[str] = field(default=frozenset(), compare=False, repr=False)


@dataclass(frozen=True)
class Inventory:
    sites: tuple[Site, ...] = ()
    devices: tuple[Device, ...] = ()
    jump_hosts: tuple[JumpHost, ...] = ()
    source: Path | None = None
    ssh_config: Path | None = None  # an OpenSSH config file to honour (default ~/.ssh/config)
    # OpenSSH's system-wide file, read after ssh_config (the first value obtained wins); None when the inventory
    # names a file of its own (as `ssh -F FILE`) or switches ssh_config off.
    system_ssh_config: Path | None = None

    def device(self, name: str) -> Device:
        for device in self.devices:
            if device.name == name:
                return device
        raise KeyError(name)

    def site(self, code: str) -> Site:
        for site in self.sites:
            if site.code == code:
                return site
        raise KeyError(code)

    def jump_host(self, name: str) -> JumpHost:
        for jump in self.jump_hosts:
            if jump.name == name:
                return jump
        raise KeyError(name)

    def devices_at(self, site_code: str) -> tuple[Device, ...]:
        return tuple(d for d in self.devices if d.site == site_code)

    def without_provenance(self) -> Inventory:
        """The same fleet without where it was read from, for comparing inventories from different formats."""
        return replace(self, source=None, devices=tuple(replace(device, source_line=None) for device in self.devices))
