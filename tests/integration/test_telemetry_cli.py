"""`edgeops telemetry status` end to end against the device lab: JSON lines per device and group, the device's
own words for a refused group, the table, and the exit status.

The lab serves on the test's event loop; `edgeops.cli.main` runs in a worker thread with its own loop, as it does
from a shell.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from edgeops.cli import main
from edgeops.cli.lab import write_lab_inventory
from edgeops.devices.gnmi_paths import native_path_map
from edgeops.lab.runner import Lab

pytestmark = pytest.mark.lab

LabFactory = Callable[..., Awaitable[Lab]]


@pytest.fixture
def root_logging() -> Iterator[None]:
    """The command points the root logger at its log file; put pytest's handlers back afterwards."""
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


async def telemetry_status(
    inventory: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *arguments: str
) -> tuple[int, str, str]:
    argv = ["telemetry", "status", *arguments, "--inventory", str(inventory), "--state-dir", str(tmp_path / "state")]
    argv += ["--log-dir", str(tmp_path / "logs")]
    capsys.readouterr()
    code = await asyncio.to_thread(main, argv)
    out, err = capsys.readouterr()
    return code, out, err


async def test_telemetry_status_json_shows_every_group_and_the_devices_refusal(
    start_lab: LabFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str], root_logging: None
) -> None:
    lab = await start_lab()
    health = native_path_map(lab.device("alcala-gw1").identity.platform).health[0]
    await lab.inject("alcala-gw1", "gnmi-reject", path=health, code="unimplemented")
    inventory = write_lab_inventory(lab, tmp_path / "inventory.yaml")

    code, out, err = await telemetry_status(inventory, tmp_path, capsys, "site:alcala", "--json", "--timeout", "60")
    assert code == 1, err  # a group is not live
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    by_key = {(record["device"], record["group"]): record for record in records}
    names = sorted(device.name for device in lab.inventory().devices)
    assert sorted({device for device, _ in by_key}) == names
    assert {group for _, group in by_key} == {"counters", "oper-state", "health", "alarms"}
    refused = by_key["alcala-gw1", "health"]
    assert refused["state"] in ("rejected", "polled") and refused["error_code"] == "UNIMPLEMENTED"
    assert refused["error"].startswith("MINOR: MGMT_CORE #2201") and refused["release"].startswith("nokia-state")
    assert refused["paths"] and refused["mode"] == "sample" and refused["gnmi"] == "up"
    for key, record in by_key.items():
        if key != ("alcala-gw1", "health"):
            assert record["state"] in ("live", "no-paths"), record
            assert record["error"] == "" and record["telemetry"] == "gnmi"
    assert "5 devices, 20 groups:" in err  # the summary goes to stderr with --json

    # One healthy device as a table: every group live, exit 0.
    code, out, err = await telemetry_status(inventory, tmp_path, capsys, "alcala-spine1", "--timeout", "60")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("DEVICE") and "DEVICE ERROR" in lines[0]
    assert [line.split()[:3] for line in lines[1:4]] == [
        ["alcala-spine1", "counters", "live"],
        ["alcala-spine1", "oper-state", "live"],
        ["alcala-spine1", "health", "live"],
    ]
    assert "1 device, 4 groups:" in out


async def test_telemetry_status_says_what_is_wrong_with_its_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], root_logging: None
) -> None:
    code, _, err = await telemetry_status(tmp_path / "missing.yaml", tmp_path, capsys, "all")
    assert code == 2 and "no such file" in err
    code, _, err = await telemetry_status(tmp_path / "missing.yaml", tmp_path, capsys, "--timeout", "0")
    assert code == 2 and "--timeout must be a positive number" in err
