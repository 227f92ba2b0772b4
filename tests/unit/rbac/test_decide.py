"""One test per rule type, each checking the decision and its reason line."""

from __future__ import annotations

import pytest

from dcops.actions.rbac import Decision, Policy
from dcops.actions.targets import CLUSTER

from .helpers import job, node, nodes


def policy(**extra) -> Policy:
    base = {
        "groups": {"oncall": ["unix:alice", "slack:U0ALICE"], "ext": ["unix:ext-*"]},
        "roles": {
            "viewer": {"kinds": ["read"]},
            "oncall": {
                "actions": ["drain", "resume", "firmware-*"],
                "scope": {"partitions": ["gpu"]},
                "max_targets": 16,
                "approval": ["firmware-update"],
            },
            "racks": {"actions": ["drain"], "scope": {"labels": ["rack=r01"]}, "max_targets": 4, "allow_yes": True},
            "block": {"actions": ["reimage"], "scope": {"nodes": "gpu[001-032]"}},
            "admin": {"actions": ["*"], "allow_yes": True, "approval": ["reimage", "firmware-*"]},
        },
        "bindings": [
            {"principals": ["group:oncall"], "roles": ["oncall", "viewer"]},
            {"principals": ["unix:bob"], "roles": ["racks"]},
            {"principals": ["unix:carol"], "roles": ["block"]},
            {
                "principals": ["unix:*"],
                "except": ["group:ext", "unix:alice", "unix:bob", "unix:carol"],
                "roles": ["admin"],
            },
        ],
    }
    base.update(extra)
    return Policy.from_dict(base)


def test_allowed_by_partition_scope_names_role_and_scope() -> None:
    d = policy().decide("unix:alice", "drain", "write", nodes("gpu", 1, 4, "gpu"))
    assert d == Decision(
        True,
        "allowed: unix:alice has role oncall (drain on partition gpu)",
        ("oncall",),
        approval=False,
        allow_yes=False,
        max_targets=16,
    )


def test_partial_scope_is_denied_naming_the_outside_nodes() -> None:
    targets = nodes("gpu", 53, 56, "gpu") + nodes("gpu", 57, 60, "cpu")
    d = policy().decide("unix:alice", "drain", "write", targets)
    assert not d.allowed
    assert d.reason == (
        "denied: gpu[057-060] are outside unix:alice's scope for drain (role oncall covers partition gpu)"
    )


def test_action_glob_and_per_role_approval() -> None:
    p = policy()
    fw = p.decide("slack:U0ALICE", "firmware-update", "destructive", [node("gpu001", "gpu")])
    assert fw.allowed and fw.approval and fw.roles == ("oncall",)
    rollback = p.decide("slack:U0ALICE", "firmware-rollback", "destructive", [node("gpu001", "gpu")])
    assert rollback.allowed and not rollback.approval


def test_kind_permission_grants_reads_everywhere_but_not_writes() -> None:
    p = Policy.from_dict(
        {"roles": {"viewer": {"kinds": ["read"]}}, "bindings": [{"principals": ["unix:v"], "roles": ["viewer"]}]}
    )
    assert p.decide("unix:v", "query", "read", [CLUSTER]).allowed
    d = p.decide("unix:v", "drain", "write", [node("gpu001", "gpu")])
    assert d.reason == "denied: no role of unix:v allows drain (roles: viewer)"


def test_label_scope() -> None:
    p = policy()
    inside = node("gpu100", "cpu", labels=("rack=r01",))
    outside = node("gpu200", "cpu", labels=("rack=r02",))
    assert p.decide("unix:bob", "drain", "write", [inside]).allowed
    d = p.decide("unix:bob", "drain", "write", [inside, outside])
    assert d.reason == "denied: gpu200 is outside unix:bob's scope for drain (role racks covers label rack=r01)"


def test_hostlist_scope_and_jobs_need_all_nodes_inside() -> None:
    p = policy()
    assert p.decide("unix:carol", "reimage", "destructive", nodes("gpu", 30, 32)).allowed
    d = p.decide("unix:carol", "reimage", "destructive", nodes("gpu", 31, 34))
    assert d.reason == (
        "denied: gpu[033-034] are outside unix:carol's scope for reimage (role block covers nodes gpu[001-032])"
    )
    assert p.decide("unix:carol", "reimage", "destructive", [job("77", None, "gpu001", "gpu002")]).allowed
    straddles = p.decide("unix:carol", "reimage", "destructive", [job("78", None, "gpu032", "gpu033")])
    assert straddles.reason.startswith("denied: job 78 (on gpu[032-033]) is outside unix:carol's scope")


