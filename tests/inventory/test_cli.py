"""`edgeops inventory check|import|show`: output and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeops.cli import main
from edgeops.inventory.loader import load_inventory

from .conftest import WriteFile
from .test_imports import NORNIR_DEFAULTS, NORNIR_GROUPS, NORNIR_HOSTS, TOPOLOGY

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs/examples/two-site.yaml"


def test_check_prints_a_summary_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "check", str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == f"{EXAMPLE}: OK"
    assert "    alcala  Tecno-Alcalá         8 devices" in lines
    assert "    bilbao  Bilbao-Zorrotzaurre  8 devices" in lines
    assert "  devices      16" in lines
    assert "    by platform  SR Linux 12, SR OS 4" in lines
    assert "    by role      leaf 8, gateway 4, spine 4" in lines
    assert "    bastion-bilbao  127.0.0.10:22  (8 devices)" in lines


def test_check_prints_every_problem_on_stderr_and_exits_2(write: WriteFile, capsys) -> None:
    path = write(
        "inventory.yaml",
        """
        sites: [alcala]
        devices:
          - {name: leaf1, site: alcalá, role: leaf, platform: srlinux, host: 127.0.0.1}
          - {name: leaf2, site: alcala, role: leaf, platfrom: srlinux, host: 127.0.0.2}
        """,
    )
    assert main(["inventory", "check", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{path}:3:25: unknown site 'alcalá' (did you mean 'alcala'?); known sites: alcala",
        f"{path}:4:5: device 'leaf2' has no platform: set it on the device, in one of its groups or in defaults",
        f"{path}:4:45: unknown key 'platfrom' in a device (did you mean 'platform'?)",
        f"3 problems in {path}",
    ]


def test_check_uses_the_configured_inventory(write: WriteFile, monkeypatch, capsys) -> None:
    monkeypatch.setenv("EDGEOPS_INVENTORY", str(EXAMPLE))
    assert main(["inventory", "check"]) == 0
    path = write("other.yaml", "sites: []\ndevices: []\n")
    assert main(["inventory", "--inventory", str(path), "check"]) == 0
    out = capsys.readouterr().out
    assert f"{EXAMPLE}: OK" in out and f"{path}: OK" in out


def test_check_of_a_missing_file_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["inventory", "check", str(tmp_path / "missing.yaml")]) == 2
    assert capsys.readouterr().err == (
        f"{tmp_path / 'missing.yaml'}: no such file; write one (see: edgeops help inventory), "
        "or pass --inventory FILE or set EDGEOPS_INVENTORY\n"
    )


def test_import_clab_prints_yaml_that_loads_back(write: WriteFile, capsys) -> None:
    topology = write("edge.clab.yml", TOPOLOGY)
    assert main(["inventory", "import", "clab", str(topology)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# edgeops inventory")
    assert "password: env:EDGEOPS_CLAB_SRLINUX_PASSWORD" in text
    reloaded = load_inventory(write("imported.yaml", text))
    assert [d.name for d in reloaded.devices] == ["alc-spine1", "alc-leaf1", "bil-gw1"]


def test_import_nornir_of_a_folder(write: WriteFile, capsys) -> None:
    write("nornir/groups.yaml", NORNIR_GROUPS)
    write("nornir/defaults.yaml", NORNIR_DEFAULTS)
    hosts = write("nornir/hosts.yaml", NORNIR_HOSTS)
    assert main(["inventory", "import", "nornir", str(hosts.parent)]) == 0
    reloaded = load_inventory(write("imported.yaml", capsys.readouterr().out))
    assert reloaded.device("bil-gw1").model == "7750 SR-7"


def test_import_problems_exit_2(write: WriteFile, capsys) -> None:
    hosts = write("hosts.yaml", "r1:\n  platform: cisco_ios\n  data: {site: a, role: leaf}\n")
    assert main(["inventory", "import", "nornir", str(hosts)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{hosts}:2:13: unknown platform 'cisco_ios'")


def test_show_lists_devices(capsys) -> None:
    assert main(["inventory", "show", str(EXAMPLE), "--site", "alcala"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "SITE", "ROLE", "PLATFORM", "MODEL", "HOST", "SSH", "GNMI", "JUMP"]
    assert len(lines) == 9
    assert lines[-1].split() == [
        "alc-gw2",
        "alcala",
        "gateway",
        "sros",
        "7750",
        "SR-7",
        "127.10.1.22",
        "22",
        "57400",
        "insecure",
        "-",
    ]


def test_no_action_shows_usage(capsys) -> None:
    assert main(["inventory"]) == 2
    assert "usage: edgeops inventory" in capsys.readouterr().err


def test_the_cli_module_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, edgeops.inventory.model; from edgeops.cli.main import build_parser; build_parser(); "
        "print('ruamel.yaml' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_package_exports_load_lazily() -> None:
    import edgeops.inventory as package
    from edgeops.inventory.loader import load_inventory as from_module

    assert package.load_inventory is from_module
    with pytest.raises(AttributeError):
        _ = package.no_such_thing


def test_check_warns_of_ssh_config_options_edgeops_does_not_honour(write: WriteFile, capsys) -> None:
    config = write("ssh_config", "Host leaf*\n  ControlPersist 10m\n")
    path = write(
        "inventory.yaml",
        f"""
        ssh_config: {config}
        sites: [alcala]
        defaults: {{site: alcala, role: leaf, platform: srlinux}}
        devices:
          - {{name: leaf1, host: leaf1}}
          - {{name: leaf2, host: leaf2}}
          - {{name: spine1, host: spine1}}
        """,
    )
    assert main(["inventory", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"warning: {config}:2: ControlPersist: not supported: edgeops ignores it (for leaf1, leaf2)" in out
