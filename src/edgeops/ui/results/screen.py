"""One command run's results over the whole terminal."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from edgeops.ui.results.model import CommandRun
from edgeops.ui.results.view import CommandResultsView
from edgeops.ui.sanitize import safe_text


class CommandResultsScreen(Screen[None]):
    """One run's results over the whole terminal; follows the run while it goes on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("f", "close", "Back", show=False),
    ]

    DEFAULT_CSS = """
    CommandResultsScreen #results-title {
        height: 1;
        padding: 0 1;
        background: $primary-background;
        text-style: bold;
    }
    CommandResultsScreen CommandResultsView #result-list {
        max-width: 60%;
    }
    """

    def __init__(self, run: CommandRun, *, state_dir: Path | None = None, name: str | None = None) -> None:
        super().__init__(name=name)
        self.run = run
        self.state_dir = state_dir

    def compose(self) -> ComposeResult:
        title = Text("Command results: ")
        title.append_text(safe_text(self.run.command))
        title.append(" on ")
        title.append_text(safe_text(self.run.target))
        title.append(f" ({self.run.total} device{'s' if self.run.total != 1 else ''})")
        yield Static(title, id="results-title")
        yield CommandResultsView(self.run, state_dir=self.state_dir, id="results-view")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#result-list", DataTable).focus()

    def action_close(self) -> None:
        self.dismiss(None)
