"""Only the commands (edgeops.cli) and the console (edgeops.ui) write to the terminal; the rest logs.

A library module that printed would scribble over the full-screen console, or mix into `edgeops run` output that a
script reads: what the rest has to say goes to the log, or back to a caller as a value.
"""

from __future__ import annotations

import re
from pathlib import Path

import edgeops

PACKAGE = Path(edgeops.__file__).resolve().parent
ALLOWED = ("cli", "ui")
TERMINAL_WRITE = re.compile(r"\bprint\(|\bsys\.(?:stdout|stderr|__stdout__|__stderr__)\b")


def terminal_writes(root: Path) -> list[str]:
    """`file:line: text` of every write to the terminal outside the allowed packages."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in ALLOWED:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            if TERMINAL_WRITE.search(code):
                found.append(f"{relative}:{number}: {line.strip()}")
    return found


def test_only_the_commands_and_the_console_write_to_the_terminal() -> None:
    assert terminal_writes(PACKAGE) == []


def test_the_check_sees_a_print_and_a_stream_but_not_a_log_call(tmp_path: Path) -> None:
    (tmp_path / "fleet").mkdir()
    (tmp_path / "cli").mkdir()
    (tmp_path / "fleet" / "noisy.py").write_text(
        'import logging, sys\nlog = logging.getLogger(__name__)\nlog.info("fine")\nprint("no")\n'
        'sys.stderr.write("no")\nkey.fingerprint("fine")\n',
        encoding="utf-8",
    )
    (tmp_path / "cli" / "command.py").write_text('print("fine here")\n', encoding="utf-8")
    assert terminal_writes(tmp_path) == ['fleet/noisy.py:4: print("no")', 'fleet/noisy.py:5: sys.stderr.write("no")']
