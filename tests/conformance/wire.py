"""What a gNMI notification carries, checked against a schema table: paths, member names and value encodings.

Values are checked as RFC 7951 (JSON_IETF) wants them, which SR OS's JSON encoding follows too: 64-bit integers and
decimal64 as JSON strings, other integers as JSON numbers, booleans as JSON booleans, enumerations and bits by name,
identityrefs as `module:identity`. Member names are checked for JSON_IETF only: qualified by module exactly where
the module changes from the parent's (the tables show where), and bare otherwise; SR OS's JSON uses bare names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pygnmi.spec.v080 import gnmi_pb2

from conformance.enumerations import BITS_BY_PATH, allowed_values
from conformance.schema import Schema, SchemaNode

INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}
AS_STRING = frozenset({"int64", "uint64", "decimal64"})
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_INTEGER = re.compile(r"^-?\d+$")
_QUALIFIED = re.compile(r"^[A-Za-z_][\w.-]*:[A-Za-z_][\w.-]*$")
# RFC 3339 date-and-time, as the ietf/openconfig/srl_nokia date-and-time typedefs require.
_DATE_AND_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
DATE_AND_TIME_TYPES = frozenset(
    {"ietf-yang-types:date-and-time", "openconfig-yang-types:date-and-time", "srl_nokia-common:date-and-time-delta"}
)


def value_problem(node: SchemaNode, value: Any, *, qualified_identities: bool = True) -> str | None:
    """Why a leaf's JSON value does not have the encoding its YANG type requires (None if it does)."""
    if node.keyword == "leaf-list":
        if not isinstance(value, list):
            return f"a leaf-list is a JSON array, not {value!r}"
        for element in value:
            if (problem := _scalar_problem(node, element, qualified_identities)) is not None:
                return problem
        return None
    return _scalar_problem(node, value, qualified_identities)


def _scalar_problem(node: SchemaNode, value: Any, qualified_identities: bool) -> str | None:
    primitive = node.primitive
    if primitive in INT_RANGES:
        low, high = INT_RANGES[primitive]
        if primitive in AS_STRING:
            if not isinstance(value, str) or not _INTEGER.match(value):
                return f"{primitive} is a JSON string of digits, not {value!r}"
            number = int(value)
        else:
            if isinstance(value, bool) or not isinstance(value, int):
                return f"{primitive} is a JSON number, not {value!r}"
            number = value
        if not low <= number <= high:
            return f"{number} is out of the range of {primitive}"
        return None
    if primitive == "decimal64":
        # fraction-digits is not in the tables: any number of decimals is accepted.
        if not isinstance(value, str) or not _DECIMAL.match(value):
            return f"decimal64 is a JSON string, not {value!r}"
        return None
    if primitive == "boolean":
        return None if isinstance(value, bool) else f"boolean is true or false, not {value!r}"
    if primitive == "string":
        if not isinstance(value, str):
            return f"string is a JSON string, not {value!r}"
        if node.type in DATE_AND_TIME_TYPES and not _DATE_AND_TIME.match(value):
            return f"{node.type} is an RFC 3339 date and time, not {value!r}"
        return None
    if primitive == "enumeration":
        if not isinstance(value, str):
            return f"an enumeration is its name as a JSON string, not {value!r}"
        values, complete = allowed_values(node.type, node.bare_path)
        if values is not None and value not in values:
            known = "is not a value of" if complete else "is not known to be a value of"
            return f"{value!r} {known} {node.type if node.type != 'enumeration' else node.bare_path}"
        return None
    if primitive == "identityref":
        if not isinstance(value, str) or (qualified_identities and not _QUALIFIED.match(value)):
            return f"an identityref is `module:identity`, not {value!r}"
        return None
    if primitive == "bits":
        if not isinstance(value, str):
            return f"bits are a JSON string of bit names, not {value!r}"
        names = BITS_BY_PATH.get(node.bare_path)
        unknown = [bit for bit in value.split() if names is not None and bit not in names]
        return f"{unknown} are not bits of {node.bare_path}" if unknown else None
    if primitive == "empty":
        return None if value == [None] else f"empty is [null], not {value!r}"
    if primitive == "binary":
        return None if isinstance(value, str) else f"binary is a base64 JSON string, not {value!r}"
    # union and leafref: the member types and the leafref's target are not in the tables, so only the JSON shape
    # of a scalar is checked here.
    if isinstance(value, dict | list):
        return f"{primitive} is a scalar, not {value!r}"
    return None


