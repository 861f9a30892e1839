"""Reading YAML with ruamel.yaml so every value keeps its line and column for messages (parses cached by content)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from edgeops.files import write_private
from edgeops.inventory.problems import Position, ProblemLog
from edgeops.inventory.secrets import SECRET_KINDS

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
    cache = ParseCache.for_file(path, text)
    data = cache.load() if cache is not None else _MISSING
    if data is not _MISSING:
        return YamlDocument(path, data)
    structure = structure_problem(text)
    if structure is not None:
        line, column, message = structure
        log.add(Position(file, line, column), message)
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
    except (RecursionError, AttributeError, TypeError, ValueError, KeyError, IndexError) as error:
        # The parser itself failed on a shape the checks above do not know: a problem, never a traceback.
        log.add(Position(file), f"YAML that cannot be read ({type(error).__name__}); simplify its anchors and nesting")
        return None
    if cache is not None:
        cache.store(data)
    return YamlDocument(path, data)


# -- shapes the parser cannot survive -------------------------------------------------------------------------

# An inventory nests a few levels (devices, a device, its tags); hundreds of levels are a mistake or an attack, and
# the parser (and everything after it) recurses once per level.
MAX_NESTING = 64
# An anchor or alias token: after a space, a dash, a colon or a flow bracket (not the & of "R&D" or a glob's *).
_ANCHOR = re.compile(r"(?:^|(?<=[\s\[{,:-]))&([^\s,\[\]{}]+)(?=\s|$)")
_ALIAS = re.compile(r"(?:^|(?<=[\s\[{,:]))\*([^\s,\[\]{}]+)")


def structure_problem(text: str) -> tuple[int, int, str] | None:
    """(line, column, message), both 1-based, for what would crash or hang the parser: nesting deeper than
    MAX_NESTING, or an alias inside the node its anchor names (`defaults: &d {<<: *d}`); None when neither."""
    return _too_deep(text) or _self_reference(text)


def _too_deep(text: str) -> tuple[int, int, str] | None:
    """Flow brackets and block indentation levels, counted outside quotes and comments."""
    depth = 0
    indents: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" ")
        if stripped and not stripped.startswith("#") and depth == 0:
            indent = len(line) - len(stripped)
            while indents and indents[-1] >= indent:
                indents.pop()
            indents.append(indent)
            if len(indents) > MAX_NESTING:
                return number, indent + 1, f"nested more than {MAX_NESTING} levels deep"
        quote = ""
        for column, char in enumerate(line, start=1):
            if quote:
                if char == quote:
                    quote = ""
            elif char in "\"'" and depth:
                quote = char
            elif char == "#" and (column == 1 or line[column - 2] in " \t"):
                break
            elif char in "[{":
                depth += 1
                if depth + len(indents) > MAX_NESTING:
                    return number, column, f"nested more than {MAX_NESTING} levels deep"
            elif char in "]}" and depth:
                depth -= 1
    return None


def _self_reference(text: str) -> tuple[int, int, str] | None:
    """An alias on a line inside the block (or flow collection) its anchor opens: a node that contains itself."""
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        for anchor in _ANCHOR.finditer(line.split(" #", 1)[0]):
            name = anchor.group(1)
            indent = len(line) - len(line.lstrip(" "))
            found_inline = _alias_in_flow(line, anchor.end(), name)
            if found_inline is not None:
                return number, found_inline + 1, f"*{name} is inside &{name}: a node cannot contain itself"
            for later_number in range(number + 1, len(lines) + 1):
                later = lines[later_number - 1]
                stripped = later.lstrip(" ")
                if not stripped or stripped.startswith("#"):
                    continue
                if len(later) - len(stripped) <= indent:
                    break
                for found in _ALIAS.finditer(later):
                    if found.group(1) == name:
                        return (
                            later_number,
                            found.start() + 1,
                            f"*{name} is inside &{name}: a node cannot contain itself",
                        )
    return None


def _alias_in_flow(line: str, after: int, name: str) -> int | None:
    """The index of *name inside the flow collection that follows an anchor on the same line, if any."""
    rest = line[after:]
    opening = rest.lstrip(" ")
    if not opening or opening[0] not in "[{":
        return None
    start = after + len(rest) - len(opening)
    depth = 0
    for index in range(start, len(line)):
        if line[index] in "[{":
            depth += 1
        elif line[index] in "]}":
            depth -= 1
            if depth == 0:
                break
        elif line.startswith("*" + name, index) and line[index - 1] in " [{,:":
            tail = line[index + 1 + len(name) : index + 2 + len(name)]
            if not tail or tail in " ,]}":
                return index
    return None


# -- the parse cache ------------------------------------------------------------------------------------------
#
# ruamel.yaml's position-keeping parser is pure Python: a 200-device inventory takes over half a second, every
# time edgeops starts. The parse (not the validation, which reads other files and permissions and always runs)
# is cached in the user cache folder, keyed by the file's exact text, as JSON that rebuilds the same
# CommentedMap/CommentedSeq tree with the same line and column of every key, value and item. Documents with
# anything JSON cannot give back exactly (anchors and aliases, merge keys, tags, floats, dates, block scalars,
# ints written in another base) are never cached: they are parsed each time. One cache file per inventory path,
# overwritten on change, private to the user (the inventory may hold literal passwords, allowed only in a
# private file). EDGEOPS_CACHE_DIR moves it; set to "off", nothing is cached.

CACHE_FORMAT = 1
_MISSING = object()
_PLAIN_SCALARS = (str, int, bool, type(None))


def cache_dir() -> Path | None:
    """Where parses are cached: EDGEOPS_CACHE_DIR, or the user cache folder; None when caching is off."""
    configured = os.environ.get("EDGEOPS_CACHE_DIR")
    if configured == "off":
        return None
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("edgeops"))


class ParseCache:
    """The cached parse of one file's current text."""

    def __init__(self, entry: Path, key: str, text: str) -> None:
        self.entry = entry
        self.key = key
        self.text = text  # the text the key was made from: literal secrets are read back from it

    @classmethod
    def for_file(cls, path: Path, text: str) -> ParseCache | None:
        folder = cache_dir()
        if folder is None:
            return None
        import ruamel.yaml

        identity = f"{CACHE_FORMAT}\0{ruamel.yaml.__version__}\0{text}"
        key = hashlib.sha256(identity.encode("utf-8", errors="surrogatepass")).hexdigest()
        where = hashlib.sha256(str(path.absolute()).encode("utf-8", errors="surrogatepass")).hexdigest()[:32]
        return cls(folder / "yaml" / f"{where}.json", key, text)

    def load(self) -> Any:
        """The cached tree, or _MISSING (no entry, another text's entry, or an unreadable one)."""
        try:
            with open(self.entry, encoding="utf-8") as handle:
                cached = json.load(handle)
            if not isinstance(cached, dict) or cached.get("key") != self.key:
                return _MISSING
            return _decode(cached["tree"], _yaml_lines(self.text))
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            return _MISSING

    def store(self, data: Any) -> None:
        """Cache the tree if it can be given back exactly; a cache that cannot be written is no error."""
        try:
            tree = _encode(data, set(), _yaml_lines(self.text))
        except _NotCacheable:
            return
        try:
            text = json.dumps({"key": self.key, "tree": tree}, ensure_ascii=False, separators=(",", ":"))
            write_private(self.entry, text)
        except (OSError, ValueError):
            return