def test_job_in_scope_by_partition() -> None:
    p = policy()
    assert p.decide("unix:alice", "drain", "write", [job("12", "gpu", "x1", "x2")]).allowed
    assert not p.decide("unix:alice", "drain", "write", [job("13", "cpu", "x1")]).allowed


def test_cluster_target_needs_an_unscoped_permission() -> None:
    d = policy().decide("unix:alice", "drain", "write", [CLUSTER])
    assert d.reason == (
        "denied: the whole cluster is outside unix:alice's scope for drain (role oncall covers partition gpu)"
    )
    assert policy().decide("unix:alice", "query", "read", [CLUSTER]).allowed


def test_deny_rule_wins_over_admin() -> None:
    p = policy(deny=[{"name": "no-reimage-friday", "principals": ["unix:dave"], "actions": ["reimage"]}])
    d = p.decide("unix:dave", "reimage", "destructive", [node("gpu001", "gpu")])
    assert d.reason == "denied: deny rule 'no-reimage-friday' forbids reimage for unix:dave"
    assert p.decide("unix:dave", "drain", "write", [node("gpu001", "gpu")]).allowed
    assert p.decide("unix:erin", "reimage", "destructive", [node("gpu001", "gpu")]).allowed


def test_scoped_deny_names_the_targets_it_reaches_and_carries_its_reason() -> None:
    p = policy(
        deny=[
            {
                "name": "heads",
                "reason": "storage heads",
                "principals": ["group:oncall"],
                "kinds": ["write"],
                "scope": {"nodes": "gpu[001-002]"},
            }
        ]
    )
    d = p.decide("unix:alice", "drain", "write", nodes("gpu", 1, 8, "gpu"))
    assert d.reason == "denied: deny rule 'heads' forbids drain on gpu[001-002] for unix:alice (storage heads)"
    assert p.decide("unix:alice", "drain", "write", nodes("gpu", 3, 8, "gpu")).allowed
    # a job with any node in the deny scope is reached
    assert not p.decide("unix:alice", "drain", "write", [job("5", "gpu", "gpu002", "gpu003")]).allowed


def test_read_only_from_file_and_from_engine() -> None:
    ro = policy(read_only=True)
    assert ro.read_only
    d = ro.decide("unix:dave", "drain", "write", [node("gpu001", "gpu")])
    assert d.reason == "denied: read-only mode refuses every non-read action"
    assert ro.decide("unix:dave", "query", "read", [CLUSTER]).allowed
    rw = policy()
    assert not rw.read_only
    assert not rw.decide("unix:dave", "drain", "write", [node("gpu001", "gpu")], read_only=True).allowed


def test_max_targets_limit() -> None:
    d = policy().decide("unix:alice", "drain", "write", nodes("gpu", 1, 20, "gpu"))
    assert d.reason.startswith("denied: 20 targets exceed the limit of 16 per request for role oncall")
    assert policy().decide("unix:alice", "drain", "write", nodes("gpu", 1, 16, "gpu")).allowed


def test_several_roles_union_scopes_but_each_target_keeps_its_own_roles_limits() -> None:
    p = Policy.from_dict(
        {
            "roles": {
                "a": {"actions": ["drain"], "scope": {"partitions": ["gpu"]}, "max_targets": 2, "approval": ["drain"]},
                "b": {"actions": ["drain"], "scope": {"partitions": ["cpu"]}, "max_targets": 3, "allow_yes": True},
            },
            "bindings": [{"principals": ["unix:u"], "roles": ["a", "b"]}],
        }
    )
    targets = [node("g1", "gpu"), node("c1", "cpu")]
    d = p.decide("unix:u", "drain", "write", targets)
    # g1 is governed by a alone: a asks for approval and does not allow --yes, so the request does too
    assert d == Decision(
        True,
        "allowed: unix:u has roles a, b (drain on partitions cpu, gpu)",
        ("a", "b"),
        approval=True,
        allow_yes=False,
        max_targets=3,
    )
    # c1 alone is governed by b: no approval, --yes allowed
    assert p.decide("unix:u", "drain", "write", [node("c1", "cpu")]).approval is False
    assert p.decide("unix:u", "drain", "write", [node("c1", "cpu")]).allow_yes is True
    # three gpu nodes exceed a's limit of 2 even though b allows 3 (b does not cover them)
    three = p.decide("unix:u", "drain", "write", [node(f"g{i}", "gpu") for i in range(3)])
    assert three.reason == (
        "denied: 3 targets exceed the limit of 2 per request for role a "
        "(each target counts against one role that covers it)"
    )
    # 2 gpu + 3 cpu fit: each role governs its own
    assert p.decide(
        "unix:u", "drain", "write", [node(f"g{i}", "gpu") for i in range(2)] + [node(f"c{i}", "cpu") for i in range(3)]
    ).allowed


