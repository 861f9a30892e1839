"""Starting a replay: a console on a recording (`edgeops replay`), or a running console going back in its own."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App

from edgeops.clock import Clock
from edgeops.inventory.model import Inventory
from edgeops.paths import AppPaths
from edgeops.recording.reader import Recording
from edgeops.ui.replay.controller import JumpScreen, ReplayController, device_on_screen
from edgeops.ui.replay.player import ReplayPlayer, parse_clock_time
from edgeops.ui.replay.reading import RecordingReader
from edgeops.ui.timeline.model import clock_text

if TYPE_CHECKING:  # the app module imports this package
    from edgeops.ui.app import EdgeOpsApp

log = logging.getLogger(__name__)


def open_reader(path: Path) -> RecordingReader:
    """The recording at `path`, opened for reading (RecordingError when it cannot be read as a whole)."""
    return Recording.open(path)


def replay_app(
    recording: RecordingReader,
    inventory: Inventory,
    *,
    paths: AppPaths,
    at: float | None = None,
    speed: int = 1,
    paused: bool = False,
    theme: str | None = None,
) -> EdgeOpsApp:
    """The console on a recording: the same panes, fed by a ReplayPlayer instead of the engine, read-only."""
    from edgeops.fleet.command_transport import NotConnected
    from edgeops.fleet.commands import CommandRunner
    from edgeops.ui.app import store_app

    # No device's counters until the console says which device is on screen (ReplayController.attach).
    player = ReplayPlayer(recording, inventory, at=at, speed=speed, counters_of="")
    player.paused = paused
    clock: Clock = player.clock
    # Nothing is sent in a replay (the pane refuses before this), and nothing is written to the audit log.
    runner = CommandRunner(NotConnected(), audit=None, source="console", clock=lambda: player.time)
    app = store_app(inventory, paths=paths, store=player.store, clock=clock, theme=theme, command_runner=runner)
    app.replay = ReplayController(player)
    return app


def open_recording_in(app: App[Any], path: Path) -> None:
    """Ask for a time, then show the recording from it in this console; L comes back to the live store."""
    try:
        recording = open_reader(path)
        start, end = recording.span()
    except Exception as error:  # the reader's typed errors are its own; whatever it is, the console goes on
        log.warning("could not open the recording %s: %r", path, error)
        app.notify(f"the recording cannot be read: {error}", severity="error", markup=False)
        return
    hint = f"Go back to a time between {clock_text(start, None)} and {clock_text(end, None)}"

    def answered(text: str | None) -> None:
        if not text:
            return
        try:
            when = parse_clock_time(text, start, end)
        except ValueError as error:
            app.notify(str(error), severity="warning", markup=False)
            return
        inventory = getattr(app, "inventory", None)
        if inventory is None:
            return
        player = ReplayPlayer(recording, inventory, at=when, counters_of=device_on_screen(app))
        player.paused = True
        controller = ReplayController(player, live_store=getattr(app, "store", None))
        app.replay = controller  # type: ignore[attr-defined]
        controller.attach(app)

    app.push_screen(JumpScreen(hint), answered)
