"""`/` in the command results: find text in an output (less/vim style), or filter the list of devices."""

from __future__ import annotations

from pathlib import Path

from rich.style import Style
from test_command_runner import (
    DEMO_STARTED,
    ResultsScreenHost,
    RunnerHost,
    ScriptedTransport,
    app_paths,
    demo_inventory,
    demo_results,
    output_text,
    run_and_wait,
    static_text,
    table_labels,
)
from textual.pilot import Pilot
from textual.widgets import DataTable, RichLog, Static

from edgeops.devices.samples import CommandResult
from edgeops.fleet.commands import CommandRunner
from edgeops.ui.live import Selection
from edgeops.ui.results.model import CommandRun
from edgeops.ui.results.screen import CommandResultsScreen
from edgeops.ui.results.search import SearchPattern, find_matches, fold_case, step
from edgeops.ui.results.view import CommandResultsView, SearchInput

SMALL = (80, 24)


def interface_brief(down: set[int]) -> str:
    """An SR Linux `show interface brief`-like table, 40 ports long (more than a screen), some ports down."""
    lines = ["+---------------------+------------+-------------+-------+", "| Port | Admin | Oper | Speed |"]
    for port in range(1, 41):
        oper = "down" if port in down else "up"
        lines.append(f"| ethernet-1/{port} | enable | {oper} | 100G |")
    lines.append("| mgmt0 | enable | up | 1G |")
    return "\n".join(lines) + "\n"


def search_run(outputs: dict[str, str]) -> CommandRun:
    """A finished run of the demo site's devices with the given outputs (the others answered "")."""
    devices = demo_inventory().devices
    run = CommandRun("show interface brief", "site:alcala", devices, started=DEMO_STARTED)
    for index, device in enumerate(devices):
        started = DEMO_STARTED + index
        run.add(CommandResult(device.name, run.command, outputs.get(device.name, ""), started, started + 0.5, True))
    run.ended = DEMO_STARTED + 30.0
    return run


def view_of(app: ResultsScreenHost) -> CommandResultsView:
    return app.screen.query_one(CommandResultsView)


def search_status(view: CommandResultsView) -> str:
    return static_text(view.query_one("#result-search-status", Static))


def styled_texts(view: CommandResultsView, component: str) -> list[str]:
    """The runs of output text drawn with a match style (their background is the style's)."""
    background = view.get_component_rich_style(f"results-view--{component}").bgcolor
    assert background is not None
    found: list[str] = []
    for strip in view.query_one("#result-output", RichLog).lines:
        run = ""
        for segment in strip:
            if segment.style is not None and segment.style.bgcolor == background:
                run += segment.text
            elif run:
                found.append(run)
                run = ""
        if run:
            found.append(run)
    return found


def current_line_visible(view: CommandResultsView) -> bool:
    output = view.query_one("#result-output", RichLog)
    match = view._matches[view._match_index]
    return output.scroll_y <= match.line < output.scroll_y + output.scrollable_content_region.height


async def find(pilot: Pilot[None], view: CommandResultsView, text: str) -> None:
    """Focus the output, press `/`, type `text` and Enter."""
    view.query_one("#result-output", RichLog).focus()
    await pilot.press("slash", *text, "enter")
    await pilot.pause()


# -- the search itself, without a screen ----------------------------------------------------------------------


def test_smart_case_and_plain_substrings() -> None:
    assert SearchPattern("down").spans("Down down DOWN") == [(0, 4), (5, 9), (10, 14)]
    assert SearchPattern("Down").spans("Down down DOWN") == [(0, 4)]
    assert SearchPattern("1.1").spans("1.1 121") == [(0, 3)]  # a dot is a dot: no regular expression
    assert SearchPattern("[/]").spans("[bold]x[/] [/]") == [(7, 10), (11, 14)]
    assert SearchPattern("").spans("anything") == []


