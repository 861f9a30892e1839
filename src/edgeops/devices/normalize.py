"""Device values in the words the rest of edgeops uses, the same for gNMI decoding and SSH polling: port speeds,
states and alarm severities, one meaning each."""

from __future__ import annotations

import re
from typing import Any

from edgeops.devices.samples import Severity

_SPEED = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT])B?", re.IGNORECASE)
_SPEED_SCALE = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}

# OpenConfig's component oper-status and SR OS's hardware oper-state (nokia-types-chassis:hw-oper-state) in the
# words the rest of edgeops uses.
_STATE_WORDS = {"active": "up", "inactive": "down", "in-service": "up", "out-of-service": "down"}


def bare(name: str) -> str:
    """`srl_nokia-interfaces:interface` -> `interface`."""
    return name.rsplit(":", 1)[-1] if ":" in name else name


def parse_speed(value: Any) -> int | None:
    """A port speed as a device states it, in bits/s: `25G`, `100 Gbps`, `1000 Mbps`, `SPEED_100GB`, and a bare
    number as SR OS gives it, in megabits/s. None when the speed is not known: `N/A`, empty, or zero."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        return int(float(value) * 1_000_000) or None
    if not isinstance(value, str):
        return None
    match = _SPEED.search(bare(value).replace("SPEED_", ""))
    if not match:
        return None
    return int(float(match.group(1)) * _SPEED_SCALE[match.group(2).upper()]) or None


def state(value: Any) -> str | None:
    """An oper or admin state in edgeops' words: `UP` / `up` / `openconfig-platform-types:ACTIVE` / SR OS
    `in-service` -> `up`; other words lower-cased; None when there is none."""
    if value is None:
        return None
    text = bare(str(value)).strip().lower()
    return _STATE_WORDS.get(text, text) or None


def severity(value: Any) -> Severity | None:
    """An alarm severity (`MAJOR`, `nokia-types-sros:major`, ` minor `); None for a word that is not one."""
    if value is None:
        return None
    try:
        return Severity(bare(str(value)).strip().lower())
    except ValueError:
        return None
