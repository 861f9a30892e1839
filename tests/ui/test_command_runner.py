"""The command runner pane and results screen, driven with Pilot: over real SSH to the lab, and over the lab's CLIs."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, RichLog, Select, Static

from edgeops.devices.errors import device_error_reason
from edgeops.devices.hostkeys import KnownHosts
from edgeops.devices.samples import CommandResult, Failure
from edgeops.fleet.audit import AuditEntry, AuditLog, read_audit, read_audited_commands
from edgeops.fleet.commands import CommandRunner
from edgeops.fleet.on_demand import OnDemandTransport
from edgeops.fleet.results import RANGE_DASH
from edgeops.inventory.model import Credentials, Device, Inventory, Site
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.servers.ssh import default_engine_factory
from edgeops.lab.topology import build_fleet, synthetic_sites
from edgeops.paths import AppPaths
from edgeops.platforms import Platform
from edgeops.ui.live import Selection
from edgeops.ui.panes.command_runner import CommandInput, CommandRunnerPane
from edgeops.ui.results.model import CommandRun
from edgeops.ui.results.screen import CommandResultsScreen
from edgeops.ui.results.view import CommandResultsView
from edgeops.ui.screens.confirm_config import CONFIRM_WORD, ConfirmConfigScreen

LAB_SSH_PORT = 2222
# Generous: waiting for a run is not a timing assertion, only a bound on how long a broken run can hang the test.
WAIT_LIMIT_S = 30.0


# -- fixed results for the results screen (snapshot tests and screenshots reuse these) ---------------------------

DEMO_STARTED = 1_750_000_000.0  # a fixed moment, so durations and the progress line never change
_DEMO_SRLINUX_VERSION = """\
--------------------------------------------------------------------------------------
Hostname             : {name}
Chassis Type         : {model}
Part Number          : 3HE16831AARA01
Serial Number        : NK8200{serial:05d}
System HW MAC Address: 20:82:3C:F0:{serial:02X}:00
OS                   : SR Linux
Software Version     : v25.10.1
Build Number         : 399-g5e2f0f3b1a
Architecture         : x86_64
Last Booted          : 2025-06-10T07:12:44.102Z
Total Memory         : 32479040 kB
Free Memory          : 24012664 kB
--------------------------------------------------------------------------------------
"""
_DEMO_SROS_VERSION = """\
TiMOS-C-25.10.R2 cpm/x86_64 Nokia 7750 SR Copyright (c) 2000-2025 Nokia.
All rights reserved. All use subject to applicable license agreements.
Built on Wed Oct 15 09:22:01 UTC 2025 by builder in /builds/c/2510B/R2/panos/main/sros
"""


def demo_inventory() -> Inventory:
    """Tecno-Alcalá with 2 spines, 8 leaves (SR Linux) and 2 gateways (SR OS), on loopback addresses."""
    layout = [("spine", f"spine{n}", "7220 IXR-D3L", Platform.SRLINUX) for n in (1, 2)]
    layout += [("leaf", f"leaf{n}", "7220 IXR-D2L", Platform.SRLINUX) for n in range(1, 9)]
    layout += [("gateway", f"gw{n}", "7750 SR-7", Platform.SROS) for n in (1, 2)]
    devices = tuple(
        Device(
            name=f"alcala-{suffix}",
            site="alcala",
            role=role,
            platform=platform,
            model=model,
            host=f"127.0.1.{index}",
            credentials=Credentials("admin"),
        )
        for index, (role, suffix, model, platform) in enumerate(layout, start=1)
    )
    return Inventory(sites=(Site("Tecno-Alcalá", "alcala", "Flagship edge DC"),), devices=devices)


def demo_results(*, finished: bool = True) -> CommandRun:
    """`show version` on site:alcala with fixed outputs and times: 9 ok, both gateways identical, a timeout,
    a lost connection. `CommandResultsScreen(demo_results())` is the results screen a snapshot test shows."""
    inventory = demo_inventory()
    results: list[CommandResult] = []
    offset = 0.4
    for serial, device in enumerate(inventory.devices, start=1):
        offset += 0.05
        started = DEMO_STARTED + 0.01 * serial
        if device.name == "alcala-leaf7":
            results.append(
                CommandResult(
                    device.name,
                    "show version",
                    "",
                    started,
                    started + 30.0,
                    False,
                    "timeout after 30 s",
                    Failure.TIMEOUT,
                )
            )
            continue
        if device.name == "alcala-leaf4":
            reason = "connection lost: the device closed the session"
            results.append(
                CommandResult(
                    device.name, "show version", "", started, started + 1.2, False, reason, Failure.CONNECTION_LOST
                )
            )
            continue
        if device.platform is Platform.SROS:
            output = _DEMO_SROS_VERSION
        else:
            output = _DEMO_SRLINUX_VERSION.format(name=device.name, model=device.model, serial=serial)
        results.append(CommandResult(device.name, "show version", output, started, started + offset, True))
    results.sort(key=lambda result: result.ended)
    run = CommandRun("show version", "site:alcala", inventory.devices, started=DEMO_STARTED)
    for result in results if finished else results[:7]:
        run.add(result)
    if finished:
        run.ended = DEMO_STARTED + 30.2
    return run


class ResultsScreenHost(App[None]):
    """An app showing only CommandResultsScreen for a given run (demo_results() by default), for snapshots."""

    def __init__(self, run: CommandRun | None = None, *, state_dir: Path | None = None) -> None:
        super().__init__()
        self.run_shown = run or demo_results()
        self.state_dir = state_dir

    def on_mount(self) -> None:
        self.push_screen(CommandResultsScreen(self.run_shown, state_dir=self.state_dir))


# -- transports for tests that need no SSH ------------------------------------------------------------------------


class LabCliTransport:
    """A CommandTransport that hands each command straight to a lab device's CLI engine (no SSH), and records it."""

    def __init__(self, lab: Lab, *, hold: Sequence[str] = ()) -> None:
        self.engines = {name: default_engine_factory(device) for name, device in lab.devices.items()}
        self.platforms = {name: device.identity.platform for name, device in lab.devices.items()}
        self.calls: list[tuple[str, str]] = []
        self.held = set(hold)  # these devices never answer (until the run is cancelled)
        self.closed = False

    async def run_command(self, device: Device, command: str, *, timeout_s: float) -> CommandResult:
        self.calls.append((device.name, command))
        started = time.time()
        if device.name in self.held:
            await asyncio.Event().wait()
        await asyncio.sleep(0)
        output = self.engines[device.name].execute(command).output
        reason = device_error_reason(self.platforms[device.name], output)
        failure = Failure.DEVICE_ERROR if reason else None
        return CommandResult(device.name, command, output, started, time.time(), reason is None, reason or "", failure)

    async def aclose(self) -> None:
        self.closed = True


