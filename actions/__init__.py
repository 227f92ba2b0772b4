"""dcops' action layer: the one path from any front end to the cluster.

Front ends use only what is exported here (plus ``dcops.actions.config``, ``dcops.actions.errors``,
``dcops.actions.events`` and ``dcops.actions.result_rows``): they parse a command with :func:`parse_command`, submit a :class:`Request`
to the :class:`Engine`, and render the :class:`Run`'s events.

The names are loaded on first use (PEP 562 ``__getattr__``), not when the package is imported:
every ``actions.x`` import runs this file first, and ``dcops --help`` or a CLI command that needs
only the config must not pay for the engine, pydantic's model building and every action (issue 16:
the CLI starts in < 150 ms). ``from actions import Engine`` works as before.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import errors, events
    from .engine import Engine, open_engine
    from .grammar import Command, command_help, complete, parse_command, usage
    from .identity import local_principal
    from .registry import ActionSpec, Kind, TargetKind, registry
    from .request import Request
    from .run import Run
    from .settle import resume_in
    from .targets import Target
    from .version import __version__

# public name -> the submodule (relative) that defines it; a submodule itself when the name is one
_WHERE = {
    "errors": ".errors",
    "events": ".events",
    "Engine": ".engine",
    "open_engine": ".engine",
    "Command": ".grammar",
    "command_help": ".grammar",
    "complete": ".grammar",
    "parse_command": ".grammar",
    "usage": ".grammar",
    "local_principal": ".identity",
    "ActionSpec": ".registry",
    "Kind": ".registry",
    "TargetKind": ".registry",
    "registry": ".registry",
    "Request": ".request",
    "Run": ".run",
    "resume_in": ".settle",
    "Target": ".targets",
    "__version__": ".version",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(where, __name__)
    value = module if where == "." + name and name != "registry" else getattr(module, name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


class _Package(types.ModuleType):
    """Importing the submodule ``dcops.actions.registry`` makes Python set the package attribute
    ``registry`` to that module; the public name ``dcops.actions.registry`` is the Registry object (as it
    was when this file imported it eagerly), so that one assignment is left to ``__getattr__``."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "registry" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def load_actions():  # noqa: ANN201 - returns the filled Registry
    """The registry with every action registered (it imports an action's module lazily, on first use
    of that action; this imports them all, for listings and help)."""
    from .registry import registry

    registry.load_all()
    return registry


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


__all__ = [
    "__version__",
    "ActionSpec",
    "Command",
    "Engine",
    "Kind",
    "Request",
    "Run",
    "Target",
    "TargetKind",
    "command_help",
    "complete",
    "errors",
    "events",
    "load_actions",
    "local_principal",
    "open_engine",
    "parse_command",
    "registry",
    "resume_in",
    "usage",
]
