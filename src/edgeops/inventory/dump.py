"""Writing an inventory as edgeops YAML that loads back to the same fleet; shared values go to defaults and groups."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from edgeops.inventory.loader import DEFAULT_USERNAME, default_ssh_config, default_system_ssh_config
from edgeops.inventory.model import Device, Inventory, JumpHost, SecretRef
from edgeops.inventory.values import DEFAULT_GNMI_PORT
from edgeops.platforms import GnmiTls

# Device fields that may move to defaults or a per-platform group when every device shares them.
_SHAREABLE = (
    "platform",
    "site",
    "role",
    "model",
    "ssh_port",
    "gnmi_port",
    "gnmi_tls",
    "gnmi_ca_file",
    "gnmi_server_name",
    "jump",
    "username",
    "password",
    "key_files",
    "use_agent",
)
_LITERAL_NOT_EXPORTED = "a literal password is never exported: write a reference"


def dump_inventory(inventory: Inventory, *, literal_passwords: bool = False) -> str:
    """edgeops YAML for the inventory; it loads back (load_inventory) to an equal inventory.

    Literal passwords are written as `prompt` by default: edgeops never copies a secret into a new file that
    someone else may read. `literal_passwords=True` writes them as `literal:...` instead, for a caller that writes
    the file itself readable only by its owner (mode 0600, the only mode in which the loader accepts literals), as
    `edgeops lab` does for the simulated lab's own inventory; the whole inventory then loads back equal.
    """
    root = CommentedMap()
    root["version"] = 1
    ssh_config = _ssh_config_value(inventory)
    if ssh_config is not None:
        root["ssh_config"] = ssh_config
    root["sites"] = [_site(site.code, site.name, site.description) for site in inventory.sites]
    if inventory.jump_hosts:
        root["jump_hosts"] = [_jump_host(jump, literal_passwords) for jump in inventory.jump_hosts]

    written = [_device_fields(device, literal_passwords) for device in inventory.devices]
    defaults = _shared(written)
    if defaults:
        root["defaults"] = _yaml_fields(defaults)
    groups: dict[str, dict[str, Any]] = {}
    platforms = sorted({fields["platform"] for fields in written if "platform" not in defaults})
    for platform in platforms:
        members = [fields for fields in written if fields["platform"] == platform]
        shared = {key: value for key, value in _shared(members).items() if key not in defaults}
        if len(members) > 1 and len(shared) > 1:
            groups[platform] = shared
    if groups:
        root["groups"] = CommentedMap((name, _yaml_fields(fields)) for name, fields in groups.items())

    devices = CommentedSeq()
    for device, fields in zip(inventory.devices, written, strict=True):
        entry = CommentedMap()
        entry["name"] = device.name
        group = groups.get(fields.get("platform", ""))
        if group is not None:
            entry["groups"] = _flow([fields["platform"]])
        own = {
            key: value for key, value in fields.items() if key not in defaults and (group is None or key not in group)
        }
        _yaml_fields(own, entry)
        entry["host"] = device.host
        if device.tags:
            entry["tags"] = _flow(sorted(device.tags))
        devices.append(entry)
    root["devices"] = devices
    return _render(root)


def _device_fields(device: Device, literal_passwords: bool) -> dict[str, Any]:
    """The fields worth writing for one device (those the inventory set), as comparable Python values."""
    fields: dict[str, Any] = {
        "platform": device.platform.value,
        "site": device.site,
        "role": device.role,
    }
    optional: list[tuple[str, Any, Any]] = [
        ("model", device.model, ""),
        ("ssh_port", device.ssh_port, 22),
        ("gnmi_port", device.gnmi_port, DEFAULT_GNMI_PORT),
        ("gnmi_tls", device.gnmi_tls.value, GnmiTls.TLS.value),
        ("gnmi_ca_file", _path(device.gnmi_ca_file), None),
        ("gnmi_server_name", device.gnmi_server_name, None),
        ("jump", device.jump, None),
        ("username", device.credentials.username, DEFAULT_USERNAME),
        ("password", _secret(device.credentials.password, literal_passwords), None),
        ("key_files", tuple(_path(path) for path in device.credentials.key_files), ()),
        ("use_agent", device.credentials.use_agent, True),
    ]
    for key, value, default in optional:
        if _was_set(device.explicit_fields, key, value, default):
            fields[key] = value
    return fields


def _was_set(explicit: frozenset[str], key: str, value: Any, default: Any) -> bool:
    if explicit:
        return key in explicit
    return value != default  # built in code: write what differs from the defaults


def _shared(members: list[dict[str, Any]]) -> dict[str, Any]:
    """Fields every member sets to the same value."""
    if len(members) < 2:
        return {}
    shared: dict[str, Any] = {}
    for key in _SHAREABLE:
        values = [fields.get(key, _MISSING) for fields in members]
        if values[0] is not _MISSING and all(value == values[0] for value in values):
            shared[key] = values[0]
    return shared


_MISSING = object()


def _yaml_fields(fields: dict[str, Any], out: CommentedMap | None = None) -> CommentedMap:
    """Write fields into out (a new mapping by default) in a fixed order; comments stay attached to out."""
    out = CommentedMap() if out is None else out
    for key in _SHAREABLE:
        if key not in fields:
            continue
        value = fields[key]
        if key == "gnmi_port" and value is None:
            out["gnmi"] = False
        elif key == "key_files":
            out[key] = _flow(list(value))
        elif isinstance(value, _ExportedLiteral):
            out[key] = "prompt"
            out.yaml_add_eol_comment(_LITERAL_NOT_EXPORTED, key)
        else:
            out[key] = value
    return out


class _ExportedLiteral(str):
    """A literal password replaced by `prompt`; equal to other replacements so defaults still factor out."""

    def __new__(cls) -> _ExportedLiteral:
        return super().__new__(cls, "prompt")


def _secret(ref: SecretRef | None, literal_passwords: bool) -> str | None:
    if ref is None:
        return None
    if ref.kind == "literal":
        return f"literal:{ref.value}" if literal_passwords else _ExportedLiteral()
    if ref.kind == "prompt":
        return f"prompt:{ref.value}" if ref.value else "prompt"
    return f"{ref.kind}:{ref.value}"


def _path(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def _site(code: str, name: str, description: str) -> CommentedMap:
    entry = CommentedMap(code=code, name=name)
    if description:
        entry["description"] = description
    return entry


def _jump_host(jump: JumpHost, literal_passwords: bool) -> CommentedMap:
    entry = CommentedMap(name=jump.name, host=jump.host)
    explicit = jump.explicit_fields
    if _was_set(explicit, "port", jump.port, 22):
        entry["port"] = jump.port
    credentials = jump.credentials
    if credentials is not None:
        if _was_set(explicit, "username", credentials.username, None):
            entry["username"] = credentials.username
        password = _secret(credentials.password, literal_passwords)
        if password is not None:
            entry["password"] = "prompt" if isinstance(password, _ExportedLiteral) else password
            if isinstance(password, _ExportedLiteral):
                entry.yaml_add_eol_comment(_LITERAL_NOT_EXPORTED, "password")
        if credentials.key_files:
            entry["key_files"] = _flow([str(path) for path in credentials.key_files])
        if not credentials.use_agent:
            entry["use_agent"] = False
    if jump.via is not None:
        entry["via"] = jump.via
    return entry


def _ssh_config_value(inventory: Inventory) -> str | bool | None:
    """The `ssh_config:` value that loads back the same files: none when they are the defaults."""
    files = (inventory.ssh_config, inventory.system_ssh_config)
    if files == (default_ssh_config(), default_system_ssh_config()):
        return None
    if inventory.ssh_config is None:
        return False  # the defaults exist but this inventory ignores them
    return str(inventory.ssh_config)


def _flow(items: Iterable[Any]) -> CommentedSeq:
    sequence = CommentedSeq(items)
    sequence.fa.set_flow_style()
    return sequence


def _render(root: CommentedMap) -> str:
    yaml = YAML(typ="rt", pure=True)
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 110
    buffer = io.StringIO()
    buffer.write("# edgeops inventory (format: edgeops help inventory)\n")
    yaml.dump(root, buffer)
    lines = buffer.getvalue().splitlines()
    out: list[str] = []
    for index, line in enumerate(lines):
        # A blank line before each top-level section after the first keeps the file easy to scan.
        if index > 1 and line and not line[0].isspace() and not line.startswith(("-", "#")):
            out.append("")
        out.append(line)
    return "\n".join(out) + "\n"
