"""Inventories that would crash or hang a YAML parser, or expand without end, become FILE:LINE problems."""

from __future__ import annotations

import pytest

from edgeops.inventory import loader
from edgeops.inventory.loader import load_inventory
from edgeops.inventory.problems import InventoryError, Problem
from edgeops.inventory.yaml_source import MAX_NESTING, structure_problem

from .conftest import WriteFile


def problems(write: WriteFile, text: str) -> list[Problem]:
    with pytest.raises(InventoryError) as caught:
        load_inventory(write("inventory.yaml", text))
    return list(caught.value.problems)


def test_four_hundred_levels_of_flow_nesting_are_a_problem_at_the_level_too_many(write: WriteFile) -> None:
    found = problems(write, "version: 1\nsites: [alcala]\ndevices: " + "[" * 400 + "]" * 400 + "\n")
    assert [(p.line, p.col) for p in found] == [(3, 9 + MAX_NESTING)]  # with the devices key, the level too many
    assert "nested more than" in found[0].message


def test_deep_block_nesting_is_a_problem_too(write: WriteFile) -> None:
    lines = ["version: 1", "sites: [alcala]", "devices:"]
    lines += [" " * (2 * level) + f"k{level}:" for level in range(1, 200)]
    found = problems(write, "\n".join(lines) + "\n")
    assert len(found) == 1 and found[0].line == 3 + MAX_NESTING  # the line of the level one too many


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("version: 1\nsites: [alcala]\ndefaults: &d\n  <<: *d\n  platform: srlinux\ndevices: []\n", 4),
        ("version: 1\nsites: [alcala]\ndefaults: &d {<<: *d, platform: srlinux}\ndevices: []\n", 3),
        ("version: 1\nsites: [alcala]\ngroups:\n  g: &g\n    x:\n      - *g\ndevices: []\n", 6),
    ],
)
def test_a_node_that_contains_itself_is_a_problem_at_the_alias(write: WriteFile, text: str, line: int) -> None:
    found = problems(write, text)
    assert [p.line for p in found] == [line]
    assert "cannot contain itself" in found[0].message


@pytest.mark.parametrize(
    "text",
    [
        "sites: [&s alcala, *s]\n",  # an alias after its anchor's node ended
        "description: R&D lab *nightly* build\n",  # an & and a * that are text
        "base: &b {a: 1}\nother:\n  <<: *b\n",  # an ordinary merge
    ],
)
def test_ordinary_anchors_aliases_and_text_pass(text: str) -> None:
    assert structure_problem(text) is None


def test_an_entry_that_takes_the_inventory_past_the_cap_is_a_problem(
    write: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader, "MAX_DEVICES", 100)
    text = "version: 1\nsites: [alcala]\ndefaults: {platform: srlinux, role: leaf}\ndevices:\n"
    text += "  - {name: 'a-leaf{1..60}', site: alcala, host: 10.0.0.1}\n"
    text += "  - {name: 'b-leaf{1..60}', site: alcala, host: 10.0.0.2}\n"
    found = problems(write, text)
    assert [p.line for p in found] == [6]
    assert "past 100 devices" in found[0].message
