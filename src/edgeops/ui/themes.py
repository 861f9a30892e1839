"""Themes as files: the ones shipped in themes/ and the user's own in the config dir, as Textual Theme objects."""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from textual.notifications import SeverityLevel
from textual.theme import Theme

from edgeops.config import ConfigError, save_theme

log = logging.getLogger(__name__)

DEFAULT_THEME = "edgeops-dark"
THEME_FIELDS = {
    "name",
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "dark",
    "luminosity_spread",
    "text_alpha",
    "variables",
    "ansi",
}


def shipped_themes_dir() -> Path:
    """The themes/ folder: packaged inside the wheel, or at the repository root in a development install."""
    packaged = resources.files("edgeops") / "themes"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "themes"


def load_theme_file(path: Path) -> Theme:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    unknown = set(data) - THEME_FIELDS
    if unknown:
        raise ValueError(f"{path}: unknown theme keys: {', '.join(sorted(unknown))}")
    if "name" not in data or "primary" not in data:
        raise ValueError(f"{path}: a theme needs at least 'name' and 'primary'")
    return Theme(**data)


def load_themes(user_dir: Path | None = None) -> list[Theme]:
    """Every shipped theme, then the user's (which may replace a shipped one of the same name).

    A broken user theme is logged and skipped: a typo in a colour must not keep the console from starting.
    """
    themes: dict[str, Theme] = {}
    folders = [shipped_themes_dir()]
    if user_dir is not None:
        folders.append(user_dir)
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                theme = load_theme_file(path)
            except (OSError, ValueError, TypeError, tomllib.TOMLDecodeError) as error:
                log.warning("skipping theme %s: %s", path, error)
                continue
            themes[theme.name] = theme
    return list(themes.values())


def theme_names(user_dir: Path | None = None) -> set[str]:
    """Every theme `--theme` may name: ours, the user's and Textual's own."""
    from textual.theme import BUILTIN_THEMES

    return {theme.name for theme in load_themes(user_dir)} | set(BUILTIN_THEMES)


@dataclass(frozen=True)
class ThemeNotice:
    """What the console tells the user after saving a theme chosen in it (plain text)."""

    message: str
    severity: SeverityLevel = "information"


def save_chosen_theme(config_dir: Path, name: str, theme_origin: str = "") -> ThemeNotice | None:
    """Save a theme chosen in the console to config.toml. None when there is nothing to say; a notice when the
    flag or variable `theme_origin` will still win at the next start, or when the file could not be written (the
    theme stays for this session: a broken config.toml must not take the console down)."""
    try:
        path = save_theme(config_dir, name)
    except ConfigError as error:
        log.warning("theme %s not saved: %s", name, error)
        return ThemeNotice(f"theme {name} not saved: {error}", "warning")
    except OSError as error:
        log.warning("theme %s not saved: %s", name, error)
        return ThemeNotice(f"theme {name} not saved to {config_dir}: {error}", "warning")
    if theme_origin:
        when = f"when {theme_origin} is given again" if theme_origin.startswith("-") else f"while {theme_origin} is set"
        return ThemeNotice(f"theme {name} saved to {path}; {theme_origin} wins over it at the next start {when}")
    return None
