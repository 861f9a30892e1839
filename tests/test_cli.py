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


@pytest.mark.parametrize(
    "argv",
    [
        ["-i", "/tmp/fleet.yaml", "inventory", "check"],
        ["inventory", "-i", "/tmp/fleet.yaml", "check"],
        ["inventory", "check", "-i", "/tmp/fleet.yaml"],
        ["inventory", "show", "--inventory", "/tmp/fleet.yaml"],
        ["telemetry", "status", "-i", "/tmp/fleet.yaml"],
    ],
)
def test_path_options_on_every_level_of_a_subcommand(argv):
    assert build_parser().parse_args(argv).inventory == "/tmp/fleet.yaml"


def test_a_reader_that_leaves_early_ends_the_command_quietly(tmp_path):
    # Far more than a pipe holds (64 KiB), so edgeops is still writing when the reader has gone.
    inventory = tmp_path / "fleet.yaml"
    inventory.write_text(
        "version: 1\nsites: [alcala]\ndefaults: {platform: srlinux, role: leaf}\ndevices:\n"
        + "".join(
            f"  - {{name: 'r{row}-leaf{{1..250}}', site: alcala, host: '10.{row}.0.{{1..250}}'}}\n" for row in range(12)
        ),
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "edgeops", "--log-dir", str(tmp_path), "inventory", "show", str(inventory)]
    shell = subprocess.run(f"{' '.join(command)} | head -c 10", shell=True, capture_output=True, text=True)
    assert shell.returncode == 0 and "Traceback" not in shell.stderr and "BrokenPipe" not in shell.stderr


def test_grpc_core_logs_stay_off_the_terminal_unless_asked_for(monkeypatch):
    monkeypatch.delenv("GRPC_VERBOSITY", raising=False)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert os.environ["GRPC_VERBOSITY"] == "NONE"
    monkeypatch.setenv("GRPC_VERBOSITY", "DEBUG")
    with pytest.raises(SystemExit):
        main(["--version"])
    assert os.environ["GRPC_VERBOSITY"] == "DEBUG"
