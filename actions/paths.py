"""Where dcops keeps its files, from platformdirs (one place for the CLI, the TUI, the bot and the
config defaults). On Linux these are the XDG base directories (``$XDG_CONFIG_HOME``,
``$XDG_DATA_HOME``, ``$XDG_STATE_HOME``, each falling back to its ``~/.config``-style default), so
the behaviour is what the hand-built paths did; platformdirs also gets macOS right."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_config_path, user_data_path, user_state_path

APP = "dcops"


def config_dir() -> Path:
    """``config.toml`` and ``policy.toml``."""
    return user_config_path(APP)


def data_dir() -> Path:
    """The default SQLite audit log and the lock directory."""
    return user_data_path(APP)


def state_dir() -> Path:
    """Log files (``dcops.log``, ``tui.log``)."""
    return user_state_path(APP)
