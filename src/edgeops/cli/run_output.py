"""What `edgeops run` writes: results on stdout as they arrive (or folded at the end), progress on stderr.

`RunPrinter` takes its two streams, so a test drives it on StringIO objects exactly as the command does on a terminal.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from edgeops.redaction import redact
from edgeops.textsafety import escape_control, json_text, strip_control

if TYPE_CHECKING:  # imported when a run starts, so `edgeops --help` stays quick
    from edgeops.devices.samples import CommandResult
    from edgeops.fleet.progress import RunProgress
    from edgeops.fleet.results import RunSummary
    from edgeops.inventory.model import Device

LIVE_REDRAW_S = 0.25  # how often the live progress line redraws (its elapsed time moves even when nothing arrives)
PLAIN_PROGRESS_S = 10.0  # without a terminal, a progress line at most this often, and only for long runs
_HEADER = "==="
# JSON escapes C0 controls itself; C1 controls and line separators would still reach a terminal raw.


def in_inventory_order(results: Sequence[CommandResult], devices: Sequence[Device]) -> list[CommandResult]:
    position = {device.name: index for index, device in enumerate(devices)}
    return sorted(results, key=lambda result: position.get(result.device, len(position)))


# `edgeops run --format`: text (headers and outputs, or --group / --diff), or one record per device in a machine
# format (json lines, a YAML list, CSV rows), or a table of outcomes. Machine formats put the summary on stderr.
FORMATS = ("text", "json", "yaml", "csv", "table")
MACHINE_FORMATS = ("json", "yaml", "csv")
RECORD_FIELDS = ("name", "site", "platform", "command", "ok", "reason", "failure", "duration_s", "output")


def json_line(result: CommandResult, device: Device | None, *, parse: bool = False) -> str:
    """One device's result as the JSON line `--json` prints; with `parse`, also its output read into rows."""
    return json_text(result_record(result, device, parse=parse))


def result_record(result: CommandResult, device: Device | None, *, parse: bool = False) -> dict[str, Any]:
    """One device's result as the record every machine format prints (secrets redacted)."""
    record: dict[str, Any] = {
        "name": result.device,
        "site": device.site if device else "",
        "platform": device.platform.value if device else "",
        "command": redact(result.command),
        "ok": result.ok,
        "reason": redact(result.reason),
        "failure": result.failure or "",
        "duration_s": round(max(result.duration_s, 0.0), 3),
        "output": redact(result.output),
    }
    if parse:
        record["rows"], record["rows_error"] = _rows(result, device)
    return record


def yaml_item(record: dict[str, Any]) -> str:
    """A record as one item of a YAML list: items printed one after another make one list, so YAML streams too."""
    import io

    from ruamel.yaml import YAML
    from ruamel.yaml.scalarstring import LiteralScalarString

    yaml = YAML(typ="rt", pure=True)
    yaml.width = 4096
    shown = {key: _inert(value) for key, value in record.items()}
    output = shown.get("output")
    if isinstance(output, str) and "\n" in output:
        shown["output"] = LiteralScalarString(output)  # as the device printed it, one line per line
    buffer = io.StringIO()
    yaml.dump([shown], buffer)
    return buffer.getvalue()


