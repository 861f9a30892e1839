"""The exit statuses of every `edgeops` command, in one place (docs/commands.md documents them per command)."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What an `edgeops` process tells its caller.

    Some statuses mean the same thing in different words per command: those are aliases of one value, so a script
    sees the same numbers everywhere (0 done, 1 something did not work out, 2 nothing was tried, 3 the command's
    own partial answer).
    """

    OK = 0
    FAILED = 1  # run: some device failed; lab: it could not start; the demo lab did not start
    USAGE = 2  # a usage error, or an inventory that is missing or does not load: nothing was tried
    REFUSED = 3  # run: the read-only guard refused the command on every device
    ADDRESS_IN_USE = 4  # lab: its address block (or a port in it) is taken; the demo then tries another block
    INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT
    HANGUP = 129  # run: ended by SIGHUP (the terminal went away), as a shell reports it; in-flight commands recorded
    TERMINATED = 143  # run: ended by SIGTERM (kill, timeout(1), a service manager); in-flight commands recorded

    # The same values, in the words of the commands that use them.
    INCOMPLETE = 1  # telemetry status: a group refused, polled over SSH, stale or down, or a device not reached
    UNREADABLE = 1  # parse: the output does not have the command's layout
    PROBLEMS = 2  # inventory check/show: the inventory has problems
    READ_ONLY = 2  # run: --allow-config in a read-only session (--readonly, EDGEOPS_READONLY, readonly in config.toml)
    TIMEOUT = 3  # telemetry status: some device's groups had not settled when --timeout ran out
