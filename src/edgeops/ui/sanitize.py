"""Device text made safe for the screen: no markup, no terminal control sequences.

Interface descriptions, alarm texts and command output come from devices we do not control. A `[red]` in a
description must stay literal text, and an escape sequence must not move the cursor, retitle the window or
write the clipboard (OSC 52).
"""

from __future__ import annotations

import re

from rich.text import Text

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), DCS/SOS/PM/APC (ESC P/X/^/_ ... ESC \), other two-byte escapes,
# and the 8-bit C1 forms of the same introducers.
_ESCAPE_SEQUENCE = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]          # CSI
    | (?:\x1b\]|\x9d).*?(?:\x07|\x1b\\|\x9c)   # OSC, terminated
    | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f]).*?(?:\x1b\\|\x9c)  # DCS, SOS, PM, APC
    | (?:\x1b\]|\x9d|\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\n]*  # an unterminated string sequence: drop to end of line
    | \x1b[@-Z\\-_]                            # other Fe escapes
    | \x1b[ -/]*[0-~]                          # nF / Fp / Fs escapes
    """,
    re.VERBOSE | re.DOTALL,
)
# Remaining C0 and C1 controls except tab and newline (a lone ESC, BEL, backspace, carriage return, DEL...).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_control(text: str) -> str:
    """Remove terminal escape sequences and control characters; keep tabs (expanded) and newlines."""
    text = text.replace("\r\n", "\n")
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = _CONTROL.sub("", text)
    return text.expandtabs(8)


def safe_text(text: str | None, style: str = "") -> Text:
    """Device text as a Rich Text object: never parsed as markup, never carrying escapes."""
    return Text(strip_control(text or ""), style=style, no_wrap=False)


def safe_plain(text: str | None) -> str:
    """Device text for places that take a plain string rendered without markup (e.g. a Tree label built as Text)."""
    return strip_control(text or "")