class ScriptedTransport:
    """Answers every command with a fixed output per device (for hostile and identical outputs)."""

    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = outputs
        self.calls: list[tuple[str, str]] = []

    async def run_command(self, device: Device, command: str, *, timeout_s: float) -> CommandResult:
        self.calls.append((device.name, command))
        now = time.time()
        return CommandResult(device.name, command, self.outputs.get(device.name, ""), now, now + 0.01, True)

    async def aclose(self) -> None:
        pass


class BrokenRunner:
    """A runner that breaks after its first result, as a bug in the core would."""

    async def run(
        self, command: str, devices: Sequence[Device], *, allow_config: bool = False
    ) -> AsyncIterator[CommandResult]:
        now = time.time()
        yield CommandResult(devices[0].name, command, "fine", now, now, True)
        raise RuntimeError("the runner fell over")


# -- the host app ---------------------------------------------------------------------------------------------


class RunnerHost(App[None]):
    """The pane alone in an app, as the console mounts it."""

    def __init__(self, runner: object, inventory: Inventory, paths: AppPaths, selection: Selection | None = None):
        super().__init__()
        self.runner = runner
        self.inventory = inventory
        self.paths = paths
        self.initial_selection = selection

    def compose(self) -> ComposeResult:
        yield CommandRunnerPane(self.runner, self.inventory, self.paths, id="runner")  # type: ignore[arg-type]

    def on_mount(self) -> None:
        if self.initial_selection is not None:
            self.pane.select(None, self.initial_selection)  # type: ignore[arg-type]  # the pane never reads the store
        self.pane.focus()

    @property
    def pane(self) -> CommandRunnerPane:
        return self.query_one("#runner", CommandRunnerPane)


