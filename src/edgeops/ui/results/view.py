"""The results of one command run: the list (per device, or folded by identical output) beside the selected output."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from rich.style import Style
from rich.text import Text
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.geometry import Region, Spacing
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Input, RichLog, Static

from edgeops.devices.samples import CommandResult
from edgeops.fleet.results import OutputGroup, group_identical, summarise, write_out_dir
from edgeops.ui.clipboard import ClipboardTooLarge, copy_to_clipboard, tmux_hint
from edgeops.ui.results.model import CommandRun, default_save_dir, group_key, representative
from edgeops.ui.results.render import (
    DiffStyle,
    duration_text,
    group_status_text,
    side_by_side_diff,
    status_cell,
    status_text,
    unified_diff,
)
from edgeops.ui.results.save_screen import SaveResultsScreen
from edgeops.ui.results.search import SearchPattern, TextMatch, find_matches, first_at_or_after, highlight, step
from edgeops.ui.sanitize import safe_plain, safe_text, strip_control

# The view pulls new results at most this often while a run is going (results may arrive by the hundred).
SYNC_INTERVAL_S = 0.25
REFERENCE_MARK = " (ref)"
# Group labels longer than this are cut in the list; the output heading lists every device.
MAX_LABEL_WIDTH = 40
# What `/` searches: the output beside the list, or the list itself (filtered to the devices that match).
SearchTarget = Literal["output", "list"]


class SearchInput(Input):
    """The line `/` opens under the results: Enter searches, Escape closes the search."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close the search", show=False)]

    def action_close(self) -> None:
        view = next(ancestor for ancestor in self.ancestors if isinstance(ancestor, CommandResultsView))
        view.cancel_search_input()


