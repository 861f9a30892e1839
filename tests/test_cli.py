"""The top-level command: version, help, and the subcommands it offers."""

import subprocess
import sys

from edgeops import __version__
from edgeops.cli import build_parser, main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exit_:
        assert exit_.code == 0
    assert capsys.readouterr().out.strip() == f"edgeops {__version__}"


def test_help_lists_subcommands():
    text = build_parser().format_help()
    for name in ("inventory", "lab", "run", "--demo", "--inventory"):
        assert name in text


def test_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "edgeops", "--version"], capture_output=True, text=True, check=True)
    assert __version__ in result.stdout