def test_unknown_principal() -> None:
    p = policy()
    assert not p.principals_known("slack:U999")
    assert p.principals_known("slack:U0ALICE") and p.principals_known("unix:zed")
    d = p.decide("slack:U999", "query", "read", [CLUSTER])
    assert d == Decision(False, "denied: slack:U999 is not bound to any role")


def test_except_removes_principals_from_a_binding() -> None:
    p = policy()
    assert not p.principals_known("unix:ext-joe")
    assert p.decide("unix:zed", "anything", "destructive", [CLUSTER]).allow_yes


def test_no_targets_asks_whether_the_action_is_allowed_anywhere() -> None:
    p = policy(
        deny=[{"name": "scoped", "principals": ["unix:alice"], "actions": ["resume"], "scope": {"partitions": ["gpu"]}}]
    )
    assert p.decide("unix:alice", "drain", "write").allowed
    assert p.decide("unix:alice", "resume", "write").allowed
    assert not p.decide("unix:alice", "reimage", "destructive").allowed


@pytest.mark.parametrize("principal", ["unix:alice", "unix:zed"])
def test_explain_lists_decision_bindings_roles_and_denies(principal: str) -> None:
    p = policy(deny=[{"name": "r1", "principals": ["unix:zed"], "actions": ["cancel"]}])
    lines = p.explain(principal, "drain", "write", [node("gpu001", "gpu")])
    assert lines[0] == p.decide(principal, "drain", "write", [node("gpu001", "gpu")]).reason
    assert sum(line.startswith("bindings[") for line in lines) == 4
    assert any(line.startswith("role ") and " grants drain" in line for line in lines)
    assert any(line.startswith("deny 'r1': does not apply") for line in lines)


def test_demo_policy_personas() -> None:
    demo = Policy.demo()
    gpu = nodes("gpu", 1, 4, "gpu")
    admin = demo.decide("unix:someone", "reimage", "destructive", gpu)
    assert admin.allowed and admin.allow_yes and admin.approval and admin.roles == ("admin",)
    assert demo.decide("slack:U0ADMIN", "drain", "write", [CLUSTER]).allowed
    for oncall in ("unix:oncall", "slack:U0ONCALL"):
        d = demo.decide(oncall, "drain", "write", gpu)
        assert d.allowed and d.max_targets == 16 and not d.allow_yes
        assert not demo.decide(oncall, "drain", "write", [node("cpu001", "cpu")]).allowed
        assert demo.decide(oncall, "query", "read", [CLUSTER]).allowed
    for viewer in ("unix:viewer", "slack:U0VIEWER"):
        assert demo.decide(viewer, "query", "read", [CLUSTER]).allowed
        assert not demo.decide(viewer, "drain", "write", gpu).allowed
    assert not demo.principals_known("slack:U999")


def test_decisions_are_cheap_even_with_large_hostlist_scopes() -> None:
    import time

    p = Policy.from_dict(
        {
            "roles": {"big": {"actions": ["drain"], "scope": {"nodes": ["gpu[001-999]", "gpx[0001-3000]"]}}},
            "bindings": [{"principals": ["unix:u"], "roles": ["big"]}],
            "deny": [
                {"name": "d", "principals": ["unix:u"], "actions": ["drain"], "scope": {"nodes": "gpy[0001-3000]"}}
            ],
        }
    )
    targets = nodes("gpu", 1, 16)
    start = time.perf_counter()
    for _ in range(1000):
        assert p.decide("unix:u", "drain", "write", targets).allowed
    # the engine's budget is >= 1000 audited actions/s; RBAC must take a small part of it
    assert time.perf_counter() - start < 0.5
