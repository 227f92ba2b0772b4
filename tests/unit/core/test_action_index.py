"""The action index (name -> module) cannot drift from the real registrations, and it is what makes
``run ping`` cheap: asking the registry for one action imports only that action's module."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import dcops.actions.ops as ops
from dcops.actions.action_index import ACTION_MODULES, registered_modules
from dcops.actions.errors import UsageError
from dcops.actions.registry import Kind, Params, Registry, TargetKind, action


def test_every_registered_action_is_in_the_index_and_every_index_entry_is_registered() -> None:
    real = registered_modules()
    assert real, "no action registered at all"
    missing = sorted(real.keys() - ACTION_MODULES.keys())
    stale = sorted(ACTION_MODULES.keys() - real.keys())
    moved = sorted(n for n in real.keys() & ACTION_MODULES.keys() if real[n] != ACTION_MODULES[n])
    assert not missing, f"actions missing from action_index.ACTION_MODULES: {missing}"
    assert not stale, f"action_index names actions nothing registers: {stale}"
    assert not moved, f"action_index names the wrong module for: {moved}"


def test_every_action_module_is_in_the_index() -> None:
    """A new module whose actions were left out of the index would be invisible to ``run NAME``
    until something listed every action: each public ops module that registers actions is named."""
    modules = {m.name for m in pkgutil.iter_modules(ops.__path__) if not m.name.startswith("_")}
    registering = set(registered_modules().values())
    assert set(ACTION_MODULES.values()) <= modules
    assert registering == set(ACTION_MODULES.values())


def test_asking_for_one_action_imports_only_its_module() -> None:
    code = (
        "import sys\n"
        "from dcops.actions.registry import registry\n"
        "assert 'drain' in registry and 'nope' not in registry\n"  # membership needs no import
        "assert not [m for m in sys.modules if m.startswith('dcops.actions.ops.')], 'imported before use'\n"
        "registry.get('ping')\n"
        "print(sorted(m for m in sys.modules if m.startswith('dcops.actions.ops.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['dcops.actions.ops.ping']"


def test_listing_loads_every_action_and_unknown_names_still_fail_clearly() -> None:
    code = (
        "from dcops.actions.registry import registry\n"
        "print(len(list(registry)))\n"
        "try:\n    registry.get('pingg')\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert int(out[0]) == len(ACTION_MODULES)
    assert out[1].startswith("UsageError unknown action 'pingg'; known actions: ") and "ping," in out[1]


def test_an_index_entry_whose_module_does_not_register_it_is_an_unknown_action() -> None:
    """A stale index line (module renamed an action) must fail as an unknown action, not KeyError."""
    reg = Registry({"ghost": "ping"}, "dcops.actions.ops")
    with pytest.raises(UsageError, match="unknown action 'ghost'"):
        reg.get("ghost")


def test_a_registry_without_an_index_is_a_plain_dict_of_what_was_added() -> None:
    class P(Params):
        pass

    reg = Registry()

    @action("only", help="h", params=P, kind=Kind.READ, targets=TargetKind.NONE, into=reg)
    async def only(ctx, p):  # pragma: no cover - never run
        yield None

    assert reg.names() == ["only"] and [s.name for s in reg] == ["only"] and "ping" not in reg
