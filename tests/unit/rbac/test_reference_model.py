"""Property test: Policy.decide agrees with a plain reference model over random policies.

The reference reads the raw policy dict with straightforward loops (no compilation, no caching,
no shared code with dcops.actions.rbac), following the rules as the example policy documents them.
Limits never merge: each target is governed by one granting role that covers it. The reference
decides whether the targets can be shared out with Hall's condition (every set S of roles must
allow at least as many targets as are covered by nothing outside S), the engine with a max-flow;
a third oracle enumerates every assignment of targets to roles on small requests.
"""

from __future__ import annotations

import itertools
from fnmatch import fnmatchcase
from typing import Any

import hostlist
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dcops.actions.rbac import Policy
from dcops.actions.targets import CLUSTER, Target

NODES = [f"n{i:02d}" for i in range(1, 9)]
PARTITIONS = ["gpu", "cpu"]
LABELS = ["rack=r1", "rack=r2"]
PRINCIPALS = ["unix:a", "unix:b", "unix:root", "slack:U1", "slack:U2"]
ACTIONS = [
    ("drain", "write"),
    ("resume", "write"),
    ("reimage", "destructive"),
    ("firmware-update", "destructive"),
    ("query", "read"),
]
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
    role["approve"] = draw(subset(ACTION_GLOBS, 2))
    return role


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    role_names = draw(st.lists(st.sampled_from(["r1", "r2", "r3", "r4"]), unique=True, min_size=1))
    policy: dict[str, Any] = {
        "read_only": draw(st.integers(0, 7)) == 7,
        "groups": GROUPS,
        "roles": {name: draw(roles()) for name in role_names},
        "bindings": [],
        "deny": [],
    }
    for _ in range(draw(st.integers(1, 4))):
        policy["bindings"].append(
            {
                "principals": draw(subset(PRINCIPAL_REFS, 3, min_size=1)),
                "except": draw(subset(PRINCIPALS, 1)),
                "roles": draw(subset(role_names, min_size=1)),
            }
        )
    for i in range(draw(st.integers(0, 2))):
        policy["deny"].append(
            {
                "name": f"d{i}",
                "principals": draw(subset(PRINCIPAL_REFS, 2, min_size=1)),
                "actions": draw(subset(ACTION_GLOBS[:4], 1)),
                "kinds": draw(subset(KINDS, 1)),
                "scope": draw(scopes()),
            }
        )
        if not policy["deny"][-1]["actions"] and not policy["deny"][-1]["kinds"]:
            policy["deny"][-1]["actions"] = ["reimage"]
    return policy


@st.composite
def targets(draw: st.DrawFn) -> list[Target]:
    out: list[Target] = []
    for name in draw(subset(NODES)):
        out.append(
            Target(
                kind="node",
                name=name,
                partitions=frozenset(draw(subset(PARTITIONS, 1))),
                labels=frozenset(draw(subset(LABELS, 1))),
            )
        )
    for i in range(draw(st.integers(0, 2))):
        out.append(
            Target(
                kind="job",
                name=str(100 + i),
                partitions=frozenset(draw(subset(PARTITIONS, 1))),
                nodes=tuple(draw(subset(NODES, 3))),
            )
        )
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


def ref_covered(role: dict[str, Any], t: Target) -> bool:
    """Does this one role's scope contain ``t``?"""
    scope = role["scope"]
    if not scope:
        return True
    if t.kind == "cluster":
        return False
    if set(scope.get("partitions", [])) & set(t.partitions):
        return True
    if t.kind == "job":
        return len(t.nodes) > 0 and all(n in ref_node_set(scope) for n in t.nodes)
    return t.name in ref_node_set(scope) or bool(set(scope.get("labels", [])) & set(t.labels))


