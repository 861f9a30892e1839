"""The typed confirmation that lifts the command runner's read-only guard for one run."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

# A word, not a y/N prompt: typing it cannot happen by reflex, and it says what is about to be allowed.
CONFIRM_WORD = "configure"


class ConfirmConfigScreen(ModalScreen[bool]):
    """Asks the engineer to type `configure` before configuration commands may be sent; dismisses with the answer.

    It lifts the guard for the next run only: the runner pane forgets the permission as soon as that run starts.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    ConfirmConfigScreen {
        align: center middle;
    }
    ConfirmConfigScreen > #confirm-dialog {
        width: 72;
        max-width: 100%;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 1 2;
    }
    ConfirmConfigScreen #confirm-title {
        text-style: bold;
        color: $warning;
    }
    ConfirmConfigScreen #confirm-detail, ConfirmConfigScreen #confirm-problem {
        margin-top: 1;
    }
    ConfirmConfigScreen #confirm-problem {
        color: $error;
    }
    ConfirmConfigScreen #confirm-buttons {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    ConfirmConfigScreen #confirm-buttons Button {
        margin-left: 2;
    }
    """

    def __init__(
        self,
        *,
        command: str = "",
        target: str = "",
        device_count: int | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.command = command
        self.target = target
        self.device_count = device_count

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static("Lift the read-only guard for the next run", id="confirm-title")
            yield Static(self._detail(), id="confirm-detail")
            yield Input(placeholder=f"type {CONFIRM_WORD}", id="confirm-input")
            yield Static("", id="confirm-problem")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="confirm-cancel")
                yield Button("Lift guard", id="confirm-ok", variant="warning", disabled=True)

    def _detail(self) -> Text:
        # Command and target are typed text: built as Text so a `[` stays a bracket.
        detail = Text()
        detail.append("The next command is sent as typed, configuration changes included, and the audit log ")
        detail.append("records that the guard was lifted.")
        if self.command:
            detail.append("\nCommand: ")
            detail.append(self.command, style="bold")
        if self.target:
            detail.append("\nTarget:  ")
            detail.append(self.target, style="bold")
            if self.device_count is not None:
                detail.append(f" ({self.device_count} device{'s' if self.device_count != 1 else ''})")
        detail.append("\n\nType ")
        detail.append(CONFIRM_WORD, style="bold")
        detail.append(" and press Enter to allow it for one run; Escape keeps the guard.")
        return detail

    def on_mount(self) -> None:
        self.query_one("#confirm-input", Input).focus()

    @on(Input.Changed, "#confirm-input")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm-ok", Button).disabled = not _confirmed(event.value)
        self.query_one("#confirm-problem", Static).update("")

    @on(Input.Submitted, "#confirm-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if _confirmed(event.value):
            self.dismiss(True)
        else:
            self.query_one("#confirm-problem", Static).update(f"Type {CONFIRM_WORD} exactly, or press Escape.")

    @on(Button.Pressed, "#confirm-ok")
    def _ok(self, event: Button.Pressed) -> None:
        event.stop()
        if _confirmed(self.query_one("#confirm-input", Input).value):
            self.dismiss(True)

    @on(Button.Pressed, "#confirm-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)


def _confirmed(typed: str) -> bool:
    return typed.strip() == CONFIRM_WORD
