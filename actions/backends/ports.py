"""The ports: what the action layer needs from each kind of backend, as ``typing.Protocol``s.

Adapters (``slurm_cli``, ``slurm_rest``, ``kube``, ``redfish``, ``ssh``, ``prometheus``) and the
simulator (``dcops.actions.sim``) implement these; actions depend only on them. Every method is async,
every failure an adapter can foresee is raised as :class:`dcops.actions.errors.BackendError` with a
one-line message naming the backend, and every call is bounded by a timeout inside the adapter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

# The models appear only in annotations (the protocols are checked by method names): imported for
# type checkers, not at run time, so `dcops --demo run ping` builds none of their pydantic models.
if TYPE_CHECKING:
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
        ManagerInfo,
        NodeInfo,
        NodeRef,
        OperatorPolicy,
        Sample,
        Series,
        Silence,
        SystemInfo,
        TaskStatus,
        UpdatePath,
    )


@runtime_checkable
class InventoryPort(Protocol):
    """Which nodes exist and how to reach them. Used to validate every hostlist a user types."""

    async def nodes(self) -> list[NodeRef]: ...


@runtime_checkable
class SlurmPort(Protocol):
    # jobs=False: state and reason only, NodeInfo.jobs left empty (one Slurm query fewer: resume's health check)
    async def nodes(self, names: Sequence[str] | None = None, *, jobs: bool = True) -> list[NodeInfo]: ...
    async def jobs(self, filter: JobFilter | None = None) -> list[JobInfo]: ...
    async def drain(self, nodes: Sequence[str], reason: str) -> None: ...
    async def resume(self, nodes: Sequence[str]) -> None: ...
    async def cancel(self, job_ids: Sequence[str], signal: str | None = None) -> None: ...
    async def requeue(self, job_ids: Sequence[str]) -> None: ...
    async def hold(self, job_ids: Sequence[str]) -> None: ...
    async def release(self, job_ids: Sequence[str]) -> None: ...


@runtime_checkable
class KubePort(Protocol):
    async def nodes(self) -> list[KubeNode]: ...
    async def cordon(self, node: str) -> None: ...
    async def uncordon(self, node: str) -> None: ...
    async def drain(
        self, node: str, *, timeout: float, grace_period: int | None = None, dry_run: bool = False
    ) -> DrainReport: ...
    async def pods(self, node: str | None = None) -> list[KubePod]: ...
    async def jobs(self, namespace: str | None = None) -> list[KubeJob]: ...
    async def restart_job(self, namespace: str, name: str) -> None: ...
    async def operator_policies(self) -> list[OperatorPolicy]: ...  # ClusterPolicy / NicClusterPolicy


@runtime_checkable
class RedfishPort(Protocol):
    """One BMC per node; ``node`` is the dcops node name, the adapter maps it to its BMC."""

    async def system(self, node: str) -> SystemInfo: ...
    async def manager(self, node: str) -> ManagerInfo: ...
    async def firmware_inventory(self, node: str) -> list[FirmwareComponent]: ...
    async def update_path(self, node: str) -> UpdatePath: ...
    async def start_update(self, node: str, image_uri: str, targets: Sequence[str] = ()) -> str: ...
    async def task(self, node: str, task_uri: str) -> TaskStatus: ...
    async def reset_types(self, node: str) -> tuple[str, ...]: ...
    async def reset(self, node: str, reset_type: str) -> None: ...
    async def set_boot_override(self, node: str, target: str = "Pxe", once: bool = True) -> None: ...
    def take_warnings(self) -> list[str]: ...


@runtime_checkable
class SshPort(Protocol):
    """Runs argv (never a shell string: the adapter quotes every word) on nodes."""

    async def run(self, host: str, argv: Sequence[str], *, timeout: float | None = None) -> CommandResult: ...


@runtime_checkable
class PrometheusPort(Protocol):
    async def query(self, promql: str, at: datetime | None = None) -> list[Sample]: ...
    async def query_range(self, promql: str, start: datetime, end: datetime, step: float) -> list[Series]: ...


@runtime_checkable
class AnsiblePort(Protocol):
    """Runs an approved playbook on dcops' inventory and streams its events (ansible-runner's event
    stream, or the simulator's). The last event is always a ``PlaybookStats``."""

    def run_playbook(self, job: PlaybookJob) -> AsyncIterator[PlaybookEvent]: ...


@runtime_checkable
class AlertmanagerPort(Protocol):
    """Silences for nodes in maintenance (Alertmanager API v2)."""

    async def create_silence(self, matchers: dict[str, str], *, hours: float, created_by: str, comment: str) -> str: ...
    async def expire_silence(self, silence_id: str) -> None: ...
    async def silences(self) -> list[Silence]: ...


@runtime_checkable
class ProvisioningPort(Protocol):
    """Reinstalls a node's operating system: the provider behind ``reimage``, chosen by
    ``[provisioning] provider`` (:mod:`dcops.actions.backends.provisioning`). The action drains, waits for
    the node to be idle, journals, waits for the new image, verifies and resumes; a provider does
    only what depends on how the site installs nodes (Redfish PXE, Foreman, BCM, a playbook)."""

    arm_step: str  # the step that makes the next boot install, as users read it ("PXE override")
    boot_step: str  # the step that starts the install ("power cycle")
    wait_step: str  # waiting until the node reports the new image ("wait for SSH")

    async def image(self, node: str) -> str | None:
        """The image id the node reports now; None when it does not answer (installing, down)."""
        ...

    async def arm(self, node: str, image: str | None) -> str:
        """Make the node's next boot install ``image`` (None: the provider's default); a detail line."""
        ...

    async def boot(self, node: str) -> str:
        """Start the install. Never repeated blindly: the action journals before calling it and, on
        resume, asks :meth:`install_started` first. Returns a detail line."""
        ...

    async def install_started(self, node: str) -> bool:
        """Asked only when a resumed run finds the boot step journaled (it may or may not have been
        sent before the crash): did the install boot already happen? True: only wait for the image."""
        ...

    async def check_installed(self, node: str) -> None:
        """Raise :class:`dcops.actions.errors.DcopsError` when the node runs but the install did not take
        effect (e.g. it booted from disk: the one-time PXE override is still pending)."""
        ...
