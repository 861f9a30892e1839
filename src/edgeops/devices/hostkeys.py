"""Host key checking like OpenSSH: the user's known_hosts (read-only) plus edgeops' own file, accept-new or strict."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import asyncssh

from edgeops.devices.errors import HostKeyMismatch, HostKeyRejected, HostKeyUnknown
from edgeops.devices.ssh_auth import LoginCallbacksClient

log = logging.getLogger(__name__)

DEFAULT_SSH_PORT = 22
USER_KNOWN_HOSTS = Path("~/.ssh/known_hosts")

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
    """What to do with a host whose key is not recorded anywhere."""

    ACCEPT_NEW = "accept-new"  # record it on first use (OpenSSH StrictHostKeyChecking=accept-new)
    STRICT = "strict"  # refuse it (OpenSSH StrictHostKeyChecking=yes)


def host_entry(host: str, port: int) -> str:
    """How OpenSSH names a host in known_hosts: `host` on port 22, `[host]:port` otherwise."""
    return host if port == DEFAULT_SSH_PORT else f"[{host}]:{port}"


def fingerprint(key: asyncssh.SSHKey) -> str:
    """The key's type and SHA256 fingerprint as OpenSSH prints them, e.g. `ED25519 SHA256:TBHs...`."""
    algorithm = key.algorithm.decode()
    label = _KEY_TYPE_LABELS.get(algorithm, algorithm)
    return f"{label} {key.get_fingerprint('sha256')}"


@dataclass(frozen=True)
class KnownHostEntry:
    """One key line of a known_hosts file."""

    patterns: str  # the host field exactly as written, e.g. "leaf1,10.0.0.1" or "|1|salt|hash"
    key: asyncssh.SSHKey
    source: Path
    line: int
    marker: str = ""  # "", "cert-authority" or "revoked"

    def matches(self, name: str) -> bool:
        matched = False
        for pattern in self.patterns.split(","):
            negated = pattern.startswith("!")
            if negated:
                pattern = pattern[1:]
            if _pattern_matches(pattern, name):
                if negated:
                    return False  # an explicit exclusion wins, as in OpenSSH
                matched = True
        return matched


def _pattern_matches(pattern: str, name: str) -> bool:
    if pattern.startswith("|1|"):
        try:
            _, _, salt_b64, digest_b64 = pattern.split("|")
            salt = base64.b64decode(salt_b64)
            digest = base64.b64decode(digest_b64)
        except (ValueError, binascii.Error):
            return False
        return hmac.compare_digest(hmac.new(salt, name.encode(), hashlib.sha1).digest(), digest)
    return _wildcard_regex(pattern).fullmatch(name.lower()) is not None


@functools.lru_cache(maxsize=1024)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    """OpenSSH host patterns know only `*` and `?`; `[` and `]` are literal (as in `[host]:port`)."""
    return re.compile(re.escape(pattern.lower()).replace(r"\*", ".*").replace(r"\?", "."))


def _is_literal(patterns: str) -> bool:
    return not any(c in patterns for c in "*?!|")


@dataclass
class _KnownHostsFile:
    """A parsed known_hosts file with an index of the literal host names for fast lookups."""

    path: Path
    signature: tuple[int, int] | None = None  # (mtime_ns, size) when parsed; None: missing
    line_count: int = 0
    by_name: dict[str, list[KnownHostEntry]] = field(default_factory=dict)
    by_pattern: list[KnownHostEntry] = field(default_factory=list)  # wildcards, negations, hashed names

    def add(self, entry: KnownHostEntry) -> None:
        if _is_literal(entry.patterns):
            for name in entry.patterns.split(","):
                self.by_name.setdefault(name.lower(), []).append(entry)
        else:
            self.by_pattern.append(entry)

    def lookup(self, name: str) -> list[KnownHostEntry]:
        found = list(self.by_name.get(name.lower(), ()))
        found += [entry for entry in self.by_pattern if entry.matches(name)]
        return found


