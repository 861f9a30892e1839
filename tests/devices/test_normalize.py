"""Device values normalised once, for gNMI decoding and SSH polling alike."""

from __future__ import annotations

import pytest

from edgeops.devices.normalize import parse_speed, severity, state
from edgeops.devices.samples import Severity


@pytest.mark.parametrize(
    ("value", "bps"),
    [
        ("25G", 25 * 10**9),
        ("100G", 10**11),
        ("400G", 4 * 10**11),
        ("SPEED_10GB", 10**10),  # OpenConfig
        ("openconfig-if-ethernet:SPEED_100GB", 10**11),
        ("100 Gbps", 10**11),  # SR OS `show port`
        ("1000 Mbps", 10**9),
        ("1000", 10**9),  # SR OS oper-speed: megabits
        (100_000, 10**11),
    ],
)
def test_a_speed_in_bits_per_second(value: object, bps: int) -> None:
    assert parse_speed(value) == bps


@pytest.mark.parametrize("value", ["N/A", "", "0", 0, None, "fast", True])
def test_an_unknown_speed_is_none(value: object) -> None:
    assert parse_speed(value) is None


def test_states_in_edgeops_words() -> None:
    assert state("UP") == "up" and state(" down ") == "down"
    assert state("openconfig-platform-types:ACTIVE") == "up" and state("in-service") == "up"
    assert state("out-of-service") == "down" and state("enable") == "enable"
    assert state(None) is None and state("") is None


def test_severities() -> None:
    assert severity("MAJOR") is Severity.MAJOR and severity(" minor ") is Severity.MINOR
    assert severity("nokia-types-sros:critical") is Severity.CRITICAL
    assert severity("cleared") is None and severity(None) is None
