"""Target expressions: selection by site, role, platform, model, name, tag, negation, and the errors people see."""

from __future__ import annotations

import pytest

from edgeops.fleet.targets import TargetError, TargetProblem, fold, parse_targets
from edgeops.inventory.model import Device, Inventory, Site
from edgeops.platforms import Platform


def device(name: str, site: str, role: str, platform: Platform, model: str, tags: frozenset[str] = frozenset()):
    return Device(name=name, site=site, role=role, platform=platform, model=model, host="127.0.0.1", tags=tags)


SRL, SROS, CLASSIC = Platform.SRLINUX, Platform.SROS, Platform.SROS_CLASSIC
INVENTORY = Inventory(
    sites=(
        Site("Tecno-Alcalá", "alcala"),
        Site("Bilbao-Zorrotzaurre", "bilbao"),
        Site("A Coruña-Elviña", "coruna"),
        Site("Madrid-Julián Camarillo", "madrid"),  # a site with no devices yet
    ),
    devices=(
        device("alcala-spine1", "alcala", "spine", SRL, "7220 IXR-D3L"),
        device("alcala-leaf1", "alcala", "leaf", SRL, "7220 IXR-D2L"),
        device("alcala-leaf2", "alcala", "leaf", SRL, "7220 IXR-D2L", frozenset({"pci"})),
        device("alcala-gw1", "alcala", "gateway", SROS, "7750 SR-7"),
        device("alcala-gw2", "alcala", "gateway", SROS, "7750 SR-7"),
        device("bilbao-spine1", "bilbao", "spine", SRL, "7220 IXR-D3L"),
        device("bilbao-leaf1", "bilbao", "leaf", SRL, "7220 IXR-D2L"),
        device("bilbao-gw1", "bilbao", "gateway", CLASSIC, "7750 SR-1"),
        device("coruna-leaf1", "coruna", "leaf", SRL, "7220 IXR-D2L", frozenset({"pci", "lab"})),
    ),
)


def names(expression: str) -> list[str]:
    return [device.name for device in parse_targets(expression).select(INVENTORY)]


def error_of(expression: str, code: TargetProblem) -> str:
    """The message of the TargetError the expression raises, after checking its code: the message text is checked
    for what it tells a person (names, close matches), never to learn what went wrong."""
    with pytest.raises(TargetError) as caught:
        parse_targets(expression).select(INVENTORY)
    assert caught.value.code is code, str(caught.value)
    return str(caught.value)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("all", [device.name for device in INVENTORY.devices]),
        ("site:alcala", ["alcala-spine1", "alcala-leaf1", "alcala-leaf2", "alcala-gw1", "alcala-gw2"]),
        ("site:alcala role:leaf", ["alcala-leaf1", "alcala-leaf2"]),
        # Repeated keys OR, different keys AND: (alcala OR bilbao) AND leaf.
        ("site:alcala site:bilbao role:leaf", ["alcala-leaf1", "alcala-leaf2", "bilbao-leaf1"]),
        ("site:alcala,bilbao role:leaf", ["alcala-leaf1", "alcala-leaf2", "bilbao-leaf1"]),
        ("role:leaf site:alcala,bilbao", ["alcala-leaf1", "alcala-leaf2", "bilbao-leaf1"]),
        ("platform:sros", ["alcala-gw1", "alcala-gw2"]),
        ("platform:sros-classic", ["bilbao-gw1"]),
        ("platform:sros,sros-classic", ["alcala-gw1", "alcala-gw2", "bilbao-gw1"]),
        ("platform:SRL site:bilbao", ["bilbao-spine1", "bilbao-leaf1"]),
        ("model:*D3L", ["alcala-spine1", "bilbao-spine1"]),
        ("model:*d3l", ["alcala-spine1", "bilbao-spine1"]),
        ('model:"7750 SR-7"', ["alcala-gw1", "alcala-gw2"]),
        ("model:SR-1", ["bilbao-gw1"]),  # the model's last word
        ("model:7750*", ["alcala-gw1", "alcala-gw2", "bilbao-gw1"]),
        ("name:leaf*", ["alcala-leaf1", "alcala-leaf2", "bilbao-leaf1", "coruna-leaf1"]),
        ("name:alcala-*", ["alcala-spine1", "alcala-leaf1", "alcala-leaf2", "alcala-gw1", "alcala-gw2"]),
        ("*-gw*", ["alcala-gw1", "alcala-gw2", "bilbao-gw1"]),
        ("alcala-leaf1", ["alcala-leaf1"]),
        ("ALCALA-LEAF1", ["alcala-leaf1"]),
        ("leaf1", ["alcala-leaf1", "bilbao-leaf1", "coruna-leaf1"]),
        ("leaf1 site:coruna", ["coruna-leaf1"]),
        # Selection keeps inventory order whatever order the names were given in.
        ("bilbao-leaf1 alcala-leaf1", ["alcala-leaf1", "bilbao-leaf1"]),
        ("tag:pci", ["alcala-leaf2", "coruna-leaf1"]),
        ("tag:pci,lab role:leaf site:coruna", ["coruna-leaf1"]),
        ("all !role:gateway site:bilbao", ["bilbao-spine1", "bilbao-leaf1"]),
        ("!role:gateway !role:spine", ["alcala-leaf1", "alcala-leaf2", "bilbao-leaf1", "coruna-leaf1"]),
        ("-role:gateway,spine", ["alcala-leaf1", "alcala-leaf2", "bilbao-leaf1", "coruna-leaf1"]),
        ("site:alcala -name:*leaf2 -platform:sros", ["alcala-spine1", "alcala-leaf1"]),
        ("site:b*", ["bilbao-spine1", "bilbao-leaf1", "bilbao-gw1"]),
    ],
)
def test_selection(expression, expected):
    assert names(expression) == expected


