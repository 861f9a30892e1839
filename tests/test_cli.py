"""The top-level command: version, help, and the subcommands it offers."""

import os
import subprocess
import sys

import pytest

from edgeops import __version__
from edgeops.cli.main import build_parser, main


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


def test_path_options_before_or_after_the_subcommand():
    parser = build_parser()
    before = parser.parse_args(["--state-dir", "/tmp/s", "--log-level", "debug", "lab"])
    after = parser.parse_args(["lab", "--state-dir", "/tmp/s", "--log-level", "debug"])
    for args in (before, after):
        assert args.state_dir == "/tmp/s"
        assert args.log_level == "DEBUG"
    plain = parser.parse_args(["lab"])
    assert plain.state_dir is None
    assert plain.log_level == "INFO"


def test_grpc_core_logs_stay_off_the_terminal_unless_asked_for(monkeypatch):
    monkeypatch.delenv("GRPC_VERBOSITY", raising=False)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert os.environ["GRPC_VERBOSITY"] == "NONE"
    monkeypatch.setenv("GRPC_VERBOSITY", "DEBUG")
    with pytest.raises(SystemExit):
        main(["--version"])
    assert os.environ["GRPC_VERBOSITY"] == "DEBUG"
