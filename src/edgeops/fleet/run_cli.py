"""`edgeops run COMMAND --target EXPR`: one command on many devices, each output as it arrives, then a summary."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from edgeops.paths import AppPaths

if TYPE_CHECKING:  # imported when a run starts, so `edgeops --help` stays quick
    from edgeops.devices.samples import CommandResult
    from edgeops.fleet.commands import CommandRunner, RunProgress
    from edgeops.fleet.results import RunSummary
    from edgeops.inventory.model import Device, Inventory, SecretRef

HELP = "Run one command on many devices and print the results"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3

LIVE_REDRAW_S = 0.25  # how often the live progress line redraws (its elapsed time moves even when nothing arrives)
PLAIN_PROGRESS_S = 10.0  # without a terminal, a progress line at most this often, and only for long runs
_HEADER = "==="
# JSON escapes C0 controls itself; C1 controls and line separators would still reach a terminal raw.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    # Only the standard library here: the top-level parser imports this module on every edgeops start.
    parser.description = (
        "Send one command (or an @alias) to every device a target expression selects, through the read-only "
        "guard, and print each device's output as it arrives. Exit status: 0 all ok, 1 some failed, "
        "2 usage or inventory error, 3 refused by the read-only guard."
    )
    parser.add_argument(
        "command",
        nargs="+",
        metavar="COMMAND",
        help="the command, e.g. 'show version' or @interfaces (quote it when it contains | or spaces)",
    )
    parser.add_argument(
        "-t",
        "--target",
        required=True,
        metavar="EXPR",
        help="which devices, e.g. 'site:alcala role:leaf', platform:sros, 'name:leaf*', all",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="per device, for connecting and for the command each (default 30)",
    )
    parser.add_argument(
        "--parallel", type=int, default=200, metavar="N", help="devices in flight at once (default 200)"
    )
    parser.add_argument(
        "--allow-config",
        action="store_true",
        help="lift the read-only guard for this run (recorded in the audit log)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per device (name, site, platform, command, ok, reason, duration_s, output)",
    )
    output.add_argument("--group", action="store_true", help="fold devices with identical output together")
    parser.add_argument(
        "--parse",
        action="store_true",
        help="with --json: also give each device's output read into rows (rows, rows_error), by the parsers "
        "edgeops polls with (ntc-templates for SR OS where one exists)",
    )
    output.add_argument("--diff", metavar="DEVICE", help="show each device's output as a diff against DEVICE's")
    parser.add_argument("--out", metavar="DIR", help="also write DIR/<device>.txt per device and DIR/summary.json")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    from edgeops.logging_setup import configure_logging

    configure_logging(paths.log_file, args.log_level)
    command = " ".join(args.command).strip()
    if not command:
        return _usage("no command given: e.g. edgeops run 'show version' --target all")
    if args.timeout <= 0:
        return _usage("--timeout must be a positive number of seconds")
    if args.parallel < 1:
        return _usage("--parallel must be at least 1")
    if args.parse and not args.json:
        return _usage("--parse goes with --json (each device's rows are a field of its JSON line)")
    from edgeops.inventory.cli import load_or_report

    inventory = load_or_report(paths.inventory)
    if inventory is None:
        return EXIT_USAGE
    return _run_loaded(args, paths, inventory, command)


def _run_loaded(args: argparse.Namespace, paths: AppPaths, inventory: Inventory, command: str) -> int:
    from edgeops.devices.hostkeys import KnownHosts
    from edgeops.fleet.aliases import AliasError
    from edgeops.fleet.audit import AuditLog
    from edgeops.fleet.commands import CommandRunner
    from edgeops.fleet.on_demand import OnDemandTransport, default_secret_resolver
    from edgeops.fleet.targets import TargetError, parse_targets
    from edgeops.inventory.problems import InventoryError

    try:
        devices = parse_targets(args.target).select(inventory)
    except TargetError as error:
        return _usage(str(error))
    if args.diff is not None and args.diff not in {device.name for device in devices}:
        return _usage(f"--diff {args.diff}: that device is not among the {len(devices)} device(s) the target selects")
    try:
        planned = CommandRunner.plan(command, devices, allow_config=args.allow_config)
    except AliasError as error:
        return _usage(str(error))
    if args.out is not None:
        try:
            Path(args.out).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            return _usage(f"--out {args.out}: {error.strerror or error}")
    to_send = [item.device for item in planned if item.allowed]
    prompt_cache: dict[str, str] = {}
    transport = OnDemandTransport(
        inventory,
        # A key recorded on first use is announced like OpenSSH's "Permanently added"; no terminal to ask on here.
        known_hosts=KnownHosts(paths.known_hosts, on_new_key=lambda event: print(event.describe(), file=sys.stderr)),
        resolve_password=default_secret_resolver(prompt_cache),
    )
    try:
        transport.prepare(to_send)
    except InventoryError as error:
        for problem in error.problems:
            print(problem.format(), file=sys.stderr)
        return EXIT_USAGE
    try:
        _ask_for_prompted_passwords(to_send, inventory, prompt_cache)
    except (EOFError, OSError) as error:
        return _usage(f"cannot ask for a password: {error}")
    printer = RunPrinter(
        devices,
        mode="json" if args.json else "group" if args.group else "diff" if args.diff else "stream",
        reference=args.diff,
        progress=not args.no_progress,
        parse=args.parse,
    )
    try:
        audit = AuditLog(paths.audit_log)
    except (OSError, ValueError) as error:
        return _usage(f"cannot open the audit log {paths.audit_log}: {error}")
    with audit:
        runner = CommandRunner(transport, audit=audit, timeout_s=args.timeout, max_parallel=args.parallel, source="run")
        started = time.monotonic()
        try:
            results = asyncio.run(_stream(runner, command, devices, args.allow_config, printer))
        except OSError as error:  # the audit log could not be written: stop rather than lose records
            printer.stop_progress()
            print(f"edgeops run: stopped: {error}", file=sys.stderr)
            return EXIT_FAILED
    from edgeops.fleet.results import summarise, write_out_dir

    summary = summarise(results, elapsed_s=time.monotonic() - started, command=command)
    printer.finish(results, summary)
    if args.out is not None:
        ordered = _in_inventory_order(results, devices)
        details = {item.device.name: _identity(item.device) | {"command": item.command} for item in planned}
        try:
            write_out_dir(args.out, ordered, summary, details=details)
        except OSError as error:
            print(f"edgeops run: cannot write {args.out}: {error}", file=sys.stderr)
            return EXIT_FAILED
    if summary.all_refused:
        return EXIT_REFUSED
    return EXIT_OK if summary.all_ok else EXIT_FAILED


async def _stream(
    runner: CommandRunner, command: str, devices: Sequence[Device], allow_config: bool, printer: RunPrinter
) -> list[CommandResult]:
    from edgeops.fleet.commands import RunProgress

    progress = RunProgress(total=len(devices))
    printer.start_progress(progress)
    results: list[CommandResult] = []
    try:
        async for result in runner.run(command, devices, allow_config=allow_config, progress=progress):
            results.append(result)
            printer.result(result)
    finally:
        printer.stop_progress()
        await runner.transport.aclose()
    return results


def _usage(message: str) -> int:
    print(f"edgeops run: {message}", file=sys.stderr)
    return EXIT_USAGE


def _ask_for_prompted_passwords(devices: Sequence[Device], inventory: Inventory, cache: dict[str, str]) -> None:
    """Ask for `prompt` passwords before the run starts, not in the middle of a progress line."""
    from edgeops.inventory.secrets import resolve_secret
    from edgeops.inventory.ssh_config import ssh_settings_for

    refs: dict[str, SecretRef] = {}
    for device in devices:
        wanted = [device.credentials.password]
        for hop in ssh_settings_for(device, inventory).proxy_jump:
            if hop.jump_host:
                credentials = inventory.jump_host(hop.jump_host).credentials
                wanted.append(credentials.password if credentials else None)
        for ref in wanted:
            if ref is not None and ref.kind == "prompt":
                refs.setdefault(ref.value, ref)
    for ref in refs.values():
        resolve_secret(ref, prompt_cache=cache)


def _identity(device: Device) -> dict[str, Any]:
    return {"site": device.site, "platform": device.platform.value}


def _in_inventory_order(results: Sequence[CommandResult], devices: Sequence[Device]) -> list[CommandResult]:
    position = {device.name: index for index, device in enumerate(devices)}
    return sorted(results, key=lambda result: position.get(result.device, len(position)))


def json_line(result: CommandResult, device: Device | None, *, parse: bool = False) -> str:
    """One device's result as the JSON line `--json` prints; with `parse`, also its output read into rows."""
    record: dict[str, Any] = {
        "name": result.device,
        "site": device.site if device else "",
        "platform": device.platform.value if device else "",
        "command": result.command,
        "ok": result.ok,
        "reason": result.reason,
        "failure": result.failure,
        "duration_s": round(max(result.duration_s, 0.0), 3),
        "output": result.output,
    }
    if parse:
        record["rows"], record["rows_error"] = _rows(result, device)
    text = json.dumps(record, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match[0]):04x}", text)


