"""The actions themselves, one module per idea. Adding an action is adding a module (no central
list for several people to edit at once) plus its line in ``dcops.actions.action_index``, which
lets the registry import only the module a command needs; a test fails when that line is missing.

Importing this package no longer imports its modules (importing ``dcops.actions.ops.ping`` runs
this file first, so an eager import here would load every action for ``run ping``):
:func:`import_all` does, and the registry calls it for listings and help."""

from __future__ import annotations

import importlib


def import_all() -> None:
    """Import (and so register) every action module."""
    import pkgutil

    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")
