"""The commands run then: a recording's command events as the command runner's runs, read-only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from edgeops.devices.samples import CommandResult
from edgeops.inventory.model import Inventory
from edgeops.ui.results.model import CommandRun

LOOK_BACK_S = 86_400.0  # the runner shows the last run of the day before the replayed time


class RecordedCommand(Protocol):
    """What is shown of a recorded command (edgeops.fleet.events.CommandRan): the result as the runner had it."""

    @property
    def device(self) -> str: ...

    @property
    def time(self) -> float: ...

    @property
    def result(self) -> CommandResult: ...

    @property
    def run_id(self) -> str: ...


def runs_of(events: Iterable[RecordedCommand], inventory: Inventory) -> list[CommandRun]:
    """Recorded commands grouped into runs (by run id, else by command and minute), oldest first."""
    devices = {device.name: device for device in inventory.devices}
    grouped: dict[str, list[RecordedCommand]] = {}
    for event in sorted(events, key=lambda e: e.time):
        key = event.run_id or f"{event.result.command}@{int(event.time // 60)}"
        grouped.setdefault(key, []).append(event)
    runs = []
    for members in grouped.values():
        results = [event.result for event in members]
        run = CommandRun(
            command=results[0].command,
            target=f"{len(members)} device{'s' if len(members) != 1 else ''} (recorded)",
            devices=tuple(devices[e.device] for e in members if e.device in devices),
            started=min(result.started for result in results),
            results=results,
        )
        run.ended = max(result.ended for result in results)
        runs.append(run)
    return sorted(runs, key=lambda run: run.started)


def last_run_before(recording: Any, inventory: Inventory, when: float) -> CommandRun | None:
    """The last run started at or before `when` (None: the recording holds no command before it)."""
    commands = getattr(recording, "commands", None)
    if commands is None:
        return None
    runs = runs_of(commands(when - LOOK_BACK_S, when), inventory)
    return runs[-1] if runs else None
