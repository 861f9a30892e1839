"""Copying device output to the engineer's clipboard with OSC 52, which travels through SSH to their own terminal.

Textual's `App.copy_to_clipboard` already writes the OSC 52 sequence (`ESC ] 52 ; c ; BASE64 BEL`) to the terminal,
so this module only decides what may be copied: sanitised text (a device must not smuggle escape sequences into
the clipboard, where a later paste into a terminal would run them) of a size terminals accept.

Inside tmux the sequence reaches the outer terminal when tmux lets applications set the clipboard
(`set -g set-clipboard on` in ~/.tmux.conf); the copy notice says so when edgeops runs inside tmux.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from textual.app import App

from edgeops.ui.sanitize import strip_control

# Terminals cap OSC 52 payloads (some at a few hundred KB of base64); a bigger copy is better saved to a folder.
MAX_CLIPBOARD_BYTES = 256 * 1024
TMUX_HINT = "in tmux, the copy needs `set -g set-clipboard on`"


class ClipboardTooLarge(ValueError):
    """Text too large to send through the terminal to the clipboard."""


def clipboard_text(text: str) -> str:
    """What would be copied: the text without terminal control sequences; ClipboardTooLarge if it is too big."""
    clean = strip_control(text)
    size = len(clean.encode("utf-8"))
    if size > MAX_CLIPBOARD_BYTES:
        raise ClipboardTooLarge(
            f"{size // 1024} KB is more than the terminal clipboard takes ({MAX_CLIPBOARD_BYTES // 1024} KB): "
            "save the results to a folder instead"
        )
    return clean


def copy_to_clipboard(app: App[object], text: str) -> int:
    """Copy sanitised text with OSC 52 and return its size in bytes; ClipboardTooLarge if it is too big."""
    clean = clipboard_text(text)
    app.copy_to_clipboard(clean)
    return len(clean.encode("utf-8"))


def tmux_hint(environ: Mapping[str, str] | None = None) -> str:
    """A reminder for tmux users (empty outside tmux), since tmux drops application clipboard writes by default."""
    environment = os.environ if environ is None else environ
    return TMUX_HINT if environment.get("TMUX") else ""