def test_matches_know_their_line_and_cell_column() -> None:
    text = "first line\nsécond 端末 down\nlast down"
    matches = find_matches(text, SearchPattern("down"))
    assert [(match.line, match.column, match.width) for match in matches] == [(1, 12, 4), (2, 5, 4)]
    assert [text[match.start : match.end] for match in matches] == ["down", "down"]


def test_case_folding_keeps_offsets() -> None:
    # İ lower-cases to two characters: folding keeps one for one, so spans still point into the shown text.
    assert len(fold_case("İx down")) == len("İx down")
    assert SearchPattern("down").spans("İx down") == [(3, 7)]


def test_step_wraps_both_ways() -> None:
    assert step(0, 3, True) == (1, False)
    assert step(2, 3, True) == (0, True)
    assert step(0, 3, False) == (2, True)


# -- in the output ------------------------------------------------------------------------------------------------


async def test_matches_are_highlighted_counted_and_the_first_is_scrolled_in() -> None:
    run = search_run({"alcala-spine1": interface_brief(down={7, 31, 38})})
    app = ResultsScreenHost(run)
    async with app.run_test(size=SMALL) as pilot:
        view = view_of(app)
        await find(pilot, view, "down")
        assert search_status(view) == "/down: match 1/3"
        assert styled_texts(view, "match") == ["down", "down"]
        assert styled_texts(view, "match-current") == ["down"]
        assert view._matches[0].line == 2 + 7 - 1
        assert current_line_visible(view)
        assert app.focused is view.query_one("#result-output", RichLog)


async def test_n_and_N_walk_the_matches_in_order_and_wrap_with_a_notice() -> None:
    run = search_run({"alcala-spine1": interface_brief(down={7, 31, 38})})
    app = ResultsScreenHost(run)
    async with app.run_test(size=SMALL) as pilot:
        view = view_of(app)
        await find(pilot, view, "down")
        lines = []
        for expected in ("/down: match 2/3", "/down: match 3/3"):
            await pilot.press("n")
            assert search_status(view) == expected
            assert current_line_visible(view)
            lines.append(view._matches[view._match_index].line)
        assert lines == [2 + 31 - 1, 2 + 38 - 1]
        await pilot.press("n")
        assert search_status(view) == "/down: match 1/3 · search wrapped"
        assert current_line_visible(view)
        assert any(str(notice.message) == "search wrapped" for notice in app._notifications)
        await pilot.press("N")
        assert search_status(view) == "/down: match 3/3 · search wrapped"
        await pilot.press("N")
        assert search_status(view) == "/down: match 2/3"


async def test_the_first_match_is_the_first_at_or_below_the_top_of_the_output() -> None:
    run = search_run({"alcala-spine1": interface_brief(down={3, 35})})
    app = ResultsScreenHost(run)
    async with app.run_test(size=SMALL) as pilot:
        view = view_of(app)
        output = view.query_one("#result-output", RichLog)
        output.scroll_to(y=20, animate=False, immediate=True)
        await find(pilot, view, "down")
        assert search_status(view) == "/down: match 2/2"


async def test_smart_case_in_the_output() -> None:
    run = search_run({"alcala-spine1": "Admin Down\noper down\nDOWN\n"})
    app = ResultsScreenHost(run)
    async with app.run_test(size=SMALL) as pilot:
        view = view_of(app)
        await find(pilot, view, "down")
        assert search_status(view) == "/down: match 1/3"
        await find(pilot, view, "Down")
        assert search_status(view) == "/Down: match 1/1"
        assert styled_texts(view, "match-current") == ["Down"]


async def test_no_match_says_so_and_highlights_nothing() -> None:
    run = search_run({"alcala-spine1": interface_brief(down=set())})
    app = ResultsScreenHost(run)
    async with app.run_test(size=SMALL) as pilot:
        view = view_of(app)
        await find(pilot, view, "lag1")
        assert search_status(view) == "no match for lag1"
        assert styled_texts(view, "match") == [] and styled_texts(view, "match-current") == []
        await pilot.press("n")
        assert search_status(view) == "no match for lag1"


