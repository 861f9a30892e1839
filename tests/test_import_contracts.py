"""The layer contracts in pyproject.toml ([tool.importlinter]) hold, and they do catch an import that breaks them.

The second half copies the package into a temporary folder, adds one offending import, and runs the same contracts
on the copy: each must report the copy broken, so a contract that could never fail would fail here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import edgeops

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(edgeops.__file__).resolve().parent
LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(project: Path, source: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the contracts of `project`/pyproject.toml, with the edgeops found under `source`."""
    env = dict(os.environ, PYTHONPATH=str(source))
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_package_keeps_every_contract() -> None:
    result = lint_imports(ROOT, PACKAGE.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project's contracts and of the package, for one offending import at a time."""
    project = tmp_path_factory.mktemp("contracts")
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    shutil.copytree(PACKAGE, project / "src" / "edgeops", ignore=shutil.ignore_patterns("__pycache__"))
    return project


@pytest.mark.parametrize(
    ("module", "offending_import", "contract", "report"),
    [
        (
            "inventory/upward.py",
            "from edgeops.fleet import store",
            "Layers",
            "edgeops.inventory is not allowed to import edgeops.fleet",
        ),
        (
            "devices/upward.py",
            "import edgeops.paths",
            "Layers",
            "edgeops.devices is not allowed to import edgeops.paths",
        ),
        ("fleet/upward.py", "import edgeops.cli.run", "Layers", "edgeops.fleet is not allowed to import edgeops.cli"),
        (
            "ui/upward.py",
            "from edgeops.cli import console",
            "Layers",
            "edgeops.ui is not allowed to import edgeops.cli",
        ),
        (
            "lab/client.py",
            "from edgeops.devices import gnmi",
            "The lab stands beside the client",
            "edgeops.lab is not allowed to import edgeops.devices",
        ),
        (
            "lab/loader.py",
            "from edgeops.inventory import loader",
            "The lab stands beside the client",
            "edgeops.lab is not allowed to import edgeops.inventory",
        ),
        (
            "fleet/with_lab.py",
            "from edgeops.lab import runner",
            "The client never imports the lab",
            "edgeops.fleet is not allowed to import edgeops.lab",
        ),
        (
            "cli/with_lab.py",
            "from edgeops.lab import runner",
            "The client never imports the lab",
            "edgeops.cli is not allowed to import edgeops.lab",
        ),
        (
            "fleet/screen.py",
            "import textual.app",
            "Only the console (edgeops.ui) imports textual",
            "edgeops.fleet is not allowed to import textual",
        ),
    ],
)
def test_an_import_against_a_contract_breaks_it(
    package_copy: Path, module: str, offending_import: str, contract: str, report: str
) -> None:
    offender = package_copy / "src" / "edgeops" / module
    offender.write_text(f'"""An import the contracts forbid."""\n\n{offending_import}\n', encoding="utf-8")
    try:
        result = lint_imports(package_copy, package_copy / "src")
    finally:
        offender.unlink()
    assert result.returncode != 0, result.stdout
    assert "1 broken" in result.stdout, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert contract in broken and report in broken, result.stdout
