"""Loading an inventory: edgeops' own YAML (defaults, groups, ranged devices), or a containerlab or Nornir file."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from edgeops.inventory.model import Credentials, Device, Inventory, JumpHost, Site
from edgeops.inventory.problems import InventoryError, Position, ProblemLog, did_you_mean, one_of
from edgeops.inventory.ranges import RangeError, expand_range, has_range
from edgeops.inventory.secrets import is_private, resolve_path
from edgeops.inventory.ssh_config import check_ssh_config, default_system_ssh_config, local_user
from edgeops.inventory.values import DEFAULT_GNMI_PORT, INVALID, Converter, Located, ValueReader
from edgeops.inventory.yaml_source import YamlDocument, read_yaml
from edgeops.platforms import GnmiTls

__all__ = [
    "InventoryError",
    "default_ssh_config",
    "default_system_ssh_config",
    "load_edgeops_yaml",
    "load_inventory",
]

TOP_LEVEL_KEYS = ("version", "ssh_config", "sites", "jump_hosts", "defaults", "groups", "devices")
SUPPORTED_VERSIONS = (1,)
DEFAULT_USERNAME = "admin"  # Nokia's factory user on both SR Linux and SR OS

SITE_FIELDS: dict[str, Converter] = {
    "code": ValueReader.name,
    "name": ValueReader.text,
    "description": ValueReader.optional_text,
}

JUMP_HOST_FIELDS: dict[str, Converter] = {
    "name": ValueReader.name,
    "host": ValueReader.host,
    "port": ValueReader.port,
    "username": ValueReader.name,
    "password": ValueReader.secret,
    "key_files": ValueReader.path_list,
    "use_agent": ValueReader.boolean,
    "via": ValueReader.optional_name,
}

# Fields a device may take from defaults, from its groups or from its own entry.
DEVICE_FIELDS: dict[str, Converter] = {
    "site": ValueReader.name,
    "role": ValueReader.name,
    "platform": ValueReader.platform,
    "model": ValueReader.text,
    "host": ValueReader.host,
    "ssh_port": ValueReader.port,
    "gnmi_port": ValueReader.optional_port,
    "gnmi": ValueReader.gnmi_switch,  # stored as gnmi_port
    "gnmi_tls": ValueReader.gnmi_tls,
    "gnmi_ca_file": ValueReader.optional_path,
    "gnmi_server_name": ValueReader.optional_text,
    "jump": ValueReader.optional_name,
    "username": ValueReader.name,
    "password": ValueReader.secret,
    "key_files": ValueReader.path_list,
    "use_agent": ValueReader.boolean,
    "tags": ValueReader.text_list,
}
# Fields only a device entry has.
DEVICE_ENTRY_FIELDS: dict[str, Converter] = {"name": ValueReader.name, "groups": ValueReader.text_list}
REQUIRED_DEVICE_FIELDS = ("site", "role", "platform", "host")
# The most devices one inventory may expand to: far above a real fleet (ten times the demo's 17 sites would be a
# few thousand), low enough that a typo in a range cannot make every command build millions of devices.
MAX_DEVICES = 50_000
# Ranges never apply to these: a password may contain braces, and group names are written once.
NOT_RANGED = ("password", "groups")


def load_inventory(path: str | os.PathLike[str]) -> Inventory:
    """Load any supported inventory, chosen by the file:
    `*.clab.yml` / `*.clab.yaml` → containerlab topology; a folder or `hosts.yaml` → Nornir SimpleInventory;
    anything else → edgeops YAML. Raises InventoryError listing every problem found."""
    source = Path(path).expanduser()
    name = source.name.lower()
    if name.endswith((".clab.yml", ".clab.yaml")):
        from edgeops.inventory.containerlab import load_containerlab

        return load_containerlab(source)
    if source.is_dir() or name in ("hosts.yaml", "hosts.yml"):
        from edgeops.inventory.nornir import load_nornir

        return load_nornir(source)
    return load_edgeops_yaml(source)


def default_ssh_config() -> Path | None:
    """~/.ssh/config when it exists: what OpenSSH itself would read."""
    candidate = Path("~", ".ssh", "config").expanduser()
    return candidate if candidate.is_file() else None


def load_edgeops_yaml(path: str | os.PathLike[str]) -> Inventory:
    """Load an edgeops inventory file (format: docs/inventory.md). Raises InventoryError."""
    source = Path(path).expanduser()
    log = ProblemLog()
    document = read_yaml(source, log)
    if document is None:
        log.raise_if_any()
        raise AssertionError("read_yaml returned no document without a problem")  # pragma: no cover
    inventory = _EdgeopsFile(document, log).read()
    log.raise_if_any()
    assert inventory is not None
    return inventory


@dataclass
class _DeviceLayer:
    """The device fields one place sets (defaults, a group or an entry), typed, with their positions."""

    fields: dict[str, Located] = field(default_factory=dict)


class _EdgeopsFile:
    """Reads one edgeops inventory document; every mistake goes to the log and reading carries on."""

    def __init__(self, document: YamlDocument, log: ProblemLog) -> None:
        self.doc = document
        self.log = log
        try:
            private = is_private(document.path)
        except OSError:
            private = False
        self.reader = ValueReader(log, file=document.file, base_dir=document.path.parent, private=private)

    # -- the whole file -----------------------------------------------------------------------------------

    def read(self) -> Inventory | None:
        data = self.doc.data
        if data is None:
            self.log.add(self.doc.whole_file(), "the file is empty; an inventory needs at least sites and devices")
            return None
        if not isinstance(data, CommentedMap):
            self.log.add(
                self.doc.start_of(data),
                f"the top level must be a mapping with keys {one_of(TOP_LEVEL_KEYS)}",
            )
            return None
        for key in data:
            if key not in TOP_LEVEL_KEYS:
                self._unknown_key(data, key, TOP_LEVEL_KEYS, "the top level")
        self._check_version(data)
        ssh_config, system_ssh_config = self._read_ssh_config(data)
        sites = self._read_sites(data)
        jump_hosts = self._read_jump_hosts(data)
        defaults = self._read_defaults(data)
        groups = self._read_groups(data)
        if "devices" not in data:
            self.log.add(self.doc.whole_file(), "no devices: add a devices list (see: edgeops help inventory)")
        devices = self._read_devices(data, defaults, groups, sites, jump_hosts)
        ssh_configs = tuple(path for path in (ssh_config, system_ssh_config) if path is not None)
        if ssh_configs:
            # Read them for every host in use: asyncssh only reads the Host blocks that match.
            hosts = [device.host for device in devices] + [jump.host for jump, _ in jump_hosts.values()]
            for problem in check_ssh_config(ssh_configs, hosts):
                self.log.add(Position(problem.file, problem.line, problem.col), problem.message)
        return Inventory(
            sites=tuple(site for site, _ in sites.values()),
            devices=tuple(devices),
            jump_hosts=tuple(jump for jump, _ in jump_hosts.values()),
            source=self.doc.path,
            ssh_config=ssh_config,
            system_ssh_config=system_ssh_config,
        )

    def _check_version(self, data: CommentedMap) -> None:
        if "version" in data and data["version"] not in SUPPORTED_VERSIONS:
            self.log.add(
                self.doc.value_at(data, "version"),
                f"unsupported inventory version {data['version']!r}; this edgeops reads version 1",
            )

    def _read_ssh_config(self, data: CommentedMap) -> tuple[Path | None, Path | None]:
        """The inventory's (or the user's) ssh_config and the system-wide one. A file the inventory names is
        the only one read, as with `ssh -F FILE`."""
        if "ssh_config" not in data:
            return default_ssh_config(), default_system_ssh_config()
        raw = data["ssh_config"]
        where = self.doc.value_at(data, "ssh_config")
        if raw is None or raw is False:
            return None, None  # explicitly switched off
        text = self.reader.text(raw, where, "ssh_config")
        if not isinstance(text, str):
            return None, None
        path = resolve_path(text, self.doc.path.parent)
        if not path.is_file():
            self.log.add(where, f"ssh_config file {path} does not exist")
            return None, None
        return path, None

    # -- sections written as lists or as mappings keyed by name -------------------------------------------

    def _entries(self, parent: CommentedMap, section: str) -> list[_Entry]:
        """A section written as a list of entries, or as a mapping keyed by the entries' names."""
        raw = parent.get(section)
        if raw is None:
            return []
        if isinstance(raw, CommentedSeq):
            return [_Entry(item, self._item_position(raw, index)) for index, item in enumerate(raw)]
        if isinstance(raw, CommentedMap):
            return [
                _Entry(value, self.doc.key_at(raw, key), key=key, key_where=self.doc.key_at(raw, key))
                for key, value in raw.items()
            ]
        self.log.add(self.doc.key_at(parent, section), f"{section} must be a list or a mapping, got {_describe(raw)}")
        return []

    def _item_position(self, sequence: CommentedSeq, index: int) -> Position:
        item = sequence[index]
        if isinstance(item, CommentedMap) and len(item):
            return self.doc.start_of(item)
        return self.doc.item_at(sequence, index)

    def _raw_fields(
        self, entry: _Entry, key_field: str, allowed: Mapping[str, Converter], what: str
    ) -> dict[str, tuple[Any, Position]] | None:
        """The entry's raw values with their positions; in the mapping form the key is the key_field.
        None (after logging) when the entry is not a mapping."""
        raw: dict[str, tuple[Any, Position]] = {}
        if entry.key is not None:
            assert entry.key_where is not None
            raw[key_field] = (entry.key, entry.key_where)
        body = entry.body
        if body is None and entry.key is not None:
            return raw
        if not isinstance(body, CommentedMap):
            self.log.add(entry.where, f"{what} must be a mapping of fields, got {_describe(body)}")
            return None
        for key in body:
            if key not in allowed:
                self._unknown_key(body, key, allowed, what)
            elif key == key_field and entry.key is not None:
                self.log.add(
                    self.doc.key_at(body, key),
                    f"{key_field} is already given by the key '{entry.key}' above; remove this line",
                )
            else:
                raw[str(key)] = (body[key], self.doc.value_at(body, key))
        if "gnmi" in body and "gnmi_port" in body:
            self.log.add(self.doc.key_at(body, "gnmi"), "write either gnmi or gnmi_port, not both")
        return raw

    def _convert(
        self, raw: Mapping[str, tuple[Any, Position]], converters: Mapping[str, Converter]
    ) -> dict[str, Located]:
        typed: dict[str, Located] = {}
        for key, (value, where) in raw.items():
            if key not in converters:
                continue
            converted = converters[key](self.reader, value, where, key)
            if converted is not INVALID:
                typed["gnmi_port" if key == "gnmi" else key] = Located(converted, where)
        return typed

    # -- sites and jump hosts -----------------------------------------------------------------------------

    def _read_sites(self, data: CommentedMap) -> dict[str, tuple[Site, Position]]:
        sites: dict[str, tuple[Site, Position]] = {}
        for entry in self._entries(data, "sites"):
            if entry.key is not None and not isinstance(entry.body, CommentedMap | None):
                # Shorthand `alcala: Tecno-Alcalá`: the value is the display name.
                raw = {"code": (entry.key, entry.key_where), "name": (entry.body, entry.where)}
                value_where = self.doc.value_at(data["sites"], entry.key)
                raw["name"] = (entry.body, value_where)
            elif entry.key is None and isinstance(entry.body, str):
                raw = {"code": (entry.body, entry.where)}  # `- alcala`
            else:
                found = self._raw_fields(entry, "code", SITE_FIELDS, "a site")
                if found is None:
                    continue
                raw = found  # type: ignore[assignment]
            fields = self._convert(raw, SITE_FIELDS)  # type: ignore[arg-type]
            if "code" not in raw:
                self.log.add(entry.where, "site has no code (the short name devices refer to, e.g. alcala)")
            if "code" not in fields:
                continue
            code = fields["code"].value
            if code in sites:
                first = sites[code][1]
                self.log.add(fields["code"].where, f"duplicate site code '{code}' (first defined at line {first.line})")
                continue
            name = fields["name"].value if "name" in fields else code
            description = fields["description"].value if "description" in fields else ""
            sites[code] = (Site(name=name, code=code, description=description or ""), fields["code"].where)
        return sites

    def _read_jump_hosts(self, data: CommentedMap) -> dict[str, tuple[JumpHost, Position]]:
        jump_hosts: dict[str, tuple[JumpHost, Position]] = {}
        via_of: dict[str, Located] = {}
        for entry in self._entries(data, "jump_hosts"):
            raw = self._raw_fields(entry, "name", JUMP_HOST_FIELDS, "a jump host")
            if raw is None:
                continue
            fields = self._convert(raw, JUMP_HOST_FIELDS)
            missing = [key for key in ("name", "host") if key not in raw]
            if missing:
                label = f"jump host '{raw['name'][0]}'" if "name" in raw else "jump host"
                self.log.add(entry.where, f"{label} has no {' and no '.join(missing)}")
            if "name" not in fields or "host" not in fields:
                continue
            name = fields["name"].value
            if name in jump_hosts:
                first = jump_hosts[name][1]
                self.log.add(fields["name"].where, f"duplicate jump host '{name}' (first defined at line {first.line})")
                continue
            if "via" in fields and fields["via"].value is not None:
                via_of[name] = fields["via"]
            jump_hosts[name] = (_jump_host_from(fields), fields["name"].where)
        self._check_jump_chains(jump_hosts, via_of)
        return jump_hosts

    def _check_jump_chains(self, jump_hosts: Mapping[str, Any], via_of: dict[str, Located]) -> None:
        for name, via in via_of.items():
            if via.value not in jump_hosts:
                self.log.add(
                    via.where,
                    f"unknown jump host '{via.value}' in via{did_you_mean(via.value, jump_hosts)}"
                    f"{_known('jump hosts', jump_hosts)}",
                )
                continue
            chain, current = [name], via.value
            while True:
                chain.append(current)
                if current == name:
                    self.log.add(via.where, f"jump hosts reach each other in a loop: {' -> '.join(chain)}")
                    break
                if current not in via_of or len(chain) > len(via_of) + 1:
                    break  # the end of the chain, or a loop that does not pass through `name`
                current = via_of[current].value

    # -- defaults and groups ------------------------------------------------------------------------------

    def _read_defaults(self, data: CommentedMap) -> _DeviceLayer:
        raw = data.get("defaults")
        if raw is None:
            return _DeviceLayer()
        if not isinstance(raw, CommentedMap):
            self.log.add(self.doc.key_at(data, "defaults"), f"defaults must be a mapping, got {_describe(raw)}")
            return _DeviceLayer()
        found = self._raw_fields(_Entry(raw, self.doc.key_at(data, "defaults")), "", DEVICE_FIELDS, "defaults")
        return _DeviceLayer(self._convert(found or {}, DEVICE_FIELDS))

    def _read_groups(self, data: CommentedMap) -> dict[str, _DeviceLayer]:
        groups: dict[str, _DeviceLayer] = {}
        raw = data.get("groups")
        if raw is None:
            return groups
        if not isinstance(raw, CommentedMap):
            self.log.add(
                self.doc.key_at(data, "groups"),
                f"groups must be a mapping of group name to device fields, got {_describe(raw)}",
            )
            return groups
        for name, body in raw.items():
            where = self.doc.key_at(raw, name)
            checked = self.reader.name(name, where, "group name")
            if not isinstance(checked, str):
                continue
            if body is None:
                groups[checked] = _DeviceLayer()
                continue
            found = self._raw_fields(_Entry(body, where), "", DEVICE_FIELDS, f"group '{checked}'")
            if found is not None:
                groups[checked] = _DeviceLayer(self._convert(found, DEVICE_FIELDS))
        return groups

    def _unknown_key(self, mapping: CommentedMap, key: Any, allowed: Iterable[str], what: str) -> None:
        where = self.doc.key_at(mapping, key)
        allowed = list(allowed)
        if key in DEVICE_ENTRY_FIELDS and (what == "defaults" or what.startswith("group ")):
            self.log.add(where, f"'{key}' cannot be set in {what}: it belongs to each device entry")
            return
        hint = did_you_mean(str(key), allowed) or f"; expected one of {one_of(allowed)}"
        self.log.add(where, f"unknown key '{key}' in {what}{hint}")

    # -- devices ------------------------------------------------------------------------------------------

    def _read_devices(
        self,
        data: CommentedMap,
        defaults: _DeviceLayer,
        groups: dict[str, _DeviceLayer],
        sites: dict[str, tuple[Site, Position]],
        jump_hosts: dict[str, tuple[JumpHost, Position]],
    ) -> list[Device]:
        devices: list[Device] = []
        first_seen: dict[str, Position] = {}
        site_names = {site.name: code for code, (site, _) in sites.items()}
        allowed = {**DEVICE_FIELDS, **DEVICE_ENTRY_FIELDS}
        for entry in self._entries(data, "devices"):
            raw = self._raw_fields(entry, "name", allowed, "a device")
            if raw is None:
                continue
            group_layers = self._groups_of(raw, groups)
            expanded = self._expand_entry(raw, entry.where)
            if len(first_seen) + len(expanded) > MAX_DEVICES:
                self.log.add(
                    entry.where,
                    f"this entry takes the inventory past {MAX_DEVICES:,} devices, the most edgeops loads: "
                    "check its ranges, or split the fleet into several inventories",
                )
                break
            for name, own in expanded:
                duplicate = name.value in first_seen
                if duplicate:
                    self.log.add(
                        name.where,
                        f"duplicate device name '{name.value}' (first defined at line {first_seen[name.value].line})",
                    )
                else:
                    first_seen[name.value] = name.where
                device = self._build_device(
                    name, [defaults, *group_layers, own], raw, entry.where, sites, site_names, jump_hosts
                )
                if device is not None and not duplicate:
                    devices.append(device)
        return devices

    def _groups_of(
        self, raw: Mapping[str, tuple[Any, Position]], groups: dict[str, _DeviceLayer]
    ) -> list[_DeviceLayer]:
        if "groups" not in raw:
            return []
        value, where = raw["groups"]
        names = self.reader.text_list(value, where, "groups")
        if names is INVALID:
            return []
        layers = []
        for index, name in enumerate(names):  # type: ignore[arg-type]
            if name in groups:
                layers.append(groups[name])
                continue
            item_where = self.doc.item_at(value, index) if isinstance(value, CommentedSeq) else where
            self.log.add(item_where, f"unknown group '{name}'{did_you_mean(name, groups)}{_known('groups', groups)}")
        return layers

    def _expand_entry(
        self, raw: Mapping[str, tuple[Any, Position]], where: Position
    ) -> list[tuple[Located, _DeviceLayer]]:
        """One (name, own fields) pair per device the entry stands for: ranges expand in step."""
        if "name" not in raw:
            self.log.add(where, "device has no name")
            return []
        expansions: dict[str, list[Any]] = {}
        broken: set[str] = set()
        for key, (value, value_where) in raw.items():
            if key in NOT_RANGED:
                continue
            try:
                values = _expand_value(value)
            except RangeError as error:
                self.log.add(value_where, str(error))
                broken.add(key)
                continue
            if values is not None:
                expansions[key] = values
        if "name" in broken:
            return []
        converters = {**DEVICE_FIELDS, **DEVICE_ENTRY_FIELDS}
        # Values without a range are typed once for the whole entry (and checked even if the ranges are wrong).
        shared = self._convert(
            {key: item for key, item in raw.items() if key not in expansions and key not in broken and key != "groups"},
            converters,
        )
        count = len(expansions["name"]) if "name" in expansions else 1
        for key, values in expansions.items():
            if len(values) == count:
                continue
            if "name" not in expansions:
                self.log.add(
                    raw["name"][1],
                    f"name has no range but {key} stands for {len(values)} values; "
                    f"give the name a range too, e.g. leaf{{01..{len(values):02d}}}",
                )
            else:
                self.log.add(
                    raw[key][1],
                    f"{key} stands for {len(values)} values but name stands for {count}; "
                    "ranges in one entry expand in step and must have the same length",
                )
            return []
        result: list[tuple[Located, _DeviceLayer]] = []
        for index in range(count):
            own = dict(shared)
            own.update(
                self._convert({key: (values[index], raw[key][1]) for key, values in expansions.items()}, converters)
            )
            name = own.pop("name", None)
            if name is not None:
                result.append((name, _DeviceLayer(own)))
        return result

    def _build_device(
        self,
        name: Located,
        layers: list[_DeviceLayer],
        raw: Mapping[str, tuple[Any, Position]],
        where: Position,
        sites: dict[str, tuple[Site, Position]],
        site_names: dict[str, str],
        jump_hosts: dict[str, tuple[JumpHost, Position]],
    ) -> Device | None:
        merged: dict[str, Located] = {}
        tags: set[str] = set()
        for layer in layers:
            merged.update(layer.fields)
            if "tags" in layer.fields:
                tags.update(layer.fields["tags"].value)  # tags add up across defaults, groups and the device
        # A field written but invalid was already reported; only a field written nowhere is missing.
        missing = [key for key in REQUIRED_DEVICE_FIELDS if key not in merged and key not in raw]
        if missing:
            self.log.add(
                where,
                f"device '{raw['name'][0]}' has no {' and no '.join(missing)}: "
                "set it on the device, in one of its groups or in defaults",
            )
        site = merged.get("site")
        if site is not None and site.value not in sites:
            hint = did_you_mean(site.value, sites)
            if site.value in site_names:
                hint = (
                    f": '{site.value}' is the name of site '{site_names[site.value]}'; devices refer to sites by code"
                )
            self.log.add(site.where, f"unknown site '{site.value}'{hint}{_known('sites', sites)}")
        jump = merged.get("jump")
        if jump is not None and jump.value is not None and jump.value not in jump_hosts:
            self.log.add(
                jump.where,
                f"unknown jump host '{jump.value}'{did_you_mean(jump.value, jump_hosts)}"
                f"{_known('jump hosts', jump_hosts)}",
            )
        if site is None or any(key not in merged for key in REQUIRED_DEVICE_FIELDS):
            return None

        def value(key: str, default: Any) -> Any:
            return merged[key].value if key in merged else default

        return Device(
            name=name.value,
            site=site.value,
            role=merged["role"].value,
            platform=merged["platform"].value,
            model=value("model", ""),
            host=merged["host"].value,
            ssh_port=value("ssh_port", 22),
            gnmi_port=value("gnmi_port", DEFAULT_GNMI_PORT),
            gnmi_tls=value("gnmi_tls", GnmiTls.TLS),
            gnmi_ca_file=value("gnmi_ca_file", None),
            gnmi_server_name=value("gnmi_server_name", None),
            jump=value("jump", None),
            credentials=Credentials(
                username=value("username", DEFAULT_USERNAME),
                password=value("password", None),
                key_files=value("key_files", ()),
                use_agent=value("use_agent", True),
            ),
            tags=frozenset(tags),
            source_line=name.where.line,
            explicit_fields=frozenset(merged),
        )


