"""The schema tables of tests/data/yang/ as a lookup: does a gNMI path exist, and what is its type.

A path is given as the engine writes it (`/interface[name=*]/statistics`), with or without module prefixes and with
any key values; what must match the table is each element's name, the module where one is given, and the key names
of every list that is given keys (`active[sequence-number=*]` is not a path of a device whose list is keyed by
`raised-time` and `index`).
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "yang"
TABLES = {
    "srlinux-native": "srlinux-25.3-native.csv.gz",
    "srlinux-openconfig": "srlinux-25.3-openconfig.csv.gz",
    "sros-state": "sros-25.10-state.csv.gz",
}

# Configuration is not tabled; the SR OS port leaves the engine reads are (types from nokia-conf-port.yang).
SROS_CONFIGURE_ROWS = (
    "/nokia-conf:configure,container,nil,rw,nil",
    "/nokia-conf:configure/port[port-id],list,nil,rw,nil",
    "/nokia-conf:configure/port[port-id]/port-id,leaf,string,rw,nokia-types-sros:port",
    "/nokia-conf:configure/port[port-id]/admin-state,leaf,enumeration,rw,nokia-types-sros:admin-state",
    "/nokia-conf:configure/port[port-id]/description,leaf,string,rw,nokia-types-sros:very-long-description",
)

# SR Linux's `tools` tree (operational commands, modules srl_nokia-tools-*) is a datastore of its own that Get and
# Subscribe do not serve; its nodes share names with the state tree's (/interface, /acl), so they are left out.
TOOLS_TREE = "/srl_nokia-tools-"

LEAF_KEYWORDS = frozenset({"leaf", "leaf-list"})


class SchemaError(LookupError):
    """A path the schema does not have, with the reason (the first element that does not fit)."""


@dataclass(frozen=True)
class SchemaNode:
    """One row of a table: a container, list, leaf or leaf-list."""

    path: str  # as the table writes it, e.g. /srl_nokia-interfaces:interface[name]/statistics
    names: tuple[str, ...]  # element names without modules, choice elements dropped
    keyword: str  # container, list, leaf, leaf-list
    primitive: str  # the built-in type under the typedefs: uint64, enumeration, identityref, union, ...
    flag: str  # ro (state) or rw (configuration)
    type: str  # the YANG type as declared: a typedef (srl_nokia-common:oper-state) or a built-in type
    module: str  # the module that defines the node
    parent_module: str  # the module of its parent ("" at the top)
    keys: tuple[str, ...] = ()  # a list's keys, in order

    @property
    def name(self) -> str:
        return self.names[-1]

    @property
    def member(self) -> str:
        """The node's JSON member name in RFC 7951: qualified by its module where the module changes."""
        return self.name if self.module == self.parent_module else f"{self.module}:{self.name}"

    @property
    def is_leaf(self) -> bool:
        return self.keyword in LEAF_KEYWORDS

    @property
    def is_list(self) -> bool:
        return self.keyword == "list"

    @property
    def bare_path(self) -> str:
        return "/" + "/".join(self.names)


