"""Portable command aliases (`@version`, `@interfaces`, ...) that expand to the right command on each platform."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from edgeops.platforms import Platform

ALIAS_PREFIX = "@"
# An alias argument is spliced into a device command, so it must be one plain token (an interface or port name).
_ARGUMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.:-]*")


class AliasProblem(StrEnum):
    """Why an alias cannot be expanded: the machine code an AliasError carries beside its message."""

    UNKNOWN = "unknown-alias"  # no alias of that name
    ARGUMENT_COUNT = "argument-count"  # an argument missing, or one given to an alias that takes none
    BAD_ARGUMENT = "bad-argument"  # an argument that is not one plain interface or port name
    NO_PLATFORM_FORM = "no-platform-form"  # the alias has no command for the device's platform


class AliasError(ValueError):
    """An alias that cannot be expanded: `code` says why (callers branch on it), the message says how to fix it."""

    def __init__(self, message: str, code: AliasProblem) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Alias:
    """One portable command: its help text and the command each platform runs ({arg} marks the argument)."""

    name: str  # with the leading "@"
    summary: str
    commands: Mapping[Platform, str]
    argument: str | None = None  # the argument's placeholder in help, e.g. "NAME"

    @property
    def usage(self) -> str:
        return f"{self.name} {self.argument}" if self.argument else self.name

    def command_for(self, platform: Platform, argument: str | None = None) -> str:
        try:
            template = self.commands[Platform(platform)]
        except KeyError:
            raise AliasError(
                f"{self.name} has no {Platform(platform).label} form", AliasProblem.NO_PLATFORM_FORM
            ) from None
        return template.format(arg=argument) if self.argument else template


def _same_on_sros(srlinux: str, sros: str, classic: str | None = None) -> Mapping[Platform, str]:
    """Most show commands read the same on the MD-CLI and the classic CLI; the classic form is given when not."""
    return MappingProxyType(
        {Platform.SRLINUX: srlinux, Platform.SROS: sros, Platform.SROS_CLASSIC: classic if classic else sros}
    )


_DEFINITIONS = (
    Alias("@version", "Software version and chassis type", _same_on_sros("show version", "show version")),
    Alias("@interfaces", "Ports with admin and oper state", _same_on_sros("show interface brief", "show port")),
    Alias(
        "@interface",
        "One interface (port) in detail, with counters",
        _same_on_sros("show interface {arg} detail", "show port {arg}"),
        argument="NAME",
    ),
    # SR Linux 25.3 keeps no alarm list (no native one, and its OpenConfig deviations drop /system/alarms): the
    # nearest it has is the components' state, from which edgeops derives its SR Linux alarms.
    Alias(
        "@alarms",
        "Active alarms (SR Linux: component state, which it has instead)",
        _same_on_sros("show platform environment", "show system alarms"),
    ),
    Alias(
        "@cpu",
        "CPU utilisation",
        _same_on_sros("info from state /platform control * cpu all total", "show system cpu"),
    ),
    Alias(
        "@memory",
        "Memory use",
        _same_on_sros("info from state /platform control * memory", "show system memory-pools"),
    ),
    Alias(
        "@environment",
        "Fans, power supplies and temperatures",
        _same_on_sros("show platform environment", "show chassis"),
    ),
    Alias(
        "@uptime",
        "Last boot time and uptime",
        _same_on_sros("info from state /system information", "show system information"),
    ),
    Alias(
        "@routes",
        "The default (Base) routing table",
        _same_on_sros("show network-instance default route-table", "show router route-table"),
    ),
    Alias(
        "@router-interfaces",
        "IP interfaces of the default (Base) router",
        _same_on_sros("show network-instance default interfaces", "show router interface"),
    ),
    Alias(
        "@lldp",
        "LLDP neighbours",
        _same_on_sros("show system lldp neighbor", "show system lldp neighbor"),
    ),
    Alias(
        "@config",
        "The running configuration (read-only)",
        _same_on_sros("info from running", "admin show configuration", "admin display-config"),
    ),
)

ALIASES: Mapping[str, Alias] = MappingProxyType({alias.name: alias for alias in _DEFINITIONS})


def is_alias(command: str) -> bool:
    return command.lstrip().startswith(ALIAS_PREFIX)


def expand(command: str, platform: Platform) -> str:
    """The device command for `command` on `platform`; commands that are not aliases pass through unchanged.

    Anything after a `|` is kept as typed, so `@interfaces | grep up` works where the device knows `| grep`.
    """
    if not is_alias(command):
        return command
    head, pipe, tail = command.strip().partition("|")
    words = head.split()
    name = words[0].casefold()
    alias = ALIASES.get(name)
    if alias is None:
        raise AliasError(_unknown_alias_message(words[0]), AliasProblem.UNKNOWN)
    arguments = words[1:]
    if alias.argument:
        if len(arguments) != 1:
            raise AliasError(
                f"{alias.name} takes one argument: {alias.usage} (e.g. {alias.name} ethernet-1/1)",
                AliasProblem.ARGUMENT_COUNT,
            )
        if not _ARGUMENT.fullmatch(arguments[0]):
            raise AliasError(
                f"{arguments[0]!r} is not an interface or port name ({alias.usage})", AliasProblem.BAD_ARGUMENT
            )
        expanded = alias.command_for(platform, arguments[0])
    else:
        if arguments:
            raise AliasError(
                f"{alias.name} takes no argument (got {' '.join(arguments)!r})", AliasProblem.ARGUMENT_COUNT
            )
        expanded = alias.command_for(platform)
    return f"{expanded} |{tail}" if pipe else expanded


def _unknown_alias_message(word: str) -> str:
    close = difflib.get_close_matches(word.casefold(), list(ALIASES), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"unknown alias {word!r}{hint}; aliases: {', '.join(alias.usage for alias in ALIASES.values())}"
