"""The contract between the console and its live panes: what is selected, and the coalesced refresh tick."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from textual.message import Message

from edgeops.fleet.store import ChangeSet, FleetStore


@dataclass(frozen=True)
class Selection:
    """What the engineer is looking at: one device, one site, or the whole fleet."""

    kind: Literal["device", "site", "fleet"]
    key: str = ""  # device name or site code; empty for the fleet


class SelectionChanged(Message):
    """Posted by the site map (or the palette) when the engineer picks a device or a site."""

    def __init__(self, selection: Selection) -> None:
        super().__init__()
        self.selection = selection


class LivePane(Protocol):
    """A pane that shows store data. The app calls these; panes never subscribe to telemetry themselves.

    `select` is called when the selection changes; `apply_changes` on the app's refresh tick (at most 4 Hz) with what
    changed in the store since the pane's last tick, and only while the pane is visible. A pane diffs its rows by key
    and updates only what changed.
    """

    def select(self, store: FleetStore, selection: Selection) -> None: ...

    def apply_changes(self, store: FleetStore, changes: ChangeSet) -> None: ...
