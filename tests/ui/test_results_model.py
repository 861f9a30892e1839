"""A command run's model and texts: the progress line, group keys, the save folder, and no textual underneath."""

import subprocess
import sys
from pathlib import Path

from edgeops.devices.samples import CommandResult, Failure
from edgeops.fleet.results import GUARD_REFUSAL_PREFIX, group_identical
from edgeops.inventory.model import Device
from edgeops.platforms import Platform
from edgeops.ui.results.model import CommandRun, default_save_dir, group_key, representative
from edgeops.ui.results.render import status_cell, status_text


def device(name: str) -> Device:
    return Device(name, "lab", "leaf", Platform.SRLINUX, "7220 IXR-D3L", "127.0.0.1")


def result(
    name: str, output: str = "v25.3", *, ok: bool = True, reason: str = "", failure: Failure | None = None
) -> CommandResult:
    return CommandResult(name, "show version", output, 100.0, 101.5, ok, reason, failure)


def refusal(name: str, rule: str) -> CommandResult:
    reason = f"{GUARD_REFUSAL_PREFIX} (rule {rule}): configuration commands are not sent"
    return CommandResult.failed(
        name, "show version", failure=Failure.REFUSED, reason=reason, started=100.0, ended=101.5, guard_rule=rule
    )


def test_the_model_and_its_texts_import_no_textual() -> None:
    # A fresh interpreter: this test process has textual loaded by the other console tests.
    code = (
        "import sys\n"
        "import edgeops.ui.results.model, edgeops.ui.results.render, edgeops.ui.format\n"
        "print(','.join(sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_progress_line_counts_failures_and_refusals_apart() -> None:
    run = CommandRun("show version", "site lab", tuple(device(f"leaf{n}") for n in range(1, 5)), started=100.0)
    run.add(result("leaf1"))
    run.add(result("leaf2", ok=False, reason="timeout after 30 s", failure=Failure.TIMEOUT))
    run.add(refusal("leaf3", "set"))
    assert run.progress_line(now=104.25) == ("3/4 done, 1 failed, 1 refused by the read-only guard (rule set) · 4.2 s")
    run.ended, run.cancelled = 105.0, True
    assert run.progress_line() == (
        "3/4 done, 1 failed, 1 refused by the read-only guard (rule set) · 5.0 s · cancelled, 1 without a result"
    )
    assert run.results[2].guard_rule == "set" and run.results[1].guard_rule == ""
    assert status_text(run.results[2]).plain == "refused (rule set)"
    assert status_cell(run.results[1]).plain == "timeout"
    assert status_text(None).plain == "…"


def test_a_group_keeps_its_key_while_it_grows() -> None:
    run = CommandRun("show version", "all", (device("leaf1"), device("leaf2"), device("leaf3")))
    run.add(result("leaf2"))
    (alone,) = group_identical(run.results)
    run.add(result("leaf1", "v25.3  \n"))  # trailing blanks are terminal padding: the same output
    (grown,) = group_identical(run.results)
    assert grown.count == 2
    assert group_key(grown) == group_key(alone)
    assert representative(run, grown) == run.results[0]  # the first to answer, not the first by name


def test_default_save_dir_is_sortable_and_names_the_command(tmp_path: Path) -> None:
    folder = default_save_dir(tmp_path, "Show Interface ethernet-1/1 | as json", when=0.0)
    assert folder.parent == tmp_path / "runs"
    stamp, _, slug = folder.name.partition("-")
    assert len(stamp) == 8 and stamp.isdigit()
    assert slug.endswith("show-interface-ethernet-1-1-as-json")
    assert default_save_dir(tmp_path, "???", when=0.0).name.endswith("-command")
