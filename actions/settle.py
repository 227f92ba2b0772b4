"""What a stopped run left behind: one final state per target, and the nodes left out of service.

A rolling firmware update or a reimage takes nodes out of service as a side step; stopping it
halfway must not leave an operator guessing which nodes are still drained with the rollout's
reason. After a cancel the engine asks Slurm (the source of truth, not the run's last events)
and gives every target exactly one of:

- ``done``          the target finished before the stop
- ``failed``        the target failed (a failed node is left drained with the reason where it stopped)
- ``left drained``  the run drained it and the stop came before it returned it to service
- ``not started``   nothing was changed on it

The nodes left out of service get one follow-up, ``resume HOSTLIST``, which the front ends offer
as one key / one button and which runs through the engine like any other request (audited).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from .events import Result, Step
from .hostlists import collapse

log = logging.getLogger("dcops.settle")

DONE, FAILED, LEFT_DRAINED, NOT_STARTED = "done", "failed", "left drained", "not started"
FINAL_STATES = (DONE, FAILED, LEFT_DRAINED, NOT_STARTED)
# how a final state shows as a per-target step status (the closed set the event model knows)
STEP_STATUS = {DONE: "ok", FAILED: "failed", LEFT_DRAINED: "cancelled", NOT_STARTED: "skipped"}


def drained_by(reason: str, run_id: str) -> bool:
    """Every drain reason a run writes names its run id (``... (run r2026...)``); a drain someone
    else set is not ours to resume."""
    return bool(run_id) and run_id in (reason or "")


def final_states(
    targets: Sequence[str], steps: Mapping[str, Step], drained: Mapping[str, str], run_id: str
) -> dict[str, tuple[str, str]]:
    """target -> (final state, detail). ``steps``: the latest step per target; ``drained``: node ->
    drain reason for the targets Slurm shows drained or draining now."""
    out: dict[str, tuple[str, str]] = {}
    for t in targets:
        step = steps.get(t)
        reason = drained.get(t)
        ours = reason is not None and drained_by(reason, run_id)
        if step is not None and step.status == "failed":
            out[t] = (FAILED, step.detail + ("; left drained" if ours and "left drained" not in step.detail else ""))
        elif ours:
            where = f" (stopped after: {step.detail})" if step is not None and step.detail else ""
            out[t] = (LEFT_DRAINED, f"out of service: {reason}{where}")
        elif step is not None and step.status == "ok":
            out[t] = (DONE, step.detail)
        else:
            out[t] = (NOT_STARTED, "stopped before it changed anything")
    return out


def leftovers(states: Mapping[str, tuple[str, str]], drained: Mapping[str, str], run_id: str) -> list[str]:
    """Nodes this run left out of service (left drained, or failed and drained by the run)."""
    return [
        t
        for t, (state, _) in states.items()
        if state == LEFT_DRAINED or (state == FAILED and drained_by(drained.get(t, ""), run_id))
    ]


def resume_command(nodes: Sequence[str]) -> str:
    return f"resume {collapse(nodes)}" if nodes else ""


def settle_result(action: str, states: Mapping[str, tuple[str, str]], left: Sequence[str], stopped_by: str) -> Result:
    counts = {s: sum(1 for st, _ in states.values() if st == s) for s in FINAL_STATES}
    summary = f"{action} stopped by {stopped_by}: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    if left:
        summary += f"; out of service: {collapse(left)} (resume them: `{resume_command(left)}`)"
    from .result_models import SettledRow  # here: only a stopped run's result imports the row models

    rows = [SettledRow(node=t, final_state=state, detail=detail) for t, (state, detail) in states.items()]
    return Result(
        summary=summary,
        ok=False,
        rows=rows,
        row_model=SettledRow,
        title="where the stop left each target",
        data={
            "states": {t: s for t, (s, _) in states.items()},
            "left_out_of_service": list(left),
            "resume": resume_command(left),
            "stopped_by": stopped_by,
        },
    )


async def drained_now(slurm: object, nodes: Sequence[str], timeout: float = 15.0) -> dict[str, str]:
    """node -> reason for the nodes Slurm shows drained/draining; {} when Slurm cannot answer (the
    result then says nothing was left drained only for what the run's own events show)."""
    if not nodes:
        return {}
    try:
        infos = await asyncio.wait_for(slurm.nodes(list(nodes)), timeout)  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - the run is over; a slow or down Slurm must not hide the result
        log.warning("could not read node states after a stop: %s", exc)
        return {}
    return {n.name: n.reason or "" for n in infos if n.drain_flag and n.name in set(nodes)}


def resume_in(summary: str) -> str:
    """The `resume HOSTLIST` step a stop's summary offers ('' when it left nothing out of service);
    how a console follows a run another process stopped, knowing only its audit record."""
    start = summary.find("(resume them: `")
    if start < 0:
        return ""
    rest = summary[start + len("(resume them: `") :]
    return rest.split("`", 1)[0]
