"""`edgeops lab`: run the simulated device lab in the foreground, and inject faults into a running one."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeops.cli.exit_codes import ExitCode
from edgeops.lab.faults import FAULT_KINDS
from edgeops.paths import AppPaths

if TYPE_CHECKING:
    from edgeops.lab.runner import Lab

HELP = "Run the simulated device lab in the foreground, or inject faults into a running one"
STATUS_INTERVAL_S = 1.0
PIPE_STATUS_INTERVAL_S = 30.0  # when stdout is not a terminal, a status line at most this often
LAB_INVENTORY_HEADER = (
    "# edgeops inventory of the simulated device lab, written by `edgeops lab`.\n"
    "# It holds the lab's passwords as literals, which edgeops accepts only because this file is mode 0600.\n"
)


def write_lab_inventory(lab: Lab, path: Path) -> Path:
    """Write the lab's edgeops inventory file: the lab's Inventory (lab.inventory(), the one the demo uses without
    a file) written by inventory.dump, so the file loads back to that same Inventory. Mode 0600, written atomically:
    it holds the lab's literal passwords, which the loader accepts only from a file no one else may read."""
    # Imported here: the top-level parser imports this module on every edgeops start.
    from edgeops.files import write_private
    from edgeops.inventory.dump import dump_inventory

    text = LAB_INVENTORY_HEADER + dump_inventory(lab.inventory(), literal_passwords=True)
    return write_private(Path(path), text)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    # Only the standard library here: the top-level parser imports this module on every edgeops start.
    parser.add_argument(
        "--sites",
        metavar="N|CODES",
        help="number of sites (the 17 demo sites first, Tecno-Alcalá first) or site codes, comma-separated "
        "(default: the 17 demo sites)",
    )
    parser.add_argument("--devices-per-site", type=int, default=8, metavar="N", help="devices per site (default 8)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulated fleet (default 1)")
    parser.add_argument("--jump-only", action="store_true", help="devices reachable only through the lab's jump host")
    parser.add_argument("--lab-dir", metavar="DIR", help="lab directory (default: <state dir>/lab)")
    parser.add_argument(
        "--address-block",
        type=int,
        default=10,
        metavar="N",
        help="devices listen on 127.N.<site>.<n>, the jump host on 127.N.0.1 (default 10)",
    )
    parser.add_argument(
        "--ssh-port", type=int, metavar="PORT", help="SSH port of every device (default 22 as root, else 2222)"
    )
    parser.add_argument("--gnmi-port", type=int, metavar="PORT", help="gNMI port of every device (default 57400)")
    parser.add_argument(
        "--gnmi-tls", choices=("insecure", "tls"), default="insecure", help="gNMI transport (default insecure)"
    )
    parser.add_argument("--inventory-out", metavar="PATH", help="also write the edgeops inventory here (mode 0600)")
    parser.add_argument("--targets-out", metavar="PATH", help="also write the targets JSON array here (mode 0600)")
    parser.add_argument("--no-incidents", action="store_true", help="start without the demo's standing incidents")
    parser.add_argument(
        "--older-release",
        action="append",
        default=[],
        metavar="DEVICE=PREFIX[,PREFIX]",
        help="leave DEVICE on an older release whose gNMI does not serve the paths under PREFIX (NOT_FOUND), "
        "e.g. alcala-leaf1=/platform/linecard; repeatable",
    )
    # The demo's lab: stop when standard input (a pipe from the console) closes, as it does when the console dies.
    parser.add_argument("--stop-on-eof", action="store_true", help=argparse.SUPPRESS)
    actions = parser.add_subparsers(dest="lab_action", metavar="ACTION")
    fault = actions.add_parser("fault", help="inject a fault into a running lab", description="Inject a fault.")
    fault.add_argument("device", help="device name, e.g. alcala-leaf1")
    fault.add_argument("kind", choices=FAULT_KINDS, metavar="KIND", help=f"one of: {', '.join(FAULT_KINDS)}")
    fault.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="fault parameter, e.g. --param port=ethernet-1/3 --param seconds=10",
    )
    clear = actions.add_parser("clear", help="clear a device's faults in a running lab")
    clear.add_argument("device")
    status = actions.add_parser("status", help="ask a running lab how it is doing")
    for sub in (fault, clear, status):
        sub.add_argument("--lab-dir", metavar="DIR", default=argparse.SUPPRESS, help="lab directory")


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    lab_dir = Path(args.lab_dir).expanduser() if args.lab_dir else paths.state_dir / "lab"
    action = getattr(args, "lab_action", None)
    if action is None:
        from edgeops.logging_setup import configure_logging

        # The lab logs beside the console's log, not into it: both may run at once.
        configure_logging(paths.log_dir / "lab.log", args.log_level)
        return _run_lab(args, lab_dir)
    if action == "fault":
        params: dict[str, str] = {}
        for item in args.param:
            key, sep, value = item.partition("=")
            if not sep or not key:
                print(f"edgeops lab fault: --param wants KEY=VALUE, got {item!r}", file=sys.stderr)
                return ExitCode.USAGE
            params[key.strip()] = value
        request: dict[str, Any] = {"device": args.device, "fault": args.kind, "params": params}
    elif action == "clear":
        request = {"device": args.device, "clear": True}
    else:
        request = {"command": "status"}
    return _send(lab_dir, request)


