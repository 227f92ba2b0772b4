"""dcops' action layer: the one path from any front end to the cluster.

Front ends use only what is exported here (plus ``actions.config``, ``actions.errors`` and
``actions.events``): they parse a command with :func:`parse_command`, submit a :class:`Request`
to the :class:`Engine`, and render the :class:`Run`'s events.
"""

from __future__ import annotations

from . import errors, events
from .engine import Engine, open_engine
from .identity import local_principal
from .grammar import Command, command_help, complete, parse_command, usage
from .registry import ActionSpec, Kind, TargetKind, registry
from .request import Request
from .run import Run
from .settle import resume_in
from .targets import Target
from .version import __version__



def load_actions():  # noqa: ANN201 - returns the filled Registry
    """The registry with every action registered (importing ``actions.ops`` registers them)."""
    import actions.ops  # noqa: F401

    return registry


__all__ = [
    "__version__",
    "ActionSpec", "Command", "Engine", "Kind", "Request", "Run", "Target", "TargetKind",
    "command_help", "complete", "errors", "events", "load_actions", "local_principal", "open_engine", "parse_command",
    "registry", "resume_in", "usage",
]
