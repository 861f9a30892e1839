"""The demo starter: it branches on the lab's exit status, never on what the lab printed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from edgeops.cli.demo import DEMO_ATTEMPTS, DemoLab, DemoLabError
from edgeops.cli.exit_codes import ExitCode


class ScriptedLab(DemoLab):
    """A DemoLab whose child prints `said` and exits with `status` instead of serving devices."""

    def __init__(self, lab_dir: Path, status: int, said: str) -> None:
        super().__init__(lab_dir, log_dir=lab_dir / "logs")
        self.status, self.said = status, said
        self.blocks: list[int] = []

    def command(self) -> list[str]:
        self.blocks.append(self.address_block)
        script = f"import sys; print({self.said!r}); sys.exit({int(self.status)})"
        return [sys.executable, "-c", script]


def test_a_taken_address_block_means_another_block(tmp_path: Path) -> None:
    # Printed text that says nothing of addresses: only the status tells.
    lab = ScriptedLab(tmp_path / "lab", ExitCode.ADDRESS_IN_USE, "edgeops lab: something")
    with pytest.raises(DemoLabError, match="every address block tried was taken"):
        lab.start(timeout_s=30)
    assert len(lab.blocks) == DEMO_ATTEMPTS
    assert lab.process is None


def test_any_other_failure_stops_at_once_with_what_the_lab_said(tmp_path: Path) -> None:
    # The text an older starter searched for ("in use") does not make it try again.
    lab = ScriptedLab(tmp_path / "lab", ExitCode.FAILED, "edgeops lab: address in use, or so it says")
    with pytest.raises(DemoLabError, match="or so it says"):
        lab.start(timeout_s=30)
    assert len(lab.blocks) == 1
    assert lab.process is None
