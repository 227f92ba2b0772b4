"""``gpu-operator`` / ``network-operator``: is NVIDIA's GPU Operator (Network Operator) healthy?

Both show the operator's cluster policy (ClusterPolicy / NicClusterPolicy) state with what its
status says is not ready, then every operator pod that is not ready, per node, with the reason
kubectl would print (CrashLoopBackOff, ImagePullBackOff, Init:0/1, …) — the usual answer to "why
did this node's GPUs vanish from the scheduler". ``--all`` lists the ready pods too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import Field, computed_field

from ..backends.ports import KubePort
from ..context import ActionContext
from ..events import ActionEvent, Log, Result
from ..hostlists import collapse
from ..operators import GPU, NETWORK, classify
from ..registry import Kind, Params, TargetKind, action
from ..result_rows import Row, hidden


class OperatorPodRow(Row):
    """One GPU / Network Operator pod on a node: its component, status and readiness."""

    TABLE = ("node", "component", "status", "ready_shown", "pod")

    node: str
    component: str = Field(description="driver, toolkit, device-plugin, dcgm-exporter, mofed, ...")
    status: str
    ready: bool = hidden(False)
    pod: str = Field(description="NAMESPACE/NAME")

    @computed_field(title="ready")  # type: ignore[prop-decorator]
    @property
    def ready_shown(self) -> str:
        return "yes" if self.ready else "no"


_POLICY_KIND = {GPU: "ClusterPolicy", NETWORK: "NicClusterPolicy"}
_TITLE = {GPU: "GPU Operator", NETWORK: "Network Operator"}


class OperatorParams(Params):
    nodes: str = Field("", description="only these nodes (hostlist; default: every node)")
    all: bool = Field(False, description="list ready operator pods too")


def _valid_hostlist(p: OperatorParams, config: object) -> OperatorParams:
    """A malformed hostlist is bad input (exit 2, audited as invalid), not a failed run."""
    from ..hostlists import expand

    if p.nodes:
        expand(p.nodes)
    return p


async def _report(ctx: ActionContext, p: OperatorParams, operator: str) -> AsyncIterator[ActionEvent]:
    from ..hostlists import expand

    kube = ctx.backends.get(KubePort)
    section = ctx.config.kube
    wanted = set(expand(p.nodes)) if p.nodes else None
    policies = [pol for pol in await kube.operator_policies() if pol.kind == _POLICY_KIND[operator]]
    rows, data, bad_nodes, pods_seen = [], [], set(), 0
    for node in sorted(await kube.nodes(), key=lambda n: n.name):
        name = section.dcops_name(node.name) if section is not None else node.name
        if wanted is not None and name not in wanted:
            continue
        for pod in node.operator_pods:
            component, op = classify(pod)
            if op != operator:
                continue
            pods_seen += 1
            if not pod.ready:
                bad_nodes.add(name)
            if pod.ready and not p.all:
                continue
            rows.append(
                OperatorPodRow(
                    node=name,
                    component=component,
                    status=pod.status or "NotReady",
                    ready=pod.ready,
                    pod=f"{pod.namespace}/{pod.name}",
                )
            )
            data.append(
                {
                    "node": name,
                    "component": component,
                    "status": pod.status,
                    "ready": pod.ready,
                    "namespace": pod.namespace,
                    "pod": pod.name,
                }
            )
    if not policies and not pods_seen:
        yield Result(
            summary=f"no {_TITLE[operator]} here: no {_POLICY_KIND[operator]} and no operator pods",
            ok=True,
            rows=[],
            row_model=OperatorPodRow,
            data={"policies": [], "pods": []},
        )
        return
    for pol in policies:
        yield Log(
            message=f"{pol.kind} {pol.name}: {pol.state or 'no state reported'}"
            + ("; " + "; ".join(pol.problems) if pol.problems else ""),
            level="info" if pol.state == "ready" else "warning",
        )
    states = (
        ", ".join(f"{pol.kind} {pol.name} {pol.state or '?'}" for pol in policies) or f"no {_POLICY_KIND[operator]}"
    )
    pods_part = (
        f"{len(bad_nodes)} node(s) with {_TITLE[operator]} pods not ready: {collapse(sorted(bad_nodes))}"
        if bad_nodes
        else f"all {pods_seen} {_TITLE[operator]} pod(s) ready"
    )
    healthy = not bad_nodes and all(pol.state == "ready" for pol in policies)
    yield Result(
        summary=f"{states}; {pods_part}",
        ok=True,
        rows=rows,
        row_model=OperatorPodRow,
        title=f"{_TITLE[operator]}: {states}",
        data={"healthy": healthy, "policies": [pol.model_dump(mode="json") for pol in policies], "pods": data},
    )


@action(
    "gpu-operator",
    example="gpu-operator",
    help="GPU Operator health: ClusterPolicy state and not-ready operator pods per node with their reason",
    params=OperatorParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    positional=("nodes",),
    category="nodes",
    prepare=_valid_hostlist,
    rows=OperatorPodRow,
)
async def gpu_operator(ctx: ActionContext, p: OperatorParams) -> AsyncIterator[ActionEvent]:
    async for event in _report(ctx, p, GPU):
        yield event


@action(
    "network-operator",
    example="network-operator",
    help="Network Operator health: NicClusterPolicy state and not-ready MOFED / RDMA device plugin pods per node",
    params=OperatorParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    positional=("nodes",),
    category="nodes",
    prepare=_valid_hostlist,
    rows=OperatorPodRow,
)
async def network_operator(ctx: ActionContext, p: OperatorParams) -> AsyncIterator[ActionEvent]:
    async for event in _report(ctx, p, NETWORK):
        yield event
