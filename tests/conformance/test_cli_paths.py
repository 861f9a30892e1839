"""Every SR Linux `info from state` command the client sends names a path its published model has."""

from __future__ import annotations

import pytest

from conformance.schema import Schema, SchemaError
from edgeops.devices import ssh_poll
from edgeops.fleet.aliases import ALIASES
from edgeops.platforms import Platform
from edgeops.ui.panes.command_runner import COMMON_COMMANDS


def cli_path_to_gnmi(schema: Schema, cli_path: str) -> str:
    """`/platform control * cpu all total` -> `/platform/control[slot=*]/cpu[index=all]/total`.

    The SR Linux CLI writes a list's key values as the words after the list's name; the schema says which names
    are lists and how many keys each takes.
    """
    words = cli_path.strip().lstrip("/").split()
    names: list[str] = []
    elements: list[str] = []
    index = 0
    while index < len(words):
        name = words[index]
        names.append(name)
        node = schema.at(tuple(names))
        if node is None:
            raise SchemaError(f"{schema.name}: no element {name!r} under /{'/'.join(names[:-1])}")
        index += 1
        keys = ""
        for key in node.keys:
            if index >= len(words):
                break
            keys += f"[{key}={words[index]}]"
            index += 1
        elements.append(name + keys)
    return "/" + "/".join(elements)


def info_from_state_paths() -> list[str]:
    """The paths of every `info from state` command the client sends or offers to SR Linux (the SSH fallback, the
    aliases and the runner's completions)."""
    commands = [ssh_poll.SRLINUX_INTERFACES, ssh_poll.SRLINUX_PLATFORM, *COMMON_COMMANDS[Platform.SRLINUX]]
    commands += [alias.commands[Platform.SRLINUX] for alias in ALIASES.values() if Platform.SRLINUX in alias.commands]
    prefix = "info from state "
    return sorted({command.split("|")[0][len(prefix) :].strip() for command in commands if command.startswith(prefix)})


@pytest.mark.parametrize("cli_path", info_from_state_paths())
def test_every_info_from_state_path_exists(cli_path: str) -> None:
    schema = Schema.load("srlinux-native")
    schema.node(cli_path_to_gnmi(schema, cli_path))


def test_the_translation_finds_a_path_srlinux_does_not_have() -> None:
    schema = Schema.load("srlinux-native")
    assert (
        cli_path_to_gnmi(schema, "/platform control * cpu all total")
        == "/platform/control[slot=*]/cpu[index=all]/total"
    )
    with pytest.raises(SchemaError, match="no element 'alarms'"):
        schema.node(cli_path_to_gnmi(schema, "/system alarms"))
