"""`edgeops config show|edit|path`: the user's settings in config.toml, and where each effective value came from."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from typing import TYPE_CHECKING

from edgeops.cli.exit_codes import ExitCode
from edgeops.paths import AppPaths
from edgeops.textsafety import escape_control

if TYPE_CHECKING:
    from edgeops.config import ConfigError

HELP = "Show, edit or locate the settings file (config.toml)"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Settings come from a flag, then an EDGEOPS_* variable, then config.toml in the config folder, then the "
        "built-in default. Exit status: 0 done, 2 the file or a variable has problems (reported as FILE:LINE)."
    )
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    actions.add_parser("show", help="print every effective setting and where it came from")
    actions.add_parser("edit", help="open config.toml in $VISUAL or $EDITOR, then check it")
    actions.add_parser("path", help="print where config.toml is")


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    if args.config_action == "path":
        print(paths.config_file)
        return ExitCode.OK
    if args.config_action == "edit":
        return _edit(paths)
    return _show(args, paths)


def _show(args: argparse.Namespace, paths: AppPaths) -> int:
    from edgeops.cli.main import flag_settings
    from edgeops.config import ConfigError, resolve_settings

    try:
        settings = resolve_settings(paths.config_dir, flag_settings(args))
    except ConfigError as error:
        return report_config_problems(error)
    found = "" if settings.file.exists() else " (not there: built-in defaults)"
    print(f"# {settings.file}{found}")
    width = max(len(key) for key in settings.values)
    for setting in settings.values.values():
        shown = "unset" if setting.value is None else _toml_value(setting.value)
        print(f"{setting.key:<{width}} = {shown:<24} # {setting.source.value}: {setting.origin}")
    for code, table in settings.sites.items():
        print(f"\n[site.{escape_control(code)}]")
        for key, setting in table.items():
            effective = settings.for_site(key, code)
            note = "" if effective is setting else f" (not used: {effective.origin} wins)"
            print(f"{key:<{width}} = {_toml_value(setting.value):<24} # {setting.origin}{note}")
    return ExitCode.OK


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _edit(paths: AppPaths) -> int:
    from edgeops.config import TEMPLATE, ConfigError, read_config_file
    from edgeops.files import write_private

    path = paths.config_file
    if not path.exists():
        try:
            write_private(path, TEMPLATE)
        except OSError as error:
            print(f"edgeops config: cannot write {path}: {error}", file=sys.stderr)
            return ExitCode.FAILED
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        # VISUAL and EDITOR may carry arguments ("code --wait"), as git and crontab read them.
        status = subprocess.call([*shlex.split(editor), str(path)])
    except (OSError, ValueError) as error:
        print(f"edgeops config: cannot start the editor {editor!r}: {error}", file=sys.stderr)
        return ExitCode.FAILED
    if status != 0:
        print(f"edgeops config: the editor exited with status {status}", file=sys.stderr)
    try:
        read_config_file(path)
    except ConfigError as error:
        return report_config_problems(error)
    print(f"{path}: ok")
    return ExitCode.OK if status == 0 else ExitCode.FAILED


def report_config_problems(error: ConfigError) -> int:
    """Every problem as FILE:LINE: message on stderr; the exit status of a broken settings file."""
    from edgeops.textsafety import escape_control

    for problem in error.problems:
        print(escape_control(problem.format()), file=sys.stderr)
    return ExitCode.USAGE
