"""Unit tests of dcops' own Kubernetes rules (no API server): which pods a drain leaves, Job
status, the manifest a restart recreates, and how drain/resume tables merge per node."""

from __future__ import annotations

from kubernetes import client as k

from dcops.actions.backends import kube_convert as conv
from dcops.actions.events import Table
from dcops.actions.ops.kube_nodes import _merge_tables


def _pod(
    owner_kind: str | None = None,
    annotations: dict[str, str] | None = None,
    phase: str = "Running",
    waiting: str | None = None,
    deleting: bool = False,
) -> k.V1Pod:
    refs = (
        [k.V1OwnerReference(api_version="apps/v1", kind=owner_kind, name="o", uid="u", controller=True)]
        if owner_kind
        else None
    )
    state = k.V1ContainerState(waiting=k.V1ContainerStateWaiting(reason=waiting)) if waiting else None
    return k.V1Pod(
        metadata=k.V1ObjectMeta(
            name="p",
            namespace="ns",
            owner_references=refs,
            annotations=annotations,
            deletion_timestamp="2026-01-01T00:00:00Z" if deleting else None,
        ),
        spec=k.V1PodSpec(containers=[k.V1Container(name="c")], node_name="n1"),
        status=k.V1PodStatus(
            phase=phase,
            container_statuses=[
                k.V1ContainerStatus(name="c", image="i", image_id="x", ready=False, restart_count=3, state=state)
            ]
            if state
            else None,
        ),
    )


def test_drain_skips_daemonset_and_mirror_pods_only() -> None:
    assert conv.skip_reason(_pod("DaemonSet")) == "DaemonSet o"
    assert conv.skip_reason(_pod(annotations={conv.MIRROR_ANNOTATION: "x"})) == "mirror pod"
    for evicted in (_pod("ReplicaSet"), _pod("Job"), _pod(None), _pod("StatefulSet", phase="Succeeded")):
        assert conv.skip_reason(evicted) is None


def test_pod_status_text_matches_kubectl() -> None:
    assert conv.pod_status_text(_pod(waiting="CrashLoopBackOff")) == "CrashLoopBackOff"
    assert conv.pod_status_text(_pod(deleting=True)) == "Terminating"
    assert conv.pod_status_text(_pod(phase="Pending")) == "Pending"


def _job(conditions=(), active=0, suspend=False) -> k.V1Job:
    conds = [k.V1JobCondition(type=t, status=s) for t, s in conditions]
    return k.V1Job(
        metadata=k.V1ObjectMeta(name="j", namespace="ns", uid="u"),
        spec=k.V1JobSpec(template=k.V1PodTemplateSpec(), suspend=suspend),
        status=k.V1JobStatus(active=active, conditions=conds or None),
    )


def test_job_status() -> None:
    assert conv.job_status(_job([("Failed", "True")])) == "Failed"
    assert conv.job_status(_job([("Complete", "True")])) == "Complete"
    assert conv.job_status(_job([("Failed", "False")], active=2)) == "Running"
    assert conv.job_status(_job(suspend=True)) == "Suspended"
    assert conv.job_status(_job()) == "Pending"


def test_fresh_job_manifest_drops_what_the_server_generated() -> None:
    uid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    generated = {
        "batch.kubernetes.io/controller-uid": uid,
        "controller-uid": uid,
        "batch.kubernetes.io/job-name": "train",
        "job-name": "train",
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "train",
            "namespace": "ml",
            "uid": uid,
            "resourceVersion": "42",
            "generation": 1,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"team": "ml", **generated},
            "annotations": {"batch.kubernetes.io/job-tracking": "", "owner": "alice"},
            "ownerReferences": [{"kind": "CronJob", "name": "nightly", "uid": "c"}],
        },
        "spec": {
            "backoffLimit": 2,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
            "template": {
                "metadata": {"labels": {"app": "train", **generated}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        },
        "status": {"failed": 3},
    }
    fresh = conv.fresh_job_manifest(job)
    assert fresh["metadata"] == {
        "name": "train",
        "namespace": "ml",
        "labels": {"team": "ml"},
        "annotations": {"owner": "alice"},
        "ownerReferences": [{"kind": "CronJob", "name": "nightly", "uid": "c"}],
    }
    assert "selector" not in fresh["spec"] and "status" not in fresh
    assert fresh["spec"]["template"]["metadata"]["labels"] == {"app": "train"}
    assert fresh["spec"]["backoffLimit"] == 2
    assert job["spec"]["selector"]  # the input is not modified


def test_fresh_job_manifest_keeps_a_manual_selector() -> None:
    job = {
        "metadata": {"name": "j"},
        "spec": {
            "manualSelector": True,
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}},
        },
    }
    assert conv.fresh_job_manifest(job)["spec"]["selector"] == {"matchLabels": {"a": "b"}}


def test_merge_tables_joins_rows_by_node() -> None:
    slurm = Table(columns=["node", "state"], rows=[["gpu001", "drained"], ["gpu002", "drained"]])
    kube = Table(columns=["node", "k8s node", "evicted"], rows=[["gpu002", "k2", 3], ["gpu009", "k9", 1]])
    merged = _merge_tables(slurm, kube)
    assert merged.columns == ["node", "state", "k8s node", "evicted"]
    assert merged.rows == [["gpu001", "drained", "", ""], ["gpu002", "drained", "k2", 3], ["gpu009", "", "k9", 1]]
    assert _merge_tables(None, kube) is kube
