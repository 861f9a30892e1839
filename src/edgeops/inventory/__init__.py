"""The inventory: sites, devices and jump hosts, loaded and validated from YAML and other formats."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgeops.inventory.dump import dump_inventory
    from edgeops.inventory.loader import load_inventory
    from edgeops.inventory.problems import InventoryError, Problem
    from edgeops.inventory.secrets import SecretError, resolve_secret
    from edgeops.inventory.ssh_config import SshSettings, ssh_settings_for

# The loaders pull in ruamel.yaml: `from edgeops.inventory import load_inventory` imports them on first use,
# so importing edgeops.inventory.model stays light.
_LAZY = {
    "dump_inventory": "edgeops.inventory.dump",
    "load_inventory": "edgeops.inventory.loader",
    "InventoryError": "edgeops.inventory.problems",
    "Problem": "edgeops.inventory.problems",
    "SecretError": "edgeops.inventory.secrets",
    "resolve_secret": "edgeops.inventory.secrets",
    "SshSettings": "edgeops.inventory.ssh_config",
    "ssh_settings_for": "edgeops.inventory.ssh_config",
}

__all__ = [
    "InventoryError",
    "Problem",
    "SecretError",
    "SshSettings",
    "dump_inventory",
    "load_inventory",
    "resolve_secret",
    "ssh_settings_for",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'edgeops.inventory' has no attribute '{name}'")
