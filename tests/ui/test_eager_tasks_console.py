"""The console run as `edgeops` runs it, on the loop Textual prepares: tasks start eagerly there on Python 3.12+.

`App.run_test` leaves the loop as it is; `App.run_async` (what `App.run` calls) sets `asyncio.eager_task_factory`
first. So this test runs the app through `run_async`, headless, against a small lab on the same loop, and drives it
with the auto-pilot. On that loop every SSH login used to fail (see edgeops.devices.ssh_auth).
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot

from conftest import FAST_ENGINE, ConsoleLab
from edgeops.cli.console import ConsoleRuntime
from edgeops.cli.lab import write_lab_inventory
from edgeops.fleet.engine import FleetEngine
from edgeops.inventory.model import Inventory
from edgeops.ui.app import EdgeOpsApp, MainScreen, session_app
from edgeops.ui.screens.starting import StartingScreen
from edgeops.ui.session import PasswordPrompt

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(not hasattr(asyncio, "eager_task_factory"), reason="asyncio starts tasks eagerly from 3.12"),
]

# A bound on how long a broken console can hang the test, not a timing assertion.
WAIT_LIMIT_S = 45.0
SIZE = (160, 48)


def screen_text(app: EdgeOpsApp) -> str:
    """What the terminal shows, as plain text."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, record=True)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)


async def wait_for(pilot: Pilot[EdgeOpsApp], condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not condition():
        if time.monotonic() > deadline:
            # AssertionError, not pytest.fail: Textual's auto-pilot exits the app only on an Exception.
            raise AssertionError(f"gave up waiting for {what}\n{screen_text(pilot.app)}")
        await pilot.pause(0.1)


async def test_the_console_on_an_eager_loop_opens_an_inventory_and_every_device_comes_up(
    console_lab: ConsoleLab,
) -> None:
    inventory_file = write_lab_inventory(console_lab.lab, console_lab.paths.inventory)
    names = [device.name for device in console_lab.inventory.devices]
    engines: list[FleetEngine] = []

    class Runtime(ConsoleRuntime):
        def make_engine(self, inventory: Inventory, ask_password: PasswordPrompt) -> FleetEngine:
            engines.append(super().make_engine(inventory, ask_password))
            return engines[-1]

    # As the console opens an inventory file: first frame, the file read in a thread, then the engine on the loop.
    app = session_app(Runtime(inventory_file, console_lab.paths, FAST_ENGINE), paths=console_lab.paths)
    seen: dict[str, Any] = {}

    async def drive(pilot: Pilot[EdgeOpsApp]) -> None:
        try:
            seen["task_factory"] = asyncio.get_running_loop().get_task_factory()
            seen["first_screen"] = type(app.screen)
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")
            screen = app.screen
            assert isinstance(screen, MainScreen)
            await wait_for(pilot, lambda: screen.status_bar.figures.up == len(names), f"{len(names)} devices up")
            await pilot.pause(0.5)  # the status bar repaints on the next tick
            seen["figures"] = screen.status_bar.figures
            seen["text"] = screen_text(app)
            store = engines[0].store
            seen["sessions"] = {name: (store.device(name).ssh.value, store.device(name).gnmi.value) for name in names}
        finally:
            app.exit()

    loop = asyncio.get_running_loop()
    try:
        await app.run_async(headless=True, size=SIZE, auto_pilot=drive)
    finally:
        loop.set_task_factory(None)  # run_async leaves Textual's factory on the loop; the lab's teardown follows

    assert seen["task_factory"] is asyncio.eager_task_factory, "Textual runs the console with eager tasks"
    assert seen["first_screen"] is StartingScreen
    figures = seen["figures"]
    assert (figures.up, figures.degraded, figures.down, figures.total) == (5, 0, 0, 5)
    assert "5 up" in seen["text"]
    assert seen["sessions"] == dict.fromkeys(names, ("up", "up"))  # SSH and gNMI, every device
    assert len(engines) == 1 and engines[0]._closed, "quitting the console stops the engine"
