"""`edgeops inventory check|import|show`: validate an inventory, convert containerlab or Nornir, list devices."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from edgeops.cli.exit_codes import ExitCode
from edgeops.paths import AppPaths
from edgeops.textsafety import escape_control

if TYPE_CHECKING:  # the loaders pull in ruamel.yaml: imported only when a command runs
    from edgeops.inventory.model import Device, Inventory
    from edgeops.inventory.problems import Problem

HELP = "Check, import or list inventories"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="inventory_action", metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="validate an inventory and summarise it",
        description="Validate an inventory; print every problem as FILE:LINE:COL: message (exit 2) "
        "or a summary of the fleet (exit 0).",
    )
    check.add_argument("file", nargs="?", metavar="FILE", help="inventory to check (default: the configured one)")
    imports = actions.add_parser(
        "import",
        help="print a containerlab topology or Nornir inventory as edgeops YAML",
        description="Print the edgeops inventory equivalent to a containerlab topology or a Nornir "
        "SimpleInventory (folder or hosts.yaml). Redirect it to a file to keep it.",
    )
    imports.add_argument("format", choices=["clab", "nornir"], help="what PATH is")
    imports.add_argument("path", metavar="PATH", help="topology file, or Nornir folder / hosts.yaml")
    show = actions.add_parser("show", help="list the devices of an inventory as a table")
    show.add_argument("file", nargs="?", metavar="FILE", help="inventory to list (default: the configured one)")
    show.add_argument("--site", help="only devices of this site code")
    show.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per device instead of the table (name, site, role, platform, model, host, ssh_port, "
        "gnmi_port, gnmi_tls, jump, tags); no credentials",
    )


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    action = getattr(args, "inventory_action", None)
    if action == "check":
        return _check(Path(args.file) if args.file else paths.inventory)
    if action == "import":
        return _import(args.format, Path(args.path))
    if action == "show":
        return _show(Path(args.file) if args.file else paths.inventory, args.site, as_json=args.json)
    print("usage: edgeops inventory {check,import,show} ...  (see edgeops inventory --help)", file=sys.stderr)
    return ExitCode.PROBLEMS


def read_inventory(path: Path) -> tuple[Inventory | None, tuple[Problem, ...]]:
    """The inventory at `path`, or the problems (FILE:LINE:COL) that keep it from loading: the one loader of every
    command and of the console."""
    from edgeops.inventory.loader import load_inventory
    from edgeops.inventory.problems import InventoryError

    try:
        return load_inventory(path), ()
    except InventoryError as error:
        return None, tuple(error.problems)


def load_or_report(path: Path) -> Inventory | None:
    """The inventory at `path`, or None after printing every problem with it (or its absence) on stderr.

    Every command that reads an inventory goes through here, so they all word a missing or broken file the same way.
    """
    if not path.exists():
        print(
            escape_control(f"{path}: no such file; write one (see: edgeops help inventory), or pass --inventory FILE ")
            + "or set EDGEOPS_INVENTORY",
            file=sys.stderr,
        )
        return None
    inventory, problems = read_inventory(path)
    if inventory is None:
        report_problems(problems, path)
    return inventory


def report_problems(problems: Sequence[Problem], path: Path) -> None:
    """Every problem as FILE:LINE:COL: message on stderr, then how many there are.

    A message quotes what the file holds (`device name 'x' contains spaces`), and the file name is the user's: both
    are shown with their control characters escaped, never acted on by the terminal."""
    for problem in problems:
        print(escape_control(problem.format()), file=sys.stderr)
    count = len(problems)
    print(escape_control(f"{count} problem{'s' if count != 1 else ''} in {path}"), file=sys.stderr)


def _check(path: Path) -> int:
    inventory = load_or_report(path)
    if inventory is None:
        return ExitCode.PROBLEMS
    print(summarise(inventory, path))
    for line in ssh_config_warnings(inventory):
        print(line)
    return ExitCode.OK


def ssh_config_warnings(inventory: Inventory, shown: int = 5) -> list[str]:
    """One warning per ssh_config option in effect that edgeops does not honour, naming the hosts it applies to."""
    from edgeops.inventory.ssh_config import unhonoured_in

    lines = []
    for option, names in unhonoured_in(inventory).items():
        more = f" and {len(names) - shown} more" if len(names) > shown else ""
        lines.append(f"warning: {option.format()} (for {', '.join(names[:shown])}{more})")
    return lines


def summarise(inventory: Inventory, path: Path) -> str:
    """The few lines `inventory check` prints for a valid inventory.

    Every line holds names from the file (sites, roles, jump hosts): each line is written with its control and
    bidirectional characters escaped, so a name carrying `ESC[2J` or an OSC 52 clipboard write shows as text."""
    lines = _summary_lines(inventory, path)
    return "\n".join(escape_control(line) for line in lines)


def _summary_lines(inventory: Inventory, path: Path) -> list[str]:
    devices = inventory.devices
    lines = [f"{path}: OK"]
    per_site = Counter(device.site for device in devices)
    lines.append(f"  sites        {len(inventory.sites)}")
    # Names escaped before the columns are measured, so an escaped name keeps the table straight.
    sites = [(escape_control(site.code), escape_control(site.name), per_site[site.code]) for site in inventory.sites]
    code_width = max((len(code) for code, _, _ in sites), default=0) + 2
    name_width = max((len(name) for _, name, _ in sites), default=0) + 2
    for code, name, count in sites:
        lines.append(f"    {code:<{code_width}}{name:<{name_width}}{_plural(count, 'device')}")
    lines.append(f"  devices      {len(devices)}")
    platforms = Counter(device.platform.label for device in devices)
    lines.append(f"    by platform  {_counts(platforms)}")
    roles = Counter(device.role for device in devices)
    lines.append(f"    by role      {_counts(roles)}")
    no_gnmi = sum(1 for device in devices if device.gnmi_port is None)
    if no_gnmi:
        lines.append(f"    without gNMI {no_gnmi} (polled over SSH)")
    lines.append(f"  jump hosts   {len(inventory.jump_hosts)}")
    jump_width = max((len(escape_control(jump.name)) for jump in inventory.jump_hosts), default=0) + 2
    for jump in inventory.jump_hosts:
        users = sum(1 for device in devices if device.jump == jump.name)
        via = f" via {jump.via}" if jump.via else ""
        name = escape_control(jump.name)
        lines.append(f"    {name:<{jump_width}}{jump.host}:{jump.port}{via}  ({_plural(users, 'device')})")
    if inventory.ssh_config is not None:
        lines.append(f"  ssh_config   {inventory.ssh_config}")
    return lines


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _counts(counter: Counter[str]) -> str:
    if not counter:
        return "-"
    return ", ".join(f"{name} {count}" for name, count in sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def device_record(device: Device) -> dict[str, object]:
    """A device as `inventory show --json` prints it: where and what it is, never its credentials."""
    return {
        "name": device.name,
        "site": device.site,
        "role": device.role,
        "platform": device.platform.value,
        "model": device.model,
        "host": device.host,
        "ssh_port": device.ssh_port,
        "gnmi_port": device.gnmi_port,
        "gnmi_tls": device.gnmi_tls.value if device.gnmi_port else None,
        "jump": device.jump,
        "tags": sorted(device.tags),
    }


def _import(kind: str, path: Path) -> int:
    from edgeops.inventory.containerlab import load_containerlab
    from edgeops.inventory.dump import dump_inventory
    from edgeops.inventory.nornir import load_nornir
    from edgeops.inventory.problems import InventoryError

    try:
        inventory = load_containerlab(path) if kind == "clab" else load_nornir(path)
    except InventoryError as error:
        for problem in error.problems:
            print(escape_control(problem.format()), file=sys.stderr)
        return ExitCode.PROBLEMS
    sys.stdout.write(dump_inventory(inventory))
    return ExitCode.OK


def _show(path: Path, site: str | None, *, as_json: bool = False) -> int:
    inventory = load_or_report(path)
    if inventory is None:
        return ExitCode.PROBLEMS
    devices = [device for device in inventory.devices if site is None or device.site == site]
    if as_json:
        from edgeops.textsafety import json_text

        for device in devices:
            print(json_text(device_record(device)))
        return ExitCode.OK
    header = ("NAME", "SITE", "ROLE", "PLATFORM", "MODEL", "HOST", "SSH", "GNMI", "JUMP")
    # Cells escaped before the widths are measured: a name carrying an escape sequence shows it, and keeps its column.
    rows = [
        tuple(
            escape_control(cell)
            for cell in (
                device.name,
                device.site,
                device.role,
                device.platform.value,
                device.model or "-",
                device.host,
                str(device.ssh_port),
                f"{device.gnmi_port} {device.gnmi_tls.value}" if device.gnmi_port else "-",
                device.jump or "-",
            )
        )
        for device in devices
    ]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return ExitCode.OK
