"""Translate the official client's V1 objects into dcops models, and decide what a drain evicts.

Kept apart from the adapter so the rules (which pods a drain leaves alone, what a Job's status
is, what kubectl would print as a pod's STATUS) are unit-testable without an API server.
"""

from __future__ import annotations

from typing import Any

from .models import KubeJob, KubeNode, KubePod, OperatorPod, OperatorPolicy

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def controller(obj: Any) -> Any | None:
    """The owner reference marked ``controller: true``, if any."""
    for ref in obj.metadata.owner_references or []:
        if ref.controller:
            return ref
    return None


def pod_key(pod: Any) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


def skip_reason(pod: Any) -> str | None:
    """Why a drain leaves this pod in place (DaemonSet or mirror pod), or None to evict it.

    DaemonSet pods would be recreated on the node at once (its controller tolerates cordons) and
    mirror pods are the kubelet's static pods, which the API cannot delete: kubectl skips both."""
    if MIRROR_ANNOTATION in (pod.metadata.annotations or {}):
        return "mirror pod"
    ref = controller(pod)
    if ref is not None and ref.kind == "DaemonSet":
        return f"DaemonSet {ref.name}"
    return None


def pod_status_text(pod: Any) -> str:
    """The STATUS kubectl prints: Terminating, a container's waiting/terminated reason, or the phase."""
    if pod.metadata.deletion_timestamp is not None:
        return "Terminating"
    status = pod.status
    reason = (status.phase if status else None) or "Pending"
    inits = (status.init_container_statuses if status else None) or []
    for i, ic in enumerate(inits):  # kubectl: Init:ImagePullBackOff, Init:1/2, Init:Error
        state = ic.state
        if state is not None and state.terminated is not None and state.terminated.exit_code == 0:
            continue
        if state is not None and state.terminated is not None:
            return "Init:" + (state.terminated.reason or f"ExitCode:{state.terminated.exit_code}")
        if (
            state is not None
            and state.waiting is not None
            and state.waiting.reason
            and state.waiting.reason != "PodInitializing"
        ):
            return "Init:" + state.waiting.reason
        return f"Init:{i}/{len(inits)}"
    for cs in (status.container_statuses if status else None) or []:
        state = cs.state
        if state is not None and state.waiting is not None and state.waiting.reason:
            return state.waiting.reason
        if state is not None and state.terminated is not None and state.terminated.reason:
            reason = state.terminated.reason
    return reason


def pod_ready(pod: Any) -> bool:
    for cond in (pod.status.conditions if pod.status else None) or []:
        if cond.type == "Ready":
            return cond.status == "True"
    return False


def to_pod(pod: Any) -> KubePod:
    ref = controller(pod)
    owner_kind, owner_name = (ref.kind, ref.name) if ref is not None else ("", "")
    if MIRROR_ANNOTATION in (pod.metadata.annotations or {}):
        owner_kind = owner_kind or "Node"
    return KubePod(
        namespace=pod.metadata.namespace,
        name=pod.metadata.name,
        node=pod.spec.node_name or "",
        phase=(pod.status.phase if pod.status else "") or "",
        owner_kind=owner_kind,
        owner_name=owner_name,
    )


def component_of(pod: Any) -> str:
    labels = pod.metadata.labels or {}
    for key in ("app", "app.kubernetes.io/component", "app.kubernetes.io/name"):
        if labels.get(key):
            return labels[key]
    ref = controller(pod)
    return ref.name if ref is not None else pod.metadata.name


def to_operator_pod(pod: Any) -> OperatorPod:
    return OperatorPod(
        namespace=pod.metadata.namespace,
        name=pod.metadata.name,
        component=component_of(pod),
        status=pod_status_text(pod),
        ready=pod_ready(pod),
    )


