"""The row models front ends read field by field (the Fleet screen reads a node's jobs as a list,
the Jobs screen its node list). They live on the public floor, beside :mod:`dcops.actions.result_rows`,
because front ends may not import ``dcops.actions.ops`` (import-linter); the ops that answer with them
import them from here and declare them (``@action(..., rows=NodeRow)``). Rows no front end reads by
field stay next to their action in ``actions/ops``.
"""

from __future__ import annotations

from pydantic import Field, computed_field

from .result_rows import Row, hidden


class NodeRow(Row):
    """One node as Slurm sees it (sinfo -N): state, flags, partitions, GPUs in use, jobs, reason."""

    TABLE = ("node", "state", "flags", "partitions", "gpus", "jobs", "reason")

    node: str
    state: str = Field(description="Slurm state as sinfo shows it (idle, mixed, drained, ...)")
    flags: list[str] = Field(description="state flags (DRAIN, NOT_RESPONDING, ...)")
    partitions: list[str]
    gpus_used: int = hidden(0, description="GPUs allocated to jobs")
    gpus_total: int = hidden(0, description="GPUs the node has")
    jobs: list[str] = Field(description="ids of the jobs running on it")
    reason: str = Field(description="why it is drained or down (Slurm's reason)")

    @computed_field(title="gpus")  # type: ignore[prop-decorator]
    @property
    def gpus(self) -> str:
        return f"{self.gpus_used}/{self.gpus_total}"


class JobRow(Row):
    """One job as squeue shows it."""

    job: str = Field(description="Slurm job id (ARRAYID_TASK for an array task)")
    partition: str
    name: str
    user: str
    state: str = Field(description="Slurm job state (RUNNING, PENDING, ...)")
    node_count: int = Field(title="nodes", description="how many nodes it runs on (or asks for)")
    nodelist: list[str] = Field(description="the nodes it runs on, one name each")
    reason: str


class FleetRow(Row):
    """One node across every management plane (the ``fleet`` action, the TUI's first screen). A
    plane that did not answer leaves its fields empty (None), never a made-up value."""

    node: str
    partitions: list[str]
    state: str = Field(description="Slurm state ('' when Slurm did not answer)")
    flags: list[str] = Field(description="Slurm state flags")
    reason: str
    jobs: int = Field(description="how many jobs run on it")
    k8s: str = Field(description="ready, notready, cordoned ('' without Kubernetes)")
    operators: str = Field(description="GPU / Network Operator pods not ready on it ('ok' when all are)")
    gpu_util: float | None = Field(description="mean GPU utilisation, %")
    gpu_temp: float | None = Field(description="hottest GPU, degrees C")
    xid: int = Field(description="highest XID error code its GPUs report (0: none)")
    ib_errors: float | None = Field(description="InfiniBand symbol errors + link downs per second")
    util_history: list[float] = hidden([], description="GPU utilisation over 30 min, for sparklines")
    temp_history: list[float] = hidden([], description="GPU temperature over 30 min, for sparklines")


class PortRow(Row):
    """One InfiniBand port: its peer, the verdict, and its error counters' growth (rounded counts)."""

    port: str = Field(description="NODE:HCA:PORT")
    node: str = hidden("", description="the node the port is on")
    peer: str = Field(description="the other end of its cable (? without a topology)")
    verdict: str = Field(description="healthy, degraded, flapping, ... (fabric verdicts)")
    symbol_12m: int = Field(title="symbol 12m")
    symbol_125m: int = Field(title="symbol 125m")
    link_downed_125m: int = Field(title="link downed 125m")
    rcv_errors_125m: int = Field(title="rcv errors 125m")
    remote_phys_125m: int = Field(title="remote phys 125m")
    xmit_wait_per_s: int = Field(title="xmit wait/s")


class NodeOutcomeRow(Row):
    """What a per-node change did to each node (power, reimage, firmware-update, a stopped run)."""

    node: str
    result: str = Field(description="ok or failed")
    detail: str = Field(description="what happened, or why it failed")

    @classmethod
    def of_fanout(
        cls, ok: dict[str, str], failed: dict[str, str], skipped: dict[str, str] | None = None
    ) -> list[NodeOutcomeRow]:
        """The rows of a fan-out: its successes, then its failures, then what it skipped (a halted
        rollout), each with its detail."""
        return [
            cls(node=n, result=result, detail=d)
            for result, found in (("ok", ok), ("failed", failed), ("skipped", skipped or {}))
            for n, d in found.items()
        ]


class SettledRow(Row):
    """Where a stopped run left each target (done, failed, left drained, not started)."""

    node: str
    final_state: str
    detail: str
