"""TurnPacer: many streams' CPU work shares each event-loop turn instead of holding the loop one after another."""

from __future__ import annotations

import asyncio

import pytest

from edgeops.devices.pacing import TurnPacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TurnCounter:
    """Counts event-loop turns: a callback that schedules itself again every turn."""

    def __init__(self) -> None:
        self.turn = 0
        self._running = True
        asyncio.get_running_loop().call_soon(self._tick)

    def _tick(self) -> None:
        if self._running:
            self.turn += 1
            asyncio.get_running_loop().call_soon(self._tick)

    def stop(self) -> None:
        self._running = False


async def test_work_arriving_together_is_spread_over_turns_of_at_most_one_slice() -> None:
    clock = FakeClock()
    pacer = TurnPacer(0.005, clock=clock)
    turns = TurnCounter()
    worked: list[tuple[int, int]] = []  # (turn, stream)

    async def stream(index: int) -> None:
        await pacer.turn()
        worked.append((turns.turn, index))
        clock.now += 0.002  # decoding one notification

    await asyncio.gather(*(stream(index) for index in range(10)))
    turns.stop()

    assert sorted(index for _, index in worked) == list(range(10))
    per_turn: dict[int, int] = {}
    for turn, _ in worked:
        per_turn[turn] = per_turn.get(turn, 0) + 1
    # 2 ms pieces under a 5 ms slice: three pieces a turn (the third starts at 4 ms), never more.
    assert max(per_turn.values()) == 3
    assert len(per_turn) == 4
    # Streams that waited go in the order they arrived.
    assert [index for _, index in worked] == list(range(10))
    assert pacer.waits > 0


async def test_timers_due_meanwhile_run_between_the_windows() -> None:
    clock = FakeClock()
    pacer = TurnPacer(0.005, clock=clock)
    events: list[str] = []

    async def stream(index: int) -> None:
        await pacer.turn()
        events.append(f"work {index}")
        clock.now += 0.004

    loop = asyncio.get_running_loop()
    loop.call_later(0, events.append, "timer")  # due at once: without pacing it would wait for all the work
    await asyncio.gather(*(stream(index) for index in range(6)))

    assert events.index("timer") < events.index("work 5")
    assert events.index("timer") <= 2


async def test_a_lone_stream_never_waits_for_work_done_in_earlier_turns() -> None:
    clock = FakeClock()
    pacer = TurnPacer(0.005, clock=clock)
    for _ in range(20):
        await pacer.turn()
        clock.now += 0.004  # each piece fits the slice; the next one comes in a later turn
        await asyncio.sleep(0)
    assert pacer.waits == 0


async def test_a_cancelled_waiter_does_not_strand_the_others() -> None:
    clock = FakeClock()
    pacer = TurnPacer(0.005, clock=clock)
    done: list[int] = []

    async def stream(index: int) -> None:
        await pacer.turn()
        clock.now += 0.006
        done.append(index)

    first = asyncio.create_task(stream(0))
    doomed = asyncio.create_task(stream(1))
    last = asyncio.create_task(stream(2))
    await asyncio.sleep(0)  # stream 0 works; 1 and 2 wait at the gate
    doomed.cancel()
    await asyncio.wait_for(asyncio.gather(first, last), 1.0)
    assert done == [0, 2]
    assert doomed.cancelled()


def test_the_slice_must_be_positive() -> None:
    with pytest.raises(ValueError):
        TurnPacer(0)