class _NotCacheable(Exception):
    pass


# Keys whose value may be a literal secret (see inventory.secrets); a file that holds one is parsed every time.
SECRET_KEYS = frozenset({"password", "passphrase"})


def _literal_secret(value: Any) -> bool:
    """Whether a `password:` value is the secret itself rather than a reference to it (env:, keyring:, file:...)."""
    if not isinstance(value, str):
        return value is not None
    kind, separator, _ = value.partition(":")
    return value != "prompt" and (not separator or kind not in SECRET_KINDS or kind == "literal")


# A literal secret never goes into the cache. In its place the entry says "read it from the text", where its position
# says (the key fixes the text exactly), and a load reads it there. Only a plain value on one line can be read back
# so; a file whose literal secret is quoted, in a flow mapping or spread over lines is parsed every time.
_FROM_TEXT = {"t": 1}


def _yaml_lines(text: str) -> list[str]:
    return text.split("\n")  # ruamel counts lines at \n (a \r before it stays on the line, and is stripped below)


def _plain_value_at(lines: list[str], line: int, column: int) -> str | None:
    """The plain one-line scalar at line/column (0-based, as ruamel counts), or None if it is not one."""
    if line >= len(lines):
        return None
    rest = lines[line][column:].rstrip("\r")
    if not rest or rest[0] in "\"'|>&*!{[%@`#":
        return None
    comment = rest.find(" #")
    value = (rest if comment < 0 else rest[:comment]).rstrip(" \t")
    return value or None