def _stat_signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def parse_known_hosts(text: str, source: Path) -> list[KnownHostEntry]:
    """The key lines of a known_hosts file; lines we cannot read (unknown key types) are skipped."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        marker = ""
        if fields[0].startswith("@"):
            marker = fields[0][1:]
            fields = fields[1:]
        if len(fields) < 3:
            continue
        try:
            key = asyncssh.import_public_key(f"{fields[1]} {fields[2]}")
        except (asyncssh.KeyImportError, ValueError):
            log.debug("%s:%d: skipped a key edgeops cannot read", source, number)
            continue
        entries.append(KnownHostEntry(fields[0], key, source, number, marker))
    return entries


class KnownHosts:
    """The host keys edgeops trusts, and the policy for hosts it has never seen.

    The user's OpenSSH known_hosts files are read, never written. New keys go to edgeops' own file, appended one
    whole line per write under a lock (O_APPEND, so other processes appending at the same time cannot interleave
    with us). Every check runs on the event loop and consults in-memory indexes, so 500 first connections at once
    cost one small append each and see each other's keys immediately.
    """

    def __init__(
        self,
        own_file: Path,
        *,
        user_files: Sequence[Path] | None = None,
        policy: HostKeyPolicy = HostKeyPolicy.ACCEPT_NEW,
    ) -> None:
        self.own_file = own_file
        if user_files is None:
            user_files = (USER_KNOWN_HOSTS,)
        self.user_files = tuple(Path(p).expanduser() for p in user_files)
        self.policy = HostKeyPolicy(policy)
        self._files: dict[Path, _KnownHostsFile] = {}
        self._write_lock = threading.Lock()

    # -- reading ------------------------------------------------------------------------------------

    def _load(self, path: Path) -> _KnownHostsFile:
        cached = self._files.get(path)
        signature = _stat_signature(path)
        if cached is not None and cached.signature == signature:
            return cached
        parsed = _KnownHostsFile(path, signature)
        if signature is not None:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                log.warning("cannot read known_hosts file %s: %s", path, exc)
                text = ""
            for entry in parse_known_hosts(text, path):
                parsed.add(entry)
            parsed.line_count = len(text.splitlines())
        self._files[path] = parsed
        return parsed

    def entries_for(self, host: str, port: int = DEFAULT_SSH_PORT) -> list[KnownHostEntry]:
        """Every entry that names this host and port: the user's files first, then edgeops' own."""
        name = host_entry(host, port)
        found: list[KnownHostEntry] = []
        for path in (*self.user_files, self.own_file):
            found += self._load(path).lookup(name)
        return found

    def trusted_keys(self, host: str, port: int = DEFAULT_SSH_PORT) -> list[asyncssh.SSHKey]:
        return [e.key for e in self.entries_for(host, port) if not e.marker]

    # -- writing ------------------------------------------------------------------------------------

    def remember(self, host: str, port: int, key: asyncssh.SSHKey) -> bool:
        """Record a key for host:port in edgeops' own file; False if it was already recorded there."""
        name = host_entry(host, port)
        own = self._load(self.own_file)
        if any(entry.key == key and not entry.marker for entry in own.lookup(name)):
            return False
        key_text = " ".join(key.export_public_key("openssh").decode().split()[:2])
        line = f"{name} {key_text}\n".encode()
        with self._write_lock:
            self.own_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.own_file, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # a hand-edited file without a final newline must not swallow our line
                os.write(fd, line)  # one write of one whole line: concurrent appenders never interleave
            finally:
                os.close(fd)
            own.line_count += 1
            own.add(KnownHostEntry(name, key, self.own_file, own.line_count))
            # Our own append does not make the cache stale; a write by anyone else (a changed size) still does.
            own.signature = _stat_signature(self.own_file)
        log.info("recorded the host key of %s (%s) in %s", name, fingerprint(key), self.own_file)
        return True

    def forget(self, host: str, port: int = DEFAULT_SSH_PORT) -> int:
        """Remove host:port's entries from edgeops' own file (atomically: a new file renamed over the old one).

        For the user who verified a changed key. Returns how many lines were removed.
        """
        name = host_entry(host, port)
        with self._write_lock:
            try:
                lines = self.own_file.read_text(encoding="utf-8").splitlines(keepends=True)
            except FileNotFoundError:
                return 0
            kept = []
            removed = 0
            for line in lines:
                entries = parse_known_hosts(line, self.own_file)
                if entries and entries[0].matches(name):
                    removed += 1
                    continue
                kept.append(line)
            if removed:
                fd, temp_name = tempfile.mkstemp(dir=self.own_file.parent, prefix=".known_hosts.")
                try:
                    with os.fdopen(fd, "w", encoding="utf-8") as handle:
                        handle.writelines(kept)
                        handle.flush()
                        os.fsync(handle.fileno())
                    os.chmod(temp_name, 0o600)
                    os.replace(temp_name, self.own_file)
                except BaseException:
                    Path(temp_name).unlink(missing_ok=True)
                    raise
                self._files.pop(self.own_file, None)
        return removed

    # -- checking -----------------------------------------------------------------------------------

    def check(self, device: str, host: str, port: int = DEFAULT_SSH_PORT) -> HostKeyCheck:
        """A checker for one connection attempt to host:port."""
        return HostKeyCheck(self, device, host, port)

    @staticmethod
    def remove_hint(host: str, port: int, sources: Sequence[Path]) -> str:
        name = host_entry(host, port)
        commands = [f"ssh-keygen -R '{name}' -f {source}" for source in dict.fromkeys(sources)]
        return f"remove the old entry ({'; '.join(commands)}) and connect again."


