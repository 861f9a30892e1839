"""Stopping the bus's background tasks.

nats-py turns a cancellation that arrives during a request into its own errors (a publish cancelled while it waits
for the stream's acknowledgement raises `TimeoutError` or `TooManyStalledMsgsError`), so a loop that survives bus
errors with `except Exception` also survives being cancelled, and whoever awaited it after `cancel()` waited forever.
Two halves keep that from happening: the loops re-raise when their task is being cancelled (`raise_if_cancelling`),
and `stop_tasks` cancels again until each task has ended.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

# How long one cancellation is given before it is sent again.
RECANCEL_EVERY_S = 0.5


def raise_if_cancelling() -> None:
    """Call from an `except Exception` around a bus call: a cancellation that the library swallowed is not a bus
    error, and the loop must end."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def stop_tasks(tasks: Iterable[asyncio.Task[object]] | Iterable[asyncio.Task[None]]) -> None:
    """Cancel `tasks` and wait until every one has ended, cancelling again any that absorbed the cancellation."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_EVERY_S)
        for task in pending:
            log.debug("task %s absorbed its cancellation; cancelling it again", task.get_name())
