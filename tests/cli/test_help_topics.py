"""`edgeops help`: the guides an installed edgeops carries, which error messages point to (not repository paths)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from edgeops.cli.help import TOPICS, docs_dir
from edgeops.cli.main import main

REPO = Path(__file__).resolve().parents[2]


def test_without_a_topic_it_lists_every_guide(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["help"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in TOPICS)


def test_a_topic_prints_its_guide(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["help", "inventory"]) == 0
    assert capsys.readouterr().out == (REPO / "docs" / "inventory.md").read_text(encoding="utf-8")


def test_an_unknown_topic_is_a_usage_error_that_lists_the_guides(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["help", "inventroy"]) == 2
    assert "inventory" in capsys.readouterr().err


def test_every_guide_exists() -> None:
    assert all((docs_dir() / file).is_file() for file, _ in TOPICS.values())


def test_messages_name_help_topics_not_repository_files() -> None:
    # An installed edgeops has no docs/ folder beside it: a message must send the user to `edgeops help`. Docstrings
    # and comments may name the files (they are for people reading the source).
    offenders = []
    for path in (REPO / "src" / "edgeops").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and re.search(r"docs/[\w-]+\.md", node.value)
            ):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []


@pytest.mark.timeout(300)
def test_the_wheel_carries_the_guides(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0 and "hatchling" in built.stderr:
        pytest.skip("hatchling is not installed here to build the wheel without network")
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(tmp_path.glob("edgeops-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"edgeops/docs/{file}" for file, _ in TOPICS.values()} <= names
