"""SimCluster: the whole simulated GPU cluster's state, its clock and its event queue.

Time is simulated: ``now()`` is the injected clock scaled by ``time_scale`` from the moment of
construction, so tests move a manual clock and the demo can run faster than real time. Nothing
runs in the background: every port call first ``advance()``s the cluster, which replays the timed
events that have come due (jobs ending, reboots finishing, update tasks completing) and then lets
the scheduler start pending jobs on freed nodes. That keeps the simulator deterministic and free
of threads, and a 10,000-node cluster costs nothing while nobody looks at it.
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections.abc import Callable, Iterable
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from ..errors import BackendError
from .scenario import GPUS_PER_NODE, IMAGE_INSTALLED, IMAGE_PXE, Layout, Story, rand01
from .state import SimJob, SimNode
from .workload import arrival_gap, arriving_job, initial_workload

MIN_JOB_AGE = 300.0  # finished jobs stay visible this long (Slurm's MinJobAge default)
SCHED_INTERVAL = 60.0  # while replaying a long stretch, schedule at most this often (Slurm's sched_interval)
REQUEUE_DELAY = 30.0  # a requeued job is eligible again after this (reason BeginTime)
SLURMD_TIMEOUT = 300.0  # a resumed node that is still hung goes down again after this

if TYPE_CHECKING:
    from ..backends.bundle import Backends
    from .firmware import SimTask

Event = Callable[[float], None]


class SimCluster:
    """All simulated state. ``backends()`` hands out one port object per backend, all sharing it."""

    def __init__(
        self,
        nodes: int = 64,
        seed: int = 7,
        time_scale: float = 1.0,
        clock: Callable[[], float] | None = None,
        story: Story | None = None,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.clock: Callable[[], float] = clock or time.time
        self.time_scale = time_scale
        self.seed = seed
        self._clock0 = self.clock()
        self.epoch = float(self._clock0)  # simulated unix time at construction
        self.layout = Layout.build(nodes, seed, story)
        self.story = self.layout.story
        self.pxe_image = IMAGE_PXE  # what a PXE reinstall puts on a node
        self.nodes: dict[str, SimNode] = {}
        self.jobs: dict[str, SimJob] = {}
        self.tasks: dict[str, SimTask] = {}  # Redfish task URI -> update task
        self.cache: dict[str, Any] = {}  # derived state the port modules fill lazily
        self._events: list[tuple[float, int, Event]] = []
        self._seq = itertools.count()
        self._dirty = False
        self._last_pass = float("-inf")
        self._queue: list[SimJob] = []  # jobs that were pending at some point (pruned on each pass)
        self._room: set[str] = set()  # nodes with a free GPU (kept by _set_alloc)
        self._build()

    # ------------------------------------------------------------------ build

    def _build(self) -> None:
        layout, story, now = self.layout, self.story, self.epoch
        for i, name in enumerate(layout.names, start=1):
            boot_age = 86400 * (3 + 40 * rand01(self.seed, name, "uptime"))
            self.nodes[name] = SimNode(
                index=i,
                name=name,
                partition=layout.partition(i),
                rack=layout.rack(i),
                booted_at=now - boot_age,
                image=IMAGE_INSTALLED,
            )
        if layout.has(story.down):
            node = self.nodes[layout.name(story.down)]
            node.down = node.not_responding = node.hung = True
            node.os_up = False
            node.os_down_at = now - 1500
            node.reason = "Not responding"
        if layout.has(story.drained):
            node = self.nodes[layout.name(story.drained)]
            node.drain = True
            node.reason = story.drained_reason
        if layout.has(story.xid):
            self.nodes[layout.name(story.xid)].lost_gpus = (story.xid_gpu,)
        placements, pending = initial_workload(layout, now)
        self._room = set(self.nodes)
        for placement in placements:
            job = placement.job
            job.nodes = tuple(layout.name(i) for i in placement.indices)
            self.jobs[job.job_id] = job
            for name in job.nodes:
                node = self.nodes[name]
                node.alloc[job.job_id] = job.gpus_per_node
                node.gpus_before = node.gpus_used
                if node.gpus_before >= GPUS_PER_NODE:
                    self._room.discard(name)
            self._arm_job_end(job)
        for job in pending:
            self.add_job(job)
        self._next_job_id = max((int(j) for j in self.jobs), default=48212) + 1
        self._schedule(now)  # settles the queue's reasons (Resources, Priority, ...)
        self._arrivals = random.Random(f"{self.seed}:arrivals")
        self._arrived = 0
        self.after(arrival_gap(self._arrivals, layout), self._arrive, at=now)

    def _arrive(self, t: float) -> None:
        """A user submits a job; the next submission is armed from here (a Poisson stream)."""
        self._arrived += 1
        self.add_job(arriving_job(self._arrivals, self.layout, self.new_job_id(), t, self._arrived))
        self.after(arrival_gap(self._arrivals, self.layout), self._arrive, at=t)

    # ------------------------------------------------------------------ time and events

    def now(self) -> float:
        """Simulated unix time."""
        return self.epoch + (self.clock() - self._clock0) * self.time_scale

    def after(self, seconds: float, fn: Event, *, at: float | None = None) -> None:
        """Run ``fn(t)`` once simulated time passes ``(at or now) + seconds``."""
        base = self.now() if at is None else at
        heapq.heappush(self._events, (base + seconds, next(self._seq), fn))

    def advance(self) -> float:
        """Replay due events in time order, schedule pending jobs; returns the current time."""
        now = self.now()
        while self._events and self._events[0][0] <= now:
            t, _, fn = heapq.heappop(self._events)
            fn(t)
            if self._dirty and t - self._last_pass >= SCHED_INTERVAL:
                self._schedule(t)
        if self._dirty:
            self._schedule(now)
        return now

    @cached_property
    def drift(self) -> dict[int, str]:
        """Node index -> how its firmware differs from the baseline (computed on first use)."""
        return self.layout.drifted()

    # ------------------------------------------------------------------ lookups

    def node(self, name: str, backend: str = "sim") -> SimNode:
        node = self.nodes.get(name)
        if node is None:
            raise BackendError(f"{backend}: unknown node {name!r}")
        return node

    def nodes_named(self, names: Iterable[str], backend: str) -> list[SimNode]:
        names = list(names)
        unknown = [n for n in names if n not in self.nodes]
        if unknown:
            raise BackendError(f"{backend}: unknown node{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
        return [self.nodes[n] for n in names]

    def job(self, job_id: str, backend: str = "slurm") -> SimJob:
        job = self.jobs.get(str(job_id))
        if job is None:
            raise BackendError(f"{backend}: invalid job id {job_id}")
        return job

    def add_job(self, job: SimJob) -> None:
        """Register a pending job (submitted or requeued) with the scheduler."""
        self.jobs[job.job_id] = job
        self._queue.append(job)
        self._dirty = True

    def visible_jobs(self, now: float) -> list[SimJob]:
        return [
            j
            for j in self.jobs.values()
            if not j.finished or (j.end_time is not None and now - j.end_time <= MIN_JOB_AGE)
        ]

    # ------------------------------------------------------------------ jobs

    def _arm_job_end(self, job: SimJob) -> None:
        assert job.start_time is not None
        started, restarts = job.start_time, job.restarts

        def end(t: float) -> None:
            if job.state == "RUNNING" and job.start_time == started and job.restarts == restarts:
                self.end_job(job, t, "FAILED" if job.fails else "COMPLETED", "1:0" if job.fails else "0:0")

        self.after(min(job.run_seconds, job.time_limit), end, at=started)

    def _set_alloc(self, node: SimNode, t: float, job_id: str, gpus: int | None) -> None:
        node.gpus_before = node.gpus_used_at(t)
        node.alloc_changed_at = t
        if gpus is None:
            node.alloc.pop(job_id, None)
        else:
            node.alloc[job_id] = gpus
        if node.gpus_used < GPUS_PER_NODE:
            self._room.add(node.name)
        else:
            self._room.discard(node.name)

    def end_job(self, job: SimJob, t: float, state: str, exit_code: str = "0:0") -> None:
        for name in job.nodes:
            self._set_alloc(self.nodes[name], t, job.job_id, None)
        job.state, job.end_time, job.exit_code = state, t, exit_code
        job.reason = "None"
        self._dirty = True

    def start_job(self, job: SimJob, nodes: list[SimNode], t: float) -> None:
        job.state, job.start_time, job.end_time, job.reason = "RUNNING", t, None, "None"
        job.nodes = tuple(n.name for n in nodes)
        for node in nodes:
            self._set_alloc(node, t, job.job_id, job.gpus_per_node)
        self._arm_job_end(job)

    def requeue_job(self, job: SimJob, t: float) -> None:
        if job.state == "RUNNING":
            for name in job.nodes:
                self._set_alloc(self.nodes[name], t, job.job_id, None)
        job.state, job.restarts = "PENDING", job.restarts + 1
        job.start_time = job.end_time = None
        job.last_nodes = job.nodes or job.last_nodes
        job.nodes, job.exit_code, job.reason = (), "", "BeginTime"
        job.eligible_at = t + REQUEUE_DELAY
        self.add_job(job)
        self.after(REQUEUE_DELAY, self._mark_dirty, at=t)

    def _mark_dirty(self, t: float) -> None:
        self._dirty = True

    def wake(self) -> None:
        """Ask for a scheduler pass at the next ``advance()`` (something freed or released)."""
        self._dirty = True

    def fail_node_jobs(self, node: SimNode, t: float) -> None:
        for job_id in list(node.alloc):
            self.end_job(self.jobs[job_id], t, "NODE_FAIL", "0:0")

    def schedulable(self, node: SimNode) -> bool:
        return not (node.drain or node.down or node.not_responding or not node.os_up or node.power != "On")

    def _schedule(self, t: float) -> None:
        """Start pending jobs in priority order per partition, no backfill: the first job that
        does not fit waits for Resources and everything behind it for Priority."""
        self._dirty, self._last_pass = False, t
        self._queue = list({id(j): j for j in self._queue if j.state == "PENDING"}.values())
        by_partition: dict[str, list[SimJob]] = {}
        for job in self._queue:
            by_partition.setdefault(job.partition, []).append(job)
        for partition, queue in by_partition.items():
            queue.sort(key=lambda j: (-j.priority, int(j.job_id)))
            roomy = sorted((self.nodes[name] for name in self._room), key=lambda n: n.index)
            free = {
                n.name: GPUS_PER_NODE - n.gpus_used for n in roomy if n.partition == partition and self.schedulable(n)
            }
            blocked = False
            for job in queue:
                if job.held:
                    job.reason = "JobHeldUser"
                    continue
                if job.depends_on is not None:
                    dep = self.jobs.get(job.depends_on)
                    if dep is not None and dep.state != "COMPLETED":
                        job.reason = "DependencyNeverSatisfied" if dep.finished else "Dependency"
                        continue
                if job.eligible_at > t:
                    job.reason = "BeginTime"
                    continue
                if blocked:
                    job.reason = "Priority"
                    continue
                fit = self._fit(job, free)
                if fit is None:
                    job.reason, blocked = "Resources", True
                    continue
                for name in fit:
                    free[name] -= job.gpus_per_node
                    if free[name] <= 0:
                        del free[name]
                self.start_job(job, [self.nodes[name] for name in fit], t)

    @staticmethod
    def _fit(job: SimJob, free: dict[str, int]) -> list[str] | None:
        """Nodes with room for the job, its previous nodes first (a requeued job goes back home)."""
        previous = [n for n in job.last_nodes if free.get(n, 0) >= job.gpus_per_node]
        chosen = previous[: job.node_count]
        for name, gpus in free.items():
            if len(chosen) == job.node_count:
                break
            if gpus >= job.gpus_per_node and name not in chosen:
                chosen.append(name)
        return chosen if len(chosen) == job.node_count else None

    def new_job_id(self) -> str:
        job_id = str(self._next_job_id)
        self._next_job_id += 1
        return job_id

    # ------------------------------------------------------------------ Slurm node admin

    def drain(self, node: SimNode, reason: str) -> None:
        node.drain, node.reason = True, reason

    def resume(self, node: SimNode, t: float) -> None:
        node.drain = False
        if node.down:
            node.down = False
            if node.hung or not node.os_up:  # slurmd still silent: back to down after the timeout

                def redown(at: float, node: SimNode = node) -> None:
                    if (node.hung or not node.os_up) and not node.down:
                        node.down, node.not_responding, node.reason = True, True, "Not responding"

                self.after(SLURMD_TIMEOUT, redown, at=t)
        node.reason = ""
        self._dirty = True

    # ------------------------------------------------------------------ ports

    def backends(self) -> Backends:
        """Every port, backed by this cluster, plus the fabric topology in ``extras``: the link
        list (``fabric_links``), a counters reader per endpoint (``fabric_counters``) and the
        cluster itself (``sim``). Every call shares this cluster's state."""
        from ..backends.bundle import Backends
        from ..backends.registry import registered
        from .fabric import fabric_links, port_counters
        from .inventory import SimInventory

        if "fabric_links" not in self.cache:
            self.cache["fabric_links"] = fabric_links(self.layout)
        backends = Backends(
            inventory=SimInventory(self),
            extras={
                "fabric_links": self.cache["fabric_links"],
                "fabric_counters": lambda endpoint, at=None: port_counters(self, endpoint, at),
                "sim": self,
            },
        )
        for spec in registered():  # every registered backend that has a simulator, built when first asked for
            if spec.simulate is not None:
                backends.put_lazy(spec.port, partial(spec.simulate, self))
        return backends