def _send(lab_dir: Path, request: dict[str, Any]) -> int:
    from edgeops.lab.control import send_control_request
    from edgeops.lab.runner import read_lab_state

    state = read_lab_state(lab_dir)
    socket_path = state.get("control_socket")
    if not socket_path:
        print(f"edgeops lab: no lab is running in {lab_dir} (start one with `edgeops lab`)", file=sys.stderr)
        return ExitCode.FAILED
    try:
        answer = send_control_request(Path(socket_path), request)
    except OSError as error:
        print(f"edgeops lab: cannot reach the lab at {socket_path}: {error}", file=sys.stderr)
        return ExitCode.FAILED
    if not answer.get("ok"):
        print(f"edgeops lab: {answer.get('error', 'failed')}", file=sys.stderr)
        return ExitCode.FAILED
    result = answer.get("result")
    print(result if isinstance(result, str) else json.dumps(result, indent=2, ensure_ascii=False))
    return ExitCode.OK


def older_releases(values: list[str]) -> dict[str, tuple[str, ...]]:
    """`--older-release DEVICE=PREFIX[,PREFIX]` values, by device; ValueError for one without a device or a path."""
    releases: dict[str, tuple[str, ...]] = {}
    for value in values:
        device, sep, prefixes = value.partition("=")
        paths = tuple(path.strip() for path in prefixes.split(",") if path.strip())
        if not sep or not device.strip() or not paths or not all(path.startswith("/") for path in paths):
            raise ValueError(f"--older-release wants DEVICE=/PATH[,/PATH], got {value!r}")
        releases[device.strip()] = releases.get(device.strip(), ()) + paths
    return releases


def _run_lab(args: argparse.Namespace, lab_dir: Path) -> int:
    sites: int | str | None = args.sites
    for option in ("inventory_out", "targets_out"):
        if getattr(args, option):
            setattr(args, option, Path(getattr(args, option)).expanduser())
    if isinstance(sites, str) and sites.strip().isdigit():
        sites = int(sites)
    try:
        return asyncio.run(_serve(args, lab_dir, sites))
    except KeyboardInterrupt:
        return ExitCode.OK


