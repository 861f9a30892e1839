"""containerlab and Nornir inventories load into the same fleet, and dump_inventory round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeops.inventory.containerlab import load_containerlab, model_for
from edgeops.inventory.dump import dump_inventory
from edgeops.inventory.loader import load_inventory
from edgeops.inventory.model import Inventory, SecretRef
from edgeops.inventory.nornir import load_nornir
from edgeops.inventory.problems import InventoryError
from edgeops.platforms import GnmiTls, Platform

from .conftest import WriteFile

REPO = Path(__file__).resolve().parents[2]

TOPOLOGY = """
name: edge
topology:
  defaults:
    labels:
      site: alcala
      site-name: Tecno-Alcalá
  kinds:
    nokia_srlinux:
      type: ixr-d2l
      image: ghcr.io/nokia/srlinux
    nokia_sros:
      type: sr-7
      image: vr-sros:24.3.R2
  nodes:
    alc-spine1:
      kind: nokia_srlinux
      type: ixrd3l
      mgmt-ipv4: 172.20.20.11
      labels: {role: spine}
    alc-leaf1:
      kind: nokia_srlinux
      mgmt-ipv4: 172.20.20.21
      labels: {role: leaf, rack: r1, graph-icon: switch}
    bil-gw1:
      kind: nokia_sros
      mgmt-ipv4: 172.20.20.31
      labels: {site: bilbao, site-name: Bilbao-Zorrotzaurre, role: gateway, graph-level: 1}
    client1:
      kind: linux
      image: alpine:3
  links:
    - endpoints: ["alc-spine1:e1-1", "alc-leaf1:e1-49"]
"""

NORNIR_HOSTS = """
alc-spine1:
  hostname: 172.20.20.11
  groups: [srl, alcala]
  data: {role: spine, model: 7220 IXR-D3L}
alc-leaf1:
  hostname: 172.20.20.21
  groups: [srl, alcala]
  data: {role: leaf, model: 7220 IXR-D2L, tags: [rack=r1]}
bil-gw1:
  hostname: 172.20.20.31
  platform: nokia_sros
  password: env:EDGEOPS_CLAB_SROS_PASSWORD
  groups: [bilbao]
  data: {role: gateway, model: 7750 SR-7, gnmi_tls: insecure}
"""

NORNIR_GROUPS = """
srl:
  platform: nokia_srl
  password: env:EDGEOPS_CLAB_SRLINUX_PASSWORD
  data: {gnmi_tls: skip-verify}
alcala:
  data: {site: alcala, site_name: Tecno-Alcalá}
bilbao:
  data: {site: bilbao, site_name: Bilbao-Zorrotzaurre}
