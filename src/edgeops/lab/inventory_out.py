"""A running lab for clients: its edgeops Inventory (which `edgeops lab` writes as YAML) and a targets JSON array."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeops.files import write_private
from edgeops.inventory.model import Credentials, Inventory, JumpHost, SecretRef, Site
from edgeops.platforms import GnmiTls

if TYPE_CHECKING:
    from edgeops.lab.runner import Lab

LAB_TAG = "lab"


def _gnmi_tls(lab: Lab) -> GnmiTls:
    return GnmiTls.TLS if lab.gnmi_tls == "tls" else GnmiTls.INSECURE


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
    return write_private(path, json.dumps(targets(lab), indent=2, ensure_ascii=False) + "\n")


def lab_inventory(lab: Lab) -> Inventory:
    """The lab as an edgeops Inventory: for the console's demo mode (no file, no loader), and what `edgeops lab`
    writes as the lab's inventory file (with inventory.dump, which loads back to this same inventory).

    Every field the lab knows counts as set by the inventory (explicit_fields), as when the YAML is loaded, so a
    user's ~/.ssh/config (a `Host *` with another User, say) cannot redirect the lab's logins.
    """
    jump = lab.jump if lab.jump_only else None
    tls = _gnmi_tls(lab)
    ca_file = lab.gnmi_ca_file if tls is GnmiTls.TLS else None
    jump_hosts: tuple[JumpHost, ...] = ()
    if jump is not None:
        jump_hosts = (
            JumpHost(
                jump.name,
                jump.host,
                jump.port,
                Credentials(jump.username, SecretRef("literal", jump.password), use_agent=False),
                explicit_fields=frozenset({"host", "port", "username", "password", "use_agent"}),
            ),
        )
    device_fields = set(_DEVICE_FIELDS)
    if ca_file is not None:
        device_fields.add("gnmi_ca_file")
    if jump is not None:
        device_fields.add("jump")
    devices = tuple(
        identity.inventory_device(
            gnmi_tls=tls,
            gnmi_ca_file=ca_file,
            jump=jump.name if jump is not None else None,
            # The lab knows only its own key and passwords: offering an agent's keys would only slow logins down.
            credentials=Credentials(identity.username, SecretRef("literal", identity.password), use_agent=False),
            tags=frozenset({LAB_TAG}),
            explicit_fields=frozenset(device_fields),
        )
        for identity in lab.identities
    )
    sites = tuple(Site(site.name, site.code, site.description) for site in lab.sites)
    return Inventory(sites=sites, devices=devices, jump_hosts=jump_hosts)


# The device fields the lab sets for every device (gnmi_ca_file and jump only when the lab uses them).
_DEVICE_FIELDS = (
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
    "use_agent",
    "tags",
)
