"""Themes as data: every ``themes/*.toml`` file becomes a Textual :class:`~textual.theme.Theme`.

Why TOML files rather than Theme objects in code: a site can review, diff and add a theme without
touching Python, and the files ship as package data (see pyproject's ``themes`` package-data).
Which theme wins: a cluster's pinned theme (``cluster.theme``) over the ``--theme`` flag over the
theme last chosen in the console (remembered in ``$XDG_STATE_HOME/dcops/theme``) over ``[tui]
theme`` — a pinned production cluster must always look like itself, and a choice made from the
palette should not be lost at the next start.
"""

from __future__ import annotations

import tomllib
from dataclasses import fields
from importlib import resources
from pathlib import Path

from platformdirs import user_state_path
from textual.theme import BUILTIN_THEMES, Theme

from dcops.actions.config import DcopsConfig
from dcops.actions.errors import ConfigError

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
        raise ConfigError(
            f"theme file {source}: unknown key {unknown[0]!r}; accepted: {', '.join(sorted(_THEME_FIELDS))}"
        )
    variables = dict(raw.get("variables", {}))
    missing = [v for v in REQUIRED_VARIABLES if v not in variables]
    if missing:
        raise ConfigError(f"theme file {source}: [variables] must define {', '.join(missing)}")
    kwargs = {k: v for k, v in raw.items() if k not in ("name", "variables")}
    return Theme(name=name, variables=variables, **kwargs)


def load_themes() -> dict[str, Theme]:
    """Every theme shipped in the ``themes`` package, by name."""
    themes: dict[str, Theme] = {}
    for entry in sorted(resources.files("dcops.themes").iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".toml"):
            continue
        try:
            raw = tomllib.loads(entry.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"theme file {entry.name} is not valid TOML: {exc}") from None
        theme = _theme_from_toml(entry.name, raw)
        themes[theme.name] = theme
    return themes


def _remembered_path() -> Path:
    return user_state_path("dcops") / "theme"


def remembered_theme() -> str | None:
    """The theme last chosen in the console, if any (a missing or unreadable file: none)."""
    try:
        name = _remembered_path().read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name or None


def remember_theme(name: str) -> None:
    """Keep the operator's choice for the next start; best effort (a read-only home is no error)."""
    try:
        path = _remembered_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name + "\n", encoding="utf-8")
    except OSError:
        pass


def choose_theme(
    config: DcopsConfig, flag: str | None, available: dict[str, Theme], remembered: str | None = None
) -> tuple[str, str | None]:
    """The theme to use and, when the user's choice was overridden or unknown, a one-line note."""
    pinned = config.cluster.theme
    if remembered and remembered not in available and remembered not in BUILTIN_THEMES:
        remembered = None  # a theme file that was removed since: fall back quietly
    for origin, name in (
        ("cluster.theme", pinned),
        ("--theme", flag),
        ("remembered", remembered),
        ("[tui] theme", config.tui.theme),
    ):
        if not name:
            continue
        if origin == "remembered":
            return name, None
        if name not in available:
            raise ConfigError(f"{origin}: unknown theme {name!r}; available: {', '.join(sorted(available))}")
        if origin == "cluster.theme" and flag and flag != name:
            return name, f"cluster {config.cluster.name} pins theme {name}; --theme {flag} ignored"
        return name, None
    return DEFAULT_THEME, None