def _encode(node: Any, seen: set[int], lines: list[str]) -> Any:
    """JSON for a parsed node: scalars as themselves, mappings and sequences with their positions."""
    if type(node) in _PLAIN_SCALARS:
        return node
    if id(node) in seen:  # an alias: the same object twice
        raise _NotCacheable
    seen.add(id(node))
    if type(node) is CommentedMap:
        if getattr(node, "merge", None) or node.tag.value is not None:
            raise _NotCacheable
        items = []
        known = node.lc.data or {}
        for key, value in node.items():
            position = known.get(key) if type(key) in _PLAIN_SCALARS else None
            if position is None or len(position) != 4:
                raise _NotCacheable
            if key in SECRET_KEYS and _literal_secret(value):
                # The cache must never hold a password, even one the file may hold: only where to read it again.
                if not isinstance(value, str) or _plain_value_at(lines, position[2], position[3]) != value:
                    raise _NotCacheable
                items.append([key, *position, _FROM_TEXT])
                continue
            items.append([key, *position, _encode(value, seen, lines)])
        return {"m": [node.lc.line, node.lc.col, items]}
    if type(node) is CommentedSeq:
        if node.tag.value is not None:
            raise _NotCacheable
        known = node.lc.data or {}
        items = []
        for index, value in enumerate(node):
            item_position = known.get(index)
            if item_position is None or len(item_position) != 2:
                raise _NotCacheable
            items.append([*item_position, _encode(value, seen, lines)])
        return {"s": [node.lc.line, node.lc.col, items]}
    raise _NotCacheable


def _decode(node: Any, lines: list[str]) -> Any:
    if not isinstance(node, dict):
        return node
    if "m" in node:
        line, col, items = node["m"]
        mapping = CommentedMap()
        positions = {}
        for key, key_line, key_col, value_line, value_col, value in items:
            if value == _FROM_TEXT:
                secret = _plain_value_at(lines, value_line, value_col)
                if secret is None:
                    raise ValueError("a cached secret's position holds none")  # a load that fails parses again
                mapping[key] = secret
            else:
                mapping[key] = _decode(value, lines)
            positions[key] = [key_line, key_col, value_line, value_col]
        mapping.lc.line, mapping.lc.col = line, col
        mapping.lc.data = positions or None  # as ruamel leaves an empty {}
        return mapping
    line, col, items = node["s"]
    sequence = CommentedSeq(_decode(value, lines) for _, _, value in items)
    sequence.lc.line, sequence.lc.col = line, col
    sequence.lc.data = {index: [item_line, item_col] for index, (item_line, item_col, _) in enumerate(items)} or None
    return sequence


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
