"""Themes load from files: the shipped ones, the user's, and broken ones are skipped."""

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
