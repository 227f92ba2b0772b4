"""The Slurm port over pyslurm (Slurm's C API through Cython), for sites on Slurm 25.11.

pyslurm on PyPI exists only for Slurm 25.11 (it refuses other versions with "Slurm version
mismatch"), so this adapter is for those sites; the lab runs 22.05, where the CLI and REST adapters
are the tested ones and this adapter's tests skip when pyslurm cannot be imported.

pyslurm's calls block (they are RPCs to slurmctld), so each runs in a worker thread bounded by
``timeout``; a call that times out leaves its thread to finish on its own, but the caller gets a
clear error at once. pyslurm raises ``RPCError`` with slurmctld's message, which becomes a
:class:`BackendError`.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from ..errors import BackendError, BackendUnavailable, UsageError
from ..hostlists import expand
from . import slurm_args as args
from .models import JobFilter, JobInfo, NodeInfo
from .slurm_cli import matches
from .slurm_parse import format_minutes, gpu_count

T = TypeVar("T")


def load_pyslurm() -> Any:
    """Import pyslurm or say in one line why this site cannot use the pyslurm adapter."""
    try:
        return importlib.import_module("pyslurm")
    except ImportError as exc:
        raise BackendUnavailable(
            f'slurm: [slurm] mode = "pyslurm" needs pyslurm built for this site\'s Slurm (25.11): {exc}'
        ) from None


def _gres_text(value: Any) -> str:
    if isinstance(value, dict):  # pyslurm: {"gpu:h100": 8} or {"gpu": {"h100": 8}}
        parts = []
        for name, count in value.items():
            if isinstance(count, dict):
                parts += [f"{name}:{t}:{c}" for t, c in count.items()]
            else:
                parts.append(f"{name}:{count}")
        return ",".join(parts)
    return str(value or "")


def _time(raw: Any) -> datetime | None:
    return datetime.fromtimestamp(int(raw), tz=UTC) if isinstance(raw, (int, float)) and raw > 0 else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def node_from_pyslurm(node: Any, jobs: Sequence[str] = ()) -> NodeInfo:
    base, *flags = str(node.state or "UNKNOWN").split("+")
    gres = _gres_text(getattr(node, "configured_gres", ""))
    used = _gres_text(getattr(node, "allocated_gres", None) or getattr(node, "alloc_gres", ""))
    return NodeInfo(
        name=node.name,
        state=base.lower(),
        flags=tuple(f.upper() for f in flags),
        reason=node.reason or "",
        partitions=tuple(node.partitions or ()),
        gres=gres,
        gpus=gpu_count(gres),
        gpus_used=gpu_count(used),
        cpus=int(node.total_cpus or 0),
        cpus_alloc=int(getattr(node, "allocated_cpus", None) or getattr(node, "alloc_cpus", 0) or 0),
        memory_mb=int(getattr(node, "real_memory_raw", None) or 0)
        if not isinstance(getattr(node, "real_memory", None), int)
        else int(node.real_memory),
        memory_alloc_mb=_int(getattr(node, "allocated_memory", None) or getattr(node, "alloc_memory", 0)),
        features=tuple(getattr(node, "available_features", None) or ()),
        jobs=tuple(jobs),
    )


def job_from_pyslurm(job: Any) -> JobInfo:
    nodelist = getattr(job, "allocated_nodes", None) or ""
    nodes = tuple(expand(nodelist)) if nodelist else ()
    limit = getattr(job, "time_limit", None)
    return JobInfo(
        job_id=str(job.id),
        name=job.name or "",
        user=getattr(job, "user_name", "") or "",
        partition=job.partition or "",
        state=str(job.state or "").upper(),
        nodes=nodes,
        node_count=int(getattr(job, "num_nodes", None) or len(nodes)),
        submit_time=_time(getattr(job, "submit_time_raw", None) or getattr(job, "submit_time", None)),
        start_time=_time(getattr(job, "start_time_raw", None) or getattr(job, "start_time", None)),
        time_limit=format_minutes(limit) if isinstance(limit, int) or limit is None else str(limit),
        reason=getattr(job, "state_reason", "") or "",
        restarts=int(getattr(job, "requeue_count", 0) or 0),
        exit_code=str(getattr(job, "exit_code", "") or ""),
    )


class SlurmPyslurm:
    """Implements :class:`~dcops.actions.backends.ports.SlurmPort` over pyslurm."""

    def __init__(self, *, timeout: float = 15.0, module: Any = None) -> None:
        self.ps = module if module is not None else load_pyslurm()
        self.timeout = timeout

    async def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.wait_for(asyncio.to_thread(fn), self.timeout)
        except TimeoutError:
            raise BackendUnavailable(
                f"slurm: {what} did not answer within {self.timeout:g} s (is slurmctld up?)"
            ) from None
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001 - pyslurm.RPCError and friends
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if "Unable to contact slurm controller" in msg:
                raise BackendUnavailable(f"slurm: slurmctld does not answer ({msg})") from None
            raise BackendError(f"slurm: {what} failed: {msg}") from None

    async def _jobs(self) -> list[JobInfo]:
        loaded = await self._call("loading jobs", self.ps.Jobs.load)
        return [job_from_pyslurm(j) for j in loaded.values()]

    async def nodes(self, names: Sequence[str] | None = None, *, jobs: bool = True) -> list[NodeInfo]:
        if names is not None:
            if not names:
                return []
            args.node_list(names)
        if jobs:
            loaded, all_jobs = await asyncio.gather(self._call("loading nodes", self.ps.Nodes.load), self._jobs())
        else:
            loaded, all_jobs = await self._call("loading nodes", self.ps.Nodes.load), []
        on_node: dict[str, list[str]] = {}
        for job in all_jobs:
            if job.state in ("RUNNING", "COMPLETING", "SUSPENDED"):
                for n in job.nodes:
                    on_node.setdefault(n, []).append(job.job_id)
        found = dict(loaded)
        order = list(names) if names is not None else list(found)
        return [node_from_pyslurm(found[n], on_node.get(n, ())) for n in order if n in found]

    async def jobs(self, filter: JobFilter | None = None) -> list[JobInfo]:
        flt = filter or JobFilter()
        return [j for j in await self._jobs() if matches(j, flt)]

    async def _update(self, nodes: Sequence[str], **changes: Any) -> None:
        if "reason" in changes:
            changes["reason"] = args.reason(changes["reason"])
        for hostlist in args.node_lists(nodes):
            await self._call(f"updating {hostlist}", partial(self._modify, hostlist, changes))

    def _modify(self, hostlist: str, changes: dict[str, Any]) -> None:
        self.ps.Node(hostlist).modify(self.ps.Node(**changes))

    async def drain(self, nodes: Sequence[str], reason: str) -> None:
        await self._update(nodes, state="DRAIN", reason=reason)

    async def resume(self, nodes: Sequence[str]) -> None:
        await self._update(nodes, state="RESUME")

    async def _each(self, verb: str, job_ids: Sequence[str], fn: Callable[[Any], Any]) -> None:
        tasks = [j for j in args.job_ids(job_ids) if "_" in j]
        if tasks:  # pyslurm.Job(id) would act on the whole array
            raise UsageError(f'the pyslurm adapter cannot act on array task {tasks[0]}; use [slurm] mode = "cli"')
        await args.per_job(job_ids, lambda job: self._call(f"{verb} job {job}", lambda: fn(self.ps.Job(int(job)))))

    async def cancel(self, job_ids: Sequence[str], signal: str | None = None) -> None:
        if signal:
            sig = args.signal_name(signal)
            await self._each("signalling", job_ids, lambda j: j.send_signal(sig))
        else:
            await self._each("cancelling", job_ids, lambda j: j.cancel())

    async def requeue(self, job_ids: Sequence[str]) -> None:
        await self._each("requeueing", job_ids, lambda j: j.requeue())

    async def hold(self, job_ids: Sequence[str]) -> None:
        await self._each("holding", job_ids, lambda j: j.hold())

    async def release(self, job_ids: Sequence[str]) -> None:
        await self._each("releasing", job_ids, lambda j: j.release())