def split_path(path: str) -> list[str]:
    """`/a[k=x/y]/b` -> ['a[k=x/y]', 'b']: a `/` inside brackets (a key value) does not split."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in path.strip("/"):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "/" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if current:
        parts.append("".join(current))
    return parts


def parse_element(text: str) -> tuple[str, str, dict[str, str]]:
    """`mod:name[k1=v1][k2]` -> ('mod', 'name', {'k1': 'v1', 'k2': ''})."""
    head, _, rest = text.partition("[")
    module, _, name = head.rpartition(":")
    keys: dict[str, str] = {}
    if rest:
        for part in ("[" + rest).split("]")[:-1]:
            key, _, value = part.lstrip("[").partition("=")
            keys[key] = value
    return module, name, keys


class Schema:
    """One table, indexed by element names (module prefixes and choice elements left out)."""

    def __init__(self, name: str, rows: list[str]) -> None:
        self.name = name
        parsed = [row.rsplit(",", 4) for row in rows if row.strip()]
        # pyang writes a choice's name into the paths below it; gNMI paths have no such element.
        choices = {path for path, keyword, *_ in parsed if keyword == "choice"}
        self.nodes: dict[tuple[str, ...], list[SchemaNode]] = {}
        self._children: dict[tuple[str, ...], dict[str, SchemaNode]] = {}
        for path, keyword, primitive, flag, yang_type in parsed:
            if keyword in ("choice", "case") or path.startswith(TOOLS_TREE):
                continue
            names: list[str] = []
            modules: list[str] = []
            raw = ""
            keys: tuple[str, ...] = ()
            for element in split_path(path):
                raw += "/" + element
                if raw in choices:
                    continue
                module, bare, element_keys = parse_element(element)
                modules.append(module or (modules[-1] if modules else ""))
                names.append(bare)
                keys = tuple(element_keys)
            node = SchemaNode(
                path=path,
                names=tuple(names),
                keyword=keyword,
                primitive=primitive,
                flag=flag,
                type=yang_type,
                module=modules[-1],
                parent_module=modules[-2] if len(modules) > 1 else "",
                keys=keys if keyword == "list" else (),
            )
            self.nodes.setdefault(node.names, []).append(node)
        for names, found in self.nodes.items():
            if len(found) == 1:
                self._children.setdefault(names[:-1], {})[names[-1]] = found[0]

    @classmethod
    @functools.cache
    def load(cls, name: str) -> Schema:
        """A table by name: srlinux-native, srlinux-openconfig or sros-state (SR OS with its port configuration)."""
        with gzip.open(DATA / TABLES[name], "rt", encoding="utf-8") as table:
            rows = table.read().splitlines()
        if name == "sros-state":
            rows += SROS_CONFIGURE_ROWS
        return cls(name, rows)

    def __iter__(self) -> Iterator[SchemaNode]:
        for found in self.nodes.values():
            yield from found

    def leaves(self) -> Iterator[SchemaNode]:
        return (node for node in self if node.is_leaf)

    def at(self, names: tuple[str, ...], module: str = "") -> SchemaNode | None:
        """The node at element names (module: the last element's, when the caller knows it)."""
        found = self.nodes.get(names, [])
        if module:
            found = [node for node in found if node.module == module]
        return found[0] if len(found) == 1 else None

    def node(self, path: str) -> SchemaNode:
        """The node a gNMI path names; SchemaError says why when the device has no such path."""
        names: list[str] = []
        node: SchemaNode | None = None
        for element in split_path(path):
            module, name, keys = parse_element(element)
            names.append(name)
            found = self.nodes.get(tuple(names), [])
            if module:
                found = [candidate for candidate in found if candidate.module == module]
            where = "/" + "/".join(names[:-1])
            if not found:
                raise SchemaError(f"{self.name}: no element {element.split('[')[0]!r} under {where}")
            if len(found) > 1:
                raise SchemaError(f"{self.name}: {name!r} under {where} is ambiguous; give its module")
            node = found[0]
            if keys:
                if not node.is_list:
                    raise SchemaError(f"{self.name}: {where}/{name} is a {node.keyword}; it takes no keys")
                if set(keys) != set(node.keys):
                    raise SchemaError(
                        f"{self.name}: list {where}/{name} is keyed by [{']['.join(node.keys)}],"
                        f" not [{']['.join(keys)}]"
                    )
        if node is None:
            raise SchemaError(f"{self.name}: the root is not a path")
        return node

    def find(self, path: str) -> SchemaNode | None:
        try:
            return self.node(path)
        except SchemaError:
            return None

    def children(self, names: tuple[str, ...]) -> dict[str, SchemaNode]:
        """The child nodes of the node at `names`, by name (the top-level nodes for `()`)."""
        return self._children.get(names, {})
