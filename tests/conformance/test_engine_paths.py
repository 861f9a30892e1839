"""Every path the engine asks a device for exists in that platform's published YANG model, with its key names."""

from __future__ import annotations

import pytest

from conformance.schema import Schema, SchemaError
from edgeops.devices.gnmi_paths import OPENCONFIG, SRLINUX_NATIVE, SROS_STATE, PathMap

# OpenConfig: checked against the OpenConfig models as SR Linux serves them (Nokia's deviations applied). SR OS's
# OpenConfig support and deviations are not tabled, so an OpenConfig path on SR OS is only known to exist on SR Linux.
PATH_MAPS: tuple[tuple[PathMap, str], ...] = (
    (SRLINUX_NATIVE, "srlinux-native"),
    (SROS_STATE, "sros-state"),
    (OPENCONFIG, "srlinux-openconfig"),
)


def _paths(path_map: PathMap) -> list[str]:
    return [path for spec in path_map.subscriptions() for path in spec.paths]


@pytest.mark.parametrize(("path_map", "table"), PATH_MAPS, ids=[m.name for m, _ in PATH_MAPS])
def test_every_subscribed_path_exists_with_the_tables_key_names(path_map: PathMap, table: str) -> None:
    schema = Schema.load(table)
    missing = []
    for path in _paths(path_map):
        try:
            schema.node(path)
        except SchemaError as error:
            missing.append(f"{path}: {error}")
    assert missing == []


def test_the_lookup_tells_a_wrong_key_and_a_wrong_leaf_from_a_right_path() -> None:
    sros = Schema.load("sros-state")
    with pytest.raises(SchemaError, match=r"keyed by \[raised-time\]\[index\]"):
        sros.node("/state/system/alarms/active[sequence-number=*]")
    with pytest.raises(SchemaError, match="no element 'last-oper-change'"):
        sros.node("/state/port[port-id=*]/last-oper-change")
    leaf = sros.node("/nokia-state:state/port[port-id=1/1/c1/1]/oper-state-last-changed")
    assert (leaf.keyword, leaf.primitive, leaf.flag) == ("leaf", "string", "ro")
    assert sros.node("/configure/port[port-id=*]/admin-state").flag == "rw"
    native = Schema.load("srlinux-native")
    counter = native.node("/interface[name=*]/statistics/in-octets")
    assert (counter.primitive, counter.type) == ("uint64", "srl_nokia-common:zero-based-counter64")
    assert native.node("/platform/control[slot=A]/cpu[index=all]").member == "srl_nokia-platform-cpu:cpu"
    with pytest.raises(SchemaError, match="no element 'srl_nokia-platform:interface'"):
        native.node("/srl_nokia-platform:interface[name=*]")
    with pytest.raises(SchemaError, match="no element 'speed'"):
        native.node("/platform/fan-tray[id=*]/speed")
    with pytest.raises(SchemaError, match="no element 'alarms'"):
        Schema.load("srlinux-openconfig").node("/system/alarms/alarm[id=*]/state")