async def _serve(args: argparse.Namespace, lab_dir: Path, sites: int | str | None) -> int:
    from edgeops.lab.runner import start_demo_lab

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if args.stop_on_eof:
        _stop_on_eof(loop, stop)
    began = time.perf_counter()
    try:
        lab: Lab = await start_demo_lab(
            lab_dir,
            sites=sites,
            devices_per_site=args.devices_per_site,
            seed=args.seed,
            jump_only=args.jump_only,
            ssh_port=args.ssh_port,
            gnmi_port=args.gnmi_port,
            gnmi_tls=args.gnmi_tls,
            incidents=not args.no_incidents,
            address_block=args.address_block,
            older_releases=older_releases(args.older_release),
        )
    except (OSError, ValueError, RuntimeError) as error:
        print(f"edgeops lab: {error}", file=sys.stderr)
        # A code of its own, so a caller that picks addresses (the demo) can try another block without reading text.
        in_use = isinstance(error, OSError) and error.errno == errno.EADDRINUSE
        return ExitCode.ADDRESS_IN_USE if in_use else ExitCode.FAILED
    try:
        inventory = write_lab_inventory(lab, lab_dir / "inventory.yaml")
        targets = lab.write_targets(lab_dir / "targets.json")
        extra = []
        if args.inventory_out:
            extra.append(write_lab_inventory(lab, args.inventory_out))
        if args.targets_out:
            extra.append(lab.write_targets(args.targets_out))
        _print_summary(lab, time.perf_counter() - began, [inventory, targets, *extra])
        await _show_status(lab, stop)
    finally:
        await lab.stop()
    print("\nedgeops lab: stopped", flush=True)
    return ExitCode.OK


def _stop_on_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set `stop` once standard input reaches its end (what was written to it is read and dropped)."""
    fd = sys.stdin.fileno()

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            stop.set()

    loop.add_reader(fd, readable)


def _print_summary(lab: Lab, seconds: float, files: list[Path]) -> None:
    first = lab.identities[0]
    jump = lab.jump
    lines = [
        f"edgeops lab: {len(lab.devices)} devices at {len(lab.sites)} sites, started in {seconds:.1f} s "
        f"(seed {lab.seed}, lab directory {lab.lab_dir})",
        "",
        "  site           addresses                      devices",
    ]
    for site in lab.sites:
        hosts = [identity.host for identity in lab.identities if identity.site == site.code]
        lines.append(f"  {site.code:<14} {hosts[0] + ' .. ' + hosts[-1]:<30} {len(hosts)}")
    mode = "only through the jump host" if lab.jump_only else "directly"
    lines += [
        "",
        f"  SSH     port {first.ssh_port}, user {first.username}, password {first.password} ({mode})",
        f"          key login: ssh -i {lab.client_key_file} {first.username}@{first.host} -p {first.ssh_port}",
        f"  gNMI    port {first.gnmi_port}, {lab.gnmi_tls}" + ("" if lab.gnmi_server else " (no gNMI server)"),
    ]
    if jump is not None:
        lines.append(f"  jump    {jump.host}:{jump.port}, user {jump.username}, password {jump.password}")
        via = f"{jump.username}@{jump.host}:{jump.port}"
        lines.append(f"          ssh -J {via} {first.username}@{first.host} -p {first.ssh_port}")
    lines.append(f"  control {lab.control_socket}  (edgeops lab fault DEVICE KIND, edgeops lab clear DEVICE)")
    lines.append(f"  hosts   {lab.known_hosts_file}")
    for path in files:
        lines.append(f"  wrote   {path}")
    if lab.incidents:
        lines += ["", "Standing incidents:"] + [f"  {incident}" for incident in lab.incidents]
    older = [identity for identity in lab.identities if identity.unserved]
    if older:
        lines += ["", "Older releases (gNMI answers NOT_FOUND under these paths):"]
        lines += [f"  {identity.name} {identity.version}: {', '.join(identity.unserved)}" for identity in older]
    lines += ["", "Ctrl-C or SIGTERM stops the lab."]
    print("\n".join(lines), flush=True)


async def _show_status(lab: Lab, stop: asyncio.Event) -> None:
    """A one-line live status on a terminal; on a pipe, a line when something changed (at most every 30 s)."""
    tty = sys.stdout.isatty()
    last_line, last_print = "", 0.0
    while not stop.is_set():
        line = lab.status().line()
        now = time.monotonic()
        if tty:
            sys.stdout.write(f"\r{line}\x1b[K")
            sys.stdout.flush()
        elif line != last_line and now - last_print >= PIPE_STATUS_INTERVAL_S:
            print(line, flush=True)
            last_line, last_print = line, now
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STATUS_INTERVAL_S)
