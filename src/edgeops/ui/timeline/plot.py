"""Drawing a timeline as lines of text: braille area plots and lanes of marks on one shared time axis.

Pure functions (no widget): every plot, lane and the axis share the same gutter and the same time-to-column
mapping, so a mark sits exactly under the traffic it explains. Braille gives two points across and four up per
cell, which at 80 columns is ~140 points of time: enough for 10 minutes at the 2 s sample rate (a 24 h range is
binned, each point the largest in its bin, so a short burst or a single error stays visible).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from rich.style import Style
from rich.text import Text

from edgeops.ui.format import format_bps, format_bytes, format_celsius, format_count_rate, format_percent
from edgeops.ui.sanitize import safe_plain
from edgeops.ui.timeline.model import Lane, Mark, MarkKind, Point, Series, Timeline, Unit, clock_text

GUTTER = 9  # the label and scale column left of every row
MIN_PLOT_COLUMNS = 10
MIN_EVENT_ROWS = 3
BRAILLE_BASE = 0x2800
# Braille dot bits by (column in cell, row from the top of the cell).
_LEFT_BITS = (0x01, 0x02, 0x04, 0x40)
_RIGHT_BITS = (0x08, 0x10, 0x20, 0x80)

Styles = Mapping[str, Style]  # "in", "out", "series", "bad", "good", "warn", "dim", "accent", "cursor", "label"

SERIES_STYLE = {"in_bps": "in", "out_bps": "out", "errors_ps": "bad", "discards_ps": "warn"}
LANE_LABELS = {Lane.OPER: "Oper", Lane.ALARMS: "Alarms", Lane.COMMANDS: "Commands"}
MARK_GLYPHS = {
    MarkKind.PORT_DOWN: ("▼", "bad"),
    MarkKind.PORT_UP: ("▲", "good"),
    MarkKind.ALARM_RAISED: ("!", "warn"),
    MarkKind.ALARM_CLEARED: ("✓", "good"),
    MarkKind.COMMAND: ("●", "accent"),
}


def format_value(value: float | None, unit: Unit) -> str:
    """A series value in its unit, as the console writes it elsewhere."""
    if unit is Unit.BITS_PER_SECOND:
        return format_bps(value)
    if unit is Unit.PERCENT:
        return format_percent(value)
    if unit is Unit.CELSIUS:
        return format_celsius(value)
    if unit is Unit.BYTES:
        return format_bytes(value)
    return format_count_rate(value)


@dataclass(frozen=True, slots=True)
class Layout:
    """How many rows each part of a timeline gets at a given size."""

    plot_columns: int
    panel_rows: tuple[int, ...]  # one per series
    lanes: tuple[Lane, ...]
    event_rows: int

    @property
    def width(self) -> int:
        return GUTTER + self.plot_columns


def layout(timeline: Timeline, width: int, height: int) -> Layout:
    """Fit the plots, lanes, axis and event list into `width` x `height` (plots first, events get what is left)."""
    lanes = (
        (Lane.OPER, Lane.ALARMS, Lane.COMMANDS)
        if timeline.subject.port is not None
        else (
            Lane.ALARMS,
            Lane.COMMANDS,
        )
    )
    count = len(timeline.series)
    room = max(0, height - len(lanes) - 1)  # the lanes and the axis always show
    rows = [3 if s.unit is Unit.BITS_PER_SECOND or s.key == "cpu_pct" else 2 for s in timeline.series]
    # Plots shrink row by row (the tallest first) to leave a few lines for the events; too small even then,
    # the last series go.
    while sum(rows) + MIN_EVENT_ROWS > room and max(rows, default=1) > 1:
        tallest = max(range(count), key=lambda i: (rows[i], -i))
        rows[tallest] -= 1
    while sum(rows) > room and rows:
        rows.pop()
    plot_columns = max(MIN_PLOT_COLUMNS, width - GUTTER)
    return Layout(plot_columns, tuple(rows), lanes, max(0, room - sum(rows)))


def column_of(when: float, timeline: Timeline, columns: int) -> int | None:
    """The plot column a time falls in (None: outside the range)."""
    if not timeline.since <= when <= timeline.until or timeline.span <= 0:
        return None
    return min(columns - 1, int((when - timeline.since) / timeline.span * columns))


def time_of_column(column: int, timeline: Timeline, columns: int) -> float:
    """The middle of a plot column, as a unix time."""
    return timeline.since + (column + 0.5) * timeline.span / columns


def dot_values(points: Sequence[Point], since: float, span: float, dots: int) -> list[float | None]:
    """The points binned into `dots` columns (the largest value of each), gaps held across when the data is
    sparser than the bins (a 1-minute sample spans several bins), so a steady line does not turn into dashes."""
    values: list[float | None] = [None] * dots
    times = [t for t, v in points if v is not None]
    if span <= 0 or not times:
        return values
    for when, value in points:
        if value is None:
            continue
        index = min(dots - 1, int((when - since) / span * dots))  # a point at `until` is in the last bin
        if index >= 0:
            current = values[index]
            values[index] = value if current is None else max(current, value)
    spacing = _typical_spacing(times)
    hold = max(1, math.ceil(spacing * 1.5 / (span / dots))) if spacing > 0 else 1
    last: float | None = None
    since_last = 0
    for index, value in enumerate(values):
        if value is not None:
            last, since_last = value, 0
        elif last is not None:
            since_last += 1
            if since_last < hold:
                values[index] = last
            else:
                last = None
    return values


def _typical_spacing(times: Sequence[float]) -> float:
    gaps = sorted(b - a for a, b in itertools.pairwise(times) if b > a)
    return gaps[len(gaps) // 2] if gaps else 0.0


def area_rows(values: Sequence[float | None], rows: int, top: float) -> list[str]:
    """A braille area chart `rows` high: two values per cell, filled from the bottom; a zero is one dot on the
    baseline (known and idle), a gap is empty (no data)."""
    height = rows * 4
    levels = []
    for value in values:
        if value is None:
            levels.append(0)
        elif top <= 0 or value <= 0:
            levels.append(1)
        else:
            levels.append(1 + round(min(value, top) / top * (height - 1)))
    if len(levels) % 2:
        levels.append(0)
    lines = []
    for row in range(rows):
        bottom = (rows - 1 - row) * 4  # the dot height this cell row starts at
        cells = []
        for left, right in zip(levels[0::2], levels[1::2], strict=True):
            code = 0
            for k in range(4):  # k = 0 is the cell's bottom dot
                if left > bottom + k:
                    code |= _LEFT_BITS[3 - k]
                if right > bottom + k:
                    code |= _RIGHT_BITS[3 - k]
            cells.append(chr(BRAILLE_BASE + code) if code else " ")
        lines.append("".join(cells))
    return lines


def render_timeline(
    timeline: Timeline,
    width: int,
    height: int,
    styles: Styles,
    *,
    cursor: int | None = None,
    tz: tzinfo | None = None,
) -> list[Text]:
    """The timeline as `height` lines of at most `width` cells: plots, lanes, the time axis, then events."""
    shape = layout(timeline, width, height)
    columns = shape.plot_columns
    lines: list[Text] = []
    for index, (series, rows) in enumerate(zip(timeline.series, shape.panel_rows, strict=False)):
        style = styles.get(SERIES_STYLE.get(series.key, "in" if index == 0 else "series"), Style())
        lines.extend(_panel(series, rows, timeline, columns, style, styles, cursor))
    for lane in shape.lanes:
        lines.append(_lane(lane, timeline, columns, styles, cursor))
    lines.append(_axis(timeline, columns, styles, tz))
    lines.extend(_events(timeline, shape.event_rows, columns + GUTTER, styles, cursor, tz))
    while len(lines) < height:
        lines.append(Text(""))
    return lines[:height]


def _gutter(text: str, style: Style) -> Text:
    return Text(text[: GUTTER - 1].ljust(GUTTER), style=style)


def _with_cursor(cells: Text, cursor: int | None, styles: Styles) -> Text:
    if cursor is not None and 0 <= cursor < len(cells):
        cells.stylize(styles.get("cursor", Style(reverse=True)), cursor, cursor + 1)
    return cells


def _panel(
    series: Series,
    rows: int,
    timeline: Timeline,
    columns: int,
    style: Style,
    styles: Styles,
    cursor: int | None,
) -> list[Text]:
    values = dot_values(series.points, timeline.since, timeline.span, columns * 2)
    known = [v for v in values if v is not None]
    top = max(known, default=0.0)
    plotted = area_rows(values, rows, top)
    label_style = styles.get("label", Style())
    dim = styles.get("dim", Style())
    gutters = [safe_plain(series.label), format_value(top, series.unit) if known else ""]
    if series.unit is Unit.BITS_PER_SECOND and gutters[1].endswith("b/s"):
        gutters[1] = gutters[1][:-3].strip()
    lines = []
    for row, cells in enumerate(plotted):
        if rows == 1:
            gutter = f"{gutters[0][:3]} {gutters[1]}" if known else gutters[0]
        else:
            gutter = gutters[row] if row < 2 else ""
        line = _gutter(gutter, label_style if row == 0 else dim)
        body = Text(cells, style=style)
        if not known and row == rows - 1:
            body = Text("no data".center(columns), style=dim)
        line.append_text(_with_cursor(body, cursor, styles))
        lines.append(line)
    return lines


def _lane(lane: Lane, timeline: Timeline, columns: int, styles: Styles, cursor: int | None) -> Text:
    dim = styles.get("dim", Style())
    cells: list[tuple[str, Style]] = []
    if lane is Lane.OPER:
        spans = timeline.down_spans()
        known = timeline.oper_at_start is not None or bool(timeline.marks_in(Lane.OPER))
        fill = [
            ("━", styles.get("bad", Style()))
            if _in_spans(c, spans, timeline, columns)
            else (("─" if known else " "), dim)
            for c in range(columns)
        ]
    elif lane is Lane.ALARMS:
        spans = timeline.alarm_spans()
        fill = [
            ("━", styles.get("warn", Style())) if _in_spans(c, spans, timeline, columns) else ("─", dim)
            for c in range(columns)
        ]
    else:
        fill = [(" ", dim)] * columns
    cells = list(fill)
    for mark in timeline.marks_in(lane):
        column = column_of(mark.time, timeline, columns)
        if column is not None:
            glyph, tone = MARK_GLYPHS[mark.kind]
            cells[column] = (glyph, styles.get(tone, Style()))
    body = Text()
    for glyph, style in cells:
        body.append(glyph, style)
    line = _gutter(LANE_LABELS[lane], styles.get("label", Style()))
    line.append_text(_with_cursor(body, cursor, styles))
    return line


def _in_spans(column: int, spans: Sequence[tuple[float, float]], timeline: Timeline, columns: int) -> bool:
    start = timeline.since + column * timeline.span / columns
    end = timeline.since + (column + 1) * timeline.span / columns
    return any(a < end and b >= start for a, b in spans)


# Steps between time labels, in seconds: the smallest that leaves room for a label is taken.
TICK_STEPS = (10, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200)


def _axis(timeline: Timeline, columns: int, styles: Styles, tz: tzinfo | None) -> Text:
    """Times under the plots at round steps (every 2 minutes, every 3 hours...), each label starting at its
    column."""
    seconds = timeline.span < 600
    width = len(clock_text(timeline.since, tz, seconds=seconds)) + 3
    per_column = timeline.span / columns if columns else 1.0
    step = next((s for s in TICK_STEPS if s / per_column >= width), TICK_STEPS[-1])
    offset = datetime.fromtimestamp(timeline.since, tz).utcoffset()
    shift = offset.total_seconds() if offset is not None else 0.0  # round in the shown time zone
    axis = [" "] * columns
    tick = math.ceil((timeline.since + shift) / step) * step - shift
    while tick <= timeline.until:
        column = column_of(tick, timeline, columns)
        if column is not None and column + width - 1 <= columns:
            label = "└" + clock_text(tick, tz, seconds=seconds)
            for index, char in enumerate(label):
                axis[column + index] = char
        tick += step
    line = _gutter("", styles.get("dim", Style()))
    line.append("".join(axis), styles.get("dim", Style()))
    return line


def _events(
    timeline: Timeline, rows: int, width: int, styles: Styles, cursor: int | None, tz: tzinfo | None
) -> list[Text]:
    """The newest marks up to the cursor (the whole range without one), oldest first."""
    if rows <= 0:
        return []
    marks: Sequence[Mark] = timeline.marks
    if cursor is not None:
        columns = width - GUTTER
        limit = timeline.since + (cursor + 1) * timeline.span / columns
        marks = [mark for mark in marks if mark.time < limit]
    if not marks:
        return [Text("  no events in this range", style=styles.get("dim", Style()))]
    shown = list(marks)[-rows:]
    lines = []
    for mark in shown:
        glyph, tone = MARK_GLYPHS[mark.kind]
        line = Text(f"  {clock_text(mark.time, tz)} ", style=styles.get("dim", Style()))
        line.append(glyph, styles.get(tone, Style()))
        line.append(" " + safe_plain(mark.text).replace("\n", " "))
        line.truncate(width, overflow="ellipsis")
        lines.append(line)
    return lines
