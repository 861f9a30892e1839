"""Allows `python -m edgeops`."""

from edgeops.cli import main

raise SystemExit(main())
