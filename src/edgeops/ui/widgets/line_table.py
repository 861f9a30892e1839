"""A keyed, sortable, filterable table drawn with the Line API: a changed row repaints only its changed cells.

Textual's DataTable marks the whole table dirty on every `update_cell`, so a table of live counters rewrites the
whole screen area on each tick. This table keeps rows by key, compares new cells with the old ones, and asks the
compositor to repaint only the cells that changed (`refresh(Region)`), and only when their line is on screen.
Lines scrolled out of view are rendered when they come into view.

Measured (docs/performance.md, "Live tables"): 60 ports whose counters move every 2 s, read on the console's 4 Hz
tick, 120x40, each variant 3 times interleaved, 20 s windows, medians (lowest to highest):

    python bench/counters_pane.py --seconds 20 --repeat 3 [--colors 256]

    truecolor    bytes/s                  per update                CPU of a core
    LineTable    2 091 (2 091 to 2 100)    4 183 (4 183 to 4 200)    0.9 % (0.8 to 0.9)
    DataTable   15 272 (15 271 to 15 275) 30 545 (30 542 to 30 549)  3.2 % (3.1 to 3.4)
    no table         0                         0                     0.5 % (0.4 to 0.5)
    256 colours
    LineTable    1 870 (1 870 to 1 874)    3 740 (3 739 to 3 747)    0.9 % (0.9 to 0.9)
    DataTable   10 987 (10 986 to 10 988) 21 974 (21 972 to 21 976)  3.1 % (3.1 to 3.2)
    no table         0                         0                     0.4 % (0.4 to 0.4)

Both tables were given the same cells and DataTable was diffed by key (`update_cell` only where a value changed,
inside `batch_update`): DataTable writes 5.9 to 7.3 times the bytes, and above the no-table floor spends about six
times the CPU. That is why the health and interface panes use this table.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from edgeops.naming import natural_key
from edgeops.ui.sanitize import safe_plain

RowKey = Hashable
Tone = Literal["", "good", "warn", "bad", "dim", "accent"]
Align = Literal["left", "right"]

_TONES: tuple[Tone, ...] = ("good", "warn", "bad", "dim", "accent")
_SORT_ASCENDING = "▲"
_SORT_DESCENDING = "▼"
_ELLIPSIS = "…"
_GAP = 1  # blank cells between columns (and before the first)


@dataclass(frozen=True, slots=True)
class Cell:
    """The text of one cell and its tone (a theme colour role); the text is shown literally, never as markup."""

    text: str
    tone: Tone = ""


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int
    align: Align = "left"
    flex: bool = False  # takes the room the other columns leave (never narrower than `width`)
    descending_first: bool = False  # numbers: the biggest first is what one sorts them for
    sortable: bool = True
    priority: int = 0  # when the table is too narrow, columns go highest priority first (0: always shown)


class Row:
    """One row as the table holds it. Read it; change it only through `LineTable.upsert`."""

    __slots__ = ("_sort_cache", "_strips", "cells", "data", "key", "sort_values", "visible")

    def __init__(self, key: RowKey) -> None:
        self.key = key
        self.cells: tuple[Cell, ...] = ()
        self.sort_values: tuple[Any, ...] | None = None
        self.data: Any = None
        self.visible = False
        self._sort_cache: dict[int, Any] = {}
        self._strips: dict[bool, Strip] = {}  # rendered line by "under the cursor"

    def sort_value(self, column: int) -> Any:
        """The value this row sorts by in `column` (its sort value, else its text in natural order)."""
        cache = self._sort_cache
        if column not in cache:
            values = self.sort_values
            cache[column] = values[column] if values is not None else natural_key(self.cells[column].text)
        return cache[column]


def _as_cell(value: str | Cell) -> Cell:
    # Every cell goes through the sanitizer: a table of device text must never emit an escape sequence.
    if isinstance(value, Cell):
        text = safe_plain(value.text).replace("\n", " ")
        return value if text == value.text else Cell(text, value.tone)
    return Cell(safe_plain(value).replace("\n", " "))


def _fit(text: str, width: int, align: Align) -> str:
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + _ELLIPSIS if width > 1 else set_cell_size(text, width)
    if length == width:
        return text
    padding = " " * (width - length)
    return padding + text if align == "right" else text + padding


class LineTable(ScrollView, can_focus=True):
    """Rows keyed by id; `upsert` repaints only the cells that changed; sorted, filtered, with a sticky cursor.

    Sorting is stable (ties keep the order of the first column) and happens only when a value of the sort
    column changed, a row appeared, left, or was filtered in or out. The cursor stays on the same row key
    across sorts and filters; rows without a sort value (None) go last in either direction.
    Group many changes in `with table.batch_rows():` to sort and repaint once.
    """

    DEFAULT_CSS = """
    LineTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        scrollbar-gutter: stable;  /* a scrollbar appearing must not change the width the columns were laid out for */
        &:focus {
            background-tint: $foreground 5%;
            & > .line-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .line-table--header { background: $panel; color: $foreground; text-style: bold; }
        &:ansi > .line-table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .line-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .line-table--good { color: $success; }
        & > .line-table--warn { color: $warning; }
        & > .line-table--bad { color: $error; text-style: bold; }
        & > .line-table--dim { color: $text-muted; }
        & > .line-table--accent { color: $accent; }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "line-table--header",
        "line-table--cursor",
        *(f"line-table--{tone}" for tone in _TONES),
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First row", show=False),
        Binding("end", "last", "Last row", show=False),
        Binding("enter", "select_row", "Select", show=False),
    ]

    class Highlighted(Message):
        """The cursor moved to another row (by the engineer, or because its row went away)."""

        def __init__(self, table: LineTable, key: RowKey | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> LineTable:
            return self.table

    class Selected(Message):
        """Enter (or a double click) on a row."""

        def __init__(self, table: LineTable, key: RowKey) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> LineTable:
            return self.table

    class SortChanged(Message):
        def __init__(self, table: LineTable, column: str, descending: bool) -> None:
            super().__init__()
            self.table = table
            self.column = column
            self.descending = descending

        @property
        def control(self) -> LineTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        if not columns:
            raise ValueError("a table needs at least one column")
        keys = [column.key for column in columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"column keys must be unique: {keys}")
        self._columns: tuple[Column, ...] = tuple(columns)
        self._column_index = {column.key: i for i, column in enumerate(self._columns)}
        self._rows: dict[RowKey, Row] = {}
        self._visible: list[RowKey] = []
        self._position: dict[RowKey, int] = {}
        self._sort_column = 0
        self._descending = self._columns[0].descending_first
        self._filter: Callable[[Row], bool] | None = None
        self._order_dirty = False
        self._dirty_cells: dict[RowKey, set[int]] = {}
        self._batch_depth = 0
        self._cursor_key: RowKey | None = None  # the row the engineer chose; kept while it exists
        self._cursor_hint = 0  # where the cursor was last drawn, for when its row is filtered out
        self._drawn_cursor: tuple[int, RowKey | None] = (-1, None)
        self._layout: list[tuple[int, int] | None] = []  # (x, width) per column; None: left out, too narrow
        self._total_width = 0
        self._layout_for_width = -1
        self._header_strip: Strip | None = None
        self._tone_styles: dict[Tone, Style] | None = None
        # Bookkeeping that shows what a change cost: rows whose line was repainted, in total and last time.
        self.lines_refreshed = 0
        self.last_refreshed: frozenset[RowKey] = frozenset()
        self.sorts_performed = 0
        self._compute_layout(0)

    # -----------------------------------------------------------------------------------------
    # Reading

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    @property
    def row_count(self) -> int:
        """All rows, shown or filtered out."""
        return len(self._rows)

    @property
    def visible_count(self) -> int:
        return len(self._visible)

    def visible_keys(self) -> tuple[RowKey, ...]:
        """The keys of the rows shown, top to bottom."""
        return tuple(self._visible)

    def keys(self) -> tuple[RowKey, ...]:
        return tuple(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def row(self, key: RowKey) -> Row:
        return self._rows[key]

    def rows(self) -> Iterator[Row]:
        return iter(self._rows.values())

    @property
    def sort_column(self) -> str:
        return self._columns[self._sort_column].key

    @property
    def sort_descending(self) -> bool:
        return self._descending

    @property
    def cursor_row(self) -> int:
        """The line index of the cursor among the shown rows (0 when the table is empty)."""
        if not self._visible:
            return 0
        position = self._position.get(self._cursor_key) if self._cursor_key is not None else None
        if position is not None:
            return position
        return min(max(self._cursor_hint, 0), len(self._visible) - 1)

    @property
    def cursor_key(self) -> RowKey | None:
        """The key of the highlighted row, or None when nothing is shown."""
        if not self._visible:
            return None
        return self._visible[self.cursor_row]

    # -----------------------------------------------------------------------------------------
    # Changing rows

    @contextmanager
    def batch_rows(self) -> Iterator[None]:
        """Sort and repaint once, at the end, for all the changes made inside."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            self._settle()

    def upsert(
        self,
        key: RowKey,
        cells: Sequence[str | Cell],
        *,
        sort_values: Sequence[Any] | None = None,
        data: Any = None,
    ) -> bool:
        """Add or update the row `key`; returns whether anything visible changed.

        `sort_values` (one per column, optional) is what the row sorts by; without it a column sorts by its text
        in natural order. `data` is kept with the row for the filter predicate and for the caller.
        """
        if len(cells) != len(self._columns):
            raise ValueError(f"expected {len(self._columns)} cells, got {len(cells)}")
        if sort_values is not None and len(sort_values) != len(self._columns):
            raise ValueError(f"expected {len(self._columns)} sort values, got {len(sort_values)}")
        new_cells = tuple(_as_cell(cell) for cell in cells)
        new_sort = tuple(sort_values) if sort_values is not None else None
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = Row(key)
            row.cells = new_cells
            row.sort_values = new_sort
            row.data = data
            row.visible = self._passes(row)
            self._order_dirty |= row.visible
            self._settle()
            return row.visible
        changed = [i for i, (old, new) in enumerate(zip(row.cells, new_cells, strict=True)) if old != new]
        sort_column = self._sort_column
        old_sort_value = row.sort_value(sort_column)
        row.data = data
        if changed or new_sort != row.sort_values:
            row.cells = new_cells
            row.sort_values = new_sort
            row._sort_cache.clear()
            row._strips.clear()
        sort_moved = row.sort_value(sort_column) != old_sort_value
        visible = self._passes(row)
        if visible != row.visible:
            row.visible = visible
            self._order_dirty = True
        elif visible and sort_moved:
            self._order_dirty = True
        if visible and changed:
            self._dirty_cells.setdefault(key, set()).update(changed)
        self._settle()
        return bool(changed) or sort_moved

    def remove_row(self, key: RowKey) -> bool:
        row = self._rows.pop(key, None)
        if row is None:
            return False
        self._dirty_cells.pop(key, None)
        if row.visible:
            self._order_dirty = True
        self._settle()
        return True

    def retain(self, keys: Iterable[RowKey]) -> int:
        """Remove every row whose key is not in `keys`; returns how many went."""
        keep = set(keys)
        gone = [key for key in self._rows if key not in keep]
        with self.batch_rows():
            for key in gone:
                self.remove_row(key)
        return len(gone)

    def clear(self) -> None:
        """Remove all rows (the cursor goes back to the top)."""
        self._rows.clear()
        self._dirty_cells.clear()
        self._visible = []
        self._position = {}
        self._cursor_key = None
        self._cursor_hint = 0
        self._order_dirty = False
        self._update_virtual_size()
        self.refresh()

    # -----------------------------------------------------------------------------------------
    # Sorting, filtering, cursor

    def sort_by(self, column: str, *, descending: bool | None = None) -> None:
        """Sort by `column`; `descending` defaults to the column's natural direction."""
        index = self._column_index[column]
        if not self._columns[index].sortable:
            return
        if descending is None:
            descending = self._columns[index].descending_first
        if index == self._sort_column and descending == self._descending:
            return
        self._sort_column = index
        self._descending = descending
        self._header_strip = None
        self._refresh_header()
        self._order_dirty = True
        self._settle()
        self.scroll_to_cursor()
        self.post_message(self.SortChanged(self, column, descending))

    def cycle_sort(self, step: int = 1) -> None:
        """Sort by the next (or previous) sortable column."""
        count = len(self._columns)
        index = self._sort_column
        for _ in range(count):
            index = (index + step) % count
            if self._columns[index].sortable:
                self.sort_by(self._columns[index].key)
                return

    def reverse_sort(self) -> None:
        self.sort_by(self.sort_column, descending=not self._descending)

    def set_filter(self, predicate: Callable[[Row], bool] | None) -> None:
        """Show only rows for which `predicate(row)` is true (None: all rows)."""
        self._filter = predicate
        self.refilter()

    def refilter(self) -> None:
        """Evaluate the filter again for every row (when what it depends on changed)."""
        for row in self._rows.values():
            visible = self._passes(row)
            if visible != row.visible:
                row.visible = visible
                self._order_dirty = True
        self._settle()
        self.scroll_to_cursor()

    def move_cursor(self, key: RowKey, *, scroll: bool = True) -> None:
        """Put the cursor on row `key` (it stays there across sorts and filters)."""
        if key not in self._rows:
            raise KeyError(key)
        self._cursor_key = key
        self._settle()
        if scroll:
            self.scroll_to_cursor()

    def scroll_to_cursor(self) -> None:
        if not self._visible or not self.is_mounted:
            return
        row = self.cursor_row
        body = self._body_height()
        top = int(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif body > 0 and row >= top + body:
            self.scroll_to(y=row - body + 1, animate=False, immediate=True)

    # -----------------------------------------------------------------------------------------
    # Internals: order, dirty lines

    def _passes(self, row: Row) -> bool:
        predicate = self._filter
        return True if predicate is None else bool(predicate(row))

    def _compute_order(self) -> list[RowKey]:
        self.sorts_performed += 1
        rows = [row for row in self._rows.values() if row.visible]
        # Ties keep the order of the first column: sort by it first, then (stably) by the chosen one.
        rows.sort(key=lambda row: row.sort_value(0))
        column = self._sort_column
        if column == 0:
            if self._descending:
                rows.reverse()
            return [row.key for row in rows]
        known = [row for row in rows if row.sort_value(column) is not None]
        unknown = [row for row in rows if row.sort_value(column) is None]
        known.sort(key=lambda row: row.sort_value(column), reverse=self._descending)
        return [row.key for row in known] + [row.key for row in unknown]

    def _settle(self) -> None:
        """Apply pending changes: re-sort if needed, then repaint exactly the lines and cells that changed."""
        if self._batch_depth:
            return
        full_lines: set[int] = set()
        if self._order_dirty:
            self._order_dirty = False
            old = self._visible
            new = self._compute_order()
            self._visible = new
            self._position = {key: i for i, key in enumerate(new)}
            # A line needs repainting when another row now sits on it (or none does any more).
            shared = min(len(old), len(new))
            full_lines.update(i for i in range(shared) if old[i] != new[i])
            full_lines.update(range(shared, max(len(old), len(new))))
            if len(old) != len(new):
                self._update_virtual_size()
        self._settle_cursor(full_lines)
        dirty_cells = self._dirty_cells
        self._dirty_cells = {}
        if not full_lines and not dirty_cells:
            return
        self._repaint(full_lines, dirty_cells)

    def _settle_cursor(self, full_lines: set[int]) -> None:
        visible = self._visible
        if self._cursor_key is not None and self._cursor_key not in self._rows:
            # Its row went away: the cursor stays at the same height, on whatever row is there now.
            self._cursor_key = visible[min(self._cursor_hint, len(visible) - 1)] if visible else None
        elif self._cursor_key is None and visible:
            self._cursor_key = visible[0]
        drawn = (self.cursor_row, self.cursor_key) if visible else (-1, None)
        if drawn != self._drawn_cursor:
            old_line, old_key = self._drawn_cursor
            if old_line >= 0:
                full_lines.add(old_line)
            if drawn[0] >= 0:
                full_lines.add(drawn[0])
                self._cursor_hint = drawn[0]
            moved_to_other_row = old_key != drawn[1]
            self._drawn_cursor = drawn
            if moved_to_other_row and self.is_mounted:
                self.post_message(self.Highlighted(self, drawn[1]))

    def _repaint(self, full_lines: set[int], dirty_cells: dict[RowKey, set[int]]) -> None:
        if not self.is_mounted:
            return
        width, height = self.scrollable_content_region.size
        if width <= 0 or height <= 1:
            return
        scroll_x, scroll_y = int(self.scroll_x), int(self.scroll_y)
        body = height - 1
        first, last = scroll_y, scroll_y + body  # the shown row lines
        viewport = Region(0, 0, width, height)
        refreshed: set[RowKey] = set()
        regions: list[Region] = []
        count = len(self._visible)
        for line in full_lines:
            if first <= line < last:
                regions.append(Region(0, 1 + line - scroll_y, width, 1))
                if line < count:
                    refreshed.add(self._visible[line])
        for key, columns in dirty_cells.items():
            position = self._position.get(key)
            if position is None or position in full_lines or not first <= position < last:
                continue
            # One region per line, from the first changed cell to the last: the compositor writes a line from
            # the widget's left edge to the end of each dirty region, so two regions would write the line twice.
            span = self._span(columns)
            if span is None:
                continue
            start, end = span
            region = Region(start - scroll_x, 1 + position - scroll_y, end - start, 1).intersection(viewport)
            if region.area:
                regions.append(region)
                refreshed.add(key)
        self.lines_refreshed += len(refreshed)
        self.last_refreshed = frozenset(refreshed)
        if regions:
            self.refresh(*regions)

    def _span(self, columns: set[int]) -> tuple[int, int] | None:
        """The x range (table coordinates) from the first to the last of the changed columns that are shown."""
        places = [place for index in columns if (place := self._layout[index]) is not None]
        if not places:
            return None
        return min(x for x, _ in places), max(x + width for x, width in places)

    # -----------------------------------------------------------------------------------------
    # Layout and rendering

    def _compute_layout(self, available: int) -> None:
        columns = self._columns
        shown = list(range(len(columns)))

        def needed(indexes: list[int]) -> int:
            return _GAP + sum(columns[i].width + _GAP for i in indexes)

        if available > 0:
            # Too narrow: leave out the least important columns, the rightmost first among equals.
            droppable = sorted(
                (i for i, column in enumerate(columns) if column.priority > 0),
                key=lambda i: (-columns[i].priority, -i),
            )
            for index in droppable:
                if needed(shown) <= available:
                    break
                shown.remove(index)
        spare = max(0, available - needed(shown))
        flex = next((i for i in shown if columns[i].flex), None)
        layout: list[tuple[int, int] | None] = [None] * len(columns)
        x = _GAP
        for i in shown:
            width = columns[i].width + (spare if i == flex else 0)
            layout[i] = (x, width)
            x += width + _GAP
        self._layout = layout
        self._total_width = x
        self._layout_for_width = available

    @property
    def shown_columns(self) -> tuple[str, ...]:
        """The keys of the columns that fit the width (all of them before the table has a size)."""
        return tuple(column.key for column, place in zip(self._columns, self._layout, strict=True) if place)

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(self._total_width, len(self._visible) + 1)

    def _body_height(self) -> int:
        return max(0, self.scrollable_content_region.height - 1)

    def _refresh_header(self) -> None:
        if self.is_mounted:
            self.refresh(Region(0, 0, self.scrollable_content_region.width, 1))

    def on_resize(self, event: events.Resize) -> None:
        available = self.scrollable_content_region.width
        if available != self._layout_for_width:
            self._compute_layout(available)
            self._forget_rendering()
        self._update_virtual_size()
        self.refresh()

    def on_mount(self) -> None:
        self._update_virtual_size()
        self._settle()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._forget_rendering()
        self.refresh()

    def _forget_rendering(self) -> None:
        self._header_strip = None
        self._tone_styles = None
        for row in self._rows.values():
            row._strips.clear()

    def _tones(self) -> dict[Tone, Style]:
        styles = self._tone_styles
        if styles is None:
            styles = {"": Style()}
            for tone in _TONES:
                # The full style, so translucent theme colours come out blended; the background is left out so a
                # toned cell under the cursor keeps the cursor's background.
                full = self.get_component_rich_style(f"line-table--{tone}")
                styles[tone] = Style(
                    color=full.color, bold=full.bold, dim=full.dim, italic=full.italic, underline=full.underline
                )
            self._tone_styles = styles
        return styles

    def _render_header(self) -> Strip:
        strip = self._header_strip
        if strip is None:
            style = self.get_component_rich_style("line-table--header")
            segments = [Segment(" " * _GAP)]
            for index, (column, place) in enumerate(zip(self._columns, self._layout, strict=True)):
                if place is None:
                    continue
                width = place[1]
                label = column.label
                if index == self._sort_column:
                    arrow = _SORT_DESCENDING if self._descending else _SORT_ASCENDING
                    label = f"{set_cell_size(label, max(0, width - 2)).rstrip()} {arrow}"
                segments.append(Segment(_fit(label, width, column.align)))
                segments.append(Segment(" " * _GAP))
            strip = Strip(segments, self._total_width).apply_style(style).simplify()
            self._header_strip = strip
        return strip

    def _render_row(self, row: Row, under_cursor: bool) -> Strip:
        strip = row._strips.get(under_cursor)
        if strip is None:
            tones = self._tones()
            base = self.rich_style
            if under_cursor:
                base = base + self.get_component_rich_style("line-table--cursor", partial=True)
            segments = [Segment(" " * _GAP)]
            for cell, column, place in zip(row.cells, self._columns, self._layout, strict=True):
                if place is None:
                    continue
                text = _fit(cell.text, place[1], column.align)
                segments.append(Segment(text, tones[cell.tone] if cell.tone else None))
                segments.append(Segment(" " * _GAP))
            strip = Strip(segments, self._total_width).apply_style(base).simplify()
            row._strips[under_cursor] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = self.scroll_offset
        base = self.rich_style
        if y == 0:
            strip = self._render_header()
        else:
            index = y - 1 + scroll_y
            if index >= len(self._visible):
                return Strip.blank(width, base)
            row = self._rows[self._visible[index]]
            strip = self._render_row(row, index == self.cursor_row)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    # -----------------------------------------------------------------------------------------
    # Keys and mouse

    def _move_cursor_to_line(self, line: int) -> None:
        if not self._visible:
            return
        line = min(max(line, 0), len(self._visible) - 1)
        self.move_cursor(self._visible[line])

    def action_cursor_up(self) -> None:
        self._move_cursor_to_line(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self._move_cursor_to_line(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self._move_cursor_to_line(self.cursor_row - max(1, self._body_height() - 1))

    def action_page_down(self) -> None:
        self._move_cursor_to_line(self.cursor_row + max(1, self._body_height() - 1))

    def action_first(self) -> None:
        self._move_cursor_to_line(0)

    def action_last(self) -> None:
        self._move_cursor_to_line(len(self._visible) - 1)

    def action_select_row(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def column_at(self, x: int) -> str | None:
        """The key of the column under table x (scroll included), or None on a gap."""
        for column, place in zip(self._columns, self._layout, strict=True):
            if place is not None and place[0] <= x < place[0] + place[1]:
                return column.key
        return None

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self.column_at(offset.x + int(self.scroll_x))
            if column is None:
                return
            if column == self.sort_column:
                self.reverse_sort()
            else:
                self.sort_by(column)
            event.stop()
            return
        line = offset.y - 1 + int(self.scroll_y)
        if 0 <= line < len(self._visible):
            self.move_cursor(self._visible[line])
            if event.chain >= 2:
                self.action_select_row()
            event.stop()
