"""The console's scope on the command line: --site, --target, default_target and --device, and their usage errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgeops.cli import main
from edgeops.cli.console import ConsoleScope, ScopeError
from edgeops.cli.inventory import read_inventory
from edgeops.cli.main import build_parser, scope_flag
from edgeops.inventory.model import Inventory

INVENTORY = """\
sites:
  - {code: alcala, name: Tecno-Alcalá}
  - {code: bilbao, name: Bilbao}
  - {code: cadiz, name: Cádiz}
devices:
  - {name: alcala-leaf1, site: alcala, role: leaf, platform: srlinux, host: 10.1.2.3}
  - {name: alcala-gw1, site: alcala, role: gateway, platform: sros, host: gw1.alcala.example.net}
  - {name: bilbao-leaf1, site: bilbao, role: leaf, platform: srlinux, host: 10.1.3.3}
  - {name: cadiz-leaf1, site: cadiz, role: leaf, platform: srlinux, host: 10.9.0.1}
"""


@pytest.fixture(autouse=True)
def no_user_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("EDGEOPS_"):
            monkeypatch.delenv(name)


@pytest.fixture
def inventory_file(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY, encoding="utf-8")
    return path


@pytest.fixture
def inventory(inventory_file: Path) -> Inventory:
    loaded, problems = read_inventory(inventory_file)
    assert loaded is not None, problems
    return loaded


def console(tmp_path: Path, inventory_file: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str]:
    """`edgeops FLAGS` with no terminal: a scope problem is exit 2 with its message; a good scope reaches the
    "needs a terminal" exit (2 as well), so the message tells them apart."""
    argv = ["--config-dir", str(tmp_path / "config"), "--log-dir", str(tmp_path / "logs"), "-i", str(inventory_file)]
    capsys.readouterr()
    code = main([*argv, *flags])
    return code, capsys.readouterr().err


def names(scope: ConsoleScope, inventory: Inventory) -> list[str]:
    return [device.name for device in scope.apply(inventory).inventory.devices]


def test_site_is_repeatable_and_comma_separated_and_joins_target() -> None:
    args = build_parser().parse_args(["--site", "alcala,bilbao", "--site", "Cádiz", "--target", "role:leaf"])
    assert args.scope_sites == ["alcala,bilbao", "Cádiz"]
    assert scope_flag(args.scope_sites, args.scope_target) == (
        "site:alcala,bilbao,Cádiz role:leaf",
        "--site and --target",
    )
    assert scope_flag(["Tecno Alcalá"], None) == ("site:'Tecno Alcalá'", "--site")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("site:alcala", ["alcala-leaf1", "alcala-gw1"]),
        ("site:alcala,bilbao role:leaf", ["alcala-leaf1", "bilbao-leaf1"]),
        ("host:10.1.2.3", ["alcala-leaf1"]),
        ("host:10.1.0.0/16", ["alcala-leaf1", "bilbao-leaf1"]),
        ("host:*.alcala.*", ["alcala-gw1"]),
        ("role:leaf !site:cadiz", ["alcala-leaf1", "bilbao-leaf1"]),
    ],
)
def test_a_scope_selects_with_the_targets_of_edgeops_run(
    inventory: Inventory, target: str, expected: list[str]
) -> None:
    assert names(ConsoleScope(target, "--target"), inventory) == expected


def test_the_scoped_inventory_keeps_only_the_sites_it_holds_and_names_itself(inventory: Inventory) -> None:
    scoped = ConsoleScope("site:alcala", "--site").apply(inventory)
    assert [site.code for site in scoped.inventory.sites] == ["alcala"]
    assert scoped.inventory.source == inventory.source
    assert (scoped.label, scoped.compact) == ("scope: site alcala · 2 of 4 devices", "site alcala 2/4")
    both = ConsoleScope("site:alcala,bilbao", "--site").apply(inventory)
    assert both.label == "scope: sites alcala, bilbao · 3 of 4 devices"
    mixed = ConsoleScope("role:leaf !site:cadiz", "--target").apply(inventory)
    assert mixed.label == "scope: role:leaf !site:cadiz · 2 of 4 devices"


def test_device_alone_keeps_every_device(inventory: Inventory) -> None:
    scoped = ConsoleScope(None, "", "bilbao-leaf1").apply(inventory)
    assert (scoped.inventory, scoped.label) == (inventory, "")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--site", "alcal"], "the console's scope (--site): unknown site 'alcal' (site:alcal); close matches: alcala"),
        (
            ["--site", "alcala", "--target", "role:spine"],
            "the console's scope (--site and --target): no device matches site:alcala role:spine: site:alcala gives "
            "2 device(s), none with role:spine",
        ),
        (
            ["--target", "host:10.7.0.0/16"],
            "the console's scope (--target): no device matches host:10.7.0.0/16: nothing in the inventory matches",
        ),
        (["--target", "site=alcala"], "'site=alcala' is not a target term: did you mean site:alcala?"),
        (["--device", "bilbao-leaf9"], "--device bilbao-leaf9: no device of that name in the inventory (did you mean"),
        (
            ["--site", "bilbao", "--device", "alcala-gw1"],
            "--device alcala-gw1: not among the 1 device of the console's scope, site bilbao (--site); widen it",
        ),
    ],
)
def test_a_scope_that_cannot_be_used_exits_2_naming_what_matched_nothing(
    tmp_path: Path, inventory_file: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    code, err = console(tmp_path, inventory_file, capsys, *flags)
    assert code == 2
    assert message in err, err
    assert "needs a terminal" not in err


def test_a_good_scope_goes_on_to_the_console(
    tmp_path: Path, inventory_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = console(tmp_path, inventory_file, capsys, "--site", "alcala,bilbao", "--device", "bilbao-leaf1")
    assert (code, err.strip()) == (2, "edgeops: the console needs a terminal (for scripts, see `edgeops run`)")


def test_default_target_from_config_toml_is_the_scope_unless_a_flag_gives_one(
    tmp_path: Path, inventory_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text('default_target = "site:nowhere"\n')
    code, err = console(tmp_path, inventory_file, capsys)
    assert code == 2
    assert f"the console's scope (default_target in {config / 'config.toml'}:1): unknown site 'nowhere'" in err
    code, err = console(tmp_path, inventory_file, capsys, "--site", "alcala")  # the flag wins
    assert "needs a terminal" in err
    code, err = console(tmp_path, inventory_file, capsys, "--target", "all", "--device", "cadiz-leaf1")
    assert "needs a terminal" in err


def test_default_target_shows_in_config_show(
    tmp_path: Path, inventory_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEOPS_DEFAULT_TARGET", "site:alcala")
    assert main(["--config-dir", str(tmp_path / "config"), "config", "show"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("default_target"))
    assert "site:alcala" in line and "EDGEOPS_DEFAULT_TARGET" in line


@pytest.mark.parametrize("flag", [["--site", "alcala"], ["--target", "all"], ["--device", "alcala-gw1"]])
def test_console_flags_before_a_subcommand_are_a_usage_error(
    tmp_path: Path, inventory_file: Path, capsys: pytest.CaptureFixture[str], flag: list[str]
) -> None:
    code, err = console(tmp_path, inventory_file, capsys, *flag, "inventory", "show")
    assert code == 2
    assert f"{flag[0]} before 'inventory' belong to the console" in err


def test_scope_error_is_a_value_error_with_the_message() -> None:
    with pytest.raises(ScopeError, match="unknown site"):
        ConsoleScope("site:x", "--site").apply(Inventory())
