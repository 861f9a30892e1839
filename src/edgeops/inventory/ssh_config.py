"""How to reach a device over SSH: the inventory combined with ~/.ssh/config and /etc/ssh/ssh_config.

asyncssh applies the config files itself when it connects (its public `config=` option, with the host written as
the Host alias): Host and Match blocks, Include, identities, agent, certificates, ProxyCommand, algorithms,
timeouts and keepalives; the first value obtained for an option wins, so the user's file wins over the system's.
edgeops reads the same files beforehand, through asyncssh's public connection options and a small reader of its
own (see "reading the files" below), for what it must know before connecting: the address and port (host keys),
the user, ProxyJump (jump hosts are shared by every device behind them) and the host key options, and to list the
options in effect that neither asyncssh nor edgeops honours."""

from __future__ import annotations

import fnmatch
import getpass
import os
import re
import shlex
import subprocess
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
    files: tuple[Path, ...] = ()  # the ssh_config files, the first value obtained wins; () applies none
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
    files = ssh_config_files(inventory)
    if not files:
        return []
    try:
        parsed = _load(files, _versions(files), host)
    except Exception:  # a broken file is reported as a problem by check_ssh_config
        return []
    return list(parsed.unhonoured)


def ssh_config_files(inventory: Inventory) -> tuple[Path, ...]:
    """The ssh_config files that apply to the inventory, first value obtained wins: its own (or the user's) file,
    then the system-wide one."""
    return tuple(path for path in (inventory.ssh_config, inventory.system_ssh_config) if path is not None)


def check_ssh_config(files: Path | tuple[Path, ...], hosts: Iterable[str] = ()) -> list[Problem]:
    """Problems asyncssh finds in OpenSSH config files (quoting, bad values, bad Match) for these hosts.

    asyncssh reads only the Host blocks that match the host it connects to, so the files are read once
    per distinct host, through asyncssh's public connection options, as a connection would; the problems a
    connection to one of them would meet are returned, at the file and line asyncssh names."""
    files = (files,) if isinstance(files, Path) else files
    problems: list[Problem] = []
    for host in dict.fromkeys(["edgeops-config-check", *hosts]):
        try:
            _load(files, _versions(files), host)
        except Exception as error:  # asyncssh raises ConfigParseError, ValueError or OSError here
            problem = _problem_from(files[0], error)
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
        self.files = ssh_config_files(inventory)

    def parsed(self, alias: str) -> _Parsed:
        try:
            return _load(self.files, _versions(self.files), alias)
        except Exception as error:  # a file changed since the inventory was checked
            raise InventoryError([_problem_from(self.files[0], error)]) from None

    def lookup(self, alias: str) -> dict[str, Any]:
        return self.parsed(alias).options if self.files else {}

    def config_use(self, alias: str, *, proxy_command: bool, username: str, port: int) -> ConfigUse:
        """What asyncssh is handed for `alias`; proxy_command: whether the files' ProxyCommand may be the route."""
        if not self.files:
            return ConfigUse(alias)
        parsed = self.parsed(alias)
        command = None
        if proxy_command and parsed.options.get("ProxyCommand") is not None:
            # Resolved again with the user and port in use, so %r and %p expand to them, as asyncssh does.
            try:
                command = _proxy_command(self.files, _versions(self.files), alias, username, port)
            except Exception as error:
                raise InventoryError([_problem_from(self.files[0], error)]) from None
        return ConfigUse(alias, self.files, parsed.configured, command)

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
            where = str(self.files[0] if self.files else self.inventory.source or "inventory")
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


# -- reading the files ------------------------------------------------------------------------------------
#
# asyncssh's public API applies the files at connect time (`config=`), and `SSHClientConnectionOptions` built with
# the same `config=` and `host=` exposes what it resolved: the address (HostName), port, user, ProxyJump and the
# ProxyCommand with its %-tokens expanded. edgeops takes those from it, so the address it checks host keys for
# and the route it shares agree with what asyncssh will do; building it also raises ConfigParseError for a file
# the connection would refuse. What the options object does not carry (the IdentityFile paths without loading
# the keys, StrictHostKeyChecking, which asyncssh skips, the user and global known_hosts files apart, which
# options a file set, and where each one is written) comes from _Reader, a small reader of OpenSSH's rules.
# asyncssh's parser classes are not public API: they change between releases, so edgeops does not use them.

