"""Slurm's output turned into dcops models: ``sinfo``/``squeue`` delimited text and the v0.0.38
JSON that both ``squeue --json`` and slurmrestd 22.05 return.

Why text for nodes: on 22.05 every ``--json`` call loads the data-parser plugins and costs
~20-30 ms where the same ``sinfo -O`` text costs ~5 ms, and drain/resume read node state on their
hot path. The text format puts the only free-text field (the reason) last, so a ``|`` inside a
reason cannot shift the other columns. The v0.0.38 shapes relied on: docs/slurm.md.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from ..hostlists import expand
from .models import JobInfo, NodeInfo

# sinfo -N -O: one line per (node, partition); the reason last (it may contain the separator)
SINFO_FIELDS = (
    "NodeList",
    "StateComplete",
    "Partition",
    "Gres",
    "GresUsed",
    "CPUsState",
    "Memory",
    "AllocMem",
    "Features",
    "Reason",
)
SINFO_FORMAT = ",".join(f"{f}:|" if i < len(SINFO_FIELDS) - 1 else f"{f}:" for i, f in enumerate(SINFO_FIELDS))
# squeue: running / completing / suspended jobs and their nodes, for "jobs on this node"
SQUEUE_NODE_JOBS = ("-h", "-t", "R,CG,S", "-o", "%i|%N")

_GRES_ITEM = re.compile(r"^gpu(?::[^:()]+)?:(\d+)")


def gpu_count(gres: str) -> int:
    """GPUs in a GRES string like ``gpu:h100:8(S:0-1),shard:4`` or ``gpu:h100:2(IDX:0-1)``."""
    total = 0
    for item in re.split(r",(?![^(]*\))", gres or ""):
        m = _GRES_ITEM.match(item.strip())
        if m:
            total += int(m.group(1))
    return total


def _none(text: str) -> str:
    return "" if text in ("none", "(null)", "N/A") else text


def parse_sinfo(text: str) -> dict[str, NodeInfo]:
    """``sinfo -h -N -O SINFO_FORMAT`` -> node name -> NodeInfo (partitions merged; no jobs yet)."""
    nodes: dict[str, NodeInfo] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        cols = line.split("|", len(SINFO_FIELDS) - 1)
        if len(cols) != len(SINFO_FIELDS):
            continue
        name, states, partition, gres, gres_used, cpus_state, memory, mem_alloc, features, reason = (
            c.strip() for c in cols
        )
        base, *flags = states.split("+")
        partition = partition.rstrip("*")
        if name in nodes:
            old = nodes[name]
            if partition and partition not in old.partitions:
                nodes[name] = old.model_copy(update={"partitions": old.partitions + (partition,)})
            continue
        alloc, _idle, _other, total = (int(x) if x.isdigit() else 0 for x in (cpus_state.split("/") + ["0"] * 4)[:4])
        nodes[name] = NodeInfo.model_construct(  # every value typed here: no second validation
            name=name,
            state=base.lower().rstrip("*~#!%$@^-"),
            flags=tuple(f.upper() for f in flags),
            reason=_none(reason),
            partitions=(partition,) if partition else (),
            gres=_none(gres),
            gpus=gpu_count(gres),
            gpus_used=gpu_count(gres_used),
            cpus=total,
            cpus_alloc=alloc,
            memory_mb=int(memory) if memory.isdigit() else 0,
            memory_alloc_mb=int(mem_alloc) if mem_alloc.isdigit() else 0,
            features=tuple(f for f in _none(features).split(",") if f),
        )
    return nodes


def parse_node_jobs(text: str) -> dict[str, list[str]]:
    """``squeue SQUEUE_NODE_JOBS`` -> node name -> job ids running there."""
    by_node: dict[str, list[str]] = {}
    for line in text.splitlines():
        job_id, _, nodelist = line.strip().partition("|")
        if not job_id or not nodelist or nodelist.startswith("("):
            continue
        for node in expand(nodelist):
            by_node.setdefault(node, []).append(job_id)
    return by_node


# ------------------------------------------------------------------ v0.0.38 JSON


def _time(value: Any) -> datetime | None:
    if isinstance(value, dict):  # later API versions: {"set": true, "number": N}
        value = value.get("number") if value.get("set", True) else None
    if not value:
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def format_minutes(minutes: Any) -> str:
    """Slurm's time limit in minutes as ``[days-]hh:mm:ss``; None/unlimited as ``UNLIMITED``."""
    if isinstance(minutes, dict):
        minutes = minutes.get("number") if minutes.get("set", True) and not minutes.get("infinite") else None
    if minutes is None or minutes == 4294967295:
        return "UNLIMITED"
    days, rest = divmod(int(minutes) * 60, 86400)
    hours, rest = divmod(rest, 3600)
    clock = f"{hours:02d}:{rest // 60:02d}:00"
    return f"{days}-{clock}" if days else clock


def _job_gpus(job: dict[str, Any], node_count: int) -> int:
    alloc = job.get("tres_alloc_str") or ""
    m = re.search(r"gres/gpu=(\d+)", alloc)
    if m:
        return int(m.group(1))
    per_node = job.get("tres_per_node") or ""
    m = re.search(r"gres[:/]gpu(?::[^:,]+)?[:=](\d+)", per_node)
    return int(m.group(1)) * max(node_count, 1) if m else 0


def _exit_code(value: Any, state: str) -> str:
    if isinstance(value, dict):  # later versions: {"return_code": N, "signal": {...}}
        return f"{value.get('return_code', 0)}:{(value.get('signal') or {}).get('signal_id', 0)}"
    return f"{value}:0" if isinstance(value, int) else str(value or "")


