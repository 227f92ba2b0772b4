"""The jobs a freshly built simulated cluster is running and queueing.

Most nodes busy (whole-node and multi-node training jobs, some nodes shared by half-node jobs),
a queue whose head waits for Resources and the rest for Priority, one job behind a Dependency and
one held by its user — what ``squeue`` shows on a healthy, full GPU cluster.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .scenario import BIG_JOB_NAMES, DEBUG_JOB_NAMES, GPUS_PER_NODE, SMALL_JOB_NAMES, USERS, Layout
from .state import SimJob

FIRST_JOB_ID = 48213
TIME_LIMITS = (4 * 3600, 12 * 3600, 24 * 3600, 48 * 3600)


@dataclass
class Placement:
    job: SimJob
    indices: list[int]


def _running(
    rng: random.Random,
    job_id: int,
    name: str,
    partition: str,
    count: int,
    gpus: int,
    now: float,
    ends_in: float | None = None,
) -> SimJob:
    limit = rng.choice(TIME_LIMITS) if partition == "gpu" else 2 * 3600
    elapsed = rng.uniform(0.05, 0.8) * limit
    remaining = ends_in if ends_in is not None else rng.uniform(min(900.0, limit - elapsed), limit - elapsed)
    start = now - elapsed
    job = SimJob(
        job_id=str(job_id),
        name=name,
        user=rng.choice(USERS),
        partition=partition,
        node_count=count,
        gpus_per_node=gpus,
        submit_time=start - rng.uniform(30, 7200),
        time_limit=limit,
        run_seconds=elapsed + remaining,
        priority=9_000 - (job_id - FIRST_JOB_ID) % 4_000,
        state="RUNNING",
        start_time=start,
        reason="None",
        fails=rng.random() < 0.04,
    )
    return job


def initial_workload(layout: Layout, now: float) -> tuple[list[Placement], list[SimJob]]:
    """Running jobs with the node indices they occupy, and the pending queue."""
    rng = random.Random(f"{layout.seed}:workload")
    story = layout.story
    reserved = {story.down, story.drained, *story.idle}
    placements: list[Placement] = []
    next_id = FIRST_JOB_ID
    gpu_nodes = [i for i in range(1, layout.debug_start) if i not in reserved]
    pos = 0
    while pos < len(gpu_nodes):
        i = gpu_nodes[pos]
        r = rng.random()
        ends_in = 240.0 if i == story.xid else None
        if r < 0.12 and ends_in is None:
            want = rng.choice((2, 4, 8))
            run = [gpu_nodes[p] for p in range(pos, min(pos + want, len(gpu_nodes)))]
            if story.xid in run:
                run = run[: run.index(story.xid)]
            if len(run) >= 2:
                job = _running(rng, next_id, rng.choice(BIG_JOB_NAMES), "gpu", len(run), GPUS_PER_NODE, now)
                placements.append(Placement(job, run))
                next_id += 1
                pos += len(run)
                continue
        if r < 0.70 or ends_in is not None:
            job = _running(rng, next_id, rng.choice(SMALL_JOB_NAMES), "gpu", 1, GPUS_PER_NODE, now, ends_in)
            placements.append(Placement(job, [i]))
            next_id += 1
        elif r < 0.90:
            for _ in range(2):
                job = _running(rng, next_id, rng.choice(SMALL_JOB_NAMES), "gpu", 1, 4, now)
                placements.append(Placement(job, [i]))
                next_id += 1
        else:
            job = _running(rng, next_id, rng.choice(SMALL_JOB_NAMES), "gpu", 1, rng.choice((2, 4)), now)
            placements.append(Placement(job, [i]))
            next_id += 1
        pos += 1
    for i in range(layout.debug_start, min(layout.count, layout.debug_start + story.debug_busy - 1) + 1):
        job = _running(rng, next_id, rng.choice(DEBUG_JOB_NAMES), "debug", 1, rng.choice((1, 2)), now)
        placements.append(Placement(job, [i]))
        next_id += 1
    return placements, _pending(rng, layout, next_id, now, placements)


def _pending(rng: random.Random, layout: Layout, next_id: int, now: float, placements: list[Placement]) -> list[SimJob]:
    gpu_size = layout.debug_start - 1
    if gpu_size < 1:
        return []
    idle = sum(1 for i in layout.story.idle if i < layout.debug_start)
    jobs: list[SimJob] = []
    count = max(4, layout.count // 10)
    for k in range(count):
        if k == 0:
            nodes = min(gpu_size, max(8, idle + 4))
            name = rng.choice(BIG_JOB_NAMES)
        else:
            nodes = min(gpu_size, rng.choice((1, 1, 1, 2, 4)))
            name = rng.choice(SMALL_JOB_NAMES if nodes == 1 else BIG_JOB_NAMES)
        limit = rng.choice(TIME_LIMITS)
        job = SimJob(
            job_id=str(next_id),
            name=name,
            user=rng.choice(USERS),
            partition="gpu",
            node_count=nodes,
            gpus_per_node=GPUS_PER_NODE,
            submit_time=now - rng.uniform(60, 5400),
            time_limit=limit,
            run_seconds=rng.uniform(0.2, 0.9) * limit,
            priority=5_000 - k,
            reason="Priority",
        )
        jobs.append(job)
        next_id += 1
    if len(jobs) >= 3 and placements:
        jobs[-2].depends_on = placements[0].job.job_id
        jobs[-2].reason = "Dependency"
        jobs[-1].held = True
        jobs[-1].user = "carol"
        jobs[-1].reason = "JobHeldUser"
    return jobs


def arriving_job(rng: random.Random, layout: Layout, job_id: str, now: float, serial: int) -> SimJob:
    """A job a user submits while the demo runs: mostly whole-node training in ``gpu``, some short
    interactive work in ``debug``; newer submissions rank below older ones, as Slurm's age factor does."""
    if rng.random() < 0.15 and layout.debug_start <= layout.count:
        return SimJob(
            job_id=job_id,
            name=rng.choice(DEBUG_JOB_NAMES),
            user=rng.choice(USERS),
            partition="debug",
            node_count=1,
            gpus_per_node=rng.choice((1, 2, 4)),
            submit_time=now,
            time_limit=2 * 3600,
            run_seconds=rng.uniform(600, 3600),
            priority=max(1, 4_000 - serial),
        )
    nodes = rng.choice((1, 1, 1, 1, 2, 2, 4))
    limit = rng.choice(TIME_LIMITS)
    return SimJob(
        job_id=job_id,
        name=rng.choice(SMALL_JOB_NAMES if nodes == 1 else BIG_JOB_NAMES),
        user=rng.choice(USERS),
        partition="gpu",
        node_count=min(nodes, max(1, layout.debug_start - 1)),
        gpus_per_node=GPUS_PER_NODE if rng.random() < 0.8 else 4,
        submit_time=now,
        time_limit=limit,
        run_seconds=rng.uniform(0.1, 0.9) * limit,
        priority=max(1, 4_000 - serial),
    )


def arrival_gap(rng: random.Random, layout: Layout) -> float:
    """Seconds until the next submission: about one every 17 minutes per 64 nodes, roughly what a
    full cluster of day-long jobs drains, so the queue neither empties nor explodes."""
    return rng.expovariate(layout.count / (64 * 1000.0))
