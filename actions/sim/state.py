"""Mutable state of one simulated node and one simulated job.

Plain slotted dataclasses (not pydantic) because the simulator mutates them constantly and a
10,000-node cluster must build in milliseconds; the ports convert them to the frozen models.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class SimNode:
    index: int
    name: str
    partition: str
    rack: str
    # Slurm
    down: bool = False
    not_responding: bool = False
    drain: bool = False
    reason: str = ""
    alloc: dict[str, int] = field(default_factory=dict)  # job id -> GPUs used on this node
    # busy history for metrics: GPUs in use before and after the last allocation change
    gpus_before: int = 0
    alloc_changed_at: float = 0.0
    # hardware / OS
    power: str = "On"  # On, Off, PoweringOn, PoweringOff
    os_up: bool = True  # sshd and slurmd answer
    hung: bool = False  # OS wedged: slurmd and sshd refuse until a reset
    booted_at: float = 0.0
    os_down_at: float = 0.0  # when the OS stopped answering (exporters stop reporting)
    image: str = ""
    boot_target: str = "None"
    boot_enabled: str = "Disabled"
    power_gen: int = 0  # bumps on every power transition; stale timed events check it
    lost_gpus: tuple[int, ...] = ()  # GPUs that fell off the bus (XID 79)
    gpu_faults: dict[int, str] = field(default_factory=dict)  # GPU -> DCGM diag test that fails on it
    nvlink_down: dict[int, tuple[int, ...]] = field(default_factory=dict)  # GPU -> inactive NVLinks
    firmware: dict[str, str] | None = None  # lazily filled from the baseline and drift
    staged: dict[str, str] = field(default_factory=dict)  # applied at the next reset
    # Kubernetes
    cordoned: bool = False

    @property
    def gpus_used(self) -> int:
        return sum(self.alloc.values())

    def gpus_used_at(self, t: float) -> int:
        return self.gpus_used if t >= self.alloc_changed_at else self.gpus_before


@dataclass(slots=True)
class SimJob:
    job_id: str
    name: str
    user: str
    partition: str
    node_count: int
    gpus_per_node: int
    submit_time: float
    time_limit: int  # seconds
    run_seconds: float  # how long it runs once started
    priority: int
    state: str = "PENDING"
    nodes: tuple[str, ...] = ()
    last_nodes: tuple[str, ...] = ()  # where it ran before a requeue (the scheduler prefers them)
    start_time: float | None = None
    end_time: float | None = None
    reason: str = "Priority"
    restarts: int = 0
    exit_code: str = ""
    held: bool = False
    eligible_at: float = 0.0
    depends_on: str | None = None
    fails: bool = False  # ends FAILED (exit 1) instead of COMPLETED

    @property
    def finished(self) -> bool:
        return self.state not in ("PENDING", "RUNNING", "COMPLETING", "SUSPENDED", "CONFIGURING")
