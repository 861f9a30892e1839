"""Snapshot tests of every console screen at 120x40 and 80x24, from a fixed store (no network, frozen clock).

Update them after an intended change with `pytest tests/ui/test_snapshots.py --snapshot-update`, and look at the
report before committing. The SVGs double as the user guide's screen captures (docs/images/).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from conftest import SAMPLE_START, make_sample_fleet
from edgeops.clock import ManualClock
from edgeops.devices.hostkeys import HostKeyEvent
from edgeops.devices.samples import CommandResult, Failure
from edgeops.fleet.commands import CommandRunner
from edgeops.inventory.model import Device
from edgeops.inventory.problems import Problem
from edgeops.paths import AppPaths
from edgeops.platforms import Platform
from edgeops.ui.app import EdgeOpsApp, problems_app, store_app
from edgeops.ui.live import Selection
from edgeops.ui.results.save_screen import SaveResultsScreen
from edgeops.ui.screens.confirm_host_key import ConfirmHostKeyScreen
from edgeops.ui.screens.confirm_quit import ConfirmQuitScreen
from edgeops.ui.screens.password_prompt import PasswordScreen
from edgeops.ui.screens.subscriptions import SubscriptionsScreen

SIZES = {"wide": (120, 40), "small": (80, 24)}
SNAPSHOT_DEVICE = "alcala-leaf1"
RUN_STARTED = SAMPLE_START + 3_600.0

SRLINUX_VERSION = """\
Hostname             : {name}
Chassis Type         : {model}
Software Version     : v25.10.1
Build Number         : 399-g90c1dbe35ef
Architecture         : x86_64
Last Booted          : 2025-12-22T00:00:00.000Z
"""
SROS_VERSION = "TiMOS-C-25.10.R2 cpm/x86_64 Nokia 7750 SR Copyright (c) 2000-2025 Nokia.\n"


class FixedTransport:
    """Answers `show version` with fixed text and fixed times; one leaf times out, so the results show a failure."""

    async def run_command(self, device: Device, command: str, *, timeout_s: float) -> CommandResult:
        serial = int("".join(ch for ch in device.name if ch.isdigit()) or 0)
        started = RUN_STARTED + 0.01 * serial
        if device.name == "alcala-leaf4":
            return CommandResult(
                device.name,
                command,
                "",
                started,
                started + 30.0,
                ok=False,
                reason="timeout after 30 s",
                failure=Failure.TIMEOUT,
            )
        text = SROS_VERSION if device.platform is Platform.SROS else SRLINUX_VERSION
        return CommandResult(
            device.name,
            command,
            text.format(name=device.name, model=device.model),
            started,
            started + 0.2 + 0.05 * serial,
            ok=True,
        )

    async def aclose(self) -> None:
        pass


def snapshot_app(tmp_path: Path) -> EdgeOpsApp:
    fleet = make_sample_fleet(tmp_path, hostile=False)
    # Fixed paths: nothing on screen depends on where the test runs.
    paths = AppPaths(
        config_dir=tmp_path / "config",
        state_dir=tmp_path / "state",
        log_dir=tmp_path / "logs",
        inventory=Path("inventory.yaml"),
    )
    runner = CommandRunner(FixedTransport(), audit=None, source="console", clock=lambda: RUN_STARTED)
    return store_app(fleet.inventory, paths=paths, store=fleet.store, clock=fleet.clock, command_runner=runner)


async def no_blinking(pilot: Pilot[object]) -> None:
    """A steady cursor: a blinking one makes the screen depend on when it is taken.

    `App.query` does not reach into pushed screens, so every screen on the stack is asked.
    """
    for screen in pilot.app.screen_stack:
        for widget in screen.query(Input):
            widget.cursor_blink = False


async def select_device(pilot: Pilot[object]) -> None:
    await no_blinking(pilot)
    app = pilot.app
    assert isinstance(app, EdgeOpsApp)
    app.go_to(Selection("device", SNAPSHOT_DEVICE))
    await pilot.pause(0.4)


async def run_show_version(pilot: Pilot[object]) -> None:
    await no_blinking(pilot)
    app = pilot.app
    assert isinstance(app, EdgeOpsApp)
    app.go_to(Selection("site", "alcala"))
    await pilot.pause(0.4)
    app.open_runner("show version")
    main = app.main_screen
    assert main is not None
    runner = main.pane("runner")
    for _ in range(100):
        run = runner.last_run
        if run is not None and run.finished:
            break
        await pilot.pause(0.05)
    run = runner.last_run
    assert run is not None and run.finished
    # The run's own start and end are wall-clock times, and results arrive in whatever order the loop finishes
    # them: pin both so the screen is the same every time.
    run.started, run.ended = RUN_STARTED, RUN_STARTED + 30.2
    order = {device.name: index for index, device in enumerate(run.devices)}
    run.results.sort(key=lambda result: order[result.device])
    runner.results_view.show_run(run)
    await pilot.pause(0.3)


async def results_full_screen(pilot: Pilot[object]) -> None:
    await run_show_version(pilot)
    app = pilot.app
    assert isinstance(app, EdgeOpsApp) and app.main_screen is not None
    app.main_screen.pane("runner").action_full_screen()
    await pilot.pause(0.3)
    await no_blinking(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare, tmp_path: Path, size: str) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZES[size], run_before=select_device)


@pytest.mark.parametrize("size", SIZES)
def test_main_screen_site_summary(snap_compare, tmp_path: Path, size: str) -> None:
    async def select_site(pilot: Pilot[object]) -> None:
        await no_blinking(pilot)
        await pilot.pause(0.4)

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZES[size], run_before=select_site)


def test_site_map_find_and_problems_at_80x24(snap_compare, tmp_path: Path) -> None:
    """The site map at 80x24 with problems only on and the finder open: its prompt is in the pane's border."""

    async def find(pilot: Pilot[object]) -> None:
        await no_blinking(pilot)
        await pilot.pause(0.4)
        await pilot.press("p", "slash", "m", "a", "d")
        await pilot.pause(0.3)

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZES["small"], run_before=find)


