"""Starts the full-screen console (and, with --demo, the lab behind it)."""

from __future__ import annotations

import argparse
import sys

from edgeops.paths import AppPaths


def run_console(args: argparse.Namespace, paths: AppPaths) -> int:
    print(
        "edgeops: the console is not built yet; see `edgeops --help` for what works today.", file=sys.stderr
    )
    return 0
