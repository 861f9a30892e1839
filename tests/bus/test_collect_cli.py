"""`edgeops collect` and `edgeops --source` at the command line: an unreachable bus is a clear message and exit 2,
and `--status` prints who holds what."""

from __future__ import annotations

import io

import pytest

from edgeops.bus.leases import Conflict, Lease, Ownership
from edgeops.cli.collect import print_ownership
from edgeops.cli.main import main


def test_an_unreachable_bus_at_start_names_the_url_and_the_cause(nats_server, tmp_path, capsys) -> None:
    url = f"nats://{nats_server.host}:1"
    inventory = tmp_path / "fleet.yaml"
    inventory.write_text("devices: []\n")
    for argv in (["--source", url, "-i", str(inventory)], ["collect", "--bus", url, "-i", str(inventory)]):
        assert main([*argv, "--log-dir", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert f"cannot reach the bus at {url}: connection refused" in err, err


def test_a_password_in_the_url_is_never_printed(nats_server, tmp_path, capsys) -> None:
    url = f"nats://viewer:hunter2@{nats_server.host}:1"
    assert main(["collect", "--status", "--bus", url, "--log-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "hunter2" not in err and f"viewer:***@{nats_server.host}:1" in err


def test_not_a_bus_url_is_a_usage_error(tmp_path, capsys) -> None:
    assert main(["collect", "--bus", "http://example.net", "--log-dir", str(tmp_path)]) == 2
    assert "not a bus URL" in capsys.readouterr().err


def test_status_on_a_bus_no_collector_used_yet(nats_server, tmp_path, capsys) -> None:
    assert main(["collect", "--status", "--bus", nats_server.url, "--log-dir", str(tmp_path)]) == 0
    assert "no collector holds any device" in capsys.readouterr().out


def test_status_lists_each_device_its_collector_and_conflicts() -> None:
    leases = (
        Lease("leaf1", "lab", "collector-a", "host-a", "f1", since=1000.0, renewed=1095.0),
        Lease("leaf2", "lab", "collector-b", "host-b", "f2", since=1050.0, renewed=1099.0),
    )
    conflicts = (Conflict("leaf2", "lab", "collector-b", "f2", "collector-a", "f3"),)
    out = io.StringIO()
    print_ownership(Ownership(leases, conflicts), out, now=1100.0)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["DEVICE", "SITE", "COLLECTOR", "HOST", "HELD", "FOR", "RENEWED"]
    assert lines[1].split() == ["leaf1", "lab", "collector-a", "host-a", "100", "s", "5", "s", "ago"]
    assert "2 devices held: collector-a 1, collector-b 1" in lines
    assert lines[-1] == (
        "conflict: leaf2 is held by collector-b with other credentials than collector-a's (not taken over)"
    )


@pytest.mark.parametrize("name", ["leaf\x1b[2J1"])
def test_status_strips_terminal_controls(name: str) -> None:
    out = io.StringIO()
    print_ownership(Ownership((Lease(name, "lab", "c", "h", "f", 0.0, 0.0),), ()), out, now=0.0)
    assert "\x1b" not in out.getvalue()
