"""Typed inventory values read from YAML (text, ports, paths, platforms, secrets), mistakes logged."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from edgeops.inventory.model import SecretRef
from edgeops.inventory.platform_names import platform_from_alias
from edgeops.inventory.problems import Position, ProblemLog, did_you_mean, one_of
from edgeops.inventory.secrets import (
    SecretSyntaxError,
    describe_mode,
    is_private,
    parse_secret_ref,
    resolve_path,
)
from edgeops.platforms import GnmiTls, Platform

DEFAULT_GNMI_PORT: Final = 57400


class _Invalid:
    """The value was wrong and a problem has been logged; the field is left out."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Final = _Invalid()

_DOTTED_NUMBERS = re.compile(r"^[\d.]+$")


@dataclass(frozen=True)
class Located:
    """A typed value and where it was written (a group's value keeps the group's position)."""

    value: Any
    where: Position


class ValueReader:
    """Converts raw YAML values of one file into typed values, logging each mistake with its position.

    base_dir resolves relative paths (the file's folder); private says whether the file is mode 0600,
    the one case where a literal password may be written in it.
    """

    def __init__(self, log: ProblemLog, *, file: str, base_dir: Path, private: bool) -> None:
        self.log = log
        self.file = file
        self.base_dir = base_dir
        self.private = private

    def problem(self, where: Position, message: str) -> _Invalid:
        self.log.add(where, message)
        return INVALID

    # -- scalar kinds -------------------------------------------------------------------------------------

    def text(self, raw: Any, where: Position, field: str) -> str | _Invalid:
        if not isinstance(raw, str):
            quote = "; quote it" if isinstance(raw, int | float) and not isinstance(raw, bool) else ""
            return self.problem(where, f"{field} must be text, got {_kind_of(raw)}{quote}")
        value = str(raw).strip()
        if not value:
            return self.problem(where, f"{field} is empty")
        return value

    def name(self, raw: Any, where: Position, field: str) -> str | _Invalid:
        """A name others refer to (device, site code, group, jump host): text without spaces."""
        value = self.text(raw, where, field)
        if isinstance(value, str) and any(char.isspace() for char in value):
            return self.problem(where, f"{field} '{value}' contains spaces; names are single words like alc-leaf01")
        return value

    def optional_name(self, raw: Any, where: Position, field: str) -> str | _Invalid | None:
        return None if raw is None else self.name(raw, where, field)

    def host(self, raw: Any, where: Position, field: str) -> str | _Invalid:
        value = self.name(raw, where, field)
        if not isinstance(value, str):
            return value
        if _DOTTED_NUMBERS.match(value) or ":" in value:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                return self.problem(where, f"{field} '{value}' is not a valid IP address")
        return value

    def port(self, raw: Any, where: Position, field: str) -> int | _Invalid:
        number: int | None = None
        if (isinstance(raw, int) and not isinstance(raw, bool)) or (isinstance(raw, str) and raw.strip().isdigit()):
            number = int(raw)
        if number is None:
            return self.problem(where, f"{field} must be a port number (1..65535), got {_kind_of(raw)}")
        if not 1 <= number <= 65535:
            return self.problem(where, f"{field} {number} is not a valid port (1..65535)")
        return number

    def optional_port(self, raw: Any, where: Position, field: str) -> int | _Invalid | None:
        if raw is None or raw is False:
            return None
        return self.port(raw, where, field)

    def gnmi_switch(self, raw: Any, where: Position, field: str) -> int | _Invalid | None:
        """`gnmi: false` (or null) means the device offers no gNMI; `gnmi: true` means the default port."""
        if raw is None or raw is False:
            return None
        if raw is True:
            return DEFAULT_GNMI_PORT
        return self.problem(where, f"{field} must be true or false (use gnmi_port for a port number)")

    def boolean(self, raw: Any, where: Position, field: str) -> bool | _Invalid:
        if isinstance(raw, bool):
            return raw
        return self.problem(where, f"{field} must be true or false, got {_kind_of(raw)}")

    def platform(self, raw: Any, where: Position, field: str) -> Platform | _Invalid:
        value = self.text(raw, where, field)
        if not isinstance(value, str):
            return value
        try:
            return Platform(value)
        except ValueError:
            pass
        choices = [platform.value for platform in Platform]
        alias = platform_from_alias(value)
        if alias is not None:
            return self.problem(where, f"unknown platform '{value}': edgeops calls it '{alias.value}'")
        return self.problem(
            where, f"unknown platform '{value}'{did_you_mean(value, choices)}; expected one of {one_of(choices)}"
        )

    def gnmi_tls(self, raw: Any, where: Position, field: str) -> GnmiTls | _Invalid:
        value = self.text(raw, where, field)
        if not isinstance(value, str):
            return value
        try:
            return GnmiTls(value)
        except ValueError:
            choices = [mode.value for mode in GnmiTls]
            return self.problem(
                where,
                f"unknown {field} value '{value}'{did_you_mean(value, choices)}; expected one of {one_of(choices)}",
            )

    def path(self, raw: Any, where: Position, field: str) -> Path | _Invalid:
        value = self.text(raw, where, field)
        return value if isinstance(value, _Invalid) else resolve_path(value, self.base_dir)

    def optional_path(self, raw: Any, where: Position, field: str) -> Path | _Invalid | None:
        return None if raw is None else self.path(raw, where, field)

    def optional_text(self, raw: Any, where: Position, field: str) -> str | _Invalid | None:
        return None if raw is None else self.text(raw, where, field)

    # -- lists --------------------------------------------------------------------------------------------

    def text_list(self, raw: Any, where: Position, field: str) -> tuple[str, ...] | _Invalid:
        """A list of words; a single word may be written without brackets."""
        items = self._items(raw, where, field)
        if isinstance(items, _Invalid):
            return items
        values = [self.text(item, where, f"each item of {field}") for item in items]
        if any(isinstance(value, _Invalid) for value in values):
            return INVALID
        return tuple(str(value) for value in values)

    def path_list(self, raw: Any, where: Position, field: str) -> tuple[Path, ...] | _Invalid:
        texts = self.text_list(raw, where, field)
        if isinstance(texts, _Invalid):
            return texts
        return tuple(resolve_path(text, self.base_dir) for text in texts)

    def _items(self, raw: Any, where: Position, field: str) -> list[Any] | _Invalid:
        if raw is None:
            return []
        if isinstance(raw, str):
            return [raw]
        if isinstance(raw, list):
            return list(raw)
        return self.problem(where, f"{field} must be a list, got {_kind_of(raw)}")

    # -- secrets ------------------------------------------------------------------------------------------

    def secret(self, raw: Any, where: Position, field: str) -> SecretRef | _Invalid | None:
        """A password reference; a literal is refused unless this file is readable only by its owner."""
        if raw is None:
            return None
        if not isinstance(raw, str):
            # Never echo the value: it is meant to be a password.
            return self.problem(where, f"{field} must be text; quote it")
        try:
            ref = parse_secret_ref(str(raw), base_dir=self.base_dir)
        except SecretSyntaxError as error:
            return self.problem(where, f"{field}: {error}")
        if ref.kind == "literal" and not self.private:
            return self.problem(where, self._literal_refused(field))
        if ref.kind == "file":
            secret_file = Path(ref.value)
            # A missing file is reported when the secret is used: the inventory may be checked elsewhere.
            if secret_file.is_file() and not is_private(secret_file):
                return self.problem(
                    where,
                    f"{field}: password file {secret_file} may be read by others "
                    f"(mode {describe_mode(secret_file)}); run: chmod 600 {secret_file}",
                )
        return ref

    def _literal_refused(self, field: str) -> str:
        try:
            mode = f"mode {describe_mode(Path(self.file))}"
        except OSError:
            mode = "its mode is unknown"
        return (
            f"literal {field} refused: {self.file} may be read by others ({mode}); write a reference "
            f"(env:NAME, keyring:SERVICE/USER, file:PATH or prompt) or make the file private: chmod 600 {self.file}"
        )


Converter = Callable[[ValueReader, Any, Position, str], Any]


def _kind_of(raw: Any) -> str:
    if raw is None:
        return "nothing"
    if isinstance(raw, bool):
        return f"boolean {str(raw).lower()}"
    if isinstance(raw, int | float):
        return f"number {raw}"
    if isinstance(raw, str):
        return f"text '{raw}'"
    if isinstance(raw, dict):
        return "a mapping"
    if isinstance(raw, list):
        return "a list"
    return type(raw).__name__