"""

NORNIR_DEFAULTS = """
username: admin
port: 22
data: {gnmi_port: 57400}
"""


def test_containerlab_and_nornir_describe_the_same_fleet(write: WriteFile) -> None:
    clab = load_containerlab(write("lab/edge.clab.yml", TOPOLOGY))
    write("nornir/groups.yaml", NORNIR_GROUPS)
    write("nornir/defaults.yaml", NORNIR_DEFAULTS)
    nornir = load_nornir(write("nornir/hosts.yaml", NORNIR_HOSTS))
    assert clab.without_provenance() == nornir.without_provenance()
    assert [device.name for device in clab.devices] == ["alc-spine1", "alc-leaf1", "bil-gw1"]  # linux node left out
    assert clab.devices[0].source_line == 15 and nornir.devices[0].source_line == 1


def test_containerlab_node_details(write: WriteFile) -> None:
    inventory = load_containerlab(write("edge.clab.yml", TOPOLOGY))
    assert [(s.code, s.name) for s in inventory.sites] == [
        ("alcala", "Tecno-Alcalá"),
        ("bilbao", "Bilbao-Zorrotzaurre"),
    ]
    spine, leaf, gateway = inventory.devices
    assert (spine.platform, spine.model, spine.role, spine.host) == (
        Platform.SRLINUX,
        "7220 IXR-D3L",
        "spine",
        "172.20.20.11",
    )
    assert leaf.model == "7220 IXR-D2L"  # the kind's type
    assert leaf.tags == {"rack=r1"}  # graph-* labels describe the drawing, not the device
    assert (spine.gnmi_port, spine.gnmi_tls) == (57400, GnmiTls.SKIP_VERIFY)
    assert spine.credentials.username == "admin"
    assert spine.credentials.password == SecretRef("env", "EDGEOPS_CLAB_SRLINUX_PASSWORD")
    assert (gateway.platform, gateway.model, gateway.site) == (Platform.SROS, "7750 SR-7", "bilbao")
    assert (gateway.gnmi_port, gateway.gnmi_tls) == (57400, GnmiTls.INSECURE)
    assert gateway.credentials.password == SecretRef("env", "EDGEOPS_CLAB_SROS_PASSWORD")


def test_containerlab_defaults_without_labels_or_addresses(write: WriteFile) -> None:
    topology = """
    name: dc1
    {prefix}
    topology:
      nodes:
        leaf1: {{kind: srl}}
        spine-2: {{kind: nokia_srlinux, type: ixr-h4-32d}}
        pe1: {{kind: vr-sros}}
        gw1: {{kind: nokia_srsim, type: "cpu=2 ram=4 chassis=sr-1s slot=A card=cpm-1s"}}
        r1: {{kind: nokia_sros, type: SR-14s}}
    """
    inventory = load_containerlab(write("dc1.clab.yaml", topology.format(prefix="")))
    assert [(s.code, s.name) for s in inventory.sites] == [("dc1", "dc1")]  # the lab is the site
    assert [(d.name, d.role, d.model, d.host) for d in inventory.devices] == [
        ("leaf1", "leaf", "7220 IXR-D2L", "clab-dc1-leaf1"),  # containerlab's default type
        ("spine-2", "spine", "7220 IXR-H4-32D", "clab-dc1-spine-2"),
        ("pe1", "pe", "7750 SR-1", "clab-dc1-pe1"),
        ("gw1", "gateway", "7750 SR-1s", "clab-dc1-gw1"),
        ("r1", "unknown", "7750 SR-14s", "clab-dc1-r1"),
    ]
    for prefix, host in (
        ('prefix: ""', "leaf1"),
        ("prefix: __lab-name", "dc1-leaf1"),
        ("prefix: lab", "lab-dc1-leaf1"),
    ):
        assert load_containerlab(write("dc1.clab.yaml", topology.format(prefix=prefix))).devices[0].host == host


@pytest.mark.parametrize(
    ("platform", "node_type", "model"),
    [
        (Platform.SRLINUX, "ixrd2l", "7220 IXR-D2L"),
        (Platform.SRLINUX, "ixr-d2l", "7220 IXR-D2L"),
        (Platform.SRLINUX, "ixrd3l", "7220 IXR-D3L"),
        (Platform.SRLINUX, "IXR-D3L", "7220 IXR-D3L"),
        (Platform.SRLINUX, "ixr6e", "7250 IXR-6e"),
        (Platform.SRLINUX, None, "7220 IXR-D2L"),
        (Platform.SRLINUX, "future-box", "future-box"),
        (Platform.SROS, "sr-7", "7750 SR-7"),
        (Platform.SROS, "SR-7", "7750 SR-7"),
        (Platform.SROS, "sr-2se", "7750 SR-2se"),
        (Platform.SROS, "sr-1x-48d", "7750 SR-1x-48D"),
        (Platform.SROS, "ixr-r6", "7250 IXR-R6"),
        (Platform.SROS, "ixr-e", "7250 IXR-e"),
        (Platform.SROS, None, "7750 SR-1"),
    ],
)
def test_containerlab_types_to_models(platform: Platform, node_type: str | None, model: str) -> None:
    assert model_for(platform, node_type) == model


def test_containerlab_label_problems_have_positions(write: WriteFile) -> None:
    path = write(
        "bad.clab.yml",
        """
        name: bad
        topology:
          nodes:
            leaf1:
              kind: srl
              labels: {site: "two words"}
            leaf2:
              kind: srl
              mgmt-ipv4: 172.20.20.300
            leaf3: {}
        """,
    )
    with pytest.raises(InventoryError) as caught:
        load_containerlab(path)
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (6, "label site 'two words' contains spaces; names are single words like alc-leaf01"),
        (9, "mgmt-ipv4 '172.20.20.300' is not a valid IP address"),
        (10, "node 'leaf3' has no kind"),
    ]


def test_nornir_inheritance(write: WriteFile) -> None:
    write(
        "groups.yaml",
        """
        srlinux:
          platform: nokia_srlinux
          username: netops
          data: {model: 7220 IXR-D2L, tags: [fabric]}
        alcala:
          groups: [madrid-region]
          data: {site: alcala, site_name: Tecno-Alcalá, role: leaf}
        madrid-region:
          port: 2222
          data: {site: madrid, role: spine, tags: [region]}
        sros-classic:
          platform: nokia_sros
          connection_options:
            scrapli:
              extras: {variant: classic}
        """,
    )
    write("defaults.yaml", "username: admin\npassword: prompt\ndata: {gnmi_port: 57401, role: gateway}\n")
    path = write(
        "hosts.yaml",
        """
        leaf1:
          hostname: 127.0.0.1
          groups: [alcala, srlinux]
        leaf2:
          groups: [srlinux, alcala]
          username: own
          data: {gnmi: false, model: 7220 IXR-D3L}
        gw1:
          hostname: 127.0.0.3
          groups: [sros-classic]
          data: {site: alcala}
        """,
    )
    inventory = load_inventory(path.parent)  # a folder means Nornir
    leaf1, leaf2, gw1 = inventory.devices
    assert (leaf1.site, leaf1.role, leaf1.ssh_port) == ("alcala", "leaf", 2222)  # group before its parent group
    assert leaf1.credentials.username == "netops"
    assert leaf1.credentials.password == SecretRef("prompt")
    assert leaf1.gnmi_port == 57401 and leaf1.tags == {"fabric", "region"}
    assert leaf2.host == "leaf2"  # no hostname: the name, as DNS would resolve it
    assert (leaf2.credentials.username, leaf2.gnmi_port, leaf2.model) == ("own", None, "7220 IXR-D3L")
    assert (gw1.platform, gw1.role, gw1.model) == (Platform.SROS_CLASSIC, "gateway", "")
    assert [(s.code, s.name) for s in inventory.sites] == [("alcala", "Tecno-Alcalá")]
    assert leaf1.explicit_fields >= {"username", "ssh_port", "password"}


def test_nornir_problems_have_positions(write: WriteFile) -> None:
    write("groups.yaml", "junos:\n  platform: juniper_junos\n")
    path = write(
        "hosts.yaml",
        """
        r1:
          hostnme: 127.0.0.1
          groups: [junos]
          data: {site: alcala, role: leaf}
        r2:
          platform: nokia_srl
          groups: [nowhere]
          port: 99999
          data: {site: alcala}
        r3:
          platform: srl
          password: NokiaSrl1!
          data: {site: alcala, role: leaf, jump: bastion}
        """,
    )
    with pytest.raises(InventoryError) as caught:
        load_nornir(path)
    groups_file = str(path.parent / "groups.yaml")
    found = [(Path(p.file).name, p.line, p.message) for p in caught.value.problems]
    assert found == [
        ("hosts.yaml", 2, "unknown key 'hostnme' in 'r1' (did you mean 'hostname'?)"),
        ("hosts.yaml", 5, "host 'r2' has no data.role: set it on the host, in a group or in defaults"),
        ("hosts.yaml", 7, "unknown group 'nowhere'"),
        ("hosts.yaml", 8, "port 99999 is not a valid port (1..65535)"),
        (
            "hosts.yaml",
            12,
            f"literal password refused: {path} may be read by others (mode 0644); write a reference "
            f"(env:NAME, keyring:SERVICE/USER, file:PATH or prompt) or make the file private: chmod 600 {path}",
        ),
        ("hosts.yaml", 13, "unknown jump host 'bastion'; mark the jump host with data.jump_host: true"),
        ("groups.yaml", 2, found[-1][2]),
    ]
    assert found[-1][2] == (
        "unknown platform 'juniper_junos'; edgeops manages Nokia SR Linux and SR OS: "
        "nokia_srl, nokia_srlinux, nokia_sros, alcatel_sros, nokia_sros_classic (all names: edgeops help inventory)"
    )
    assert caught.value.problems[-1].file == groups_file


def test_nornir_jump_hosts(write: WriteFile) -> None:
    path = write(
        "hosts.yaml",
        """
        bastion:
          hostname: 127.0.0.10
          username: netops
          data: {jump_host: true, via: outer}
        outer:
          hostname: 127.0.0.11
          data: {jump_host: true}
        leaf1:
          hostname: 127.0.0.1
          platform: nokia_srl
          data: {site: alcala, role: leaf, jump: bastion}
        """,
    )
    inventory = load_nornir(path)
    assert [j.name for j in inventory.jump_hosts] == ["bastion", "outer"]
    assert inventory.jump_host("bastion").via == "outer"
    assert inventory.jump_host("bastion").credentials.username == "netops"
    assert inventory.jump_host("outer").credentials is None
    assert inventory.device("leaf1").jump == "bastion"


def _round_trip(inventory: Inventory, write: WriteFile) -> Inventory:
    text = dump_inventory(inventory)
    return load_inventory(write("dumped.yaml", text))


def test_dump_round_trips_a_containerlab_import(write: WriteFile) -> None:
    imported = load_containerlab(write("edge.clab.yml", TOPOLOGY))
    reloaded = _round_trip(imported, write)
    assert reloaded.without_provenance() == imported.without_provenance()
    # What the inventory set (and so wins over ~/.ssh/config) survives the trip too.
    assert [d.explicit_fields - {"tags"} for d in reloaded.devices] == [d.explicit_fields for d in imported.devices]


def test_dump_round_trips_the_documented_example(write: WriteFile) -> None:
    example = load_inventory(REPO / "docs/examples/two-site.yaml")
    text = dump_inventory(example)
    assert "defaults:" in text and "groups:" in text  # shared values are factored out
    assert _round_trip(example, write).without_provenance() == example.without_provenance()


def test_dump_never_writes_a_literal_password(write: WriteFile) -> None:
    path = write(
        "inventory.yaml",
        """
        sites: [alcala]
        jump_hosts: [{name: bastion, host: 127.0.0.10, password: jump-secret}]
        devices:
          - {name: leaf1, site: alcala, role: leaf, platform: srlinux, host: 127.0.0.1, password: dev-secret}
        """,
        mode=0o600,
    )
    text = dump_inventory(load_inventory(path))
    assert "secret" not in text
    assert text.count("password: prompt  # a literal password is never exported") == 2
    reloaded = _round_trip(load_inventory(path), write)
    assert reloaded.devices[0].credentials.password == SecretRef("prompt")
