"""`edgeops telemetry status [TARGET]`: connect, wait until every device's subscription groups settle, print them."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from edgeops.cli.exit_codes import ExitCode
from edgeops.paths import AppPaths
from edgeops.textsafety import json_text

if TYPE_CHECKING:  # imported when the command runs, so `edgeops --help` stays quick
    from edgeops.fleet.engine import FleetEngine
    from edgeops.fleet.store import FleetStore, SubscriptionStatus
    from edgeops.inventory.model import Device, Inventory

HELP = "Show the gNMI subscription groups of devices: live, refused, polled over SSH"


SETTLE_POLL_S = 0.2
# JSON escapes C0 controls itself; C1 controls and line separators would still reach a terminal raw.
_GOOD_STATES = ("live", "no-paths")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    # Only the standard library here: the top-level parser imports this module on every edgeops start.
    actions = parser.add_subparsers(dest="telemetry_action", metavar="ACTION")
    status = actions.add_parser(
        "status",
        help="connect, wait until every device's subscription groups settle, and print them",
        description=(
            "Connect to the devices TARGET selects (as the console does), wait until each device's gNMI "
            "subscription groups (counters, oper-state, health, alarms) have an answer, or --timeout, and print "
            "each group's state, mode, interval, data age and the device's own error text. Exit status: 0 every "
            "group live, 1 a group refused, polled over SSH, stale or down, or a device not reached, 2 usage or "
            "inventory error, 3 timed out before every group settled."
        ),
    )
    status.add_argument(
        "target",
        nargs="?",
        default="all",
        metavar="TARGET",
        help="which devices, e.g. 'site:alcala role:leaf', platform:sros, alcala-leaf1 (default: all)",
    )
    status.add_argument("--json", action="store_true", help="one JSON object per device and group")
    from edgeops.cli.main import add_path_options  # the parser is being built: edgeops.cli is loaded already

    add_path_options(status, on_subcommand=True)  # `edgeops telemetry status --inventory FILE` reads naturally
    status.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for every group to settle (default 30)",
    )


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    if getattr(args, "telemetry_action", None) != "status":
        print("edgeops telemetry: give an action: status (see edgeops telemetry status --help)", file=sys.stderr)
        return ExitCode.USAGE
    if args.timeout <= 0:
        return _usage("--timeout must be a positive number of seconds")
    from edgeops.logging_setup import configure_logging

    configure_logging(paths.log_file, args.log_level)
    from edgeops.cli.inventory import load_or_report
    from edgeops.fleet.targets import TargetError, parse_targets

    inventory = load_or_report(paths.inventory)
    if inventory is None:
        return ExitCode.USAGE
    try:
        devices = parse_targets(args.target).select(inventory)
    except TargetError as error:
        return _usage(str(error))
    chosen = dataclasses.replace(inventory, devices=tuple(devices))
    rows, settled = asyncio.run(collect_status(chosen, paths, timeout_s=args.timeout))
    printer = StatusPrinter(sys.stdout, sys.stderr)
    if args.json:
        printer.json_lines(rows)
    else:
        printer.table(rows)
    printer.summary(rows, settled=settled, timeout_s=args.timeout, to_stderr=args.json)
    if not settled:
        return ExitCode.TIMEOUT
    return ExitCode.OK if all(row.state in _GOOD_STATES for row in rows) else ExitCode.INCOMPLETE


def _usage(message: str) -> int:
    print(f"edgeops telemetry status: {message}", file=sys.stderr)
    return ExitCode.USAGE


@dataclass(frozen=True)
class StatusRow:
    """One subscription group of one device, as printed."""

    device: str
    site: str
    platform: str
    group: str
    state: str  # a SubscriptionState value
    mode: str
    interval_s: float
    paths: tuple[str, ...]
    last_data: float | None  # unix time
    age_s: float | None
    error: str  # the device's own text when it refused the group
    error_code: str
    release: str
    gnmi: str  # the device's gNMI session state, and why when it is not up
    gnmi_detail: str
    telemetry: str | None  # where its data comes from: gnmi, ssh, or nowhere yet

    def record(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"paths": list(self.paths)}


async def collect_status(
    inventory: Inventory, paths: AppPaths, *, timeout_s: float, engine: FleetEngine | None = None
) -> tuple[list[StatusRow], bool]:
    """Run the engine on the inventory until every device's groups settled (True) or `timeout_s` passed (False);
    the rows as the store has them then, in inventory and group order."""
    from edgeops.fleet.engine import FleetEngine

    if engine is None:
        engine = FleetEngine(inventory, paths, password_prompt=_ask_password)
    names = [device.name for device in inventory.devices]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    async with engine:
        store = engine.store
        while not all(device_settled(store, name) for name in names):
            if loop.time() >= deadline:
                break
            await asyncio.sleep(SETTLE_POLL_S)
        settled = all(device_settled(store, name) for name in names)
        rows = [row for device in inventory.devices for row in status_rows(store, device)]
    return rows, settled


def _ask_password(prompt: str) -> str:
    # Asked once per prompt label (the engine shares the answer); the loop waits meanwhile, as nothing else matters.
    return getpass.getpass(prompt)


def device_settled(store: FleetStore, name: str) -> bool:
    """Every group has an answer (live, refused, polled, no paths), or neither transport can give one: both
    sessions failed (down, unreachable, a rejected login or host key)."""
    from edgeops.devices.samples import DeviceState

    groups = store.subscriptions(name)
    if groups and all(group.state.settled for group in groups):
        return True
    state = store.device(name).state
    return state in (
        DeviceState.DOWN,
        DeviceState.UNREACHABLE,
        DeviceState.AUTH_FAILED,
        DeviceState.HOSTKEY_MISMATCH,
    )


def status_rows(store: FleetStore, device: Device) -> list[StatusRow]:
    """The device's groups; a device never connected shows its platform's groups, not subscribed ("down")."""
    snapshot = store.device(device.name)
    groups: Sequence[SubscriptionStatus] = store.subscriptions(device.name)
    common: dict[str, Any] = {
        "device": device.name,
        "site": device.site,
        "platform": device.platform.value,
        "gnmi": snapshot.gnmi.value,
        "gnmi_detail": snapshot.gnmi_detail,
        "telemetry": snapshot.telemetry_source,
    }
    if not groups:
        from edgeops.devices.gnmi_paths import native_path_map

        return [
            StatusRow(
                group=spec.name,
                state="down" if spec.paths else "no-paths",
                mode=spec.mode.value,
                interval_s=spec.interval_s,
                paths=spec.paths,
                last_data=None,
                age_s=None,
                error="",
                error_code="",
                release="",
                **common,
            )
            for spec in native_path_map(device.platform).subscriptions()
        ]
    return [
        StatusRow(
            group=group.group,
            state=group.state.value,
            mode=group.mode,
            interval_s=group.interval_s,
            paths=group.paths,
            last_data=group.last_data,
            age_s=None if group.age_s is None else round(group.age_s, 3),
            error=group.error,
            error_code=group.rejection.code if group.rejection is not None else "",
            release=group.release,
            **common,
        )
        for group in groups
    ]


class StatusPrinter:
    """Writes rows to a terminal or a pipe: a table, or JSON lines; device text always inert."""

    COLUMNS = (("DEVICE", 16), ("GROUP", 11), ("STATE", 9), ("MODE", 15), ("EVERY", 6), ("DATA", 8))

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err

    def json_lines(self, rows: Sequence[StatusRow]) -> None:
        for row in rows:
            self.out.write(json_text(row.record()) + "\n")
        self.out.flush()

    def table(self, rows: Sequence[StatusRow]) -> None:
        from edgeops.textsafety import strip_control

        header = "".join(label.ljust(width) for label, width in self.COLUMNS) + "DEVICE ERROR / WHY"
        lines = [header.rstrip()]
        for row in rows:
            why = row.error or ("" if row.gnmi == "up" or row.state in _GOOD_STATES else row.gnmi_detail)
            cells = (
                strip_control(row.device),
                row.group,
                row.state,
                row.mode,
                f"{row.interval_s:g}s" if row.interval_s else "-",
                "-" if row.age_s is None else f"{row.age_s:.0f}s ago",
            )
            fitted = (cell.ljust(width - 1)[: width - 1] for cell, (_, width) in zip(cells, self.COLUMNS, strict=True))
            line = "".join(cell + " " for cell in fitted)
            lines.append((line + " ".join(strip_control(why).split())).rstrip())
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()

    def summary(self, rows: Sequence[StatusRow], *, settled: bool, timeout_s: float, to_stderr: bool) -> None:
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.state] = counts.get(row.state, 0) + 1
        devices = len({row.device for row in rows})
        figures = ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))
        line = f"{devices} device{'s' if devices != 1 else ''}, {len(rows)} groups: {figures or 'none'}"
        if not settled:
            line += f" (timed out after {timeout_s:g} s: some groups had no answer yet)"
        stream = self.err if to_stderr else self.out
        stream.write(("" if to_stderr else "\n") + line + "\n")
        stream.flush()
