"""A tiny text sparkline (▁▂▃▄▅▆▇█) from a series of numbers, with gaps where data is missing."""

from __future__ import annotations

import math
from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"
GAP = " "


def sparkline(
    values: Sequence[float | None],
    *,
    width: int | None = None,
    minimum: float = 0.0,
    maximum: float | None = None,
) -> str:
    """One bar per value, oldest first; None (or NaN) is a gap.

    Bars scale from `minimum` (default 0, so a flat busy link reads as busy, not as idle) to `maximum`
    (default: the largest value). With `width`, only the newest `width` values are drawn and a shorter
    series is padded on the left, so the newest value always sits in the last cell.
    """
    points = [None if v is None or not math.isfinite(v) else float(v) for v in values]
    if width is not None:
        points = points[-width:] if width > 0 else []
    known = [v for v in points if v is not None]
    top = max(known, default=minimum) if maximum is None else maximum
    span = top - minimum
    last_level = len(BARS) - 1
    cells = []
    for value in points:
        if value is None:
            cells.append(GAP)
        elif span <= 0:
            # Everything equal: the lowest bar for nothing, the highest for a flat non-zero series.
            cells.append(BARS[last_level] if value > minimum else BARS[0])
        else:
            level = round((min(max(value, minimum), top) - minimum) / span * last_level)
            cells.append(BARS[level])
    line = "".join(cells)
    if width is not None:
        line = line.rjust(width, GAP)
    return line
