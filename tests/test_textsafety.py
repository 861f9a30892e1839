"""Device text printed by the core (`edgeops run`, --out files) reaches the terminal inert."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from edgeops.lab.faults import HOSTILE_DESCRIPTION
from edgeops.textsafety import is_inert, strip_control


def test_escape_sequences_are_removed_and_readable_text_stays() -> None:
    cleaned = strip_control(HOSTILE_DESCRIPTION)
    assert "\x1b" not in cleaned and "\x07" not in cleaned
    assert "52;c;" not in cleaned  # the OSC 52 clipboard payload goes with its sequence
    assert "[red]PWNED[/red]" in cleaned  # markup means nothing to a terminal: it stays as text


def test_c1_unterminated_carriage_returns_tabs_and_bidi_overrides() -> None:
    assert strip_control("a\x9b31mb") == "ab"
    assert strip_control("a\x1b]52;c;AAAA") == "a"
    assert strip_control("line1\r\nline2\rX") == "line1\nline2X"
    assert strip_control("tab\there") == "tab     here"
    assert strip_control("admin\u202eupdated") == "adminupdated"


def test_plain_text_is_returned_as_it_is() -> None:
    text = "Hostname : alcala-leaf1\nTecno-Alcalá\n"
    assert is_inert(text) and strip_control(text) is text
    assert not is_inert("a\tb") and not is_inert("\x1b[2J")


@given(st.text())
def test_no_control_character_survives(text: str) -> None:
    cleaned = strip_control(text)
    assert not any(ord(char) < 32 and char != "\n" for char in cleaned)
    assert not any(0x7F <= ord(char) <= 0x9F for char in cleaned)
    assert is_inert(cleaned)


@given(st.text())
def test_json_text_reads_back_the_same_and_carries_nothing_a_terminal_acts_on(text: str) -> None:
    import json

    from edgeops.textsafety import json_text

    written = json_text({"output": text})
    assert json.loads(written) == {"output": text}
    assert not any(0x7F <= ord(char) <= 0x9F or char in "\u2028\u2029\u202e\u2066" for char in written)
    assert "\x1b" not in written