def _rows(result: CommandResult, device: Device | None) -> tuple[list[dict[str, Any]] | None, str]:
    """(rows, "") when the output parsed; (None, why not) otherwise. Failed commands have no output to read."""
    if not result.ok or device is None:
        return None, ""
    from edgeops.devices.parse_cli import NoParserForCommand, UnreadableOutput, parse_rows

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
            self.err.write("\r\x1b[2K" + self._status())
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
        from edgeops.fleet.results import is_guard_refusal

        self._clear()
        if self.mode == "json":
            self._write(json_line(result, self.devices.get(result.device), parse=self.parse) + "\n")
        elif self.mode == "stream":
            if is_guard_refusal(result):
                self._refusals.append(result)  # printed together: one line per reason, not one per device
            else:
                self._flush_refusals()
                self._write_device(result)
        if self.live:
            self._draw()

    def finish(self, results: Sequence[CommandResult], summary: RunSummary) -> None:
        """After the run: folded outputs or diffs, then the summary (to stderr in JSON mode)."""
        self._flush_refusals()
        ordered = _in_inventory_order(results, [self.devices[name] for name in self.order if name in self.devices])
        if self.mode == "group":
            self._write_groups(ordered)
        elif self.mode == "diff":
            self._write_diffs(ordered)
        lines = self._summary_lines(ordered, summary)
        if self.mode == "json":
            for line in lines:
                self._err_line(line)
        else:
            self._write("\n" + "\n".join(lines) + "\n")

    def _write_device(self, result: CommandResult) -> None:
        from edgeops.textsafety import strip_control

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
            self._write(self._header(f"REFUSED on {device_range_label(names)}") + "\n" + reason + "\n")

    def _write_groups(self, results: Sequence[CommandResult]) -> None:
        from edgeops.fleet.results import group_identical
        from edgeops.textsafety import strip_control

        for group in group_identical(results):
            count = f"{group.count} device{'' if group.count == 1 else 's'}"
            if group.ok:
                self._write(self._header(f"{count}: {group.label}") + "\n")
                text = strip_control(group.output)
                self._write(text if text.endswith("\n") or not text else text + "\n")
            else:
                self._write(self._header(f"{count} FAILED: {group.label}") + "\n" + _one_line(group.reason) + "\n")

    def _write_diffs(self, results: Sequence[CommandResult]) -> None:
        from edgeops.fleet.results import diff_against
        from edgeops.textsafety import strip_control

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
        from edgeops.fleet.results import is_guard_refusal

        sent_failures = [result for result in failed if not is_guard_refusal(result)]
        if sent_failures:
            lines.append("failed:")
            lines.extend(f"  {result.device}: {_one_line(result.reason)}" for result in sent_failures)
        if summary.refused:
            lines.append(f"refused by the read-only guard on {summary.refused} device(s); see the reason above")
        return lines

    # -- writing ----------------------------------------------------------------------------------------

    def _header(self, text: str) -> str:
        line = f"{_HEADER} {text}"
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
            self.err.write(text + "\n")
            self.err.flush()
        except (OSError, ValueError):
            pass


def _one_line(text: str) -> str:
    from edgeops.textsafety import strip_control

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
