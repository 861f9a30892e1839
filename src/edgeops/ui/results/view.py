"""The results of one command run: the list (per device, or folded by identical output) beside the selected output."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, RichLog, Static

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
from edgeops.ui.sanitize import safe_plain, safe_text

# The view pulls new results at most this often while a run is going (results may arrive by the hundred).
SYNC_INTERVAL_S = 0.25
REFERENCE_MARK = " (ref)"
# Group labels longer than this are cut in the list; the output heading lists every device.
MAX_LABEL_WIDTH = 40


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
    ]

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
        self._output.clear()
        self.query_one("#result-heading", Static).update("")
        self.sync()
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
        groups = {group_key(group): group for group in group_identical(run.results)}
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

    def _show_selected(self) -> None:
        run, key = self.run, self.selected_key()
        if run is None or key is None:
            return
        version = (key, self.grouped, self.reference, self.diff_style, len(run.results), self._output.size.width)
        if version == self._detail_version:
            return
        self._detail_version = version
        heading = self.query_one("#result-heading", Static)
        output = self._output
        output.clear()
        if self.grouped:
            group = self.selected_group()
            first = representative(run, group) if group else None
            if group is None or first is None:
                return
            heading.update(self._group_heading(group, first))
            output.write(self._body(first), shrink=False)
            return
        result = run.result_for(key)
        if result is None:
            return
        heading.update(self._result_heading(run, result))
        reference = run.result_for(self.reference) if self.reference else None
        if reference is not None and reference.device != result.device and result.ok and reference.ok:
            if self.diff_style == "unified":
                output.write(unified_diff(reference, result), shrink=False)
            else:
                output.write(side_by_side_diff(reference, result), expand=True)
        else:
            output.write(self._body(result), shrink=False)

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