def csv_row(values: Sequence[Any]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([_inert(value) for value in values])
    return buffer.getvalue()


def _inert(value: Any) -> Any:
    """Strings without terminal controls (a device's output may hold any byte); numbers and rows as they are."""
    if isinstance(value, str):
        return strip_control(str(value))  # str(): a plain string, also for a StrEnum (a failure code)
    if isinstance(value, list):
        return [_inert(item) for item in value]
    if isinstance(value, dict):
        return {key: _inert(item) for key, item in value.items()}
    return value


def _rows(result: CommandResult, device: Device | None) -> tuple[list[dict[str, Any]] | None, str]:
    """(rows, "") when the output parsed; (None, why not) otherwise. Failed commands have no output to read."""
    if not result.ok or device is None:
        return None, ""
    from edgeops.cli.parse import NoParserForCommand, UnreadableOutput, parse_rows

    try:
        return parse_rows(device.platform, result.command, result.output), ""
    except (NoParserForCommand, UnreadableOutput) as error:
        return None, str(error)


class RunPrinter:
    """Writes a run to the terminal: results to stdout as they arrive (or folded at the end), progress to stderr."""

    def __init__(
        self,
        devices: Sequence[Device],
        *,
        mode: str = "stream",
        reference: str | None = None,
        progress: bool = True,
        parse: bool = False,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.devices = {device.name: device for device in devices}
        self.parse = parse
        self.order = [device.name for device in devices]
        self.mode = mode
        self.reference = reference
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.live = progress and _is_terminal(self.err)
        self.plain_progress = progress and not self.live
        self.bold = _is_terminal(self.out) and "NO_COLOR" not in os.environ
        self._progress: RunProgress | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._drawn = False
        self._last_plain = 0.0
        self._refusals: list[CommandResult] = []
        self._out_closed = False
        self._csv_header = False

    # -- progress ---------------------------------------------------------------------------------------

    def start_progress(self, progress: RunProgress) -> None:
        self._progress = progress
        self._last_plain = time.monotonic()
        if self.live or self.plain_progress:
            self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="progress line")

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(LIVE_REDRAW_S)
            if self.live:
                self._draw()
            elif time.monotonic() - self._last_plain >= PLAIN_PROGRESS_S and self._progress is not None:
                self._last_plain = time.monotonic()
                self._err_line(f"edgeops run: {self._status()}")

    def _status(self) -> str:
        progress = self._progress
        if progress is None:
            return ""
        text = f"{progress.line()}  ({progress.elapsed_s:.1f} s)"
        if progress.pending and progress.elapsed_s > 1.0 and len(progress.pending) <= 3:
            text += "  waiting for " + ", ".join(sorted(progress.pending))
        return text

    def _draw(self) -> None:
        try:
            self.err.write("\r\x1b[2K" + escape_control(self._status()))
            self.err.flush()
        except (OSError, ValueError):
            self.live = False
            return
        self._drawn = True

    def _clear(self) -> None:
        if self._drawn:
            try:
                self.err.write("\r\x1b[2K")
                self.err.flush()
            except (OSError, ValueError):
                self.live = False
            self._drawn = False

    def stop_progress(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self._clear()

    # -- results ----------------------------------------------------------------------------------------

    def result(self, result: CommandResult) -> None:
        self._clear()
        if self.mode == "json":
            self._write(json_line(result, self.devices.get(result.device), parse=self.parse) + "\n")
        elif self.mode == "yaml":
            self._write(yaml_item(result_record(result, self.devices.get(result.device), parse=self.parse)))
        elif self.mode == "csv":
            if not self._csv_header:
                self._csv_header = True
                self._write(csv_row(RECORD_FIELDS))
            record = result_record(result, self.devices.get(result.device))
            self._write(csv_row([record[field] for field in RECORD_FIELDS]))
        elif self.mode == "stream":
            if result.refused:
                self._refusals.append(result)  # printed together: one line per reason, not one per device
            else:
                self._flush_refusals()
                self._write_device(result)
        if self.live:
            self._draw()

    def finish(self, results: Sequence[CommandResult], summary: RunSummary) -> None:
        """After the run: folded outputs or diffs, then the summary (to stderr in JSON mode)."""
        self._flush_refusals()
        ordered = in_inventory_order(results, [self.devices[name] for name in self.order if name in self.devices])
        if self.mode == "group":
            self._write_groups(ordered)
        elif self.mode == "diff":
            self._write_diffs(ordered)
        elif self.mode == "table":
            self._write_table(ordered)
        lines = self._summary_lines(ordered, summary)
        if self.mode in MACHINE_FORMATS:
            for line in lines:
                self._err_line(line)
        else:
            self._write("\n" + "\n".join(escape_control(line) for line in lines) + "\n")

    def _write_device(self, result: CommandResult) -> None:
        self._write(self._header(self._describe(result)) + "\n")
        if result.output:
            text = strip_control(result.output)
            self._write(text if text.endswith("\n") else text + "\n")

    def _describe(self, result: CommandResult) -> str:
        device = self.devices.get(result.device)
        where = f" ({device.site}, {device.platform.label})" if device else ""
        if result.ok:
            return f"{result.device}{where}: ok, {result.duration_s:.2f} s"
        from edgeops.fleet.results import failure_class

        return f"{result.device}{where}: FAILED ({failure_class(result)}): {_one_line(result.reason)}"

    def _flush_refusals(self) -> None:
        if not self._refusals:
            return
        from edgeops.fleet.results import device_range_label

        by_reason: dict[str, list[str]] = {}
        for result in self._refusals:
            by_reason.setdefault(result.reason, []).append(result.device)
        self._refusals.clear()
        for reason, names in by_reason.items():
            self._write(self._header(f"REFUSED on {device_range_label(names)}") + "\n" + strip_control(reason) + "\n")

    def _write_groups(self, results: Sequence[CommandResult]) -> None:
        from edgeops.fleet.results import group_identical

        for group in group_identical(results):
            count = f"{group.count} device{'' if group.count == 1 else 's'}"
            if group.ok:
                self._write(self._header(f"{count}: {group.label}") + "\n")
                text = strip_control(group.output)
                self._write(text if text.endswith("\n") or not text else text + "\n")
            else:
                self._write(self._header(f"{count} FAILED: {group.label}") + "\n" + _one_line(group.reason) + "\n")

    def _write_table(self, results: Sequence[CommandResult]) -> None:
        """One row per device, in inventory order: where it is, how it went, how long it took, and why not."""
        from edgeops.fleet.results import failure_class

        rows = [("DEVICE", "SITE", "PLATFORM", "RESULT", "SECONDS", "REASON / FIRST LINE")]
        for result in results:
            device = self.devices.get(result.device)
            first = next((line.strip() for line in strip_control(result.output).splitlines() if line.strip()), "")
            rows.append(
                (
                    escape_control(result.device),
                    escape_control(device.site) if device else "",
                    device.platform.value if device else "",
                    "ok" if result.ok else failure_class(result),
                    f"{max(result.duration_s, 0.0):.2f}",
                    escape_control(first if result.ok else _one_line(result.reason)),
                )
            )
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            self._write("  ".join([*cells, row[-1]]).rstrip() + "\n")

    def _write_diffs(self, results: Sequence[CommandResult]) -> None:
        from edgeops.fleet.results import diff_against

        assert self.reference is not None
        try:
            diffs = diff_against(results, self.reference)
        except ValueError as error:
            self._err_line(f"edgeops run: --diff: {error}")
            return
        reference = next(result for result in results if result.device == self.reference)
        self._write(self._header(f"{self.reference} (reference)") + "\n")
        text = strip_control(reference.output)
        self._write(text if text.endswith("\n") or not text else text + "\n")
        identical = [name for name, diff in diffs.items() if not diff]
        if identical:
            from edgeops.fleet.results import device_range_label

            self._write(self._header(f"identical to {self.reference}: {device_range_label(identical)}") + "\n")
        for name, diff in diffs.items():
            if diff:
                self._write(self._header(f"{name}: differs from {self.reference}") + "\n")
                self._write(strip_control(diff) + "\n")

    def _summary_lines(self, results: Sequence[CommandResult], summary: RunSummary) -> list[str]:
        lines = [summary.headline()]
        if summary.slowest_line() and summary.total > 1:
            lines.append(summary.slowest_line())
        failed = [result for result in results if not result.ok]
        sent_failures = [result for result in failed if not result.refused]
        if sent_failures:
            lines.append("failed:")
            lines.extend(f"  {result.device}: {_one_line(result.reason)}" for result in sent_failures)
        if summary.refused:
            lines.append(f"refused by the read-only guard on {summary.refused} device(s); see the reason above")
        return lines

    # -- writing ----------------------------------------------------------------------------------------

    def _header(self, text: str) -> str:
        # A header names devices and sites from the inventory: their control characters are shown, not acted on.
        line = f"{_HEADER} {escape_control(text)}"
        return f"\x1b[1m{line}\x1b[0m" if self.bold else line

    def _write(self, text: str) -> None:
        if self._out_closed:
            return
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            # `edgeops run ... | head`: the reader left. The run goes on (and is audited); output stops.
            self._out_closed = True
            if self.out is sys.stdout:
                _silence_stdout()

    def _err_line(self, text: str) -> None:
        self._clear()
        try:
            self.err.write(escape_control(text) + "\n")
            self.err.flush()
        except (OSError, ValueError):
            pass


def _one_line(text: str) -> str:
    return " ".join(strip_control(text).split())


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise again (Python's own advice)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