def ref_fits(granting: list[dict[str, Any]], covering: list[set[int]], allowed: set[int]) -> bool:
    """Hall's condition: the targets can be shared out among the ``allowed`` roles covering them."""
    narrowed = [c & allowed for c in covering]
    if any(not c for c in narrowed):
        return False
    for size in range(1, len(granting) + 1):
        for chosen in itertools.combinations(sorted(allowed), size):
            caps = [granting[i].get("max_targets") for i in chosen]
            if None in caps:
                continue
            stuck = sum(1 for c in narrowed if c <= set(chosen))
            if stuck > sum(caps):
                return False
    return True


def reference(
    policy: dict[str, Any], principal: str, action: str, kind: str, ts: list[Target], read_only: bool
) -> tuple[Any, ...]:
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
    granting_names = [
        n
        for n in policy["roles"]
        if n in bound and ref_names_action(policy["roles"][n]["actions"], policy["roles"][n]["kinds"], action, kind)
    ]
    granting = [policy["roles"][n] for n in granting_names]
    if not granting:
        return ("no-role",)
    outside = [t for t in ts if not any(ref_covered(r, t) for r in granting)]
    if outside:
        return (
            "outside",
            sorted(t.name for t in outside if t.kind == "node"),
            any(t.kind == "cluster" for t in outside),
        )
    everyone = set(range(len(granting)))
    covering = [{i for i, r in enumerate(granting) if ref_covered(r, t)} for t in ts] or [everyone]
    if not ref_fits(granting, covering, everyone):
        return ("limit",)
    free = {i for i, r in enumerate(granting) if not any(fnmatchcase(action, g) for g in r["approval"])}
    approval = not ref_fits(granting, covering, free)
    yes = {i for i, r in enumerate(granting) if r["allow_yes"] and (approval or i in free)}
    return ("allowed", tuple(granting_names), approval, ref_fits(granting, covering, yes))


def observed(decision: Any) -> tuple[Any, ...]:
    """The same summary, read back from a Decision and its reason line."""
    reason = decision.reason
    if decision.allowed:
        assert reason.startswith("allowed: ")
        return ("allowed", decision.roles, decision.approval, decision.allow_yes)
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
    count, allowed = reason.removeprefix("denied: ").split(" targets exceed the limit of ")
    assert int(count) > int(allowed.split()[0])  # the named roles really are over their limit
    return ("limit",)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=policies(),
    principal=st.sampled_from(PRINCIPALS),
    action=st.sampled_from(ACTIONS),
    ts=targets(),
    read_only=st.integers(0, 7).map(lambda i: i == 7),
)
def test_decide_matches_reference(
    policy: dict[str, Any], principal: str, action: tuple[str, str], ts: list[Target], read_only: bool
) -> None:
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
def test_a_request_is_allowed_only_if_each_of_its_targets_is(
    policy: dict[str, Any], principal: str, action: tuple[str, str], ts: list[Target]
) -> None:
    compiled = Policy.from_dict(policy)
    whole = compiled.decide(principal, *action, ts)
    if whole.allowed:
        assert all(compiled.decide(principal, *action, [t]).allowed for t in ts)


def brute_force(
    policy: dict[str, Any], principal: str, action: str, kind: str, ts: list[Target]
) -> tuple[bool, bool, bool] | None:
    """(fits, approval needed, --yes allowed) by trying every assignment of targets to roles;
    None when the request is refused before limits matter or is too big to enumerate."""
    compiled = Policy.from_dict(policy)
    first = compiled.decide(principal, action, kind, ts)
    if not first.allowed and " exceed the limit of " not in first.reason:
        return None
    bound = compiled.roles_of(principal)
    granting = [
        policy["roles"][n]
        for n in policy["roles"]
        if n in bound and ref_names_action(policy["roles"][n]["actions"], policy["roles"][n]["kinds"], action, kind)
    ]
    options = [[i for i, r in enumerate(granting) if ref_covered(r, t)] for t in ts]
    if not ts or any(not o for o in options) or len(list(itertools.islice(itertools.product(*options), 20001))) > 20000:
        return None
    fits, free_fit, yes_fit_free, yes_fit_any = False, False, False, False
    for choice in itertools.product(*options):
        counts: dict[int, int] = {}
        for i in choice:
            counts[i] = counts.get(i, 0) + 1
        if any(
            granting[i].get("max_targets") is not None and n > granting[i]["max_targets"] for i, n in counts.items()
        ):
            continue
        fits = True
        free = all(not any(fnmatchcase(action, g) for g in granting[i]["approval"]) for i in choice)
        yes = all(granting[i]["allow_yes"] for i in choice)
        free_fit |= free
        yes_fit_free |= free and yes
        yes_fit_any |= yes
    approval = not free_fit
    return fits, approval, (yes_fit_any if approval else yes_fit_free)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies(), principal=st.sampled_from(PRINCIPALS), action=st.sampled_from(ACTIONS), ts=targets())
