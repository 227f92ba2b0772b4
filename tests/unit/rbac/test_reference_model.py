"""Property test: Policy.decide agrees with a plain reference model over random policies.

The reference reads the raw policy dict with straightforward loops (no compilation, no caching,
no shared code with actions.rbac), following the rules as the example policy documents them.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import hostlist
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actions.rbac import Policy
from actions.targets import CLUSTER, Target

NODES = [f"n{i:02d}" for i in range(1, 9)]
PARTITIONS = ["gpu", "cpu"]
LABELS = ["rack=r1", "rack=r2"]
PRINCIPALS = ["unix:a", "unix:b", "unix:root", "slack:U1", "slack:U2"]
ACTIONS = [("drain", "write"), ("resume", "write"), ("reimage", "destructive"),
           ("firmware-update", "destructive"), ("query", "read")]
ACTION_GLOBS = ["drain", "reimage", "firmware-*", "re*", "*", "query"]
KINDS = ["read", "write", "destructive"]
GROUPS = {"g1": ["unix:a", "slack:U1"], "g2": ["unix:*"]}
PRINCIPAL_REFS = PRINCIPALS + ["unix:*", "slack:*", "group:g1", "group:g2"]


def subset(items: list[str], max_size: int | None = None, min_size: int = 0) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(items), unique=True, min_size=min_size, max_size=max_size or len(items))


@st.composite
def scopes(draw: st.DrawFn) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    if draw(st.booleans()):
        return scope
    if parts := draw(subset(PARTITIONS, 1)):
        scope["partitions"] = parts
    if names := draw(subset(NODES)):
        scope["nodes"] = hostlist.collect_hostlist(names)
    if labels := draw(subset(LABELS, 1)):
        scope["labels"] = labels
    return scope


@st.composite
def roles(draw: st.DrawFn) -> dict[str, Any]:
    role: dict[str, Any] = {"actions": draw(subset(ACTION_GLOBS, 2)), "kinds": draw(subset(KINDS, 1))}
    if not role["actions"] and not role["kinds"]:
        role["actions"] = ["*"]
    role["scope"] = draw(scopes())
    if draw(st.booleans()):
        role["max_targets"] = draw(st.integers(1, 4))
    role["allow_yes"] = draw(st.booleans())
    role["approval"] = draw(subset(ACTION_GLOBS, 2))
    return role


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    role_names = draw(st.lists(st.sampled_from(["r1", "r2", "r3", "r4"]), unique=True, min_size=1))
    policy: dict[str, Any] = {"read_only": draw(st.integers(0, 7)) == 7, "groups": GROUPS,
                              "roles": {name: draw(roles()) for name in role_names}, "bindings": [], "deny": []}
    for _ in range(draw(st.integers(1, 4))):
        policy["bindings"].append({"principals": draw(subset(PRINCIPAL_REFS, 3, min_size=1)),
                                   "except": draw(subset(PRINCIPALS, 1)),
                                   "roles": draw(subset(role_names, min_size=1))})
    for i in range(draw(st.integers(0, 2))):
        policy["deny"].append({"name": f"d{i}", "principals": draw(subset(PRINCIPAL_REFS, 2, min_size=1)),
                               "actions": draw(subset(ACTION_GLOBS[:4], 1)), "kinds": draw(subset(KINDS, 1)),
                               "scope": draw(scopes())})
        if not policy["deny"][-1]["actions"] and not policy["deny"][-1]["kinds"]:
            policy["deny"][-1]["actions"] = ["reimage"]
    return policy


@st.composite
def targets(draw: st.DrawFn) -> list[Target]:
    out: list[Target] = []
    for name in draw(subset(NODES)):
        out.append(Target(kind="node", name=name, partitions=frozenset(draw(subset(PARTITIONS, 1))),
                          labels=frozenset(draw(subset(LABELS, 1)))))
    for i in range(draw(st.integers(0, 2))):
        out.append(Target(kind="job", name=str(100 + i), partitions=frozenset(draw(subset(PARTITIONS, 1))),
                          nodes=tuple(draw(subset(NODES, 3)))))
    if draw(st.integers(0, 4)) == 0:
        out.append(CLUSTER)
    return out


# ---------------------------------------------------------------------------- the reference model
def ref_matches(policy: dict[str, Any], refs: list[str], principal: str) -> bool:
    for ref in refs:
        members = policy["groups"][ref[6:]] if ref.startswith("group:") else [ref]
        for member in members:
            if fnmatchcase(principal, member):
                return True
    return False


def ref_names_action(globs: list[str], kinds: list[str], action: str, kind: str) -> bool:
    if kind in kinds:
        return True
    for glob in globs:
        if fnmatchcase(action, glob):
            return True
    return False


def ref_node_set(scope: dict[str, Any]) -> set[str]:
    return set(hostlist.expand_hostlist(scope["nodes"])) if scope.get("nodes") else set()


def ref_deny_reaches(scope: dict[str, Any], t: Target) -> bool:
    if not scope or t.kind == "cluster":
        return True
    if set(scope.get("partitions", [])) & set(t.partitions):
        return True
    if t.kind == "job":
        return any(n in ref_node_set(scope) for n in t.nodes)
    return t.name in ref_node_set(scope) or bool(set(scope.get("labels", [])) & set(t.labels))


def ref_covered(granting: list[dict[str, Any]], t: Target) -> bool:
    partitions: set[str] = set()
    node_set: set[str] = set()
    labels: set[str] = set()
    for role in granting:
        if not role["scope"]:
            return True
        partitions |= set(role["scope"].get("partitions", []))
        node_set |= ref_node_set(role["scope"])
        labels |= set(role["scope"].get("labels", []))
    if t.kind == "cluster":
        return False
    if partitions & set(t.partitions):
        return True
    if t.kind == "job":
        return len(t.nodes) > 0 and all(n in node_set for n in t.nodes)
    return t.name in node_set or bool(labels & set(t.labels))


def reference(policy: dict[str, Any], principal: str, action: str, kind: str, ts: list[Target],
              read_only: bool) -> tuple[Any, ...]:
    bound: list[str] = []
    for b in policy["bindings"]:
        if ref_matches(policy, b["principals"], principal) and not ref_matches(policy, b["except"], principal):
            bound += [r for r in b["roles"] if r not in bound]
    if not bound:
        return ("unbound",)
    if (read_only or policy["read_only"]) and kind != "read":
        return ("read-only",)
    for d in policy["deny"]:
        if ref_matches(policy, d["principals"], principal) and ref_names_action(d["actions"], d["kinds"], action, kind):
            if not d["scope"] or any(ref_deny_reaches(d["scope"], t) for t in ts):
                return ("deny", d["name"])
    granting_names = [n for n in policy["roles"] if n in bound
                      and ref_names_action(policy["roles"][n]["actions"], policy["roles"][n]["kinds"], action, kind)]
    granting = [policy["roles"][n] for n in granting_names]
    if not granting:
        return ("no-role",)
    outside = [t for t in ts if not ref_covered(granting, t)]
    if outside:
        return ("outside", sorted(t.name for t in outside if t.kind == "node"),
                any(t.kind == "cluster" for t in outside))
    limits = [r.get("max_targets") for r in granting]
    limit = None if None in limits else max(limits)
    if limit is not None and len(ts) > limit:
        return ("limit", limit)
    approval = all(any(fnmatchcase(action, g) for g in r["approval"]) for r in granting)
    return ("allowed", tuple(granting_names), approval, any(r["allow_yes"] for r in granting), limit)


def observed(decision: Any) -> tuple[Any, ...]:
    """The same summary, read back from a Decision and its reason line."""
    reason = decision.reason
    if decision.allowed:
        assert reason.startswith("allowed: ")
        return ("allowed", decision.roles, decision.approval, decision.allow_yes, decision.max_targets)
    assert reason.startswith("denied: ") and "\n" not in reason
    if reason.endswith("is not bound to any role"):
        return ("unbound",)
    if "read-only mode" in reason:
        return ("read-only",)
    if reason.startswith("denied: deny rule '"):
        return ("deny", reason.split("'")[1])
    if reason.startswith("denied: no role of"):
        return ("no-role",)
    if " outside " in reason:
        named = reason.removeprefix("denied: ").split(" is outside ")[0].split(" are outside ")[0]
        host_part = named.split(", job")[0].replace(", the whole cluster", "").replace("the whole cluster", "")
        nodes = sorted(hostlist.expand_hostlist(host_part)) if host_part and not host_part.startswith("job") else []
        return ("outside", nodes, "the whole cluster" in named)
    assert " exceed the limit of " in reason
    return ("limit", int(reason.split(" exceed the limit of ")[1].split()[0]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies(), principal=st.sampled_from(PRINCIPALS), action=st.sampled_from(ACTIONS),
       ts=targets(), read_only=st.integers(0, 7).map(lambda i: i == 7))
def test_decide_matches_reference(policy: dict[str, Any], principal: str, action: tuple[str, str],
                                  ts: list[Target], read_only: bool) -> None:
    compiled = Policy.from_dict(policy)
    name, kind = action
    expected = reference(policy, principal, name, kind, ts, read_only)
    first = compiled.decide(principal, name, kind, ts, read_only=read_only)
    assert observed(first) == expected
    # the per-principal cache must not change the answer
    assert compiled.decide(principal, name, kind, ts, read_only=read_only) == first
    assert compiled.principals_known(principal) == (expected != ("unbound",))


@settings(max_examples=200, deadline=None)
@given(policy=policies(), principal=st.sampled_from(PRINCIPALS), action=st.sampled_from(ACTIONS), ts=targets())
def test_a_request_is_allowed_only_if_each_of_its_targets_is(policy: dict[str, Any], principal: str,
                                                              action: tuple[str, str], ts: list[Target]) -> None:
    compiled = Policy.from_dict(policy)
    whole = compiled.decide(principal, *action, ts)
    if whole.allowed:
        assert all(compiled.decide(principal, *action, [t]).allowed for t in ts)
