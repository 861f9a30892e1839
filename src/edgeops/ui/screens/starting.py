"""The console's first frame: shown at once while the inventory is read and the engine is built."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Static

from edgeops.ui.sanitize import safe_plain


class StartingScreen(Screen[None]):
    """A calm placeholder: the main screen replaces it as soon as the fleet is known."""

    DEFAULT_CSS = """
    StartingScreen {
        align: center middle;
    }
    StartingScreen > #starting {
        width: auto;
        height: auto;
        padding: 1 4;
        border: round $panel-lighten-2;
    }
    StartingScreen #starting > Static {
        width: auto;
    }
    StartingScreen #starting-title {
        text-style: bold;
        color: $primary;
    }
    StartingScreen #starting-detail {
        color: $foreground-muted;
    }
    """

    def __init__(self, inventory: Path) -> None:
        super().__init__()
        self._inventory = inventory

    def compose(self) -> ComposeResult:
        with Vertical(id="starting"):
            yield Static("edgeops", id="starting-title")
            yield Static(Text(f"reading {safe_plain(str(self._inventory))} …"), id="starting-detail")
