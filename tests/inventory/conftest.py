"""Fixtures for inventory tests: an isolated home folder and a helper writing inventory files."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

WriteFile = Callable[..., Path]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder of our own: the user's ~/.ssh/config must not leak into the tests."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
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