def test_limits_agree_with_every_assignment_tried(
    policy: dict[str, Any], principal: str, action: tuple[str, str], ts: list[Target]
) -> None:
    """A third oracle: enumerate the ways of giving each target one covering role."""
    expected = brute_force(policy, principal, *action, ts)
    if expected is None:
        return
    d = Policy.from_dict(policy).decide(principal, *action, ts)
    fits, approval, allow_yes = expected
    assert d.allowed == fits
    if fits:
        assert (d.approval, d.allow_yes) == (approval, allow_yes)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=policies(),
    principal=st.sampled_from(PRINCIPALS),
    action=st.sampled_from(ACTIONS),
    ts=targets(),
    extra=targets(),
)
def test_never_looser_than_the_reference(
    policy: dict[str, Any], principal: str, action: tuple[str, str], ts: list[Target], extra: list[Target]
) -> None:
    """The engine never allows what the reference denies, never skips an approval or a
    confirmation the reference asks for, and adding targets never loosens a decision."""
    compiled = Policy.from_dict(policy)
    name, kind = action
    expected = reference(policy, principal, name, kind, ts, False)
    d = compiled.decide(principal, name, kind, ts)
    if expected[0] != "allowed":
        assert not d.allowed
    else:
        assert d.allowed and d.approval >= expected[2] and d.allow_yes <= expected[3]
    more = ts + [t for t in extra if t not in ts]
    bigger = compiled.decide(principal, name, kind, more)
    if bigger.allowed and ts:
        # more targets never drop an approval, nor grant an approval-free --yes the fewer lacked
        # (they may trade: a role asking for approval may be the one allowing --yes)
        assert d.allowed and d.approval <= bigger.approval
        if not bigger.approval and bigger.allow_yes:
            assert d.allow_yes


def ref_may_approve(
    policy: dict[str, Any], approver: str, requester: str, action: str, kind: str, ts: list[Target]
) -> bool:
    if approver == requester:
        return False
    bound: list[str] = []
    for b in policy["bindings"]:
        if ref_matches(policy, b["principals"], approver) and not ref_matches(policy, b["except"], approver):
            bound += [r for r in b["roles"] if r not in bound]
    for d in policy["deny"]:
        if ref_matches(policy, d["principals"], approver) and ref_names_action(d["actions"], d["kinds"], action, kind):
            if not d["scope"] or any(ref_deny_reaches(d["scope"], t) for t in ts):
                return False
    approving = [
        policy["roles"][n] for n in bound if any(fnmatchcase(action, g) for g in policy["roles"][n]["approve"])
    ]
    return bool(approving) and all(any(ref_covered(r, t) for r in approving) for t in ts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=policies(),
    approver=st.sampled_from(PRINCIPALS),
    requester=st.sampled_from(PRINCIPALS),
    action=st.sampled_from(ACTIONS),
    ts=targets(),
)
def test_may_approve_matches_reference(
    policy: dict[str, Any], approver: str, requester: str, action: tuple[str, str], ts: list[Target]
) -> None:
    d = Policy.from_dict(policy).may_approve(approver, *action, ts, requester=requester)
    assert d.allowed == ref_may_approve(policy, approver, requester, *action, ts)
    assert d.reason.startswith("allowed: " if d.allowed else "denied: ") and "\n" not in d.reason
