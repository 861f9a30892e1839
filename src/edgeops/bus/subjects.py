"""Where things live on the bus: subject names, key-value buckets and the event stream, in one place.

Site codes and device names come from inventories and may hold characters NATS gives a meaning (`.`, `*`, `>`,
spaces); `token` escapes them, so every device has exactly one subject and one key.
"""

from __future__ import annotations

import re

PREFIX = "edgeops"
STATE_BUCKET = "edgeops-state"  # the latest state of every device, as events that rebuild it
LEASE_BUCKET = "edgeops-leases"  # which collector owns which device
EVENT_STREAM = "EDGEOPS_EVENTS"  # every device's events, kept for replay

TELEMETRY = "telemetry"
COMMAND = "command"

_SAFE = re.compile(r"[A-Za-z0-9_-]")


def token(name: str) -> str:
    """`name` as one subject token and key part: letters, digits, `-` and `_` as they are, anything else `=XX` per
    UTF-8 byte (so `leaf 1.a` is `leaf=201=2Ea`); an empty name is `=`."""
    if not name:
        return "="
    out = []
    for char in name:
        if _SAFE.fullmatch(char):
            out.append(char)
        else:
            out.extend(f"={byte:02X}" for byte in char.encode())
    return "".join(out)


def untoken(text: str) -> str:
    """The name `token` escaped; raises ValueError on text `token` cannot have made."""
    if text == "=":
        return ""
    data = bytearray()
    index = 0
    while index < len(text):
        char = text[index]
        if char == "=":
            data.append(int(text[index + 1 : index + 3], 16))
            index += 3
        elif _SAFE.fullmatch(char):
            data.extend(char.encode())
            index += 1
        else:
            raise ValueError(f"not an escaped name: {text!r}")
    return data.decode()


def device_key(site: str, device: str) -> str:
    """The key of a device in the state and lease buckets."""
    return f"{token(site)}.{token(device)}"


def telemetry_subject(site: str, device: str) -> str:
    return f"{PREFIX}.{token(site)}.{token(device)}.{TELEMETRY}"


def command_subject(site: str, device: str) -> str:
    """Where the collector owning the device answers command requests."""
    return f"{PREFIX}.{token(site)}.{token(device)}.{COMMAND}"


ALL_TELEMETRY = f"{PREFIX}.*.*.{TELEMETRY}"
ALL_COMMANDS = f"{PREFIX}.*.*.{COMMAND}"


def device_of_subject(subject: str) -> tuple[str, str] | None:
    """(site, device) of an edgeops device subject, or None for anything else."""
    parts = subject.split(".")
    if len(parts) != 4 or parts[0] != PREFIX:
        return None
    try:
        return untoken(parts[1]), untoken(parts[2])
    except (ValueError, UnicodeDecodeError):
        return None
