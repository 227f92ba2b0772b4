"""The Slurm port over Slurm's own commands (sinfo, squeue, scontrol, scancel), run here or on the
controller over SSH (``[slurm] controller_ssh``).

Reads: node state from one long-lived ``scontrol`` (:mod:`slurm_session`: a fresh RPC per read
without starting a process; ``sinfo -O`` text when it is busy or the CLI runs over SSH) plus
``squeue`` for the jobs on each node, concurrently (see :mod:`slurm_parse` for why not ``--json``
there); jobs from ``squeue --json``. Writes: ``scontrol update NodeName=... State=DRAIN|RESUME|DOWN Reason=...``
(drain and resume through the long-lived ``scontrol`` when their words are provably safe on its stdin),
``scancel``, ``scontrol requeue|hold|release``. Every argument is validated
(:mod:`slurm_args`) and passed as its own argv word.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from ..backends.models import JobFilter, JobInfo, NodeInfo
from ..errors import BackendError
from ..hostlists import collapse, expand
from . import slurm_args as args
from .slurm_parse import (
    SINFO_FORMAT,
    SQUEUE_NODE_JOBS,
    job_from_json,
    natural_key,
    parse_node_jobs,
    parse_show_node,
    parse_sinfo,
)
from .slurm_runner import LocalRunner, Output, Runner, check
from .slurm_session import ScontrolSession

ACTIVE_STATES = frozenset(
    {
        "PENDING",
        "RUNNING",
        "SUSPENDED",
        "COMPLETING",
        "CONFIGURING",
        "REQUEUED",
        "REQUEUE_HOLD",
        "REQUEUE_FED",
        "RESIZING",
        "SIGNALING",
        "STAGE_OUT",
        "STOPPED",
    }
)


def matches(job: JobInfo, flt: JobFilter) -> bool:
    """squeue's filters, applied here: 22.05's ``--json`` ignores them. Without a state or job ids,
    finished jobs are left out (as squeue does)."""
    if flt.job_ids and job.job_id not in flt.job_ids:
        return False
    if flt.state is not None:
        if job.state != flt.state.upper():
            return False
    elif not flt.job_ids and job.state not in ACTIVE_STATES:
        return False
    return (
        (flt.user is None or job.user == flt.user)
        and (flt.partition is None or job.partition == flt.partition)
        and (flt.node is None or flt.node in job.nodes)
    )


class SlurmCli:
    """Implements :class:`~dcops.actions.backends.ports.SlurmPort`. ``runner`` decides where commands run."""

    def __init__(self, runner: Runner, *, where: str = "", closer: object = None) -> None:
        self.run = runner
        self.where = f" on {where}" if where else ""
        self._closer = closer  # the SSH adapter of controller mode, closed with us
        # node reads through one long-lived scontrol when the CLI runs here (not over SSH)
        self.session = (
            ScontrolSession(timeout=runner.timeout, env=runner.env, bin_dir=runner.bin_dir)
            if isinstance(runner, LocalRunner)
            else None
        )

    async def _call(self, argv: list[str]) -> Output:
        return check(argv, await self.run(argv), where=self.where)

    # ---------------------------------------------------------------- reads
    async def nodes(self, names: Sequence[str] | None = None, *, jobs: bool = True) -> list[NodeInfo]:
        hostlist: str | None = None
        if names is not None:
            if not names:
                return []
            lists = args.node_lists(names)
            if len(lists) == 1:  # else: read every node and pick (one call, no argv limit)
                hostlist = lists[0]
        if jobs:
            found, jobs_out = await asyncio.gather(
                self._node_states(hostlist), self._call(["squeue", *SQUEUE_NODE_JOBS])
            )
            on_node = parse_node_jobs(jobs_out.stdout)
        else:
            found, on_node = await self._node_states(hostlist), {}
        order = list(names) if names is not None else sorted(found, key=natural_key)
        return [
            found[n].model_copy(update={"jobs": tuple(on_node[n])}) if n in on_node else found[n]
            for n in order
            if n in found
        ]

    async def _node_states(self, hostlist: str | None) -> dict[str, NodeInfo]:
        """State, reason and resources of the nodes (all when ``hostlist`` is None), read fresh:
        through the long-lived scontrol when it is free, else one ``sinfo``."""
        if self.session is not None:
            out = await self.session.show_nodes(hostlist)
            if out is not None:
                return parse_show_node(out.stdout)
        sinfo = ["sinfo", "-h", "-N", "-O", SINFO_FORMAT] + (["-n", hostlist] if hostlist else [])
        return parse_sinfo((await self._call(sinfo)).stdout)

    async def jobs(self, filter: JobFilter | None = None) -> list[JobInfo]:
        flt = filter or JobFilter()
        out = await self._call(["squeue", "--json"])
        try:
            raw = json.loads(out.stdout)["jobs"]
        except (ValueError, KeyError, TypeError):
            raise BackendError(f"slurm: squeue --json{self.where} printed something that is not its JSON") from None
        jobs = [job_from_json(j) for j in raw]
        return [j for j in jobs if matches(j, flt)]

    # ---------------------------------------------------------------- nodes
    async def _update(self, nodes: Sequence[str], state: str, reason: str | None = None) -> None:
        """``scontrol update NodeName=LIST State=...``, one call per chunk of the node list (a
        list of irregular names does not collapse and can outgrow a command line). When a chunk
        fails, the error says which nodes the earlier chunks already changed."""
        why = args.reason(reason) if reason is not None else None
        done: list[str] = []
        for hostlist in args.node_lists(nodes):
            try:
                await self._update_one(hostlist, state, why)
            except BackendError as exc:
                if not done:
                    raise
                raise type(exc)(f"{exc} (State={state} was already set on {collapse(done)})") from None
            done += expand(hostlist, limit=len(nodes))

    async def _update_one(self, hostlist: str, state: str, reason: str | None) -> None:
        """Through the long-lived scontrol when it takes these words safely, else one process."""
        if self.session is not None and await self.session.update_nodes(hostlist, state, reason) is not None:
            return
        extra = [f"Reason={reason}"] if reason is not None else []
        await self._call(["scontrol", "update", f"NodeName={hostlist}", f"State={state}", *extra])

    async def drain(self, nodes: Sequence[str], reason: str) -> None:
        await self._update(nodes, "DRAIN", reason)

    async def resume(self, nodes: Sequence[str]) -> None:
        """Return nodes to service. scontrol refuses the whole call ("Invalid node state specified")
        when one node is already in service, after resuming the others: then it is a success if
        every node is in service now (checked per chunk of the node list)."""
        for hostlist in args.node_lists(nodes):
            try:
                await self._update_one(hostlist, "RESUME", None)
            except BackendError as exc:
                if "Invalid node state" not in str(exc):
                    raise
                chunk = expand(hostlist, limit=len(nodes))
                still = [n.name for n in await self.nodes(chunk) if n.drain_flag or n.state in ("down", "fail")]
                if still:
                    raise BackendError(f"slurm: could not resume {collapse(still)}: {exc}") from None

    # ---------------------------------------------------------------- jobs
    async def cancel(self, job_ids: Sequence[str], signal: str | None = None) -> None:
        """scancel exits 0 even when it refused a job (unknown id, already finished) and says so
        only with ``-v``: run it verbose and treat its ``error:`` lines as failures."""
        argv = ["scancel", "-v"]
        if signal:
            argv += [f"--signal={args.signal_name(signal)}", "--full"]
        out = await self._call([*argv, *args.job_ids(job_ids)])
        errors = [ln.split("error:", 1)[1].strip() for ln in out.stderr.splitlines() if "error:" in ln]
        if errors:
            raise BackendError(f"slurm: scancel{self.where}: {'; '.join(errors)}")

    async def requeue(self, job_ids: Sequence[str]) -> None:
        await self._call(["scontrol", "requeue", ",".join(args.job_ids(job_ids))])

    async def hold(self, job_ids: Sequence[str]) -> None:
        await self._call(["scontrol", "hold", ",".join(args.job_ids(job_ids))])

    async def release(self, job_ids: Sequence[str]) -> None:
        await self._call(["scontrol", "release", ",".join(args.job_ids(job_ids))])

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.aclose()
        close = getattr(self._closer, "aclose", None)
        if close is not None:
            await close()