class HostKeyVerdict(StrEnum):
    KNOWN = "known"  # the offered key is recorded for this host
    NEW = "new"  # nothing recorded, accepted and recorded (accept-new)
    MISMATCH = "mismatch"  # a different key is recorded: refused
    UNKNOWN = "unknown"  # nothing recorded, refused (strict)


class HostKeyCheck:
    """The host key decision for one connection attempt, wired into asyncssh before any credential is sent.

    asyncssh gets the recorded keys through `known_hosts` (so it negotiates the recorded key types and accepts
    a recorded key by itself) and asks `validate()` about any other key. After a refused handshake, `error()`
    turns the verdict into HostKeyMismatch or HostKeyUnknown.
    """

    def __init__(self, store: KnownHosts, device: str, host: str, port: int) -> None:
        self.store = store
        self.device = device
        self.host = host
        self.port = port
        self.entries = store.entries_for(host, port)
        self.verdict: HostKeyVerdict | None = None
        self.offered: asyncssh.SSHKey | None = None

    @property
    def recorded(self) -> list[KnownHostEntry]:
        return [e for e in self.entries if not e.marker]

    def known_hosts(self, _host: str, _addr: str, _port: int | None) -> tuple[list, list, list]:
        """asyncssh's known_hosts callable: (trusted host keys, trusted CA keys, revoked keys) for this host."""
        ca_keys = [e.key for e in self.entries if e.marker == "cert-authority"]
        revoked = [e.key for e in self.entries if e.marker == "revoked"]
        return [e.key for e in self.recorded], ca_keys, revoked

    def validate(self, key: asyncssh.SSHKey) -> bool:
        """Called by asyncssh for a key that is not among the recorded ones."""
        self.offered = key
        if any(e.key == key for e in self.recorded):  # defensive: asyncssh normally accepts these itself
            self.verdict = HostKeyVerdict.KNOWN
            return True
        if self.recorded:
            self.verdict = HostKeyVerdict.MISMATCH
            return False
        if self.store.policy is HostKeyPolicy.STRICT:
            self.verdict = HostKeyVerdict.UNKNOWN
            return False
        self.verdict = HostKeyVerdict.NEW
        self.store.remember(self.host, self.port, key)
        return True

    def error(self, detail: str = "") -> HostKeyRejected:
        """The error for a handshake asyncssh refused (HostKeyNotVerifiable, or no common recorded key type)."""
        name = host_entry(self.host, self.port)
        offered = fingerprint(self.offered) if self.offered is not None else None
        if self.verdict is HostKeyVerdict.UNKNOWN:
            return HostKeyUnknown(self.device, host_entry=name, offered=offered)
        if self.recorded:
            sources = [e.source for e in self.recorded]
            return HostKeyMismatch(
                self.device,
                host_entry=name,
                recorded=[fingerprint(e.key) for e in self.recorded],
                offered=offered,
                recorded_in=[f"{e.source}:{e.line}" for e in self.recorded],
                remove_hint=self.store.remove_hint(self.host, self.port, sources),
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
