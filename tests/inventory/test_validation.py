"""Every mistake in an inventory is reported, each as FILE:LINE:COL: message, and nothing else is raised."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeops.inventory.loader import load_inventory
from edgeops.inventory.problems import InventoryError, Problem

from .conftest import WriteFile

MANY_MISTAKES = """
version: 1
sites:
  - code: alcala
    name: Tecno-Alcalá
  - code: alcala
jump_hosts:
  - name: bastion
    host: 127.0.0.10
defaults:
  usernme: admin
groups:
  leaf:
    platform: srlinux
    role: leaf
    gnmi_tls: verify
devices:
  - name: leaf{01..02}
    site: alcala
    groups: [leaf, spnie]
    host: 127.10.1.{1..2}
  - name: gw1
    site: Tecno-Alcalá
    platform: sros
    role: gateway
    host: 127.10.2.1
    ssh_port: 70000
    jump: bastoin
  - name: gw1
    site: alcala
    platform: timos
    role: gateway
    host: 127.10.2.300
  - name: gw3
    site: madrid
    host: 127.10.2.3
    model: 7750
    gnmi_port: 0
"""

EXPECTED = [
    (5, 11, "duplicate site code 'alcala' (first defined at line 3)"),
    (10, 3, "unknown key 'usernme' in defaults (did you mean 'username'?)"),
    (
        15,
        15,
        "unknown gnmi_tls value 'verify' (did you mean 'skip-verify'?); expected one of tls, skip-verify, insecure",
    ),
    (19, 20, "unknown group 'spnie'; known groups: leaf"),
    (
        22,
        11,
        "unknown site 'Tecno-Alcalá': 'Tecno-Alcalá' is the name of site 'alcala'; devices refer to sites by code; "
        "known sites: alcala",
    ),
    (26, 15, "ssh_port 70000 is not a valid port (1..65535)"),
    (27, 11, "unknown jump host 'bastoin' (did you mean 'bastion'?); known jump hosts: bastion"),
    (28, 11, "duplicate device name 'gw1' (first defined at line 21)"),
    (30, 15, "unknown platform 'timos'; expected one of srlinux, sros, sros-classic"),
    (32, 11, "host '127.10.2.300' is not a valid IP address"),
    (33, 5, "device 'gw3' has no role and no platform: set it on the device, in one of its groups or in defaults"),
    (34, 11, "unknown site 'madrid'; known sites: alcala"),
    (36, 12, "model must be text, got number 7750; quote it"),
    (37, 16, "gnmi_port 0 is not a valid port (1..65535)"),
]


def test_every_mistake_is_reported_with_its_line_and_column(write: WriteFile) -> None:
    path = write("inventory.yaml", MANY_MISTAKES)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    found = [(problem.line, problem.col, problem.message) for problem in caught.value.problems]
    assert found == EXPECTED
    assert all(problem.file == str(path) for problem in caught.value.problems)
    # The formatted text is what an editor or CI log parses.
    first = caught.value.problems[0].format()
    assert first == f"{path}:5:11: duplicate site code 'alcala' (first defined at line 3)"
    assert caught.value.format().count("\n") == len(EXPECTED) - 1


def test_yaml_syntax_error_names_its_position(write: WriteFile) -> None:
    path = write("inventory.yaml", "sites: [alcala\ndevices: []\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.col) == (2, 8)
    assert problem.message.startswith("YAML syntax error: expected ',' or ']'")


def test_duplicate_key_is_reported_without_its_values(write: WriteFile) -> None:
    path = write(
        "inventory.yaml",
        """
        defaults:
          password: env:A
          password: s3cret-value
        """,
    )
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    (problem,) = caught.value.problems
    assert problem.line == 3
    assert problem.message == "duplicate key 'password' in the same mapping"
    assert "s3cret" not in caught.value.format()


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", None, "the file is empty; an inventory needs at least sites and devices"),
        ("- just\n- a list\n", 1, "the top level must be a mapping with keys"),
        ("sites: []\n", None, "no devices: add a devices list (see: edgeops help inventory)"),
        ("sites: []\ndevices: []\nversion: 7\n", 3, "unsupported inventory version 7; this edgeops reads version 1"),
        ("site: []\ndevices: []\n", 1, "unknown key 'site' in the top level (did you mean 'sites'?)"),
    ],
)
def test_file_level_mistakes(write: WriteFile, text: str, line: int | None, message: str) -> None:
    path = write("inventory.yaml", text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    (problem,) = caught.value.problems
    assert problem.line == line
    assert problem.message.startswith(message)


def test_missing_file_is_an_inventory_error(tmp_path) -> None:
    with pytest.raises(InventoryError) as caught:
        load_inventory(tmp_path / "nowhere.yaml")
    assert caught.value.problems == [Problem(str(tmp_path / "nowhere.yaml"), None, None, "no such file")]


def test_wrong_types_are_reported(write: WriteFile) -> None:
    path = write(
        "inventory.yaml",
        """
        sites: [alcala]
        defaults: [not, a, mapping]
        devices:
          - name: leaf1
            site: alcala
            role: leaf
            platform: srlinux
            host: 127.0.0.1
            use_agent: "yes"
            tags: {rack: 4}
            key_files: 12
            gnmi: 57401
        """,
    )
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (2, "defaults must be a mapping, got a list"),
        (9, "use_agent must be true or false, got text 'yes'"),
        (10, "tags must be a list, got a mapping"),
        (11, "key_files must be a list, got number 12"),
        (12, "gnmi must be true or false (use gnmi_port for a port number)"),
    ]


def test_jump_host_problems(write: WriteFile) -> None:
    path = write(
        "inventory.yaml",
        """
        sites: [alcala]
        jump_hosts:
          - name: a
            host: 127.0.0.1
            via: b
          - name: b
            host: 127.0.0.2
            via: a
          - name: c
            host: 127.0.0.3
            via: nowhere
          - name: d
        devices: []
        """,
    )
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (5, "jump hosts reach each other in a loop: a -> b -> a"),
        (8, "jump hosts reach each other in a loop: b -> a -> b"),
        (11, "unknown jump host 'nowhere' in via; known jump hosts: a, b, c"),
        (12, "jump host 'd' has no host"),
    ]


def test_fields_that_belong_to_each_device_cannot_be_defaults(write: WriteFile) -> None:
    path = write(
        "inventory.yaml",
        """
        sites: [alcala]
        defaults:
          name: leaf
        groups:
          g:
            groups: [h]
        devices: []
        """,
    )
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert [p.message for p in caught.value.problems] == [
        "'name' cannot be set in defaults: it belongs to each device entry",
        "'groups' cannot be set in group 'g': it belongs to each device entry",
    ]


_yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.text(string.ascii_letters + string.digits + "{}.,:-_ /~", max_size=12),
)
_keys = st.sampled_from(
    [
        "name",
        "site",
        "role",
        "platform",
        "host",
        "ssh_port",
        "gnmi_port",
        "gnmi",
        "gnmi_tls",
        "jump",
        "username",
        "password",
        "key_files",
        "tags",
        "groups",
        "model",
        "use_agent",
        "bogus",
    ]
)
_devices = st.lists(st.dictionaries(_keys, st.one_of(_yaml_scalars, st.lists(_yaml_scalars, max_size=3))), max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(devices=_devices, sites=st.one_of(st.none(), st.lists(_yaml_scalars, max_size=3)))
def test_any_mistake_raises_only_inventory_error(write: WriteFile, devices, sites) -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    import io

    buffer = io.StringIO()
    yaml.dump({"sites": sites, "devices": devices}, buffer)
    path = write("fuzz.yaml", buffer.getvalue())
    try:
        load_inventory(path)
    except InventoryError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.file == str(path)
            assert problem.message
