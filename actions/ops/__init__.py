"""The actions themselves. Importing this package registers every module in it, so adding an
action is adding a module — no central list for several people to edit at once."""

from __future__ import annotations

import importlib
import pkgutil

for _mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")
