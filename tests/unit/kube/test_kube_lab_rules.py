"""Unit tests of the lab API server's hand-written parts: PDB arithmetic, selectors, patches."""

from __future__ import annotations

import pytest

from tests.lab.kubeapi import pdb
from tests.lab.kubeapi.patch import PatchError, apply_patch
from tests.lab.kubeapi.selectors import SelectorError, field_selector, label_selector, match_labels


def _pod(
    name: str,
    ready: bool = True,
    deleting: bool = False,
    owner: str | None = "rs1",
    labels: dict[str, str] | None = None,
) -> dict:
    meta = {
        "name": name,
        "namespace": "ns",
        "labels": labels or {"app": "a"},
        "ownerReferences": [{"uid": owner, "controller": True, "kind": "ReplicaSet"}] if owner else [],
    }
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "metadata": meta,
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def _pdb(**spec) -> dict:
    return {"metadata": {"name": "b", "namespace": "ns"}, "spec": {"selector": {"matchLabels": {"app": "a"}}, **spec}}


def test_min_available_int_counts_matching_pods() -> None:
    pods = [_pod("a"), _pod("b"), _pod("c", ready=False), _pod("x", labels={"app": "other"})]
    b = pdb.budget(_pdb(minAvailable=1), pods, lambda p: 5)
    assert (b.expected, b.desired_healthy, b.current_healthy, b.disruptions_allowed) == (3, 1, 2, 1)


def test_percent_and_max_unavailable_use_controller_replicas_rounding_up() -> None:
    pods = [_pod("a"), _pod("b"), _pod("c", deleting=True)]
    b = pdb.budget(_pdb(minAvailable="50%"), pods, lambda p: 5)
    assert (b.expected, b.desired_healthy, b.current_healthy, b.disruptions_allowed) == (5, 3, 2, 0)
    b = pdb.budget(_pdb(maxUnavailable="30%"), pods, lambda p: 5)  # ceil(1.5) = 2 may be down
    assert (b.desired_healthy, b.disruptions_allowed) == (3, 0)
    b = pdb.budget(_pdb(maxUnavailable=1), [_pod("a"), _pod("b")], lambda p: 2)
    assert (b.desired_healthy, b.disruptions_allowed) == (1, 1)


def test_label_selector_grammar() -> None:
    obj = {"metadata": {"labels": {"app": "web", "tier": "fe"}}}
    assert label_selector("app=web,tier in (fe,be),!gpu")(obj)
    assert not label_selector("app!=web")(obj)
    assert label_selector("tier notin (db)")(obj) and label_selector("app")(obj)
    assert label_selector("app==web")(obj) and not label_selector("tier=")(obj)
    with pytest.raises(SelectorError):
        label_selector("a b c")
    assert match_labels({}, {"x": "y"}) and not match_labels(None, {"x": "y"})
    assert not match_labels({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, {"x": "y"})


def test_field_selector() -> None:
    pod = {"spec": {"nodeName": "gpu001", "unschedulable": True}, "status": {"phase": "Running"}}
    assert field_selector("spec.nodeName=gpu001,status.phase!=Succeeded")(pod)
    assert not field_selector("spec.nodeName==gpu002")(pod)
    assert field_selector("spec.unschedulable=true")(pod)


def test_patches() -> None:
    node = {"spec": {"unschedulable": True, "taints": [{"key": "a"}]}, "metadata": {"labels": {"x": "1"}}}
    assert apply_patch(node, "application/strategic-merge-patch+json", {"spec": {"unschedulable": None}})["spec"] == {
        "taints": [{"key": "a"}]
    }
    assert apply_patch(node, "application/merge-patch+json", {"metadata": {"labels": {"y": "2"}}})["metadata"] == {
        "labels": {"x": "1", "y": "2"}
    }
    assert (
        apply_patch(
            node, "application/json-patch+json", [{"op": "replace", "path": "/spec/unschedulable", "value": False}]
        )["spec"]["unschedulable"]
        is False
    )
    with pytest.raises(PatchError, match="unsupported patch type"):
        apply_patch(node, "application/apply-patch+yaml", {})
    with pytest.raises(PatchError):
        apply_patch(node, "application/json-patch+json", [{"op": "remove", "path": "/nope"}])
