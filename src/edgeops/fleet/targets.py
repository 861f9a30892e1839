"""Target expressions: which devices a command goes to (`site:alcala role:leaf`, `*-gw*`, `all`)."""

from __future__ import annotations

import difflib
import fnmatch
import ipaddress
import re
import shlex
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from edgeops.inventory.model import Device, Inventory
from edgeops.platforms import KNOWN_ROLES, Platform

KEYS = ("site", "role", "platform", "model", "name", "tag", "host")
NEGATION_PREFIXES = ("!", "-")
_GLOB_CHARACTERS = frozenset("*?[")
# Short spellings people type for a platform; the canonical names are the Platform values.
_PLATFORM_SYNONYMS = {"srl": Platform.SRLINUX, "sr-linux": Platform.SRLINUX, "md-cli": Platform.SROS}
# How many known values an error lists before it says "and N more".
_MAX_LISTED = 20


class TargetProblem(StrEnum):
    """What is wrong with a target expression: the machine code a TargetError carries beside its message."""

    SYNTAX = "syntax"  # the expression cannot be read (empty, unbalanced quotes, `site=x`, a bad network, ...)
    UNKNOWN_KEY = "unknown-key"  # a key that is not one of KEYS
    UNKNOWN_VALUE = "unknown-value"  # a site, role, tag, platform, model, device or host no device has
    NO_MATCH = "no-match"  # every value is known, but together they select no device


class TargetError(ValueError):
    """A target expression that cannot be used: `code` says what is wrong (callers branch on it), the message says
    how to fix it (for a person)."""

    def __init__(self, message: str, code: TargetProblem) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class TargetTerm:
    """One term: `key:value[,value...]`, a bare name or glob (key "name"), or `all` (key "all")."""

    key: str
    values: tuple[str, ...] = ()
    negated: bool = False

    def describe(self) -> str:
        prefix = "!" if self.negated else ""
        if self.key == "all":
            return prefix + "all"
        return f"{prefix}{self.key}:{','.join(_quote(value) for value in self.values)}"


@dataclass(frozen=True)
class TargetExpression:
    """A parsed target expression.

    Positive terms with the same key OR together, terms with different keys AND together,
    and a device matching any negated term is left out.
    """

    text: str
    terms: tuple[TargetTerm, ...]

    def describe(self) -> str:
        """The expression in canonical form, for progress lines and error messages."""
        return " ".join(term.describe() for term in self.terms)

    def __str__(self) -> str:
        return self.describe()

    def select(self, inventory: Inventory) -> tuple[Device, ...]:
        """The matching devices in inventory order; TargetError if a value is unknown or nothing matches."""
        matchers = {id(term): _term_matcher(term, inventory) for term in self.terms}
        groups = self._positive_groups()
        selected = list(inventory.devices)
        described: list[str] = []
        for key, terms in groups:
            narrowed = [device for device in selected if any(matchers[id(term)](device) for term in terms)]
            if not narrowed:
                raise TargetError(
                    self._empty_message(key, terms, selected, described, inventory), TargetProblem.NO_MATCH
                )
            selected = narrowed
            described.extend(term.describe() for term in terms)
        negated = [term for term in self.terms if term.negated]
        kept = [device for device in selected if not any(matchers[id(term)](device) for term in negated)]
        if not kept:
            excluded = " ".join(term.describe() for term in negated)
            before = " ".join(described) or "the inventory"
            raise TargetError(
                f"no device matches {self.describe()}: {before} gives {len(selected)} device(s) "
                f"and {excluded} leaves out all of them",
                TargetProblem.NO_MATCH,
            )
        return tuple(kept)

    def matches(self, device: Device, inventory: Inventory) -> bool:
        """Whether one device is selected (unknown values still raise TargetError; an empty result does not)."""
        for _key, terms in self._positive_groups():
            if not any(_term_matcher(term, inventory)(device) for term in terms):
                return False
        return not any(_term_matcher(term, inventory)(device) for term in self.terms if term.negated)

    def _positive_groups(self) -> list[tuple[str, list[TargetTerm]]]:
        """Positive terms grouped by key, in the order keys first appear; `all` adds no condition."""
        groups: dict[str, list[TargetTerm]] = {}
        for term in self.terms:
            if term.negated or term.key == "all":
                continue
            groups.setdefault(term.key, []).append(term)
        return list(groups.items())

    def _empty_message(
        self,
        key: str,
        terms: list[TargetTerm],
        candidates: list[Device],
        described: list[str],
        inventory: Inventory,
    ) -> str:
        message = f"no device matches {self.describe()}"
        wanted = " ".join(term.describe() for term in terms)
        if not described:
            if not inventory.devices:
                return message + ": the inventory has no devices"
            return f"{message}: nothing in the inventory matches {wanted}"
        present = sorted({value for device in candidates for value in _values_of(key, device)}, key=str.casefold)
        detail = f"{' '.join(described)} gives {len(candidates)} device(s), none with {wanted}"
        if present:
            detail += f" (their {key}s: {_listing(present)})"
        return f"{message}: {detail}"


