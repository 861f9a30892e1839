"""What the console needs from the program that starts it: the fleet's engine, and a session that reads the
inventory and builds that engine (edgeops.cli.console implements it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from edgeops.devices.samples import CommandResult, SessionState
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Device, Inventory
from edgeops.inventory.problems import Problem

if TYPE_CHECKING:
    from edgeops.devices.hostkeys import HostKeyEvent
    from edgeops.devices.supervisor import RestartOutcome

# The inventory, or the problems (FILE:LINE:COL) that keep it from loading.
InventoryLoad = tuple[Inventory | None, Sequence[Problem]]
# Asks the engineer for a password (a `prompt:` secret); raises SecretError when none is given.
PasswordPrompt = Callable[[str], Awaitable[str]]


class Engine(Protocol):
    """What the console needs of the fleet engine (edgeops.fleet.engine.FleetEngine).

    It is the command runner's transport and the subscription view's control too.
    """

    @property
    def store(self) -> FleetStore: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def jump_states(self) -> Mapping[str, SessionState]: ...

    async def run_command(self, device: Device, command: str, *, timeout_s: float) -> CommandResult: ...

    async def aclose(self) -> None: ...

    def restart_subscriptions(self, device: str, group: str | None = None) -> RestartOutcome: ...


class ConsoleUser(Protocol):
    """The engineer at the console, as the engine reaches them: for a password, and about host keys."""

    async def ask_password(self, prompt: str) -> str:
        """A password for a `prompt:` secret; raises SecretError when none is given."""

    def host_key_added(self, event: HostKeyEvent) -> None:
        """A host key was recorded on first use (accept-new): tell the engineer, with its fingerprint."""

    async def confirm_host_key(self, event: HostKeyEvent) -> bool:
        """Whether to trust a host key seen for the first time (policy ask)."""


class ConsoleSession(Protocol):
    """Where the console reads its fleet, after its first frame, and what the process does around the engine's life.

    `load_inventory` runs in a thread (parsing a large inventory is CPU work, and the engine's imports are heavy);
    `make_engine` then runs on the console's event loop, handed the console's way of reaching the engineer.
    """

    @property
    def inventory_file(self) -> Path: ...

    def load_inventory(self) -> InventoryLoad: ...

    def make_engine(self, inventory: Inventory, user: ConsoleUser) -> Engine: ...

    def engine_starting(self) -> None:
        """The engine is about to open every session (the connect storm starts)."""

    def fleet_settled(self) -> None:
        """Every device has connected, or failed to: the storm is over."""

    def console_closed(self) -> None:
        """The console has stopped the engine and is going away."""