@pytest.mark.parametrize(
    "spelling",
    ["site:tecno-alcala", "site:Tecno-Alcalá", "site:TECNO-ALCALA", 'site:"tecno alcala"', "site:ALCALA"],
)
def test_site_by_code_or_name_ignores_case_and_accents(spelling):
    assert names(spelling) == names("site:alcala")


def test_site_name_with_spaces_folds_to_hyphens():
    assert names("site:a-coruna-elvina") == ["coruna-leaf1"]
    assert fold("A Coruña-Elviña") == "a-coruna-elvina"


def test_unknown_key_suggests_the_right_one():
    message = error_of("sit:alcala", TargetProblem.UNKNOWN_KEY)
    assert "unknown key 'sit'" in message
    assert "did you mean site:alcala?" in message
    assert "did you mean role:leaf?" in error_of("roles:leaf", TargetProblem.UNKNOWN_KEY)


def test_unknown_site_lists_close_matches():
    message = error_of("site:alcla", TargetProblem.UNKNOWN_VALUE)
    assert "unknown site 'alcla'" in message
    assert "alcala (Tecno-Alcalá)" in message
    assert "bilbao" not in message


def test_unknown_site_without_close_match_lists_sites():
    message = error_of("site:zzzzz", TargetProblem.UNKNOWN_VALUE)
    assert "sites: alcala, bilbao, coruna, madrid" in message


def test_unknown_role_and_platform():
    message = error_of("role:leafs", TargetProblem.UNKNOWN_VALUE)
    assert "unknown role 'leafs'" in message and "did you mean role:leaf" in message
    with pytest.raises(TargetError, match=r"unknown platform 'srlinx'.*did you mean platform:srlinux") as caught:
        parse_targets("platform:srlinx")  # platforms are known without an inventory: caught at parse time
    assert caught.value.code is TargetProblem.UNKNOWN_VALUE


def test_empty_match_names_the_expression_and_what_was_there():
    message = error_of("site:alcala role:border", TargetProblem.NO_MATCH)
    assert message.startswith("no device matches site:alcala role:border")
    assert "gives 5 device(s), none with role:border" in message
    assert "gateway, leaf, spine" in message


def test_site_without_devices_is_an_empty_match():
    assert error_of("site:madrid", TargetProblem.NO_MATCH).startswith("no device matches site:madrid")


def test_negation_that_leaves_nothing():
    message = error_of("site:bilbao !site:bilbao", TargetProblem.NO_MATCH)
    assert message.startswith("no device matches site:bilbao !site:bilbao")


def test_unknown_device_suggests_close_names():
    message = error_of("alcala-lef1", TargetProblem.UNKNOWN_VALUE)
    assert "unknown device 'alcala-lef1'" in message and "alcala-leaf1" in message


