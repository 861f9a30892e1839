"""Reconnect delays: capped exponential backoff with full jitter, longer for failures a retry will not fix soon."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffPolicy:
    """How long to wait before the next attempt after `n` consecutive failures.

    Full jitter (the delay is uniform between `floor_s` and min(cap, base x 2**(n-1))): hundreds of devices
    that failed at the same moment spread their retries over the whole window instead of returning in step.
    """

    base_s: float = 1.0
    cap_s: float = 60.0
    floor_s: float = 0.0  # never retry sooner than this (e.g. after a rejected login)

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s <= 0:
            raise ValueError("backoff base and cap must be positive")
        if not 0 <= self.floor_s <= self.cap_s:
            raise ValueError("backoff floor must be between 0 and the cap")

    def ceiling(self, failures: int) -> float:
        """The upper bound of the delay after `failures` consecutive failures (1 = the first failure)."""
        exponent = max(0, failures - 1)
        # 2**64 x base exceeds any sane cap: stop growing before the float overflows.
        if exponent >= 64:
            return self.cap_s
        return min(self.cap_s, self.base_s * 2**exponent)

    def delay(self, failures: int, rng: random.Random) -> float:
        ceiling = self.ceiling(failures)
        floor = min(self.floor_s, ceiling)
        return rng.uniform(floor, ceiling)


# Connection refused, timeouts, dropped sessions: the device or the path may be back any moment.
TRANSIENT = BackoffPolicy(base_s=1.0, cap_s=60.0)
# A rejected login or a changed host key needs a person; retrying often would only fill logs or lock accounts.
SEVERE = BackoffPolicy(base_s=30.0, cap_s=300.0, floor_s=10.0)


class Backoff:
    """The retry schedule of one connection: counts consecutive failures, forgets them after a success.

    Pass a seeded `random.Random` to make the delays reproducible in tests.
    """

    def __init__(
        self,
        transient: BackoffPolicy = TRANSIENT,
        severe: BackoffPolicy = SEVERE,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.transient = transient
        self.severe = severe
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self, *, severe: bool = False) -> float:
        """Record one more failure and return how long to wait before the next attempt."""
        self.failures += 1
        policy = self.severe if severe else self.transient
        return policy.delay(self.failures, self._rng)

    def reset(self) -> None:
        """The connection worked: the next failure starts the schedule again from the base."""
        self.failures = 0
