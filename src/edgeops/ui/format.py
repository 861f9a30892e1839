"""Human units for the console: bit and packet rates, bytes, durations, ages, percentages, temperatures, sparklines."""

from __future__ import annotations

import math
from collections.abc import Sequence

MISSING = "-"  # shown where a figure is unknown

_DECIMAL_PREFIXES = ("", "K", "M", "G", "T", "P", "E")
_BINARY_PREFIXES = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")


def _usable(value: float | None) -> float | None:
    """The value as a float when it can be shown: not None, not NaN or infinite, not negative."""
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value) or value < 0:
        return None
    return value


def _three_digits(value: float) -> str:
    """Three significant digits, trailing zeros dropped: 12.4, 3.21, 1.2, 950 (value is in [1, 1000))."""
    if value >= 100:
        text = f"{value:.0f}"
    elif value >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _scaled(value: float, base: int, prefixes: tuple[str, ...]) -> tuple[str, str]:
    """(mantissa, prefix): the mantissa below `base` while a prefix is left; below the first prefix, whole units."""
    if value < base:
        whole = round(value)
        if whole < base:
            return str(whole), prefixes[0]
    index = 0
    scaled = value
    while scaled >= base and index < len(prefixes) - 1:
        scaled /= base
        index += 1
    # Rounding to three digits can carry into the next prefix (999.6 K -> 1000 K -> 1 M).
    if scaled >= 999.5 and index < len(prefixes) - 1:
        scaled /= base
        index += 1
    if scaled >= 1000:
        return f"{scaled:.0f}", prefixes[index]  # beyond the last prefix: all the digits
    return _three_digits(scaled), prefixes[index]


def format_bps(bps: float | None) -> str:
    """Bits per second with decimal prefixes: `950 b/s`, `12.4 Kb/s`, `3.21 Mb/s`, `9.87 Gb/s`, `1.2 Tb/s`."""
    value = _usable(bps)
    if value is None:
        return MISSING
    mantissa, prefix = _scaled(value, 1000, _DECIMAL_PREFIXES)
    return f"{mantissa} {prefix}b/s"


def format_pps(pps: float | None) -> str:
    """Packets per second: `950 pps`, `12.4 Kpps`, `3.21 Mpps`."""
    value = _usable(pps)
    if value is None:
        return MISSING
    mantissa, prefix = _scaled(value, 1000, _DECIMAL_PREFIXES)
    return f"{mantissa} {prefix}pps"


def format_speed(bps: int | None) -> str:
    """A port speed, compact: `1G`, `10G`, `100G`, `400G`, `100M`, `1.6T`."""
    value = _usable(bps)
    if value is None or value == 0:
        return MISSING
    mantissa, prefix = _scaled(value, 1000, _DECIMAL_PREFIXES)
    return f"{mantissa}{prefix or 'b'}"


def format_bytes(count: float | None) -> str:
    """Bytes with binary prefixes: `512 B`, `12.4 KiB`, `3.21 GiB`."""
    value = _usable(count)
    if value is None:
        return MISSING
    mantissa, prefix = _scaled(value, 1024, _BINARY_PREFIXES)
    return f"{mantissa} {prefix}B"


def format_count_rate(per_second: float | None) -> str:
    """Events per second (errors, discards): `0`, `<0.01`, `0.05`, `2.5`, `12`, `1.23K`."""
    value = _usable(per_second)
    if value is None:
        return MISSING
    if value == 0:
        return "0"
    if value < 0.01:
        return "<0.01"  # one error in minutes still matters: never round it to 0
    if value < 10:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if value < 999.5:
        return f"{value:.0f}"
    mantissa, prefix = _scaled(value, 1000, _DECIMAL_PREFIXES)
    return f"{mantissa}{prefix}"


def format_percent(percent: float | None) -> str:
    """A percentage with one decimal below 100: `0.0%`, `12.3%`, `100%`, `250%`."""
    value = _usable(percent)
    if value is None:
        return MISSING
    if value < 99.95:
        return f"{value:.1f}%"
    return f"{value:.0f}%"


def format_duration(seconds: float | None) -> str:
    """A duration in its two largest units: `45s`, `12m05s`, `20h59m`, `3d 04h` (negative: `0s`)."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return MISSING
    if math.isinf(seconds):
        return MISSING if seconds < 0 else "forever"
    total = max(0, int(seconds))  # whole seconds, truncated: an uptime of 59.9 s has not reached a minute
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def format_age(seconds: float | None) -> str:
    """How long ago something happened: `4s ago`, `12m05s ago`, `3d 04h ago` (clock skew reads as `0s ago`)."""
    duration = format_duration(seconds)
    return MISSING if duration == MISSING else f"{duration} ago"


def format_age_coarse(seconds: float) -> str:
    """A calm age in one unit, without "ago": `<1s`, `42s`, `12m`, `3h` (whole units, truncated).

    For a figure that is always on screen (the status bar's telemetry age): it changes at most once a second,
    then once a minute, so the line it sits on is not repainted on every tick. Use `format_age` where the
    exact age matters.
    """
    if seconds < 1:
        return "<1s"
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    return f"{int(seconds // 3600)}h"


def format_since(then: float | None, now: float) -> str:
    """The age of a unix time `then` seen at `now`."""
    return MISSING if then is None else format_age(now - then)


def format_celsius(celsius: float | None) -> str:
    """A temperature: `45°C` (below zero is real here: `-5°C`)."""
    if celsius is None or not math.isfinite(celsius):
        return MISSING
    return f"{celsius:.0f}°C"


def format_memory(used: int | None, total: int | None) -> str:
    """Memory use: `3.21 GiB / 16 GiB (20.1%)`."""
    if used is None and total is None:
        return MISSING
    percent = memory_percent(used, total)
    figures = f"{format_bytes(used)} / {format_bytes(total)}"
    return figures if percent is None else f"{figures} ({format_percent(percent)})"


def memory_percent(used: int | None, total: int | None) -> float | None:
    """Used memory as a percentage of the total; None when either is unknown (or the total is 0)."""
    if used is None or total is None or total <= 0 or used < 0:
        return None
    return used * 100.0 / total


# A sparkline's eight bar heights, and the cell of a missing value.
SPARK_BARS = "▁▂▃▄▅▆▇█"
SPARK_GAP = " "


def sparkline(
    values: Sequence[float | None],
    *,
    width: int | None = None,
    minimum: float = 0.0,
    maximum: float | None = None,
) -> str:
    """A text sparkline (▁▂▃▄▅▆▇█): one bar per value, oldest first; None (or NaN) is a gap.

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
    last_level = len(SPARK_BARS) - 1
    cells = []
    for value in points:
        if value is None:
            cells.append(SPARK_GAP)
        elif span <= 0:
            # Everything equal: the lowest bar for nothing, the highest for a flat non-zero series.
            cells.append(SPARK_BARS[last_level] if value > minimum else SPARK_BARS[0])
        else:
            level = round((min(max(value, minimum), top) - minimum) / span * last_level)
            cells.append(SPARK_BARS[level])
    line = "".join(cells)
    if width is not None:
        line = line.rjust(width, SPARK_GAP)
    return line
