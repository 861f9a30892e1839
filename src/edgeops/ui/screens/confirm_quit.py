"""Asks before quitting while commands are still out on devices."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmQuitScreen(ModalScreen[bool]):
    """Dismisses with True to quit (the running commands are cancelled), False to stay."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Quit"),
        Binding("n,escape", "answer(False)", "Stay"),
    ]

    DEFAULT_CSS = """
    ConfirmQuitScreen {
        align: center middle;
    }
    ConfirmQuitScreen > #quit-dialog {
        width: 60;
        max-width: 100%;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 1 2;
    }
    ConfirmQuitScreen #quit-title {
        text-style: bold;
    }
    ConfirmQuitScreen #quit-buttons {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    ConfirmQuitScreen Button {
        margin-left: 2;
    }
    """

    def __init__(self, detail: str) -> None:
        super().__init__()
        self._detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="quit-dialog"):
            yield Static("Quit edgeops?", id="quit-title")
            yield Static(self._detail, id="quit-detail", markup=False)
            with Horizontal(id="quit-buttons"):
                yield Button("Stay (n)", id="quit-stay", variant="primary")
                yield Button("Quit (y)", id="quit-yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#quit-stay", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit-yes")

    def action_answer(self, quit_now: bool) -> None:
        self.dismiss(quit_now)
