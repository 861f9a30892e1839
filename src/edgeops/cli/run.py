"""`edgeops run COMMAND --target EXPR`: one command on many devices, each output as it arrives, then a summary."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeops.cli.exit_codes import ExitCode
from edgeops.cli.run_output import RunPrinter, in_inventory_order
from edgeops.paths import AppPaths
from edgeops.textsafety import escape_control

if TYPE_CHECKING:  # imported when a run starts, so `edgeops --help` stays quick
    from edgeops.config import Settings
    from edgeops.devices.hostkeys import HostKeyEvent
    from edgeops.devices.samples import CommandResult
    from edgeops.fleet.commands import CommandRunner, PlannedCommand
    from edgeops.inventory.model import Device, Inventory, SecretRef

HELP = "Run one command on many devices and print the results"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    # Only the standard library here: the top-level parser imports this module on every edgeops start.
    parser.description = (
        "Send one command (or an @alias) to every device a target expression selects, through the read-only "
        "guard, and print each device's output as it arrives. Exit status: 0 all ok, 1 some failed, "
        "2 usage or inventory error, 3 refused by the read-only guard, 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP "
        "(commands in flight are cancelled and recorded in the audit log as such)."
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
        default=None,
        metavar="SECONDS",
        help="per device, for everything: connecting, logging in and the command together (default: command_timeout "
        "in config.toml, EDGEOPS_COMMAND_TIMEOUT, else 30). A connect_timeout set in config.toml or "
        "EDGEOPS_CONNECT_TIMEOUT caps the login within it",
    )
    parser.add_argument(
        "--max-output",
        type=int,
        default=16 * 1024 * 1024,  # edgeops.defaults.MAX_OUTPUT_BYTES (not imported here: --help stays quick)
        metavar="BYTES",
        help="per device: output past this many bytes is cut off, the result fails with output-limit and keeps "
        "the first BYTES (default 16 MiB)",
    )
    parser.add_argument(
        "--parallel", type=int, default=200, metavar="N", help="devices in flight at once (default 200)"
    )
    parser.add_argument(
        "--allow-config",
        action="store_true",
        help="lift the read-only guard for this run (recorded in the audit log)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "yaml", "csv", "table"),  # run_output.FORMATS
        default=None,
        help="text (default: output_format in config.toml, EDGEOPS_OUTPUT_FORMAT, else text); json: one object per "
        "line; yaml: a list; csv: a header and a row per device; table: one line per device. The record of each "
        "device: name, site, platform, command, ok, reason, failure, duration_s, output. Machine formats print the "
        "summary on stderr",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="the same as --format json")
    output.add_argument("--group", action="store_true", help="fold devices with identical output together")
    parser.add_argument(
        "--parse",
        action="store_true",
        help="with --format json or yaml: also give each device's output read into rows (rows, rows_error), by the "
        "parsers "
        "edgeops polls with (ntc-templates for SR OS where one exists)",
    )
    output.add_argument("--diff", metavar="DEVICE", help="show each device's output as a diff against DEVICE's")
    parser.add_argument("--out", metavar="DIR", help="also write DIR/<device>.txt per device and DIR/summary.json")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    from edgeops.logging_setup import configure_logging

    configure_logging(paths.log_file, args.log_level)
    command = " ".join(args.command).strip()
    args.timeout = args.settings.command_timeout  # the flag, else the environment, config.toml or the default
    output_format = args.settings.output_format  # likewise (--json is --format json)
    if args.json and args.format not in (None, "json"):
        return _usage(f"--json and --format {args.format} ask for two formats: give one")
    if (args.group or args.diff is not None) and output_format != "text":
        return _usage(f"--group and --diff print text; they do not go with --format {output_format}")
    if not command:
        return _usage("no command given: e.g. edgeops run 'show version' --target all")
    if args.timeout <= 0:
        return _usage("--timeout must be a positive number of seconds")
    if args.max_output < 1:
        return _usage("--max-output must be at least 1 byte")
    if args.parallel < 1:
        return _usage("--parallel must be at least 1")
    if args.allow_config and args.settings.readonly:
        readonly = args.settings["readonly"]
        print(
            escape_control(
                f"edgeops run: --allow-config refused: this session is read-only ({readonly.origin}); nothing was sent"
            ),
            file=sys.stderr,
        )
        return ExitCode.READ_ONLY
    if args.parse and output_format not in ("json", "yaml"):
        return _usage("--parse goes with --json or --format yaml (each device's rows are a field of its record)")
    from edgeops.cli.inventory import load_or_report

    inventory = load_or_report(paths.inventory)
    if inventory is None:
        return ExitCode.USAGE
    return _run_loaded(args, paths, inventory, command, output_format)


def _run_loaded(
    args: argparse.Namespace, paths: AppPaths, inventory: Inventory, command: str, output_format: str
) -> int:
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
        known_hosts=KnownHosts(paths.known_hosts, policy=args.settings.host_key_policy, on_new_key=_announce_host_key),
        resolve_password=default_secret_resolver(prompt_cache),
        max_output_bytes=args.max_output,
        # --timeout is each device's budget, login included; a connect_timeout the person set (EDGEOPS_CONNECT_TIMEOUT,
        # config.toml) caps the login inside it. The built-in one is the console's, never a cap under --timeout.
        connect_timeout_s=_connect_cap(args.settings),
    )
    try:
        transport.prepare(to_send)
    except InventoryError as error:
        for problem in error.problems:
            print(escape_control(problem.format()), file=sys.stderr)
        return ExitCode.USAGE
    try:
        _ask_for_prompted_passwords(to_send, inventory, prompt_cache)
    except (EOFError, OSError) as error:
        return _usage(f"cannot ask for a password: {error}")
    printer = RunPrinter(
        devices,
        mode=output_format if output_format != "text" else "group" if args.group else "diff" if args.diff else "stream",
        reference=args.diff,
        progress=not args.no_progress,
        parse=args.parse,
    )
    try:
        audit = AuditLog(paths.audit_log)
    except (OSError, ValueError) as error:
        return _usage(f"cannot open the audit log {paths.audit_log}: {error}")
    with audit:
        runner = CommandRunner(
            transport,
            audit=audit,
            timeout_s=args.timeout,
            max_parallel=args.parallel,
            source="run",
            # config.toml's [site.CODE] command_timeout, unless --timeout or the variable set one for all.
            timeout_for=lambda device: args.settings.command_timeout_for(device.site),
        )
        started = time.monotonic()
        try:
            results = asyncio.run(_stream(runner, command, devices, args.allow_config, printer))
        except StoppedBySignal as stop:
            _stopped_summary(stop, printer, planned, command, elapsed_s=time.monotonic() - started)
            return stop.exit_code
        except OSError as error:  # the audit log could not be written: stop rather than lose records
            printer.stop_progress()
            print(escape_control(f"edgeops run: stopped: {error}"), file=sys.stderr)
            return ExitCode.FAILED
    from edgeops.fleet.results import summarise, write_out_dir

    summary = summarise(results, elapsed_s=time.monotonic() - started, command=command)
    printer.finish(results, summary)
    if args.out is not None:
        ordered = in_inventory_order(results, devices)
        details = {item.device.name: _identity(item.device) | {"command": item.command} for item in planned}
        try:
            write_out_dir(args.out, ordered, summary, details=details)
        except OSError as error:
            print(escape_control(f"edgeops run: cannot write {args.out}: {error}"), file=sys.stderr)
            return ExitCode.FAILED
    if summary.all_refused:
        return ExitCode.REFUSED
    return ExitCode.OK if summary.all_ok else ExitCode.FAILED


async def _stream(
    runner: CommandRunner, command: str, devices: Sequence[Device], allow_config: bool, printer: RunPrinter
) -> list[CommandResult]:
    from edgeops.fleet.progress import RunProgress

    progress = RunProgress(total=len(devices))
    printer.start_progress(progress)
    results: list[CommandResult] = []
    received = _stop_on_signals()
    try:
        async for result in runner.run(command, devices, allow_config=allow_config, progress=progress):
            results.append(result)
            printer.result(result)
    except asyncio.CancelledError:
        if received:  # the runner has recorded its cancelled commands on the way out
            raise StoppedBySignal(received[0], results) from None
        raise
    finally:
        printer.stop_progress()
        await runner.transport.aclose()
    return results


# Ctrl-C (SIGINT), SIGTERM and SIGHUP stop a run the same way: nothing more is sent, the commands in flight are
# cancelled and recorded, and what was done so far is summarised before exiting.
STOP_SIGNALS = (
    {signal.SIGINT: ExitCode.INTERRUPTED, signal.SIGTERM: ExitCode.TERMINATED, signal.SIGHUP: ExitCode.HANGUP}
    if hasattr(signal, "SIGHUP")
    else {}
)


class StoppedBySignal(Exception):
    """The run was stopped by a signal (after recording what was in flight); `results` are those that came back."""

    def __init__(self, signum: int, results: Sequence[CommandResult] = ()) -> None:
        super().__init__(signum)
        self.signum = signum
        self.results = list(results)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> ExitCode:
        return STOP_SIGNALS[signal.Signals(self.signum)]


def _stop_on_signals() -> list[int]:
    """Cancel the current task on SIGTERM or SIGHUP (once: a second signal must not cut the recording short);
    returns the list the signal received is put in. The handlers go with the loop."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    received: list[int] = []

    def stop(signum: int) -> None:
        if not received and task is not None:
            received.append(signum)
            task.cancel()

    for signum in STOP_SIGNALS:
        # Only the main thread's loop can take signals (not a run started from a worker thread), nor Windows.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop, signum)
    return received


