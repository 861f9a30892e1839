"""Reading a Nornir SimpleInventory (hosts.yaml, groups.yaml, defaults.yaml) as an inventory, as Nornir inherits."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from edgeops.inventory.loader import DEFAULT_USERNAME, default_ssh_config, default_system_ssh_config
from edgeops.inventory.model import Credentials, Device, Inventory, JumpHost, Site
from edgeops.inventory.platform_names import PLATFORM_ALIASES, platform_from_alias
from edgeops.inventory.problems import Position, ProblemLog, did_you_mean, one_of
from edgeops.inventory.secrets import is_private
from edgeops.inventory.ssh_config import local_user
from edgeops.inventory.values import DEFAULT_GNMI_PORT, INVALID, Converter, Located, ValueReader
from edgeops.inventory.yaml_source import YamlDocument, read_yaml
from edgeops.platforms import GnmiTls, Platform

HOST_KEYS = ("hostname", "port", "username", "password", "platform", "groups", "data", "connection_options")
DEFAULTS_KEYS = tuple(key for key in HOST_KEYS if key != "groups")

# Nornir's own attributes, typed like edgeops' fields.
ATTRIBUTE_FIELDS: dict[str, Converter] = {
    "hostname": ValueReader.host,
    "port": ValueReader.port,
    "username": ValueReader.name,
    "password": ValueReader.secret,
}
# Keys under `data:` that edgeops reads; any other data is the user's own and is left alone.
DATA_FIELDS: dict[str, Converter] = {
    "site": ValueReader.name,
    "site_name": ValueReader.text,
    "site_description": ValueReader.optional_text,
    "role": ValueReader.name,
    "model": ValueReader.text,
    "tags": ValueReader.text_list,
    "gnmi_port": ValueReader.optional_port,
    "gnmi": ValueReader.gnmi_switch,
    "gnmi_tls": ValueReader.gnmi_tls,
    "gnmi_ca_file": ValueReader.optional_path,
    "gnmi_server_name": ValueReader.optional_text,
    "jump": ValueReader.optional_name,
    "key_files": ValueReader.path_list,
    "use_agent": ValueReader.boolean,
    "jump_host": ValueReader.boolean,  # this Nornir host is a jump host, not a device
    "via": ValueReader.optional_name,  # for a jump host: the jump host in front of it
}


def load_nornir(path: str | os.PathLike[str]) -> Inventory:
    """Devices from a Nornir SimpleInventory: a folder holding hosts.yaml, or the hosts.yaml file itself;
    groups.yaml and defaults.yaml beside it are read when present. Raises InventoryError.

    Values inherit as in Nornir: the host, then its groups depth-first in order, then defaults.
    Platform names are scrapli's and netmiko's (nokia_srl, nokia_srlinux, nokia_sros, alcatel_sros,
    nokia_sros_classic, ...). edgeops reads data.site, data.role, data.model, data.tags, data.gnmi_port,
    data.gnmi_tls, data.jump, ...; a host with data.jump_host: true becomes a jump host.
    """
    source = Path(path).expanduser()
    folder = source if source.is_dir() else source.parent
    log = ProblemLog()
    hosts_file = _find(folder, "hosts") if source.is_dir() else source
    if hosts_file is None:
        log.add(Position(str(source)), "no hosts.yaml (or hosts.yml) in this folder")
        log.raise_if_any()
    assert hosts_file is not None
    reader = _NornirFiles(log)
    inventory = reader.read(hosts_file, _find(folder, "groups"), _find(folder, "defaults"))
    log.raise_if_any()
    assert inventory is not None
    return inventory


def _find(folder: Path, stem: str) -> Path | None:
    for suffix in (".yaml", ".yml"):
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


@dataclass
class _Element:
    """A Nornir host, group or the defaults: typed attributes and data with their positions."""

    name: str
    where: Position
    attributes: dict[str, Located] = field(default_factory=dict)
    data: dict[str, Located] = field(default_factory=dict)
    groups: list[tuple[str, Position]] = field(default_factory=list)
    platform: tuple[str, Position] | None = None
    variant: str | None = None  # scrapli's connection_options.scrapli.extras.variant ("classic")


class _NornirFiles:
    def __init__(self, log: ProblemLog) -> None:
        self.log = log

    def read(self, hosts_file: Path, groups_file: Path | None, defaults_file: Path | None) -> Inventory | None:
        hosts_doc = read_yaml(hosts_file, self.log)
        groups_doc = read_yaml(groups_file, self.log) if groups_file else None
        defaults_doc = read_yaml(defaults_file, self.log) if defaults_file else None
        if hosts_doc is None:
            return None
        hosts = self._elements(hosts_doc, HOST_KEYS, "host")
        groups = {group.name: group for group in self._elements(groups_doc, HOST_KEYS, "group")} if groups_doc else {}
        defaults = _Element("defaults", Position(str(defaults_file)))
        if defaults_doc is not None and defaults_doc.data is not None:
            if isinstance(defaults_doc.data, CommentedMap):
                defaults = self._element(defaults_doc, "defaults", defaults_doc.data, defaults.where, DEFAULTS_KEYS)
            else:
                self.log.add(defaults_doc.start_of(defaults_doc.data), "defaults.yaml must be a mapping")
        for element in [*hosts, *groups.values()]:
            for group_name, where in element.groups:
                if group_name not in groups:
                    self.log.add(where, f"unknown group '{group_name}'{did_you_mean(group_name, groups)}")

        sites: dict[str, Site] = {}
        devices: list[Device] = []
        jump_hosts: list[tuple[JumpHost, Located | None]] = []
        for host in hosts:
            chain = [host, *self._ancestors(host, groups), defaults]
            if _inherited(chain, "jump_host", data=True) is True:
                jump_hosts.append(self._jump_host(host, chain))
                continue
            device = self._device(host, chain)
            if device is None:
                continue
            devices.append(device)
            if device.site not in sites:
                site_name = _inherited(chain, "site_name", data=True) or device.site
                description = _inherited(chain, "site_description", data=True) or ""
                sites[device.site] = Site(name=site_name, code=device.site, description=description)
        self._check_references(devices, hosts, jump_hosts)
        return Inventory(
            sites=tuple(sites.values()),
            devices=tuple(devices),
            jump_hosts=tuple(jump for jump, _ in jump_hosts),
            source=hosts_file,
            ssh_config=default_ssh_config(),
            system_ssh_config=default_system_ssh_config(),
        )

    # -- reading the files --------------------------------------------------------------------------------

    def _elements(self, doc: YamlDocument, keys: tuple[str, ...], what: str) -> list[_Element]:
        data = doc.data
        if data is None:
            return []
        if not isinstance(data, CommentedMap):
            self.log.add(doc.start_of(data), f"a Nornir {what}s file is a mapping of {what} name to its settings")
            return []
        elements = []
        for name, body in data.items():
            where = doc.key_at(data, name)
            if body is None:
                body = CommentedMap()
            if not isinstance(body, CommentedMap):
                self.log.add(where, f"{what} '{name}' must be a mapping of settings")
                continue
            elements.append(self._element(doc, str(name), body, where, keys))
        return elements

    def _element(
        self, doc: YamlDocument, name: str, body: CommentedMap, where: Position, keys: tuple[str, ...]
    ) -> _Element:
        try:
            private = is_private(doc.path)
        except OSError:
            private = False
        reader = ValueReader(self.log, file=doc.file, base_dir=doc.path.parent, private=private)
        element = _Element(name, where)
        for key in body:
            if key not in keys:
                hint = did_you_mean(str(key), keys) or f"; expected one of {one_of(keys)}"
                self.log.add(doc.key_at(body, key), f"unknown key '{key}' in '{name}'{hint}")
        for key, converter in ATTRIBUTE_FIELDS.items():
            if key in body and body[key] is not None:
                value_where = doc.value_at(body, key)
                value = converter(reader, body[key], value_where, key)
                if value is not INVALID:
                    element.attributes[key] = Located(value, value_where)
        if body.get("platform") is not None:
            value_where = doc.value_at(body, "platform")
            platform = reader.text(body["platform"], value_where, "platform")
            if platform is not INVALID:
                element.platform = (str(platform), value_where)
        raw_groups = body.get("groups")
        if raw_groups is not None:
            names = reader.text_list(raw_groups, doc.value_at(body, "groups"), "groups")
            if names is not INVALID:
                element.groups = [
                    (group, doc.item_at(raw_groups, index) if isinstance(raw_groups, list) else where)
                    for index, group in enumerate(names)  # type: ignore[arg-type]
                ]
        data = body.get("data")
        if data is not None and not isinstance(data, CommentedMap):
            self.log.add(doc.key_at(body, "data"), "data must be a mapping")
        elif data is not None:
            for key, converter in DATA_FIELDS.items():
                if key in data:
                    value_where = doc.value_at(data, key)
                    value = converter(reader, data[key], value_where, f"data.{key}")
                    if value is not INVALID:
                        element.data["gnmi_port" if key == "gnmi" else key] = Located(value, value_where)
        element.variant = _scrapli_variant(body.get("connection_options"))
        return element

    def _ancestors(
        self, element: _Element, groups: dict[str, _Element], seen: set[str] | None = None
    ) -> list[_Element]:
        """The element's groups depth-first in order, each group followed by its own groups, as Nornir does."""
        seen = set() if seen is None else seen
        result: list[_Element] = []
        for name, _ in element.groups:
            if name in seen or name not in groups:
                continue
            seen.add(name)
            result.append(groups[name])
            result.extend(self._ancestors(groups[name], groups, seen))
        return result

    # -- building devices and jump hosts ------------------------------------------------------------------

    def _device(self, host: _Element, chain: list[_Element]) -> Device | None:
        platform = self._platform(host, chain)
        site = _located(chain, "site", data=True)
        role = _located(chain, "role", data=True)
        missing = [
            label
            for label, value in (("platform", platform), ("data.site", site), ("data.role", role))
            if value is None
        ]
        if missing:
            self.log.add(
                host.where,
                f"host '{host.name}' has no {' and no '.join(missing)}: set it on the host, in a group or in defaults",
            )
        if platform is None or platform is INVALID or site is None or role is None:
            return None
        hostname = _located(chain, "hostname")
        explicit = {"site", "role", "platform", "host"}
        explicit.update(_present(chain, ("port", "username", "password"), {"port": "ssh_port"}))
        explicit.update(
            _present(
                chain,
                (
                    "model",
                    "gnmi_port",
                    "gnmi_tls",
                    "gnmi_ca_file",
                    "gnmi_server_name",
                    "jump",
                    "key_files",
                    "use_agent",
                ),
                data=True,
            )
        )
        tags: set[str] = set()
        for element in chain:  # tags add up across the host, its groups and defaults, as in edgeops' format
            if "tags" in element.data:
                tags.update(element.data["tags"].value)
        return Device(
            name=host.name,
            site=site.value,
            role=role.value,
            platform=platform,
            model=_inherited(chain, "model", data=True) or "",
            host=hostname.value if hostname else host.name,  # no hostname: the name itself, as DNS would resolve it
            ssh_port=_inherited(chain, "port") or 22,
            gnmi_port=_inherited(chain, "gnmi_port", data=True, default=DEFAULT_GNMI_PORT),
            gnmi_tls=_inherited(chain, "gnmi_tls", data=True) or GnmiTls.TLS,
            gnmi_ca_file=_inherited(chain, "gnmi_ca_file", data=True),
            gnmi_server_name=_inherited(chain, "gnmi_server_name", data=True),
            jump=_inherited(chain, "jump", data=True),
            credentials=Credentials(
                username=_inherited(chain, "username") or DEFAULT_USERNAME,
                password=_inherited(chain, "password"),
                key_files=_inherited(chain, "key_files", data=True) or (),
                use_agent=_inherited(chain, "use_agent", data=True, default=True),
            ),
            tags=frozenset(tags),
            source_line=host.where.line,
            explicit_fields=frozenset(explicit),
        )

    def _platform(self, host: _Element, chain: list[_Element]) -> Platform | Any | None:
        for element in chain:
            if element.platform is None:
                continue
            name, where = element.platform
            platform = platform_from_alias(name)
            if platform is None:
                self.log.add(
                    where,
                    f"unknown platform '{name}'{did_you_mean(name.lower(), PLATFORM_ALIASES)}; "
                    "edgeops manages Nokia SR Linux and SR OS: nokia_srl, nokia_srlinux, nokia_sros, alcatel_sros, "
                    "nokia_sros_classic (all names: edgeops help inventory)",
                )
                return INVALID
            variant = next((e.variant for e in chain if e.variant), None)
            if platform is Platform.SROS and variant == "classic":
                return Platform.SROS_CLASSIC  # scrapli-community's nokia_sros with the classic variant
            return platform
        return None

    def _jump_host(self, host: _Element, chain: list[_Element]) -> tuple[JumpHost, Located | None]:
        hostname = _located(chain, "hostname")
        explicit = set(_present(chain, ("port", "username", "password")))
        explicit.update(_present(chain, ("key_files", "use_agent", "via"), data=True))
        username = _inherited(chain, "username")
        credentials = None
        if explicit & {"username", "password", "key_files", "use_agent"}:
            credentials = Credentials(
                username=username or local_user(),
                password=_inherited(chain, "password"),
                key_files=_inherited(chain, "key_files", data=True) or (),
                use_agent=_inherited(chain, "use_agent", data=True, default=True),
            )
        via = _located(chain, "via", data=True)
        jump = JumpHost(
            name=host.name,
            host=hostname.value if hostname else host.name,
            port=_inherited(chain, "port") or 22,
            credentials=credentials,
            via=via.value if via else None,
            explicit_fields=frozenset(explicit),
        )
        return jump, via

    def _check_references(
        self, devices: list[Device], hosts: list[_Element], jump_hosts: list[tuple[JumpHost, Located | None]]
    ) -> None:
        jump_names = {jump.name for jump, _ in jump_hosts}
        by_name = {host.name: host for host in hosts}
        for device in devices:
            if device.jump is None or device.jump in jump_names:
                continue
            element = by_name[device.name]
            located = element.data.get("jump")
            where = located.where if located else element.where
            hint = did_you_mean(device.jump, jump_names) or (
                "" if jump_names else "; mark the jump host with data.jump_host: true"
            )
            self.log.add(where, f"unknown jump host '{device.jump}'{hint}")
        for _, via in jump_hosts:
            if via is not None and via.value is not None and via.value not in jump_names:
                self.log.add(
                    via.where, f"unknown jump host '{via.value}' in data.via{did_you_mean(via.value, jump_names)}"
                )


def _walk(chain: list[_Element], key: str, data: bool) -> Iterator[Located]:
    for element in chain:
        values = element.data if data else element.attributes
        if key in values:
            yield values[key]


def _located(chain: list[_Element], key: str, *, data: bool = False) -> Located | None:
    return next(_walk(chain, key, data), None)


def _inherited(chain: list[_Element], key: str, *, data: bool = False, default: Any = None) -> Any:
    located = _located(chain, key, data=data)
    return located.value if located is not None else default


def _present(
    chain: list[_Element], keys: tuple[str, ...], renames: dict[str, str] | None = None, *, data: bool = False
) -> Iterator[str]:
    for key in keys:
        if _located(chain, key, data=data) is not None:
            yield (renames or {}).get(key, key)


def _scrapli_variant(options: Any) -> str | None:
    if not isinstance(options, dict):
        return None
    scrapli = options.get("scrapli")
    extras = scrapli.get("extras") if isinstance(scrapli, dict) else None
    variant = extras.get("variant") if isinstance(extras, dict) else None
    return str(variant) if variant else None
