"""`edgeops inventory show --json`: one object per device, the same devices as the table, no credentials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgeops.cli import main

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "two-site.yaml"


def test_one_json_object_per_device_like_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "show", str(EXAMPLE)]) == 0
    table = capsys.readouterr().out.splitlines()[1:]
    assert main(["inventory", "show", str(EXAMPLE), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [record["name"] for record in records] == [line.split()[0] for line in table]
    first = records[0]
    assert set(first) == {
        "name", "site", "role", "platform", "model", "host", "ssh_port", "gnmi_port", "gnmi_tls", "jump", "tags"
    }  # fmt: skip
    assert first["platform"] in {"srlinux", "sros"}
    assert isinstance(first["ssh_port"], int)


def test_site_filter_applies_to_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "show", str(EXAMPLE), "--json", "--site", "alcala"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records
    assert {record["site"] for record in records} == {"alcala"}
