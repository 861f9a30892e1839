"""Loading edgeops YAML: defaults and groups precedence, ranges, the two ways to write sections, paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeops.inventory.loader import load_inventory
from edgeops.inventory.model import Credentials, Device, JumpHost, SecretRef, Site
from edgeops.inventory.problems import InventoryError
from edgeops.platforms import GnmiTls, Platform

from .conftest import WriteFile

REPO = Path(__file__).resolve().parents[2]


def test_defaults_then_groups_in_order_then_the_device(write: WriteFile) -> None:
    path = write(
        "inventory.yaml",
        """
        sites: [alcala]
        defaults:
          site: alcala
          role: leaf
          platform: srlinux
          model: from-defaults
          username: from-defaults
          ssh_port: 2200
          tags: [everyone]
        groups:
          first:
            model: from-first
            username: from-first
            gnmi_tls: skip-verify
            tags: [first]
          second:
            model: from-second
            tags: [second]
        devices:
          - name: leaf1
            groups: [first, second]
            host: 127.0.0.1
            username: from-device
            tags: [own]
          - name: leaf2
            groups: [second, first]
            host: 127.0.0.2
        """,
    )
    leaf1, leaf2 = load_inventory(path).devices
    assert leaf1.model == "from-second"  # the later group wins over the earlier one
    assert leaf1.credentials.username == "from-device"  # the device wins over every group
    assert leaf1.ssh_port == 2200  # defaults fill what nobody else set
    assert leaf1.gnmi_tls is GnmiTls.SKIP_VERIFY
    assert leaf1.tags == {"everyone", "first", "second", "own"}  # tags add up
    assert leaf2.model == "from-first"
    assert leaf2.credentials.username == "from-first"
    assert leaf2.tags == {"everyone", "first", "second"}


def test_built_in_defaults(write: WriteFile) -> None:
    path = write(
        "inventory.yaml",
        """
        sites: [alcala]
        devices:
          - {name: leaf1, site: alcala, role: leaf, platform: srlinux, host: 127.0.0.1}
        """,
    )
    inventory = load_inventory(path)
    (device,) = inventory.devices
    assert device == Device(
        name="leaf1",
        site="alcala",
        role="leaf",
        platform=Platform.SRLINUX,
        model="",
        host="127.0.0.1",
        ssh_port=22,
        gnmi_port=57400,
        gnmi_tls=GnmiTls.TLS,
        credentials=Credentials(username="admin"),
        source_line=3,
    )
    assert device.explicit_fields == {"site", "role", "platform", "host"}
    assert inventory.sites == (Site(name="alcala", code="alcala"),)
    assert inventory.source == path
    assert inventory.ssh_config is None  # no ~/.ssh/config in the test's home


def test_ranges_expand_in_step(write: WriteFile) -> None:
    path = write(
        "inventory.yaml",
        """
        sites: [alcala]
        defaults: {site: alcala, role: leaf, platform: srlinux}
        devices:
          - name: alc-leaf{01..08}
            host: 127.10.1.{1..8}
            ssh_port: "{2201..2208}"
            tags: [fabric, "rack-{a..h}"]
          - name: alc-gw{1..3..2}
            host: "{gw-a,gw-b}.example.net"
        """,
    )
    devices = load_inventory(path).devices
    leaves = devices[:8]
    assert [d.name for d in leaves] == [f"alc-leaf{n:02d}" for n in range(1, 9)]
    assert [d.host for d in leaves] == [f"127.10.1.{n}" for n in range(1, 9)]
    assert [d.ssh_port for d in leaves] == list(range(2201, 2209))
    assert leaves[0].tags == {"fabric", "rack-a"} and leaves[7].tags == {"fabric", "rack-h"}
    assert all(d.source_line == 4 for d in leaves)
    assert [(d.name, d.host) for d in devices[8:]] == [("alc-gw1", "gw-a.example.net"), ("alc-gw3", "gw-b.example.net")]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("name: leaf{1..3}\n    host: 127.0.0.{1..2}", "host stands for 2 values but name stands for 3"),
        ("name: leaf\n    host: 127.0.0.{1..2}", "name has no range but host stands for 2 values"),
        ("name: leaf{1.3}\n    host: 127.0.0.1", "'{1.3}' is not a range"),
        ("name: leaf{1..2}{a,b}\n    host: 127.0.0.1", "has 2 ranges; write one range per value"),
        (
            "name: leaf{1..2}\n    host: 127.0.0.1\n    ssh_port: {22..23}",
            'quote a range that starts a value: "{22..23}"',
        ),
        ("name: leaf{1..99999}\n    host: 127.0.0.1", "stands for 99999 values; at most 4096"),
    ],
)
def test_range_mistakes(write: WriteFile, entry: str, message: str) -> None:
    path = write(
        "inventory.yaml",
        "sites: [alcala]\ndefaults: {site: alcala, role: leaf, platform: srlinux}\ndevices:\n  - " + entry + "\n",
    )
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    messages = [problem.message for problem in caught.value.problems]
    assert any(message in text for text in messages), messages
    assert all(problem.line is not None and problem.line >= 4 for problem in caught.value.problems)


def test_sections_as_mappings_keyed_by_name(write: WriteFile) -> None:
    path = write(
        "inventory.yaml",
        """
        sites:
          alcala: Tecno-Alcalá
          bilbao: {name: Bilbao-Zorrotzaurre, description: Zorrotzaurre}
        jump_hosts:
          bastion: {host: 127.0.0.10, port: 2222, username: netops, via: outer}
          outer: {host: 127.0.0.11}
        devices:
          leaf1: {site: alcala, role: leaf, platform: srlinux, host: 127.0.0.1, jump: bastion}
          gw{1..2}: {site: bilbao, role: gateway, platform: sros, host: "127.0.0.{2..3}", gnmi: false}
        """,
    )
    inventory = load_inventory(path)
    assert inventory.sites == (
        Site(name="Tecno-Alcalá", code="alcala"),
        Site(name="Bilbao-Zorrotzaurre", code="bilbao", description="Zorrotzaurre"),
    )
    assert inventory.jump_hosts[0] == JumpHost(
        name="bastion", host="127.0.0.10", port=2222, credentials=Credentials(username="netops"), via="outer"
    )
    assert [d.name for d in inventory.devices] == ["leaf1", "gw1", "gw2"]
    assert inventory.device("leaf1").jump == "bastion"
    assert inventory.device("gw2").gnmi_port is None
    assert inventory.device("gw2").host == "127.0.0.3"


def test_relative_paths_resolve_against_the_inventory_folder(write: WriteFile, tmp_path: Path, isolated_home) -> None:
    write("site/ssh_config", "Host *\n  User ops\n")
    path = write(
        "site/inventory.yaml",
        """
        ssh_config: ssh_config
        sites: [alcala]
        defaults:
          site: alcala
          role: leaf
          platform: srlinux
          gnmi_ca_file: certs/ca.pem
          key_files: [keys/id_lab, ~/.ssh/id_ed25519, /etc/edgeops/key]
          password: file:secrets/password
        devices:
          - {name: leaf1, host: 127.0.0.1}
        """,
    )
    inventory = load_inventory(path)
    folder = tmp_path / "site"
    (device,) = inventory.devices
    assert inventory.ssh_config == folder / "ssh_config"
    assert device.gnmi_ca_file == folder / "certs/ca.pem"
    assert device.credentials.key_files == (
        folder / "keys/id_lab",
        isolated_home / ".ssh/id_ed25519",
        Path("/etc/edgeops/key"),
    )
    assert device.credentials.password == SecretRef("file", str(folder / "secrets/password"))


def test_ssh_config_defaults_to_the_users_file_and_can_be_switched_off(write: WriteFile, isolated_home) -> None:
    user_config = write("home/.ssh/config", "Host *\n  User ops\n")
    body = "sites: []\ndevices: []\n"
    assert load_inventory(write("a.yaml", body)).ssh_config == user_config
    assert load_inventory(write("b.yaml", "ssh_config: false\n" + body)).ssh_config is None
    with pytest.raises(InventoryError, match=r"ssh_config file .*missing does not exist"):
        load_inventory(write("c.yaml", "ssh_config: missing\n" + body))


def test_bad_ssh_config_is_reported_at_its_line(write: WriteFile) -> None:
    bad = write("ssh_config", "Host leaf*\n  Port notanumber\n")
    path = write(
        "inventory.yaml",
        """
        ssh_config: ssh_config
        sites: [alcala]
        devices:
          - {name: leaf1, site: alcala, role: leaf, platform: srlinux, host: leaf1}
        """,
    )
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == (str(bad), 2)
    assert problem.message.startswith("ssh_config: ")


def test_a_200_device_fleet_is_short_to_write(write: WriteFile) -> None:
    lines = ["sites: [alcala, bilbao]", "groups:", "  leaf: {role: leaf, platform: srlinux, model: 7220 IXR-D2L}"]
    lines += ["devices:"]
    for site, octet in (("alcala", 1), ("bilbao", 2)):
        lines += [
            f"  - name: {site[:3]}-leaf{{001..100}}",
            f"    site: {site}",
            "    groups: [leaf]",
            f"    host: 127.10.{octet}.{{1..100}}",
        ]
    path = write("fleet.yaml", "\n".join(lines) + "\n")
    inventory = load_inventory(path)
    assert len(lines) == 12
    assert len(inventory.devices) == 200
    assert len({d.host for d in inventory.devices}) == 200
    assert inventory.device("bil-leaf100").host == "127.10.2.100"


def test_the_documented_two_site_example_loads() -> None:
    inventory = load_inventory(REPO / "docs/examples/two-site.yaml")
    assert [(site.code, site.name) for site in inventory.sites] == [
        ("alcala", "Tecno-Alcalá"),
        ("bilbao", "Bilbao-Zorrotzaurre"),
    ]
    assert len(inventory.devices) == 16
    for site in ("alcala", "bilbao"):
        devices = inventory.devices_at(site)
        models = sorted((d.role, d.model) for d in devices)
        assert models.count(("gateway", "7750 SR-7")) == 2
        assert models.count(("spine", "7220 IXR-D3L")) == 2
        assert models.count(("leaf", "7220 IXR-D2L")) == 4
    assert {d.jump for d in inventory.devices_at("bilbao")} == {"bastion-bilbao"}
    assert {d.jump for d in inventory.devices_at("alcala")} == {None}
    gateway = inventory.device("bil-gw2")
    assert gateway.platform is Platform.SROS and gateway.gnmi_tls is GnmiTls.INSECURE
    assert gateway.credentials.password == SecretRef("prompt", "gateways")
    assert gateway.tags == {"wan", "metro-ring"}


def _yaml_block_after(document: str, heading: str) -> str:
    return document.split(heading, 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_examples_in_the_documentation_load(tmp_path: Path) -> None:
    document = (REPO / "docs/inventory.md").read_text(encoding="utf-8")
    loaded = {}
    for heading in ("## A first file", "about a dozen lines:", "## A complete example: two sites"):
        path = tmp_path / "example.yaml"
        path.write_text(_yaml_block_after(document, heading), encoding="utf-8")
        loaded[heading] = load_inventory(path)
    assert len(loaded["## A first file"].devices) == 2
    assert len(loaded["about a dozen lines:"].devices) == 200
    # The complete example in the text is the example file.
    in_text = loaded["## A complete example: two sites"].without_provenance()
    in_file = load_inventory(REPO / "docs/examples/two-site.yaml").without_provenance()
    assert in_text == in_file
