"""``k8s-nodes``: Kubernetes nodes as a GPU operator sees them — ready, cordoned, allocatable
GPUs, and the GPU Operator / network-operator pods (driver, device plugin, DCGM exporter, MOFED)
that are not running right on each node, which is why a node's GPUs vanish from the scheduler."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import Field, computed_field

from ..backends.ports import KubePort
from ..context import ActionContext
from ..events import ActionEvent, Result
from ..registry import Kind, Params, TargetKind, action
from ..result_rows import Row, hidden


class KubeNodeRow(Row):
    """One Kubernetes node as dcops names it: readiness, scheduling, GPUs, and its operator pods."""

    TABLE = ("node", "k8s_node", "ready_shown", "scheduling", "gpus", "pods_ready_shown", "operator_pods_down")

    node: str
    k8s_node: str
    ready: bool = hidden(False)
    cordoned: bool = hidden(False)
    gpus: int = Field(description="allocatable GPUs")
    operator_pods: int = hidden(0, description="GPU / Network Operator pods on it")
    operator_pods_ready: int = hidden(0)
    operator_pods_down: list[str] = Field(
        title="operator pods down", description="COMPONENT: STATUS of each pod not ready"
    )

    @computed_field(title="ready")  # type: ignore[prop-decorator]
    @property
    def ready_shown(self) -> str:
        return "Ready" if self.ready else "NotReady"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def scheduling(self) -> str:
        return "cordoned" if self.cordoned else "schedulable"

    @computed_field(title="operator pods ready")  # type: ignore[prop-decorator]
    @property
    def pods_ready_shown(self) -> str:
        return f"{self.operator_pods_ready}/{self.operator_pods}"


class KubeNodesParams(Params):
    gpu_only: bool = Field(False, description="only nodes with allocatable nvidia.com/gpu")
    problems: bool = Field(False, description="only nodes that are not ready, cordoned, or have operator pods down")


@action(
    "k8s-nodes",
    example="k8s-nodes --problems",
    help="Kubernetes nodes: ready, cordoned, GPUs, operator pods",
    params=KubeNodesParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    category="nodes",
    rows=KubeNodeRow,
)
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
        rows.append(
            KubeNodeRow(
                node=name,
                k8s_node=node.name,
                ready=node.ready,
                cordoned=node.unschedulable,
                gpus=node.gpu_allocatable,
                operator_pods=len(node.operator_pods),
                operator_pods_ready=len(node.operator_pods) - len(bad),
                operator_pods_down=[f"{o.component}: {o.status}" for o in bad],
            )
        )
        data.append(node.model_dump(mode="json"))
    problems = sum(1 for r in rows if not r.ready or r.cordoned or r.operator_pods_down)
    yield Result(
        summary=f"{len(rows)} Kubernetes node(s), {problems} with problems", rows=rows, row_model=KubeNodeRow, data=data
    )
