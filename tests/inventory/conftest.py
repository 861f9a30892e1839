"""Fixtures for inventory tests: an isolated home folder and a helper writing inventory files."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from edgeops.inventory import ssh_config

WriteFile = Callable[..., Path]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder of our own and no system-wide ssh_config: neither the user's ~/.ssh/config nor the machine's
    /etc/ssh/ssh_config may leak into the tests (a test that needs a system file writes one and points here)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(ssh_config, "SYSTEM_SSH_CONFIG", tmp_path / "etc-ssh-not-written" / "ssh_config")
    return home


@pytest.fixture
def write(tmp_path: Path) -> WriteFile:
    """write(name, text, mode=0o644) -> path: writes dedented text to tmp_path/name with that mode."""

    def write_file(name: str, text: str, mode: int = 0o644) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        os.chmod(path, mode)
        return path

    return write_file
