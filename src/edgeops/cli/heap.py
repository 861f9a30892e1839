"""What a long-running edgeops process does with the garbage collector: the console and the headless recorder alike.

At 200 devices and more the heap holds hundreds of thousands of objects that live as long as the process (sessions,
channels, the store's rows and history, the recorder's chains); every full collection walks them all, holding the
event loop 0.2 to 0.4 s at 500 devices. Moved to the permanent generation (`gc.freeze`) once the process has made
them, they are no longer walked; objects freed by reference counting are still freed.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


class LongLivedHeap:
    """Freezes what is alive at the engine's start and again once the fleet has settled; `release()` undoes it (a
    process that goes on, such as the demo stopping its lab or a test, collects those objects again)."""

    def __init__(self) -> None:
        self.frozen = False  # some of the heap is in the garbage collector's permanent generation

    def engine_starting(self) -> None:
        # What is alive now (the imports, the inventory, the screens) lives as long as the process: full collections
        # during the connect storm need not walk it (their longest pause at 200 devices: 134 ms without, 56 ms with,
        # in bench/sessions.py --gc-freeze).
        self.frozen = True
        gc.freeze()

    def fleet_settled(self) -> None:
        """Every device has connected (or failed to): what the storm left as garbage is collected, and what is alive
        is kept out of later collections."""
        self.frozen = True
        gc.collect()
        gc.freeze()
        log.info("fleet settled: %d long-lived objects kept out of garbage collection", gc.get_freeze_count())

    def release(self) -> None:
        if self.frozen:
            gc.unfreeze()
            self.frozen = False
