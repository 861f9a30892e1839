"""`edgeops inventory`: not built yet."""

from __future__ import annotations

import argparse
import sys

from edgeops.paths import AppPaths

HELP = "Check or import inventories"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    print("edgeops: this command is not built yet", file=sys.stderr)
    return 2
