"""How to reach a device over SSH: the inventory combined with ~/.ssh/config.

asyncssh applies the config file itself when it connects (its public `config=` option, with the host written as
the Host alias): Host and Match blocks, Include, identities, agent, certificates, ProxyCommand, algorithms,
timeouts and keepalives. edgeops reads the same file with asyncssh's parser beforehand for what it must know before
connecting: the address and port (host keys), the user, ProxyJump (jump hosts are shared by every device behind
them) and the host key options, and to list the options in effect that neither asyncssh nor edgeops honours."""

from __future__ import annotations

import getpass
import linecache
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


@dataclass(frozen=True)
class ConfigUse:
    """How asyncssh is to apply ssh_config when it connects to one host (its `config=` and `host=` options)."""

    alias: str  # what Host and Match blocks are matched against: the host as the inventory writes it
    files: tuple[Path, ...] = ()  # the ssh_config files; () applies none
    configured: frozenset[str] = frozenset()  # the options the files set for this host (asyncssh's spelling)
    # The file's ProxyCommand with its %-tokens expanded, when it applies (the inventory chose no route of its own).
    proxy_command: str | None = None


@dataclass(frozen=True)
class UnhonouredOption:
    """An ssh_config option in effect for a host that edgeops does not apply; line is None when not known."""

    option: str
    file: str
    line: int | None
    why: str

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.option}: {self.why}"


class ProxyHop(NamedTuple):
    """One SSH hop on the way to a device; the first three fields read as (host, port, user)."""

    host: str
    port: int
    username: str
    key_files: tuple[Path, ...] = ()
    jump_host: str | None = None  # the inventory JumpHost this hop is, when it is one (its credentials apply)
    host_keys: HostKeyConfig = HostKeyConfig()
    config: ConfigUse | None = None  # how asyncssh applies ssh_config to this hop


@dataclass(frozen=True)
class SshSettings:
    """Where and as whom to open the SSH session of one device, after ~/.ssh/config is applied.

    proxy_jump lists the hops outermost first: connect to proxy_jump[0], through it to proxy_jump[1], ...,
    and through the last hop to host:port. Callers pass host, port and user to asyncssh explicitly and hand it
    the config file with `config` (ConfigUse): asyncssh applies every other option of the file, and an explicit
    value wins over the file, as OpenSSH's command line does.
    """

    host: str
    port: int
    username: str
    key_files: tuple[Path, ...] = ()
    proxy_jump: tuple[ProxyHop, ...] = ()
    use_agent: bool = True
    host_keys: HostKeyConfig = HostKeyConfig()
    config: ConfigUse | None = None


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
    inventory_route = "jump" in device.explicit_fields or device.jump is not None
    if inventory_route:
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
        config=resolver.config_use(
            device.host,
            proxy_command=not inventory_route and not chain,
            username=endpoint.username,
            port=endpoint.port,
        ),
    )


def unhonoured_in(inventory: Inventory) -> dict[UnhonouredOption, tuple[str, ...]]:
    """Every option of the inventory's ssh_config that edgeops does not honour, with the devices and jump hosts
    (by inventory name) it is in effect for, in file order."""
    found: dict[UnhonouredOption, list[str]] = {}
    named = [(device.name, device.host) for device in inventory.devices]
    named += [(jump.name, jump.host) for jump in inventory.jump_hosts]
    for name, host in named:
        for option in unhonoured_options(inventory, host):
            found.setdefault(option, []).append(name)
    return {option: tuple(names) for option, names in found.items()}


