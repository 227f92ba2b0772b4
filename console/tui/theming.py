"""Themes as data: every ``themes/*.toml`` file becomes a Textual :class:`~textual.theme.Theme`.

Why TOML files rather than Theme objects in code: a site can review, diff and add a theme without
touching Python, and the files ship as package data (see pyproject's ``themes`` package-data).
Which theme wins: a cluster's pinned theme (``cluster.theme``) over the ``--theme`` flag over
``[tui] theme`` — a pinned production cluster must always look like itself.
"""

from __future__ import annotations

import tomllib
from dataclasses import fields
from importlib import resources

from textual.theme import Theme

from actions.config import DcopsConfig
from actions.errors import ConfigError

DEFAULT_THEME = "dcops-dark"
_THEME_FIELDS = {f.name for f in fields(Theme)} - {"name"}
# dcops variables every theme must define, so widgets can rely on them.
REQUIRED_VARIABLES = ("production", "muted", "selected")


def _theme_from_toml(source: str, raw: dict) -> Theme:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"theme file {source}: 'name' is missing")
    unknown = sorted(set(raw) - _THEME_FIELDS - {"name"})
    if unknown:
        raise ConfigError(f"theme file {source}: unknown key {unknown[0]!r}; accepted: {', '.join(sorted(_THEME_FIELDS))}")
    variables = dict(raw.get("variables", {}))
    missing = [v for v in REQUIRED_VARIABLES if v not in variables]
    if missing:
        raise ConfigError(f"theme file {source}: [variables] must define {', '.join(missing)}")
    kwargs = {k: v for k, v in raw.items() if k not in ("name", "variables")}
    return Theme(name=name, variables=variables, **kwargs)


def load_themes() -> dict[str, Theme]:
    """Every theme shipped in the ``themes`` package, by name."""
    themes: dict[str, Theme] = {}
    for entry in sorted(resources.files("themes").iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".toml"):
            continue
        try:
            raw = tomllib.loads(entry.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"theme file {entry.name} is not valid TOML: {exc}") from None
        theme = _theme_from_toml(entry.name, raw)
        themes[theme.name] = theme
    return themes


def choose_theme(config: DcopsConfig, flag: str | None, available: dict[str, Theme]) -> tuple[str, str | None]:
    """The theme to use and, when the user's choice was overridden or unknown, a one-line note."""
    pinned = config.cluster.theme
    for origin, name in (("cluster.theme", pinned), ("--theme", flag), ("[tui] theme", config.tui.theme)):
        if not name:
            continue
        if name not in available:
            raise ConfigError(f"{origin}: unknown theme {name!r}; available: {', '.join(sorted(available))}")
        if origin == "cluster.theme" and flag and flag != name:
            return name, f"cluster {config.cluster.name} pins theme {name}; --theme {flag} ignored"
        return name, None
    return DEFAULT_THEME, None
