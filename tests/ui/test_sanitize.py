"""Hostile device text must reach the screen inert."""

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from edgeops.lab.faults import HOSTILE_DESCRIPTION
from edgeops.ui.sanitize import safe_text, strip_control


def render(text) -> str:
    console = Console(width=200, color_system="truecolor", force_terminal=True, record=True)
    with console.capture() as capture:
        console.print(text, end="")
    return capture.get()


def test_markup_stays_literal():
    text = safe_text("[red]PWNED[/red] [bold]x[/]")
    assert text.plain == "[red]PWNED[/red] [bold]x[/]"
    assert text.spans == []


def test_escape_sequences_removed():
    cleaned = strip_control(HOSTILE_DESCRIPTION)
    assert "\x1b" not in cleaned
    assert "\x07" not in cleaned
    assert "52;c;" not in cleaned  # the OSC 52 clipboard payload is gone with its sequence
    assert "PWNED" in cleaned  # the readable part stays


def test_hostile_description_renders_without_its_own_escapes():
    output = render(safe_text(HOSTILE_DESCRIPTION))
    assert "\x1b]52" not in output
    assert "\x1b]0;" not in output
    assert "\x1b[2J" not in output
    assert "\x1b[31m" not in output  # the device's colour, not ours
    assert "[red]PWNED[/red]" in output


def test_c1_and_unterminated_sequences():
    assert strip_control("a\x9b31mb") == "ab"
    assert strip_control("a\x1b]52;c;AAAA") == "a"
    assert strip_control("line1\r\nline2\rX") == "line1\nline2X"
    assert strip_control("tab\there") == "tab     here"


@given(st.text())
def test_no_control_characters_survive(text):
    cleaned = strip_control(text)
    assert not any(ord(ch) < 32 and ch != "\n" for ch in cleaned)
    assert not any(0x7F <= ord(ch) <= 0x9F for ch in cleaned)


@given(st.text())
def test_markup_literal_is_read_back_as_the_same_plain_text(text: str) -> None:
    from textual.content import Content

    from edgeops.textsafety import strip_control
    from edgeops.ui.sanitize import markup_literal

    assert Content.from_markup(markup_literal(text)).plain == strip_control(text)
