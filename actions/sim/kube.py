"""SimKube: the KubePort over the simulated cluster, where every node is also a Kubernetes node.

Each node runs the GPU operator's and network operator's DaemonSet pods; some nodes also run
workload pods owned by ReplicaSets (inference) or Jobs (training). One PodDisruptionBudget
(``ml-inference/triton-embeddings``, minAvailable 1 over a single replica) blocks evicting its pod,
so a drain of that node reports it blocked, as ``kubectl drain`` would. On one node the NVIDIA
device plugin is in CrashLoopBackOff, so Kubernetes sees no allocatable GPUs there. Evicted or deleted pods of
a ReplicaSet or Job are recreated by their "controller" on another schedulable node.
Pods are generated per node on first use, so a 10,000-node cluster costs nothing up front.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..backends.models import BlockedPod, DrainReport, KubeJob, KubeNode, KubePod, OperatorPod, OperatorPolicy
from ..errors import BackendError
from .cluster import SimCluster
from .scenario import rand01
from .state import SimNode

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the characters Kubernetes uses in generated names
DAEMONSETS = (
    ("gpu-operator", "nvidia-driver-daemonset"),
    ("gpu-operator", "nvidia-dcgm-exporter"),
    ("gpu-operator", "nvidia-device-plugin-daemonset"),
    ("network-operator", "mofed-ubuntu22.04-ds"),
    ("kube-system", "kube-proxy"),
)
# (the lab API server's operator world has every operand; the simulator keeps four, as each operator
#  pod costs time on a 10,000-node fleet: eight per node made ``nodes()`` 2.2x slower)
OPERATOR_NAMESPACES = ("gpu-operator", "network-operator")
DEVICE_PLUGIN = "nvidia-device-plugin-daemonset"
PDB_NODE_INDEX = 14
PDB = ("ml-inference", "triton-embeddings-pdb", "triton-embeddings")  # namespace, PDB name, owner prefix
REPLICASETS = (("ml-inference", "vllm-llama3-70b-7d9c8b6f5d"), ("ml-inference", "triton-embeddings-5f7b9c4d8"))
JOBS = {
    ("ml-training", "resnet-ddp-0142"): "Running",
    ("ml-training", "nccl-allreduce-check"): "Complete",
    ("ml-eval", "llm-eval-nightly"): "Failed",
}


def _suffix(*key: object, length: int = 5) -> str:
    value = int(rand01(*key) * len(_ALPHABET) ** length)
    chars = []
    for _ in range(length):
        value, digit = divmod(value, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return "".join(chars)


@dataclass
class SimPod:
    namespace: str
    name: str
    node: str
    owner_kind: str
    owner_name: str
    phase: str = "Running"


@dataclass
class SimKubeJob:
    namespace: str
    name: str
    status: str
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    generation: int = 0
    pods: list[SimPod] = field(default_factory=list)


@dataclass
class KubeState:
    """Pods and jobs, kept on the SimCluster so every ``backends()`` call sees the same world."""

    pods: dict[str, list[SimPod]] = field(default_factory=dict)
    jobs: dict[tuple[str, str], SimKubeJob] | None = None
    serial: int = 0


class SimKube:
    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim
        self.state: KubeState = sim.cache.setdefault("kube", KubeState())

    # ------------------------------------------------------------------ generated state

    def _node(self, name: str) -> SimNode:
        node = self.sim.nodes.get(name)
        if node is None:
            raise BackendError(f"kube: nodes {name!r} not found")
        return node

    def _pods_on(self, node: SimNode) -> list[SimPod]:
        pods = self.state.pods.get(node.name)
        if pods is None:
            seed, name = self.sim.seed, node.name
            pods = [SimPod(ns, f"{ds}-{_suffix(seed, name, ds)}", name, "DaemonSet", ds) for ns, ds in DAEMONSETS]
            if node.index == PDB_NODE_INDEX:
                ns, rs = REPLICASETS[1]
                pods.append(SimPod(ns, f"{rs}-{_suffix(seed, name, rs)}", name, "ReplicaSet", rs))
            elif rand01(seed, name, "inference") < 0.15:
                ns, rs = REPLICASETS[0]
                pods.append(SimPod(ns, f"{rs}-{_suffix(seed, name, rs)}", name, "ReplicaSet", rs))
            self.state.pods[name] = pods
            self._all_jobs()  # job pods are placed when jobs are first built
        return pods

    def _all_jobs(self) -> dict[tuple[str, str], SimKubeJob]:
        if self.state.jobs is None:
            self.state.jobs = {}
            names = list(self.sim.nodes)
            for number, ((ns, name), status) in enumerate(JOBS.items()):
                job = SimKubeJob(ns, name, status)
                self.state.jobs[(ns, name)] = job
                if status == "Running":
                    for k in range(min(2, len(names))):
                        host = names[(number * 7 + k * 3 + 5) % len(names)]
                        self._spawn_job_pod(job, host)
                    job.active = len(job.pods)
                elif status == "Complete":
                    job.succeeded = 1
                else:
                    job.failed = 3
        return self.state.jobs

    def _spawn_job_pod(self, job: SimKubeJob, host: str) -> None:
        self.state.serial += 1
        pod = SimPod(
            job.namespace,
            f"{job.name}-{_suffix(self.sim.seed, job.name, job.generation, self.state.serial)}",
            host,
            "Job",
            job.name,
        )
        job.pods.append(pod)
        self._pods_on(self.sim.nodes[host]).append(pod)

    def _ready(self, node: SimNode) -> bool:
        return node.power == "On" and node.os_up and not node.hung

    def _replace(self, pod: SimPod, avoid: str) -> None:
        """A controller recreates a deleted pod: a DaemonSet on the same node, a ReplicaSet or Job
        on the first other schedulable node."""
        if pod.owner_kind == "DaemonSet":
            self.state.serial += 1
            self._pods_on(self.sim.nodes[pod.node]).append(
                SimPod(
                    pod.namespace,
                    f"{pod.owner_name}-{_suffix(self.sim.seed, pod.name, self.state.serial)}",
                    pod.node,
                    pod.owner_kind,
                    pod.owner_name,
                )
            )
            return
        if pod.owner_kind not in ("ReplicaSet", "Job"):
            return
        for node in self.sim.nodes.values():
            if node.name != avoid and not node.cordoned and self._ready(node):
                self.state.serial += 1
                clone = SimPod(
                    pod.namespace,
                    f"{pod.owner_name}-{_suffix(self.sim.seed, pod.name, self.state.serial)}",
                    node.name,
                    pod.owner_kind,
                    pod.owner_name,
                )
                self._pods_on(node).append(clone)
                if pod.owner_kind == "Job":
                    job = self._all_jobs()[(pod.namespace, pod.owner_name)]
                    job.pods = [p for p in job.pods if p is not pod] + [clone]
                return

    def _blocked_reason(self, pod: SimPod) -> str | None:
        ns, pdb, owner = PDB
        if pod.namespace == ns and pod.owner_name.startswith(owner):
            return (
                f"Cannot evict pod as it would violate the pod's disruption budget "
                f"({ns}/{pdb}: minAvailable 1, currently healthy 1)"
            )
        return None

    # ------------------------------------------------------------------ the port

    def _operator_pods(self, node: SimNode, ready: bool) -> tuple[OperatorPod, ...]:
        """The GPU / network operator pods as ``kubectl get pods -o wide`` would show them."""
        out = []
        for pod in self._pods_on(node):
            if pod.namespace not in OPERATOR_NAMESPACES or pod.owner_kind != "DaemonSet":
                continue
            crashing = node.index == self.sim.story.device_plugin_crash and pod.owner_name == DEVICE_PLUGIN
            status = "Unknown" if not ready else ("CrashLoopBackOff" if crashing else "Running")
            out.append(
                OperatorPod(
                    namespace=pod.namespace,
                    name=pod.name,
                    component=pod.owner_name,
                    status=status,
                    ready=status == "Running",
                )
            )
        return tuple(sorted(out, key=lambda o: (o.component, o.name)))

    async def nodes(self) -> list[KubeNode]:
        self.sim.advance()
        out = []
        for node in self.sim.nodes.values():
            ready = self._ready(node)
            operators = self._operator_pods(node, ready)
            plugin_up = any(o.component == DEVICE_PLUGIN and o.ready for o in operators)
            taints = tuple(
                t
                for t, on in (
                    ("node.kubernetes.io/unschedulable:NoSchedule", node.cordoned),
                    ("node.kubernetes.io/unreachable:NoExecute", not ready),
                )
                if on
            )
            out.append(
                KubeNode(
                    name=node.name,
                    ready=ready,
                    unschedulable=node.cordoned,
                    gpu_allocatable=8 - len(node.lost_gpus) if plugin_up else 0,
                    taints=taints,
                    labels={
                        "kubernetes.io/hostname": node.name,
                        "topology.kubernetes.io/zone": node.rack,
                        "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
                        "nvidia.com/gpu.count": "8",
                        "node-role.kubernetes.io/worker": "",
                        "dcops.io/partition": node.partition,
                    },
                    operator_pods=operators,
                )
            )
        return out

    async def operator_policies(self) -> list[OperatorPolicy]:
        """ClusterPolicy is notReady while any node's GPU operator pods are (the device plugin
        crash-looping on one node is enough, as with the real operator); NicClusterPolicy ready."""
        self.sim.advance()
        crash = self.sim.story.device_plugin_crash
        crashing = next((n for n in self.sim.nodes.values() if n.index == crash), None)
        problems: tuple[str, ...] = ()
        if crashing is not None and self._ready(crashing):
            problems = ("Ready: OperandNotReady ClusterPolicy is not ready, states not ready: [state-device-plugin]",)
        return [
            OperatorPolicy(
                kind="ClusterPolicy",
                name="cluster-policy",
                state="notReady" if problems else "ready",
                problems=problems,
            ),
            OperatorPolicy(kind="NicClusterPolicy", name="nic-cluster-policy", state="ready"),
        ]

    async def cordon(self, node: str) -> None:
        self._node(node).cordoned = True

    async def uncordon(self, node: str) -> None:
        self._node(node).cordoned = False

    async def drain(
        self, node: str, *, timeout: float, grace_period: int | None = None, dry_run: bool = False
    ) -> DrainReport:
        self.sim.advance()
        target = self._node(node)
        if not dry_run:
            target.cordoned = True
        evicted: list[str] = []
        skipped: list[str] = []
        blocked: list[BlockedPod] = []
        for pod in list(self._pods_on(target)):
            ref = f"{pod.namespace}/{pod.name}"
            if pod.owner_kind in ("DaemonSet", "Node"):
                skipped.append(ref)
                continue
            reason = self._blocked_reason(pod)
            if reason is not None:
                blocked.append(BlockedPod(namespace=pod.namespace, name=pod.name, reason=reason))
                continue
            evicted.append(ref)
            if not dry_run:
                self._remove(pod)
                self._replace(pod, avoid=node)
        return DrainReport(
            node=node,
            cordoned=target.cordoned,
            evicted=tuple(evicted),
            skipped=tuple(skipped),
            blocked=tuple(blocked),
            dry_run=dry_run,
        )

    def _remove(self, pod: SimPod) -> None:
        self.state.pods[pod.node] = [p for p in self.state.pods[pod.node] if p is not pod]

    async def pods(self, node: str | None = None) -> list[KubePod]:
        self.sim.advance()
        nodes = [self._node(node)] if node is not None else list(self.sim.nodes.values())
        return [
            KubePod(
                namespace=p.namespace,
                name=p.name,
                node=p.node,
                phase=p.phase,
                owner_kind=p.owner_kind,
                owner_name=p.owner_name,
            )
            for n in nodes
            for p in self._pods_on(n)
        ]

    async def jobs(self, namespace: str | None = None) -> list[KubeJob]:
        self.sim.advance()
        return [
            KubeJob(
                namespace=j.namespace,
                name=j.name,
                active=j.active,
                succeeded=j.succeeded,
                failed=j.failed,
                status=j.status,
                nodes=tuple(sorted({p.node for p in j.pods})),
            )
            for j in self._all_jobs().values()
            if namespace is None or j.namespace == namespace
        ]

    async def restart_job(self, namespace: str, name: str) -> None:
        job = self._all_jobs().get((namespace, name))
        if job is None:
            raise BackendError(f"kube: jobs.batch {name!r} not found in namespace {namespace!r}")
        for pod in job.pods:
            if pod in self.state.pods.get(pod.node, []):
                self._remove(pod)
        job.pods, job.generation = [], job.generation + 1
        hosts = [n.name for n in self.sim.nodes.values() if not n.cordoned and self._ready(n)][:2]
        for host in hosts:
            self._spawn_job_pod(job, host)
        job.status, job.active, job.succeeded, job.failed = "Running", len(job.pods), 0, 0
