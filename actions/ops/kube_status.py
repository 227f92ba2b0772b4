"""``k8s-nodes``: Kubernetes nodes as a GPU operator sees them — ready, cordoned, allocatable
GPUs, and the GPU Operator / network-operator pods (driver, device plugin, DCGM exporter, MOFED)
that are not running right on each node, which is why a node's GPUs vanish from the scheduler."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import Field

from ..backends.ports import KubePort
from ..context import ActionContext
from ..events import ActionEvent, Result, Table
from ..registry import Kind, Params, TargetKind, action


class KubeNodesParams(Params):
    gpu_only: bool = Field(False, description="only nodes with allocatable nvidia.com/gpu")
    problems: bool = Field(False, description="only nodes that are not ready, cordoned, or have operator pods down")


@action("k8s-nodes", example="k8s-nodes --problems", help="Kubernetes nodes: ready, cordoned, GPUs, operator pods",
        params=KubeNodesParams, kind=Kind.READ, targets=TargetKind.NONE, category="nodes")
async def k8s_nodes(ctx: ActionContext, p: KubeNodesParams) -> AsyncIterator[ActionEvent]:
    kube = ctx.backends.get(KubePort)
    section = ctx.config.kube
    rows, data = [], []
    for node in sorted(await kube.nodes(), key=lambda n: n.name):
        bad = [o for o in node.operator_pods if not o.ready]
        if p.gpu_only and node.gpu_allocatable == 0:
            continue
        if p.problems and node.ready and not node.unschedulable and not bad:
            continue
        name = section.dcops_name(node.name) if section is not None else node.name
        rows.append([name, node.name, "Ready" if node.ready else "NotReady",
                     "cordoned" if node.unschedulable else "schedulable", node.gpu_allocatable,
                     f"{len(node.operator_pods) - len(bad)}/{len(node.operator_pods)}",
                     ", ".join(f"{o.component}: {o.status}" for o in bad) or "-"])
        data.append(node.model_dump(mode="json"))
    problems = sum(1 for r in rows if r[2] != "Ready" or r[3] == "cordoned" or r[6] != "-")
    yield Result(summary=f"{len(rows)} Kubernetes node(s), {problems} with problems",
                 table=Table(columns=["node", "k8s node", "ready", "scheduling", "gpus", "operator pods ready",
                                      "operator pods down"], rows=rows), data=data)