def test_unknown_tag_and_model():
    assert "unknown tag 'pcx'" in error_of("tag:pcx", TargetProblem.UNKNOWN_VALUE)
    message = error_of("model:D9", TargetProblem.UNKNOWN_VALUE)
    assert "no device has model 'D9'" in message and "7220 IXR-D2L" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "no target given"),
        ("   ", "no target given"),
        ("site:", "empty value"),
        ("site:alcala,", "empty value"),
        ("!", "negates nothing"),
        ("!all", "no device at all"),
        ("site=alcala", "did you mean site:alcala"),
        ('site:"alcala', "cannot read target expression"),
    ],
)
def test_syntax_errors(text, fragment):
    with pytest.raises(TargetError, match=fragment) as caught:  # the message says how to write it instead
        parse_targets(text)
    assert caught.value.code is TargetProblem.SYNTAX


def test_describe_is_canonical():
    assert parse_targets("site:alcala   ROLE:leaf -role:gateway").describe() == "site:alcala role:leaf !role:gateway"
    assert parse_targets('model:"7750 SR-7"').describe() == "model:'7750 SR-7'"
    assert parse_targets("platform:srl").describe() == "platform:srlinux"
    assert parse_targets("*-gw*").describe() == "name:*-gw*"
    assert parse_targets("all").describe() == "all"
    # describe() reads back to the same selection.
    for text in ("site:alcala,bilbao role:leaf", 'model:"7750 SR-7" !name:*gw2', "leaf1 -site:coruna"):
        assert names(parse_targets(text).describe()) == names(text)


def test_matches_agrees_with_select():
    expression = parse_targets("site:alcala,bilbao !role:gateway")
    selected = set(expression.select(INVENTORY))
    assert {d for d in INVENTORY.devices if expression.matches(d, INVENTORY)} == selected


def test_target_error_is_a_value_error():
    assert issubclass(TargetError, ValueError)


# -- host: an alert's address finds its device ---------------------------------------------------------------------

HOSTS = Inventory(
    sites=(Site("Tecno-Alcalá", "alcala"),),
    devices=(
        Device("alcala-leaf1", "alcala", "leaf", SRL, "7220 IXR-D2L", host="10.1.2.3"),
        Device("alcala-leaf2", "alcala", "leaf", SRL, "7220 IXR-D2L", host="10.1.2.4"),
        Device("alcala-gw1", "alcala", "gateway", SROS, "7750 SR-7", host="gw1.alcala.example.net"),
        Device("alcala-gw2", "alcala", "gateway", SROS, "7750 SR-7", host="2001:db8::12"),
        Device("bilbao-leaf1", "alcala", "leaf", SRL, "7220 IXR-D2L", host="10.9.0.1"),
    ),
)


def host_names(expression: str) -> list[str]:
    return [device.name for device in parse_targets(expression).select(HOSTS)]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("host:10.1.2.3", ["alcala-leaf1"]),
        ("host:10.1.2.0/24", ["alcala-leaf1", "alcala-leaf2"]),
        ("host:10.1.2.3/24", ["alcala-leaf1", "alcala-leaf2"]),  # an address with its prefix length: its network
        ("host:*.alcala.*", ["alcala-gw1"]),
        ("host:GW1.Alcala.Example.Net.", ["alcala-gw1"]),  # names ignore case and a trailing dot
        ("host:2001:db8:0::12", ["alcala-gw2"]),  # any spelling of an IPv6 address
        ("host:[2001:db8::12]", ["alcala-gw2"]),
        ("host:2001:db8::/32", ["alcala-gw2"]),
        ("host:10.0.0.0/8 !host:10.9.0.0/16", ["alcala-leaf1", "alcala-leaf2"]),
        ("host:10.1.2.3,10.9.0.1", ["alcala-leaf1", "bilbao-leaf1"]),
        ("role:gateway host:*.example.net", ["alcala-gw1"]),
    ],
)
def test_host_terms_select_by_address_network_or_name(expression: str, expected: list[str]) -> None:
    assert host_names(expression) == expected


def test_an_address_no_device_has_is_an_error_with_close_hosts() -> None:
    with pytest.raises(
        TargetError, match=r"no device in the inventory has host '10\.1\.2\.30' \(close: 10\.1\.2\.3"
    ) as unknown:
        host_names("host:10.1.2.30")
    assert unknown.value.code is TargetProblem.UNKNOWN_VALUE
    with pytest.raises(TargetError) as not_a_network:
        host_names("host:10.1.2.0/33")
    assert not_a_network.value.code is TargetProblem.SYNTAX
    with pytest.raises(TargetError, match=r"no device matches host:192\.0\.2\.0/24") as no_match:
        host_names("host:192.0.2.0/24")
    assert no_match.value.code is TargetProblem.NO_MATCH
