"""The screen shown instead of the console when the inventory does not load: every problem as FILE:LINE:COL."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from edgeops.inventory.problems import Problem
from edgeops.ui.sanitize import safe_plain

# What the app returns when the engineer asks to load the inventory again (the CLI loops on it).
RELOAD_INVENTORY = "reload-inventory"


def problem_lines(problems: Sequence[Problem]) -> Text:
    """The problems, one per line: the position in the accent colour, the message as plain (sanitised) text."""
    text = Text()
    for index, problem in enumerate(problems):
        if index:
            text.append("\n")
        formatted = problem.format()
        message = problem.message
        position = formatted[: len(formatted) - len(message)] if formatted.endswith(message) else formatted
        text.append(safe_plain(position), style="bold")
        if position != formatted:
            text.append(safe_plain(message))
    return text


class InventoryErrorsScreen(Screen[None]):
    """Lists what is wrong with the inventory; `r` re-reads it once the engineer has fixed the file."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Re-read inventory"),
        Binding("q", "quit", "Quit"),
    ]

    DEFAULT_CSS = """
    InventoryErrorsScreen {
        padding: 1 2;
    }
    InventoryErrorsScreen #errors-title {
        text-style: bold;
        color: $error;
    }
    InventoryErrorsScreen #errors-hint {
        color: $foreground-muted;
        margin-bottom: 1;
    }
    InventoryErrorsScreen #errors-list {
        border: round $error;
        padding: 0 1;
        height: 1fr;
    }
    """

    def __init__(self, source: Path | None, problems: Sequence[Problem]) -> None:
        super().__init__()
        self._source = source
        self._problems = list(problems)

    def compose(self) -> ComposeResult:
        count = len(self._problems)
        where = f" in {safe_plain(str(self._source))}" if self._source is not None else ""
        yield Static(
            Text(f"The inventory does not load: {count} problem{'s' if count != 1 else ''}{where}"),
            id="errors-title",
        )
        yield Static(
            Text(
                "Fix the file and press r to read it again (see `edgeops help inventory` for the format, "
                "or check it with `edgeops inventory check`)."
            ),
            id="errors-hint",
        )
        with VerticalScroll(id="errors-list"):
            yield Static(problem_lines(self._problems), id="errors-problems")
        yield Footer()

    def action_reload(self) -> None:
        reload = getattr(self.app, "reload_inventory", None)
        if reload is not None:
            reload()
        else:
            self.app.exit(RELOAD_INVENTORY)

    async def action_quit(self) -> None:
        self.app.exit()
