"""The Line-API table: keyed rows, repaint bookkeeping, stable sorting, sticky cursor, filters, mouse and keys."""

from __future__ import annotations

from textual.app import App, ComposeResult

from edgeops.lab.faults import HOSTILE_DESCRIPTION
from edgeops.naming import natural_key
from edgeops.ui.widgets.line_table import Cell, Column, LineTable

COLUMNS = (
    Column("name", "Name", 12),
    Column("value", "Value", 6, align="right", descending_first=True),
    Column("note", "Note", 10, flex=True),
)


class TableHost(App[None]):
    def __init__(self, table: LineTable) -> None:
        super().__init__()
        self.table = table
        self.selected: list[object] = []
        self.highlighted: list[object] = []

    def compose(self) -> ComposeResult:
        yield self.table

    def on_line_table_selected(self, event: LineTable.Selected) -> None:
        self.selected.append(event.key)

    def on_line_table_highlighted(self, event: LineTable.Highlighted) -> None:
        self.highlighted.append(event.key)


def put(table: LineTable, name: str, value: float | None, note: str = "") -> bool:
    cells = [name, "-" if value is None else f"{value:g}", note]
    return table.upsert(name, cells, sort_values=(natural_key(name), value, note), data=value)


def line(table: LineTable, y: int) -> str:
    return table.render_line(y).text


def fill(table: LineTable, count: int) -> None:
    with table.batch_rows():
        for i in range(1, count + 1):
            put(table, f"eth-{i}", float(i * 10))


async def test_rows_come_in_natural_order_with_a_sort_arrow_in_the_header():
    table = LineTable(COLUMNS)
    async with TableHost(table).run_test(size=(60, 12)) as pilot:
        for name in ("eth-10", "eth-2", "eth-1"):
            put(table, name, 1.0)
        await pilot.pause()
        assert table.visible_keys() == ("eth-1", "eth-2", "eth-10")
        assert "Name ▲" in line(table, 0)
        assert line(table, 1).split() == ["eth-1", "1"]
        assert line(table, 3).split()[0] == "eth-10"
        assert line(table, 4).strip() == ""


async def test_a_changed_cell_repaints_only_its_own_line():
    table = LineTable(COLUMNS)
    async with TableHost(table).run_test(size=(60, 12)) as pilot:
        fill(table, 5)
        await pilot.pause()
        before = table.lines_refreshed
        sorts = table.sorts_performed
        assert put(table, "eth-3", 30.0) is False  # the same values: nothing to do
        assert table.lines_refreshed == before
        assert put(table, "eth-3", 31.0, "busy") is True
        assert table.last_refreshed == {"eth-3"}
        assert table.lines_refreshed == before + 1
        assert table.sorts_performed == sorts  # sorted by name: a value change does not re-sort
        await pilot.pause()
        assert line(table, 3).split() == ["eth-3", "31", "busy"]


async def test_resorts_only_when_a_value_of_the_sort_column_changed():
    table = LineTable(COLUMNS)
    async with TableHost(table).run_test(size=(60, 12)) as pilot:
        fill(table, 4)
        table.sort_by("value")
        await pilot.pause()
        assert table.visible_keys() == ("eth-4", "eth-3", "eth-2", "eth-1")  # numbers: biggest first
        sorts = table.sorts_performed
        put(table, "eth-2", 20.0, "a note")  # not the sort column
        assert table.sorts_performed == sorts
        assert table.last_refreshed == {"eth-2"}
        put(table, "eth-2", 35.0, "a note")
        assert table.sorts_performed == sorts + 1
        assert table.visible_keys() == ("eth-4", "eth-2", "eth-3", "eth-1")
        assert table.last_refreshed == {"eth-2", "eth-3"}  # the two lines that swapped rows


async def test_sorting_is_stable_and_unknown_values_go_last_both_ways():
    table = LineTable(COLUMNS)
    async with TableHost(table).run_test(size=(60, 12)) as pilot:
        for name, value in [("b", 5.0), ("d", None), ("a", 5.0), ("c", 9.0), ("e", 1.0)]:
            put(table, name, value)
        table.sort_by("value")
        assert table.visible_keys() == ("c", "a", "b", "e", "d")
        table.reverse_sort()
        assert table.sort_descending is False
        assert table.visible_keys() == ("e", "a", "b", "c", "d")
        table.cycle_sort()
        assert table.sort_column == "note"
        table.cycle_sort()
        assert table.sort_column == "name"
        assert table.visible_keys() == ("a", "b", "c", "d", "e")
        await pilot.pause()


