"""The command runner pane: a show command with history and completion, a target, and results streaming in."""

from __future__ import annotations

import contextlib
import logging
import shlex
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from types import MappingProxyType
from typing import ClassVar, Protocol, Self

from rich.text import Text
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Select, Static
from textual.worker import Worker, WorkerState

from edgeops.devices.samples import CommandResult
from edgeops.fleet.aliases import ALIASES, AliasError, expand, is_alias
from edgeops.fleet.store import ChangeSet, FleetStore
from edgeops.fleet.targets import TargetError, parse_targets
from edgeops.inventory.model import Device, Inventory
from edgeops.paths import AppPaths
from edgeops.platforms import Platform
from edgeops.ui.command_history import DEFAULT_LIMIT, CommandHistory, HistoryCursor
from edgeops.ui.live import Selection
from edgeops.ui.results.model import CommandRun
from edgeops.ui.results.screen import CommandResultsScreen
from edgeops.ui.results.view import CommandResultsView
from edgeops.ui.sanitize import safe_plain, safe_text
from edgeops.ui.screens.confirm_config import ConfirmConfigScreen

logger = logging.getLogger(__name__)

WORKER_GROUP = "command-run"

# SR OS show commands are the same in MD-CLI and the classic CLI; only the configuration dump differs.
_SROS_SHOW_COMMANDS = (
    "show version",
    "show port",
    "show port description",
    "show card",
    "show mda",
    "show chassis",
    "show system information",
    "show system cpu",
    "show system memory-pools",
    "show system alarms",
    "show router interface",
    "show router route-table",
)

# Offered as completions for the platforms of the current target (after the engineer's own history).
COMMON_COMMANDS: Mapping[Platform, tuple[str, ...]] = MappingProxyType(
    {
        Platform.SRLINUX: (
            "show version",
            "show interface brief",
            "show interface",
            "show interface ethernet-1/1 detail",
            "show platform chassis",
            "show platform environment",
            "show platform control",
            "show network-instance default route-table",
            "show network-instance default interfaces",
            "show system lldp neighbor",
            "show version | as json",
            "show interface brief | as json",
            "info from state /system information",
            "info from state /platform control A",
            "info from state /interface ethernet-1/1 statistics",
            "info from running",
        ),
        Platform.SROS: (*_SROS_SHOW_COMMANDS, "show system lldp neighbor", "admin show configuration"),
        Platform.SROS_CLASSIC: (*_SROS_SHOW_COMMANDS, "admin display-config"),
    }
)


class CommandStream(Protocol):
    """What the pane needs of the runner core (fleet.commands.CommandRunner): results as each device answers."""

    def run(
        self, command: str, devices: Sequence[Device], *, allow_config: bool = False
    ) -> AsyncIterator[CommandResult]: ...


def completions(platforms: Sequence[Platform], history: Sequence[str]) -> list[str]:
    """Completion candidates, best first: the engineer's history, common commands per platform, then aliases."""
    candidates = [*history]
    for platform in platforms:
        candidates.extend(COMMON_COMMANDS.get(platform, ()))
    candidates.extend(alias.name + (" " if alias.argument else "") for alias in ALIASES.values())
    return list(dict.fromkeys(candidates))


def _quoted(value: str) -> str:
    # Names come from the inventory and the target line shows them: made inert first (an Input draws its value
    # as it is, escape sequences included). A name holding control characters is then not matched by its preset.
    value = safe_plain(value)
    return shlex.quote(value) if any(char.isspace() or char in "'\"" for char in value) else value


def _count(devices: Sequence[Device]) -> str:
    return f"{len(devices)} device{'s' if len(devices) != 1 else ''}"


