"""Searching a command's output as less and vim do: plain substrings, smart case, matches as spans of the shown text.

Matching runs on the text exactly as the screen shows it (device text already made inert by ui/sanitize.py), and a
match is highlighted by styling a span of that Text: nothing is ever parsed as markup, so an output holding
`[bold]` is searched, and drawn, as those seven characters.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text


def fold_case(text: str) -> str:
    """`text` in lower case, one character for one: a match's offsets in it are offsets in the shown text.

    casefold() turns ß into ss, and lower() turns İ into two characters: either would shift every span after it.
    """
    folded = text.lower()
    if len(folded) == len(text):
        return folded
    return "".join(lowered if len(lowered := char.lower()) == 1 else char for char in text)


@dataclass(frozen=True)
class SearchPattern:
    """What the engineer typed after `/`: a plain substring (no regular expression).

    Smart case, as `less -i` and vim's `smartcase`: case is ignored unless the pattern holds an upper-case letter.
    """

    text: str

    @property
    def case_sensitive(self) -> bool:
        return any(char.isupper() for char in self.text)

    def _folded(self, haystack: str) -> str:
        if self.case_sensitive:
            return haystack
        return fold_case(haystack)

    def spans(self, haystack: str) -> list[tuple[int, int]]:
        """(start, end) of every match in `haystack`, left to right, not overlapping."""
        if not self.text:
            return []
        needle, text = self._folded(self.text), self._folded(haystack)
        found: list[tuple[int, int]] = []
        start = text.find(needle)
        while start != -1:
            found.append((start, start + len(needle)))
            start = text.find(needle, start + len(needle))
        return found

    def found_in(self, haystack: str) -> bool:
        return bool(self.text) and self._folded(self.text) in self._folded(haystack)


@dataclass(frozen=True)
class TextMatch:
    """One match in a shown text: where it starts and ends in the text, and where it is on the screen."""

    start: int
    end: int
    line: int  # the line it is on (the output is drawn unwrapped: one line of text, one line on the screen)
    column: int  # in cells from the start of that line
    width: int  # in cells


def find_matches(text: str, pattern: SearchPattern) -> list[TextMatch]:
    """Every match of `pattern` in `text`, with its line and cell column for scrolling to it."""
    matches: list[TextMatch] = []
    line, line_start, scanned = 0, 0, 0
    for start, end in pattern.spans(text):
        newlines = text.count("\n", scanned, start)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", 0, start) + 1
        scanned = start
        column = cell_len(text[line_start:start])
        matches.append(TextMatch(start, end, line, column, max(cell_len(text[start:end]), 1)))
    return matches


def highlight(text: Text, matches: list[TextMatch], style: Style, current: int | None, current_style: Style) -> Text:
    """A copy of `text` with every match styled, the current one (an index into `matches`) apart."""
    shown = text.copy()
    for index, match in enumerate(matches):
        shown.stylize(current_style if index == current else style, match.start, match.end)
    return shown


def first_at_or_after(matches: list[TextMatch], line: int) -> int:
    """The index of the first match on `line` or below (the top of the view), wrapping to the first match."""
    return next((index for index, match in enumerate(matches) if match.line >= line), 0)


def step(index: int, count: int, forward: bool) -> tuple[int, bool]:
    """The next (or previous) of `count` matches after `index`, and whether that went round the end."""
    target = index + (1 if forward else -1)
    return target % count, not 0 <= target < count