@dataclass
class Findings:
    """What walking notifications found: every leaf path served, and what is wrong with paths and encodings."""

    leaves: set[str] = field(default_factory=set)  # bare schema paths of every leaf served
    path_problems: list[str] = field(default_factory=list)  # served paths the table does not have
    encoding_problems: list[str] = field(default_factory=list)  # member names and values


def _elements(path: gnmi_pb2.Path) -> Iterator[tuple[str, dict[str, str]]]:
    for elem in path.elem:
        yield elem.name, dict(elem.key)


def _json(value: gnmi_pb2.TypedValue) -> Any:
    which = value.WhichOneof("value")
    if which == "json_ietf_val":
        return json.loads(value.json_ietf_val)
    if which == "json_val":
        return json.loads(value.json_val)
    if which == "bytes_val":
        return json.loads(value.bytes_val)
    raise AssertionError(f"not a JSON value: {which}")


class NotificationChecker:
    """Walks notifications against one schema table and records Findings."""

    def __init__(self, schema: Schema, *, qualified_members: bool, qualified_identities: bool = True) -> None:
        self.schema = schema
        self.qualified_members = qualified_members  # JSON_IETF: RFC 7951 member names
        self.qualified_identities = qualified_identities
        self.findings = Findings()

    def check(self, notification: gnmi_pb2.Notification) -> None:
        prefix = list(_elements(notification.prefix)) if notification.HasField("prefix") else []
        for update in notification.update:
            elements = prefix + list(_elements(update.path))
            node = self._path_node(elements)
            if node is None:
                continue
            self._value(node, _json(update.val), "/".join(name for name, _ in elements))
        for path in notification.delete:
            self._path_node(prefix + list(_elements(path)))

    def _path_node(self, elements: list[tuple[str, dict[str, str]]]) -> SchemaNode | None:
        """The node a path names, checking names, modules and key names; None (recorded) if the table lacks it."""
        names: list[str] = []
        node: SchemaNode | None = None
        for sent, keys in elements:
            module, _, name = sent.rpartition(":")
            names.append(name)
            node = self.schema.at(tuple(names))
            shown = "/" + "/".join(names)
            if node is None:
                self.findings.path_problems.append(f"{self.schema.name}: no {shown}")
                return None
            if module and module != node.module:
                self.findings.path_problems.append(f"{shown}: module {module!r}, the table says {node.module!r}")
            if keys and set(keys) != set(node.keys):
                self.findings.path_problems.append(f"{shown}: keys [{']['.join(keys)}], the table: {list(node.keys)}")
        return node

    def _value(self, node: SchemaNode, value: Any, where: str) -> None:
        if node.is_leaf:
            self.findings.leaves.add(node.bare_path)
            if (problem := value_problem(node, value, qualified_identities=self.qualified_identities)) is not None:
                self.findings.encoding_problems.append(f"{where}: {problem}")
            return
        if not isinstance(value, dict):
            self.findings.encoding_problems.append(f"{where}: a {node.keyword} is a JSON object, not {value!r}")
            return
        self._members(node, value, where)

    def _members(self, node: SchemaNode, obj: dict[str, Any], where: str) -> None:
        children = self.schema.children(node.names)
        for member, value in obj.items():
            module, _, name = member.rpartition(":")
            child = children.get(name)
            if child is None:
                self.findings.path_problems.append(f"{self.schema.name}: no {node.bare_path}/{name}")
                continue
            here = f"{where}/{member}"
            expected = child.member if self.qualified_members else child.name
            if member != expected:
                self.findings.encoding_problems.append(f"{here}: the member is named {expected!r}")
            elif module and module != child.module:
                self.findings.encoding_problems.append(f"{here}: module {module!r}, the table says {child.module!r}")
            if child.is_list:
                if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
                    self.findings.encoding_problems.append(f"{here}: a list is a JSON array of objects")
                    continue
                for entry in value:
                    missing = [key for key in child.keys if not any(m.rpartition(":")[2] == key for m in entry)]
                    if missing:
                        self.findings.encoding_problems.append(f"{here}: an entry lacks its keys {missing}")
                    self._members(child, entry, here)
            else:
                self._value(child, value, here)

    def check_document(self, document: dict[str, Any]) -> None:
        """A whole JSON document from the root (what `info from state / | as json` prints), members unprefixed."""
        self._members(_ROOT, document, "")


# The schema root: its children are the top-level nodes.
_ROOT = SchemaNode(
    path="/", names=(), keyword="container", primitive="nil", flag="ro", type="nil", module="", parent_module=""
)
