"""`edgeops completion`: the bash script, sourced in a real bash, completes subcommands, flags and device names."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from edgeops.cli import main

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "two-site.yaml"
needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


@pytest.fixture
def shell_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose `edgeops` (on PATH) is this source tree, on the example inventory."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    command = bin_dir / "edgeops"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m edgeops "$@"\n')
    command.chmod(command.stat().st_mode | stat.S_IXUSR)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("EDGEOPS_")}
    environment.update(
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONPATH=os.pathsep.join(path for path in sys.path if path),
        EDGEOPS_INVENTORY=str(EXAMPLE),
        EDGEOPS_CONFIG_DIR=str(tmp_path / "config"),
        EDGEOPS_LOG_DIR=str(tmp_path / "logs"),
    )
    return environment


def complete(shell_env: dict[str, str], line: str) -> list[str]:
    """What bash offers for `line` (the cursor at its end), after sourcing `edgeops completion bash`."""
    script = f"""
source <(edgeops completion bash)
complete -p edgeops
COMP_LINE={line!r}
COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
_shtab_edgeops edgeops "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    result = subprocess.run(
        ["bash", "-c", script], env=shell_env, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    registration, *offered = result.stdout.splitlines()
    assert registration.endswith(" edgeops") and "-F _shtab_edgeops" in registration
    return [word.strip() for word in offered if word.strip()]


@needs_bash
def test_bash_completes_subcommands_flags_and_device_names(shell_env: dict[str, str]) -> None:
    assert {"run", "inventory", "config", "completion"} <= set(complete(shell_env, "edgeops "))
    assert set(complete(shell_env, "edgeops run --f")) == {"--format"}
    assert set(complete(shell_env, "edgeops run --format ")) == {"text", "json", "yaml", "csv", "table"}
    assert set(complete(shell_env, "edgeops config ")) == {"edit", "path", "show"}
    offered = complete(shell_env, "edgeops run 'show version' --target alc-")
    assert offered and all(word.startswith("alc-") for word in offered)
    assert "alc-spine1" in offered
    assert "bil-leaf01" not in offered
    assert set(complete(shell_env, "edgeops inventory show --site ")) == {"alcala", "bilbao"}


def test_words_offer_key_value_targets_and_nothing_without_an_inventory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEOPS_CONFIG_DIR", str(tmp_path))
    assert main(["-i", str(EXAMPLE), "completion", "--words", "targets"]) == 0
    words = capsys.readouterr().out.splitlines()
    assert {"all", "site:alcala", "role:leaf", "platform:srlinux", "alc-spine1"} <= set(words)
    assert main(["-i", str(tmp_path / "none.yaml"), "completion", "--words", "devices"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_every_subcommand_and_the_target_words(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    for word in ("run", "inventory", "config", "format", "readonly", "completion --words targets"):
        assert word in script
