"""Property: over random policies, ``drain --cancel-jobs`` is never allowed where a direct ``drain``
of the nodes or a direct ``cancel`` of the jobs on them is refused, and never asks for less
(approval, confirmation-skipping ``--yes``) than either of them does."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dcops.actions.ops  # noqa: F401  - registers drain and cancel
from dcops.actions.backends.bundle import Backends
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig
from dcops.actions.engine import Engine, _Prepared
from dcops.actions.inventory import StaticInventory
from dcops.actions.rbac import Policy
from dcops.actions.registry import registry
from dcops.actions.request import Request
from dcops.actions.store.sqlite import SqliteStore
from dcops.actions.targets import Target
from tests.unit.rbac.test_reference_model import NODES, PARTITIONS, PRINCIPALS, policies, scopes, subset

DRAIN, CANCEL = registry.get("drain"), registry.get("cancel")
_DIR = Path(tempfile.mkdtemp(prefix="dcops-implied-"))
ENGINE = Engine(
    DcopsConfig(cluster=ClusterSection(name="t"), audit=AuditSection(url=f"sqlite:///{_DIR / 'a.db'}")),
    Backends(inventory=StaticInventory([])),
    SqliteStore(str(_DIR / "a.db")),
    Policy.from_dict({}),
)


@st.composite
def node_targets(draw: st.DrawFn) -> list[Target]:
    return [
        Target(kind="node", name=n, partitions=frozenset(draw(subset(PARTITIONS, 1))))
        for n in draw(subset(NODES, min_size=1))
    ]


@st.composite
def job_targets(draw: st.DrawFn) -> list[Target]:
    return [
        Target(
            kind="job",
            name=str(100 + i),
            partitions=frozenset(draw(subset(PARTITIONS, 1))),
            nodes=tuple(draw(subset(NODES, 3, min_size=1))),
        )
        for i in range(draw(st.integers(1, 3)))
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=policies(), principal=st.sampled_from(PRINCIPALS), nodes=node_targets(), jobs=job_targets(), data=st.data()
)
def test_drain_cancel_jobs_is_never_looser_than_its_parts(policy, principal, nodes, jobs, data) -> None:
    for role in policy["roles"].values():  # the shared strategy's globs rarely tell drain from cancel
        role["approval"] = data.draw(subset(["drain", "cancel", "*", "re*"], 2))
        role["allow_yes"] = data.draw(st.booleans())
    for name, action in (("only-drain", "drain"), ("only-cancel", "cancel")):  # roles that differ per action
        if data.draw(st.booleans()):
            policy["roles"][name] = {
                "actions": [action],
                "kinds": [],
                "scope": data.draw(scopes()),
                "allow_yes": data.draw(st.booleans()),
                "approval": data.draw(subset([action, "*"], 1)),
                "approve": [],
            }
            policy["bindings"].append({"principals": [principal], "except": [], "roles": [name]})
    ENGINE.policy = Policy.from_dict(policy)
    params = DRAIN.params(nodes="x", reason="r", cancel_jobs=True)
    prep = _Prepared(
        Request(principal=principal, channel="cli", action="drain"), DRAIN, params, nodes, implied=[(CANCEL, jobs)]
    )
    whole = ENGINE._decide(principal, prep)
    drain = ENGINE.policy.decide(principal, "drain", DRAIN.kind.value, nodes)
    cancel = ENGINE.policy.decide(principal, "cancel", CANCEL.kind.value, jobs)
    if not (drain.allowed and cancel.allowed):
        assert not whole.allowed
        assert whole.reason.startswith("denied: ") and "\n" not in whole.reason
        if drain.allowed:
            assert "refused as a whole" in whole.reason
        return
    assert whole.allowed
    assert whole.approval == (drain.approval or cancel.approval)
    assert whole.allow_yes == (drain.allow_yes and cancel.allow_yes)
