"""A read-only session (edgeops --readonly) says READ-ONLY on the status bar; an ordinary one does not."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app import WIDE, StoreOnlyEngine, screen_text, wait_for

from conftest import SampleFleet
from edgeops.cli.console import ConsoleRuntime
from edgeops.ui.app import MainScreen, session_app


@pytest.mark.parametrize("readonly", [True, False])
async def test_the_status_bar_shows_read_only(sample_fleet: SampleFleet, readonly: bool) -> None:
    engine = StoreOnlyEngine(sample_fleet)

    class Runtime(ConsoleRuntime):
        def load_inventory(self):  # type: ignore[no-untyped-def]
            return sample_fleet.inventory, ()

        def make_engine(self, inventory, user):  # type: ignore[no-untyped-def]
            return engine

    runtime = Runtime(Path("inventory.yaml"), sample_fleet.paths, readonly=readonly)
    app = session_app(runtime, paths=sample_fleet.paths, readonly=runtime.readonly)  # as open_console builds it
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and engine.started, "the main screen")
        await pilot.pause(0.2)
        last_lines = "\n".join(screen_text(app).splitlines()[-3:])
        assert ("READ-ONLY" in last_lines) is readonly
