"""Stopping the bus's loops when a library turns their cancellation into its own error (as nats-py does with a
publish cancelled while it waits for the stream's acknowledgement)."""

from __future__ import annotations

import asyncio
import contextlib

from edgeops.bus.tasks import raise_if_cancelling, stop_tasks


class BusError(Exception):
    """What the library raises instead of letting the cancellation through."""


async def request_that_swallows_cancellation() -> None:
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        raise BusError("timeout") from None


async def test_a_loop_that_absorbed_one_cancellation_is_still_stopped() -> None:
    calls = 0
    outbox: asyncio.Queue[str] = asyncio.Queue()
    outbox.put_nowait("one batch")

    async def loop() -> None:
        nonlocal calls
        while True:
            await outbox.get()  # where a second cancellation lands
            calls += 1
            with contextlib.suppress(BusError):  # survives bus errors, and so the cancellation
                await request_that_swallows_cancellation()

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=0.2)
    assert not done, "a single cancel() should have been absorbed (the failure this module exists for)"

    await asyncio.wait_for(stop_tasks([task]), timeout=10)
    assert task.cancelled()
    assert calls == 1


async def test_raise_if_cancelling_ends_a_loop_at_the_first_cancellation() -> None:
    async def loop() -> None:
        while True:
            try:
                await request_that_swallows_cancellation()
            except BusError:
                raise_if_cancelling()

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    assert done and task.cancelled()


async def test_bus_errors_outside_a_cancellation_do_not_end_the_loop() -> None:
    failures = 0

    async def flaky() -> None:
        nonlocal failures
        failures += 1
        raise BusError("the bus is away")

    async def loop() -> None:
        while True:
            try:
                await flaky()
            except BusError:
                raise_if_cancelling()
            await asyncio.sleep(0.01)

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.1)
    assert not task.done() and failures > 1
    await stop_tasks([task])
    assert task.cancelled()


async def test_stopping_nothing_and_finished_tasks_returns_at_once() -> None:
    finished = asyncio.create_task(asyncio.sleep(0))
    await finished
    await asyncio.wait_for(stop_tasks([]), timeout=1)
    await asyncio.wait_for(stop_tasks([finished]), timeout=1)
