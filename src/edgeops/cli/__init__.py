"""The `edgeops` command: one module per subcommand, the parser in `main`, the exit statuses in `exit_codes`."""

from edgeops.cli.main import main

__all__ = ["main"]