async def test_escape_clears_the_highlights_then_goes_back_as_before() -> None:
    run = search_run({"alcala-spine1": interface_brief(down={7})})
    app = ResultsScreenHost(run)
    async with app.run_test(size=SMALL) as pilot:
        view = view_of(app)
        await find(pilot, view, "down")
        assert styled_texts(view, "match-current") == ["down"]
        await pilot.press("escape")
        assert view.find is None
        assert styled_texts(view, "match-current") == [] and styled_texts(view, "match") == []
        assert not view.query_one("#result-search").display
        assert isinstance(app.screen, CommandResultsScreen)
        await pilot.press("escape")  # nothing left to clear: the screen's own Escape
        assert not isinstance(app.screen, CommandResultsScreen)


async def test_escape_on_the_search_line_closes_it_without_searching() -> None:
    run = search_run({"alcala-spine1": interface_brief(down={7})})
    app = ResultsScreenHost(run)
    async with app.run_test(size=SMALL) as pilot:
        view = view_of(app)
        view.query_one("#result-output", RichLog).focus()
        await pilot.press("slash", "d", "o")
        assert isinstance(app.focused, SearchInput)
        await pilot.press("escape")
        assert view.find is None and isinstance(app.screen, CommandResultsScreen)
        assert app.focused is view.query_one("#result-output", RichLog)
        assert not view.query_one("#result-search").display


async def test_markup_looking_output_is_searched_and_drawn_as_text() -> None:
    hostile = "[bold]not bold[/] and [/] again\n[link=http://x]no link[/link] [/]\n"
    run = search_run({"alcala-spine1": hostile})
    app = ResultsScreenHost(run)
    async with app.run_test(size=SMALL) as pilot:
        view = view_of(app)
        await find(pilot, view, "[/]")
        assert search_status(view) == "/[/]: match 1/3"
        assert output_text(view).splitlines()[:2] == [line for line in hostile.splitlines()]
        assert styled_texts(view, "match-current") == ["[/]"]
        assert styled_texts(view, "match") == ["[/]", "[/]"]
        current = view.get_component_rich_style("results-view--match-current")
        for strip in view.query_one("#result-output", RichLog).lines:
            for segment in strip:
                style = segment.style or Style()
                if style.bgcolor != current.bgcolor:
                    assert not style.bold and style.link is None, f"{segment.text!r} was read as markup"
        await find(pilot, view, "[bold]")
        assert search_status(view) == "/[bold]: match 1/1"


async def test_moving_to_another_device_keeps_the_search_and_shows_its_first_match() -> None:
    run = search_run({"alcala-spine1": interface_brief(down={7}), "alcala-spine2": interface_brief(down={30, 33})})
    app = ResultsScreenHost(run)
    async with app.run_test(size=SMALL) as pilot:
        view = view_of(app)
        await find(pilot, view, "down")
        assert search_status(view) == "/down: match 1/1"
        view.query_one("#result-list", DataTable).focus()
        await pilot.press("down")
        assert view.selected_key() == "alcala-spine2"
        assert search_status(view) == "/down: match 1/2"
        assert current_line_visible(view)
        await pilot.press("n")  # from the list with no filter, n walks the output's matches
        assert search_status(view) == "/down: match 2/2"


# -- in the list --------------------------------------------------------------------------------------------------