def app_paths(root: Path) -> AppPaths:
    return AppPaths(config_dir=root / "config", state_dir=root / "state", log_dir=root / "log", inventory=root / "inv")


def unstarted_lab(tmp_path: Path, devices_per_site: int = 5) -> Lab:
    """The lab's devices and CLIs without servers: for tests that talk to the engines directly."""
    identities = relocate(build_fleet(synthetic_sites(1), devices_per_site, seed=1, ssh_port=LAB_SSH_PORT), 99)
    return Lab(identities, lab_dir=tmp_path / "lab", ssh_port=LAB_SSH_PORT, gnmi=False)


async def wait_until(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await pilot.pause(0.02)
    await pilot.pause()


async def run_and_wait(
    pilot: Pilot[None], pane: CommandRunnerPane, command: str, *, type_it: bool = False
) -> CommandRun:
    """Put the command on the pane's command line (typed key by key, or pasted), press Enter, wait for the end."""
    command_input = pane.query_one("#runner-command", CommandInput)
    command_input.focus()
    command_input.value = "" if type_it else command
    await pilot.press(*(command if type_it else ()), "enter")
    await wait_until(pilot, lambda: pane.last_run is not None and pane.last_run.finished, f"{command!r} to finish")
    await wait_until(pilot, lambda: not pane.is_running, "the worker to end")
    assert pane.last_run is not None
    return pane.last_run


def file_names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def static_text(widget: Static) -> str:
    rendered = widget.render()
    return rendered.plain if isinstance(rendered, Text) else str(rendered)


def table_labels(view: CommandResultsView) -> list[str]:
    table = view.query_one("#result-list", DataTable)
    return [str(table.get_row_at(index)[0]) for index in range(table.row_count)]


def output_text(view: CommandResultsView) -> str:
    return "\n".join(strip.text for strip in view.query_one("#result-output", RichLog).lines)


# -- over real SSH against the lab --------------------------------------------------------------------------------


@pytest.fixture
async def running_lab(tmp_path: Path) -> AsyncIterator[Lab]:
    """A one-site lab (alcala-spine1/2, -leaf1: SR Linux; -gw1/2: SR OS) on its own 127.<block> range."""
    lab: Lab | None = None
    for attempt in range(8):
        identities = relocate(
            build_fleet(synthetic_sites(1), 5, seed=1, ssh_port=LAB_SSH_PORT), random.randrange(100, 250)
        )
        candidate = Lab(identities, lab_dir=tmp_path / f"lab{attempt}", ssh_port=LAB_SSH_PORT, gnmi=False)
        try:
            await candidate.start()
        except OSError as error:
            if error.errno == errno.EADDRINUSE and attempt < 7:
                continue
            raise
        lab = candidate
        break
    assert lab is not None
    try:
        yield lab
    finally:
        await lab.stop()


@pytest.mark.lab
async def test_show_version_on_a_site_over_ssh_returns_one_result_per_device(running_lab: Lab, tmp_path: Path) -> None:
    inventory = running_lab.inventory()
    paths = app_paths(tmp_path)
    site_devices = {device.name for device in inventory.devices_at("alcala")}
    known_hosts = KnownHosts(tmp_path / "known_hosts", user_files=())
    with AuditLog(paths.audit_log) as audit:
        async with OnDemandTransport(inventory, known_hosts=known_hosts) as transport:
            runner = CommandRunner(transport, audit=audit, timeout_s=20.0, source="console")
            app = RunnerHost(runner, inventory, paths, Selection("site", "alcala"))
            async with app.run_test(size=(120, 40)) as pilot:
                pane = app.pane
                assert pane.query_one("#runner-target", Input).value == "site:alcala"
                assert static_text(pane.query_one("#runner-target-status", Static)).startswith("→ 5 devices")

                run = await run_and_wait(pilot, pane, "show version", type_it=True)

                assert sorted(result.device for result in run.results) == sorted(site_devices)
                assert all(result.ok for result in run.results), [result.reason for result in run.results]
                outputs = {result.device: result.output for result in run.results}
                assert "Hostname             : alcala-spine1" in outputs["alcala-spine1"]
                assert outputs["alcala-gw1"].startswith("TiMOS-")
                view = pane.results_view
                assert static_text(view.query_one("#result-progress", Static)).startswith("5/5 done, 0 failed")
                assert sorted(table_labels(view)) == sorted(site_devices)
    commands = read_audited_commands(paths.audit_log)
    entries = [command.entry for command in commands]
    assert sorted(entry.device for entry in entries) == sorted(site_devices)
    assert all(entry.source == "console" and not entry.guard_lifted for entry in entries)
    # The console's runner writes ahead too: each command's `sent` record, then its outcome.
    assert all(command.sent is not None and command.sent.source == "console" for command in commands)


# -- over the lab's CLI engines -----------------------------------------------------------------------------------


def engine_app(
    tmp_path: Path, *, hold: Sequence[str] = (), devices_per_site: int = 5, selection: Selection | None = None
):
    lab = unstarted_lab(tmp_path, devices_per_site)
    inventory = lab.inventory()
    transport = LabCliTransport(lab, hold=hold)
    paths = app_paths(tmp_path)
    audit = AuditLog(paths.audit_log)
    runner = CommandRunner(transport, audit=audit, timeout_s=10.0, source="console")
    app = RunnerHost(runner, inventory, paths, selection or Selection("site", "alcala"))
    return app, transport, paths, audit


async def test_target_chooser_offers_presets_and_shows_expression_errors_inline(tmp_path: Path) -> None:
    app, transport, _, audit = engine_app(tmp_path, selection=Selection("device", "alcala-leaf1"))
    with audit:
        async with app.run_test(size=(120, 40)) as pilot:
            pane = app.pane
            target = pane.query_one("#runner-target", Input)
            status = pane.query_one("#runner-target-status", Static)
            assert target.value == "name:alcala-leaf1"
            assert static_text(status).startswith("→ 1 device (1 SR Linux)")

            choice = pane.query_one("#runner-target-choice", Select)
            for preset, expression in [
                ("site", "site:alcala"),
                ("site-role:gateway", "site:alcala role:gateway"),
                ("role:leaf", "role:leaf"),
                ("fleet", "all"),
                ("device", "name:alcala-leaf1"),
            ]:
                choice.value = preset
                await pilot.pause()
                assert target.value == expression
            pane.select(None, Selection("device", "alcala-spine2"))  # type: ignore[arg-type]
            assert target.value == "name:alcala-spine2", "'this device' follows the selection"

            target.focus()
            target.value = ""
            await pilot.press(*"sit:alcala")
            assert "unknown key 'sit'" in static_text(status) and "did you mean site:alcala" in static_text(status)
            assert pane.run("show version") is False
            assert transport.calls == []

            pane.select(None, Selection("site", "alcala"))  # type: ignore[arg-type]
            assert target.value == "sit:alcala", "an expression typed by hand survives a new selection"

            target.value = "leaf[/bold]"  # markup in typed text stays text (Rich would reject this closing tag)
            await pilot.pause()
            assert "nothing in the inventory matches name:leaf[/bold]" in static_text(status)
            assert pane.run("show version") is False
            await pilot.pause()

            target.value = "role:gateway"
            await pilot.pause()
            assert static_text(status).startswith("→ 2 devices (2 SR OS")
            run_started = pane.run("show port")
            assert run_started
            await wait_until(pilot, lambda: pane.last_run is not None and pane.last_run.finished, "the run")
            assert sorted(name for name, _ in transport.calls) == ["alcala-gw1", "alcala-gw2"]


async def test_a_refused_command_shows_the_rule_and_nothing_is_sent(tmp_path: Path) -> None:
    app, transport, paths, audit = engine_app(tmp_path)
    with audit:
        async with app.run_test(size=(120, 40)) as pilot:
            pane = app.pane
            run = await run_and_wait(pilot, pane, "commit now")
            assert transport.calls == []
            assert len(run.results) == 5 and all(result.failure == "refused" for result in run.results)
            progress = static_text(pane.results_view.query_one("#result-progress", Static))
            assert progress.startswith("5/5 done, 0 failed, 5 refused by the read-only guard (rule commit)")
            heading = static_text(pane.results_view.query_one("#result-heading", Static))
            assert "rule commit" in heading and "Nothing was sent" in heading
    assert [entry.failure for entry in read_audit(paths.audit_log)] == ["refused"] * 5


async def test_typed_confirmation_lifts_the_guard_for_one_run_only(tmp_path: Path) -> None:
    app, transport, paths, audit = engine_app(tmp_path, selection=Selection("device", "alcala-leaf1"))
    with audit:
        async with app.run_test(size=(120, 40)) as pilot:
            pane = app.pane
            guard = pane.query_one("#runner-guard", Button)

            await pilot.press("ctrl+g")
            assert isinstance(app.screen, ConfirmConfigScreen)
            await pilot.press("escape")
            assert not isinstance(app.screen, ConfirmConfigScreen) and not pane.allow_config_next

            await pilot.press("ctrl+g")
            await pilot.press(*CONFIRM_WORD[:-1], "enter")
            assert isinstance(app.screen, ConfirmConfigScreen), "a misspelt confirmation lifts nothing"
            await pilot.press(CONFIRM_WORD[-1], "enter")
            assert not isinstance(app.screen, ConfirmConfigScreen)
            assert pane.allow_config_next and "CONFIG ALLOWED" in str(guard.label)

            lifted = await run_and_wait(pilot, pane, "enter candidate")
            assert transport.calls == [("alcala-leaf1", "enter candidate")]
            assert lifted.allow_config and "guard lifted" in lifted.progress_line()
            assert not pane.allow_config_next and str(guard.label) == "read-only"

            again = await run_and_wait(pilot, pane, "enter candidate")
            assert len(transport.calls) == 1, "the second run is guarded again"
            assert again.results[0].failure == "refused"
    entries = [command.entry for command in read_audited_commands(paths.audit_log)]
    assert [(entry.command, entry.guard_lifted, entry.failure) for entry in entries] == [
        ("enter candidate", True, ""),
        ("enter candidate", False, "refused"),
    ]


async def test_results_stream_in_and_escape_cancels_the_devices_still_out(tmp_path: Path) -> None:
    app, _, paths, audit = engine_app(tmp_path, hold=["alcala-gw2"])
    with audit:
        async with app.run_test(size=(120, 40)) as pilot:
            pane = app.pane
            assert pane.run("show version")
            await wait_until(pilot, lambda: pane.last_run is not None and len(pane.last_run.results) == 4, "4 results")
            view = pane.results_view
            await wait_until(pilot, lambda: len(table_labels(view)) == 4, "4 rows")
            assert pane.is_running
            assert static_text(view.query_one("#result-progress", Static)).startswith("4/5 done, 0 failed")

            pane.query_one("#runner-command", CommandInput).focus()
            await pilot.press("escape")
            await wait_until(pilot, lambda: not pane.is_running, "the cancelled worker")
            assert pane.query_one("#runner-command", CommandInput).has_focus, "the first Escape only cancels"
            await pilot.press("escape")
            assert view.query_one("#result-list", DataTable).has_focus, "the next one leaves the command line"
            run = pane.last_run
            assert run is not None and run.cancelled and run.finished
            assert "cancelled, 1 without a result" in static_text(view.query_one("#result-progress", Static))
    # The runner's task for the held device was cancelled too (not just the screen stopped listening).
    assert [(entry.device, entry.failure) for entry in audited_entries(paths.audit_log) if not entry.ok] == [
        ("alcala-gw2", "cancelled")
    ]


async def test_identical_outputs_fold_into_one_group(tmp_path: Path) -> None:
    app, _, _, audit = engine_app(tmp_path, devices_per_site=12)
    with audit:
        async with app.run_test(size=(120, 40)) as pilot:
            pane = app.pane
            pane.query_one("#runner-target", Input).value = "site:alcala platform:srlinux"
            await pilot.pause()
            run = await run_and_wait(pilot, pane, "show platform chassis | grep Type")
            assert len(run.results) == 10
            view = pane.results_view
            view.query_one("#result-list", DataTable).focus()
            await pilot.press("g")
            assert table_labels(view) == [f"alcala-leaf1{RANGE_DASH}leaf8", "alcala-spine1, alcala-spine2"]
            table = view.query_one("#result-list", DataTable)
            assert str(table.get_row_at(0)[1]) == "identical (8)"
            heading = static_text(view.query_one("#result-heading", Static))
            assert heading.startswith(f"alcala-leaf1{RANGE_DASH}leaf8: identical output on 8 devices")
            assert "7220 IXR-D2L" in output_text(view)
            await pilot.press("g")
            assert len(table_labels(view)) == 10


async def test_diff_against_a_reference_device_unified_and_side_by_side(tmp_path: Path) -> None:
    app, _, _, audit = engine_app(tmp_path)
    with audit:
        async with app.run_test(size=(140, 40)) as pilot:
            pane = app.pane
            pane.query_one("#runner-target", Input).value = "platform:srlinux"
            await pilot.pause()
            await run_and_wait(pilot, pane, "show version")
            view = pane.results_view
            table = view.query_one("#result-list", DataTable)
            table.focus()
            reference = view.selected_key()
            await pilot.press("r")
            assert view.reference == reference
            await pilot.press("down")
            other = view.selected_key()
            assert other != reference
            diff = output_text(view)
            assert f"--- {reference}" in diff and f"+++ {other}" in diff
            assert f"-Hostname             : {reference}" in diff and f"+Hostname             : {other}" in diff
            await pilot.press("v")
            side = output_text(view)
            assert "@@" not in side and f"Hostname             : {reference}" in side and other in side
            await pilot.press("up", "r")
            assert view.reference is None


async def test_history_persists_across_pane_instances(tmp_path: Path) -> None:
    app, _, paths, audit = engine_app(tmp_path)
    with audit:
        async with app.run_test(size=(120, 40)) as pilot:
            await run_and_wait(pilot, app.pane, "show version")
            await run_and_wait(pilot, app.pane, "@interfaces")
            await run_and_wait(pilot, app.pane, "show version")
    assert paths.command_history.read_text(encoding="utf-8") == "@interfaces\nshow version\n"

    second, _, _, audit = engine_app(tmp_path)
    with audit:
        async with second.run_test(size=(120, 40)) as pilot:
            command_input = second.pane.query_one("#runner-command", CommandInput)
            assert command_input.has_focus
            await pilot.press("up")
            assert command_input.value == "show version"
            await pilot.press("up")
            assert command_input.value == "@interfaces"
            await pilot.press("up")
            assert command_input.value == "@interfaces", "the oldest command stays put"
            await pilot.press("down", "down")
            assert command_input.value == ""
            await pilot.press(*"@", "up")
            assert command_input.value == "@interfaces", "typed text narrows the walk to matching commands"


async def test_completion_offers_common_commands_of_the_target_platforms_and_aliases(tmp_path: Path) -> None:
    app, _, _, audit = engine_app(tmp_path, selection=Selection("device", "alcala-gw1"))
    with audit:
        async with app.run_test(size=(120, 40)) as pilot:
            command_input = app.pane.query_one("#runner-command", CommandInput)
            await pilot.press(*"show ro")
            await pilot.pause()
            await pilot.press("tab")
            assert command_input.value == "show router interface"
            command_input.value = ""
            await pilot.press(*"@env")
            await pilot.pause()
            await pilot.press("tab")
            assert command_input.value == "@environment"

            app.pane.select(None, Selection("device", "alcala-leaf1"))  # type: ignore[arg-type]
            command_input.value = ""
            await pilot.press(*"show ro")
            await pilot.pause()
            await pilot.press("tab")
            assert command_input.value == "show ro", "no SR OS command offered for an SR Linux target"
            assert not command_input.has_focus, "with nothing to complete, Tab moves on"


async def test_an_unknown_alias_is_shown_until_the_command_is_edited(tmp_path: Path) -> None:
    app, transport, _, audit = engine_app(tmp_path)
    with audit:
        async with app.run_test(size=(120, 40)) as pilot:
            pane = app.pane
            status = pane.query_one("#runner-target-status", Static)
            command_input = pane.query_one("#runner-command", CommandInput)
            command_input.focus()
            await pilot.press(*"@alarmz", "enter")
            await pilot.pause()
            assert "unknown alias '@alarmz' (did you mean @alarms?)" in static_text(status)
            assert transport.calls == [] and pane.last_run is None

            await pilot.press("backspace")
            await pilot.pause()
            assert static_text(status).startswith("→ 5 devices"), "the edited command is no longer the problem"
            await pilot.press("s")
            await pilot.pause()
            assert static_text(status).startswith("→ 5 devices")


async def test_hostile_output_renders_inert_and_copies_clean(tmp_path: Path) -> None:
    hostile = (
        "\x1b]52;c;cm0gLXJmIH4=\x07"  # OSC 52: set the clipboard
        "\x1b[2J\x1b[H"  # clear the screen, move the cursor home
        "\x1b]0;owned\x07"  # set the window title
        "[bold red]not markup[/bold red] \x1b[31mred\x1b[0m\n"
        "\x9b2Jstill text\x1bP+q\x1b\\\n"
    )
    lab = unstarted_lab(tmp_path)
    inventory = lab.inventory()
    transport = ScriptedTransport({device.name: hostile for device in inventory.devices})
    runner = CommandRunner(transport, audit=None, timeout_s=5.0, source="console")
    app = RunnerHost(runner, inventory, app_paths(tmp_path), Selection("device", "alcala-leaf1"))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.pane
        await run_and_wait(pilot, pane, "show version")
        view = pane.results_view
        shown = output_text(view)
        assert "[bold red]not markup[/bold red] red" in shown
        assert "still text" in shown
        for control in ("\x1b", "\x07", "\x9b", "\x9d"):
            assert control not in shown
        for strip in view.query_one("#result-output", RichLog).lines:
            for segment in strip:
                assert segment.style is None or not segment.style.bold, "device text must not be styled by markup"
        view.query_one("#result-list", DataTable).focus()
        await pilot.press("c")
        assert app.clipboard.startswith("[bold red]not markup[/bold red] red\n")
        assert "\x1b" not in app.clipboard and "\x07" not in app.clipboard


async def test_save_writes_every_result_to_a_folder_in_the_state_dir(tmp_path: Path) -> None:
    app, _, paths, audit = engine_app(tmp_path)
    with audit:
        async with app.run_test(size=(120, 40)) as pilot:
            pane = app.pane
            run = await run_and_wait(pilot, pane, "show version")
            pane.results_view.query_one("#result-list", DataTable).focus()
            await pilot.press("s")
            path_input = app.screen.query_one("#save-path", Input)
            folder = Path(path_input.value)
            assert folder.parent == paths.state_dir / "runs" and folder.name.endswith("-show-version")
            await pilot.press("enter")
            assert run.saved_to == folder
            assert file_names(folder) == sorted([f"{device.name}.txt" for device in run.devices] + ["summary.json"])
            assert f"saved to {folder}" in static_text(pane.results_view.query_one("#result-progress", Static))


async def test_a_broken_runner_ends_the_run_with_its_error_not_a_crash(tmp_path: Path) -> None:
    inventory = unstarted_lab(tmp_path).inventory()
    app = RunnerHost(BrokenRunner(), inventory, app_paths(tmp_path), Selection("site", "alcala"))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.pane
        assert pane.run("show version")
        await wait_until(pilot, lambda: pane.last_run is not None and bool(pane.last_run.error), "the error")
        assert not pane.is_running
        assert pane.last_run is not None and pane.last_run.error == "RuntimeError: the runner fell over"
        await pilot.pause()
        progress = static_text(pane.results_view.query_one("#result-progress", Static))
        assert progress.startswith("1/5 done") and "stopped: RuntimeError: the runner fell over" in progress


async def test_results_screen_shows_a_fixed_run_and_follows_a_running_one(tmp_path: Path) -> None:
    app = ResultsScreenHost(state_dir=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.screen.query_one(CommandResultsView)
        assert len(table_labels(view)) == 12
        progress = static_text(view.query_one("#result-progress", Static))
        assert progress.startswith("12/12 done, 2 failed · 30.2 s · slowest alcala-leaf7 30.0 s")
        await pilot.press("g")
        assert table_labels(view)[0] == "alcala-gw1, alcala-gw2"
        await pilot.press("escape")
        assert not isinstance(app.screen, CommandResultsScreen)

    running = demo_results(finished=False)
    app = ResultsScreenHost(running, state_dir=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.screen.query_one(CommandResultsView)
        assert len(table_labels(view)) == 7
        for result in demo_results().results[7:]:
            running.add(result)
        running.ended = time.time()
        await wait_until(pilot, lambda: len(table_labels(view)) == 12, "the screen to pull the new results")


def test_demo_results_are_fixed() -> None:
    first, second = demo_results(), demo_results()
    assert first.progress_line() == second.progress_line()
    assert [dataclasses.astuple(result) for result in first.results] == [
        dataclasses.astuple(result) for result in second.results
    ]


def audited_entries(path: Path) -> list[AuditEntry]:
    """The record that says most about each command: its outcome (or its `sent` record, if it has none)."""
    return [command.entry for command in read_audited_commands(path)]
