"""The palette's "Go back to…": replay the console's own recording from a time, in the same panes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from edgeops.ui.replay.reading import console_recording
from edgeops.ui.sanitize import markup_literal, safe_content

if TYPE_CHECKING:
    from textual.app import App

log = logging.getLogger(__name__)

GO_BACK = "Go back to…"
GO_BACK_HELP = "replay the recording from a time (HH:MM), in the same panes"
BACK_TO_LIVE = "Back to live"


def recording_path(app: App[Any]) -> Path | None:
    """The recording this console writes: its recorder's file (recording-2... when another console records in the
    same folder), else the folder's first recording; None without paths."""
    session = getattr(getattr(app, "settings", None), "session", None)
    recorder = getattr(session, "recorder", None)
    if recorder is not None:
        return Path(recorder.path)
    paths = getattr(app, "paths", None)
    return console_recording(paths) if paths is not None else None


def go_back(app: App[Any]) -> None:
    """Ask for a time and replay the console's recording from it (in a replay: jump to another time)."""
    replay = getattr(app, "replay", None)
    if replay is not None and replay.active:
        replay.act("jump")
        return
    path = recording_path(app)
    if path is None or not path.exists():
        app.notify("there is no recording to go back in (recording is off)", severity="warning", markup=False)
        return
    from edgeops.ui.replay.opening import open_recording_in

    open_recording_in(app, path)


class GoBackProvider(Provider):
    """Go back to a time (a replay of the recording), and back to live."""

    def _commands(self) -> list[tuple[str, Any, str]]:
        app = self.app
        replay = getattr(app, "replay", None)
        commands: list[tuple[str, Any, str]] = [(GO_BACK, lambda: go_back(app), GO_BACK_HELP)]
        if replay is not None and replay.active:
            commands.append((BACK_TO_LIVE, lambda: replay.act("live"), "key L"))
        return commands

    async def discover(self) -> Hits:
        if not getattr(self.app, "has_fleet", False):
            return
        for label, command, help_text in self._commands():
            yield DiscoveryHit(safe_content(label), command, help=markup_literal(help_text))

    async def search(self, query: str) -> Hits:
        if not getattr(self.app, "has_fleet", False):
            return
        matcher = self.matcher(query)
        for label, command, help_text in self._commands():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), command, text=label, help=markup_literal(help_text))