async def runner_pane_small(pilot: Pilot[object]) -> None:
    """The runner at 80x24 (one right-hand pane at a time): the target line and the command line are both there."""
    await select_device(pilot)
    app = pilot.app
    assert isinstance(app, EdgeOpsApp) and app.main_screen is not None
    await pilot.press("4")
    await pilot.pause(0.3)
    await no_blinking(pilot)


def test_runner_pane_at_80x24(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZES["small"], run_before=runner_pane_small)


def test_runner_results_at_80x24(snap_compare, tmp_path: Path) -> None:
    async def run_in_pane(pilot: Pilot[object]) -> None:
        await run_show_version(pilot)  # opens the runner, the one right-hand pane shown at this size
        await no_blinking(pilot)

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZES["small"], run_before=run_in_pane)


def test_interfaces_pane_at_80x24(snap_compare, tmp_path: Path) -> None:
    async def interfaces(pilot: Pilot[object]) -> None:
        await select_device(pilot)
        await pilot.press("3")
        await pilot.pause(0.3)
        await no_blinking(pilot)

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZES["small"], run_before=interfaces)


def test_interfaces_filter_at_80x24(snap_compare, tmp_path: Path) -> None:
    async def filtered(pilot: Pilot[object]) -> None:
        await select_device(pilot)
        await pilot.press("3", "slash", "1", "/", "1")
        await pilot.pause(0.3)
        await no_blinking(pilot)

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZES["small"], run_before=filtered)


def test_confirm_config_at_80x24(snap_compare, tmp_path: Path) -> None:
    async def lift_guard(pilot: Pilot[object]) -> None:
        await runner_pane_small(pilot)
        await pilot.press("ctrl+g")
        await pilot.pause(0.3)
        await no_blinking(pilot)

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZES["small"], run_before=lift_guard)


def test_confirm_quit_while_running_at_80x24(snap_compare, tmp_path: Path) -> None:
    async def quit_asked(pilot: Pilot[object]) -> None:
        await select_device(pilot)
        app = pilot.app
        assert isinstance(app, EdgeOpsApp)
        app.push_screen(ConfirmQuitScreen("a command is running on 8 devices; quitting cancels it"))
        await pilot.pause(0.3)

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZES["small"], run_before=quit_asked)


async def pushed(pilot: Pilot[object], screen: object) -> None:
    await select_device(pilot)
    app = pilot.app
    assert isinstance(app, EdgeOpsApp)
    app.push_screen(screen)  # type: ignore[arg-type]
    await pilot.pause(0.3)
    await no_blinking(pilot)


def test_host_key_question_at_80x24(snap_compare, tmp_path: Path) -> None:
    event = HostKeyEvent(
        "alcala-gw1", "[127.10.1.7]:2222", "ssh-ed25519 SHA256:3k9mYQzq5m7cXyQ0t4ZpNw0yq8l1f2c3d4e5f6g7h8i"
    )
    assert snap_compare(
        snapshot_app(tmp_path),
        terminal_size=SIZES["small"],
        run_before=lambda p: pushed(p, ConfirmHostKeyScreen(event)),
    )


def test_password_prompt_at_80x24(snap_compare, tmp_path: Path) -> None:
    prompt = "Password for admin on 8 devices of site alcala (SecretRef prompt:alcala):"
    screen = PasswordScreen(prompt)
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZES["small"], run_before=lambda p: pushed(p, screen))


