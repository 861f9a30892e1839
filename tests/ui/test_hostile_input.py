"""Property tests: arbitrary text typed or pasted into every input of the console, and arbitrary text as device
names, interface descriptions, alarm texts and command output, never crashes the console, is never read as markup
and never reaches the terminal as a control sequence.

Each example starts a small console (one site, a few devices), so the examples are few: the fragments below put
markup, escape sequences, bidi overrides and path syntax in most of them.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from test_app import screen_text
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from conftest import SampleFleet, make_sample_fleet
from edgeops.devices.interface_rows import InterfaceBatch
from edgeops.devices.samples import Alarm, CommandResult, HealthSample, InterfaceSample, Severity
from edgeops.fleet.store import FleetStore
from edgeops.inventory.model import Inventory
from edgeops.ui.app import EdgeOpsApp, MainScreen, store_app
from edgeops.ui.live import Selection
from edgeops.ui.results.model import CommandRun
from edgeops.ui.results.screen import CommandResultsScreen
from edgeops.ui.screens.confirm_config import ConfirmConfigScreen

SIZE = (120, 36)
FRAGMENTS = (
    "[",
    "]",
    "[/]",
    "[bold]",
    "[/bold]",
    "[link=file:///etc/passwd]",
    "[@click=app.quit]",
    "\\[",
    "[name=ethernet-1/1]",
    "| grep [/]",
    "\x1b[2J",
    "\x1b]52;c;cHduZWQ=\x07",
    "\x1b]0;title\x1b\\",
    "\u202e",
    "\u2066",
    "\x9b31m",
    "\x85",
    "\x00",
    "\r",
    "\t",
    "\n",
    "%s",
    "{0}",
    "é",
    "\U0001f642",
)
HOSTILE = st.one_of(
    st.text(max_size=24),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)), min_size=1, max_size=6).map("".join),
)
# Characters a terminal would act on; none may appear on the screen the console draws.
RAW_CONTROLS = {chr(code) for code in (*range(0x00, 0x0A), *range(0x0B, 0x20), *range(0x7F, 0xA0))} | {
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
}
# Each example starts a console (about a second): a dozen per run keeps the suite quick on every Python, and
# EDGEOPS_PROPERTY_EXAMPLES asks for more (hypothesis keeps what failed in its database and tries it first).
MAX_EXAMPLES = int(os.environ.get("EDGEOPS_PROPERTY_EXAMPLES", "12"))
EXAMPLES = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # no shrinking: each step would start a console
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@contextmanager
def small_fleet() -> Iterator[SampleFleet]:
    """A fleet of its own for each example, in a folder removed after it (hypothesis runs many examples a test)."""
    with tempfile.TemporaryDirectory(prefix="edgeops-hostile-") as folder:
        yield make_sample_fleet(Path(folder), sites=1, devices_per_site=4)


async def settled(pilot: Pilot[object], app: EdgeOpsApp, where: str) -> None:
    """The console is still running, raised nothing, and draws no control character."""
    await pilot.pause(0.05)
    assert app.is_running and app.return_code is None, where
    raw = RAW_CONTROLS & set(screen_text(app).replace("\n", ""))
    assert not raw, f"{where}: {sorted(map(hex, map(ord, raw)))} on screen"


async def enter_text(pilot: Pilot[object], field: Input, text: str) -> None:
    """Type the printable part of `text` key by key, then paste the whole of it (how control characters arrive)."""
    for _ in range(20):  # a selection just made may still move the focus to the site map: wait for the field
        field.focus()
        await pilot.pause()
        if pilot.app.focused is field:
            break
    assert pilot.app.focused is field, f"{field!r} did not take the focus"  # keys elsewhere are bindings (q quits)
    typed = "".join(char for char in text if char.isprintable())[:6]
    if typed:
        await pilot.press(*typed)
    pilot.app.post_message(events.Paste(text))  # as the terminal driver delivers a paste
    await pilot.pause()


@pytest.mark.timeout(600)  # a bound on a broken console, not a timing assertion
@settings(EXAMPLES, max_examples=max(1, MAX_EXAMPLES // 6))
@given(texts=st.lists(HOSTILE, min_size=3, max_size=3))
async def test_any_text_in_the_palette_filters_runner_and_confirm_screen(texts: list[str]) -> None:
    """A console per example, three texts each through every input."""
    with small_fleet() as fleet:
        await every_text_in_every_input(fleet, texts)


async def every_text_in_every_input(fleet: SampleFleet, texts: list[str]) -> None:
    app = store_app(fleet.inventory, paths=fleet.paths, store=fleet.store, clock=fleet.clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        main = app.main_screen
        assert isinstance(main, MainScreen)
        for text in texts:
            await every_input(pilot, app, main, text)


async def every_input(pilot: Pilot[object], app: EdgeOpsApp, main: MainScreen, text: str) -> None:
    # The command palette: typed and pasted, its hits (and their help) drawn.
    await pilot.press("ctrl+p")
    await pilot.pause(0.1)
    await enter_text(pilot, app.screen.query_one(Input), text)
    await pilot.pause(0.1)
    await settled(pilot, app, "palette")
    await pilot.press("escape")
    await pilot.pause()
    # The interface filter.
    app.go_to(Selection("device", main.store.device_names()[0]))
    await pilot.pause()
    counters = main.pane("counters")
    counters.action_start_filter()  # type: ignore[attr-defined]
    await enter_text(pilot, counters.filter_input, text)  # type: ignore[attr-defined]
    await pilot.press("enter")
    await settled(pilot, app, "interface filter")
    # The runner's target and command lines, then Enter: the run (no engine here) or its problem is shown.
    runner = main.pane("runner")
    main.action_focus_pane("runner")
    await enter_text(pilot, runner.query_one("#runner-target", Input), text)
    await settled(pilot, app, "runner target")
    command = runner.query_one("#runner-command", Input)
    await enter_text(pilot, command, text)
    await pilot.press("enter")
    await pilot.pause(0.1)
    await settled(pilot, app, "runner command")
    # The confirm screen quotes the command and target; what is typed into it is refused unless it is the word.
    command.focus()
    await pilot.press("ctrl+g")
    await pilot.pause(0.1)
    assert isinstance(app.screen, ConfirmConfigScreen)
    await enter_text(pilot, app.screen.query_one("#confirm-input", Input), text)
    await pilot.press("enter")
    await settled(pilot, app, "confirm screen")
    await pilot.press("escape")
    await settled(pilot, app, "after the confirm screen")
    # Empty the lines again for the next text.
    for field in (runner.query_one("#runner-target", Input), command, counters.filter_input):  # type: ignore[attr-defined]
        field.value = ""


def hostile_fleet(text: str, fleet: SampleFleet) -> SampleFleet:
    """The small fleet with `text` as a device's name (made a valid inventory name), its site's name and
    description, an interface description, an alarm text and the device's hostname and version."""
    name = "".join(char for char in text if not char.isspace()) or "x"
    first, *rest = fleet.inventory.devices
    if name in {device.name for device in rest}:
        name += "-1"
    renamed = dataclasses.replace(first, name=name)
    site = dataclasses.replace(fleet.inventory.sites[0], name=text or "x", description=text)
    inventory = Inventory(sites=(site,), devices=(renamed, *rest))
    store = FleetStore(inventory, fleet.clock)
    now = fleet.clock.now()
    store.apply_interfaces(
        InterfaceBatch.of(
            InterfaceSample(device=name, name="ethernet-1/1", timestamp=now, oper_state="up", description=text)
        )
    )
    store.apply_health(
        HealthSample(
            device=name,
            timestamp=now,
            hostname=text,
            version=text,
            alarms=(Alarm(name, text or "id", Severity.MAJOR, text, text, now - 60),),
        )
    )
    return SampleFleet(inventory, store, fleet.clock, fleet.paths)


