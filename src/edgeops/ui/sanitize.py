"""Device text made safe for the screen: no markup, no terminal control sequences.

Interface descriptions, alarm texts and command output come from devices we do not control. A `[red]` in a
description must stay literal text, and an escape sequence must not move the cursor, retitle the window or
write the clipboard (OSC 52).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

if TYPE_CHECKING:  # the results model and its texts use this module without textual (ui/results/model.py)
    from textual.content import Content

# One set of rules for the core (`edgeops run`, saved outputs) and the screen: see edgeops.textsafety.
from edgeops.textsafety import strip_control

__all__ = ["markup_literal", "safe_content", "safe_plain", "safe_text", "strip_control"]


def safe_text(text: str | None, style: str = "") -> Text:
    """Device text as a Rich Text object: never parsed as markup, never carrying escapes."""
    return Text(strip_control(text or ""), style=style, no_wrap=False)


def safe_plain(text: str | None) -> str:
    """Device text for places that take a plain string rendered without markup (e.g. a Tree label built as Text)."""
    return strip_control(text or "")


def safe_content(text: str | None) -> Content:
    """User or device text as Textual Content: for the places that would parse a `str` as markup (palette prompts,
    labels). `[name=ethernet-1/1]` or `| grep [/]` stays literal text."""
    from textual.content import Content

    return Content(strip_control(text or ""))


def markup_literal(text: str | None) -> str:
    """User or device text for the few Textual parameters that take only markup strings (a palette hit's help):
    every `[` escaped, so no tag is ever opened, whatever follows it."""
    return strip_control(text or "").replace("[", "\\[")