def parse_targets(text: str) -> TargetExpression:
    """Parse a target expression; TargetError for bad syntax, an unknown key or an unknown platform.

    Whether sites, roles, names and tags exist is checked by select(), which has the inventory.
    """
    try:
        tokens = shlex.split(text)
    except ValueError as error:
        raise TargetError(f"cannot read target expression {text!r}: {error}", TargetProblem.SYNTAX) from None
    if not tokens:
        raise TargetError(
            "no target given: name devices, e.g. site:alcala role:leaf, or use 'all' for every device",
            TargetProblem.SYNTAX,
        )
    return TargetExpression(text=text, terms=tuple(_parse_term(token) for token in tokens))


def _parse_term(token: str) -> TargetTerm:
    negated = token[0] in NEGATION_PREFIXES
    body = token[1:] if negated else token
    if not body:
        raise TargetError(f"{token!r} negates nothing: write e.g. !role:gateway or -role:gateway", TargetProblem.SYNTAX)
    if body.casefold() == "all":
        if negated:
            raise TargetError(f"{token!r} would select no device at all", TargetProblem.SYNTAX)
        return TargetTerm("all")
    key, separator, value_text = body.partition(":")
    if not separator:
        _reject_key_with_equals(body)
        key, value_text = "name", body
    else:
        key = key.casefold()
        if key not in KEYS:
            raise TargetError(_unknown_key_message(key, value_text, token), TargetProblem.UNKNOWN_KEY)
    values = tuple(value.strip() for value in value_text.split(","))
    if not value_text or any(not value for value in values):
        raise TargetError(f"{token!r} has an empty value: write e.g. {key}:{_example_value(key)}", TargetProblem.SYNTAX)
    if key == "platform":
        values = tuple(_platform_value(value, token).value for value in values)
    return TargetTerm(key, values, negated)


def _reject_key_with_equals(body: str) -> None:
    """`site=alcala` is a common slip for `site:alcala`; say so rather than look for a device of that name."""
    key, separator, value = body.partition("=")
    if separator and key.casefold() in KEYS:
        raise TargetError(
            f"{body!r} is not a target term: did you mean {key.casefold()}:{value}?", TargetProblem.SYNTAX
        )


def _unknown_key_message(key: str, value_text: str, token: str) -> str:
    message = f"unknown key {key!r} in {token!r}"
    close = difflib.get_close_matches(key, (*KEYS, "sites", "roles", "tags", "names", "models"), n=1, cutoff=0.5)
    if close:
        message += f" (did you mean {close[0].rstrip('s')}:{value_text}?)"
    return message + f"; keys are {', '.join(KEYS)}, plus bare names, globs and 'all'"


def _example_value(key: str) -> str:
    examples = {"site": "alcala", "role": "leaf", "platform": "srlinux", "model": "*D3L", "tag": "core"}
    examples["host"] = "10.1.2.0/24"
    return examples.get(key, "leaf*")


def _platform_value(value: str, token: str) -> Platform:
    folded = value.casefold()
    if folded in _PLATFORM_SYNONYMS:
        return _PLATFORM_SYNONYMS[folded]
    try:
        return Platform(folded)
    except ValueError:
        names = [platform.value for platform in Platform]
        close = difflib.get_close_matches(folded, names + list(_PLATFORM_SYNONYMS), n=1, cutoff=0.5)
        hint = ""
        if close:
            hint = f" (did you mean platform:{_PLATFORM_SYNONYMS.get(close[0], close[0])}?)"
        raise TargetError(
            f"unknown platform {value!r} in {token!r}{hint}; platforms are {', '.join(names)}",
            TargetProblem.UNKNOWN_VALUE,
        ) from None


