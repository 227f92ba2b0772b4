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

This package is deliberately thin (re-exports and the client): the engine lives in ``actions``.
"""

from __future__ import annotations

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
    registry,
    usage,
)
from dcops.actions.errors import (
    ApprovalRequired,
    ConfirmationRequired,
    DcopsError,
    DeniedError,
    UsageError,
)

from .client import ActionInfo, ActionList, Client, RunResult, SyncClient, connect, connect_sync, principal

__all__ = [
    "__version__",
    # the client
    "ActionInfo", "ActionList", "Client", "RunResult", "SyncClient", "connect", "connect_sync", "principal",
    # the actions public API, re-exported
    "ActionSpec", "Command", "Engine", "Kind", "Request", "Run", "Target", "TargetKind", "command_help", "errors",
    "events", "load_actions", "open_engine", "parse_command", "registry", "usage",
    "ApprovalRequired", "ConfirmationRequired", "DcopsError", "DeniedError", "UsageError",
]
