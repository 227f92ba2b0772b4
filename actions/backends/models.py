"""Plain data the ports exchange: what operators call nodes, jobs, firmware, ports and samples.

Adapters translate their backend's wire format into these; actions and front ends only ever see
these models, so a Slurm REST adapter and a Slurm CLI adapter are interchangeable.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    # built on first use, not at import: a command that exchanges none of these (run ping, audit,
    # help) does not pay for building ~20 validators (issue 16: CLI start)
    model_config = ConfigDict(frozen=True, defer_build=True)


# ---------------------------------------------------------------- inventory


class NodeRef(_Model):
    """A node as dcops knows it: its name and where to reach each of its management planes."""

    name: str
    partitions: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # features / Kubernetes labels "key=value" or bare words
    ssh_host: str | None = None  # address for SSH (defaults to name)
    bmc: str | None = None  # BMC base URL, e.g. https://10.0.0.5 or http://127.0.0.1:8000/redfish/v1/Systems/<id>
    kube_name: str | None = None  # Kubernetes node name when the node is also a k8s node


# ---------------------------------------------------------------- Slurm


class NodeInfo(_Model):
    """A Slurm node. ``state`` is Slurm's base state in lower case (idle, allocated, mixed, down,
    unknown, ...) and ``flags`` the upper-case state flags (DRAIN, NOT_RESPONDING, ...)."""

    name: str
    state: str
    flags: tuple[str, ...] = ()
    reason: str = ""
    partitions: tuple[str, ...] = ()
    gres: str = ""
    gpus: int = 0
    gpus_used: int = 0
    cpus: int = 0
    cpus_alloc: int = 0
    memory_mb: int = 0
    memory_alloc_mb: int = 0  # memory jobs hold on the node (a suspended job keeps it, not its CPUs)
    features: tuple[str, ...] = ()
    jobs: tuple[str, ...] = ()

    @property
    def drain_flag(self) -> bool:
        return "DRAIN" in self.flags

    @property
    def display_state(self) -> str:
        """The state as ``sinfo`` shows it: drained / draining / down / idle / ..."""
        if self.drain_flag:
            return "draining" if self.state in ("allocated", "mixed") else "drained"
        return self.state

    @property
    def may_have_jobs(self) -> bool:
        """Whether the node record itself says a job may be on the node: a job-carrying state
        (allocated, mixed, completing) or resources held (CPUs, GPUs, memory). A node where all of
        them say no has no job, so nobody needs to ask ``squeue``: the cheap path of drain.
        Memory matters: Slurm sets a node with only a suspended job back to IDLE with no CPUs
        allocated, but the job keeps its memory (``CR_*_Memory``, the usual GPU cluster setup).
        Errs towards True (a stale allocation after a job ended only costs a jobs read)."""
        return (
            self.state in ("allocated", "mixed", "completing")
            or "COMPLETING" in self.flags
            or self.cpus_alloc > 0
            or self.gpus_used > 0
            or self.memory_alloc_mb > 0
        )

    @property
    def unavailable(self) -> bool:
        """Out of service for new work: drained, draining or down."""
        return self.drain_flag or self.state in ("down", "fail") or "NOT_RESPONDING" in self.flags


class JobInfo(_Model):
    job_id: str
    name: str = ""
    user: str = ""
    partition: str = ""
    state: str = ""  # RUNNING, PENDING, COMPLETED, CANCELLED, FAILED, ...
    nodes: tuple[str, ...] = ()
    node_count: int = 0
    gpus: int = 0
    submit_time: datetime | None = None
    start_time: datetime | None = None
    time_limit: str = ""
    reason: str = ""
    restarts: int = 0
    exit_code: str = ""


class JobFilter(_Model):
    user: str | None = None
    partition: str | None = None
    node: str | None = None
    state: str | None = None  # RUNNING, PENDING, ... (case-insensitive)
    job_ids: tuple[str, ...] = ()


# ---------------------------------------------------------------- Kubernetes


class OperatorPod(_Model):
    """A GPU Operator / network-operator pod on a node (driver, device plugin, DCGM exporter, MOFED)."""

    namespace: str
    name: str
    component: str  # the pod's app label or its DaemonSet's name
    status: str = ""  # as kubectl shows it: Running, CrashLoopBackOff, Pending, ...
    ready: bool = False


class OperatorPolicy(_Model):
    """The GPU Operator's ClusterPolicy or the Network Operator's NicClusterPolicy and its state."""

    kind: str  # ClusterPolicy | NicClusterPolicy
    name: str
    state: str = ""  # status.state: ready, notReady, ignored, disabled ("" = not reported)
    problems: tuple[str, ...] = ()  # not-ready conditions / applied states, one line each


class KubeNode(_Model):
    name: str
    ready: bool = True
    unschedulable: bool = False
    gpu_allocatable: int = 0
    labels: dict[str, str] = Field(default_factory=dict)
    taints: tuple[str, ...] = ()
    operator_pods: tuple[OperatorPod, ...] = ()


class KubePod(_Model):
    namespace: str
    name: str
    node: str = ""
    phase: str = ""
    owner_kind: str = ""  # DaemonSet, ReplicaSet, Job, Node (mirror pod), ...
    owner_name: str = ""


class BlockedPod(_Model):
    namespace: str
    name: str
    reason: str


class DrainReport(_Model):
    node: str
    cordoned: bool
    evicted: tuple[str, ...] = ()  # "namespace/name"
    skipped: tuple[str, ...] = ()  # DaemonSet / mirror pods left in place
    blocked: tuple[BlockedPod, ...] = ()
    dry_run: bool = False

    @property
    def complete(self) -> bool:
        return not self.blocked


class KubeJob(_Model):
    namespace: str
    name: str
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    status: str = ""  # Running, Complete, Failed
    nodes: tuple[str, ...] = ()


# ---------------------------------------------------------------- Redfish


class FirmwareComponent(_Model):
    """One FirmwareInventory member. ``id`` is the member id as the BMC spells it (what an update's
    Targets name); ``key`` is what the component IS across nodes and versions (the FQDD on Dell, the
    Name on iLO, the id elsewhere; see ``redfish_identity``); ``role`` is "active" for the firmware
    that runs, else "previous", "pending", "backup", ... (copies that do not run)."""

    id: str  # FirmwareInventory member id, e.g. BMC, GPU0, Installed-159-1.8.2__BIOS.Setup.1-1
    name: str = ""
    version: str = ""
    updateable: bool = True
    key: str = ""  # identity; defaults to id
    role: str = "active"
    uri: str = ""  # the member's @odata.id (Targets need the URI)

    @model_validator(mode="after")
    def _default_key(self) -> FirmwareComponent:
        if not self.key:
            object.__setattr__(self, "key", self.id)
        return self

    @property
    def active(self) -> bool:
        return self.role == "active"


class SystemInfo(_Model):
    power_state: str = ""  # On, Off, PoweringOn, PoweringOff
    boot_source_override_target: str = ""
    boot_source_override_enabled: str = ""
    model: str = ""
    bios_version: str = ""


class ManagerInfo(_Model):
    """The BMC that manages a node's host system (found through the system's Links.ManagedBy)."""

    id: str = ""
    firmware_version: str = ""
    model: str = ""


class TaskStatus(_Model):
    """A Redfish task. ``state``: New, Starting, Running, Completed, Exception, Killed, Cancelled, ..."""

    uri: str
    state: str
    percent: int | None = None
    messages: tuple[str, ...] = ()
    reset_required: bool = False
    health: str = "OK"  # TaskStatus: OK, Warning, Critical (Completed + Critical = failed)
    reset_type: str | None = None  # the ResetType a ResetRequired message asks for

    @property
    def finished(self) -> bool:
        return self.state in ("Completed", "Exception", "Killed", "Cancelled", "Interrupted")

    @property
    def succeeded(self) -> bool:
        return self.state == "Completed" and self.health != "Critical"

    @property
    def awaiting_reset(self) -> bool:
        """Not finished, but only a reset will move it on (iDRAC-style jobs that apply at reboot)."""
        return not self.finished and self.reset_required


class UpdatePath(_Model):
    """How a BMC takes firmware, read from its UpdateService (never assumed)."""

    simple_update: str | None = None  # Actions.#UpdateService.SimpleUpdate.target
    multipart: str | None = None  # MultipartHttpPushUri
    protocols: tuple[str, ...] = ()  # TransferProtocol@Redfish.AllowableValues (empty: not stated)
    inventory: str = "/redfish/v1/UpdateService/FirmwareInventory"

    @property
    def method(self) -> str | None:
        """How an image goes in when nothing else is known: SimpleUpdate where offered, else a push."""
        return "simple" if self.simple_update else ("multipart" if self.multipart else None)

    def method_for(self, image_uri: str) -> str | None:
        """SimpleUpdate where the BMC offers it (the BMC fetches the image), except that a ``.fwpkg``
        bundle goes by MultipartHttpPushUri where there is one (NVIDIA's procedure for HGX baseboard
        packages, with UpdateParameters.Targets); a push when that is all the BMC takes."""
        if self.multipart and (not self.simple_update or image_uri.split("?", 1)[0].lower().endswith(".fwpkg")):
            return "multipart"
        return self.method


# ---------------------------------------------------------------- SSH


class CommandResult(_Model):
    """One command on one host. ``error`` is set when the command could not run at all
    (unreachable, auth failure, timeout); then ``exit_status`` is None."""

    host: str
    argv: tuple[str, ...]
    exit_status: int | None = None
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and self.exit_status == 0


# ---------------------------------------------------------------- Prometheus


class Sample(_Model):
    labels: dict[str, str]
    value: float
    timestamp: float


class Series(_Model):
    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]  # (unix time, value)


class Silence(BaseModel):
    """An Alertmanager silence (API v2), as dcops reads it back."""

    model_config = ConfigDict(defer_build=True)  # built on first use, as _Model

    id: str
    state: str  # active | pending | expired
    matchers: dict[str, str] = {}  # equality matchers only
    created_by: str = ""
    comment: str = ""
    starts_at: str = ""
    ends_at: str = ""
