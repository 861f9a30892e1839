"""A share of each event-loop turn for CPU work that many streams have at once (decoding telemetry)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# How much CPU work one loop turn may do for all streams together before the loop goes round once.
TURN_SLICE_S = 0.005


class TurnPacer:
    """Keeps the decoding of many gNMI streams from holding the event loop for long in one turn.

    asyncio runs every callback that is ready in a turn before it looks at its timers and sockets again. When
    dozens of streams receive a notification in the same turn, and each decodes its own (a few milliseconds for
    an SR Linux notification of 50 interfaces), the turn lasts hundreds of milliseconds, and everything else on
    the loop waits that long: the console's keys and its refresh tick, SSH keepalives, other streams' timers.
    A per-stream time slice does not help: each stream stays under it and the sum is what holds the loop.

    Every stream awaits `turn()` before each piece of work. The first caller in a loop turn opens a window;
    callers within `slice_s` of it go ahead; after that, callers wait until the loop has gone round once (its
    timers and sockets served), then share the next window. When only a few streams have work, nobody waits.
    """

    def __init__(self, slice_s: float = TURN_SLICE_S, *, clock: Callable[[], float] = time.perf_counter) -> None:
        if slice_s <= 0:
            raise ValueError("slice_s must be positive")
        self.slice_s = slice_s
        self._clock = clock
        self._window_opened: float | None = None  # when this turn's first caller went ahead
        self._gate: asyncio.Event | None = None  # what callers past the slice wait on
        self.waits = 0  # times a caller had to wait (the tests read it)

    async def turn(self) -> None:
        """Return once this caller may do its piece of work in the current turn's window."""
        while True:
            opened = self._window_opened
            if opened is None:
                self._window_opened = self._clock()
                # Called at the start of the next turn, after every callback of this one: the window spans one
                # turn at most, so a caller in a later, quiet turn never waits for work done long before.
                asyncio.get_running_loop().call_soon(self._next_turn)
                return
            if self._gate is None and self._clock() - opened < self.slice_s:
                return
            if self._gate is None:
                self._gate = asyncio.Event()
            self.waits += 1
            await self._gate.wait()

    def _next_turn(self) -> None:
        # The callers waiting on the gate resume in the turn after this one: the timers and sockets that are
        # due in this turn are served first.
        self._window_opened = None
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.set()
