"""SSH keys of the lab: a host key per device and per host-key generation, and a client key for key login.

Host keys are Ed25519 keys derived from one random secret made the first time a lab directory is used and kept
in it, so every device keeps its key across restarts (known_hosts stays valid), a `hostkey-change` fault serves a
different but equally stable key, and 500 devices cost one small file instead of 500 key files.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from pathlib import Path

import asyncssh
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edgeops.files import write_private

HOSTKEY_SECRET_FILE = "hostkey-secret"
CLIENT_KEY_FILE = "lab_client_key"
USER_CA_KEY_FILE = "lab_user_ca_key"
KNOWN_HOSTS_FILE = "known_hosts"
SECRET_BYTES = 32


def _ed25519_openssh(private: Ed25519PrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )


def known_hosts_pattern(host: str, port: int) -> str:
    """How OpenSSH writes a host in known_hosts: bare on port 22, `[host]:port` otherwise."""
    return host if port == 22 else f"[{host}]:{port}"


class HostKeyStore:
    """The keys of one lab directory, created on first use and reused afterwards."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        secret_path = directory / HOSTKEY_SECRET_FILE
        try:
            secret = secret_path.read_bytes()
        except FileNotFoundError:
            secret = b""
        if len(secret) != SECRET_BYTES:
            secret = secrets.token_bytes(SECRET_BYTES)
            write_private(secret_path, secret)
        self._secret = secret
        self._host_keys: dict[tuple[str, int], asyncssh.SSHKey] = {}
        self._client_key: asyncssh.SSHKey | None = None

    def host_key(self, name: str, generation: int = 0) -> asyncssh.SSHKey:
        """The host key `name` serves at `generation` (0 until a hostkey-change fault bumps it)."""
        cached = self._host_keys.get((name, generation))
        if cached is not None:
            return cached
        seed = hashlib.blake2b(f"{name}\0{generation}".encode(), key=self._secret, digest_size=32).digest()
        key = asyncssh.import_private_key(_ed25519_openssh(Ed25519PrivateKey.from_private_bytes(seed)))
        self._host_keys[(name, generation)] = key
        return key

    def public_key_line(self, name: str, generation: int = 0) -> str:
        """`ssh-ed25519 AAAA...`, as in a known_hosts entry."""
        return self.host_key(name, generation).export_public_key("openssh").decode().split("\n")[0].strip()

    @property
    def client_key_file(self) -> Path:
        """A private key the lab accepts for every device and the jump host (`ssh -i FILE`); made on first use."""
        path = self.directory / CLIENT_KEY_FILE
        if not path.exists():
            private = Ed25519PrivateKey.generate()
            write_private(path, _ed25519_openssh(private))
            public = private.public_key().public_bytes(
                serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
            )
            path.with_name(CLIENT_KEY_FILE + ".pub").write_bytes(public + b" edgeops-lab\n")
        return path

    def user_ca_key_file(self) -> Path:
        """The private key of a user certificate authority the lab trusts (`CertificateFile` logins); made on first
        use. Sign a client key with it (`ssh-keygen -s FILE -I id -n admin key.pub`) to log in with a certificate."""
        path = self.directory / USER_CA_KEY_FILE
        if not path.exists():
            write_private(path, _ed25519_openssh(Ed25519PrivateKey.generate()))
        return path

    def user_ca_public_key(self) -> asyncssh.SSHKey:
        return asyncssh.read_private_key(self.user_ca_key_file()).convert_to_public()

    def client_public_key(self) -> asyncssh.SSHKey:
        if self._client_key is None:
            self._client_key = asyncssh.read_private_key(self.client_key_file).convert_to_public()
        return self._client_key

    def write_known_hosts(self, path: Path, entries: Iterable[tuple[str, int, str, int]]) -> Path:
        """A known_hosts file for (host, port, key name, generation) entries, e.g. for a strict client."""
        lines = [
            f"{known_hosts_pattern(host, port)} {self.public_key_line(name, generation)}"
            for host, port, name, generation in entries
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
