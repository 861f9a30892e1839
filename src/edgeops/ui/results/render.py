"""Rich texts of a command run: result statuses, durations and diffs against a reference device (device text safe)."""

from __future__ import annotations

import difflib
from typing import Literal

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from edgeops.devices.samples import CommandResult
from edgeops.fleet.results import OutputGroup, diff_against
from edgeops.ui.results.model import CommandRun, representative
from edgeops.ui.sanitize import strip_control

# Beyond this many lines a diff is cut short: a terminal is no place to read a 50 000-line diff, a saved folder is.
MAX_DIFF_LINES = 5000
DiffStyle = Literal["unified", "side-by-side"]


def status_text(result: CommandResult | None) -> Text:
    """The status as the output heading shows it: ok, refused (rule ...), or failed (class)."""
    if result is None:
        return Text("…", style="dim")
    if result.ok:
        return Text("ok", style="green")
    if result.refused:
        rule = result.guard_rule
        return Text(f"refused (rule {rule})" if rule else "refused", style="bold yellow")
    return Text(f"failed ({result.failure})" if result.failure else "failed", style="bold red")


def status_cell(result: CommandResult | None) -> Text:
    """The status in the list, kept short: ok, refused, or the failure class (timeout, connection-lost, ...)."""
    if result is None:
        return Text("…", style="dim")
    if result.ok:
        return Text("ok", style="green")
    if result.refused:
        return Text("refused", style="bold yellow")
    return Text(result.failure or "failed", style="bold red")


def group_status_text(run: CommandRun, group: OutputGroup) -> Text:
    """The status cell of a group: "identical (8)" for a shared output, else the members' status and count."""
    if group.ok and group.count > 1:
        return Text(f"identical ({group.count})", style="green")
    status = status_cell(representative(run, group))
    if group.count > 1:
        status.append(f" ({group.count})", style="bold")
    return status


def duration_text(result: CommandResult) -> Text:
    if result.refused:
        return Text("-", style="dim")
    return Text(f"{result.duration_s:.2f} s", justify="right")


# -- diffs ------------------------------------------------------------------------------------------------------


def _lines(output: str) -> list[str]:
    """Lines to compare, as results.diff_against reads them: trailing blanks are terminal padding, not output."""
    return [line.rstrip() for line in strip_control(output).strip("\n").splitlines()]


def unified_diff(reference: CommandResult, other: CommandResult) -> Text:
    """`other` against `reference` as a coloured unified diff (the one `edgeops run --diff` prints)."""
    diff = diff_against([reference, other], reference.device).get(other.device, "")
    if not diff:
        return Text(f"identical to {reference.device}", style="green")
    lines = strip_control(diff).splitlines()
    text = Text()
    for line in lines[:MAX_DIFF_LINES]:
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        else:
            style = ""
        text.append(line + "\n", style=style)
    if len(lines) > MAX_DIFF_LINES:
        text.append(f"… {len(lines) - MAX_DIFF_LINES} more diff lines: save the results to read them all\n", "dim")
    return text


def side_by_side_diff(reference: CommandResult, other: CommandResult) -> RenderableType:
    """Two columns, reference left and `other` right, with changed lines coloured."""
    left, right = _lines(reference.output), _lines(other.output)
    if left == right:
        return Text(f"identical to {reference.device}", style="green")
    table = Table(expand=True, show_edge=False, box=None, padding=(0, 1))
    table.add_column(Text(reference.device, style="bold"), ratio=1, overflow="fold")
    table.add_column(Text(other.device, style="bold"), ratio=1, overflow="fold")
    rows = 0
    for tag, left_start, left_end, right_start, right_end in difflib.SequenceMatcher(
        None, left, right, autojunk=False
    ).get_opcodes():
        if tag == "equal":
            pairs = [(line, line, "dim", "dim") for line in left[left_start:left_end]]
        else:
            old, new = left[left_start:left_end], right[right_start:right_end]
            width = max(len(old), len(new))
            pairs = [
                (
                    old[index] if index < len(old) else "",
                    new[index] if index < len(new) else "",
                    "red",
                    "green",
                )
                for index in range(width)
            ]
        for old_line, new_line, old_style, new_style in pairs:
            if rows >= MAX_DIFF_LINES:
                table.add_row(Text("… cut short: save the results to read them all", "dim"), Text(""))
                return table
            table.add_row(Text(old_line, old_style), Text(new_line, new_style))
            rows += 1
    return table