class CommandResultsView(Widget):
    """The results of one CommandRun: a list (per device or folded by identical output) and the selected output.

    It pulls new results from its run on a timer while the run goes on, so a burst of results costs one update.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "toggle_grouped", "Group"),
        Binding("r", "set_reference", "Diff ref"),
        Binding("v", "toggle_diff_style", "Diff style"),
        Binding("c", "copy_output", "Copy"),
        Binding("s", "save", "Save"),
        # Hidden from the footer: the help screen and the user guide list them.
        Binding("slash", "search", "Find in the output (in the list: filter the devices)", key_display="/", show=False),
        Binding("n", "search_step(True)", "Next match (in a filtered list: next device)", show=False),
        Binding("N", "search_step(False)", "Previous match (in a filtered list: previous device)", show=False),
        Binding("escape", "close_search", "Close the search", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"results-view--match", "results-view--match-current"}

    DEFAULT_CSS = """
    CommandResultsView {
        height: 1fr;
    }
    CommandResultsView #result-progress {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    CommandResultsView #result-body {
        height: 1fr;
    }
    CommandResultsView #result-list {
        width: auto;
        max-width: 50%;
        height: 1fr;
    }
    CommandResultsView #result-detail {
        width: 1fr;
        height: 1fr;
        padding-left: 1;
    }
    CommandResultsView #result-heading {
        height: auto;
        max-height: 6;
    }
    CommandResultsView #result-output {
        height: 1fr;
        background: $surface;
    }
    CommandResultsView #result-search {
        height: 1;
        display: none;
        background: $panel;
    }
    CommandResultsView #result-search.-open {
        display: block;
    }
    CommandResultsView #result-search-label {
        width: auto;
        padding: 0 0 0 1;
        color: $text-muted;
    }
    CommandResultsView #result-search-input {
        width: 1fr;
        display: none;
    }
    CommandResultsView #result-search.-editing #result-search-input {
        display: block;
    }
    CommandResultsView #result-search-status {
        width: 1fr;
        padding: 0 1;
    }
    CommandResultsView #result-search.-editing #result-search-status {
        width: auto;
    }
    CommandResultsView > .results-view--match {
        background: $accent 35%;
    }
    CommandResultsView > .results-view--match-current {
        background: $accent;
        color: $text;
        text-style: bold;
    }
    """

    def __init__(
        self,
        run: CommandRun | None = None,
        *,
        state_dir: Path | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.run: CommandRun | None = run
        self.state_dir = state_dir
        self.grouped = False
        self.reference: str | None = None  # the device others are diffed against
        self.diff_style: DiffStyle = "unified"
        self._shown_results = 0
        self._shown_finished = False
        self._detail_version: tuple[object, ...] = ()
        self._timer: Timer | None = None
        # The output search (`/` in the output): its pattern, the matches in the text shown, and the current one.
        self.find: SearchPattern | None = None
        self._matches: list[TextMatch] = []
        self._match_index = 0
        self._shown_body: Text | None = None  # the output as drawn before highlighting (None: a side-by-side diff)
        # The list filter (`/` in the list): only devices (or groups) whose name or output holds it are listed.
        self.list_filter: SearchPattern | None = None
        self._search_target: SearchTarget = "output"  # what the open search line applies to
        self._notice = ""  # "search wrapped", "no match for …": on the search line until the next search key

    def compose(self) -> ComposeResult:
        yield Static("", id="result-progress")
        with Horizontal(id="result-body"):
            yield DataTable(id="result-list", cursor_type="row", zebra_stripes=False)
            with Vertical(id="result-detail"):
                yield Static("", id="result-heading")
                # Not wrapped: device tables keep their columns and scroll sideways.
                yield RichLog(
                    id="result-output", min_width=20, wrap=False, markup=False, highlight=False, auto_scroll=False
                )
        with Horizontal(id="result-search"):
            yield Static("", id="result-search-label")
            yield SearchInput(id="result-search-input", compact=True)
            yield Static("", id="result-search-status")

    def on_mount(self) -> None:
        self._add_columns()
        if self.run is not None:
            self.show_run(self.run)
        else:
            self._progress.update(Text("No command run yet.", style="dim"))

    def _add_columns(self) -> None:
        """Columns of fixed width, from the run's device names: rows streaming in never shift the list sideways
        (and a width measured after a row was drawn cannot leave that row drawn with the old one)."""
        table = self._table
        longest = max((len(device.name) for device in self.run.devices), default=14) if self.run else 14
        if self.grouped:
            table.add_column("devices", key="device", width=min(2 * longest + 2, MAX_LABEL_WIDTH))
            table.add_column("result", key="result", width=20)
            table.add_column("count", key="time", width=5)
        else:
            table.add_column("device", key="device", width=min(longest + len(REFERENCE_MARK), MAX_LABEL_WIDTH))
            table.add_column("result", key="result", width=15)
            table.add_column("time", key="time", width=8)

    @property
    def _table(self) -> DataTable[Text]:
        return self.query_one("#result-list", DataTable)

    @property
    def _progress(self) -> Static:
        return self.query_one("#result-progress", Static)

    @property
    def _output(self) -> RichLog:
        return self.query_one("#result-output", RichLog)

    # -- feeding ------------------------------------------------------------------------------------------------

    def show_run(self, run: CommandRun) -> None:
        """Start showing another run (a new run replaces the old one's rows; the settings stay)."""
        self.run = run
        if self.reference is not None and run.device(self.reference) is None:
            self.reference = None
        self._table.clear(columns=True)
        self._add_columns()
        self._shown_results = 0
        self._shown_finished = False
        self._detail_version = ()
        # A new run starts without a search: its devices and outputs are another story.
        self.find, self.list_filter, self._matches, self._notice = None, None, [], ""
        self._shown_body = None
        self._output.clear()
        self.query_one("#result-heading", Static).update("")
        self.sync()
        self._refresh_search_bar()
        if self._timer is None and not run.finished:
            self._timer = self.set_interval(SYNC_INTERVAL_S, self.sync)

    def sync(self) -> None:
        """Bring the list, progress line and output up to date with the run (cheap when nothing changed)."""
        run = self.run
        if run is None:
            return
        self._progress.update(safe_text(run.progress_line()))
        changed = len(run.results) != self._shown_results or run.finished != self._shown_finished
        if changed:
            with self.app.batch_update():
                if self.grouped:
                    self._sync_folds(run)
                else:
                    self._sync_devices(run)
            self._shown_results = len(run.results)
            self._shown_finished = run.finished
        self._show_selected()
        if run.finished and self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _sync_devices(self, run: CommandRun) -> None:
        table = self._table
        for result in run.results[self._shown_results :]:
            if not self._listed(result):
                if result.device in table.rows:
                    table.remove_row(result.device)
                continue
            label = safe_text(result.device)
            if result.device == self.reference:
                label.append(REFERENCE_MARK, style="cyan")
            if result.device in table.rows:
                table.update_cell(result.device, "result", status_cell(result))
                table.update_cell(result.device, "time", duration_text(result))
            else:
                table.add_row(label, status_cell(result), duration_text(result), key=result.device)

    def _sync_folds(self, run: CommandRun) -> None:
        """Group rows keyed by outcome: stale keys removed, changed cells updated, new groups added."""
        table = self._table
        groups = {group_key(group): group for group in group_identical(run.results) if self._group_listed(group)}
        for row_key in list(table.rows):
            if row_key.value not in groups:
                table.remove_row(row_key)
        for key, group in groups.items():
            label = Text(safe_plain(group.label), no_wrap=True, overflow="ellipsis")
            status, count = group_status_text(run, group), Text(f"{group.count}", justify="right")
            if key in table.rows:
                table.update_cell(key, "device", label)
                table.update_cell(key, "result", status)
                table.update_cell(key, "time", count)
            else:
                table.add_row(label, status, count, key=key)

    def _listed(self, result: CommandResult) -> bool:
        """Whether the list filter lets a device through: its name or its output (as shown) holds the text."""
        pattern = self.list_filter
        if pattern is None:
            return True
        return pattern.found_in(safe_plain(result.device)) or pattern.found_in(strip_control(result.output))

    def _group_listed(self, group: OutputGroup) -> bool:
        pattern = self.list_filter
        if pattern is None:
            return True
        return any(pattern.found_in(safe_plain(name)) for name in group.devices) or pattern.found_in(
            strip_control(group.output)
        )

    # -- the selected row ---------------------------------------------------------------------------------------

    def selected_key(self) -> str | None:
        table = self._table
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    def selected_group(self) -> OutputGroup | None:
        run, key = self.run, self.selected_key()
        if run is None or key is None or not self.grouped:
            return None
        return next((group for group in group_identical(run.results) if group_key(group) == key), None)

    def selected_result(self) -> CommandResult | None:
        """The result under the cursor (in the grouped list: the first of its group to answer)."""
        run, key = self.run, self.selected_key()
        if run is None or key is None:
            return None
        if self.grouped:
            group = self.selected_group()
            return representative(run, group) if group else None
        return run.result_for(key)

    @on(DataTable.RowHighlighted, "#result-list")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_selected()
        self._refresh_search_bar()  # "device 2/4" follows the cursor

    def _show_selected(self) -> None:
        run, key = self.run, self.selected_key()
        if run is None or key is None:
            return
        shown = (key, self.grouped, self.reference, self.diff_style)
        version = (*shown, len(run.results), self._output.size.width, self.find)
        if version == self._detail_version:
            return
        # The same output drawn again (more results came in, the view was resized): the current match stays.
        same_output = self._detail_version[:4] == shown
        self._detail_version = version
        heading = self.query_one("#result-heading", Static)
        output = self._output
        output.clear()
        self._shown_body = None
        if self.grouped:
            group = self.selected_group()
            first = representative(run, group) if group else None
            if group is None or first is None:
                self._refresh_search_bar()
                return
            heading.update(self._group_heading(group, first))
            self._show_text(self._body(first), keep_match=same_output)
            return
        result = run.result_for(key)
        if result is None:
            self._refresh_search_bar()
            return
        heading.update(self._result_heading(run, result))
        reference = run.result_for(self.reference) if self.reference else None
        if reference is not None and reference.device != result.device and result.ok and reference.ok:
            if self.diff_style == "unified":
                self._show_text(unified_diff(reference, result), keep_match=same_output)
            else:
                # Table cells are laid out by Rich: a match has no line of its own to scroll to, so it is not searched.
                self._matches = []
                output.write(side_by_side_diff(reference, result), expand=True)
                self._refresh_search_bar()
        else:
            self._show_text(self._body(result), keep_match=same_output)

    def _body(self, result: CommandResult) -> Text:
        if result.output:
            return safe_text(result.output)
        return Text("(no output)", style="dim")

    def _result_heading(self, run: CommandRun, result: CommandResult) -> Text:
        device = run.device(result.device)
        refused = result.refused
        heading = Text()
        # Device, site and role names come from the inventory: drawn inert, as the output is.
        heading.append_text(safe_text(result.device, style="bold"))
        if device is not None:
            heading.append(safe_plain(f"  {device.site} · {device.role} · {device.platform.label}"), style="dim")
        heading.append("  ")
        heading.append_text(status_text(result))
        if not refused:
            heading.append(f"  {result.duration_s:.2f} s", style="dim")
        heading.append("\n")
        heading.append_text(safe_text(result.command, style="italic"))
        if result.reason:
            heading.append("\n")
            heading.append_text(safe_text(result.reason, style="yellow" if refused else "red"))
        if refused:
            heading.append("\nNothing was sent. Ctrl+G lifts the guard for one run, after a typed confirmation.", "dim")
        if self.reference and self.reference != result.device:
            heading.append(
                safe_plain(f"\ndiff against {self.reference} ({self.diff_style}; r on it again: no diff)"), "cyan"
            )
        return heading

    def _group_heading(self, group: OutputGroup, first: CommandResult) -> Text:
        heading = Text()
        heading.append(safe_plain(group.label), style="bold")
        if group.count > 1:
            same = "identical output" if group.ok else "the same result"
            heading.append(f": {same} on {group.count} devices  ")
        else:
            heading.append("  ")
        heading.append_text(status_text(first))
        heading.append("\n")
        heading.append(safe_plain(", ".join(group.devices)), style="dim")
        if group.reason:
            heading.append("\n")
            heading.append_text(safe_text(group.reason, style="yellow" if first.refused else "red"))
        return heading

    # -- search -------------------------------------------------------------------------------------------------

    def _show_text(self, body: Text, *, keep_match: bool = False) -> None:
        """Draw `body` in the output with the search's matches highlighted; a new output starts at its first match."""
        self._shown_body = body
        if self.find is None:
            self._matches = []
            self._output.write(body, shrink=False)
            self._refresh_search_bar()
            return
        self._matches = find_matches(body.plain, self.find)
        if keep_match:
            self._match_index = min(self._match_index, max(len(self._matches) - 1, 0))
        else:
            self._match_index = 0
        self._draw_matches(scroll=not keep_match)

    def _draw_matches(self, *, scroll: bool) -> None:
        """Draw the shown output again with its highlights, where the reader was, then bring the current match in."""
        body, output = self._shown_body, self._output
        if body is None:
            return
        x, y = output.scroll_x, output.scroll_y
        output.clear()
        current = self._match_index if self._matches else None
        output.write(
            highlight(body, self._matches, self._match_style("match"), current, self._match_style("match-current")),
            shrink=False,
        )
        output.scroll_to(x, y, animate=False, immediate=True)
        if scroll and self._matches:
            self._scroll_to_match()
            # Before the log knows its size its writes wait for the first refresh: scroll again after it.
            self.call_after_refresh(self._scroll_to_match)
        self._refresh_search_bar()

    def _match_style(self, name: str) -> Style:
        # Not partial: a partial style drops the alpha of `$accent 35%`, drawing every match as the current one.
        return self.get_component_rich_style(f"results-view--{name}")

    def _scroll_to_match(self) -> None:
        if not self._matches:
            return
        match = self._matches[min(self._match_index, len(self._matches) - 1)]
        self._output.scroll_to_region(
            Region(match.column, match.line, match.width, 1),
            # A line above and below for context; sideways only as far as the match needs (a device table keeps
            # its first column in view while it can).
            spacing=Spacing(1, 0, 1, 0),
            animate=False,
            immediate=True,
        )

    def _focus_target(self) -> SearchTarget:
        return "output" if self.app.focused is self._output else "list"

    def _refresh_search_bar(self) -> None:
        """The search line: open while typing, or while a search or a filter holds, saying where it stands."""
        bar = self.query_one("#result-search", Horizontal)
        editing = bar.has_class("-editing")
        status = Text()
        table = self._table
        if self.list_filter is not None:
            status.append("filter ", style="bold")
            status.append(self.list_filter.text)
            position = table.cursor_row + 1 if table.row_count else 0
            status.append(f": device {position}/{table.row_count}")
        if self.find is not None:
            if status:
                status.append("   ")
            if self._shown_body is None and self._output.lines:
                status.append(f"/{self.find.text}: not searched in a side-by-side diff (v: unified)", style="dim")
            elif self._matches:
                status.append(f"/{self.find.text}", style="bold")
                status.append(f": match {self._match_index + 1}/{len(self._matches)}")
            else:
                status.append("no match for ", style="bold yellow")
                status.append(self.find.text)
        if self._notice:
            if status:
                status.append(" · ")
            status.append(self._notice, style="bold yellow")
        self.query_one("#result-search-status", Static).update(status)
        bar.set_class(editing or bool(status), "-open")

    def action_search(self) -> None:
        """Open the search line: in the output, find text in it; in the list, filter the devices."""
        target = self._focus_target()
        self._search_target = target
        bar = self.query_one("#result-search", Horizontal)
        search_input = self.query_one("#result-search-input", SearchInput)
        self.query_one("#result-search-label", Static).update(Text("/" if target == "output" else "filter /"))
        search_input.placeholder = (
            "text in this output (smart case, no regex): Enter finds, Esc closes"
            if target == "output"
            else "text in device names and outputs: Enter filters the list, Esc clears"
        )
        search_input.value = ""
        self._notice = ""
        bar.add_class("-open", "-editing")
        self._refresh_search_bar()
        search_input.focus()

    @on(Input.Submitted, "#result-search-input")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        target = self._search_target
        previous = self.find if target == "output" else self.list_filter
        text = event.value or (previous.text if previous is not None else "")  # Enter alone: the last search again
        self._end_editing(target)
        if not text:
            self._refresh_search_bar()
            return
        if target == "output":
            self.search_output(text)
        else:
            self.filter_list(text)

    def cancel_search_input(self) -> None:
        """Escape on the search line: close it, and clear the search it was for."""
        target = self._search_target
        self._end_editing(target)
        self._clear(target)

    def _end_editing(self, target: SearchTarget) -> None:
        self.query_one("#result-search", Horizontal).remove_class("-editing")
        self.query_one("#result-search-label", Static).update("")  # the status line says what was searched
        (self._output if target == "output" else self._table).focus()

    def search_output(self, text: str) -> None:
        """Highlight every match of `text` in the output and bring the first one at or below the top of it in."""
        self.find = SearchPattern(text)
        self._notice = ""
        self._detail_version = (*self._detail_version[:6], self.find)  # this output, now searched: no redraw
        body = self._shown_body
        self._matches = find_matches(body.plain, self.find) if body is not None else []
        self._match_index = first_at_or_after(self._matches, round(self._output.scroll_y))
        if body is None:
            self._refresh_search_bar()
            return
        self._draw_matches(scroll=True)

    def filter_list(self, text: str) -> None:
        """List only the devices (or groups) whose name or output holds `text`, and find it in their outputs.

        When nothing holds it, the list is left as it was and the search line says so: an empty list would show
        nothing, not even what was there before.
        """
        run, pattern = self.run, SearchPattern(text)
        self._notice = ""
        if run is None:
            return
        found = any(
            pattern.found_in(safe_plain(r.device)) or pattern.found_in(strip_control(r.output)) for r in run.results
        )
        if not found:
            self._notice = f"no device matches {text}: the list is unchanged"
            self._refresh_search_bar()
            return
        self.list_filter = pattern
        self.find = pattern
        self._relist()

    def _relist(self) -> None:
        """Build the list again for a new filter, keeping the cursor on the same row when it is still listed."""
        selected = self.selected_key()
        self._table.clear()
        self._shown_results = 0
        self._shown_finished = False
        self._detail_version = ()
        self.sync()
        table = self._table
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected), animate=False)
        self._show_selected()
        self._refresh_search_bar()

    def _clear(self, target: SearchTarget) -> None:
        self._notice = ""
        if target == "list" and self.list_filter is not None:
            if self.find == self.list_filter:
                self.find = None
            self.list_filter = None
            self._relist()
            return
        self.find = None
        self._matches = []
        self._detail_version = (*self._detail_version[:6], None)
        self._draw_matches(scroll=False)
        self._refresh_search_bar()

    def action_search_step(self, forward: bool) -> None:
        """n / N: the next or previous match in the output; in a filtered list, the next or previous device."""
        table = self._table
        self._notice = ""
        if self._focus_target() == "list" and self.list_filter is not None and table.row_count:
            row, wrapped = step(table.cursor_row, table.row_count, forward)
            table.move_cursor(row=row, animate=False)
        elif self.find is not None and self._matches:
            self._match_index, wrapped = step(self._match_index, len(self._matches), forward)
            self._draw_matches(scroll=True)
        elif self.find is not None:
            self._refresh_search_bar()  # "no match for …" again
            return
        else:
            raise SkipAction()
        if wrapped:
            self._notice = "search wrapped"
            self.notify("search wrapped", timeout=2, markup=False)
        self._refresh_search_bar()

    def action_close_search(self) -> None:
        """Escape: clear the search where the focus is (the output's highlights, or the list's filter)."""
        if self._focus_target() == "output":
            order: tuple[SearchTarget, ...] = ("output", "list")
        else:
            order = ("list", "output")
        for target in order:
            if (self.find if target == "output" else self.list_filter) is not None:
                self._clear(target)
                return
        raise SkipAction()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("search_step", "close_search"):
            # Without a search, Escape goes on to the pane (cancel the run) or the screen (back).
            return self.find is not None or self.list_filter is not None
        return True

    # -- actions ------------------------------------------------------------------------------------------------

    def action_toggle_grouped(self) -> None:
        """Fold identical outputs together, or list every device."""
        self.grouped = not self.grouped
        # A mode switch rebuilds the list on purpose: the row keys and the last column differ between modes.
        self._table.clear(columns=True)
        self._add_columns()
        self._shown_results = 0
        self._shown_finished = False
        self._detail_version = ()
        self.sync()
        self.notify("identical outputs folded" if self.grouped else "one row per device", timeout=2, markup=False)

    def action_set_reference(self) -> None:
        """Make the selected device the one the others are diffed against (again on it: no diff)."""
        result = self.selected_result()
        if result is None or self.grouped:
            self.notify("pick a device in the per-device list (g) to diff against", severity="warning", markup=False)
            return
        previous = self.reference
        self.reference = None if previous == result.device else result.device
        for name in (previous, self.reference):
            if name is not None and name in self._table.rows:
                label = safe_text(name)
                if name == self.reference:
                    label.append(REFERENCE_MARK, style="cyan")
                self._table.update_cell(name, "device", label)
        self._detail_version = ()
        self._show_selected()
        if self.reference:
            self.notify(f"other devices are now diffed against {self.reference}", timeout=3, markup=False)

    def action_toggle_diff_style(self) -> None:
        """Switch the diff between unified and side by side."""
        self.diff_style = "side-by-side" if self.diff_style == "unified" else "unified"
        self._detail_version = ()
        self._show_selected()

    def action_copy_output(self) -> None:
        """Copy the selected device's output to the clipboard (OSC 52)."""
        result = self.selected_result()
        if result is None:
            self.notify("nothing to copy yet", severity="warning", markup=False)
            return
        try:
            size = copy_to_clipboard(self.app, result.output)
        except ClipboardTooLarge as error:
            self.notify(str(error), severity="warning", markup=False)
            return
        hint = tmux_hint()
        self.notify(
            f"copied {size} bytes of {result.device}'s output" + (f" ({hint})" if hint else ""), timeout=3, markup=False
        )

    def action_save(self) -> None:
        """Save every result to a folder (asks where; the state dir by default)."""
        run = self.run
        if run is None or not run.results:
            self.notify("no results to save yet", severity="warning", markup=False)
            return
        base = self.state_dir or Path.cwd()
        default = run.saved_to or default_save_dir(base, run.command, run.started)

        def chosen(folder: Path | None) -> None:
            if folder is not None:
                self.save_to(folder)

        self.app.push_screen(SaveResultsScreen(default), chosen)

    def save_to(self, folder: Path) -> Path | None:
        """Write one file per device and summary.json into `folder`; the path, or None (with a notice) on failure."""
        run = self.run
        if run is None:
            return None
        summary = summarise(run.results, elapsed_s=run.elapsed_s(), command=run.command)
        details = {
            device.name: {"site": device.site, "platform": device.platform.value, "role": device.role}
            for device in run.devices
        }
        try:
            write_out_dir(folder, run.results, summary, details=details)
        except OSError as error:
            self.notify(f"could not save to {folder}: {error.strerror or error}", severity="error", markup=False)
            return None
        run.saved_to = folder
        self._progress.update(safe_text(run.progress_line()))
        self.notify(f"saved {len(run.results)} results to {folder}", timeout=5, markup=False)
        return folder