def fold(text: str) -> str:
    """Case- and accent-insensitive form with spaces as hyphens: "Tecno-Alcalá" and "tecno-alcala" fold alike."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"[\s_]+", "-", stripped.strip()).casefold()


def _is_glob(value: str) -> bool:
    return any(char in _GLOB_CHARACTERS for char in value)


def _glob_matches(pattern: str, text: str) -> bool:
    return fnmatch.fnmatchcase(text.casefold(), pattern.casefold())


def _short_name(device: Device) -> str:
    """The name without its site prefix ("alcala-leaf1" -> "leaf1"), so `name:leaf*` works fleet-wide."""
    prefix = f"{device.site}-"
    return device.name[len(prefix) :] if device.name.casefold().startswith(prefix.casefold()) else device.name


def _model_forms(model: str) -> tuple[str, ...]:
    """The full model and its last word ("7220 IXR-D3L" -> "IXR-D3L"), which is how people often say it."""
    words = model.split()
    return (model, words[-1]) if len(words) > 1 else (model,)


def _values_of(key: str, device: Device) -> list[str]:
    if key == "site":
        return [device.site]
    if key == "role":
        return [device.role]
    if key == "platform":
        return [device.platform.value]
    if key == "model":
        return [device.model]
    if key == "tag":
        return sorted(device.tags)
    if key == "host":
        return [device.host]
    return [device.name]


def _term_matcher(term: TargetTerm, inventory: Inventory) -> Callable[[Device], bool]:
    """A predicate for one term, after checking its values against the inventory."""
    if term.key == "all":
        return lambda device: True
    if term.key == "site":
        codes = frozenset(code for value in term.values for code in _resolve_sites(value, term, inventory))
        return lambda device: fold(device.site) in codes
    if term.key == "platform":
        platforms = frozenset(term.values)
        return lambda device: device.platform.value in platforms
    if term.key == "role":
        known_roles = set(KNOWN_ROLES) | {device.role for device in inventory.devices}
        for value in term.values:
            _check_known(value, known_roles, "role", term)
        return lambda device: any(_glob_matches(value, device.role) for value in term.values)
    if term.key == "tag":
        known_tags = {tag for device in inventory.devices for tag in device.tags}
        for value in term.values:
            _check_known(value, known_tags, "tag", term)
        return lambda device: any(_glob_matches(value, tag) for value in term.values for tag in device.tags)
    if term.key == "host":
        return _host_matcher(term, inventory)
    if term.key == "model":
        models = {device.model for device in inventory.devices}
        for value in term.values:
            if not _is_glob(value) and not any(_model_matches(value, model) for model in models):
                raise TargetError(
                    f"no device has model {value!r} ({term.describe()}); models in the inventory: "
                    f"{_listing(sorted(models))}; use a glob such as model:*{value.split()[-1]}",
                    TargetProblem.UNKNOWN_VALUE,
                )
        return lambda device: any(_model_matches(value, device.model) for value in term.values)
    for value in term.values:
        if not _is_glob(value) and not any(_name_matches(value, device) for device in inventory.devices):
            names = [device.name for device in inventory.devices]
            close = difflib.get_close_matches(value, names, n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise TargetError(f"unknown device {value!r}{hint}", TargetProblem.UNKNOWN_VALUE)
    return lambda device: any(_name_matches(value, device) for value in term.values)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a host field or a value spells, in any of its forms (`::1`, `0:0::1`, `[::1]`), else None."""
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """`10.1.2.0/24` as a network (host bits allowed: `10.1.2.3/24` means its /24), else None."""
    if "/" not in text:
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def looks_like_address(text: str) -> bool:
    """Whether text is an IP address or a network (what an alert carries), as `host:` reads it."""
    return _address(text) is not None or _network(text) is not None


def _host_predicate(value: str) -> Callable[[Device], bool]:
    """One `host:` value: an address (any spelling of it), a network, a glob or a name, ignoring case.

    Only the inventory's host field is compared, never a DNS answer: a target is chosen without the network, and an
    alert's address finds the device the inventory lists at that address.
    """
    network = _network(value)
    if network is not None:
        return lambda device: (address := _address(device.host)) is not None and address in network
    address = _address(value)
    if address is not None:
        return lambda device: _address(device.host) == address
    if _is_glob(value):
        return lambda device: _glob_matches(value, device.host)
    folded = value.casefold().rstrip(".")
    return lambda device: device.host.casefold().rstrip(".") == folded


