"""How to reach a device over SSH: the inventory combined with ~/.ssh/config (HostName, User, Port, IdentityFile,
ProxyJump, and the host key options StrictHostKeyChecking, UserKnownHostsFile, GlobalKnownHostsFile), read with
asyncssh's own OpenSSH config parser."""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from edgeops.inventory.model import Device, Inventory, JumpHost
from edgeops.inventory.problems import InventoryError, Problem

MAX_JUMP_HOPS = 8  # deeper chains are loops in practice (A's ProxyJump is B, B's is A)
_PARSE_ERROR = re.compile(r"^(?P<file>.*) line (?P<line>\d+): (?P<reason>.*)$")


@dataclass(frozen=True)
class HostKeyConfig:
    """The host key options ssh_config sets for one host; None where it sets nothing (OpenSSH's default applies)."""

    strict_host_key_checking: str | None = None  # the value as written, lower case: yes, accept-new, ask, no...
    user_known_hosts: tuple[Path, ...] | None = None  # () for `UserKnownHostsFile none`
    global_known_hosts: tuple[Path, ...] | None = None


class ProxyHop(NamedTuple):
    """One SSH hop on the way to a device; the first three fields read as (host, port, user)."""

    host: str
    port: int
    username: str
    key_files: tuple[Path, ...] = ()
    jump_host: str | None = None  # the inventory JumpHost this hop is, when it is one (its credentials apply)
    host_keys: HostKeyConfig = HostKeyConfig()


@dataclass(frozen=True)
class SshSettings:
    """Where and as whom to open the SSH session of one device, after ~/.ssh/config is applied.

    proxy_jump lists the hops outermost first: connect to proxy_jump[0], through it to proxy_jump[1], ...,
    and through the last hop to host:port. Callers pass these to asyncssh explicitly (with config=None),
    so the config file is not applied a second time.
    """

    host: str
    port: int
    username: str
    key_files: tuple[Path, ...] = ()
    proxy_jump: tuple[ProxyHop, ...] = ()
    use_agent: bool = True
    host_keys: HostKeyConfig = HostKeyConfig()


def ssh_settings_for(device: Device, inventory: Inventory) -> SshSettings:
    """The device's SSH settings. Fields the inventory set (on the device, a group or defaults) win;
    the others come from the inventory's ssh_config for the device's host (used as the Host alias),
    then from built-in defaults (port 22, user admin). A device `jump:` wins over a ProxyJump; a
    ProxyJump hop that names an inventory jump host (by name or address) becomes that jump host."""
    resolver = _Resolver(inventory)
    endpoint = resolver.endpoint(
        device.host,
        port=device.ssh_port if _is_set(device, "ssh_port", device.ssh_port, 22) else None,
        username=device.credentials.username
        if _is_set(device, "username", device.credentials.username, "admin")
        else None,
        key_files=device.credentials.key_files
        if _is_set(device, "key_files", device.credentials.key_files, ())
        else None,
        default_username=device.credentials.username,
    )
    if "jump" in device.explicit_fields or device.jump is not None:
        chain = resolver.jump_host_chain(device.jump, depth=0) if device.jump else ()
    else:
        chain = resolver.proxy_jump_chain(endpoint.proxy_jump, depth=0)
    return SshSettings(
        host=endpoint.host,
        port=endpoint.port,
        username=endpoint.username,
        key_files=endpoint.key_files,
        proxy_jump=chain,
        use_agent=device.credentials.use_agent,
        host_keys=endpoint.host_keys,
    )


def check_ssh_config(path: Path, hosts: Iterable[str] = ()) -> list[Problem]:
    """Problems asyncssh finds in an OpenSSH config file (quoting, bad values, bad Match) for these hosts.

    asyncssh reads only the Host blocks that match the host it connects to, so the file is parsed once
    per distinct host; the problems a connection to one of them would meet are returned."""
    problems: list[Problem] = []
    for host in dict.fromkeys(["edgeops-config-check", *hosts]):
        try:
            _load(path, _mtime(path), host)
        except Exception as error:  # asyncssh raises ConfigParseError, ValueError or OSError here
            problem = _problem_from(path, error)
            if problem not in problems:
                problems.append(problem)
    return problems


