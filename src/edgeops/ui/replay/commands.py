"""The commands run then: a recording's command events as the command runner's runs, read-only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from edgeops.devices.samples import CommandResult
from edgeops.fleet.events import CommandRan
from edgeops.inventory.model import Inventory
from edgeops.ui.results.model import CommandRun

LOOK_BACK_S = 86_400.0  # the runner shows the last run of the day before the replayed time


def command_result(event: CommandRan) -> CommandResult:
    """The result as the command runner had it (the output as recorded: redacted, maybe capped)."""
    return CommandResult(
        device=event.device,
        command=event.command,
        output=event.output,
        started=event.started,
        ended=event.ended,
        ok=event.ok,
        reason=event.reason,
        failure=event.failure,
        guard_rule=event.guard_rule,
    )


def runs_of(events: Iterable[CommandRan], inventory: Inventory) -> list[CommandRun]:
    """Recorded commands grouped into runs (by run id, else by command and minute), oldest first."""
    devices = {device.name: device for device in inventory.devices}
    grouped: dict[str, list[CommandRan]] = {}
    for event in sorted(events, key=lambda e: e.time):
        key = event.run_id or f"{event.command}@{int(event.time // 60)}"
        grouped.setdefault(key, []).append(event)
    runs = []
    for members in grouped.values():
        results = [command_result(event) for event in members]
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
