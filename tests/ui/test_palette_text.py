"""Text typed into the command palette, and device and site names it lists, are plain text, never markup."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from test_app import WIDE, fixed_app, wait_for
from textual.message import Message

from conftest import SampleFleet, make_sample_fleet
from edgeops.fleet.store import FleetStore
from edgeops.ui.live import Selection, SelectionChanged

# SR Linux path syntax and grep patterns are ordinary input for an engineer; each is also valid-looking markup.
TYPED = (
    "info from state /interface[name=ethernet-1/1]",
    "show version | grep [/]",
    "run show port [bold]1/1/c1[/]",
    "> info from state /platform/control[slot=A]",
    "[link=file:///etc/passwd]x[/link]",
    "Tecno-Alcalá [room=B-2]",
)


@pytest.mark.parametrize("typed", TYPED)
async def test_typing_path_syntax_into_the_palette_does_not_crash(sample_fleet: SampleFleet, typed: str) -> None:
    app = fixed_app(sample_fleet)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*typed)
        await pilot.pause(0.6)  # the providers' search runs and the hits are drawn
        assert app.is_running and app.return_code is None
        await pilot.press("escape")


async def test_a_site_and_device_named_like_markup_are_listed_as_text(tmp_path: Path) -> None:
    fleet = make_sample_fleet(tmp_path, hostile=False)
    first = fleet.inventory.sites[0]
    odd = dataclasses.replace(first, name="Tecno-Alcalá [room=B-2]")
    inventory = dataclasses.replace(fleet.inventory, sites=(odd, *fleet.inventory.sites[1:]))
    store = FleetStore(inventory, fleet.clock)
    app = fixed_app(SampleFleet(inventory, store, fleet.clock, fleet.paths))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.6)  # the discovery hits ("Go to <site>") are drawn as the palette opens
        await pilot.press(*"room=B")
        await pilot.pause(0.6)
        assert app.is_running and app.return_code is None
        await pilot.press("escape")


async def test_an_alerts_address_in_the_palette_goes_to_its_device(sample_fleet: SampleFleet) -> None:
    app = fixed_app(sample_fleet)
    wanted = next(device for device in sample_fleet.inventory.devices if device.host.endswith(".2.3"))
    selections: list[Selection] = []

    def hook(message: Message) -> None:
        if isinstance(message, SelectionChanged):
            selections.append(message.selection)

    async with app.run_test(size=WIDE, message_hook=hook) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*wanted.host)
        await pilot.pause(0.8)
        await pilot.press("enter")
        await wait_for(pilot, lambda: Selection("device", wanted.name) in selections, "the palette's selection")
