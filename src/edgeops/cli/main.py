"""The `edgeops` command: the console, `--demo`, and the `lab`, `run`, `parse` and `inventory` subcommands."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from edgeops import __version__
from edgeops.cli.exit_codes import ExitCode
from edgeops.paths import AppPaths

if TYPE_CHECKING:
    from edgeops.config import Settings


class Subcommand(Protocol):
    """What a subcommand module of edgeops.cli provides."""

    HELP: str

    def configure_parser(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace, paths: AppPaths) -> int: ...


# name -> module; imported when the parser is built, so these modules keep their own imports lazy.
SUBCOMMANDS: dict[str, str] = {
    "audit": "edgeops.cli.audit",
    "collect": "edgeops.cli.collect",
    "completion": "edgeops.cli.completion",
    "config": "edgeops.cli.config",
    "export": "edgeops.cli.export",
    "help": "edgeops.cli.help",
    "inventory": "edgeops.cli.inventory",
    "lab": "edgeops.cli.lab",
    "run": "edgeops.cli.run",
    "parse": "edgeops.cli.parse",
    "record": "edgeops.cli.record",
    "replay": "edgeops.cli.replay",
    "telemetry": "edgeops.cli.telemetry",
}


def add_path_options(parser: argparse.ArgumentParser, *, on_subcommand: bool = False) -> None:
    """The options every command takes; accepted before or after the subcommand name.

    On a subcommand their defaults are suppressed, so `edgeops --state-dir X lab` keeps X instead of the
    subparser writing its own default over it.
    """
    kwargs: dict[str, Any] = {"default": argparse.SUPPRESS} if on_subcommand else {}
    parser.add_argument("-i", "--inventory", metavar="FILE", help="inventory file (env EDGEOPS_INVENTORY)", **kwargs)
    parser.add_argument("--config-dir", metavar="DIR", help="config directory (env EDGEOPS_CONFIG_DIR)", **kwargs)
    parser.add_argument("--state-dir", metavar="DIR", help="state directory (env EDGEOPS_STATE_DIR)", **kwargs)
    parser.add_argument("--log-dir", metavar="DIR", help="log directory (env EDGEOPS_LOG_DIR)", **kwargs)
    parser.add_argument(
        "--readonly",
        action="store_true",
        default=argparse.SUPPRESS if on_subcommand else None,
        help="refuse every command that could change a device, with no way to lift the guard "
        "(env EDGEOPS_READONLY, readonly in config.toml)",
    )
    parser.add_argument(
        "--log-level",
        default=argparse.SUPPRESS if on_subcommand else "INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level of the log file (default INFO)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgeops",
        description="Terminal operations console for Nokia SR Linux (7220 IXR) and SR OS (7750 SR) fleets.",
    )
    parser.add_argument("--version", action="version", version=f"edgeops {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start the built-in 17-site device lab and open the console on it",
    )
    parser.add_argument(
        "--theme", help="theme name (env EDGEOPS_THEME, theme in config.toml; see: edgeops help console)"
    )
    parser.add_argument(
        "--no-record",
        action="store_true",
        help="do not record the fleet (the console records into the state folder; env EDGEOPS_RECORD, record in "
        "config.toml)",
    )
    parser.add_argument(
        "--source",
        metavar="URL",
        help="take the fleet from collectors on a bus, nats://HOST:4222 (see: edgeops help scale-out)",
    )
    # The console's scope. Their own dests: subcommands have a --target and a --device of their own.
    parser.add_argument(
        "--site",
        action="append",
        dest="scope_sites",
        metavar="SITE",
        help="connect only to the devices of SITE, by code or name (repeat it, or give several as a,b)",
    )
    parser.add_argument(
        "--target",
        dest="scope_target",
        metavar="EXPR",
        help="connect only to the devices EXPR selects (a target expression, as edgeops run takes): 'role:leaf', "
        "host:10.1.2.0/24, 'host:*.alcala.*', all (env EDGEOPS_DEFAULT_TARGET, default_target in config.toml)",
    )
    parser.add_argument(
        "--device", dest="open_device", metavar="NAME", help="open the console with device NAME selected"
    )
    add_path_options(parser)
    subparsers = parser.add_subparsers(dest="subcommand", metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        module: Subcommand = importlib.import_module(module_name)  # type: ignore[assignment]
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        add_path_options(sub, on_subcommand=True)
        module.configure_parser(sub)
        _path_options_on_actions(sub)
        sub.set_defaults(_module=module)
    return parser


def _path_options_on_actions(parser: argparse.ArgumentParser) -> None:
    """The common options on a subcommand's own actions too (`edgeops inventory check -i FILE`), as on every level."""
    for action in parser._actions:  # argparse keeps subparsers there; it has no public way to list them
        if isinstance(action, argparse._SubParsersAction):
            for nested in action.choices.values():
                if "--inventory" not in nested._option_string_actions:  # unless the subcommand added them itself
                    add_path_options(nested, on_subcommand=True)