def to_node(node: Any, operator_pods: list[Any]) -> KubeNode:
    conditions = (node.status.conditions if node.status else None) or []
    ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
    allocatable = (node.status.allocatable if node.status else None) or {}
    try:
        gpus = int(allocatable.get("nvidia.com/gpu", "0"))
    except ValueError:
        gpus = 0
    taints = tuple(f"{t.key}={t.value or ''}:{t.effect}" for t in (node.spec.taints if node.spec else None) or [])
    ops = tuple(sorted((to_operator_pod(p) for p in operator_pods), key=lambda o: (o.component, o.name)))
    return KubeNode(
        name=node.metadata.name,
        ready=ready,
        unschedulable=bool(node.spec and node.spec.unschedulable),
        gpu_allocatable=gpus,
        labels=dict(node.metadata.labels or {}),
        taints=taints,
        operator_pods=ops,
    )


def job_status(job: Any) -> str:
    """Complete / Failed (from conditions), Suspended, Running (pods active) or Pending."""
    for cond in (job.status.conditions if job.status else None) or []:
        if cond.status == "True" and cond.type in ("Complete", "Failed"):
            return cond.type
    if job.spec is not None and job.spec.suspend:
        return "Suspended"
    return "Running" if job.status is not None and (job.status.active or 0) > 0 else "Pending"


def to_job(job: Any, nodes: tuple[str, ...]) -> KubeJob:
    st = job.status
    return KubeJob(
        namespace=job.metadata.namespace,
        name=job.metadata.name,
        active=(st.active if st else 0) or 0,
        succeeded=(st.succeeded if st else 0) or 0,
        failed=(st.failed if st else 0) or 0,
        status=job_status(job),
        nodes=nodes,
    )


_SERVER_SET_META = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
_GENERATED_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name")


def fresh_job_manifest(job: dict[str, Any]) -> dict[str, Any]:
    """A Job manifest (camelCase dict) that recreates ``job`` from scratch: the spec and user
    labels/annotations kept, everything the API server and the Job controller filled in removed
    (uid, status, the generated selector and controller-uid/job-name labels), as
    ``kubectl get job -o json | kubectl replace --force`` users must do by hand."""
    meta = {k: v for k, v in (job.get("metadata") or {}).items() if k not in _SERVER_SET_META}
    meta["labels"] = {k: v for k, v in (meta.get("labels") or {}).items() if k not in _GENERATED_LABELS}
    meta["annotations"] = {
        k: v for k, v in (meta.get("annotations") or {}).items() if k != "batch.kubernetes.io/job-tracking"
    }
    spec = dict(job.get("spec") or {})
    if not spec.get("manualSelector"):
        spec.pop("selector", None)
        template = dict(spec.get("template") or {})
        tmeta = dict(template.get("metadata") or {})
        tmeta["labels"] = {k: v for k, v in (tmeta.get("labels") or {}).items() if k not in _GENERATED_LABELS}
        template["metadata"] = tmeta
        spec["template"] = template
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": spec}


def to_policy(kind: str, obj: dict[str, Any]) -> OperatorPolicy:
    """A ClusterPolicy (conditions Ready/Error) or NicClusterPolicy (appliedStates per component)."""
    status = obj.get("status") or {}
    problems: list[str] = []
    for cond in status.get("conditions") or []:
        bad = (cond.get("type") == "Ready" and cond.get("status") != "True") or (
            cond.get("type") == "Error" and cond.get("status") == "True"
        )
        if bad:
            text = " ".join(str(x) for x in (cond.get("reason"), cond.get("message")) if x)
            problems.append(f"{cond.get('type')}: {text}".strip())
    for applied in status.get("appliedStates") or []:
        if applied.get("state") not in ("ready", "ignore", None):
            msg = f" ({applied['message']})" if applied.get("message") else ""
            problems.append(f"{applied.get('name', '?')}: {applied.get('state')}{msg}")
    return OperatorPolicy(
        kind=kind,
        name=(obj.get("metadata") or {}).get("name", "?"),
        state=str(status.get("state") or ""),
        problems=tuple(p[:200] for p in problems),
    )