def _stopped_summary(
    stop: StoppedBySignal,
    printer: RunPrinter,
    planned: Sequence[PlannedCommand],
    command: str,
    *,
    elapsed_s: float,
) -> None:
    """What a stopped run did: the usual summary of the results that came back, then the devices not run."""
    from edgeops.fleet.results import device_range_label, summarise

    finished = {result.device for result in stop.results}
    printer.finish(stop.results, summarise(stop.results, elapsed_s=elapsed_s, command=command))
    not_run = [item.device.name for item in planned if item.device.name not in finished]
    done = sum(1 for result in stop.results if result.ok)
    failed = len(stop.results) - done
    line = f"edgeops run: stopped by {stop.name}: {done} done, {failed} failed, {len(not_run)} not run"
    if not_run:
        line += f" ({device_range_label(not_run)}; commands in flight recorded as cancelled)"
    print(escape_control(line), file=sys.stderr)


def _connect_cap(settings: Settings) -> float | None:
    """The login's own cap: connect_timeout when the person set it (variable or file), else None (the budget's)."""
    from edgeops.config import Source

    setting = settings["connect_timeout"]
    return None if setting.source is Source.DEFAULT else float(setting.value)


def _announce_host_key(event: HostKeyEvent) -> None:
    print(escape_control(event.describe()), file=sys.stderr)


def _usage(message: str) -> int:
    # Usage messages quote the user's targets and device names: shown escaped, never acted on by the terminal.
    print(escape_control(f"edgeops run: {message}"), file=sys.stderr)
    return ExitCode.USAGE


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
