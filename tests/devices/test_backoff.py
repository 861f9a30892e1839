"""Reconnect pacing: capped exponential backoff with full jitter, and the shared limiter on connection opens."""

from __future__ import annotations

import asyncio
import random

import pytest

from edgeops.devices.backoff import SEVERE, TRANSIENT, Backoff, BackoffPolicy
from edgeops.devices.ratelimit import ConnectLimiter

# -- backoff ----------------------------------------------------------------------------------------


def test_the_ceiling_doubles_from_the_base_up_to_the_cap() -> None:
    policy = BackoffPolicy(base_s=1.0, cap_s=60.0)
    assert [policy.ceiling(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert policy.ceiling(10_000) == 60.0  # no float overflow after days of failures


def test_full_jitter_spreads_delays_over_the_whole_window() -> None:
    policy = BackoffPolicy(base_s=1.0, cap_s=60.0)
    rng = random.Random(1)
    delays = [policy.delay(4, rng) for _ in range(2000)]
    assert all(0.0 <= delay <= 8.0 for delay in delays)
    # Spread evenly, not clustered at the ceiling: 500 devices retrying after the same failure do not return in step.
    assert min(delays) < 0.1 and max(delays) > 7.9
    assert 3.6 < sum(delays) / len(delays) < 4.4


def test_delays_are_reproducible_with_a_seeded_rng() -> None:
    first = Backoff(rng=random.Random(42))
    second = Backoff(rng=random.Random(42))
    a = [first.next_delay() for _ in range(10)]
    b = [second.next_delay() for _ in range(10)]
    assert a == b
    assert a != [Backoff(rng=random.Random(43)).next_delay() for _ in range(10)]


def test_failures_grow_the_window_and_a_reset_starts_again() -> None:
    backoff = Backoff(BackoffPolicy(base_s=1.0, cap_s=60.0), rng=random.Random(3))
    for n in range(1, 12):
        assert backoff.next_delay() <= min(60.0, 2 ** (n - 1))
    assert backoff.failures == 11
    backoff.reset()
    assert backoff.failures == 0
    assert backoff.next_delay() <= 1.0


def test_auth_and_host_key_failures_wait_longer() -> None:
    backoff = Backoff(rng=random.Random(5))
    severe = [backoff.next_delay(severe=True) for _ in range(12)]
    assert all(SEVERE.floor_s <= delay <= SEVERE.cap_s for delay in severe)
    assert SEVERE.cap_s == 300.0 and TRANSIENT.cap_s == 60.0
    assert max(severe) > TRANSIENT.cap_s  # the long cap is really reached after a few failures


@pytest.mark.parametrize(
    ("base", "cap", "floor"),
    [(0.0, 60.0, 0.0), (1.0, 0.0, 0.0), (1.0, 10.0, 11.0), (1.0, 10.0, -1.0)],
)
def test_nonsense_policies_are_refused(base: float, cap: float, floor: float) -> None:
    with pytest.raises(ValueError):
        BackoffPolicy(base_s=base, cap_s=cap, floor_s=floor)


# -- the connection limiter -------------------------------------------------------------------------


class FakeTime:
    """A clock that only moves when the limiter sleeps, so the schedule it builds can be read exactly."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(0)


def test_reservations_follow_the_rate_after_the_burst() -> None:
    fake = FakeTime()
    limiter = ConnectLimiter(max_concurrent=100, per_second=10.0, burst=3, time=fake.time)
    waits = [limiter.reserve() for _ in range(6)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2, 0.3])
    fake.now = 10.0  # idle for a while: the burst is available again, no more
    assert [limiter.reserve() for _ in range(4)] == pytest.approx([0.0, 0.0, 0.0, 0.1])


async def test_concurrent_opens_are_capped_and_started_at_the_rate() -> None:
    fake = FakeTime()
    limiter = ConnectLimiter(max_concurrent=4, per_second=100.0, burst=4, time=fake.time, sleep=fake.sleep)
    release = asyncio.Event()
    opened = 0

    async def open_one() -> None:
        nonlocal opened
        async with limiter.opening():
            opened += 1
            await release.wait()

    tasks = [asyncio.create_task(open_one()) for _ in range(50)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert opened == 4 and limiter.in_flight == 4  # the rest wait for a free slot
    release.set()
    await asyncio.gather(*tasks)
    assert opened == 50 and limiter.granted == 50 and limiter.peak_in_flight == 4
    # Past the burst, every start waited for its slot at 100 per second: the schedule grows by 10 ms per open.
    assert limiter.delayed == 46
    assert max(fake.sleeps) == pytest.approx(0.46)


async def test_a_cancelled_waiter_frees_its_slot() -> None:
    limiter = ConnectLimiter(max_concurrent=1, per_second=1000.0)
    entered = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with limiter.opening():
            entered.set()
            await release.wait()

    first = asyncio.create_task(holder())
    await entered.wait()
    waiting = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiting.cancel()
    release.set()
    await first
    with pytest.raises(asyncio.CancelledError):
        await waiting
    async with asyncio.timeout(5):
        async with limiter.opening():
            assert limiter.in_flight == 1
    assert limiter.in_flight == 0


@pytest.mark.parametrize(("concurrent", "rate"), [(0, 10.0), (4, 0.0)])
def test_a_limiter_must_let_something_through(concurrent: int, rate: float) -> None:
    with pytest.raises(ValueError):
        ConnectLimiter(concurrent, rate)
