"""`edgeops run --format yaml|csv|table` against the device lab: every device once, the summary where it belongs."""

from __future__ import annotations

import csv
import io

from ruamel.yaml import YAML
from test_run_cli import ALL, RunCli, edgeops_run, inventory_file, lab, root_logging, state_dir

__all__ = ["edgeops_run", "inventory_file", "lab", "root_logging", "state_dir"]  # the fixtures, used by name


async def test_yaml_csv_and_table_against_the_lab(edgeops_run: RunCli) -> None:
    yaml_run = await edgeops_run("show version", "--target", "all", "--format", "yaml", "--no-progress")
    assert yaml_run.code == 0, yaml_run.err
    records = YAML(typ="safe").load(yaml_run.out)
    assert sorted(record["name"] for record in records) == sorted(ALL)
    leaf = next(record for record in records if record["name"] == "alcala-leaf1")
    assert "Hostname             : alcala-leaf1" in leaf["output"]
    assert "5 devices: 5 ok, 0 failed" in yaml_run.err

    csv_run = await edgeops_run("show version", "--target", "all", "--format", "csv", "--no-progress")
    rows = list(csv.DictReader(io.StringIO(csv_run.out)))
    assert sorted(row["name"] for row in rows) == sorted(ALL)
    assert {row["ok"] for row in rows} == {"True"}

    table_run = await edgeops_run("show version", "--target", "all", "--format", "table", "--no-progress")
    lines = table_run.out.splitlines()
    assert lines[0].split()[:4] == ["DEVICE", "SITE", "PLATFORM", "RESULT"]
    assert [line.split()[0] for line in lines[1:6]] == list(ALL)  # inventory order
    assert all(line.split()[3] == "ok" for line in lines[1:6])
    assert "5 devices: 5 ok, 0 failed" in table_run.out