# -- resolution ---------------------------------------------------------------------------------------------


class _Endpoint(NamedTuple):
    host: str
    port: int
    username: str
    key_files: tuple[Path, ...]
    proxy_jump: str | None
    host_keys: HostKeyConfig


class _Resolver:
    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.config_path = inventory.ssh_config

    def lookup(self, alias: str) -> dict[str, Any]:
        if self.config_path is None:
            return {}
        try:
            return _load(self.config_path, _mtime(self.config_path), alias)
        except Exception as error:  # the file changed since the inventory was checked
            raise InventoryError([_problem_from(self.config_path, error)]) from None

    def endpoint(
        self,
        alias: str,
        *,
        port: int | None,
        username: str | None,
        key_files: tuple[Path, ...] | None,
        default_username: str,
    ) -> _Endpoint:
        """Explicit values win; the config fills the rest, like OpenSSH's command line over its config file."""
        options = self.lookup(alias)
        identity_files = options.get("IdentityFile") or []
        return _Endpoint(
            host=str(options.get("Hostname") or alias),
            port=port if port is not None else int(options.get("Port") or 22),
            username=username if username is not None else str(options.get("User") or default_username),
            key_files=key_files
            if key_files is not None
            else tuple(Path(str(file)).expanduser() for file in identity_files),
            proxy_jump=options.get("ProxyJump"),
            host_keys=_host_key_config(options),
        )

    def jump_host_chain(
        self, name: str, *, depth: int, user: str | None = None, port: int | None = None, first: bool = True
    ) -> tuple[ProxyHop, ...]:
        """The hops to reach inventory jump host `name` and the jump host itself, outermost first.

        user and port come from a ProxyJump spec (user@host:port) and apply where the inventory set none;
        only the first hop of a chain follows its own via / ProxyJump, as OpenSSH and asyncssh do."""
        self._check_depth(depth)
        jump = self.inventory.jump_host(name)
        credentials = jump.credentials
        set_user = (
            credentials.username if credentials and _is_set(jump, "username", credentials.username, None) else None
        )
        set_keys = (
            credentials.key_files if credentials and _is_set(jump, "key_files", credentials.key_files, ()) else None
        )
        endpoint = self.endpoint(
            jump.host,
            port=jump.port if _is_set(jump, "port", jump.port, 22) else port,
            username=set_user if set_user is not None else user,
            key_files=set_keys,
            default_username=local_user(),
        )
        hop = ProxyHop(
            endpoint.host, endpoint.port, endpoint.username, endpoint.key_files, jump.name, endpoint.host_keys
        )
        if not first:
            return (hop,)
        if "via" in jump.explicit_fields or jump.via is not None:
            before = self.jump_host_chain(jump.via, depth=depth + 1) if jump.via else ()
        elif _names_itself(endpoint.proxy_jump, (jump.name, jump.host, endpoint.host)):
            before = ()
        else:
            before = self.proxy_jump_chain(endpoint.proxy_jump, depth=depth + 1)
        return (*before, hop)

    def proxy_jump_chain(self, spec: str | None, *, depth: int) -> tuple[ProxyHop, ...]:
        """The hops of a ProxyJump value such as `ops@bastion:2222,core-gw`, outermost first."""
        if not spec or spec.lower() == "none":
            return ()
        self._check_depth(depth)
        hops: list[ProxyHop] = []
        for index, part in enumerate(part.strip() for part in spec.split(",")):
            user, host, port = _split_jump(part)
            jump = self._jump_host_named(host)
            if jump is not None:
                hops.extend(self.jump_host_chain(jump.name, depth=depth + 1, user=user, port=port, first=index == 0))
                continue
            endpoint = self.endpoint(host, port=port, username=user, key_files=None, default_username=local_user())
            if index == 0 and not _names_itself(endpoint.proxy_jump, (host, endpoint.host)):
                hops.extend(self.proxy_jump_chain(endpoint.proxy_jump, depth=depth + 1))
            hops.append(
                ProxyHop(endpoint.host, endpoint.port, endpoint.username, endpoint.key_files, None, endpoint.host_keys)
            )
        return tuple(hops)

    def _jump_host_named(self, host: str) -> JumpHost | None:
        for jump in self.inventory.jump_hosts:
            if jump.name == host:
                return jump
        for jump in self.inventory.jump_hosts:
            if jump.host == host:
                return jump
        return None

    def _check_depth(self, depth: int) -> None:
        if depth > MAX_JUMP_HOPS:
            where = str(self.config_path or self.inventory.source or "inventory")
            raise InventoryError(
                [Problem(where, None, None, f"jump hosts lead to each other in a loop (over {MAX_JUMP_HOPS} hops)")]
            )


