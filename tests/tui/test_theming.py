"""Themes are data: the shipped files load, define dcops' variables, and the choice rules hold."""

from __future__ import annotations

import pytest

from dcops.actions.errors import ConfigError
from dcops.console.tui.theming import REQUIRED_VARIABLES, _theme_from_toml, choose_theme, load_themes


def test_shipped_themes_load_with_dcops_variables() -> None:
    themes = load_themes()
    assert {"dcops-dark", "dcops-light", "dcops-contrast"} <= set(themes)
    assert themes["dcops-light"].dark is False and themes["dcops-dark"].dark is True
    for theme in themes.values():
        assert all(v in theme.variables for v in REQUIRED_VARIABLES), theme.name


def test_choice_flag_config_and_pin(config) -> None:
    themes = load_themes()
    assert choose_theme(config(), None, themes) == ("dcops-dark", None)
    assert choose_theme(config(), "dcops-light", themes) == ("dcops-light", None)
    pinned = config(theme="dcops-contrast", name="prod")
    name, note = choose_theme(pinned, "dcops-light", themes)
    assert name == "dcops-contrast" and note == "cluster prod pins theme dcops-contrast; --theme dcops-light ignored"
    with pytest.raises(ConfigError, match="--theme: unknown theme 'neon'; available: dcops-contrast, dcops-dark"):
        choose_theme(config(), "neon", themes)


def test_bad_theme_files_are_one_line_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown key 'primay'"):
        _theme_from_toml("x.toml", {"name": "x", "primay": "#fff", "variables": {}})
    with pytest.raises(ConfigError, match=r"\[variables\] must define production, muted, selected"):
        _theme_from_toml("x.toml", {"name": "x", "primary": "#fff"})
