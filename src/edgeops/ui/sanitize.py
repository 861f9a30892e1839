"""Device text made safe for the screen: no markup, no terminal control sequences.

Interface descriptions, alarm texts and command output come from devices we do not control. A `[red]` in a
description must stay literal text, and an escape sequence must not move the cursor, retitle the window or
write the clipboard (OSC 52).
"""

from __future__ import annotations

from rich.text import Text

# One set of rules for the core (`edgeops run`, saved outputs) and the screen: see edgeops.textsafety.
from edgeops.textsafety import strip_control

__all__ = ["safe_plain", "safe_text", "strip_control"]


def safe_text(text: str | None, style: str = "") -> Text:
    """Device text as a Rich Text object: never parsed as markup, never carrying escapes."""
    return Text(strip_control(text or ""), style=style, no_wrap=False)


def safe_plain(text: str | None) -> str:
    """Device text for places that take a plain string rendered without markup (e.g. a Tree label built as Text)."""
    return strip_control(text or "")
