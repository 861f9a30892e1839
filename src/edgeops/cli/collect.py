"""`edgeops collect --bus nats://HOST:4222`: the headless collector that shares the fleet with consoles on a bus;
`--status` shows which collector holds which device."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import signal
import sys
import time
from typing import TYPE_CHECKING, TextIO

from edgeops.cli.exit_codes import ExitCode
from edgeops.paths import AppPaths

if TYPE_CHECKING:  # imported when the command runs, so `edgeops --help` stays quick
    from edgeops.bus.collector import Collector
    from edgeops.bus.connection import BusSettings
    from edgeops.bus.leases import Ownership

HELP = "Collect the fleet for consoles on a NATS JetStream bus (edgeops --source nats://HOST:4222)"
ENV_BUS = "EDGEOPS_BUS"
STATUS_EVERY_S = 30.0


def configure_parser(parser: argparse.ArgumentParser) -> None:
    # Only the standard library here: the top-level parser imports this module on every edgeops start.
    parser.add_argument(
        "--bus",
        metavar="URL",
        help=f"the bus, nats://HOST:PORT or tls://HOST:PORT (env {ENV_BUS}); the login comes from EDGEOPS_BUS_USER "
        "and EDGEOPS_BUS_PASSWORD, EDGEOPS_BUS_NKEY or EDGEOPS_BUS_CREDS (see: edgeops help scale-out)",
    )
    parser.add_argument("--status", action="store_true", help="show which collector holds which device, and exit")
    parser.add_argument("--name", metavar="NAME", help="this collector's name on the bus (default: the host name)")
    parser.add_argument(
        "--lease-ttl",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="a device whose collector stops renewing is taken over within this time (default 15)",
    )
    parser.add_argument(
        "--allow-config",
        action="store_true",
        help="let consoles send configuration commands through this collector (its guard refuses them otherwise)",
    )


def bus_settings(url: str | None, err: TextIO | None = None) -> BusSettings | None:
    """The bus settings for `url`, or None after saying what is wrong with it (on `err`, by default stderr)."""
    err = err or sys.stderr
    from edgeops.bus.connection import BusSettings

    if not url:
        print(f"edgeops: name the bus with --bus nats://HOST:4222 (or set {ENV_BUS})", file=err)
        return None
    try:
        return BusSettings.from_url(url)
    except ValueError as error:
        print(f"edgeops: {error}", file=err)
        return None


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    import os

    settings = bus_settings(args.bus or os.environ.get(ENV_BUS))
    if settings is None:
        return ExitCode.USAGE
    if args.lease_ttl <= 0:
        print("edgeops collect: --lease-ttl must be a positive number of seconds", file=sys.stderr)
        return ExitCode.USAGE
    from edgeops.logging_setup import configure_logging

    configure_logging(paths.log_file, args.log_level)
    from edgeops.bus.connection import BusUnreachable

    try:
        if args.status:
            ownership = asyncio.run(_read_ownership(settings))
            print_ownership(ownership, sys.stdout)
            return ExitCode.OK
        from edgeops.cli.inventory import load_or_report

        inventory = load_or_report(paths.inventory)
        if inventory is None:
            return ExitCode.USAGE
        from edgeops.bus.collector import Collector, CollectorSettings
        from edgeops.bus.layout import Layout

        options = CollectorSettings(layout=Layout(lease_ttl_s=args.lease_ttl), allow_config=args.allow_config)
        if args.name:
            options = CollectorSettings(name=args.name, layout=options.layout, allow_config=args.allow_config)
        prompt = _ask_password if sys.stdin.isatty() else None
        collector = Collector(inventory, paths, settings, options, password_prompt=prompt)
        return asyncio.run(_collect(collector))
    except BusUnreachable as error:
        print(f"edgeops: {error}", file=sys.stderr)
        return ExitCode.USAGE


async def _ask_password(prompt: str) -> str:
    return await asyncio.to_thread(getpass.getpass, prompt)


async def _read_ownership(settings: BusSettings) -> Ownership:
    from nats.js.errors import BucketNotFoundError

    from edgeops.bus.connection import connect_bus
    from edgeops.bus.leases import Ownership, read_ownership
    from edgeops.bus.subjects import LEASE_BUCKET

    client = await connect_bus(settings, name="edgeops collect --status")
    try:
        try:
            kv = await client.jetstream().key_value(LEASE_BUCKET)
        except BucketNotFoundError:  # no collector has run on this bus yet
            return Ownership((), ())
        return await read_ownership(kv)
    finally:
        await client.close()


def print_ownership(ownership: Ownership, out: TextIO, now: float | None = None) -> None:
    """One line per device: who holds it, on which host, since when and how long ago it was renewed."""
    from edgeops.textsafety import strip_control

    now = time.time() if now is None else now
    if not ownership.leases:
        print("no collector holds any device", file=out)
    else:
        rows = [("DEVICE", "SITE", "COLLECTOR", "HOST", "HELD FOR", "RENEWED")]
        for lease in ownership.leases:
            rows.append(
                (
                    lease.device,
                    lease.site,
                    lease.collector,
                    lease.host,
                    f"{max(0.0, now - lease.since):.0f} s",
                    f"{max(0.0, now - lease.renewed):.0f} s ago",
                )
            )
        widths = [max(len(strip_control(row[i])) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print(
                "  ".join(strip_control(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(),
                file=out,
            )
        holders: dict[str, int] = {}
        for lease in ownership.leases:
            holders[lease.collector] = holders.get(lease.collector, 0) + 1
        summary = ", ".join(f"{strip_control(name)} {count}" for name, count in sorted(holders.items()))
        print(f"{len(ownership.leases)} devices held: {summary}", file=out)
    for conflict in ownership.conflicts:
        print(
            f"conflict: {strip_control(conflict.device)} is held by {strip_control(conflict.holder)} with other "
            f"credentials than {strip_control(conflict.collector)}'s (not taken over)",
            file=out,
        )


async def _collect(collector: Collector) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stopping.set)
    await collector.start()
    devices = len(collector.inventory.devices)
    print(
        f"edgeops collect: {collector.settings.name} on {collector.bus.shown_url}, {devices} devices in the inventory"
        " (Ctrl-C stops and hands the devices over)",
        file=sys.stderr,
    )
    try:
        while not stopping.is_set():
            try:
                await asyncio.wait_for(stopping.wait(), STATUS_EVERY_S)
            except TimeoutError:
                counts = collector.counts
                print(
                    f"edgeops collect: holding {len(collector.held)} of {devices} devices, "
                    f"{counts.messages} messages ({counts.events} events) published, "
                    f"{counts.publish_errors} not published",
                    file=sys.stderr,
                )
    finally:
        await collector.stop()
    return ExitCode.OK


def reach_bus(url: str, err: TextIO | None = None) -> BusSettings | None:
    """The settings of a bus that answers now, or None after saying which URL did not answer, and why."""
    err = err or sys.stderr
    settings = bus_settings(url, err)
    if settings is None:
        return None
    from edgeops.bus.connection import BusUnreachable, probe_bus

    try:
        asyncio.run(probe_bus(settings))
    except BusUnreachable as error:
        print(f"edgeops: {error}", file=err)
        return None
    return settings
