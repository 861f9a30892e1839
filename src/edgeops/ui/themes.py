"""Themes as files: the ones shipped in themes/ and the user's own in the config dir, as Textual Theme objects."""

from __future__ import annotations

import logging
import tomllib
from importlib import resources
from pathlib import Path

from textual.theme import Theme

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