def unhonoured_options(inventory: Inventory, host: str) -> list[UnhonouredOption]:
    """The options the inventory's ssh_config sets for `host` (an inventory host, the Host alias) that edgeops
    cannot honour: asyncssh skips options it does not know without a word, and edgeops sets a few itself."""
    path = inventory.ssh_config
    if path is None:
        return []
    try:
        parsed = _load(path, _mtime(path), host)
    except Exception:  # a broken file is reported as a problem by check_ssh_config
        return []
    return list(parsed.unhonoured)


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
            return _load(self.config_path, _mtime(self.config_path), alias).options
        except Exception as error:  # the file changed since the inventory was checked
            raise InventoryError([_problem_from(self.config_path, error)]) from None

    def config_use(self, alias: str, *, proxy_command: bool, username: str, port: int) -> ConfigUse:
        """What asyncssh is handed for `alias`; proxy_command: whether the file's ProxyCommand may be the route."""
        if self.config_path is None:
            return ConfigUse(alias)
        options = self.lookup(alias)
        command = None
        if proxy_command and options.get("ProxyCommand") is not None:
            # Parsed again with the user and port in use, so %r and %p expand to them, as asyncssh does.
            command = _proxy_command(self.config_path, _mtime(self.config_path), alias, username, port)
        return ConfigUse(alias, (self.config_path,), frozenset(options), command)

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
        inventory_route = "via" in jump.explicit_fields or jump.via is not None
        if not first:
            before: tuple[ProxyHop, ...] = ()
        elif inventory_route:
            before = self.jump_host_chain(jump.via, depth=depth + 1) if jump.via else ()
        elif _names_itself(endpoint.proxy_jump, (jump.name, jump.host, endpoint.host)):
            before = ()
        else:
            before = self.proxy_jump_chain(endpoint.proxy_jump, depth=depth + 1)
        # A hop after the first one is reached through the one before it: its own ProxyCommand does not apply.
        use = self.config_use(
            jump.host,
            proxy_command=first and not inventory_route and not before,
            username=endpoint.username,
            port=endpoint.port,
        )
        hop = ProxyHop(
            endpoint.host, endpoint.port, endpoint.username, endpoint.key_files, jump.name, endpoint.host_keys, use
        )
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
            before: tuple[ProxyHop, ...] = ()
            if index == 0 and not _names_itself(endpoint.proxy_jump, (host, endpoint.host)):
                before = self.proxy_jump_chain(endpoint.proxy_jump, depth=depth + 1)
            hops.extend(before)
            use = self.config_use(
                host, proxy_command=index == 0 and not before, username=endpoint.username, port=endpoint.port
            )
            hops.append(
                ProxyHop(
                    endpoint.host, endpoint.port, endpoint.username, endpoint.key_files, None, endpoint.host_keys, use
                )
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


# The options edgeops reads before connecting; asyncssh applies every option it knows itself, at connect time.
_OPTIONS = (
    "Hostname",
    "User",
    "Port",
    "IdentityFile",
    "ProxyJump",
    "ProxyCommand",
    "StrictHostKeyChecking",
    "UserKnownHostsFile",
    "GlobalKnownHostsFile",
    "Ciphers",
    "ServerAliveInterval",
    "ServerAliveCountMax",
)

# Options asyncssh parses that edgeops sets itself, so the file's value does not apply (the reason is reported).
_OVERRIDDEN = {
    "remotecommand": "edgeops opens the device's interactive CLI, not a command",
    "requesttty": "edgeops always asks for a terminal: the device's CLI needs one",
    "preferredauthentications": "edgeops tries publickey first, then keyboard-interactive and password with a "
    "password from the inventory",
    "hostkeyalias": "edgeops looks host keys up under the address it connects to",
}

# Options OpenSSH knows that change nothing for a client without a terminal of its own: not worth a warning.
_NO_EFFECT = frozenset(
    {
        "addkeystoagent",
        "batchmode",
        "checkhostip",
        "escapechar",
        "hashknownhosts",
        "ignoreunknown",
        "loglevel",
        "updatehostkeys",
        "usekeychain",
        "visualhostkey",
    }
)


class _Parsed(NamedTuple):
    options: dict[str, Any]
    unhonoured: tuple[UnhonouredOption, ...]


class _UnknownOptions(dict[str, Any]):
    """asyncssh's table of option handlers, answering for the options it lacks too: asyncssh looks each option of
    a matching block up in it (`_handlers[option]`) and skips the ones missing, so the lookup of a missing one is
    where it can be recorded, with its file and line, instead of vanishing."""

    def __missing__(self, option: str) -> tuple[str, Any]:
        return option, _record_unknown


def _record_unknown(config: Any, option: str, args: list[str]) -> None:
    path, line = str(getattr(config, "_path", "")), getattr(config, "_line_no", None)
    written = linecache.getline(path, line).strip() if line else ""
    name = re.split(r"[\s=]", written, maxsplit=1)[0] if written else option
    config.edgeops_unknown.append((name if name.lower() == option else option, path, line))
    args.clear()  # consumed: asyncssh reports values left over as "Extra data at end"


@lru_cache(maxsize=1)
def _config_class() -> Any:
    """asyncssh's client config parser, taught StrictHostKeyChecking (asyncssh itself has no use for it and skips
    it; the other host key options it reads already) and recording the options it does not know."""
    from asyncssh.config import SSHClientConfig, SSHConfig

    class _ClientConfig(SSHClientConfig):
        _handlers = _UnknownOptions(
            {
                **SSHClientConfig._handlers,
                "stricthostkeychecking": ("StrictHostKeyChecking", SSHConfig._set_string),
            }
        )

        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.edgeops_unknown: list[tuple[str, str, int | None]] = []

    return _ClientConfig


@lru_cache(maxsize=4096)
def _load(path: Path, mtime_ns: int, alias: str) -> _Parsed:
    """The options that apply to `alias`, as asyncssh computes them when it connects (mtime_ns keys the cache),
    and the options in effect that edgeops does not honour."""
    config = _config_class().load(None, [path], False, False, False, local_user(), (), alias, ())
    options = {option: config.get(option) for option in _OPTIONS if config.get(option) is not None}
    unhonoured: list[UnhonouredOption] = []
    for name, file, line in config.edgeops_unknown:
        if name.lower() not in _NO_EFFECT:
            unhonoured.append(UnhonouredOption(name, file, line, "not supported: edgeops ignores it"))
    for option, why in _OVERRIDDEN.items():
        value = config.get(_canonical(option))
        if value is not None:
            unhonoured.append(UnhonouredOption(_canonical(option), str(path), None, f"not applied: {why}"))
    return _Parsed(options, tuple(unhonoured))


@lru_cache(maxsize=1024)
def _proxy_command(path: Path, mtime_ns: int, alias: str, username: str, port: int) -> str | None:
    """The ProxyCommand for `alias` as asyncssh expands it when it connects as `username` to `port`."""
    config = _config_class().load(None, [path], False, False, False, local_user(), username, alias, port)
    command = config.get("ProxyCommand")
    return None if command is None or str(command).lower() == "none" else str(command)


def _canonical(option: str) -> str:
    """asyncssh's spelling of an option it knows, from its lower-case key."""
    from asyncssh.config import SSHClientConfig

    return str(SSHClientConfig._handlers[option][0])


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