@dataclass
class _Entry:
    """One item of a section: in the list form, the item; in the mapping form, the key and its value."""

    body: Any
    where: Position
    key: Any = None
    key_where: Position | None = None


def _jump_host_from(fields: dict[str, Located]) -> JumpHost:
    credentials = None
    if any(key in fields for key in ("username", "password", "key_files", "use_agent")):
        credentials = Credentials(
            # A jump host is usually a Linux box: like OpenSSH, default to the local user name.
            username=fields["username"].value if "username" in fields else local_user(),
            password=fields["password"].value if "password" in fields else None,
            key_files=fields["key_files"].value if "key_files" in fields else (),
            use_agent=fields["use_agent"].value if "use_agent" in fields else True,
        )
    return JumpHost(
        name=fields["name"].value,
        host=fields["host"].value,
        port=fields["port"].value if "port" in fields else 22,
        credentials=credentials,
        via=fields["via"].value if "via" in fields else None,
        explicit_fields=frozenset(key for key in fields if key != "name"),
    )


def _expand_value(raw: Any) -> list[Any] | None:
    """The per-device values of a ranged entry value, or None when it has no range."""
    if isinstance(raw, str) and has_range(raw):
        return expand_range(raw)
    if isinstance(raw, list) and any(isinstance(item, str) and has_range(item) for item in raw):
        columns = [expand_range(item) if isinstance(item, str) else [item] for item in raw]
        count = max(len(column) for column in columns)
        if any(len(column) not in (1, count) for column in columns):
            raise RangeError("ranges inside one list must have the same length")
        return [[column[0] if len(column) == 1 else column[index] for column in columns] for index in range(count)]
    if isinstance(raw, dict) and len(raw) == 1 and next(iter(raw.values())) is None:
        only_key = str(next(iter(raw)))
        if ".." in only_key or "," in only_key:
            # YAML read an unquoted {2201..2208} as a mapping; say how to write it.
            raise RangeError(f'quote a range that starts a value: "{{{only_key}}}"')
    return None


def _describe(raw: Any) -> str:
    if isinstance(raw, dict):
        return "a mapping"
    if isinstance(raw, list):
        return "a list"
    if raw is None:
        return "nothing"
    return f"{type(raw).__name__} {raw!r}"


def _known(what: str, names: Iterable[str]) -> str:
    names = list(names)
    if not names:
        return f"; no {what} are defined"
    if len(names) <= 8:
        return f"; known {what}: {one_of(names)}"
    return ""