def job_from_json(job: dict[str, Any]) -> JobInfo:
    job_id = str(job["job_id"])
    task = job.get("array_task_id")
    if isinstance(task, dict):
        task = task.get("number") if task.get("set") else None
    if task is not None and job.get("array_job_id"):
        job_id = f"{job['array_job_id']}_{task}"
    state = job.get("job_state") or ""
    if isinstance(state, list):
        state = state[0] if state else ""
    nodelist = job.get("nodes") or ""
    nodes = tuple(expand(nodelist)) if nodelist and not nodelist.startswith("(") else ()
    count = int(job.get("node_count") or len(nodes) or 0)
    if isinstance(job.get("node_count"), dict):
        count = int(job["node_count"].get("number") or len(nodes))
    return JobInfo(
        job_id=job_id,
        name=job.get("name") or "",
        user=job.get("user_name") or "",
        partition=job.get("partition") or "",
        state=state.upper(),
        nodes=nodes,
        node_count=count,
        gpus=_job_gpus(job, count),
        submit_time=_time(job.get("submit_time")),
        start_time=_time(job.get("start_time")),
        time_limit=format_minutes(job.get("time_limit")),
        reason=job.get("state_reason") or "",
        restarts=int(job.get("restart_cnt") or 0),
        exit_code=_exit_code(job.get("exit_code"), state),
    )


def node_from_json(node: dict[str, Any], jobs: list[str] | None = None) -> NodeInfo:
    state = node.get("state") or ""
    flags = tuple(node.get("state_flags") or ())
    if isinstance(state, list):  # later versions: ["IDLE", "DRAIN"]
        state, flags = (state[0] if state else ""), tuple(state[1:]) + flags
    return NodeInfo(
        name=node["name"],
        state=state.lower(),
        flags=tuple(f.upper() for f in flags),
        reason=node.get("reason") or "",
        partitions=tuple(node.get("partitions") or ()),
        gres=node.get("gres") or "",
        gpus=gpu_count(node.get("gres") or ""),
        gpus_used=gpu_count(node.get("gres_used") or ""),
        cpus=int(node.get("cpus") or 0),
        cpus_alloc=int(node.get("alloc_cpus") or 0),
        memory_mb=int(node.get("real_memory") or 0),
        memory_alloc_mb=int(node.get("alloc_memory") or 0),
        features=tuple(f for f in (node.get("features") or "").split(",") if f)
        if isinstance(node.get("features"), str)
        else tuple(node.get("features") or ()),
        jobs=tuple(jobs or ()),
    )


def node_jobs_from_json(jobs: list[JobInfo]) -> dict[str, list[str]]:
    by_node: dict[str, list[str]] = {}
    for job in jobs:
        if job.state in ("RUNNING", "COMPLETING", "SUSPENDED"):
            for node in job.nodes:
                by_node.setdefault(node, []).append(job.job_id)
    return by_node


# ------------------------------------------------------------------ scontrol -o -d show node

# key=value words; scontrol's values hold no spaces except OS= (uname, not read) and the reason
_SHOW_WORD = re.compile(r"(?:^|\s)([A-Za-z][A-Za-z_]*)=(\S*)")
# scontrol appends "[user@time]" to a node's reason (sinfo's Reason column does not): the LAST
# such stamp is Slurm's, an earlier one is part of the reason text
_REASON_STAMP = re.compile(r"\s\[[^\[\]@]*@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\]")


def _show_fields(line: str) -> dict[str, str]:
    """One ``scontrol -o`` line as key -> value (first word of a value with spaces, such as OS=).
    The reason, the only free text, comes last and is cut off first, so a ``Key=`` inside it
    cannot shift the other fields."""
    head, sep, reason = line.partition(" Reason=")
    fields = dict(_SHOW_WORD.findall(head))
    if sep:
        stamps = list(_REASON_STAMP.finditer(reason))
        fields["Reason"] = (reason[: stamps[-1].start()] if stamps else reason).strip()
    return fields


def natural_key(name: str) -> list[str | int]:
    """Sort key putting ``cn9`` before ``cn10`` before ``cn011``, sinfo's order of nodes."""
    return [int(p) if i % 2 else p for i, p in enumerate(re.split(r"(\d+)", name))]


def _int(text: str | None) -> int:
    return int(text) if text and text.isdigit() else 0


def parse_show_node(text: str) -> dict[str, NodeInfo]:
    """``scontrol -o -d show node`` lines -> node name -> NodeInfo, the same record
    :func:`parse_sinfo` makes from sinfo's columns (a lab test compares the two on every node).
    Lines that are not node records (scontrol's prompt, "Node x not found") are skipped."""
    nodes: dict[str, NodeInfo] = {}
    for line in text.splitlines():
        if not line.startswith("NodeName="):
            continue
        f = _show_fields(line)
        base, *flags = f.get("State", "UNKNOWN").split("+")
        gres = _none(f.get("Gres", ""))
        nodes[f["NodeName"]] = NodeInfo.model_construct(  # every value typed here: no second validation
            name=f["NodeName"],
            state=base.lower().rstrip("*~#!%$@^-"),
            flags=tuple(x.upper() for x in flags),
            reason=_none(f.get("Reason", "")),
            partitions=tuple(p for p in _none(f.get("Partitions", "")).split(",") if p),
            gres=gres,
            gpus=gpu_count(gres),
            gpus_used=gpu_count(_none(f.get("GresUsed", ""))),
            cpus=_int(f.get("CPUTot")),
            cpus_alloc=_int(f.get("CPUAlloc")),
            memory_mb=_int(f.get("RealMemory")),
            memory_alloc_mb=_int(f.get("AllocMem")),
            features=tuple(x for x in _none(f.get("AvailableFeatures", "")).split(",") if x),
        )
    return nodes
