"""Themes load from files: the shipped ones, the user's, and broken ones are skipped; a theme chosen in the
console is saved to config.toml."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from textual.pilot import Pilot

from conftest import make_sample_fleet
from edgeops.config import TEMPLATE, read_config_file, resolve_settings
from edgeops.ui.app import EdgeOpsApp, store_app
from edgeops.ui.themes import DEFAULT_THEME, load_themes, shipped_themes_dir


def test_shipped_themes_load():
    names = {theme.name for theme in load_themes()}
    assert {DEFAULT_THEME, "edgeops-light", "edgeops-high-contrast", "edgeops-ansi"} <= names
    assert (shipped_themes_dir() / "edgeops-dark.toml").is_file()


def test_user_theme_added_and_broken_one_skipped(tmp_path):
    (tmp_path / "night.toml").write_text('name = "night"\nprimary = "#112233"\n')
    (tmp_path / "broken.toml").write_text('name = "broken"\nprimary = "#112233"\ncolour = "x"\n')
    (tmp_path / "garbage.toml").write_text("this is = = not toml")
    names = {theme.name for theme in load_themes(tmp_path)}
    assert "night" in names
    assert "broken" not in names


def test_user_theme_overrides_shipped(tmp_path):
    (tmp_path / "dark.toml").write_text(f'name = "{DEFAULT_THEME}"\nprimary = "#abcdef"\n')
    theme = {t.name: t for t in load_themes(tmp_path)}[DEFAULT_THEME]
    assert theme.primary.lower() == "#abcdef"


# -- a theme chosen in the console is saved to config.toml ------------------------------------------------------

USERS_FILE = """\
# my settings
command_timeout = 45.0  # slow satellites
theme = "edgeops-dark"
record = false
"""


def _console(tmp_path: Path, theme_origin: str = "") -> EdgeOpsApp:
    fleet = make_sample_fleet(tmp_path, hostile=False)
    app = store_app(fleet.inventory, paths=fleet.paths, store=fleet.store, clock=fleet.clock)
    app.settings = dataclasses.replace(app.settings, theme_origin=theme_origin)
    return app


def _notices(app: EdgeOpsApp) -> list[str]:
    return [str(notification.message) for notification in app._notifications]


async def _choose_in_palette(pilot: Pilot[None], name: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.press(*f"Theme: {name}")
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


async def test_a_theme_chosen_in_the_palette_is_saved_and_the_rest_of_the_file_kept(tmp_path: Path) -> None:
    app = _console(tmp_path)
    config = app.paths.config_dir / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(USERS_FILE)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.pause()
        assert config.read_text() == USERS_FILE  # opening the console saves nothing
        await _choose_in_palette(pilot, "edgeops-light")
        assert app.theme == "edgeops-light"
        await pilot.pause()
        assert config.read_text() == USERS_FILE.replace('"edgeops-dark"', '"edgeops-light"')
        assert _notices(app) == []
    assert resolve_settings(app.paths.config_dir, environ={}).theme == "edgeops-light"


async def test_without_a_config_file_one_is_started_from_the_template(tmp_path: Path) -> None:
    app = _console(tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.pause()
        app.theme = "edgeops-high-contrast"  # as Textual's own theme picker sets it
        await pilot.pause()
    text = (app.paths.config_dir / "config.toml").read_text()
    assert text.startswith(TEMPLATE)  # every commented setting is still there to uncomment
    assert read_config_file(app.paths.config_dir / "config.toml")["theme"][0] == "edgeops-high-contrast"


@pytest.mark.parametrize(
    ("origin", "says"), [("--theme", "when --theme is given again"), ("EDGEOPS_THEME", "while EDGEOPS_THEME is set")]
)
async def test_a_theme_from_a_flag_or_variable_is_saved_and_the_user_told_it_still_wins(
    tmp_path: Path, origin: str, says: str
) -> None:
    app = _console(tmp_path, theme_origin=origin)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.pause()
        app.theme = "edgeops-light"
        await pilot.pause()
        (notice,) = _notices(app)
    assert f"{origin} wins over it at the next start {says}" in notice
    assert read_config_file(app.paths.config_dir / "config.toml")["theme"][0] == "edgeops-light"


async def test_a_broken_config_file_is_left_alone_and_the_user_told(tmp_path: Path) -> None:
    app = _console(tmp_path)
    config = app.paths.config_dir / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('theme = "edgeops-dark"\nthis is = = not toml\n')
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.pause()
        app.theme = "edgeops-light"
        await pilot.pause()
        assert app.theme == "edgeops-light"  # the console goes on with the chosen theme
        (notice,) = _notices(app)
    assert "theme edgeops-light not saved" in notice and "not valid TOML" in notice
    assert config.read_text() == 'theme = "edgeops-dark"\nthis is = = not toml\n'


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
async def test_an_unwritable_config_folder_gives_a_notice_not_a_crash(tmp_path: Path) -> None:
    app = _console(tmp_path)
    app.paths.config_dir.mkdir(parents=True)
    app.paths.config_dir.chmod(0o500)
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await pilot.pause()
            app.theme = "edgeops-light"
            await pilot.pause()
            (notice,) = _notices(app)
    finally:
        app.paths.config_dir.chmod(0o700)
    assert "theme edgeops-light not saved" in notice


async def test_a_config_path_that_cannot_be_written_gives_a_notice_not_a_crash(tmp_path: Path) -> None:
    # A folder where the file should be: writing fails for root too.
    app = _console(tmp_path)
    (app.paths.config_dir / "config.toml").mkdir(parents=True)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.pause()
        app.theme = "edgeops-light"
        await pilot.pause()
        assert app.theme == "edgeops-light"
        (notice,) = _notices(app)
    assert "theme edgeops-light not saved" in notice
