"""The help screen: every key binding of the console and its panes, generated from their BINDINGS, and the badges."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Static

from edgeops.ui.panes.site_map import BADGE_COMPONENT, BADGE_MEANING, BADGE_TEXT

# Keys every Textual app has that are worth telling a newcomer about (they live in Textual's own classes).
TEXTUAL_KEYS: tuple[tuple[str, str], ...] = (
    ("tab / shift+tab", "Next / previous widget"),
    ("ctrl+p", "Command palette: jump to a device or site, run a command, themes, panes"),
    ("ctrl+q", "Quit, as q does (asks first while a command is running)"),
)


@dataclass(frozen=True)
class HelpSection:
    title: str
    keys: tuple[tuple[str, str], ...]  # (key as displayed, what it does)


def class_bindings(cls: type[DOMNode]) -> list[Binding]:
    """The bindings a class declares itself and inherits from edgeops classes, the nearest declaration winning.

    Bindings inherited from Textual's own widgets (an Input's ctrl+w, a DataTable's page keys) are left out:
    they behave as everywhere else, and listing them would bury ours.
    """
    # Keyed by key and action: one key may do different things depending on the state (escape cancels a run, or
    # leaves the command line), and a subclass redefining a key for the same action replaces it.
    merged: dict[tuple[str, str], Binding] = {}
    for base in reversed(cls.__mro__):
        declared = base.__dict__.get("BINDINGS")
        if not declared or not (base is cls or base.__module__.startswith("edgeops.")):
            continue
        for binding in Binding.make_bindings(declared):
            merged[binding.key, binding.action] = binding
    return list(merged.values())


def describe_bindings(app: App[Any], bindings: Iterable[Binding]) -> tuple[tuple[str, str], ...]:
    """(keys, description) rows; keys bound to the same description share a row, exact repeats are dropped."""
    rows: dict[str, list[str]] = {}  # description -> keys, in the order first seen
    for binding in bindings:
        description = binding.description or binding.tooltip or binding.action.replace("_", " ")
        key = app.get_key_display(binding)
        keys = rows.setdefault(description, [])
        if key not in keys:
            keys.append(key)
    return tuple((" / ".join(keys), description) for description, keys in rows.items())


def section_for(app: App[Any], title: str, classes: Sequence[type[DOMNode]]) -> HelpSection:
    bindings: list[Binding] = []
    for cls in classes:
        bindings.extend(class_bindings(cls))
    return HelpSection(title, describe_bindings(app, bindings))


class HelpScreen(ModalScreen[None]):
    """Escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "Close help"),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > #help-body {
        width: 90;
        max-width: 100%;
        height: 90%;
        border: round $primary;
        border-title-color: $primary;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen .help-section {
        margin-bottom: 1;
    }
    """

    def __init__(self, sections: Sequence[HelpSection], badge_styles: dict[str, str] | None = None) -> None:
        super().__init__()
        self.sections = list(sections)
        self._badge_styles = badge_styles or {}

    def compose(self) -> ComposeResult:
        body = VerticalScroll(id="help-body")
        body.border_title = "Keys  (Esc closes)"
        with body:
            for section in self.sections:
                if section.keys:
                    yield Static(self._table(section.title, section.keys), classes="help-section")
            yield Static(self._table("Textual", TEXTUAL_KEYS), classes="help-section")
            yield Static(self._badges(), classes="help-section")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    @staticmethod
    def _table(title: str, rows: Iterable[tuple[str, str]]) -> Table:
        table = Table(title=title, title_justify="left", title_style="bold", show_header=False, box=None, expand=True)
        table.add_column("key", style="bold", no_wrap=True, min_width=18)
        table.add_column("does", ratio=1)
        for key, description in rows:
            table.add_row(Text(key), Text(description))
        return table

    def _badges(self) -> Table:
        table = Table(
            title="Site map badges", title_justify="left", title_style="bold", show_header=False, box=None, expand=True
        )
        table.add_column("badge", no_wrap=True, min_width=18)
        table.add_column("means", ratio=1)
        for badge, label in BADGE_TEXT.items():
            table.add_row(Text(label, style=self._badge_styles.get(BADGE_COMPONENT[badge], "")), BADGE_MEANING[badge])
        table.add_row(Text("▲3"), "active alarms (colour: the most severe)")
        return table

    def action_close(self) -> None:
        self.dismiss(None)
