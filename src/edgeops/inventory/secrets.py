"""Secret references (`env:`, `keyring:`, `prompt`, `file:`, literal): parsing them and resolving them at run time."""

from __future__ import annotations

import getpass
import os
import re
import stat
from collections.abc import Callable, MutableMapping
from pathlib import Path

from edgeops.inventory.model import SecretRef

SECRET_KINDS = ("env", "keyring", "prompt", "file", "literal")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

PromptCache = MutableMapping[str, str]
"""Answers already given to `prompt` references this run, keyed by the prompt's label ("" for plain `prompt`)."""


class SecretError(Exception):
    """A secret reference that cannot be resolved; the message never contains a secret."""


class SecretSyntaxError(ValueError):
    """A `password:` value that is not a valid reference; the message never contains the value."""


def parse_secret_ref(text: str, *, base_dir: Path) -> SecretRef:
    """Read a `password:` value. Relative `file:` paths resolve against base_dir (the inventory's folder).

    `env:NAME`, `keyring:SERVICE/USER`, `prompt` or `prompt:LABEL`, `file:PATH`, `literal:TEXT`;
    anything else is a literal password.
    """
    if text == "":
        raise SecretSyntaxError("empty password: remove the key, or use prompt, env:NAME, keyring:... or file:...")
    kind, sep, value = text.partition(":")
    if text == "prompt":
        return SecretRef("prompt")
    if not sep or kind not in SECRET_KINDS:
        return SecretRef("literal", text)
    if kind == "env":
        if not _ENV_NAME.match(value):
            raise SecretSyntaxError("env: needs an environment variable name, like env:EDGEOPS_PASSWORD")
        return SecretRef("env", value)
    if kind == "keyring":
        service, slash, user = value.rpartition("/")
        if not slash or not service or not user:
            raise SecretSyntaxError("keyring: needs SERVICE/USER, like keyring:edgeops/admin")
        return SecretRef("keyring", value)
    if kind == "file":
        if not value:
            raise SecretSyntaxError("file: needs a path, like file:~/.config/edgeops/password")
        return SecretRef("file", str(resolve_path(value, base_dir)))
    if kind == "prompt":
        return SecretRef("prompt", value)
    if not value:
        raise SecretSyntaxError("literal: needs the password after the colon")
    return SecretRef("literal", value)


def resolve_path(text: str, base_dir: Path) -> Path:
    """~ expands to the home folder; a relative path is relative to base_dir."""
    path = Path(text).expanduser()
    return path if path.is_absolute() else base_dir / path


def is_private(path: Path) -> bool:
    """True when no one but the owner may read or write the file (mode 0600 or stricter)."""
    if os.name != "posix":
        return True  # no POSIX permission bits to check; Windows ACLs are the user's responsibility
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def describe_mode(path: Path) -> str:
    return f"{stat.S_IMODE(path.stat().st_mode):04o}"


def resolve_secret(
    ref: SecretRef,
    *,
    prompt_cache: PromptCache,
    ask: Callable[[str], str] = getpass.getpass,
) -> str:
    """The secret a reference points to. `prompt` asks once per label and run, remembering the answer
    in prompt_cache; ask is getpass.getpass unless a caller (or a test) supplies another.
    Raises SecretError, whose message names the reference but never the secret."""
    if ref.kind == "literal":
        return ref.value
    if ref.kind == "env":
        value = os.environ.get(ref.value)
        if value is None:
            raise SecretError(f"environment variable {ref.value} is not set")
        return value
    if ref.kind == "file":
        return _read_secret_file(Path(ref.value))
    if ref.kind == "keyring":
        return _from_keyring(ref.value)
    if ref.kind == "prompt":
        if ref.value not in prompt_cache:
            label = ref.value or "devices"
            prompt_cache[ref.value] = ask(f"Password for {label}: ")
        return prompt_cache[ref.value]
    raise SecretError(f"unknown secret kind '{ref.kind}'")


def _read_secret_file(path: Path) -> str:
    try:
        if not is_private(path):
            raise SecretError(
                f"password file {path} may be read by others (mode {describe_mode(path)}); run: chmod 600 {path}"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SecretError(f"password file {path} does not exist") from None
    except OSError as error:
        raise SecretError(f"cannot read password file {path}: {error.strerror or error}") from None
    # One trailing newline is how editors and `echo` end a file, not part of the password.
    return text.removesuffix("\n").removesuffix("\r")


def _from_keyring(service_and_user: str) -> str:
    service, _, user = service_and_user.rpartition("/")
    try:
        import keyring  # optional: `pip install 'edgeops[keyring]'`
        from keyring.errors import KeyringError
    except ImportError:
        raise SecretError(
            "keyring: references need the 'keyring' package; install it with: pip install 'edgeops[keyring]'"
        ) from None
    try:
        value = keyring.get_password(service, user)
    except KeyringError as error:
        raise SecretError(f"keyring lookup of {service}/{user} failed: {error}") from None
    if value is None:
        raise SecretError(f"no password stored in the keyring for service '{service}', user '{user}'")
    return value
