"""`edgeops help [TOPIC]`: the guides that ship with edgeops, read in the terminal.

Error messages point here ("see `edgeops help inventory`") rather than to a file of the source repository, which an
installed edgeops (pipx, a wheel) does not have.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from edgeops.cli.exit_codes import ExitCode
from edgeops.paths import AppPaths

HELP = "Read a guide that ships with edgeops (inventory, commands, console, ...)"

# topic -> (file under docs/, what it is about). The wheel carries these files (pyproject's force-include).
TOPICS: dict[str, tuple[str, str]] = {
    "inventory": ("inventory.md", "the inventory format, secrets, ssh_config, containerlab and Nornir imports"),
    "commands": ("commands.md", "edgeops run, targets, aliases, the read-only guard, the audit log"),
    "cli": ("cli.md", "every command and option"),
    "console": ("user-guide.md", "the console: panes, keys, themes, folders"),
    "recording": ("recording.md", "the recording, replay and export"),
    "lab": ("lab.md", "the device lab and its faults"),
    "scale-out": ("scale-out.md", "collectors and consoles sharing the fleet over NATS JetStream"),
}


def docs_dir() -> Path:
    """The guides: packaged inside the wheel, or docs/ at the repository root in a development install."""
    packaged = resources.files("edgeops") / "docs"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "docs"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = "Print one of the guides that ship with edgeops; without TOPIC, list them."
    parser.add_argument("topic", nargs="?", metavar="TOPIC", help=", ".join(TOPICS))


def topic_list() -> str:
    width = max(map(len, TOPICS))
    lines = [f"  {name.ljust(width)}  {about}" for name, (_, about) in TOPICS.items()]
    return "Guides (edgeops help TOPIC):\n" + "\n".join(lines)


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    if args.topic is None:
        print(topic_list())
        return ExitCode.OK
    entry = TOPICS.get(args.topic.lower())
    if entry is None:
        print(f"edgeops help: no guide named {args.topic!r}\n{topic_list()}", file=sys.stderr)
        return ExitCode.USAGE
    text = (docs_dir() / entry[0]).read_text(encoding="utf-8")
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.markdown import Markdown

        console = Console()
        with console.pager(styles=True):
            console.print(Markdown(text))
    else:
        sys.stdout.write(text)
    return ExitCode.OK
