"""dcops' Python API, for notebooks and scripts: the ``actions`` public API plus a small client.

    import dcops

    async with dcops.connect(demo=True) as ops:        # or dcops.connect("/etc/dcops/config.toml")
        await ops.actions()                             # what you may run (a table in Jupyter)
        r = await ops.run("gpu-health gpu017")          # the shared command grammar ...
        r = await ops.run("drain", nodes="gpu017", reason="xid 79", confirm="1")   # ... or params
        async for event in ops.stream("fabric-health"):
            print(event)
        await ops.audit(since="2h", node="gpu017")

    ops = dcops.connect_sync(demo=True)                 # the same, blocking (scripts, plain REPLs)
    ops.run("ping")

Everything goes through the one engine: RBAC, confirmation, two-person approval and the audit log
apply unchanged. The principal is the process's user from the operating system (``unix:`` + the
uid's login name via ``pwd``; never an environment variable), the channel is ``api``. Results are
plain data (``.rows``, ``.data``) and render as HTML tables in Jupyter.

This package is deliberately thin (re-exports and the client): the engine lives in ``dcops.actions``,
the front ends in ``dcops.console`` and ``dcops.bots``, the themes in ``dcops.themes``. In the repository
those four are the top-level folders ``actions/``, ``console/``, ``bots/`` and ``themes/`` (the fixed
layout), reached here through relative symlinks, so a checkout, an editable install, mypy and the wheel
all see the same ``dcops.*`` names and nothing installs a generic top-level ``actions`` package.

The re-exports are lazy (PEP 562): ``dcops`` is the parent of every module, so importing it must not
pull in the engine; ``dcops --help`` and a Slurm drain import only what they use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the lazy names below resolve to, for type checkers and IDEs
    from dcops.actions import (
        ActionSpec,
        Command,
        Engine,
        Kind,
        Request,
        Run,
        Target,
        TargetKind,
        __version__,
        command_help,
        errors,
        events,
        load_actions,
        open_engine,
        parse_command,
        usage,
    )  # (registry: the Registry object, see dcops.actions.__getattr__; typed there)
    from dcops.actions.errors import ApprovalRequired, ConfirmationRequired, DcopsError, DeniedError, UsageError
    from dcops.client import (
        ActionInfo,
        ActionList,
        Client,
        RunResult,
        SyncClient,
        connect,
        connect_sync,
        principal,
    )

_FROM_CLIENT = ("ActionInfo", "ActionList", "Client", "RunResult", "SyncClient", "connect", "connect_sync", "principal")
_FROM_ACTIONS = (
    "ActionSpec",
    "Command",
    "Engine",
    "Kind",
    "Request",
    "Run",
    "Target",
    "TargetKind",
    "command_help",
    "errors",
    "events",
    "load_actions",
    "open_engine",
    "parse_command",
    "registry",
    "usage",
    "__version__",
)
_FROM_ERRORS = ("ApprovalRequired", "ConfirmationRequired", "DcopsError", "DeniedError", "UsageError")
_SOURCE = {
    **dict.fromkeys(_FROM_CLIENT, "dcops.client"),
    **dict.fromkeys(_FROM_ACTIONS, "dcops.actions"),
    **dict.fromkeys(_FROM_ERRORS, "dcops.actions.errors"),
}

__all__ = [
    "__version__",
    # the client
    "ActionInfo",
    "ActionList",
    "Client",
    "RunResult",
    "SyncClient",
    "connect",
    "connect_sync",
    "principal",
    # the actions public API, re-exported
    "ActionSpec",
    "Command",
    "Engine",
    "Kind",
    "Request",
    "Run",
    "Target",
    "TargetKind",
    "command_help",
    "errors",
    "events",
    "load_actions",
    "open_engine",
    "parse_command",
    "registry",
    "usage",
    "ApprovalRequired",
    "ConfirmationRequired",
    "DcopsError",
    "DeniedError",
    "UsageError",
]


def __getattr__(name: str) -> Any:
    source = _SOURCE.get(name)
    if source is None:
        raise AttributeError(f"module 'dcops' has no attribute {name!r}")
    value = getattr(importlib.import_module(source), name)
    globals()[name] = value  # once resolved, a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
