"""Reading YAML with ruamel.yaml so every value keeps its line and column for messages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from edgeops.inventory.problems import Position, ProblemLog

_DUPLICATE_KEY = re.compile(r'found duplicate key "(?P<key>.*?)" with value')


class YamlDocument:
    """A parsed YAML file plus the helpers that turn its nodes into positions."""

    def __init__(self, path: Path, data: Any) -> None:
        self.path = path
        self.file = str(path)
        self.data = data

    def whole_file(self) -> Position:
        return Position(self.file)

    def start_of(self, node: Any) -> Position:
        """Where a mapping or sequence begins (for a list item: its first key)."""
        lc = getattr(node, "lc", None)
        if lc is None or lc.line is None:
            return Position(self.file)
        return Position(self.file, lc.line + 1, lc.col + 1)

    def key_at(self, mapping: Any, key: Any) -> Position:
        try:
            line, col = mapping.lc.key(key)
        except (AttributeError, KeyError, TypeError):
            return self.start_of(mapping)
        return Position(self.file, line + 1, col + 1)

    def value_at(self, mapping: Any, key: Any) -> Position:
        value = mapping.get(key)
        if isinstance(value, CommentedMap | CommentedSeq):
            # A nested block starts on the next line; the key is the clearer place to point at.
            return self.key_at(mapping, key)
        try:
            line, col = mapping.lc.value(key)
        except (AttributeError, KeyError, TypeError):
            return self.key_at(mapping, key)
        return Position(self.file, line + 1, col + 1)

    def item_at(self, sequence: Any, index: int) -> Position:
        try:
            line, col = sequence.lc.item(index)
        except (AttributeError, KeyError, TypeError, IndexError):
            return self.start_of(sequence)
        return Position(self.file, line + 1, col + 1)


def read_yaml(path: Path, log: ProblemLog) -> YamlDocument | None:
    """Parse one YAML file; a syntax error becomes a problem at its position and None is returned."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        log.add(Position(file), "no such file")
        return None
    except IsADirectoryError:
        log.add(Position(file), "is a folder, not a file")
        return None
    except UnicodeDecodeError as error:
        log.add(Position(file), f"not UTF-8 text ({error.reason} at byte {error.start})")
        return None
    except OSError as error:
        log.add(Position(file), f"cannot read: {error.strerror or error}")
        return None
    yaml = YAML(typ="rt", pure=True)
    try:
        data = yaml.load(text)
    except MarkedYAMLError as error:
        log.add(_mark_position(file, error.problem_mark), _syntax_message(error))
        return None
    except YAMLError as error:  # unmarked errors are rare; keep the message, there is no position
        log.add(Position(file), f"YAML error: {error}")
        return None
    return YamlDocument(path, data)


def _mark_position(file: str, mark: Any) -> Position:
    if mark is None:
        return Position(file)
    return Position(file, mark.line + 1, mark.column + 1)


def _syntax_message(error: MarkedYAMLError) -> str:
    problem = error.problem or "invalid YAML"
    duplicate = _DUPLICATE_KEY.match(problem)
    if duplicate:
        # ruamel's own text quotes both values, which could be a password: name only the key.
        return f"duplicate key '{duplicate['key']}' in the same mapping"
    context = f" {error.context}" if error.context else ""
    hint = ""
    if "got '{'" in problem or "got '}'" in problem:
        # The usual cause: a range like leaf{01..08} inside [ ] or { }, where braces are YAML syntax.
        hint = '; inside [ ] or { }, quote values that contain braces, e.g. "leaf{01..08}"'
    return f"YAML syntax error: {problem}{context}{hint}"
