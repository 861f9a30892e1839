"""Planted secrets stay out: a lab whose devices log in with a literal password and an environment secret, each a
unique marker; the console is driven through several screens and `edgeops run` through every output mode; then
every file written (state, logs, history, audit, `--out`, the lab's own folder) and every captured screen and
stream is searched for the markers. None may hold one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from test_app import WIDE, all_up, main_screen, screen_text, wait_for

from conftest import FAST_ENGINE, LAB_GNMI_PORT, LAB_SSH_PORT
from edgeops.cli import main
from edgeops.fleet.engine import FleetEngine
from edgeops.inventory.dump import dump_inventory
from edgeops.inventory.model import Credentials, Inventory, SecretRef
from edgeops.lab.runner import Lab, relocate
from edgeops.lab.topology import build_fleet, synthetic_sites
from edgeops.logging_setup import configure_logging
from edgeops.paths import AppPaths
from edgeops.ui.app import fleet_app
from edgeops.ui.live import Selection

pytestmark = pytest.mark.lab

LITERAL_MARKER = "Lit3ral-planted-9d41c7"
ENV_MARKER = "Env-planted-5be20a"
COMMAND_MARKER = "Typed-planted-31e8f0"  # a password typed in a command: shown as typed, but never written
MARKERS = (LITERAL_MARKER, ENV_MARKER)
SECRET_COMMAND = f"set / system aaa authentication user ops password {COMMAND_MARKER}"
ENV_NAME = "EDGEOPS_SWEEP_PASSWORD"
LITERAL_DEVICE = "alcala-spine1"  # logs in with the literal; the others with the environment secret


@pytest.fixture
def root_logging() -> Iterator[None]:
    """The console and `run` point the root logger at their log file; put pytest's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture
async def planted_lab(tmp_path: Path) -> AsyncIterator[Lab]:
    """A one-site lab (three SR Linux, two SR OS) whose devices expect the planted passwords."""
    for attempt in range(8):
        fleet = build_fleet(synthetic_sites(1), 5, ssh_port=LAB_SSH_PORT, gnmi_port=LAB_GNMI_PORT, seed=3)
        planted = [
            dataclasses.replace(identity, password=LITERAL_MARKER if identity.name == LITERAL_DEVICE else ENV_MARKER)
            for identity in fleet
        ]
        lab = Lab(relocate(planted, random.randrange(100, 250)), lab_dir=tmp_path / "lab" / str(attempt), seed=3)
        try:
            await lab.start()
        except OSError as error:
            if error.errno == errno.EADDRINUSE and attempt < 7:
                continue
            raise
        try:
            yield lab
        finally:
            await lab.stop()
        return


def planted_inventory(lab: Lab) -> Inventory:
    """The lab's inventory with the literal on one device and `env:EDGEOPS_SWEEP_PASSWORD` on the others."""
    inventory: Inventory = lab.inventory()
    devices = []
    for device in inventory.devices:
        assert device.credentials is not None
        secret = SecretRef("literal", LITERAL_MARKER) if device.name == LITERAL_DEVICE else SecretRef("env", ENV_NAME)
        credentials = Credentials(device.credentials.username, secret, use_agent=False)
        devices.append(dataclasses.replace(device, credentials=credentials))
    return dataclasses.replace(inventory, devices=tuple(devices))


def files_holding_a_marker(root: Path, *, skip: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path != skip and not path.is_symlink():
            data = path.read_bytes()
            found += [
                f"{path.relative_to(root)}: {marker}"
                for marker in (*MARKERS, COMMAND_MARKER)
                if marker.encode() in data
            ]
    return found


async def test_planted_secrets_reach_no_file_screen_or_stream(
    planted_lab: Lab,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    root_logging: None,
) -> None:
    monkeypatch.setenv(ENV_NAME, ENV_MARKER)
    inventory = planted_inventory(planted_lab)
    inventory_file = tmp_path / "inventory.yaml"
    inventory_file.write_text(dump_inventory(inventory, literal_passwords=True), encoding="utf-8")
    inventory_file.chmod(0o600)
    assert LITERAL_MARKER in inventory_file.read_text(encoding="utf-8")  # the one file meant to hold it
    paths = AppPaths(
        config_dir=tmp_path / "config",
        state_dir=tmp_path / "state",
        log_dir=tmp_path / "logs",
        inventory=inventory_file,
    )
    shown: list[str] = []

    # The console, on the engine, through its screens: site map, device panes, palette, a run and its results,
    # the subscriptions screen, help; logging at debug level.
    configure_logging(paths.log_file, "DEBUG")
    engine = FleetEngine(inventory, paths, settings=FAST_ENGINE)
    app = fleet_app(inventory, engine, paths=paths)
    names = [device.name for device in inventory.devices]
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await wait_for(pilot, lambda: all_up(app, names), "every device to log in")
        shown.append(screen_text(app))
        app.go_to(Selection("device", LITERAL_DEVICE))
        await pilot.pause(0.5)
        shown.append(screen_text(app))
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"alcala")
        await pilot.pause(0.5)
        shown.append(screen_text(app))
        await pilot.press("escape")
        app.go_to(Selection("site", "alcala"))
        await pilot.pause(0.3)
        app.open_runner("show version")
        runner = main_screen(app).pane("runner")
        await wait_for(pilot, lambda: runner.last_run is not None and runner.last_run.finished, "the run to end")
        assert all(result.ok for result in runner.last_run.results)
        shown.append(screen_text(app))
        app.open_runner(SECRET_COMMAND)  # refused by the guard: it reaches the history and the audit log
        await wait_for(pilot, lambda: runner.last_run.command == SECRET_COMMAND and runner.last_run.finished, "refusal")
        app.open_subscriptions(Selection("site", "alcala"))
        await pilot.pause(0.5)
        shown.append(screen_text(app))
        await pilot.press("escape")
        await pilot.press("question_mark")
        await pilot.pause(0.3)
        shown.append(screen_text(app))
        await pilot.press("escape")

    # `edgeops run` in every output mode, with --out.
    base = ["--inventory", str(inventory_file), "--state-dir", str(paths.state_dir), "--log-dir", str(paths.log_dir)]
    base += ["--log-level", "debug"]
    for mode in (["--json", "--parse"], ["--group"], ["--diff", LITERAL_DEVICE], []):
        out_dir = tmp_path / "out" / (mode[0].lstrip("-") if mode else "stream")
        argv = [*base, "run", "show version", "--target", "all", "--no-progress", "--out", str(out_dir), *mode]
        capsys.readouterr()
        code = await asyncio.to_thread(main, argv)
        out, err = capsys.readouterr()
        assert code == 0, err
        shown += [out, err]
    argv = [*base, "run", SECRET_COMMAND, "--target", "all", "--json", "--out", str(tmp_path / "out" / "refused")]
    capsys.readouterr()
    assert await asyncio.to_thread(main, argv) != 0  # refused by the guard, audited
    out, err = capsys.readouterr()
    assert COMMAND_MARKER not in out + err

    assert [text for text in shown if any(marker in text for marker in MARKERS)] == []
    assert (paths.state_dir / "audit.jsonl").exists() and paths.log_file.exists()
    assert files_holding_a_marker(tmp_path, skip=inventory_file) == []
