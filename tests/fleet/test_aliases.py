"""Portable aliases: expansion per platform, arguments, pass-through, and that every expansion is read-only."""

from __future__ import annotations

import pytest

from edgeops.fleet import guard
from edgeops.fleet.aliases import ALIASES, AliasError, AliasProblem, expand, is_alias
from edgeops.platforms import Platform

SRL, SROS, CLASSIC = Platform.SRLINUX, Platform.SROS, Platform.SROS_CLASSIC


@pytest.mark.parametrize(
    ("command", "platform", "expected"),
    [
        ("@version", SRL, "show version"),
        ("@version", SROS, "show version"),
        ("@interfaces", SRL, "show interface brief"),
        ("@interfaces", SROS, "show port"),
        ("@interfaces", CLASSIC, "show port"),
        ("@interface ethernet-1/1", SRL, "show interface ethernet-1/1 detail"),
        ("@interface 1/1/c1/1", SROS, "show port 1/1/c1/1"),
        ("@alarms", SROS, "show system alarms"),
        ("@cpu", SROS, "show system cpu"),
        ("@memory", SROS, "show system memory-pools"),
        ("@environment", SRL, "show platform environment"),
        ("@environment", SROS, "show chassis"),
        ("@uptime", SROS, "show system information"),
        ("@routes", SRL, "show network-instance default route-table"),
        ("@routes", SROS, "show router route-table"),
        ("@router-interfaces", SROS, "show router interface"),
        ("@lldp", SRL, "show system lldp neighbor"),
        ("@lldp", SROS, "show system lldp neighbor"),
        ("@config", SRL, "info from running"),
        ("@config", SROS, "admin show configuration"),
        ("@config", CLASSIC, "admin display-config"),
        ("  @VERSION  ", SRL, "show version"),
    ],
)
def test_expansion(command, platform, expected):
    assert expand(command, platform) == expected


def test_output_modifiers_after_an_alias_are_kept():
    assert expand("@interfaces | grep up", SRL) == "show interface brief | grep up"
    assert expand("@interfaces | match Up", SROS) == "show port | match Up"
    assert expand("@interface ethernet-1/1 | as json", SRL) == "show interface ethernet-1/1 detail | as json"


@pytest.mark.parametrize("command", ["show version", "info from state /system", "  show port  ", "admin save"])
def test_commands_that_are_not_aliases_pass_through_unchanged(command):
    assert not is_alias(command)
    assert expand(command, SROS) == command


@pytest.mark.parametrize(
    ("command", "code", "fragment"),
    [
        ("@verison", AliasProblem.UNKNOWN, "did you mean @version"),
        ("@", AliasProblem.UNKNOWN, "unknown alias"),
        ("@interface", AliasProblem.ARGUMENT_COUNT, "takes one argument"),
        ("@interface a b", AliasProblem.ARGUMENT_COUNT, "takes one argument"),
        ("@interface x;commit", AliasProblem.BAD_ARGUMENT, "is not an interface or port name"),
        ("@interface $(reboot)", AliasProblem.BAD_ARGUMENT, "is not an interface or port name"),
        ("@version now", AliasProblem.ARGUMENT_COUNT, "takes no argument"),
    ],
)
def test_errors(command, code, fragment):
    with pytest.raises(AliasError, match=fragment) as caught:  # the message says how to write it instead
        expand(command, SRL)
    assert caught.value.code is code


@pytest.mark.parametrize("platform", list(Platform))
@pytest.mark.parametrize("name", list(ALIASES))
def test_every_alias_expands_to_a_read_only_command(name, platform):
    alias = ALIASES[name]
    command = expand(f"{name} ethernet-1/1" if alias.argument else name, platform)
    verdict = guard.check(command, platform)
    assert verdict.allowed, verdict.message


def test_alias_table_documents_itself():
    assert len(ALIASES) >= 12
    for name, alias in ALIASES.items():
        assert name.startswith("@") and name == alias.name
        assert alias.summary
        assert set(alias.commands) == set(Platform)
    assert ALIASES["@interface"].usage == "@interface NAME"
    with pytest.raises(TypeError):
        ALIASES["@new"] = ALIASES["@version"]  # type: ignore[index]
