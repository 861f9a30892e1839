"""Brace ranges: counts, padding, steps, letters, lists, and their mistakes."""

from __future__ import annotations

import pytest

from edgeops.inventory.ranges import RangeError, expand_range


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("leaf", ["leaf"]),
        ("leaf{1..3}", ["leaf1", "leaf2", "leaf3"]),
        ("leaf{01..03}", ["leaf01", "leaf02", "leaf03"]),
        ("leaf{8..10}", ["leaf8", "leaf9", "leaf10"]),
        ("leaf{08..10}", ["leaf08", "leaf09", "leaf10"]),
        ("{3..1}", ["3", "2", "1"]),
        ("gw{1..7..3}", ["gw1", "gw4", "gw7"]),
        ("rack-{a..c}", ["rack-a", "rack-b", "rack-c"]),
        ("{A..B}-x", ["A-x", "B-x"]),
        ("{mad,bcn, bio}.example", ["mad.example", "bcn.example", "bio.example"]),
        ("127.10.1.{1..2}", ["127.10.1.1", "127.10.1.2"]),
    ],
)
def test_expansions(text: str, values: list[str]) -> None:
    assert expand_range(text) == values


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("leaf{1..", "unbalanced brace"),
        ("leaf}", "unbalanced brace"),
        ("{1..2}{3..4}", "2 ranges"),
        ("{1..9..0}", "step of 0"),
        ("{a..D}", "mixes upper and lower case"),
        ("{1-3}", "is not a range"),
        ("{0..5000}", "at most 4096"),
    ],
)
def test_mistakes(text: str, message: str) -> None:
    with pytest.raises(RangeError, match=message):
        expand_range(text)
