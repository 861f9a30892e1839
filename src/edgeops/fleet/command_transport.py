"""What the command runner needs from whoever holds SSH sessions: the live engine, or sessions opened for one run."""

from __future__ import annotations

import time
from typing import Protocol

from edgeops.devices.samples import CommandResult, Failure
from edgeops.inventory.model import Device


class CommandTransport(Protocol):
    """Runs one command on one device and always returns a result (ok, or failed with a reason).

    The console's FleetEngine implements it over its persistent sessions; `edgeops run` uses an implementation
    that opens sessions on demand (a capped number at a time) and closes them when the run ends.
    """

    async def run_command(self, device: Device, command: str, *, timeout_s: float) -> CommandResult: ...

    async def aclose(self) -> None: ...


class NotConnected:
    """The transport of a console without an engine (a store filled by a test): every command fails, saying why."""

    async def run_command(self, device: Device, command: str, *, timeout_s: float) -> CommandResult:
        return CommandResult.failed(
            device.name,
            command,
            failure=Failure.NOT_CONNECTED,
            reason="not connected to the fleet",
            started=time.time(),
        )

    async def aclose(self) -> None:
        pass