SYSTEM_SSH_CONFIG = Path("/etc/ssh/ssh_config")  # read after the user's file, as OpenSSH does; tests replace it


def default_system_ssh_config() -> Path | None:
    """The system-wide ssh_config (SYSTEM_SSH_CONFIG) when it exists."""
    return SYSTEM_SSH_CONFIG if SYSTEM_SSH_CONFIG.is_file() else None


def _versions(files: tuple[Path, ...]) -> tuple[int, ...]:
    """Each file's mtime: a changed file is read again (the caches below are keyed by it)."""
    versions = []
    for path in files:
        try:
            versions.append(path.stat().st_mtime_ns)
        except OSError:
            versions.append(0)
    return tuple(versions)


# The client options asyncssh's documentation lists as supported ("Supported client config options"); it skips
# every other keyword of a matching block without a word.
_ASYNCSSH_OPTIONS = frozenset(
    option.lower()
    for option in [
        "Host",
        "Match",
        "Include",
        "AddressFamily",
        "BindAddress",
        "CanonicalDomains",
        "CanonicalizeFallbackLocal",
        "CanonicalizeHostname",
        "CanonicalizeMaxDots",
        "CanonicalizePermittedCNAMEs",
        "CASignatureAlgorithms",
        "CertificateFile",
        "ChallengeResponseAuthentication",
        "Ciphers",
        "Compression",
        "ConnectTimeout",
        "EnableSSHKeySign",
        "ForwardAgent",
        "ForwardX11Trusted",
        "GlobalKnownHostsFile",
        "GSSAPIAuthentication",
        "GSSAPIDelegateCredentials",
        "GSSAPIKeyExchange",
        "HostbasedAuthentication",
        "HostKeyAlgorithms",
        "Hostname",
        "HostKeyAlias",
        "IdentitiesOnly",
        "IdentityAgent",
        "IdentityFile",
        "KbdInteractiveAuthentication",
        "KexAlgorithms",
        "MACs",
        "PasswordAuthentication",
        "PKCS11Provider",
        "PreferredAuthentications",
        "Port",
        "ProxyCommand",
        "ProxyJump",
        "PubkeyAuthentication",
        "RekeyLimit",
        "RemoteCommand",
        "RequestTTY",
        "SendEnv",
        "ServerAliveCountMax",
        "ServerAliveInterval",
        "SetEnv",
        "Tag",
        "TCPKeepAlive",
        "User",
        "UserKnownHostsFile",
    ]
)