def _host_matcher(term: TargetTerm, inventory: Inventory) -> Callable[[Device], bool]:
    predicates = []
    for value in term.values:
        if "/" in value and _network(value) is None:
            raise TargetError(
                f"{value!r} is not a network ({term.describe()}): write e.g. host:10.1.2.0/24", TargetProblem.SYNTAX
            )
        predicate = _host_predicate(value)
        exact = _network(value) is None and not _is_glob(value)
        if exact and not any(predicate(device) for device in inventory.devices):
            hosts = sorted({device.host for device in inventory.devices})
            close = difflib.get_close_matches(value, hosts, n=3, cutoff=0.6)
            hint = f" (close: {', '.join(close)})" if close else ""
            raise TargetError(f"no device in the inventory has host {value!r}{hint}", TargetProblem.UNKNOWN_VALUE)
        predicates.append(predicate)
    return lambda device: any(predicate(device) for predicate in predicates)


def _model_matches(pattern: str, model: str) -> bool:
    return any(_glob_matches(pattern, form) for form in _model_forms(model))


def _name_matches(pattern: str, device: Device) -> bool:
    return _glob_matches(pattern, device.name) or _glob_matches(pattern, _short_name(device))


def _check_known(value: str, known: set[str], key: str, term: TargetTerm) -> None:
    if _is_glob(value) or value.casefold() in {item.casefold() for item in known}:
        return
    if not known:
        raise TargetError(
            f"unknown {key} {value!r} ({term.describe()}): no device in the inventory has a {key}",
            TargetProblem.UNKNOWN_VALUE,
        )
    close = difflib.get_close_matches(value.casefold(), sorted(known), n=1, cutoff=0.5)
    hint = f" (did you mean {key}:{close[0]}?)" if close else ""
    raise TargetError(f"unknown {key} {value!r}{hint}; {key}s: {_listing(sorted(known))}", TargetProblem.UNKNOWN_VALUE)


def _site_table(inventory: Inventory) -> dict[str, str]:
    """Site code -> display name, for sites listed in the inventory and any only named by a device."""
    table = {site.code: site.name for site in inventory.sites}
    for device in inventory.devices:
        table.setdefault(device.site, device.site)
    return table


def _resolve_sites(value: str, term: TargetTerm, inventory: Inventory) -> set[str]:
    """Folded site codes a value names: by code or by name, case- and accent-insensitively, or by glob."""
    table = _site_table(inventory)
    wanted = fold(value)
    if _is_glob(value):
        found = {
            fold(code)
            for code, name in table.items()
            if fnmatch.fnmatchcase(fold(code), wanted) or fnmatch.fnmatchcase(fold(name), wanted)
        }
        if not found:
            raise TargetError(
                f"no site matches {value!r} ({term.describe()}); sites: {_listing(sorted(table))}",
                TargetProblem.UNKNOWN_VALUE,
            )
        return found
    found = {fold(code) for code, name in table.items() if wanted in (fold(code), fold(name))}
    if found:
        return found
    raise TargetError(
        f"unknown site {value!r} ({term.describe()}); {_close_sites(wanted, table)}", TargetProblem.UNKNOWN_VALUE
    )


def _close_sites(wanted: str, table: dict[str, str]) -> str:
    by_form: dict[str, str] = {}
    for code, name in table.items():
        by_form.setdefault(fold(code), code)
        by_form.setdefault(fold(name), code)
    close = difflib.get_close_matches(wanted, list(by_form), n=5, cutoff=0.6)
    close += [form for form in by_form if len(wanted) >= 3 and wanted in form]
    codes = list(dict.fromkeys(by_form[form] for form in close))
    if codes:
        return "close matches: " + ", ".join(_site_label(code, table) for code in codes)
    return "sites: " + _listing(sorted(table))


def _site_label(code: str, table: dict[str, str]) -> str:
    name = table.get(code, code)
    return code if name == code else f"{code} ({name})"


def _listing(items: Iterable[str]) -> str:
    items = list(items)
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")


def _quote(value: str) -> str:
    return shlex.quote(value) if any(char.isspace() for char in value) else value
