"""A scoped console against the lab: its engine holds only the scope's devices (the others never see a session),
the site map and status bar show only them, and --device opens the console on its device."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from edgeops.cli.console import ConsoleRuntime, ConsoleScope, console_app, read_scoped
from edgeops.cli.lab import write_lab_inventory
from edgeops.fleet.engine import EngineSettings, FleetEngine
from edgeops.inventory.model import Inventory
from edgeops.lab.runner import Lab
from edgeops.paths import AppPaths
from edgeops.ui.app import MainScreen
from edgeops.ui.live import Selection
from edgeops.ui.session import ConsoleUser, Engine

pytestmark = pytest.mark.lab

WAIT_LIMIT_S = 45.0  # how long a broken console may hang the test, not a timing assertion


async def wait_for(pilot: Pilot[str], condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await pilot.pause(0.1)


async def test_a_scoped_console_holds_only_its_devices_and_opens_on_the_device_asked_for(
    start_lab: Callable[..., Awaitable[Lab]], fast_settings: EngineSettings, tmp_path: Path
) -> None:
    lab = await start_lab(sites=2, devices_per_site=3)
    fleet = lab.inventory()
    second = fleet.sites[1].code
    inside = [device.name for device in fleet.devices if device.site == second]
    outside = [device.name for device in fleet.devices if device.site != second]
    paths = AppPaths(tmp_path / "config", tmp_path / "state", tmp_path / "logs", tmp_path / "inventory.yaml")
    inventory_file = write_lab_inventory(lab, paths.inventory)
    scope = ConsoleScope(f"site:{second}", "--site", device=inside[-1])
    engines: list[FleetEngine] = []

    class Runtime(ConsoleRuntime):
        def make_engine(self, inventory: Inventory, user: ConsoleUser) -> Engine:
            engine = super().make_engine(inventory, user)
            assert isinstance(engine, FleetEngine)
            engines.append(engine)
            return engine

    runtime = Runtime(
        inventory_file, paths, fast_settings, record=False, scope=scope, scoped=read_scoped(inventory_file, scope)
    )
    app = console_app(runtime, theme=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await wait_for(pilot, lambda: screen.status_bar.figures.up == len(inside), f"{len(inside)} devices up")
        (engine,) = engines
        assert [device.name for device in engine.inventory.devices] == inside
        assert engine.store.device_names() == tuple(inside)
        assert engine.store.site_codes() == (second,)
        # --device: the site map's cursor and the health pane are on it.
        wanted = Selection("device", inside[-1])
        await wait_for(pilot, lambda: screen.selection == wanted, "the --device selection")
        assert screen.site_map.selected == wanted
        assert screen.site_map.cursor_node is not None and screen.site_map.cursor_node.data is not None
        assert screen.site_map.cursor_node.data.key == inside[-1]
        status = screen.status_bar.render().plain
        assert f"scope: site {second} · {len(inside)} of {len(fleet.devices)} devices" in status
    # Not one SSH connection nor gNMI stream reached a device outside the scope; every one inside was reached.
    assert {name: lab.devices[name].faults.ssh_connections for name in outside} == dict.fromkeys(outside, 0)
    assert {name: lab.devices[name].faults.gnmi_streams_opened for name in outside} == dict.fromkeys(outside, 0)
    assert all(lab.devices[name].faults.gnmi_streams_opened > 0 for name in inside)
