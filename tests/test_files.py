"""edgeops.files.write_private: atomic, owner-only, no partial file left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from edgeops import files
from edgeops.files import write_private


def test_writes_text_and_bytes_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "secret.txt"
    write_private(target, "contraseña\n")
    assert target.read_text(encoding="utf-8") == "contraseña\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    write_private(target, b"\x00\x01", durable=True)
    assert target.read_bytes() == b"\x00\x01"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_replaces_a_world_readable_file_with_a_private_one(tmp_path: Path) -> None:
    target = tmp_path / "history"
    target.write_text("old\n")
    os.chmod(target, 0o644)
    write_private(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_failed_write_keeps_the_old_file_and_leaves_no_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "known_hosts"
    target.write_text("kept\n")

    def refuse(source: str, destination: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(OSError):
        write_private(target, "lost\n")
    assert target.read_text() == "kept\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["known_hosts"]
