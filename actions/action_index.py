"""Which module registers each action, so the registry imports only the one a command runs.

``dcops run ping`` used to import every module under ``dcops.actions.ops`` (about 40 actions, their
pydantic models and the helpers behind them) to find one. The registry now looks an unknown name up
here and imports just that module (issue 16: ``run ping`` < 300 ms). Listing, help and completion
still load everything (:meth:`dcops.actions.registry.Registry.load_all`).

Declared, not generated at run time (generating it would mean importing every module, the cost it
saves). ``tests/unit/core/test_action_index.py`` imports every ops module and fails when this table
and the real registrations differ; ``python -m dcops.actions.action_index`` prints the table the
registrations give, to paste here after adding an action.
"""

from __future__ import annotations

OPS_PACKAGE = "dcops.actions.ops"

# action name -> module under OPS_PACKAGE whose import registers it
ACTION_MODULES: dict[str, str] = {
    "alerts": "alerts",
    "ansible": "ansible_module",
    "approvals": "audit",
    "audit": "audit",
    "audit-export": "audit",
    "audit-head": "audit",
    "audit-migrate": "audit",
    "audit-verify": "audit",
    "cancel": "jobs",
    "drain": "nodes",
    "fabric-health": "metrics",
    "firmware": "firmware",
    "firmware-check": "firmware",
    "firmware-update": "firmware",
    "fleet": "fleet",
    "gpu-health": "metrics",
    "gpu-operator": "operators",
    "gpu-reset": "validate",
    "hold": "jobs",
    "jobs": "jobs",
    "k8s-jobs": "kube_jobs",
    "k8s-nodes": "kube_status",
    "network-operator": "operators",
    "node-health": "metrics",
    "nodes": "nodes",
    "ping": "ping",
    "playbook": "playbook",
    "playbooks": "playbook",
    "power": "power",
    "power-status": "power",
    "query": "metrics",
    "reimage": "reimage",
    "release": "jobs",
    "requeue": "jobs",
    "reset-counters": "cables",
    "restart-job": "kube_jobs",
    "resume": "nodes",
    "silences": "alerts",
    "stop": "runs",
    "triage-cable": "cables",
    "validate": "validate",
}


def registered_modules() -> dict[str, str]:
    """The table the real registrations give: import every ops module, then ask each action's
    function where it was defined (the drift test compares this with :data:`ACTION_MODULES`)."""
    from .registry import registry

    registry.load_all()
    prefix = OPS_PACKAGE + "."
    return {s.name: s.run.__module__.removeprefix(prefix) for s in registry if s.run.__module__.startswith(prefix)}


if __name__ == "__main__":
    for name, module in sorted(registered_modules().items()):
        print(f"    {name!r}: {module!r},".replace("'", '"'))