class CommandInput(Input):
    """The command line: Up and Down walk the history (with typed text: only commands starting with it),
    Tab or Right takes the greyed completion."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "history_older", "Older command", show=False),
        Binding("down", "history_newer", "Newer command", show=False),
        Binding("tab", "accept_completion", "Complete", show=False),
    ]

    def __init__(
        self, history: CommandHistory, *, placeholder: str = "", id: str | None = None, compact: bool = False
    ) -> None:
        super().__init__(placeholder=placeholder, id=id, compact=compact)
        self.history = history
        self.cursor = HistoryCursor()
        self._recalled: str | None = None

    def action_history_older(self) -> None:
        command = self.cursor.older(self.history, self.value)
        if command is not None:
            self._recall(command)

    def action_history_newer(self) -> None:
        command = self.cursor.newer()
        if command is not None:
            self._recall(command)

    def _recall(self, command: str) -> None:
        self._recalled = command
        self.value = command
        self.cursor_position = len(command)

    def action_accept_completion(self) -> None:
        before = self.value
        if self.cursor_at_end:
            self.action_cursor_right()  # at the end of the line, Input's cursor-right takes the suggestion
        if self.value == before:
            raise SkipAction()  # nothing to complete: Tab moves the focus as everywhere else

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        # Typing (anything but a recalled command appearing) starts a new walk through the history.
        if event.value != self._recalled:
            self.cursor.reset()
        self._recalled = None


class CommandRunnerPane(Vertical):
    """Runs one command on many devices and shows the results as they arrive.

    Notices carry device names, paths and typed text, so they are never read as markup.

    The app builds it with the runner core (its transport, audit log and timeouts are the app's business), the
    inventory, and the app paths (history file, state dir for saved results). It follows the app's selection
    (`select`) to offer "this device", "this site" and role targets, and tells the app whether a run is going
    (`is_running`) so quitting can ask first. `run(command, target)` is what the command palette calls.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_run", "Cancel run"),
        Binding("escape", "leave_input", "To the results", show=False),
        Binding("ctrl+g", "toggle_guard", "Allow config"),
        Binding("f", "full_screen", "Full screen"),
    ]

    DEFAULT_CSS = """
    CommandRunnerPane {
        height: 1fr;
    }
    CommandRunnerPane .runner-row {
        height: 1;
    }
    CommandRunnerPane .runner-label {
        width: auto;
        padding: 0 1;
        color: $text-muted;
    }
    /* Both share the row, so the expression box never shrinks to nothing (at 80x24 the pane is 44 columns). */
    CommandRunnerPane #runner-target-choice {
        width: 1fr;
        max-width: 36;
        min-width: 14;
    }
    CommandRunnerPane #runner-target {
        width: 1fr;
        min-width: 14;
    }
    CommandRunnerPane #runner-target-status {
        height: 1;
        padding: 0 1;
    }
    CommandRunnerPane #runner-command {
        width: 1fr;
    }
    CommandRunnerPane #runner-guard {
        width: auto;
        min-width: 20;
        margin-left: 1;
    }
    CommandRunnerPane #runner-guard.-lifted {
        background: $error;
        color: $text;
        text-style: bold;
    }
    """

    def __init__(
        self,
        runner: CommandStream,
        inventory: Inventory,
        paths: AppPaths,
        *,
        history_limit: int = DEFAULT_LIMIT,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.runner = runner
        self.inventory = inventory
        self.paths = paths
        self.history = CommandHistory(paths.command_history, limit=history_limit)
        self.selection = Selection("fleet")
        self.last_run: CommandRun | None = None
        self.allow_config_next = False  # set by the typed confirmation, spent by the next run
        self._worker: Worker[None] | None = None
        self._preset: str | None = None  # the chosen target preset, or None for an expression typed by hand
        self._follow_selection = True  # until the engineer picks a target, it follows what is selected
        self._target_devices: tuple[Device, ...] = ()
        self._target_error = ""
        self._command_problem_shown = False  # the status line shows what is wrong with the command, not the target

    # -- layout -------------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(classes="runner-row"):
            yield Static("target", classes="runner-label")
            yield Select[str]([], prompt="expression", id="runner-target-choice", compact=True, allow_blank=True)
            yield Input(placeholder="site:alcala role:leaf, name:leaf*, all …", id="runner-target", compact=True)
        yield Static("", id="runner-target-status")
        with Horizontal(classes="runner-row"):
            yield Static(">", classes="runner-label")
            yield CommandInput(
                self.history,
                placeholder="show version, @interfaces … (↑ history, Tab completes)",
                id="runner-command",
                compact=True,
            )
            yield Button("read-only", id="runner-guard", compact=True)
        yield CommandResultsView(state_dir=self.paths.state_dir, id="runner-results")

    def on_mount(self) -> None:
        self._apply_selection()
        self._update_guard_button()

    def focus(self, scroll_visible: bool = True) -> Self:
        """Focusing the pane (number keys, the palette) puts the cursor on the command line."""
        self.query_one("#runner-command", CommandInput).focus(scroll_visible)
        return self

    @property
    def results_view(self) -> CommandResultsView:
        return self.query_one("#runner-results", CommandResultsView)

    # -- what the app calls -------------------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        """Whether a command is out on devices (the app asks before quitting)."""
        return self._worker is not None and not self._worker.is_finished

    def select(self, store: FleetStore, selection: Selection) -> None:
        """The engineer picked a device, a site or the whole fleet: offer targets relative to it."""
        self.selection = selection
        if self.is_mounted:
            self._apply_selection()

    def apply_changes(self, store: FleetStore, changes: ChangeSet) -> None:
        """Telemetry does not change what the runner shows."""

    def set_inventory(self, inventory: Inventory) -> None:
        """The inventory was reloaded: targets are resolved against the new one."""
        self.inventory = inventory
        if self.is_mounted:
            self._apply_selection()
            self._resolve_target()

    def run(self, command: str, target: str | None = None) -> bool:
        """Send `command` to the target (the chooser's, or `target` as an expression); False if it did not start.

        Problems (no target, a bad expression, an unknown alias, a run already going) are shown in the pane.
        """
        if getattr(self.app, "replay_active", False):
            self.notify("a replay is read-only: nothing is sent (L: live)", severity="warning", markup=False)
            return False
        if target is not None:
            self._set_target(target, preset=None)
        command = command.strip()
        command_input = self.query_one("#runner-command", CommandInput)
        if command_input.value != command:
            with self.prevent(Input.Changed):
                command_input.value = command
        if not command:
            self.notify("type a command first", severity="warning", markup=False)
            return False
        if self.is_running:
            self.notify("a command is still running: Escape cancels it", severity="warning", markup=False)
            return False
        devices = self._resolve_target()
        if not devices:
            self.notify(self._target_error or "choose a target first", severity="error", markup=False)
            return False
        problem = _alias_problem(command, devices)
        if problem:
            self._show_status(safe_text(problem, style="bold red"))
            self._command_problem_shown = True
            return False
        allow_config, self.allow_config_next = self.allow_config_next, False  # lifted for exactly this run
        self._update_guard_button()
        self.history.add(command)
        command_input.cursor.reset()
        self._refresh_completions()
        run = CommandRun(command, self._target_text(), devices, allow_config=allow_config)
        self.last_run = run
        self.results_view.show_run(run)
        self._worker = self.run_worker(
            self._stream(run),
            name=f"run {command!r}",
            group=WORKER_GROUP,
            exclusive=True,
            exit_on_error=False,
        )
        return True

    def cancel(self) -> bool:
        """Stop the running command (devices not yet answered end without a result); False if none was running."""
        if not self.is_running or self._worker is None:
            return False
        self._worker.cancel()
        return True

    # -- running ------------------------------------------------------------------------------------------------

    async def _stream(self, run: CommandRun) -> None:
        stream = self.runner.run(run.command, run.devices, allow_config=run.allow_config)
        try:
            async for result in stream:
                run.add(result)
        except BaseException:
            run.cancelled = True  # cancelled, or failed: the state handler below adds the reason
            raise
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()  # ends the runner's per-device tasks, so no command is left in flight
            run.ended = time.time()
            self.results_view.sync()

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        """Every way a run ends comes through here: done, cancelled, or broken by an unexpected error."""
        if event.worker is not self._worker or self.last_run is None:
            return
        run = self.last_run
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            logger.error("command run %r failed", run.command, exc_info=error)
            run.cancelled = False
            run.error = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
            self.notify(f"the run stopped: {run.error}", severity="error", markup=False)
        elif event.state is WorkerState.CANCELLED:
            run.cancelled = True
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            if run.ended is None:
                run.ended = time.time()
            self.results_view.sync()

    # -- target -------------------------------------------------------------------------------------------------

    def _presets(self) -> list[tuple[str, str, str]]:
        """(label, preset key, expression) for the current selection."""
        inventory = self.inventory
        device = self._selected_device()
        site = device.site if device is not None else (self.selection.key if self.selection.kind == "site" else "")
        presets: list[tuple[str, str, str]] = []
        if device is not None:
            presets.append((f"this device: {device.name}", "device", f"name:{_quoted(device.name)}"))
        if site:
            here = inventory.devices_at(site)
            presets.append((f"this site: {site} ({len(here)})", "site", f"site:{_quoted(site)}"))
            for role, count in Counter(item.role for item in here).items():
                presets.append(
                    (f"{role} at {site} ({count})", f"site-role:{role}", f"site:{_quoted(site)} role:{role}")
                )
        for role, count in Counter(item.role for item in inventory.devices).items():
            presets.append((f"{role}, whole fleet ({count})", f"role:{role}", f"role:{_quoted(role)}"))
        presets.append((f"whole fleet ({len(inventory.devices)})", "fleet", "all"))
        return presets

    def _selected_device(self) -> Device | None:
        if self.selection.kind != "device":
            return None
        try:
            return self.inventory.device(self.selection.key)
        except KeyError:
            return None

    def _apply_selection(self) -> None:
        presets = self._presets()
        choice = self.query_one("#runner-target-choice", Select)
        with self.prevent(Select.Changed):
            choice.set_options([(safe_text(label), key) for label, key, _ in presets])
        expressions = {key: expression for _, key, expression in presets}
        if self._follow_selection:
            kind = self.selection.kind
            self._preset = "device" if kind == "device" else "site" if kind == "site" else "fleet"
        if self._preset in expressions:
            self._set_target(expressions[self._preset], preset=self._preset)
        else:
            # The chosen preset means nothing for the new selection (e.g. "this device" with a site selected):
            # the expression stays, as typed text.
            self._set_target(self._target_text(), preset=None)

    def _set_target(self, expression: str, *, preset: str | None) -> None:
        self._preset = preset
        target_input = self.query_one("#runner-target", Input)
        choice = self.query_one("#runner-target-choice", Select)
        with self.prevent(Input.Changed, Select.Changed):
            target_input.value = expression
            if preset is None:
                choice.clear()
            else:
                choice.value = preset
        self._resolve_target()

    def _target_text(self) -> str:
        return self.query_one("#runner-target", Input).value.strip()

    @on(Select.Changed, "#runner-target-choice")
    def _preset_chosen(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is Select.BLANK:
            self._preset = None
            self.query_one("#runner-target", Input).focus()
            return
        self._follow_selection = False
        expressions = {key: expression for _, key, expression in self._presets()}
        key = str(event.value)
        if key in expressions:
            self._set_target(expressions[key], preset=key)

    @on(Input.Changed, "#runner-target")
    def _expression_typed(self, event: Input.Changed) -> None:
        event.stop()
        self._follow_selection = False
        self._preset = None
        with self.prevent(Select.Changed):
            self.query_one("#runner-target-choice", Select).clear()
        self._resolve_target()

    @on(Input.Submitted, "#runner-target")
    def _expression_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#runner-command", CommandInput).focus()

    def _resolve_target(self) -> tuple[Device, ...]:
        """The devices the target selects now, shown with their count or the expression's problem."""
        text = self._target_text()
        self._command_problem_shown = False
        try:
            devices = parse_targets(text).select(self.inventory)
        except TargetError as error:
            self._target_devices, self._target_error = (), str(error)
            self._show_status(safe_text(f"✗ {error}", style="bold red"))  # it quotes names
        else:
            self._target_devices, self._target_error = devices, ""
            platforms = Counter(device.platform.label for device in devices)
            line = Text(f"→ {_count(devices)}", style="bold")
            line.append(" (" + ", ".join(f"{count} {label}" for label, count in platforms.items()) + ")", "dim")
            self._show_status(line)
        self._refresh_completions()
        return self._target_devices

    def _show_status(self, text: Text) -> None:
        self.query_one("#runner-target-status", Static).update(text)

    def _refresh_completions(self) -> None:
        platforms = list(dict.fromkeys(device.platform for device in self._target_devices)) or list(Platform)
        command_input = self.query_one("#runner-command", CommandInput)
        command_input.suggester = SuggestFromList(
            completions(platforms, self.history.newest_first()), case_sensitive=False
        )

    # -- command line -------------------------------------------------------------------------------------------

    @on(Input.Submitted, "#runner-command")
    def _command_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.run(event.value)

    @on(Input.Changed, "#runner-command")
    def _command_edited(self, event: Input.Changed) -> None:
        # The status line said what was wrong with the command; once it is edited that is old news, and the
        # line goes back to what the target selects.
        if self._command_problem_shown:
            self._command_problem_shown = False
            self._resolve_target()

    # -- guard --------------------------------------------------------------------------------------------------

    @on(Button.Pressed, "#runner-guard")
    def _guard_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_toggle_guard()

    def action_toggle_guard(self) -> None:
        """Lift the read-only guard for the next run (after typing `configure`), or put it back."""
        if self.allow_config_next:
            self.allow_config_next = False
            self._update_guard_button()
            self.notify("read-only guard back on", timeout=3, markup=False)
            return

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.allow_config_next = True
                self._update_guard_button()
                self.notify("guard lifted for the next run only", severity="warning", timeout=5, markup=False)

        self.app.push_screen(
            ConfirmConfigScreen(
                command=self.query_one("#runner-command", CommandInput).value.strip(),
                target=self._target_text(),
                device_count=len(self._target_devices) if self._target_devices else None,
            ),
            answered,
        )

    def _update_guard_button(self) -> None:
        button = self.query_one("#runner-guard", Button)
        button.label = "CONFIG ALLOWED: next run" if self.allow_config_next else "read-only"
        button.set_class(self.allow_config_next, "-lifted")
        button.tooltip = (
            "The next run may change devices; Ctrl+G puts the guard back"
            if self.allow_config_next
            else "Only commands that cannot change a device are sent; Ctrl+G lifts the guard for one run"
        )

    # -- other actions ------------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_run":
            return self.is_running
        if action == "leave_input":
            # From a text field Escape goes to the results list, where the app's keys (1-4, q) work again;
            # anywhere else it is left to the app.
            focused = self.app.focused
            return isinstance(focused, Input) and self in focused.ancestors
        if action == "full_screen":
            if isinstance(self.app.focused, Input):
                return False  # the key types an f there: keep it out of the footer
            return True if self.last_run is not None else None
        return True

    def action_cancel_run(self) -> None:
        """Cancel the running command."""
        if not self.cancel():
            raise SkipAction()
        self.notify("run cancelled", timeout=3, markup=False)

    def action_leave_input(self) -> None:
        """Leave the command line for the results list."""
        self.results_view.query_one("#result-list").focus()

    def action_full_screen(self) -> None:
        """Show the last run's results over the whole screen."""
        if self.last_run is None:
            return
        self.app.push_screen(CommandResultsScreen(self.last_run, state_dir=self.paths.state_dir))


def _alias_problem(command: str, devices: Sequence[Device]) -> str:
    """Why an alias cannot be expanded for these devices' platforms, or "" (plain commands are never a problem)."""
    if not is_alias(command):
        return ""
    for platform in dict.fromkeys(device.platform for device in devices):
        try:
            expand(command, platform)
        except AliasError as error:
            return f"✗ {error}"
    return ""
