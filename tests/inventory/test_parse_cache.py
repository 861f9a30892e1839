"""The YAML parse cache: the same tree and positions as a fresh parse, keyed by the text, private, never wrong."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from edgeops.inventory.loader import load_inventory
from edgeops.inventory.problems import InventoryError, ProblemLog
from edgeops.inventory.yaml_source import read_yaml

from .conftest import WriteFile
from .test_validation import MANY_MISTAKES

FLEET = """
# a comment, and flow and block styles mixed
version: 1
sites: [alcala, {code: madrid, name: "Madrid-Julián Camarillo"}]
defaults: {platform: srlinux, role: leaf, use_agent: false, gnmi: false}
devices:
  - name: alcala-leaf{1..3}
    site: alcala
    host: '127.10.1.{1..3}'
    ssh_port: 2222
    tags:
      - lab
      - "quoted: tag"
  - name: madrid-gw1
    site: madrid
    platform: sros
    role: gateway
    host: 127.10.2.1
    tags: []
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("EDGEOPS_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def no_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on ruamel.yaml cannot parse: whatever loads must have come from the cache."""

    def refuse(self: Any, text: Any) -> Any:
        raise AssertionError("parsed again although the text was cached")

    monkeypatch.setattr(YAML, "load", refuse)


def cache_files(cache: Path) -> list[Path]:
    return sorted((cache / "yaml").glob("*.json")) if (cache / "yaml").exists() else []


def assert_same_tree(cached: Any, fresh: Any) -> None:
    """Same types, values, order, and the same line and column for every mapping, key, value and item."""
    assert type(cached) is type(fresh)
    if isinstance(fresh, CommentedMap | CommentedSeq):
        assert (cached.lc.line, cached.lc.col) == (fresh.lc.line, fresh.lc.col)
        assert cached.lc.data == fresh.lc.data
        if isinstance(fresh, CommentedMap):
            assert list(cached) == list(fresh)
            for key in fresh:
                assert_same_tree(cached[key], fresh[key])
        else:
            assert len(cached) == len(fresh)
            for cached_item, fresh_item in zip(cached, fresh, strict=True):
                assert_same_tree(cached_item, fresh_item)
    else:
        assert cached == fresh


def test_the_second_load_comes_from_the_cache_and_is_the_same(write: WriteFile, cache: Path, request) -> None:
    path = write("inventory.yaml", FLEET)
    fresh = read_yaml(path, ProblemLog())
    first = load_inventory(path)
    assert len(cache_files(cache)) == 1
    request.getfixturevalue("no_parser")
    cached = read_yaml(path, ProblemLog())
    assert fresh is not None and cached is not None
    assert_same_tree(cached.data, fresh.data)
    assert load_inventory(path) == first
    assert [device.source_line for device in first.devices] == [6, 6, 6, 13]


def test_problems_from_a_cached_parse_have_the_same_file_line_col(write: WriteFile, cache: Path, request) -> None:
    # (gnmi_port 0 would make it uncacheable: ruamel keeps a written 0 as a ScalarInt, to write it back as it was)
    path = write("inventory.yaml", MANY_MISTAKES.replace("gnmi_port: 0", "gnmi_port: 70001"))
    with pytest.raises(InventoryError) as fresh:
        load_inventory(path)
    request.getfixturevalue("no_parser")
    with pytest.raises(InventoryError) as cached:
        load_inventory(path)
    assert [problem.format() for problem in cached.value.problems] == [
        problem.format() for problem in fresh.value.problems
    ]
    assert len(fresh.value.problems) > 5


def test_a_changed_file_is_parsed_again_and_replaces_its_entry(write: WriteFile, cache: Path) -> None:
    path = write("inventory.yaml", FLEET)
    assert len(load_inventory(path).devices) == 4
    write("inventory.yaml", FLEET.replace("{1..3}", "{1..5}"))
    assert len(load_inventory(path).devices) == 6
    assert len(cache_files(cache)) == 1  # one entry per inventory file, not one per version


def test_what_json_cannot_give_back_exactly_is_never_cached(write: WriteFile, cache: Path) -> None:
    documents = {
        "alias.yaml": "base: &base {a: 1}\nother: *base\n",
        "merge.yaml": "base: &base {a: 1}\nother:\n  <<: *base\n  b: 2\n",
        "float.yaml": "value: 1.50\n",
        "octal.yaml": "value: 0o17\n",
        "zero.yaml": "value: 0\n",
        "date.yaml": "value: 2025-06-01\n",
        "block.yaml": "value: |\n  two\n  lines\n",
        "tagged.yaml": "value: !custom {a: 1}\n",
    }
    for name, text in documents.items():
        path = write(name, text)
        assert read_yaml(path, ProblemLog()) is not None
        assert cache_files(cache) == [], f"{name} was cached"


def test_a_damaged_or_foreign_cache_entry_is_ignored(write: WriteFile, cache: Path) -> None:
    path = write("inventory.yaml", FLEET)
    first = load_inventory(path)
    (entry,) = cache_files(cache)
    for damage in ("{not json", json.dumps({"key": "another text", "tree": {}}), json.dumps({"tree": 1}), "[]"):
        entry.write_text(damage, encoding="utf-8")
        assert load_inventory(path) == first


def test_the_cache_is_private_and_can_be_switched_off(
    write: WriteFile, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write("inventory.yaml", FLEET, mode=0o600)  # may hold literal passwords: so may its cached parse
    load_inventory(path)
    (entry,) = cache_files(cache)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(entry.parent.stat().st_mode) == 0o700
    monkeypatch.setenv("EDGEOPS_CACHE_DIR", "off")
    entry.unlink()
    load_inventory(path)
    assert cache_files(cache) == []


def test_an_unwritable_cache_folder_is_no_error(write: WriteFile, tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("EDGEOPS_CACHE_DIR", str(blocker / "cache"))  # a folder inside a file cannot exist
    assert len(load_inventory(write("inventory.yaml", FLEET)).devices) == 4


def test_a_literal_password_that_cannot_be_read_back_plain_keeps_its_file_out_of_the_cache(
    write: WriteFile, cache: Path
) -> None:
    secret = "Lit3ral-Passw0rd"
    for name, line in {
        "plain.yaml": f"password: {secret}",
        "prefixed.yaml": f"password: 'literal:{secret}'",
        "refused.yaml": f"password: {secret}",  # written world-readable: the loader refuses it, the cache must too
    }.items():
        path = write(name, FLEET.replace("defaults: {", f"defaults: {{{line}, "))
        assert read_yaml(path, ProblemLog()) is not None
    assert cache_files(cache) == []
    assert not any(secret in file.read_text() for file in cache.rglob("*") if file.is_file())
    # A reference is no secret: that file is cached as before.
    path = write("reference.yaml", FLEET.replace("defaults: {", "defaults: {password: 'env:EO_PASSWORD', "))
    assert read_yaml(path, ProblemLog()) is not None
    assert len(cache_files(cache)) == 1


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_plain_literal_password_is_read_from_the_text_and_never_written_to_the_cache(
    write: WriteFile, cache: Path, request, newline: str
) -> None:
    secret = "literal:Lit3ral-Passw0rd!"
    jump = "jump_hosts:\n  - name: bastion\n    host: 127.10.0.1\n    password: Jump-0nly  # c\n"
    text = FLEET.replace("defaults: {", jump + "defaults: {")
    text = text.replace("  - name: madrid-gw1\n", f"  - name: madrid-gw1\n    password: {secret}\n")
    path = write("inventory.yaml", text.replace("\n", newline), mode=0o600)
    fresh = read_yaml(path, ProblemLog())
    assert read_yaml(path, ProblemLog()) is not None
    assert len(cache_files(cache)) == 1
    cached_text = "".join(file.read_text() for file in cache.rglob("*") if file.is_file())
    assert "Lit3ral" not in cached_text and "0nly" not in cached_text
    request.getfixturevalue("no_parser")
    cached = read_yaml(path, ProblemLog())
    assert fresh is not None and cached is not None
    assert_same_tree(cached.data, fresh.data)
    assert cached.data["devices"][1]["password"] == secret and cached.data["jump_hosts"][0]["password"] == "Jump-0nly"


def test_another_password_in_the_same_place_is_never_taken_from_an_old_entry(write: WriteFile, cache: Path) -> None:
    path = write("inventory.yaml", FLEET.replace("devices:\n", "devices:\n  - name: x\n    password: first\n"))
    assert read_yaml(path, ProblemLog()) is not None
    path.write_text(path.read_text().replace("password: first", "password: other"))  # same length, same place
    document = read_yaml(path, ProblemLog())
    assert document is not None and document.data["devices"][0]["password"] == "other"
