"""Reading a containerlab topology (`*.clab.yml`) as an inventory: its Nokia nodes become devices."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from edgeops.inventory.loader import default_ssh_config, default_system_ssh_config
from edgeops.inventory.model import Credentials, Device, Inventory, SecretRef, Site
from edgeops.inventory.problems import Position, ProblemLog
from edgeops.inventory.secrets import is_private
from edgeops.inventory.values import DEFAULT_GNMI_PORT, INVALID, ValueReader
from edgeops.inventory.yaml_source import YamlDocument, read_yaml
from edgeops.platforms import KNOWN_ROLES, GnmiTls, Platform

# containerlab kind -> platform; nodes of other kinds (linux hosts, bridges, other vendors) are left out.
KIND_PLATFORMS: dict[str, Platform] = {
    "nokia_srlinux": Platform.SRLINUX,
    "srl": Platform.SRLINUX,
    "nokia_sros": Platform.SROS,  # vrnetlab vSIM
    "vr-sros": Platform.SROS,
    "vr-nokia_sros": Platform.SROS,
    "nokia_srsim": Platform.SROS,  # the containerised SR-SIM
}

# The passwords containerlab configures are public defaults, yet edgeops stores no password: these
# environment variables carry them (admin / NokiaSrl1! for SR Linux, admin / admin for a vSIM).
CLAB_PASSWORD_VARIABLES: dict[Platform, str] = {
    Platform.SRLINUX: "EDGEOPS_CLAB_SRLINUX_PASSWORD",
    Platform.SROS: "EDGEOPS_CLAB_SROS_PASSWORD",
}
CLAB_USERNAME = "admin"
# SR Linux nodes get a certificate from containerlab's own CA; SR OS nodes serve gNMI without TLS.
CLAB_GNMI_TLS: dict[Platform, GnmiTls] = {Platform.SRLINUX: GnmiTls.SKIP_VERIFY, Platform.SROS: GnmiTls.INSECURE}
DEFAULT_TYPES: dict[Platform, str] = {Platform.SRLINUX: "ixr-d2l", Platform.SROS: "sr-1"}

# containerlab's SR Linux types (with or without dashes) -> the chassis name SR Linux itself reports.
SRLINUX_MODELS: dict[str, str] = {
    "ixrd1": "7220 IXR-D1",
    "ixrd2": "7220 IXR-D2",
    "ixrd2l": "7220 IXR-D2L",
    "ixrd3": "7220 IXR-D3",
    "ixrd3l": "7220 IXR-D3L",
    "ixrd4": "7220 IXR-D4",
    "ixrd5": "7220 IXR-D5",
    "ixrh2": "7220 IXR-H2",
    "ixrh3": "7220 IXR-H3",
    "ixrh4": "7220 IXR-H4",
    "ixrh432d": "7220 IXR-H4-32D",
    "ixrh532d": "7220 IXR-H5-32D",
    "ixrh564d": "7220 IXR-H5-64D",
    "ixrh564o": "7220 IXR-H5-64O",
    "ixr6": "7250 IXR-6",
    "ixr6e": "7250 IXR-6e",
    "ixr10": "7250 IXR-10",
    "ixr10e": "7250 IXR-10e",
    "ixr18e": "7250 IXR-18e",
    "ixrx1b": "7250 IXR-X1b",
    "ixrx3b": "7250 IXR-X3b",
    "ixsa1": "7215 IXS-A1",
    "sxr1x44s": "7730 SXR-1x-44s",
    "sxr1d32d": "7730 SXR-1d-32d",
}

# Labels that describe the drawing of the lab or containerlab itself, not the device.
_IGNORED_LABEL_PREFIXES = ("graph-", "clab-", "clab_", "topoviewer")
_ROLE_FROM_NAME = re.compile(r"^([a-z]+)")
_ROLE_ABBREVIATIONS = {"gw": "gateway", "bl": "border", "sp": "spine", "lf": "leaf", "ss": "superspine"}
_CHASSIS_IN_TYPE = re.compile(r"(?:^|\s)chassis=(\S+)")


def load_containerlab(path: str | os.PathLike[str]) -> Inventory:
    """Devices from a containerlab topology file. Raises InventoryError.

    Per node: kind → platform, type → model, mgmt-ipv4 (or the container name) → host, labels `site`,
    `site-name`, `role`, `model` and `tags` → site, site name, role, model and tags; other labels become
    `key=value` tags. Credentials: user admin, password from $EDGEOPS_CLAB_SRLINUX_PASSWORD or
    $EDGEOPS_CLAB_SROS_PASSWORD. gNMI on 57400: skip-verify TLS for SR Linux, insecure for SR OS.
    """
    source = Path(path).expanduser()
    log = ProblemLog()
    document = read_yaml(source, log)
    inventory = _Topology(document, log).read() if document is not None else None
    log.raise_if_any()
    assert inventory is not None
    return inventory


def model_for(platform: Platform, node_type: str | None) -> str:
    """The model name for a containerlab node type, e.g. ixr-d3l → 7220 IXR-D3L, sr-7 → 7750 SR-7."""
    raw = (node_type or DEFAULT_TYPES.get(platform, "")).strip()
    if platform is Platform.SRLINUX:
        return SRLINUX_MODELS.get(raw.lower().replace("-", ""), raw)
    chassis = _CHASSIS_IN_TYPE.search(raw)  # vrnetlab's long form: "cpu=2 ram=4 chassis=sr-7 slot=A ..."
    if chassis:
        raw = chassis.group(1)
    family, dash, rest = raw.lower().partition("-")
    if not dash or not rest:
        return raw
    if family == "sr":
        return f"7750 SR-{_chassis_suffix(rest)}"
    if family == "ixr":
        return f"7250 IXR-{_chassis_suffix(rest)}"
    if family == "sar":
        return f"7705 SAR-{rest.upper()}"
    return raw


def _chassis_suffix(rest: str) -> str:
    """Nokia writes chassis numbers with lower-case suffixes (SR-1s, SR-2se, IXR-e) and
    upper-case port-count suffixes after another dash (SR-1x-48D)."""
    first, dash, after = rest.partition("-")
    if first[:1].isalpha() and len(first) > 1 and first[1:].isdigit():
        first = first.upper()  # ixr-r6 -> IXR-R6
    return first + (dash + after.upper() if dash else "")


class _Topology:
    def __init__(self, document: YamlDocument, log: ProblemLog) -> None:
        self.doc = document
        self.log = log
        try:
            private = is_private(document.path)
        except OSError:
            private = False
        self.reader = ValueReader(log, file=document.file, base_dir=document.path.parent, private=private)

    def read(self) -> Inventory | None:
        data = self.doc.data
        if not isinstance(data, CommentedMap):
            self.log.add(self.doc.start_of(data), "a containerlab topology is a mapping with name and topology")
            return None
        lab = data.get("name")
        if not isinstance(lab, str) or not lab.strip():
            self.log.add(self.doc.whole_file(), "the topology has no name (containerlab requires one)")
            lab = self.doc.path.name.split(".")[0]
        topology = data.get("topology")
        nodes = topology.get("nodes") if isinstance(topology, CommentedMap) else None
        if not isinstance(nodes, CommentedMap):
            self.log.add(self.doc.whole_file(), "the topology has no topology.nodes mapping")
            return None
        defaults = _mapping(topology.get("defaults"))
        kinds = _mapping(topology.get("kinds"))
        groups = _mapping(topology.get("groups"))
        prefix = data.get("prefix", "clab")

        sites: dict[str, Site] = {}
        devices: list[Device] = []
        for node_name, node in nodes.items():
            node = node if isinstance(node, CommentedMap) else CommentedMap()
            where = self.doc.key_at(nodes, node_name)
            group = _mapping(groups.get(node.get("group"))) if node.get("group") else {}
            kind = node.get("kind") or group.get("kind") or defaults.get("kind")
            if not kind:
                self.log.add(where, f"node '{node_name}' has no kind")
                continue
            platform = KIND_PLATFORMS.get(str(kind))
            if platform is None:
                continue  # a Linux host, a bridge or another vendor: not managed by edgeops
            layers = [defaults, _mapping(kinds.get(kind)), group, node]
            labels = self._labels(layers)
            device = self._device(str(node_name), node, where, platform, layers, labels, lab, prefix)
            if device is None:
                continue
            site_code = device.site
            if site_code not in sites:
                site_name = labels.get("site-name", (site_code, where))[0]
                sites[site_code] = Site(name=str(site_name), code=site_code)
            devices.append(device)
        return Inventory(
            sites=tuple(sites.values()),
            devices=tuple(devices),
            source=self.doc.path,
            ssh_config=default_ssh_config(),
            system_ssh_config=default_system_ssh_config(),
        )

    def _labels(self, layers: list[Mapping[str, Any]]) -> dict[str, tuple[Any, Position]]:
        """Labels merged like containerlab merges them: defaults < kind < group < node."""
        labels: dict[str, tuple[Any, Position]] = {}
        for layer in layers:
            raw = layer.get("labels")
            if raw is None:
                continue
            if not isinstance(raw, CommentedMap):
                self.log.add(self.doc.key_at(layer, "labels"), "labels must be a mapping of name: value")
                continue
            for key, value in raw.items():
                labels[str(key)] = (value, self.doc.value_at(raw, key))
        return labels

    def _device(
        self,
        name: str,
        node: CommentedMap,
        where: Position,
        platform: Platform,
        layers: list[Mapping[str, Any]],
        labels: dict[str, tuple[Any, Position]],
        lab: str,
        prefix: Any,
    ) -> Device | None:
        def setting(key: str) -> Any:
            for layer in reversed(layers):
                if layer.get(key) is not None:
                    return layer[key]
            return None

        site = self._label_name(labels, "site", lab)
        role = self._label_name(labels, "role", _role_from_name(name))
        if site is None or role is None:
            return None
        model = self._label_text(labels, "model") or model_for(platform, _text_or_none(setting("type")))
        host = self._host(node, where, name, lab, prefix)
        if host is None:
            return None
        return Device(
            name=name,
            site=site,
            role=role,
            platform=platform,
            model=model,
            host=host,
            ssh_port=22,
            gnmi_port=DEFAULT_GNMI_PORT,
            gnmi_tls=CLAB_GNMI_TLS[platform],
            credentials=Credentials(
                username=CLAB_USERNAME, password=SecretRef("env", CLAB_PASSWORD_VARIABLES[platform])
            ),
            tags=frozenset(self._tags(labels)),
            source_line=where.line,
            explicit_fields=frozenset(
                {
                    "site",
                    "role",
                    "platform",
                    "model",
                    "host",
                    "ssh_port",
                    "gnmi_port",
                    "gnmi_tls",
                    "username",
                    "password",
                }
            ),
        )

    def _label_name(self, labels: dict[str, tuple[Any, Position]], key: str, fallback: str) -> str | None:
        if key not in labels:
            return fallback
        value, where = labels[key]
        checked = self.reader.name(value, where, f"label {key}")
        return None if checked is INVALID else str(checked)

    def _label_text(self, labels: dict[str, tuple[Any, Position]], key: str) -> str | None:
        if key not in labels:
            return None
        value, where = labels[key]
        checked = self.reader.text(value, where, f"label {key}")
        return None if checked is INVALID else str(checked)

    def _tags(self, labels: dict[str, tuple[Any, Position]]) -> set[str]:
        tags: set[str] = set()
        for key, (value, _) in labels.items():
            if key in ("site", "site-name", "role", "model") or key.lower().startswith(_IGNORED_LABEL_PREFIXES):
                continue
            if key == "tags":
                tags.update(item.strip() for item in str(value).split(",") if item.strip())
            else:
                tags.add(key if value in (None, "") else f"{key}={value}")
        return tags

    def _host(self, node: CommentedMap, where: Position, name: str, lab: str, prefix: Any) -> str | None:
        for key in ("mgmt-ipv4", "mgmt-ipv6"):
            if node.get(key):
                checked = self.reader.host(node[key], self.doc.value_at(node, key), key)
                return None if checked is INVALID else str(checked)
        # containerlab adds the container name to /etc/hosts: clab-<lab>-<node> unless `prefix` says otherwise.
        if prefix in ("", None):
            return name
        if prefix == "__lab-name":
            return f"{lab}-{name}"
        return f"{prefix}-{lab}-{name}"


def _mapping(raw: Any) -> Mapping[str, Any]:
    return raw if isinstance(raw, Mapping) else {}


def _text_or_none(raw: Any) -> str | None:
    return str(raw) if raw is not None else None


def _role_from_name(name: str) -> str:
    """leaf1 → leaf, spine-2 → spine, gw1 → gateway; anything else → unknown."""
    match = _ROLE_FROM_NAME.match(name.lower())
    if not match:
        return "unknown"
    word = match.group(1)
    if word in KNOWN_ROLES:
        return word
    return _ROLE_ABBREVIATIONS.get(word, "unknown")
