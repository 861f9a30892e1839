"""A limiter on opening connections, shared by every device: a cap on concurrent opens plus opens per second."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable


class ConnectLimiter:
    """Paces connection opens so a whole fleet coming back at once does not storm a jump host or the loop.

    `opening()` is held for the duration of one open (TCP, handshake, login): at most `max_concurrent` run at a
    time, and they start at no more than `per_second` a second after an initial `burst`. The rate is a
    reservation schedule (GCRA): each caller books the next free start slot before it sleeps, so waiters start
    in arrival order and a thousand callers cost one sleep each, not a polling loop.
    """

    def __init__(
        self,
        max_concurrent: int = 32,
        per_second: float = 100.0,
        *,
        burst: int | None = None,
        time: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.max_concurrent = max_concurrent
        self.per_second = per_second
        self.burst = max(1, burst if burst is not None else max_concurrent)
        self._interval = 1.0 / per_second
        self._tolerance = (self.burst - 1) * self._interval
        self._time = time
        self._sleep = sleep
        self._slots = asyncio.Semaphore(max_concurrent)
        self._next_start: float | None = None  # the theoretical time of the next start at the steady rate
        self.in_flight = 0
        self.peak_in_flight = 0
        self.granted = 0
        self.delayed = 0  # opens that had to wait for the rate (not counting waits for a free slot)

    def _now(self) -> float:
        return self._time() if self._time is not None else asyncio.get_running_loop().time()

    def reserve(self) -> float:
        """Book the next start slot; returns how long the caller must wait for it (0: start now)."""
        now = self._now()
        scheduled = now if self._next_start is None else max(self._next_start, now)
        self._next_start = scheduled + self._interval
        return max(0.0, scheduled - self._tolerance - now)

    @contextlib.asynccontextmanager
    async def opening(self) -> AsyncIterator[None]:
        """Hold this while opening one connection."""
        async with self._slots:
            wait = self.reserve()
            if wait > 0:
                self.delayed += 1
                await self._sleep(wait)
            self.granted += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                yield
            finally:
                self.in_flight -= 1
