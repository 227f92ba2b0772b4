"""The ports: what the action layer needs from each kind of backend, as ``typing.Protocol``s.

Adapters (``slurm_cli``, ``slurm_rest``, ``kube``, ``redfish``, ``ssh``, ``prometheus``) and the
simulator (``actions.sim``) implement these; actions depend only on them. Every method is async,
every failure an adapter can foresee is raised as :class:`actions.errors.BackendError` with a
one-line message naming the backend, and every call is bounded by a timeout inside the adapter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from .ansible_models import PlaybookEvent, PlaybookJob
from .models import (
    CommandResult,
    DrainReport,
    FirmwareComponent,
    JobFilter,
    JobInfo,
    KubeJob,
    KubeNode,
    KubePod,
    NodeInfo,
    OperatorPolicy,
    NodeRef,
    Sample,
    Series,
    SystemInfo,
    TaskStatus,
)


@runtime_checkable
class InventoryPort(Protocol):
    """Which nodes exist and how to reach them. Used to validate every hostlist a user types."""

    async def nodes(self) -> list[NodeRef]: ...


@runtime_checkable
class SlurmPort(Protocol):
    async def nodes(self, names: Sequence[str] | None = None) -> list[NodeInfo]: ...
    async def jobs(self, filter: JobFilter | None = None) -> list[JobInfo]: ...
    async def drain(self, nodes: Sequence[str], reason: str) -> None: ...
    async def resume(self, nodes: Sequence[str]) -> None: ...
    async def down(self, nodes: Sequence[str], reason: str) -> None: ...
    async def cancel(self, job_ids: Sequence[str], signal: str | None = None) -> None: ...
    async def requeue(self, job_ids: Sequence[str]) -> None: ...
    async def hold(self, job_ids: Sequence[str]) -> None: ...
    async def release(self, job_ids: Sequence[str]) -> None: ...


@runtime_checkable
class KubePort(Protocol):
    async def nodes(self) -> list[KubeNode]: ...
    async def cordon(self, node: str) -> None: ...
    async def uncordon(self, node: str) -> None: ...
    async def drain(self, node: str, *, timeout: float, grace_period: int | None = None,
                    dry_run: bool = False) -> DrainReport: ...
    async def pods(self, node: str | None = None) -> list[KubePod]: ...
    async def delete_pod(self, namespace: str, name: str) -> None: ...
    async def jobs(self, namespace: str | None = None) -> list[KubeJob]: ...
    async def restart_job(self, namespace: str, name: str) -> None: ...
    async def operator_policies(self) -> list[OperatorPolicy]: ...   # ClusterPolicy / NicClusterPolicy


@runtime_checkable
class RedfishPort(Protocol):
    """One BMC per node; ``node`` is the dcops node name, the adapter maps it to its BMC."""

    async def system(self, node: str) -> SystemInfo: ...
    async def firmware_inventory(self, node: str) -> list[FirmwareComponent]: ...
    async def simple_update(self, node: str, image_uri: str, targets: Sequence[str] = ()) -> str: ...
    async def task(self, node: str, task_uri: str) -> TaskStatus: ...
    async def reset(self, node: str, reset_type: str) -> None: ...
    async def set_boot_override(self, node: str, target: str = "Pxe", once: bool = True) -> None: ...


@runtime_checkable
class SshPort(Protocol):
    """Runs argv (never a shell string: the adapter quotes every word) on nodes."""

    async def run(self, host: str, argv: Sequence[str], *, timeout: float | None = None) -> CommandResult: ...
    async def run_many(self, hosts: Sequence[str], argv: Sequence[str], *,
                       timeout: float | None = None) -> dict[str, CommandResult]: ...


@runtime_checkable
class PrometheusPort(Protocol):
    async def query(self, promql: str, at: datetime | None = None) -> list[Sample]: ...
    async def query_range(self, promql: str, start: datetime, end: datetime, step: float) -> list[Series]: ...


@runtime_checkable
class AnsiblePort(Protocol):
    """Runs an approved playbook on dcops' inventory and streams its events (ansible-runner's event
    stream, or the simulator's). The last event is always a ``PlaybookStats``."""

    def run_playbook(self, job: PlaybookJob) -> AsyncIterator[PlaybookEvent]: ...
