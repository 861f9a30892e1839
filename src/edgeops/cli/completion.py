"""`edgeops completion bash|zsh|fish`: a shell completion script for every subcommand and flag (written by shtab
from the parser), which asks `edgeops completion --words` for the inventory's device, site and role names."""

from __future__ import annotations

import argparse
import sys

from edgeops.cli.exit_codes import ExitCode
from edgeops.paths import AppPaths

HELP = "Print a shell completion script (bash, zsh or fish)"
SHELLS = ("bash", "zsh", "fish")
WORD_KINDS = ("targets", "names", "devices", "sites")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print a completion script for SHELL. bash: `source <(edgeops completion bash)` (or save it in "
        "~/.local/share/bash-completion/completions/edgeops); zsh: save it as _edgeops in a folder of your $fpath; "
        "fish: `edgeops completion fish > ~/.config/fish/completions/edgeops.fish`. Device, site and role names "
        "come from the configured inventory when you press tab."
    )
    parser.add_argument("shell", nargs="?", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    # What the scripts call on tab; not for people.
    parser.add_argument("--words", choices=WORD_KINDS, help=argparse.SUPPRESS)


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    if args.words:
        return _print_words(args.words, paths)
    if not args.shell:
        print("edgeops completion: which shell? bash, zsh or fish", file=sys.stderr)
        return ExitCode.USAGE
    from edgeops.cli.main import build_parser

    sys.stdout.write(completion_script(build_parser(), args.shell))
    return ExitCode.OK


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The script for `shell`, with the inventory's names offered wherever an argument names devices or sites."""
    import shtab

    # bash splits a word at ':' (COMP_WORDBREAKS), so `site:alc<tab>` would reach us as `alc`: bash is offered the
    # names a target may be written as bare (device names, globs of them) and `all`; zsh and fish get `site:alcala`.
    targets = shtab.cmd("edgeops completion --words names 2>/dev/null")
    targets["zsh"] = shtab.cmd("edgeops completion --words targets 2>/dev/null")["zsh"]
    targets["fish"] = shtab.cmd("edgeops completion --words targets 2>/dev/null")["fish"]
    by_dest: dict[str, object] = {
        "target": targets,
        "diff": shtab.cmd("edgeops completion --words devices 2>/dev/null"),
        "device": shtab.cmd("edgeops completion --words devices 2>/dev/null"),
        "site": shtab.cmd("edgeops completion --words sites 2>/dev/null"),
        "inventory": shtab.FILE,
        "file": shtab.FILE,
        "path": shtab.FILE,
        "config_dir": shtab.DIRECTORY,
        "state_dir": shtab.DIRECTORY,
        "log_dir": shtab.DIRECTORY,
        "out": shtab.DIRECTORY,
    }
    for each in _parsers(parser):
        for action in each._actions:
            if action.dest in by_dest:
                action.complete = by_dest[action.dest]  # type: ignore[attr-defined]  # shtab reads this attribute
    return str(shtab.complete(parser, shell=shell))


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parser and every subcommand's parser, at any depth."""
    found = [parser]
    for action in parser._actions:  # argparse has no public way to list its subparsers
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
                found.extend(_parsers(sub))
    return found


def _print_words(kind: str, paths: AppPaths) -> int:
    """The inventory's names, one a line; nothing (and status 0) when there is no usable inventory, so a tab in a
    folder without one offers nothing rather than an error."""
    from edgeops.cli.inventory import read_inventory

    if not paths.inventory.exists():
        return ExitCode.OK
    inventory, _ = read_inventory(paths.inventory)
    if inventory is None:
        return ExitCode.OK
    devices = [device.name for device in inventory.devices]
    sites = [site.code for site in inventory.sites]
    if kind == "devices":
        words = devices
    elif kind == "sites":
        words = sites
    elif kind == "names":
        words = ["all", *devices]
    else:
        roles = sorted({device.role for device in inventory.devices})
        platforms = sorted({device.platform.value for device in inventory.devices})
        tags = sorted({tag for device in inventory.devices for tag in device.tags})
        words = [
            "all",
            *(f"site:{code}" for code in sites),
            *(f"role:{role}" for role in roles),
            *(f"platform:{platform}" for platform in platforms),
            *(f"tag:{tag}" for tag in tags),
            *devices,
        ]
    from edgeops.textsafety import escape_control

    # One word a line; a name is the user's text: its control characters never reach the shell's screen raw.
    sys.stdout.write("".join(escape_control(word) + "\n" for word in words))
    return ExitCode.OK
