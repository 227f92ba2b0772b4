"""Server-side ``meta.k8s.io/v1`` Tables, which ``kubectl get`` asks for and prints as they come.

Columns follow kube-apiserver 1.32's printers (pkg/printers/internalversion) for the kinds kubectl
users look at here; other kinds get NAME and AGE, like the API server's default table convertor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def human_age(stamp: str | None, until: str | None = None) -> str:
    """kubectl's HumanDuration, close enough: 45s, 12m, 5h, 3d."""
    if not stamp:
        return "<unknown>"
    end = _parse(until) if until else datetime.now(UTC)
    secs = max(0, int((end - _parse(stamp)).total_seconds()))
    if secs < 120:
        return f"{secs}s"
    if secs < 3600 * 3:
        return f"{secs // 60}m"
    if secs < 86400 * 2:
        return f"{secs // 3600}h"
    return f"{secs // 86400}d"


def _col(name: str, typ: str = "string", priority: int = 0) -> Obj:
    return {
        "name": name,
        "type": typ,
        "format": "name" if name == "Name" else "",
        "description": "",
        "priority": priority,
    }


def _node_row(node: Obj) -> list[Any]:
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (node.get("status") or {}).get("conditions") or []
    )
    status = "Ready" if ready else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    roles = sorted(
        k.split("/", 1)[1] for k in (node["metadata"].get("labels") or {}) if k.startswith("node-role.kubernetes.io/")
    ) or ["<none>"]
    version = ((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")
    return [
        node["metadata"]["name"],
        status,
        ",".join(roles),
        human_age(node["metadata"].get("creationTimestamp")),
        version,
    ]


def pod_status_text(pod: Obj) -> str:
    """The STATUS column: Terminating, a container's waiting/terminated reason, or the phase."""
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    status = pod.get("status") or {}
    reason = status.get("phase") or "Pending"
    inits = status.get("initContainerStatuses") or []
    for i, ic in enumerate(inits):  # as kubectl's printer: Init:REASON or Init:N/M
        state = ic.get("state") or {}
        term, wait = state.get("terminated") or {}, state.get("waiting") or {}
        if term and term.get("exitCode") == 0:
            continue
        if term:
            return "Init:" + (term.get("reason") or f"ExitCode:{term.get('exitCode')}")
        if wait.get("reason") and wait["reason"] != "PodInitializing":
            return "Init:" + wait["reason"]
        return f"Init:{i}/{len(inits)}"
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            return state["waiting"]["reason"]
        if (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
    if reason == "Pending" and (pod.get("spec") or {}).get("nodeName"):
        return "ContainerCreating"
    return reason


def _pod_row(pod: Obj) -> list[Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    total = len((pod.get("spec") or {}).get("containers") or [])
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount", 0)) for c in statuses)
    return [
        pod["metadata"]["name"],
        f"{ready}/{total}",
        pod_status_text(pod),
        restarts,
        human_age(pod["metadata"].get("creationTimestamp")),
        (pod.get("status") or {}).get("podIP", "<none>"),
        (pod.get("spec") or {}).get("nodeName", "<none>"),
    ]


def _job_row(job: Obj) -> list[Any]:
    st = job.get("status") or {}
    conds = {c["type"]: c for c in st.get("conditions") or [] if c.get("status") == "True"}
    if "Failed" in conds:
        status = "Failed"
    elif "Complete" in conds:
        status = "Complete"
    elif (job.get("spec") or {}).get("suspend"):
        status = "Suspended"
    else:
        status = "Running"
    completions = f"{st.get('succeeded', 0)}/{(job.get('spec') or {}).get('completions', 1)}"
    duration = human_age(st.get("startTime"), st.get("completionTime")) if st.get("startTime") else ""
    return [job["metadata"]["name"], status, completions, duration, human_age(job["metadata"].get("creationTimestamp"))]


def _pdb_row(pdb: Obj) -> list[Any]:
    spec, st = pdb.get("spec") or {}, pdb.get("status") or {}
    return [
        pdb["metadata"]["name"],
        str(spec.get("minAvailable", "N/A")),
        str(spec.get("maxUnavailable", "N/A")),
        st.get("disruptionsAllowed", 0),
        human_age(pdb["metadata"].get("creationTimestamp")),
    ]


_TABLES = {
    "nodes": ([_col("Name"), _col("Status"), _col("Roles"), _col("Age"), _col("Version")], _node_row),
    "pods": (
        [
            _col("Name"),
            _col("Ready"),
            _col("Status"),
            _col("Restarts", "integer"),
            _col("Age"),
            _col("IP", priority=1),
            _col("Node", priority=1),
        ],
        _pod_row,
    ),
    "jobs": ([_col("Name"), _col("Status"), _col("Completions"), _col("Duration"), _col("Age")], _job_row),
    "poddisruptionbudgets": (
        [
            _col("Name"),
            _col("Min Available"),
            _col("Max Unavailable"),
            _col("Allowed Disruptions", "integer"),
            _col("Age"),
        ],
        _pdb_row,
    ),
}


def to_table(plural: str, items: list[Obj], resource_version: str) -> Obj:
    columns, row_fn = _TABLES.get(
        plural,
        (
            [_col("Name"), _col("Age")],
            lambda o: [o["metadata"]["name"], human_age(o["metadata"].get("creationTimestamp"))],
        ),
    )
    rows = [
        {
            "cells": row_fn(o),
            "object": {"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": o["metadata"]},
        }
        for o in items
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": columns,
        "rows": rows,
    }