def paths_from_args(args: argparse.Namespace) -> AppPaths:
    return AppPaths.resolve(
        inventory=args.inventory, config_dir=args.config_dir, state_dir=args.state_dir, log_dir=args.log_dir
    )


def flag_settings(args: argparse.Namespace) -> dict[str, tuple[Any, str]]:
    """The settings given as flags on this command line: key -> (value, the flag), for edgeops.config."""
    given: dict[str, tuple[Any, str]] = {}
    if getattr(args, "theme", None):
        given["theme"] = (args.theme, "--theme")
    if getattr(args, "inventory", None):
        given["inventory"] = (Path(args.inventory), "--inventory")
    if getattr(args, "readonly", None):
        given["readonly"] = (True, "--readonly")
    if getattr(args, "no_record", False):
        given["record"] = (False, "--no-record")
    if getattr(args, "subcommand", None) is None and (args.scope_sites or args.scope_target):
        given["default_target"] = scope_flag(args.scope_sites or [], args.scope_target)
    if getattr(args, "subcommand", None) == "run":
        if args.timeout is not None:
            # The run's budget per device, login included; a connect_timeout the person set still caps the login.
            given["command_timeout"] = (args.timeout, "--timeout")
        if args.format is not None:
            given["output_format"] = (args.format, "--format")
        elif args.json:
            given["output_format"] = ("json", "--json")
    return given


def scope_flag(sites: Sequence[str], target: str | None) -> tuple[str, str]:
    """--site and --target as one target expression (the sites OR together, and AND with the expression), with the
    flags that gave it."""
    from edgeops.fleet.targets import TargetTerm

    names = tuple(name.strip() for given in sites for name in given.split(","))
    parts = [TargetTerm("site", names).describe()] if names else []
    parts += [target] if target is not None else []
    flags = " and ".join(flag for flag, used in (("--site", names), ("--target", target is not None)) if used)
    return " ".join(parts), flags


CONSOLE_ONLY = {"scope_sites": "--site", "scope_target": "--target", "open_device": "--device"}


def settings_for(args: argparse.Namespace, paths: AppPaths) -> tuple[Settings, AppPaths]:
    """The effective settings, and the paths with config.toml's inventory when only it names one.

    Raises ConfigError (config.toml or an EDGEOPS_* variable has problems)."""
    from edgeops.config import Source, resolve_settings

    settings = resolve_settings(paths.config_dir, flag_settings(args))
    if settings["inventory"].source is Source.FILE:
        paths = dataclasses.replace(paths, inventory=settings.inventory or paths.inventory)
    return settings, paths


def quiet_grpc_core() -> None:
    """Keep gRPC's C core from writing log lines to the terminal, unless the user asked for them.

    The core writes straight to file descriptor 2 (a device closing its streams prints "Got goaway ..." per
    channel): in the console those lines land on top of the screen, in `edgeops run` among the results. Every gRPC
    failure reaches edgeops as a status and goes to its own log; GRPC_VERBOSITY set by the user is left alone.
    """
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")


def main(argv: Sequence[str] | None = None) -> int:
    quiet_grpc_core()
    parser = build_parser()
    args = parser.parse_args(argv)
    paths = paths_from_args(args)
    module = getattr(args, "_module", None)
    misplaced = [flag for dest, flag in CONSOLE_ONLY.items() if module is not None and getattr(args, dest) is not None]
    if misplaced:
        # `edgeops --target X run ...` would otherwise run on what run's own -t says, silently.
        print(
            f"edgeops: {', '.join(misplaced)} before {args.subcommand!r} belong to the console; give the subcommand "
            "its own options after its name (see: edgeops help cli)",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    if args.subcommand != "config":  # `edgeops config edit` is how a broken file gets fixed: it must still start
        from edgeops.config import ConfigError

        try:
            args.settings, paths = settings_for(args, paths)
        except ConfigError as error:
            from edgeops.cli.config import report_config_problems

            return report_config_problems(error)
    try:
        if module is not None:
            return module.run(args, paths)
        from edgeops.cli.console import run_console

        return run_console(args, paths)
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # `edgeops inventory show | head`: the reader has what it wanted. Point stdout at nothing, so that the
        # interpreter's own flush at exit does not fail a second time, and end quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
