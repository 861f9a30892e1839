"""Inventory mistakes with their FILE:LINE:COL position, and the one exception that carries them all."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One mistake in an inventory file. line and col are 1-based; None when the whole file is meant."""

    file: str
    line: int | None
    col: int | None
    message: str

    def format(self) -> str:
        if self.line is None:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.col or 1}: {self.message}"

    def __str__(self) -> str:
        return self.format()


class InventoryError(Exception):
    """Every problem found while loading an inventory; loading raises nothing else for user mistakes."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(self.format())

    def format(self) -> str:
        return "\n".join(problem.format() for problem in self.problems)


@dataclass(frozen=True)
class Position:
    """Where a value was written: a file, and a 1-based line and column when known."""

    file: str
    line: int | None = None
    col: int | None = None


class ProblemLog:
    """Collects problems while loading, dropping exact repeats (a bad value in a group reaches every member)."""

    def __init__(self) -> None:
        self._problems: list[Problem] = []
        self._seen: set[Problem] = set()

    def add(self, where: Position, message: str) -> None:
        problem = Problem(where.file, where.line, where.col, message)
        if problem not in self._seen:
            self._seen.add(problem)
            self._problems.append(problem)

    def __bool__(self) -> bool:
        return bool(self._problems)

    @property
    def problems(self) -> list[Problem]:
        # Files in the order they were first mentioned, then by position: the order an editor walks them.
        file_order: dict[str, int] = {}
        for problem in self._problems:
            file_order.setdefault(problem.file, len(file_order))
        return sorted(self._problems, key=lambda p: (file_order[p.file], p.line or 0, p.col or 0))

    def raise_if_any(self) -> None:
        if self._problems:
            raise InventoryError(self.problems)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


def one_of(choices: Iterable[str]) -> str:
    return ", ".join(choices)