def _is_set(thing: Device | JumpHost, field: str, value: Any, default: Any) -> bool:
    """Whether the inventory set this field. Objects built in code carry no record: any non-default value counts."""
    if thing.explicit_fields:
        return field in thing.explicit_fields
    return value != default


def _names_itself(spec: str | None, names: tuple[str, ...]) -> bool:
    """A hop whose own ProxyJump starts with itself, as `Host *` + `ProxyJump bastion` gives the bastion:
    OpenSSH users exclude it with `Host * !bastion`; edgeops simply does not follow it."""
    if not spec or spec.lower() == "none":
        return False
    return _split_jump(spec.split(",")[0].strip())[1] in names


def _split_jump(part: str) -> tuple[str | None, str, int | None]:
    """`user@host:port`, `host`, `[2001:db8::1]:22` → (user, host, port)."""
    user, _, host = part.rpartition("@")
    port: int | None = None
    if host.startswith("["):
        address, _, rest = host[1:].partition("]")
        host = address
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
    elif host.count(":") == 1:
        name, _, port_text = host.partition(":")
        if port_text.isdigit():
            host, port = name, int(port_text)
    return (user or None), host, port


# -- asyncssh's parser, cached per file version and alias ----------------------------------------------------


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


_OPTIONS = (
    "Hostname",
    "User",
    "Port",
    "IdentityFile",
    "ProxyJump",
    "StrictHostKeyChecking",
    "UserKnownHostsFile",
    "GlobalKnownHostsFile",
)


@lru_cache(maxsize=1)
def _config_class() -> Any:
    """asyncssh's client config parser, taught StrictHostKeyChecking (asyncssh itself has no use for it and skips
    it; the other host key options it reads already)."""
    from asyncssh.config import SSHClientConfig, SSHConfig

    class _ClientConfig(SSHClientConfig):
        _handlers = {
            **SSHClientConfig._handlers,
            "stricthostkeychecking": ("StrictHostKeyChecking", SSHConfig._set_string),
        }

    return _ClientConfig


@lru_cache(maxsize=4096)
def _load(path: Path, mtime_ns: int, alias: str) -> dict[str, Any]:
    """The options that apply to `alias`, as asyncssh would compute them (mtime_ns keys the cache)."""
    config = _config_class().load(None, [path], False, False, False, local_user(), (), alias, ())
    return {option: config.get(option) for option in _OPTIONS if config.get(option) is not None}


def _host_key_config(options: dict[str, Any]) -> HostKeyConfig:
    def files(option: str) -> tuple[Path, ...] | None:
        value = options.get(option)
        return None if value is None else tuple(Path(str(file)).expanduser() for file in value)

    strict = options.get("StrictHostKeyChecking")
    return HostKeyConfig(
        strict_host_key_checking=str(strict).lower() if strict is not None else None,
        user_known_hosts=files("UserKnownHostsFile"),
        global_known_hosts=files("GlobalKnownHostsFile"),
    )


def local_user() -> str:
    """The login name OpenSSH would use by default: the local user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "root"


def _problem_from(path: Path, error: Exception) -> Problem:
    text = str(error)
    match = _PARSE_ERROR.match(text)
    if match:
        return Problem(match["file"], int(match["line"]), 1, f"ssh_config: {match['reason']}")
    return Problem(str(path), None, None, f"ssh_config: {text}")
