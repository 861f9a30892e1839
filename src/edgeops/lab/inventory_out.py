"""A running lab written out for clients: an edgeops inventory (YAML or objects) and a targets JSON array."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeops.inventory.model import Credentials, Inventory, JumpHost, SecretRef, Site
from edgeops.platforms import GnmiTls

if TYPE_CHECKING:
    from edgeops.lab.runner import Lab

LAB_TAG = "lab"
INVENTORY_HEADER = (
    "# edgeops inventory of the simulated device lab, written by `edgeops lab`.\n"
    "# It holds the lab's passwords as literals, which edgeops accepts only because this file is mode 0600.\n"
)


def write_private_text(path: Path, text: str) -> Path:
    """Write a file readable only by its owner, atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)  # in case a partial file was left behind with another mode
        handle.write(text)
    os.replace(partial, path)
    return path


def _gnmi_tls(lab: Lab) -> GnmiTls:
    return GnmiTls.TLS if lab.gnmi_tls == "tls" else GnmiTls.INSECURE


def inventory_document(lab: Lab) -> dict[str, Any]:
    """The inventory as plain data, in the edgeops YAML format (docs/inventory.md)."""
    document: dict[str, Any] = {
        "version": 1,
        # An empty description is left out: the inventory format refuses empty text.
        "sites": [
            {"code": site.code, "name": site.name} | ({"description": site.description} if site.description else {})
            for site in lab.sites
        ],
    }
    jump = lab.jump if lab.jump_only else None
    if jump is not None:
        document["jump_hosts"] = [
            {
                "name": jump.name,
                "host": jump.host,
                "port": jump.port,
                "username": jump.username,
                "password": f"literal:{jump.password}",
                "use_agent": False,
            }
        ]
    # The lab knows only its own key and passwords: offering an agent's keys would only slow logins down.
    defaults: dict[str, Any] = {"gnmi_tls": _gnmi_tls(lab).value, "use_agent": False}
    if lab.gnmi_ca_file is not None and lab.gnmi_tls == "tls":
        defaults["gnmi_ca_file"] = str(lab.gnmi_ca_file)
    if jump is not None:
        defaults["jump"] = jump.name
    # Lab devices share one login: write it once in defaults unless some device differs.
    logins = {(identity.username, identity.password) for identity in lab.identities}
    shared = len(logins) == 1
    if shared:
        username, password = next(iter(logins))
        defaults["username"] = username
        defaults["password"] = f"literal:{password}"
    document["defaults"] = defaults
    devices = []
    for identity in lab.identities:
        entry: dict[str, Any] = {
            "name": identity.name,
            "site": identity.site,
            "role": identity.role,
            "platform": identity.platform.value,
            "model": identity.model,
            "host": identity.host,
            "ssh_port": identity.ssh_port,
            "gnmi_port": identity.gnmi_port,
        }
        if not shared:
            entry["username"] = identity.username
            entry["password"] = f"literal:{identity.password}"
        entry["tags"] = [LAB_TAG]
        devices.append(entry)
    document["devices"] = devices
    return document


def render_inventory(lab: Lab) -> str:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # keep the field order above
    buffer = io.StringIO()
    yaml.dump(inventory_document(lab), buffer)
    return INVENTORY_HEADER + buffer.getvalue()


def write_inventory(lab: Lab, path: Path) -> Path:
    return write_private_text(path, render_inventory(lab))


def targets(lab: Lab) -> list[dict[str, Any]]:
    """One object per device: where to reach it and how to log in."""
    jump = lab.jump if lab.jump_only else None
    rows = []
    for identity in lab.identities:
        row: dict[str, Any] = {
            "name": identity.name,
            "site": identity.site,
            "role": identity.role,
            "platform": identity.platform.value,
            "model": identity.model,
            "host": identity.host,
            "ssh_port": identity.ssh_port,
            "gnmi_port": identity.gnmi_port,
            "username": identity.username,
            "password": identity.password,
            "gnmi_tls": _gnmi_tls(lab).value,
        }
        if jump is not None:
            row["jump"] = {"host": jump.host, "port": jump.port, "username": jump.username, "password": jump.password}
        rows.append(row)
    return rows


def write_targets(lab: Lab, path: Path) -> Path:
    return write_private_text(path, json.dumps(targets(lab), indent=2, ensure_ascii=False) + "\n")


def lab_inventory(lab: Lab) -> Inventory:
    """The same inventory as objects, for the console's demo mode (no file, no loader).

    Every field counts as set by the inventory (explicit_fields), as when the YAML is loaded, so a user's
    ~/.ssh/config (a `Host *` with another User, say) cannot redirect the lab's logins.
    """
    document = inventory_document(lab)
    device_fields = frozenset(document["defaults"]) | {key for entry in document["devices"] for key in entry}
    jump = lab.jump if lab.jump_only else None
    jump_hosts: tuple[JumpHost, ...] = ()
    if jump is not None:
        jump_hosts = (
            JumpHost(
                jump.name,
                jump.host,
                jump.port,
                Credentials(jump.username, SecretRef("literal", jump.password), use_agent=False),
                explicit_fields=frozenset(document["jump_hosts"][0]) - {"name"},
            ),
        )
    tls = _gnmi_tls(lab)
    ca_file = lab.gnmi_ca_file if tls is GnmiTls.TLS else None
    devices = tuple(
        identity.inventory_device(
            gnmi_tls=tls,
            gnmi_ca_file=ca_file,
            jump=jump.name if jump is not None else None,
            credentials=Credentials(identity.username, SecretRef("literal", identity.password), use_agent=False),
            tags=frozenset({LAB_TAG}),
            explicit_fields=device_fields - {"name"},
        )
        for identity in lab.identities
    )
    sites = tuple(Site(site.name, site.code, site.description) for site in lab.sites)
    return Inventory(sites=sites, devices=devices, jump_hosts=jump_hosts)