# Options asyncssh applies that edgeops sets itself, so the file's value does not apply (the reason is reported).
_OVERRIDDEN = {
    "RemoteCommand": "edgeops opens the device's interactive CLI, not a command",
    "RequestTTY": "edgeops always asks for a terminal: the device's CLI needs one",
    "PreferredAuthentications": "edgeops tries publickey first, then keyboard-interactive and password with a "
    "password from the inventory",
    "HostKeyAlias": "edgeops looks host keys up under the address it connects to",
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

# The options whose values do not matter to edgeops but whose presence does (ssh_config_options leaves them to
# asyncssh when a file sets them), in asyncssh's spelling.
_PRESENCE = {
    "ciphers": "Ciphers",
    "serveraliveinterval": "ServerAliveInterval",
    "serveralivecountmax": "ServerAliveCountMax",
}


class _Line(NamedTuple):
    """One option line in effect for a host: the keyword as written, its arguments, and where it is."""

    keyword: str
    args: tuple[str, ...]
    file: Path
    line: int


class _Reader:
    """Which lines of OpenSSH config files apply to one host, by OpenSSH's rules as asyncssh implements them:
    the files in order, Include (relative patterns under ~/.ssh, as asyncssh reads them), `Host` patterns against
    the host as written, `Match all|host|originalhost|user|localuser|exec|final|canonical|tagged` and `!`.
    `Match final` counts as matching (the final pass is the one asyncssh applies); `canonical`, `localnetwork`,
    `address` and `localaddress` do not (edgeops does not canonicalize names nor know the address beforehand).
    It keeps every line that applies, in order: the first value obtained for an option is the one in effect.
    Problems (quoting, values) are not its to report: asyncssh's options raise them first."""

    def __init__(self, alias: str, username: str | None) -> None:
        self.alias = alias
        self.username = username
        self.lines: list[_Line] = []
        self._matching = True

    def first(self, keyword: str) -> _Line | None:
        keyword = keyword.lower()
        return next((line for line in self.lines if line.keyword.lower() == keyword), None)

    def read(self, path: Path) -> None:
        self._matching = True
        with path.open(encoding="utf-8", errors="replace") as file:
            for number, text in enumerate(file, start=1):
                words = _split_config_line(text)
                if not words:
                    continue
                keyword, args = words[0], words[1:]
                lowered = keyword.lower()
                if lowered == "host":
                    self._matching = _patterns_match(",".join(args), self.alias)
                elif lowered == "match":
                    self._matching = self._match(args)
                elif not self._matching:
                    continue
                elif lowered == "include":
                    self._include(args)
                else:
                    self.lines.append(_Line(keyword, tuple(args), path, number))
        self._matching = True

    def _include(self, patterns: list[str]) -> None:
        for pattern in patterns:
            path = Path(pattern).expanduser()
            if path.anchor:
                base, glob = Path(path.anchor), str(Path(*path.parts[1:]))
            else:
                base, glob = Path("~", ".ssh").expanduser(), pattern
            for included in sorted(found for found in base.glob(glob) if found.is_file()):
                self.read(included)
        self._matching = True  # an Include inside a block ends the block's scope, as in asyncssh

    def _match(self, args: list[str]) -> bool:
        matching = True
        words = list(args)
        while words:
            criterion = words.pop(0).lower()
            negated = criterion.startswith("!")
            criterion = criterion.lstrip("!")
            if criterion in ("all", "final", "canonical"):
                result = criterion != "canonical"
            else:
                pattern = words.pop(0) if words else ""
                if criterion == "exec":
                    # OpenSSH and asyncssh run it too; only while the criteria before it still match.
                    result = matching and _exec_succeeds(pattern)
                else:
                    value = self._match_value(criterion)
                    result = value is not None and _patterns_match(pattern, value)
            if result == negated:
                matching = False
        return matching

    def _match_value(self, criterion: str) -> str | None:
        hostname = self.first("hostname")
        user = self.first("user")
        tag = self.first("tag")
        return {
            "host": _expand_hostname(hostname.args[0], self.alias) if hostname and hostname.args else self.alias,
            "originalhost": self.alias,
            "user": self.username or (user.args[0] if user and user.args else local_user()),
            "localuser": local_user(),
            "tagged": tag.args[0] if tag and tag.args else "",
        }.get(criterion)


def _split_config_line(text: str) -> list[str]:
    """A config line's words, `Keyword=value` and `Keyword = value` split as OpenSSH does; [] for none."""
    text = text.strip()
    if not text or text.startswith("#"):
        return []
    try:
        words = shlex.split(text)
    except ValueError:
        return []  # asyncssh reports the quoting (check_ssh_config)
    if not words:
        return []
    first, rest = words[0], words[1:]
    if "=" in first:
        first, _, value = first.partition("=")
        rest = ([value] if value else []) + rest
    elif rest and rest[0].startswith("="):
        rest = ([rest[0][1:]] if len(rest[0]) > 1 else []) + rest[1:]
    return [first, *rest]


def _patterns_match(patterns: str, value: str) -> bool:
    """OpenSSH's pattern lists: comma-separated wildcards, `!` negates; one positive match and no negative one."""
    positive = negative = False
    for pattern in patterns.split(","):
        negate = pattern.startswith("!")
        escaped = "".join("[[]" if char == "[" else "[]]" if char == "]" else char for char in pattern.lstrip("!"))
        if fnmatch.fnmatch(value, escaped):
            if negate:
                negative = True
            else:
                positive = True
    return positive and not negative


def _expand_hostname(value: str, alias: str) -> str:
    return value.replace("%%", "\0").replace("%h", alias).replace("\0", "%")


def _exec_succeeds(command: str) -> bool:
    completed = subprocess.run(
        command, shell=True, check=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return completed.returncode == 0


def _connection_options(
    files: tuple[Path, ...], alias: str, username: str | None = None, port: int | None = None
) -> Any:
    """asyncssh's public connection options for `alias` with these files, as a connection resolves them.

    Nothing is loaded that the answer does not need: no keys, agent identities or X.509 certificates.
    Raises asyncssh.ConfigParseError (with the file and line), ValueError or OSError for a file it refuses."""
    import asyncssh

    given: dict[str, Any] = {}
    if username is not None:
        given["username"] = username
    if port is not None:
        given["port"] = port
    return asyncssh.SSHClientConnectionOptions(
        config=[str(path) for path in files],
        host=alias,
        client_keys=None,
        agent_identities=None,
        client_host_keysign=False,
        x509_trusted_certs=None,
        x509_trusted_cert_paths=[],
        **given,
    )


class _Parsed(NamedTuple):
    options: dict[str, Any]  # what edgeops reads, in asyncssh's spelling: Hostname, User, Port, IdentityFile...
    configured: frozenset[str]  # the options of `options` and _PRESENCE the files set for the host
    unhonoured: tuple[UnhonouredOption, ...]


@lru_cache(maxsize=4096)
def _load(files: tuple[Path, ...], versions: tuple[int, ...], alias: str) -> _Parsed:
    """The options that apply to `alias`, as asyncssh resolves them when it connects (versions keys the cache),
    and the options in effect that edgeops does not honour."""
    resolved = _connection_options(files, alias)
    reader = _Reader(alias, None)
    for path in files:
        reader.read(path)
    written = {line.keyword.lower() for line in reader.lines}
    options: dict[str, Any] = {}
    if "hostname" in written or resolved.host != alias:
        options["Hostname"] = resolved.host
    if "user" in written:
        options["User"] = resolved.username
    if "port" in written:
        options["Port"] = resolved.port
    if resolved.tunnel is not None:
        options["ProxyJump"] = str(resolved.tunnel)
    if resolved.proxy_command:
        options["ProxyCommand"] = shlex.join(resolved.proxy_command)
    tokens = {"h": resolved.host, "n": alias, "p": str(resolved.port), "r": resolved.username, "u": local_user()}
    identities = [line.args[0] for line in reader.lines if line.keyword.lower() == "identityfile" and line.args]
    if identities:
        options["IdentityFile"] = [_expand_tokens(path, tokens) for path in identities if path.lower() != "none"]
    for keyword in ("StrictHostKeyChecking", "UserKnownHostsFile", "GlobalKnownHostsFile"):
        line = reader.first(keyword)
        if line is not None and line.args:
            none = len(line.args) == 1 and line.args[0].lower() == "none"
            options[keyword] = line.args[0] if keyword == "StrictHostKeyChecking" else [] if none else list(line.args)
    configured = set(options) | {_PRESENCE[keyword] for keyword in written if keyword in _PRESENCE}
    return _Parsed(options, frozenset(configured), _unhonoured(reader.lines))


def _unhonoured(lines: list[_Line]) -> tuple[UnhonouredOption, ...]:
    """The unknown options in file order (every line), then the ones edgeops overrides (where first set)."""
    found: list[UnhonouredOption] = []
    for line in lines:
        lowered = line.keyword.lower()
        if lowered not in _ASYNCSSH_OPTIONS and lowered not in _NO_EFFECT and lowered != "stricthostkeychecking":
            found.append(UnhonouredOption(line.keyword, str(line.file), line.line, "not supported: edgeops ignores it"))
    for option, why in _OVERRIDDEN.items():
        first = next((line for line in lines if line.keyword.lower() == option.lower()), None)
        if first is not None and not (first.args and first.args[0].lower() == "none"):
            found.append(UnhonouredOption(option, str(first.file), first.line, f"not applied: {why}"))
    return tuple(found)


def _expand_tokens(value: str, tokens: dict[str, str]) -> str:
    """OpenSSH's %-tokens and ${VARIABLE}s in a path, as asyncssh expands them in IdentityFile."""
    value = re.sub(r"\$\{(\w+)\}", lambda match: os.environ.get(match[1], match[0]), value)
    home = str(Path("~").expanduser())
    return re.sub(r"%(.)", lambda match: {**tokens, "d": home, "%": "%"}.get(match[1], match[0]), value)


@lru_cache(maxsize=1024)
def _proxy_command(
    files: tuple[Path, ...], versions: tuple[int, ...], alias: str, username: str, port: int
) -> str | None:
    """The ProxyCommand for `alias` as asyncssh expands it when it connects as `username` to `port`."""
    command = _connection_options(files, alias, username, port).proxy_command
    return shlex.join(command) if command else None


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
