"""`edgeops`: the full-screen console on the configured inventory, and the runtime around it (the inventory, the
engine, the garbage collector's policy); `--demo` hands over to cli/demo.py."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from edgeops.cli.exit_codes import ExitCode
from edgeops.paths import AppPaths

if TYPE_CHECKING:  # the console's modules pull in textual: imported only when the console starts
    from edgeops.bus.connection import BusSettings
    from edgeops.bus.source import BusSource
    from edgeops.fleet.engine import EngineSettings, FleetEngine
    from edgeops.inventory.model import Inventory
    from edgeops.ui.session import ConsoleUser, InventoryLoad

log = logging.getLogger(__name__)


def run_console(args: argparse.Namespace, paths: AppPaths) -> int:
    """`edgeops` and `edgeops --demo`: the console on the configured inventory, or on a demo lab it starts."""
    from edgeops.logging_setup import configure_logging

    # The console owns the terminal: everything logged goes to the rotating file, nothing to the screen.
    configure_logging(paths.log_file, args.log_level)
    problem = _theme_problem(args.theme, paths)
    if problem:
        print(f"edgeops: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    if args.demo:
        if not interactive():
            return no_terminal()
        from edgeops.cli.demo import run_demo

        return run_demo(paths, args.theme)
    return _run_on_inventory(paths, args.theme, getattr(args, "source", None))


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def no_terminal() -> int:
    print("edgeops: the console needs a terminal (for scripts, see `edgeops run`)", file=sys.stderr)
    return ExitCode.USAGE


def _theme_problem(theme: str | None, paths: AppPaths) -> str:
    if not theme:
        return ""
    from edgeops.ui.themes import theme_names

    names = theme_names(paths.user_themes_dir)
    if theme in names:
        return ""
    return f"unknown theme {theme!r}; themes: {', '.join(sorted(names))}"


def _run_on_inventory(paths: AppPaths, theme: str | None, bus_url: str | None = None) -> int:
    bus = None
    if bus_url is not None:  # the fleet from collectors on a bus: it must answer before the console opens
        from edgeops.cli.collect import reach_bus

        bus = reach_bus(bus_url)
        if bus is None:
            return ExitCode.USAGE
    source = paths.inventory
    if not source.exists():
        print(
            f"edgeops: no inventory at {source}\n"
            "  write one (see docs/inventory.md), pass --inventory FILE (edgeops YAML, a containerlab topology\n"
            "  or a Nornir hosts.yaml), set EDGEOPS_INVENTORY, or try the console on simulated devices:"
            " edgeops --demo",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    if not interactive():
        # No screen to show them on: the problems go to stderr, as `edgeops inventory check` prints them.
        from edgeops.cli.inventory import load_or_report

        if load_or_report(source) is None:
            return ExitCode.USAGE
        return no_terminal()
    return open_console(ConsoleRuntime(source, paths, bus=bus), theme=theme)


def open_console(runtime: ConsoleRuntime, *, theme: str | None) -> int:
    """Run the console on the runtime's inventory until it exits; returns the exit status.

    The first frame comes first: the inventory is read (and the engine's heavy imports paid) in the background,
    then the engine is built and started on the console's event loop.
    """
    from edgeops.ui.app import session_app

    app = session_app(runtime, paths=runtime.paths, theme=theme, handle_signals=True)
    try:
        app.run()
    except Exception:
        log.exception("the console failed")
        raise
    finally:
        runtime.console_closed()  # also when the console failed before unmounting
    return app.return_code or ExitCode.OK


class ConsoleRuntime:
    """The console's session (edgeops.ui.session.ConsoleSession): reads the inventory, builds the engine, and keeps
    the garbage collector off the long-lived heap while the engine runs."""

    def __init__(
        self,
        inventory_file: Path,
        paths: AppPaths,
        engine_settings: EngineSettings | None = None,
        bus: BusSettings | None = None,
    ) -> None:
        """bus: the fleet comes from collectors on this bus instead of from sessions of the console's own."""
        self.inventory_file = inventory_file
        self.bus = bus
        self.paths = paths
        self.engine_settings = engine_settings
        self.heap_frozen = False  # some of the heap is in the garbage collector's permanent generation

    def load_inventory(self) -> InventoryLoad:
        """The inventory, or its problems; run in a thread, so the engine's imports are paid here too."""
        from edgeops.cli.inventory import read_inventory

        began = time.perf_counter()
        inventory, problems = read_inventory(self.inventory_file)
        read = time.perf_counter()
        if inventory is None:
            log.warning(
                "the inventory %s does not load:\n%s",
                self.inventory_file,
                "\n".join(problem.format() for problem in problems),
            )
        else:
            import edgeops.fleet.engine  # noqa: F401  (the SSH and gRPC libraries: imported here, off the loop)
        log.info(
            "inventory %s read in %.2f s, engine imported in %.2f s",
            self.inventory_file,
            read - began,
            time.perf_counter() - read,
        )
        return inventory, problems

    def make_engine(self, inventory: Inventory, user: ConsoleUser) -> FleetEngine | BusSource:
        if self.bus is not None:
            from edgeops.bus.source import BusSource

            return BusSource(inventory, self.bus)
        from edgeops.fleet.engine import FleetEngine

        return FleetEngine(
            inventory,
            self.paths,
            settings=self.engine_settings,
            password_prompt=user.ask_password,
            on_new_host_key=user.host_key_added,
            confirm_host_key=user.confirm_host_key,
        )

    def engine_starting(self) -> None:
        # What is alive now (the imports, the inventory, the screens) lives as long as the console: full
        # collections during the connect storm need not walk it (their longest pause at 200 devices: 134 ms
        # without, 56 ms with, in bench/sessions.py --gc-freeze).
        self.heap_frozen = True
        gc.freeze()

    def fleet_settled(self) -> None:
        """Once every device has connected (or failed to), keep the full garbage collections off what is alive.

        After the connect storm the heap holds hundreds of thousands of long-lived objects (sessions, channels, the
        store's rows and history) that a full collection walks every time, holding the event loop: 0.2 to 0.4 s
        per collection at 500 devices. Moved to the permanent generation, they are no longer walked (a full
        collection then takes well under 0.2 s); objects freed by reference counting are still freed.
        """
        self.heap_frozen = True
        gc.collect()  # what the storm left as garbage is not kept for the rest of the run
        gc.freeze()
        log.info("fleet settled: %d long-lived objects kept out of garbage collection", gc.get_freeze_count())

    def console_closed(self) -> None:
        if self.heap_frozen:
            gc.unfreeze()  # a process that goes on (the demo stopping its lab, the tests) collects them again
            self.heap_frozen = False
