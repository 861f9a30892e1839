"""`edgeops`: the full-screen console on the configured inventory, and the runtime around it (the inventory, the
engine, the garbage collector's policy); `--demo` hands over to cli/demo.py."""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeops import defaults
from edgeops.cli.exit_codes import ExitCode
from edgeops.cli.heap import LongLivedHeap
from edgeops.paths import AppPaths
from edgeops.textsafety import escape_control

if TYPE_CHECKING:  # the console's modules pull in textual: imported only when the console starts
    from edgeops.bus.connection import BusSettings
    from edgeops.config import Setting, Settings
    from edgeops.devices.samples import CommandResult
    from edgeops.fleet.engine import EngineSettings
    from edgeops.fleet.targets import TargetExpression
    from edgeops.inventory.model import Device, Inventory
    from edgeops.recording.recorder import Recorder, RecorderSettings
    from edgeops.ui.app import EdgeOpsApp
    from edgeops.ui.session import ConsoleUser, Engine, InventoryLoad

log = logging.getLogger(__name__)


def run_console(args: argparse.Namespace, paths: AppPaths) -> int:
    """`edgeops` and `edgeops --demo`: the console on the configured inventory, or on a demo lab it starts."""
    from edgeops.logging_setup import configure_logging

    # The console owns the terminal: everything logged goes to the rotating file, nothing to the screen.
    configure_logging(paths.log_file, args.log_level)
    settings: Settings = args.settings
    theme = settings.theme
    problem = _theme_problem(theme, paths)
    if problem:
        print(f"edgeops: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    if args.demo:
        if not interactive():
            return no_terminal()
        from edgeops.cli.demo import run_demo
        from edgeops.config import Source

        # The demo's fleet is not the engineer's: a default_target written for theirs is not applied to it.
        flagged = settings["default_target"].source is Source.FLAG
        return run_demo(paths, theme, ConsoleScope.of(settings, args.open_device, from_settings=flagged))
    return _run_on_inventory(paths, theme, settings, args.source, ConsoleScope.of(settings, args.open_device))


class ScopeError(ValueError):
    """The console's scope cannot be used: the message names the flag or setting and what matched nothing."""


@dataclass(frozen=True)
class ConsoleScope:
    """Which of the inventory's devices the console holds, and the one it opens on.

    `target` is a target expression (`edgeops run`'s, through the one resolver in edgeops.fleet.targets) from
    --site/--target, else default_target; `origin` says where it came from, for messages. None: every device.
    """

    target: str | None = None
    origin: str = ""
    device: str | None = None

    @classmethod
    def of(cls, settings: Settings, device: str | None, *, from_settings: bool = True) -> ConsoleScope | None:
        """The scope the flags and settings ask for; None when they ask for the whole fleet and no device."""
        setting = settings["default_target"]
        target = setting.value if from_settings else None
        if target is None and device is None:
            return None
        return cls(target, _origin(setting) if target is not None else "", device)

    def apply(self, inventory: Inventory) -> ScopedInventory:
        """The inventory with only the scope's devices (and their sites); ScopeError when that cannot be."""
        from dataclasses import replace

        from edgeops.fleet.targets import TargetError, parse_targets

        devices = inventory.devices
        description = ""
        if self.target is not None:
            try:
                expression = parse_targets(self.target)
                devices = expression.select(inventory)
            except TargetError as error:
                raise ScopeError(f"the console's scope ({self.origin}): {error}") from None
            description = _describe(expression)
        if self.device is not None:
            self._check_device(inventory, devices, description)
        if self.target is None:
            return ScopedInventory(inventory)
        codes = {device.site for device in devices}
        scoped = replace(
            inventory, devices=devices, sites=tuple(site for site in inventory.sites if site.code in codes)
        )
        label = f"scope: {description} · {len(devices)} of {len(inventory.devices)} devices"
        return ScopedInventory(scoped, label, f"{description} {len(devices)}/{len(inventory.devices)}")

    def _check_device(self, inventory: Inventory, devices: Sequence[Device], description: str) -> None:
        name = self.device
        if any(device.name == name for device in devices):
            return
        if any(device.name == name for device in inventory.devices):
            count = f"{len(devices)} device{'' if len(devices) == 1 else 's'}"
            raise ScopeError(
                f"--device {name}: not among the {count} of the console's scope, {description} ({self.origin}); "
                "widen it, or give --target all"
            )
        import difflib

        close = difflib.get_close_matches(str(name), [device.name for device in inventory.devices], n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ScopeError(f"--device {name}: no device of that name in the inventory{hint}")


@dataclass(frozen=True)
class ScopedInventory:
    """The inventory the console holds, and how the status bar names its scope ("" when it holds every device)."""

    inventory: Inventory
    label: str = ""  # "scope: site alcala · 12 of 204 devices"
    compact: str = ""  # "site alcala 12/204", when the status bar is narrow


def _origin(setting: Setting) -> str:
    """Where a scope came from, as a message names it: --site, EDGEOPS_DEFAULT_TARGET, default_target in FILE:LINE."""
    from edgeops.config import Source

    return f"default_target in {setting.origin}" if setting.source is Source.FILE else setting.origin


def _describe(expression: TargetExpression) -> str:
    """`site alcala` for sites alone (the common case), else the expression as `edgeops run` prints it."""
    terms = expression.terms
    if len(terms) == 1 and terms[0].key == "site" and not terms[0].negated:
        sites = terms[0].values
        return f"site{'s' if len(sites) > 1 else ''} {', '.join(sites)}"
    return expression.describe()


def read_scoped(source: Path, scope: ConsoleScope) -> ScopedInventory | None:
    """The scope applied to the inventory at `source`; None when the file does not load (its problems are shown
    first, by the console or on stderr). Raises ScopeError."""
    from edgeops.cli.inventory import read_inventory

    inventory, _problems = read_inventory(source)
    return scope.apply(inventory) if inventory is not None else None


def scope_problem(error: ScopeError) -> int:
    print(escape_control(f"edgeops: {error}"), file=sys.stderr)
    return ExitCode.USAGE


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


def _run_on_inventory(
    paths: AppPaths,
    theme: str | None,
    settings: Settings,
    bus_url: str | None = None,
    scope: ConsoleScope | None = None,
) -> int:
    source = paths.inventory
    if not source.exists():
        print(
            f"edgeops: no inventory at {source}\n"
            "  write one (see: edgeops help inventory), pass --inventory FILE (edgeops YAML, a containerlab topology\n"
            "  or a Nornir hosts.yaml), set EDGEOPS_INVENTORY, or try the console on simulated devices:"
            " edgeops --demo",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    scoped = None
    if scope is not None:  # a scope that selects nothing is said here, before the console takes the terminal
        try:
            scoped = read_scoped(source, scope)
        except ScopeError as error:
            return scope_problem(error)
    bus = None
    if bus_url is not None:  # the fleet from collectors on a bus: it must answer before the console opens
        from edgeops.cli.collect import reach_bus

        bus = reach_bus(bus_url)
        if bus is None:
            return ExitCode.USAGE
    if not interactive():
        # No screen to show them on: the problems go to stderr, as `edgeops inventory check` prints them.
        from edgeops.cli.inventory import load_or_report

        if load_or_report(source) is None:
            return ExitCode.USAGE
        return no_terminal()
    runtime = ConsoleRuntime(
        source,
        paths,
        engine_settings(settings),
        readonly=settings.readonly,
        record=settings.record,
        recorder_settings=recorder_settings(settings),
        refresh_hz=settings.refresh_rate,
        command_timeout_s=settings.command_timeout,
        site_command_timeouts=settings.site_command_timeouts(),
        bus=bus,
        scope=scope,
        scoped=scoped,
    )
    return open_console(runtime, theme=theme, theme_origin=settings["theme"].overrides_file)


def recorder_settings(settings: Settings) -> RecorderSettings:
    """The recording's limits from config.toml or the environment (age, size and the traffic counters' precision;
    the rest are the recorder's)."""
    from edgeops.recording.recorder import RecorderSettings

    return RecorderSettings(
        max_age_s=settings.record_max_age_s,
        max_bytes=settings.record_max_bytes,
        counter_precision_bits=settings.record_precision_bits,
    )


def engine_settings(settings: Settings) -> EngineSettings | None:
    """The engine's settings from the user's: None (the engine's own) unless config.toml or a flag chose something."""
    from edgeops.config import Source

    if all(settings[key].source is Source.DEFAULT for key in ("host_key_policy", "command_timeout", "connect_timeout")):
        return None
    from dataclasses import replace

    from edgeops.devices.hostkeys import HostKeyPolicy
    from edgeops.fleet.engine import EngineSettings

    engine = EngineSettings()
    policy = settings.host_key_policy
    return replace(
        engine,
        supervisor=replace(
            engine.supervisor,
            command_timeout_s=settings.command_timeout,
            connect_timeout_s=settings.connect_timeout,
        ),
        hostkey_policy=HostKeyPolicy(policy) if policy else None,
    )


def open_console(runtime: ConsoleRuntime, *, theme: str | None, theme_origin: str = "") -> int:
    """Run the console on the runtime's inventory until it exits; returns the exit status.

    The first frame comes first: the inventory is read (and the engine's heavy imports paid) in the background,
    then the engine is built and started on the console's event loop.
    """
    app = console_app(runtime, theme=theme, theme_origin=theme_origin, handle_signals=True)
    try:
        app.run()
    except Exception:
        log.exception("the console failed")
        raise
    finally:
        runtime.console_closed()  # also when the console failed before unmounting
    return app.return_code or ExitCode.OK


def console_app(
    runtime: ConsoleRuntime, *, theme: str | None, theme_origin: str = "", handle_signals: bool = False
) -> EdgeOpsApp:
    """The console on the runtime, its scope named in the status bar and opened on --device's device if given."""
    from edgeops.ui.app import session_app

    scoped = runtime.scoped
    return session_app(
        runtime,
        paths=runtime.paths,
        theme=theme,
        theme_origin=theme_origin,
        handle_signals=handle_signals,
        readonly=runtime.readonly,
        scope=(scoped.label, scoped.compact) if scoped is not None else ("", ""),
        open_on=runtime.scope.device if runtime.scope is not None else None,
        refresh_hz=runtime.refresh_hz,
        command_timeout_s=runtime.command_timeout_s,
        site_command_timeouts=runtime.site_command_timeouts,
    )


class ConsoleRuntime:
    """The console's session (edgeops.ui.session.ConsoleSession): reads the inventory, builds the engine, and keeps
    the garbage collector off the long-lived heap while the engine runs."""

    def __init__(
        self,
        inventory_file: Path,
        paths: AppPaths,
        engine_settings: EngineSettings | None = None,
        *,
        readonly: bool = False,
        record: bool = True,
        recorder_settings: RecorderSettings | None = None,
        refresh_hz: float = defaults.MAX_REFRESH_HZ,
        command_timeout_s: float = defaults.COMMAND_TIMEOUT_S,
        site_command_timeouts: dict[str, float] | None = None,
        bus: BusSettings | None = None,
        scope: ConsoleScope | None = None,
        scoped: ScopedInventory | None = None,
    ) -> None:
        """bus: the fleet comes from collectors on this bus instead of from sessions of the console's own.
        scope: the devices the engine gets (the others are never connected to); scoped: that scope already applied
        to the file (the first read is then not done again)."""
        self.inventory_file = inventory_file
        self.scope = scope
        self.scoped = scoped
        self._checked = scoped  # read once already: the console's first load takes it
        self.bus = bus
        self.paths = paths
        self.engine_settings = engine_settings
        self.readonly = readonly  # no command the guard refuses reaches a device, whatever the console lifts
        self.record = record  # record the fleet into the state folder while the console runs
        self.recorder_settings = recorder_settings
        self.refresh_hz = refresh_hz  # config.toml's refresh_rate
        self.command_timeout_s = command_timeout_s  # the runner pane's, per device
        self.site_command_timeouts = site_command_timeouts or {}  # [site.CODE] command_timeout
        self.recorder: Recorder | None = None
        self.heap = LongLivedHeap()

    def load_inventory(self) -> InventoryLoad:
        """The inventory, or its problems; run in a thread, so the engine's imports are paid here too."""
        began = time.perf_counter()
        inventory, problems = self._scoped_load()
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

    def _scoped_load(self) -> InventoryLoad:
        """The inventory narrowed to the scope: as the command line checked it, then (the console's r after a fix)
        read again; a scope that then selects nothing is one more problem to show."""
        from edgeops.cli.inventory import read_inventory

        checked, self._checked = self._checked, None
        if checked is not None:
            return checked.inventory, ()
        inventory, problems = read_inventory(self.inventory_file)
        if inventory is None or self.scope is None:
            return inventory, problems
        from edgeops.inventory.problems import Problem

        try:
            self.scoped = self.scope.apply(inventory)
        except ScopeError as error:
            return None, (*problems, Problem(str(self.inventory_file), None, None, str(error)))
        return self.scoped.inventory, problems

    def make_engine(self, inventory: Inventory, user: ConsoleUser) -> Engine:
        if self.bus is not None:
            from edgeops.bus.source import BusSource

            source = BusSource(inventory, self.bus)
            return ReadOnlyEngine(source) if self.readonly else source
        from edgeops.fleet.engine import FleetEngine

        engine = FleetEngine(
            inventory,
            self.paths,
            settings=self.engine_settings,
            password_prompt=user.ask_password,
            on_new_host_key=user.host_key_added,
            confirm_host_key=user.confirm_host_key,
        )
        if self.record and self.recorder is None:
            self.recorder = start_recording(self.paths, self.recorder_settings)
        if self.recorder is not None:
            engine.events.add_listener(self.recorder.listener)
        return ReadOnlyEngine(engine) if self.readonly else engine

    def engine_starting(self) -> None:
        self.heap.engine_starting()

    def fleet_settled(self) -> None:
        """Once every device has connected (or failed to), keep the full garbage collections off what is alive."""
        self.heap.fleet_settled()

    def console_closed(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
        self.heap.release()


def start_recording(paths: AppPaths, settings: RecorderSettings | None = None) -> Recorder | None:
    """The console's recorder in the state folder, started; None (logged) when it cannot record: the console goes
    on without."""
    from edgeops.recording.recorder import Recorder, RecordingBusy

    try:
        recorder = Recorder.open_in(paths.state_dir, settings=settings)
    except (RecordingBusy, OSError, sqlite3.Error) as error:
        log.warning("not recording: %s", error)
        return None
    recorder.start()
    log.info("recording into %s", recorder.path)
    return recorder


class ReadOnlyEngine:
    """The engine of a read-only session: every command passes the guard again, never lifted, before it is sent.

    The console's own ways of lifting the guard (ctrl+g) end here: whatever the command runner was told, a command
    the guard refuses comes back refused and never reaches the device. Everything else is the engine's.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    async def run_command(self, device: Device, command: str, *, timeout_s: float) -> CommandResult:
        from edgeops.devices.samples import CommandResult, Failure
        from edgeops.fleet.guard import check

        verdict = check(command, device.platform, allow_config=False)
        if not verdict.allowed:
            log.warning("read-only session: %r refused on %s (%s)", command, device.name, verdict.rule)
            return CommandResult.failed(
                device.name,
                command,
                failure=Failure.REFUSED,
                reason=f"refused: this session is read-only (--readonly): {verdict.message}",
                started=time.time(),
                guard_rule=verdict.rule,
            )
        return await self._engine.run_command(device, command, timeout_s=timeout_s)
