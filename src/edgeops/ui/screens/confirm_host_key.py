"""Asks whether to trust a device's host key seen for the first time (host-key policy ask), as OpenSSH asks."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from edgeops.ui.sanitize import safe_plain

if TYPE_CHECKING:  # (hostkeys pulls in asyncssh: not before the console's first frame)
    from edgeops.devices.hostkeys import HostKeyEvent


class ConfirmHostKeyScreen(ModalScreen[bool]):
    """Dismisses with True to record the key and connect, False to refuse it (the device stays hkey!)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Trust"),
        Binding("n,escape", "answer(False)", "Refuse"),
    ]

    DEFAULT_CSS = """
    ConfirmHostKeyScreen {
        align: center middle;
    }
    ConfirmHostKeyScreen > #hostkey-dialog {
        width: 76;
        max-width: 100%;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 1 2;
    }
    ConfirmHostKeyScreen #hostkey-title {
        text-style: bold;
    }
    ConfirmHostKeyScreen #hostkey-buttons {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    ConfirmHostKeyScreen Button {
        margin-left: 2;
    }
    """

    def __init__(self, event: HostKeyEvent) -> None:
        super().__init__()
        self.event = event

    def compose(self) -> ComposeResult:
        event = self.event
        with Vertical(id="hostkey-dialog"):
            yield Static("Trust a new host key?", id="hostkey-title")
            # Device text: plain, never markup.
            detail = (
                f"{safe_plain(event.device)} ({safe_plain(event.host_entry)}) is not in known_hosts.\n"
                f"Its key: {safe_plain(event.fingerprint)}\n"
                "Trust it only if the fingerprint is the one the device really has (ask whoever installed it)."
            )
            yield Static(detail, id="hostkey-detail", markup=False)
            with Horizontal(id="hostkey-buttons"):
                yield Button("Refuse (n)", id="hostkey-refuse", variant="primary")
                yield Button("Trust (y)", id="hostkey-trust", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#hostkey-refuse", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "hostkey-trust")

    def action_answer(self, trust: bool) -> None:
        self.dismiss(trust)
