"""Where edgeops keeps its config, state and logs: platformdirs defaults, overridable per path."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "edgeops"
INVENTORY_FILE_NAME = "inventory.yaml"  # in the config folder, when no flag, variable or config.toml names one
CONFIG_FILE_NAME = "config.toml"  # the user's settings (edgeops.config), in the config folder


def _from_env(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser() if value else default


@dataclass(frozen=True)
class AppPaths:
    """The directories and files edgeops reads and writes."""

    config_dir: Path
    state_dir: Path
    log_dir: Path
    inventory: Path

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def audit_log(self) -> Path:
        return self.state_dir / "audit.jsonl"

    @property
    def command_history(self) -> Path:
        return self.state_dir / "command_history"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "edgeops.log"

    @property
    def config_file(self) -> Path:
        return self.config_dir / CONFIG_FILE_NAME

    @property
    def user_themes_dir(self) -> Path:
        return self.config_dir / "themes"

    @classmethod
    def resolve(
        cls,
        *,
        inventory: str | os.PathLike[str] | None = None,
        config_dir: str | os.PathLike[str] | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        log_dir: str | os.PathLike[str] | None = None,
    ) -> AppPaths:
        """Flags win over EDGEOPS_* environment variables, which win over platformdirs."""
        config = (
            Path(config_dir)
            if config_dir
            else _from_env("EDGEOPS_CONFIG_DIR", Path(platformdirs.user_config_dir(APP_NAME)))
        )
        state = (
            Path(state_dir)
            if state_dir
            else _from_env("EDGEOPS_STATE_DIR", Path(platformdirs.user_state_dir(APP_NAME)))
        )
        logs = Path(log_dir) if log_dir else _from_env("EDGEOPS_LOG_DIR", Path(platformdirs.user_log_dir(APP_NAME)))
        inv = Path(inventory) if inventory else _from_env("EDGEOPS_INVENTORY", config / INVENTORY_FILE_NAME)
        return cls(config_dir=config, state_dir=state, log_dir=logs, inventory=inv)