def test_save_results_at_80x24(snap_compare, tmp_path: Path) -> None:
    default = Path("state/runs/20260101-031200-show-version")
    screen = SaveResultsScreen(default)
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZES["small"], run_before=lambda p: pushed(p, screen))


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare, tmp_path: Path, size: str) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZES[size], run_before=select_device, press=["f1"])


async def results_searched(pilot: Pilot[object]) -> None:
    """The full-screen results at 80x24 with `/25` found in the output and `n` on its second match."""
    await results_full_screen(pilot)
    pilot.app.screen.query_one("#result-output").focus()
    await pilot.press("slash", "2", "5", "enter", "n")
    await pilot.pause(0.3)
    await no_blinking(pilot)


def test_command_results_search(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZES["small"], run_before=results_searched)


@pytest.mark.parametrize("size", SIZES)
def test_command_results(snap_compare, tmp_path: Path, size: str) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZES[size], run_before=results_full_screen)


def test_command_results_in_the_runner_pane(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZES["wide"], run_before=run_show_version)


async def open_subscriptions(pilot: Pilot[object]) -> None:
    """The subscription view of the snapshot device: counters live, oper-state refused and polled over SSH (with
    the device's words), health gone quiet long enough to be stale, alarms without paths on SR Linux."""
    await select_device(pilot)
    app = pilot.app
    assert isinstance(app, EdgeOpsApp)
    clock = app.clock
    assert isinstance(clock, ManualClock)
    clock.advance(35.0)
    for group in ("counters", "oper-state"):
        app.store.subscription_data(SNAPSHOT_DEVICE, group)
    app.open_subscriptions(Selection("device", SNAPSHOT_DEVICE))
    # The screen fills its table off the first frame: wait for it (bounded; a busy machine takes longer than 0.4 s).
    for _ in range(100):
        await pilot.pause(0.1)
        screen = app.screen
        if isinstance(screen, SubscriptionsScreen) and screen.ready:
            break
    assert isinstance(screen, SubscriptionsScreen) and screen.ready
    screen.table.move_cursor((SNAPSHOT_DEVICE, "oper-state"))
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", SIZES)
def test_subscriptions_screen(snap_compare, tmp_path: Path, size: str) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZES[size], run_before=open_subscriptions)


def broken_inventory_app(tmp_path: Path, problems: Sequence[Problem]) -> EdgeOpsApp:
    paths = AppPaths(
        config_dir=tmp_path / "config",
        state_dir=tmp_path / "state",
        log_dir=tmp_path / "logs",
        inventory=Path("inventory.yaml"),
    )
    return problems_app(problems, paths=paths)


@pytest.mark.parametrize("size", SIZES)
def test_inventory_errors(snap_compare, tmp_path: Path, size: str) -> None:
    problems = [
        Problem("inventory.yaml", 4, 5, "unknown key 'hots' (did you mean 'host'?)"),
        Problem("inventory.yaml", 9, 15, "platform must be one of srlinux, sros, sros-classic (got 'srl')"),
        Problem("inventory.yaml", 17, 7, "site 'alcla' is not defined (did you mean 'alcala'?)"),
        Problem("inventory.yaml", 22, 17, "[red]literal markup[/] and \x1b[31mescapes\x1b[0m stay inert"),
    ]
    assert snap_compare(broken_inventory_app(tmp_path, problems), terminal_size=SIZES[size])


# The user guide shows these screens; its copies must follow the snapshots when they are updated.
GUIDE_IMAGES = {
    "console-device.svg": "test_main_screen[wide].svg",
    "console-site.svg": "test_main_screen_site_summary[wide].svg",
    "console-80x24.svg": "test_main_screen[small].svg",
    "console-help.svg": "test_help_screen[wide].svg",
    "console-command-results.svg": "test_command_results[wide].svg",
    "console-runner.svg": "test_command_results_in_the_runner_pane.svg",
    "console-inventory-errors.svg": "test_inventory_errors[wide].svg",
    "console-subscriptions.svg": "test_subscriptions_screen[wide].svg",
}


@pytest.mark.parametrize("image", GUIDE_IMAGES)
def test_user_guide_images_are_the_snapshots(image: str) -> None:
    root = Path(__file__).resolve().parents[2]
    snapshot = Path(__file__).parent / "__snapshots__" / "test_snapshots" / GUIDE_IMAGES[image]
    guide = root / "docs" / "images" / image
    assert guide.read_text(encoding="utf-8") == snapshot.read_text(encoding="utf-8"), (
        f"docs/images/{image} is out of date: copy {snapshot.name} over it"
    )
