"""Injected time: the clock protocol, the real clock, and a hand-driven clock for deterministic tests."""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Where time-dependent code reads the time.

    `now()` is wall-clock unix seconds (for display and for timestamps shared with devices);
    `monotonic()` never goes backwards (for ages, intervals and staleness).
    """

    def now(self) -> float: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told to, so tests can assert exact rates and ages.

    `advance()` moves both readings together, as real time does. `set()` steps only the wall
    clock (like an NTP step), leaving the monotonic reading alone.
    """

    def __init__(self, start: float = 1_767_225_600.0, *, monotonic_start: float = 1_000.0) -> None:
        self._wall = float(start)
        self._monotonic = float(monotonic_start)

    def now(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot advance by a negative amount ({seconds} s)")
        self._wall += seconds
        self._monotonic += seconds

    def set(self, unix_seconds: float) -> None:
        self._wall = float(unix_seconds)

    def __repr__(self) -> str:
        return f"ManualClock(now={self._wall}, monotonic={self._monotonic})"
