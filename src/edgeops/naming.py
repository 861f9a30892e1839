"""How names of devices, interfaces and ports sort: digit runs by number, for every layer (and the lab)."""

from __future__ import annotations

import re

_DIGIT_RUNS = re.compile(r"([0-9]+)")


def natural_key(name: str) -> tuple[tuple[str | int, ...], str]:
    """Sort key that orders digit runs by number: ethernet-1/2 < ethernet-1/10, 1/1/c2/1 < 1/1/c10/1, leaf2 < leaf10.

    Letters compare case-insensitively; the name itself breaks ties so the order is total.
    """
    # re.split with a capturing group alternates text, digits, text, ...: every odd slot is digits,
    # so two keys always compare str with str and int with int.
    pieces = _DIGIT_RUNS.split(name.casefold())
    return tuple(int(piece) if i % 2 else piece for i, piece in enumerate(pieces)), name