async def test_cursor_stays_on_its_row_across_sorts_and_filters():
    table = LineTable(COLUMNS)
    async with TableHost(table).run_test(size=(60, 12)) as pilot:
        fill(table, 6)
        table.focus()
        await pilot.press("down", "down")
        assert table.cursor_key == "eth-3"
        table.sort_by("value")
        assert table.cursor_key == "eth-3"
        assert table.cursor_row == 3  # eth-6, eth-5, eth-4, eth-3
        table.set_filter(lambda row: row.key != "eth-3")
        assert table.cursor_key != "eth-3"  # hidden: the cursor shows on a neighbour...
        table.set_filter(lambda row: row.key != "eth-1")
        assert table.cursor_key == "eth-3"  # ...and comes back once its row is shown again
        table.set_filter(None)
        assert table.visible_count == 6
        await pilot.press("end")
        assert table.cursor_key == "eth-1"
        await pilot.press("home")
        assert table.cursor_key == "eth-6"
        await pilot.press("enter")
        await pilot.pause()
        assert pilot.app.selected == ["eth-6"]
        assert "eth-6" in pilot.app.highlighted


async def test_removed_rows_leave_and_the_cursor_stays_at_the_same_height():
    table = LineTable(COLUMNS)
    async with TableHost(table).run_test(size=(60, 12)) as pilot:
        fill(table, 4)
        table.move_cursor("eth-2")
        assert table.remove_row("eth-2") is True
        assert table.remove_row("eth-2") is False
        assert table.visible_keys() == ("eth-1", "eth-3", "eth-4")
        assert table.cursor_key == "eth-3"
        assert table.retain(["eth-1"]) == 2
        assert table.keys() == ("eth-1",)
        assert table.cursor_key == "eth-1"
        await pilot.pause()
        assert line(table, 1).split()[0] == "eth-1"
        assert line(table, 2).strip() == ""
        table.clear()
        assert table.row_count == 0
        assert table.cursor_key is None


async def test_rows_out_of_view_are_not_repainted_until_they_come_into_view():
    table = LineTable(COLUMNS)
    async with TableHost(table).run_test(size=(60, 12)) as pilot:
        fill(table, 100)
        await pilot.pause()
        before = table.lines_refreshed
        put(table, "eth-80", 1234.0)
        assert table.last_refreshed == frozenset()
        assert table.lines_refreshed == before
        table.move_cursor("eth-80")
        await pilot.pause()
        shown = [line(table, y) for y in range(1, 12)]
        assert any(text.split()[:2] == ["eth-80", "1234"] for text in shown)


async def test_clicking_a_header_sorts_and_clicking_again_reverses():
    table = LineTable(COLUMNS)
    async with TableHost(table).run_test(size=(60, 12)) as pilot:
        fill(table, 3)
        await pilot.pause()
        value_x = 1 + 12 + 1 + 3  # inside the Value column
        assert await pilot.click(LineTable, offset=(value_x, 0))
        assert (table.sort_column, table.sort_descending) == ("value", True)
        assert table.visible_keys() == ("eth-3", "eth-2", "eth-1")
        assert await pilot.click(LineTable, offset=(value_x, 0))
        assert (table.sort_column, table.sort_descending) == ("value", False)
        assert await pilot.click(LineTable, offset=(2, 2))  # a row: the cursor goes there
        assert table.cursor_key == "eth-2"


async def test_device_text_in_cells_is_shown_literally_and_without_escapes():
    table = LineTable(COLUMNS)
    async with TableHost(table).run_test(size=(120, 8)) as pilot:
        table.upsert("evil", ["evil", Cell("1", "bad"), HOSTILE_DESCRIPTION])
        await pilot.pause()
        strip = table.render_line(1)
        assert "[red]PWNED[/red]" in strip.text
        assert all("\x1b" not in segment.text and "\x07" not in segment.text for segment in strip)
        plain_style = next(segment.style for segment in strip if "evil" in segment.text)
        for segment in strip:
            if "PWNED" in segment.text:
                assert segment.style == plain_style  # no markup applied: styled like any plain cell
        bad_style = next(segment.style for segment in strip if segment.text.strip() == "1")
        assert bad_style != plain_style  # the tone of a cell is a theme colour


async def test_a_narrow_table_leaves_out_the_least_important_columns():
    columns = (
        Column("name", "Name", 10),
        Column("extra", "Extra", 20, priority=2),
        Column("more", "More", 20, priority=1),
    )
    table = LineTable(columns)
    async with TableHost(table).run_test(size=(40, 8)) as pilot:
        table.upsert("a", ["a", "extra text", "more text"])
        await pilot.pause()
        assert table.shown_columns == ("name", "more")
        assert line(table, 1).split() == ["a", "more", "text"]


async def test_wrong_number_of_cells_is_refused():
    table = LineTable(COLUMNS)
    async with TableHost(table).run_test(size=(40, 8)):
        try:
            table.upsert("a", ["only one"])
        except ValueError as error:
            assert "expected 3 cells" in str(error)
        else:
            raise AssertionError("upsert accepted a short row")
