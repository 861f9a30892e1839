"""`edgeops lab`: not built yet."""

from __future__ import annotations

import argparse
import sys

from edgeops.paths import AppPaths

HELP = "Run the simulated device lab in the foreground"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    print("edgeops: this command is not built yet", file=sys.stderr)
    return 2