async def test_slash_in_the_list_filters_devices_by_name_or_output() -> None:
    app = ResultsScreenHost(demo_results())
    async with app.run_test(size=SMALL) as pilot:
        view = view_of(app)
        assert len(table_labels(view)) == 12
        assert app.focused is view.query_one("#result-list", DataTable)
        await pilot.press("slash", *"TiMOS", "enter")
        assert table_labels(view) == ["alcala-gw1", "alcala-gw2"]  # by output: the SR OS banner
        assert search_status(view).startswith("filter TiMOS: device 1/2   /TiMOS: match 1/1")
        assert styled_texts(view, "match-current") == ["TiMOS"]
        await pilot.press("n")
        assert view.selected_key() == "alcala-gw2"
        assert search_status(view).startswith("filter TiMOS: device 2/2")
        await pilot.press("n")
        assert view.selected_key() == "alcala-gw1"
        assert search_status(view).endswith("search wrapped")
        await pilot.press("N")
        assert view.selected_key() == "alcala-gw2"
        await pilot.press("slash", *"spine", "enter")  # by name
        assert sorted(table_labels(view)) == ["alcala-spine1", "alcala-spine2"]
        await pilot.press("escape")
        assert len(table_labels(view)) == 12 and view.list_filter is None and view.find is None
        assert not view.query_one("#result-search").display


async def test_a_filter_matching_nothing_leaves_the_list_as_it_was() -> None:
    app = ResultsScreenHost(demo_results())
    async with app.run_test(size=SMALL) as pilot:
        view = view_of(app)
        await pilot.press("down", "down")
        selected = view.selected_key()
        await pilot.press("slash", *"lag99", "enter")
        assert len(table_labels(view)) == 12 and view.selected_key() == selected
        assert search_status(view) == "no device matches lag99: the list is unchanged"
        assert view.list_filter is None


async def test_the_filter_keeps_the_selected_device_and_applies_to_folded_groups() -> None:
    app = ResultsScreenHost(demo_results())
    async with app.run_test(size=SMALL) as pilot:
        view = view_of(app)
        table = view.query_one("#result-list", DataTable)
        table.move_cursor(row=table.get_row_index("alcala-leaf3"), animate=False)
        await pilot.pause()
        await pilot.press("slash", *"leaf", "enter")
        assert len(table_labels(view)) == 8 and view.selected_key() == "alcala-leaf3"
        await pilot.press("g")
        assert view.list_filter is not None
        assert all("leaf" in label for label in table_labels(view))
        assert not any("gw" in label or "spine" in label for label in table_labels(view))


# -- in the command runner pane -----------------------------------------------------------------------------------


async def test_search_in_the_pane_at_80x24_and_full_screen(tmp_path: Path) -> None:
    inventory = demo_inventory()
    outputs = {
        device.name: f"fgs{index}\n" + interface_brief(down={index + 1})
        for index, device in enumerate(inventory.devices)
    }
    runner = CommandRunner(ScriptedTransport(outputs), audit=None, timeout_s=5.0, source="console")
    app = RunnerHost(runner, inventory, app_paths(tmp_path), Selection("site", "alcala"))
    async with app.run_test(size=SMALL) as pilot:
        pane = app.pane
        await run_and_wait(pilot, pane, "show interface brief")
        view = pane.results_view
        await pilot.press("escape")  # from the command line to the list
        assert app.focused is view.query_one("#result-list", DataTable)
        await pilot.press("slash")
        search_input = view.query_one(SearchInput)
        assert app.focused is search_input
        bar = view.query_one("#result-search").region
        assert bar.height == 1 and bar.bottom <= SMALL[1] and bar.width > 40, "the search line is on the screen"
        await pilot.press(*"fgs3", "enter")  # f, g and s on the search line are text, not keys
        assert not isinstance(app.screen, CommandResultsScreen)
        assert table_labels(view) == ["alcala-leaf2"]  # the fourth device's output
        await pilot.press("escape")
        assert len(table_labels(view)) == 12
        await pilot.press("tab")  # to the output
        assert app.focused is view.query_one("#result-output", RichLog)
        await pilot.press("slash", *"up", "enter")
        assert search_status(view).startswith("/up: match 1/")
        await pilot.press("escape")
        assert view.find is None

        await pilot.press("f")
        assert isinstance(app.screen, CommandResultsScreen)
        full = view_of(app)  # type: ignore[arg-type]
        await find(pilot, full, "down")
        assert search_status(full) == "/down: match 1/1"
        await pilot.press("escape", "escape")
        assert not isinstance(app.screen, CommandResultsScreen)
