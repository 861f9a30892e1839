"""Device text made inert for a terminal: escape sequences and control characters removed, for core and UI alike.

Command output, interface descriptions and alarm texts come from devices we do not control. Printed as they are,
an escape sequence could move the cursor, retitle the window or write the clipboard (OSC 52), and a bidirectional
override could make a line read differently from what it holds. The core (`edgeops run`, `--out` files) and the
console use the same rules, so this module imports nothing but the standard library.
"""

from __future__ import annotations

import json
import re
from typing import Any

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
# Remaining C0 and C1 controls except tab and newline (a lone ESC, BEL, backspace, carriage return, DEL...),
# and the Unicode bidirectional embeddings, overrides and isolates (the "Trojan Source" characters).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
TAB_SIZE = 8


def strip_control(text: str) -> str:
    """The text without terminal escape sequences and control characters; tabs expanded, newlines kept."""
    if is_inert(text):
        return text  # the usual case: plain output, returned without copying
    text = text.replace("\r\n", "\n")
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = _CONTROL.sub("", text)
    return text.expandtabs(TAB_SIZE)


def is_inert(text: str) -> bool:
    """Whether the text is already free of anything strip_control would remove or change."""
    return "\t" not in text and not _CONTROL.search(text)


# Characters JSON leaves raw (with ensure_ascii=False) that a terminal would act on when the file is printed: DEL,
# the C1 controls, the Unicode line and paragraph separators, and the bidirectional embeddings, overrides and
# isolates. Inside a JSON string each becomes its \uXXXX escape, which reads back as the same text.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_text(value: object, **options: Any) -> str:
    """`json.dumps(value, ensure_ascii=False, **options)`, with the characters above escaped: UTF-8 JSON that stays
    readable for people (accents as themselves) and inert for terminals (`cat audit.jsonl` moves no cursor)."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match[0]):04x}", text)


# What `escape_control` writes as an escape: every control and bidirectional character `strip_control` removes, and
# also tab, newline, carriage return and the Unicode line and paragraph separators, which would break a one-line name.
_SHOWN_ESCAPED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def escape_control(text: str) -> str:
    """The text on one line with each control or bidirectional character shown as its escape (`\\x1b`, `\\u202e`).

    For names from an inventory or a device (device, site, jump host) printed where the user must see what the name
    holds: removing an ESC would make `leaf\\x1b[2J1` look like a plain `leaf[2J1`, so it is written out instead,
    inert for the terminal and visible to the reader."""
    if not _SHOWN_ESCAPED.search(text):
        return text  # the usual case
    return _SHOWN_ESCAPED.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
