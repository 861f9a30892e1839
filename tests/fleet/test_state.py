"""The device state derived from its SSH and gNMI session states: the whole table."""

from __future__ import annotations

import pytest

from edgeops.devices.samples import DeviceState, SessionState
from edgeops.fleet.state import derive_device_state

S = SessionState
COLUMNS = (S.IDLE, S.CONNECTING, S.UP, S.DOWN, S.UNREACHABLE, S.UNAVAILABLE, S.AUTH_FAILED, S.HOSTKEY_MISMATCH)
LETTER = {
    "C": DeviceState.CONNECTING,
    "U": DeviceState.UP,
    "G": DeviceState.DEGRADED,
    "D": DeviceState.DOWN,
    "X": DeviceState.UNREACHABLE,
    "A": DeviceState.AUTH_FAILED,
    "H": DeviceState.HOSTKEY_MISMATCH,
}

# Rows: SSH state; columns: gNMI state in the order of COLUMNS. Same table as the docstring.
TABLE = {
    #                    idle conn up down unre unav auth hkey
    S.IDLE: "C C U D X C A H",
    S.CONNECTING: "C C G D X C A H",
    S.UP: "U G U G G U A H",
    S.DOWN: "D D G D D D A H",
    S.UNREACHABLE: "X X G D X X A H",
    S.UNAVAILABLE: "C C U D X D A H",
    S.AUTH_FAILED: "A A A A A A A H",
    S.HOSTKEY_MISMATCH: "H H H H H H H H",
}

CASES = [
    (ssh, gnmi, LETTER[letter]) for ssh, row in TABLE.items() for gnmi, letter in zip(COLUMNS, row.split(), strict=True)
]


def test_table_covers_every_combination():
    assert len(CASES) == len(SessionState) ** 2


@pytest.mark.parametrize(("ssh", "gnmi", "expected"), CASES, ids=[f"ssh={s}-gnmi={g}" for s, g, _ in CASES])
def test_derive_device_state(ssh, gnmi, expected):
    assert derive_device_state(ssh, gnmi) is expected


@pytest.mark.parametrize(
    ("ssh", "gnmi", "expected"),
    [
        # The cases the console's users meet most, spelled out.
        (S.UP, S.UP, DeviceState.UP),
        (S.UP, S.DOWN, DeviceState.DEGRADED),
        (S.DOWN, S.UP, DeviceState.DEGRADED),
        (S.UP, S.UNAVAILABLE, DeviceState.UP),  # no gNMI on the device: polled over SSH
        (S.AUTH_FAILED, S.HOSTKEY_MISMATCH, DeviceState.HOSTKEY_MISMATCH),
        (S.CONNECTING, S.CONNECTING, DeviceState.CONNECTING),
        (S.DOWN, S.DOWN, DeviceState.DOWN),
        (S.UNREACHABLE, S.UNREACHABLE, DeviceState.UNREACHABLE),
    ],
)
def test_common_cases(ssh, gnmi, expected):
    assert derive_device_state(ssh, gnmi) is expected


def test_plain_strings_are_accepted():
    assert derive_device_state("up", "down") is DeviceState.DEGRADED  # type: ignore[arg-type]


def test_docstring_table_matches_the_test_table():
    names = {
        "idle": S.IDLE,
        "connecting": S.CONNECTING,
        "up": S.UP,
        "down": S.DOWN,
        "unreachable": S.UNREACHABLE,
        "unavailable": S.UNAVAILABLE,
        "auth": S.AUTH_FAILED,
        "hostkey": S.HOSTKEY_MISMATCH,
    }
    rows = {}
    for line in (derive_device_state.__doc__ or "").splitlines():
        words = line.split()
        if len(words) == 9 and words[0] in names:
            rows[names[words[0]]] = " ".join(words[1:])
    assert rows == TABLE
