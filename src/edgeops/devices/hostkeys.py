"""Host key checking like OpenSSH: known_hosts read with asyncssh's reader, the policy strict / accept-new / ask, new
keys announced with their fingerprint and appended to edgeops' own file under a lock."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import inspect
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import asyncssh

from edgeops.devices.errors import HostKeyMismatch, HostKeyRejected, HostKeyUnknown
from edgeops.devices.ssh_auth import LoginCallbacksClient
from edgeops.files import write_private
from edgeops.inventory.ssh_config import HostKeyConfig

log = logging.getLogger(__name__)

DEFAULT_SSH_PORT = 22
# OpenSSH's defaults for UserKnownHostsFile and GlobalKnownHostsFile; files that do not exist are skipped.
USER_KNOWN_HOSTS = (Path("~/.ssh/known_hosts"), Path("~/.ssh/known_hosts2"))
GLOBAL_KNOWN_HOSTS = (Path("/etc/ssh/ssh_known_hosts"), Path("/etc/ssh/ssh_known_hosts2"))

_KEY_TYPE_LABELS = {
    "ssh-ed25519": "ED25519",
    "ssh-ed448": "ED448",
    "ssh-rsa": "RSA",
    "ssh-dss": "DSA",
    "ecdsa-sha2-nistp256": "ECDSA",
    "ecdsa-sha2-nistp384": "ECDSA",
    "ecdsa-sha2-nistp521": "ECDSA",
}


class HostKeyPolicy(StrEnum):
    """What to do with a host whose key is not recorded anywhere (OpenSSH's StrictHostKeyChecking)."""

    STRICT = "strict"  # refuse it (StrictHostKeyChecking yes)
    ACCEPT_NEW = "accept-new"  # record it on first use and announce it (StrictHostKeyChecking accept-new)
    ASK = "ask"  # ask the user; with nobody to ask, refuse it (StrictHostKeyChecking ask)

    @classmethod
    def from_ssh_config(cls, value: str | None) -> HostKeyPolicy | None:
        """The policy a StrictHostKeyChecking value asks for; None for no (or an unknown) value.

        `no`/`off` (accept any key, even a changed one) is read as accept-new: edgeops never connects to a host
        whose key changed."""
        if value is None:
            return None
        return _SSH_CONFIG_POLICIES.get(value.lower())


_SSH_CONFIG_POLICIES = {
    "yes": HostKeyPolicy.STRICT,
    "true": HostKeyPolicy.STRICT,
    "accept-new": HostKeyPolicy.ACCEPT_NEW,
    "no": HostKeyPolicy.ACCEPT_NEW,
    "off": HostKeyPolicy.ACCEPT_NEW,
    "false": HostKeyPolicy.ACCEPT_NEW,
    "ask": HostKeyPolicy.ASK,
}
DEFAULT_POLICY = HostKeyPolicy.ACCEPT_NEW  # the one default: what neither the settings nor ssh_config decide


@dataclass(frozen=True)
class HostKeyEvent:
    """A host key seen for the first time: asked about (ask) or recorded (accept-new, or a yes to the question)."""

    device: str
    host_entry: str  # the known_hosts name, e.g. "[10.0.0.1]:2222"
    fingerprint: str  # type and SHA256 fingerprint as OpenSSH prints them
    recorded_in: str = ""  # FILE:LINE of the appended line; empty while only asked about

    def describe(self) -> str:
        """One line for the user, like OpenSSH's `Permanently added ... to the list of known hosts`."""
        if self.recorded_in:
            return (
                f"new host key of {self.device} ({self.host_entry}) {self.fingerprint} recorded in {self.recorded_in}"
            )
        return f"the host key of {self.device} ({self.host_entry}) is not known: {self.fingerprint}"


HostKeyAnnouncer = Callable[[HostKeyEvent], None]
"""Told about every host key recorded on first use (`edgeops run` prints it to stderr, the console notifies)."""
HostKeyConfirm = Callable[[HostKeyEvent], "bool | Awaitable[bool]"]
"""Asks the user whether to trust a new host key (policy ask); True records it."""


def host_entry(host: str, port: int) -> str:
    """How OpenSSH names a host in known_hosts: `host` on port 22, `[host]:port` otherwise."""
    return host if port == DEFAULT_SSH_PORT else f"[{host}]:{port}"


def fingerprint(key: asyncssh.SSHKey) -> str:
    """The key's type and SHA256 fingerprint as OpenSSH prints them, e.g. `ED25519 SHA256:TBHs...`."""
    algorithm = key.algorithm.decode()
    label = _KEY_TYPE_LABELS.get(algorithm, algorithm)
    return f"{label} {key.get_fingerprint('sha256')}"


def key_line(name: str, key: asyncssh.SSHKey) -> str:
    """The known_hosts line OpenSSH writes for a new key (without a comment)."""
    return f"{name} {' '.join(key.export_public_key('openssh').decode().split()[:2])}\n"


@dataclass(frozen=True)
class HostKeyMatch:
    """What the known_hosts files say about one host: trusted keys, trusted CA keys, revoked keys."""

    trusted: tuple[asyncssh.SSHKey, ...] = ()
    ca_keys: tuple[asyncssh.SSHKey, ...] = ()
    revoked: tuple[asyncssh.SSHKey, ...] = ()

    def __add__(self, other: HostKeyMatch) -> HostKeyMatch:
        return HostKeyMatch(self.trusted + other.trusted, self.ca_keys + other.ca_keys, self.revoked + other.revoked)


def match_known_hosts(known: asyncssh.SSHKnownHosts, name: str) -> HostKeyMatch:
    """asyncssh's match for a known_hosts name exactly as OpenSSH looks it up.

    The name is passed already bracketed with no port: asyncssh would otherwise fall back to the port 22 entry for a
    host on another port, which OpenSSH does not do."""
    found = asyncssh.match_known_hosts(known, name, "", None)
    return HostKeyMatch(tuple(found[0]), tuple(found[1]), tuple(found[2]))


def _import_lines(text: str, path: Path) -> asyncssh.SSHKnownHosts:
    """asyncssh's reader stops at the first line it cannot parse; OpenSSH skips such a line, so we do too."""
    try:
        return asyncssh.import_known_hosts(text)
    except ValueError:
        pass
    good = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            asyncssh.import_known_hosts(line)
        except ValueError as error:
            log.warning("%s:%d: skipped a known_hosts line: %s", path, number, error)
            continue
        good.append(line)
    return asyncssh.import_known_hosts("\n".join(good))


@dataclass
class _LoadedFile:
    """One known_hosts file as asyncssh read it (and the lines edgeops appended since, loaded into the same index)."""

    path: Path
    signature: tuple[int, int, int] | None = None  # (inode, mtime_ns, size) when read; None: missing
    known: asyncssh.SSHKnownHosts = field(default_factory=asyncssh.SSHKnownHosts)
    line_count: int = 0
    # Each handshake looks its host up four times; asyncssh parses the name as an address on every lookup. A file
    # read again is a new _LoadedFile; a line appended for a name forgets that name's answer.
    answers: dict[str, HostKeyMatch] = field(default_factory=dict)

    def match(self, name: str) -> HostKeyMatch:
        answer = self.answers.get(name)
        if answer is None:
            answer = self.answers[name] = match_known_hosts(self.known, name)
        return answer

    def append(self, name: str, line: str) -> None:
        """A line for `name` that edgeops appended to this file."""
        self.known.load(line)  # asyncssh indexes literal names: a lookup stays a dict access
        self.line_count += 1  # a leading newline only ends the last line, already counted
        self.answers.pop(name, None)


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


class KnownHosts:
    """The host keys edgeops trusts, and the policy for hosts it has never seen.

    The user's and the system's known_hosts files are read, never written; new keys go to edgeops' own file. An
    append happens under an exclusive fcntl lock on that file after re-reading it, so two checks of the same host
    (in this process or in two processes) never both append: the second finds the first one's key. Within the
    process the lock is a threading.Lock held only while no coroutine can run (the decision and the append happen
    in asyncssh's synchronous callback), so it never blocks the event loop for more than one small read and write.
    """

    def __init__(
        self,
        own_file: Path,
        *,
        user_files: Sequence[Path] | None = None,
        global_files: Sequence[Path] | None = None,
        policy: HostKeyPolicy | str | None = None,
        on_new_key: HostKeyAnnouncer | None = None,
        confirm: HostKeyConfirm | None = None,
    ) -> None:
        """user_files / global_files / policy: None leaves each to the host's ssh_config, then OpenSSH's default.
        confirm: how to ask the user (policy ask); None: nobody can be asked, so ask refuses like strict."""
        self.own_file = own_file
        self.user_files = None if user_files is None else tuple(Path(p).expanduser() for p in user_files)
        self.global_files = None if global_files is None else tuple(Path(p).expanduser() for p in global_files)
        self.policy = None if policy is None else HostKeyPolicy(policy)
        self.on_new_key = on_new_key
        self.confirm = confirm
        self._files: dict[Path, _LoadedFile] = {}
        self._files_for: dict[tuple[Sequence[str | Path], Sequence[str | Path]], tuple[Path, ...]] = {}
        self._write_lock = threading.Lock()
        self._asking: dict[tuple[str, bytes], asyncio.Future[bool]] = {}
        self._declined: set[tuple[str, bytes]] = set()

    # -- which files and which policy apply to a host ----------------------------------------------------------------

    def policy_for(self, config: HostKeyConfig | None = None) -> HostKeyPolicy:
        """Our settings win, then the host's StrictHostKeyChecking, then the default (accept-new)."""
        if self.policy is not None:
            return self.policy
        from_config = HostKeyPolicy.from_ssh_config(config.strict_host_key_checking if config else None)
        return from_config or DEFAULT_POLICY

    def files_for(self, config: HostKeyConfig | None = None) -> tuple[Path, ...]:
        """The files consulted for a host, in OpenSSH's order (user, global), then edgeops' own."""
        user = self.user_files
        if user is None:
            user = config.user_known_hosts if config and config.user_known_hosts is not None else USER_KNOWN_HOSTS
        glob = self.global_files
        if glob is None:
            glob = config.global_known_hosts if config and config.global_known_hosts is not None else GLOBAL_KNOWN_HOSTS
        known = self._files_for.get((user, glob))
        if known is None:  # (worked out once per set of options: every handshake asks four times)
            files = [Path(p).expanduser() for p in (*user, *glob)]
            known = self._files_for[(user, glob)] = (
                *dict.fromkeys(p for p in files if p != self.own_file),
                self.own_file,
            )
        return known

    # -- reading ------------------------------------------------------------------------------------

    def _load(self, path: Path) -> _LoadedFile:
        cached = self._files.get(path)
        signature = _signature(path)
        if cached is not None and cached.signature == signature:
            return cached
        loaded = _LoadedFile(path, signature)
        if signature is not None:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                log.warning("cannot read known_hosts file %s: %s", path, exc)
                text = ""
            loaded.known = _import_lines(text, path)
            loaded.line_count = len(text.splitlines())
        self._files[path] = loaded
        return loaded

    def match(self, host: str, port: int = DEFAULT_SSH_PORT, config: HostKeyConfig | None = None) -> HostKeyMatch:
        """What the files that apply to this host say about host:port."""
        name = host_entry(host, port)
        result = HostKeyMatch()
        for path in self.files_for(config):
            loaded = self._load(path)
            # A missing or empty file trusts nothing; asyncssh's lookup would still parse the name as an address.
            if loaded.line_count:
                result += loaded.match(name)
        return result

    def trusted_keys(
        self, host: str, port: int = DEFAULT_SSH_PORT, config: HostKeyConfig | None = None
    ) -> list[asyncssh.SSHKey]:
        return list(self.match(host, port, config).trusted)

    def locate(
        self,
        host: str,
        port: int,
        keys: Sequence[asyncssh.SSHKey],
        config: HostKeyConfig | None = None,
        *,
        revoked: bool = False,
    ) -> list[str]:
        """FILE:LINE of every line that trusts (or revokes) one of these keys for host:port.

        asyncssh's reader keeps no line numbers, so each line is matched on its own; this runs only to explain a
        refusal."""
        name = host_entry(host, port)
        found = []
        for path in self.files_for(config):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                try:
                    matched = match_known_hosts(asyncssh.import_known_hosts(line), name)
                except ValueError:
                    continue
                if any(key in keys for key in (matched.revoked if revoked else matched.trusted)):
                    found.append(f"{path}:{number}")
        return found

    # -- writing ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked_own_file(self) -> Iterator[int]:
        """Our file open for appending under an exclusive lock, shared with other edgeops processes.

        forget() replaces the file by a rename: a lock taken on the replaced file is released and taken again on
        the file now at the path."""
        with self._write_lock:
            self.own_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            while True:
                fd = os.open(self.own_file, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    try:
                        same = os.fstat(fd).st_ino == os.stat(self.own_file).st_ino
                    except FileNotFoundError:
                        same = False
                    if same:
                        yield fd
                        return
                finally:
                    os.close(fd)  # closing releases the lock

    def accept(
        self, host: str, port: int, key: asyncssh.SSHKey, config: HostKeyConfig | None = None, *, device: str = ""
    ) -> HostKeyVerdict:
        """Record `key` for host:port unless a key is recorded for it by now: NEW (appended), KNOWN (this key was
        recorded meanwhile) or MISMATCH (another key was). Announces a NEW key."""
        name = host_entry(host, port)
        with self._locked_own_file() as fd:
            current = self.match(host, port, config)  # re-read under the lock: another check may have appended
            if key in current.revoked:
                return HostKeyVerdict.REVOKED
            if key in current.trusted:
                return HostKeyVerdict.KNOWN
            if current.trusted:
                return HostKeyVerdict.MISMATCH
            line = key_line(name, key).encode()
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # a hand-edited file without a final newline must not swallow our line
            os.write(fd, line)
            own = self._load(self.own_file) if self.own_file not in self._files else self._files[self.own_file]
            own.append(name, line.decode())
            # Our own append does not make the cache stale; a write by anyone else (a changed size) still does.
            own.signature = _signature(self.own_file)
            recorded_in = f"{self.own_file}:{own.line_count}"
        event = HostKeyEvent(device or name, name, fingerprint(key), recorded_in)
        log.info("%s", event.describe())
        if self.on_new_key is not None:
            self.on_new_key(event)
        return HostKeyVerdict.NEW

    def remember(self, host: str, port: int, key: asyncssh.SSHKey) -> bool:
        """Record a key for host:port in edgeops' own file; False if a key was recorded for it already."""
        return self.accept(host, port, key) is HostKeyVerdict.NEW

    def forget(self, host: str, port: int = DEFAULT_SSH_PORT) -> int:
        """Remove host:port's entries from edgeops' own file (atomically: a new file renamed over the old one).

        For the user who verified a changed key. Returns how many lines were removed.
        """
        name = host_entry(host, port)
        with self._locked_own_file():
            lines = self.own_file.read_text(encoding="utf-8").splitlines(keepends=True)
            kept = []
            for line in lines:
                try:
                    matched = match_known_hosts(asyncssh.import_known_hosts(line), name)
                except ValueError:
                    matched = HostKeyMatch()
                if not (matched.trusted or matched.ca_keys or matched.revoked):
                    kept.append(line)
            removed = len(lines) - len(kept)
            if removed:
                write_private(self.own_file, "".join(kept), durable=True)
                self._files.pop(self.own_file, None)
        return removed

    # -- asking -------------------------------------------------------------------------------------

    async def ask(self, event: HostKeyEvent, key: asyncssh.SSHKey) -> bool:
        """The user's answer about a new key; one question per host and key however many connections wait for it,
        and a key the user declined is not asked about again in this process."""
        if self.confirm is None:
            return False
        token = (event.host_entry, key.public_data)
        if token in self._declined:
            return False
        pending = self._asking.get(token)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._asking[token] = pending
            try:
                answer = self.confirm(event)
                if inspect.isawaitable(answer):
                    answer = await answer
                pending.set_result(bool(answer))
            except BaseException as error:
                pending.set_exception(error)
                raise
            finally:
                del self._asking[token]
            if not pending.result():
                self._declined.add(token)
        return await asyncio.shield(pending)

    # -- checking -----------------------------------------------------------------------------------

    def check(
        self, device: str, host: str, port: int = DEFAULT_SSH_PORT, config: HostKeyConfig | None = None
    ) -> HostKeyCheck:
        """A checker for one connection attempt to host:port (config: the host's ssh_config host key options)."""
        return HostKeyCheck(self, device, host, port, config)

    @staticmethod
    def remove_hint(host: str, port: int, sources: Sequence[str]) -> str:
        name = host_entry(host, port)
        files = dict.fromkeys(source.rpartition(":")[0] for source in sources)
        commands = [f"ssh-keygen -R '{name}' -f {path}" for path in files]
        return f"remove the old entry ({'; '.join(commands)}) and connect again."


class HostKeyVerdict(StrEnum):
    KNOWN = "known"  # the offered key is recorded for this host
    NEW = "new"  # nothing recorded, accepted and recorded (accept-new, or the user said yes)
    MISMATCH = "mismatch"  # a different key is recorded: refused
    UNKNOWN = "unknown"  # nothing recorded, refused (strict, or ask with nobody to ask or a no)
    ASK = "ask"  # nothing recorded, refused for now: the user is to be asked, then the connection made again
    REVOKED = "revoked"  # the key is marked @revoked: refused


class HostKeyCheck:
    """The host key decision for one connection attempt, wired into asyncssh before any credential is sent.

    asyncssh gets what the known_hosts files say through `known_hosts` (so it negotiates the recorded key types,
    accepts a recorded key or a certificate from a trusted CA by itself and refuses a revoked one) and asks
    `validate()` about any other key. After a refused handshake, `error()` turns the verdict into
    HostKeyMismatch, HostKeyUnknown or HostKeyRejected.
    """

    def __init__(
        self, store: KnownHosts, device: str, host: str, port: int, config: HostKeyConfig | None = None
    ) -> None:
        self.store = store
        self.device = device
        self.host = host
        self.port = port
        self.config = config
        self.policy = store.policy_for(config)
        self.seen = store.match(host, port, config)
        self.verdict: HostKeyVerdict | None = None
        self.offered: asyncssh.SSHKey | None = None

    @property
    def name(self) -> str:
        return host_entry(self.host, self.port)

    @property
    def recorded(self) -> list[asyncssh.SSHKey]:
        return list(self.seen.trusted)

    def known_hosts(self, _host: str, _addr: str, _port: int | None) -> tuple[list, list, list]:
        """asyncssh's known_hosts callable: (trusted host keys, trusted CA keys, revoked keys) for this host."""
        self.seen = self.store.match(self.host, self.port, self.config)
        return list(self.seen.trusted), list(self.seen.ca_keys), list(self.seen.revoked)

    def validate(self, key: asyncssh.SSHKey) -> bool:
        """Called by asyncssh for a key that is not among the trusted ones."""
        self.offered = key
        self.seen = self.store.match(self.host, self.port, self.config)
        if key in self.seen.revoked:
            self.verdict = HostKeyVerdict.REVOKED
        elif key in self.seen.trusted:  # recorded since the handshake started
            self.verdict = HostKeyVerdict.KNOWN
        elif self.seen.trusted:
            self.verdict = HostKeyVerdict.MISMATCH
        elif self.policy is HostKeyPolicy.STRICT:
            self.verdict = HostKeyVerdict.UNKNOWN
        elif self.policy is HostKeyPolicy.ASK:
            # asyncssh asks synchronously; the user's answer is awaited after this handshake (confirm()).
            self.verdict = HostKeyVerdict.ASK if self.store.confirm is not None else HostKeyVerdict.UNKNOWN
        else:
            self.verdict = self.store.accept(self.host, self.port, key, self.config, device=self.device)
            if self.verdict is HostKeyVerdict.MISMATCH:
                self.seen = self.store.match(self.host, self.port, self.config)
        return self.verdict in (HostKeyVerdict.KNOWN, HostKeyVerdict.NEW)

    async def confirm(self) -> bool:
        """After a handshake refused for policy ask: ask the user, record the key on a yes. True: connect again."""
        if self.verdict is not HostKeyVerdict.ASK or self.offered is None:
            return False
        key = self.offered
        if not await self.store.ask(HostKeyEvent(self.device, self.name, fingerprint(key)), key):
            self.verdict = HostKeyVerdict.UNKNOWN
            return False
        self.verdict = self.store.accept(self.host, self.port, key, self.config, device=self.device)
        if self.verdict is HostKeyVerdict.MISMATCH:
            self.seen = self.store.match(self.host, self.port, self.config)
        return self.verdict in (HostKeyVerdict.KNOWN, HostKeyVerdict.NEW)

    def error(self, detail: str = "") -> HostKeyRejected:
        """The error for a handshake asyncssh refused (HostKeyNotVerifiable, or no common recorded key type)."""
        name = self.name
        offered = fingerprint(self.offered) if self.offered is not None else None
        if self.verdict in (HostKeyVerdict.UNKNOWN, HostKeyVerdict.ASK):
            return HostKeyUnknown(self.device, host_entry=name, offered=offered)
        if self.verdict is HostKeyVerdict.REVOKED and self.offered is not None:
            where = self.store.locate(self.host, self.port, [self.offered], self.config, revoked=True)
            return HostKeyRejected(
                self.device,
                f"the host key of {self.device} ({name}) {offered} is revoked ({', '.join(where)}): connection refused",
            )
        if self.seen.trusted:
            recorded_in = self.store.locate(self.host, self.port, self.seen.trusted, self.config)
            return HostKeyMismatch(
                self.device,
                host_entry=name,
                recorded=[fingerprint(key) for key in self.seen.trusted],
                offered=offered,
                recorded_in=recorded_in,
                remove_hint=self.store.remove_hint(self.host, self.port, recorded_in),
            )
        return HostKeyRejected(self.device, f"the host key of {self.device} ({name}) was rejected: {detail}")

    def client_factory(
        self, on_lost: Callable[[Exception | None], None] | None = None
    ) -> Callable[[], asyncssh.SSHClient]:
        """An asyncssh client_factory whose clients consult this check (and report a lost connection)."""
        return lambda: HostKeyCheckingClient(self, on_lost)


class HostKeyCheckingClient(LoginCallbacksClient):
    """The asyncssh client side callbacks edgeops needs: host key validation and connection loss (and login, from
    LoginCallbacksClient: safe on loops that start tasks eagerly)."""

    def __init__(self, check: HostKeyCheck, on_lost: Callable[[Exception | None], None] | None = None) -> None:
        self._check = check
        self._on_lost = on_lost

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        return self._check.validate(key)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._on_lost is not None:
            self._on_lost(exc)