@EXAMPLES
@given(text=HOSTILE)
async def test_any_text_from_devices_as_names_descriptions_alarms_and_output(text: str) -> None:
    with small_fleet() as fleet:
        await every_place_a_device_text_shows(hostile_fleet(text, fleet), text)


async def every_place_a_device_text_shows(fleet: SampleFleet, text: str) -> None:
    device = fleet.inventory.devices[0]
    app = store_app(fleet.inventory, paths=fleet.paths, store=fleet.store, clock=fleet.clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settled(pilot, app, "site map")
        app.go_to(Selection("device", device.name))
        await pilot.pause(0.15)  # the health and interface panes draw the device
        await settled(pilot, app, "device panes")
        await pilot.press("ctrl+p")
        await pilot.pause(0.15)  # the palette lists the device and site names
        await settled(pilot, app, "palette listing the names")
        await pilot.press("escape")
        # The device's command output, on the results screen.
        run = CommandRun(text or "show version", text, fleet.inventory.devices[:2])
        run.add(CommandResult(device.name, run.command, text, 1.0, 2.0, ok=True))
        run.add(CommandResult(fleet.inventory.devices[1].name, run.command, "", 1.0, 2.0, ok=False, reason=text))
        run.ended = 3.0
        app.push_screen(CommandResultsScreen(run, state_dir=fleet.paths.state_dir))
        await pilot.pause(0.3)
        await settled(pilot, app, "results screen")
        app.notify(text, title=text)
        await settled(pilot, app, "a notification of the text")
