"""Cable triage: gather the evidence for a link's ends, judge it, and say what to do next.

Evidence per end:
- host port: counter growth over 12 / 125 min from Prometheus (node_exporter), and
  ``mlxlink -d DEV --show_ber`` plus ``ibstat DEV`` over SSH;
- switch port: counter growth from a switch counter source when the cluster has one
  (``backends.extras["fabric_counters"]``, e.g. the simulator's), else reported missing.
A source that fails for one end (no series for a port, SSH refused) never stops the triage: the
verdict is made from what is there and says what was missing. Prometheus itself being down is such a
missing source too, never a reason to call a link healthy: without counter growth on a host end
the best verdict is "unknown" (a fault seen over SSH is still reported as that fault).

Next actions are command lines in the shared grammar (``drain ...``, ``reset-counters ...``) that a
front end submits as a new request, so they go through RBAC, guards and audit like any other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..backends.models import JobFilter
from ..errors import DcopsError
from ..hostlists import collapse
from .counters import COUNTERS, PortGrowth, SwitchCounterSource, host_port_growth, prometheus_now, switch_port_growth
from .diag import parse_ibstat, parse_mlxlink
from .thresholds import CounterRules, ber_thresholds, isolation_limit
from .topology import Endpoint, Link, Topology
from .verdict import BAD_CABLE, BAD_PORT, DEGRADING, FLAPPING, HEALTHY, UNKNOWN, EndEvidence, Verdict, judge

SSH_TIMEOUT = 20.0


@dataclass
class Sources:
    """The backends triage reads; any may be missing (None) and is then reported, not fatal."""

    prometheus: Any
    ssh: Any = None
    slurm: Any = None
    switch_counters: SwitchCounterSource | None = None
    instance_map: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)


@dataclass
class Triage:
    verdict: Verdict
    jobs: dict[str, list[str]] = field(default_factory=dict)  # node -> running job ids
    jobs_missing: str | None = None
    next_actions: list[str] = field(default_factory=list)
    followups: list[str] = field(default_factory=list)
    ends: list[EndEvidence] = field(default_factory=list)

    def as_data(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "link": str(v.link),
            "a": str(v.link.a),
            "b": str(v.link.b),
            "verdict": v.kind,
            "suspect": str(v.suspect) if v.suspect else None,
            "evidence": v.evidence,
            "missing": v.missing,
            "jobs": self.jobs,
            "jobs_missing": self.jobs_missing,
            "next_actions": self.next_actions,
            "followups": self.followups,
            "score": round(v.score, 1),
            "ends": [_end_data(e) for e in self.ends],
        }


def _end_data(e: EndEvidence) -> dict[str, Any]:
    """One end's raw evidence for front ends (per-counter growth for a bar chart, mlxlink's BERs)."""
    growth = (
        None
        if e.growth is None
        else {f"{w // 60}m": {COUNTERS[c]: round(v, 3) for c, v in by.items()} for w, by in e.growth.by_window.items()}
    )
    return {
        "port": str(e.end),
        "growth": growth,
        "mlxlink": asdict(e.mlxlink) if e.mlxlink is not None else None,
        "ibstat": asdict(e.ibstat) if e.ibstat is not None else None,
    }


async def _ssh_evidence(ssh: Any, end: Endpoint) -> tuple[Any, Any, str | None]:
    if ssh is None:
        return None, None, "no ssh backend configured"
    mlx, ibs = await asyncio.gather(
        ssh.run(end.name, ["mlxlink", "-d", end.device, "--show_ber"], timeout=SSH_TIMEOUT),
        ssh.run(end.name, ["ibstat", end.device], timeout=SSH_TIMEOUT),
    )  # with a port number ibstat drops its headings
    problems = []
    mlxlink = parse_mlxlink(mlx.stdout) if mlx.ok else None
    ibstat = parse_ibstat(ibs.stdout).get((end.device or "", end.port)) if ibs.ok else None
    for name, res in (("mlxlink", mlx), ("ibstat", ibs)):
        if not res.ok:
            problems.append(
                f"{name}: {res.error or (res.stderr.strip().splitlines() or [f'exit {res.exit_status}'])[-1]}"
            )
    if mlx.error and mlx.error == ibs.error:
        problems = [f"ssh to {end.name}: {mlx.error}"]
    return mlxlink, ibstat, "; ".join(problems) or None


async def _jobs(slurm: Any, nodes: Sequence[str]) -> tuple[dict[str, list[str]], str | None]:
    if not nodes:
        return {}, None
    if slurm is None:
        return {}, "no slurm backend configured: jobs on the affected nodes unknown"
    try:
        found = await asyncio.gather(*(slurm.jobs(JobFilter(node=n, state="RUNNING")) for n in nodes))
    except DcopsError as exc:
        return {}, f"slurm: {exc}"
    return {n: [j.job_id for j in jobs] for n, jobs in zip(nodes, found)}, None


def _quoted(text: str) -> str:
    """Double-quoted for the shared grammar (shlex rules), as operators type reasons."""
    return '"' + "".join(c for c in text if c not in '"\\$`') + '"'


def _plan(v: Verdict, jobs: Mapping[str, list[str]]) -> tuple[list[str], list[str]]:
    """Human next steps, and the ones that are dcops commands (submitted through RBAC and audit)."""
    link, hosts = v.link, v.link.host_nodes
    job_note = f" ({sum(len(j) for j in jobs.values())} running job(s) finish first)" if any(jobs.values()) else ""
    reset = [f"reset-counters {e.name} --device {e.device} --port {e.port}" for e in link.ends if e.is_host]
    if v.kind in (BAD_CABLE, FLAPPING):
        reason = f"triage-cable: {v.kind} {link}"[:200]
        drain = f"drain {collapse(hosts)} --reason {_quoted(reason)}" if hosts else None
        steps = ([f"drain {'both ends' if len(hosts) == 2 else collapse(hosts)}{job_note}"] if hosts else []) + [
            "reseat the cable at both ends (clean the connectors), then reset the counters of this link",
            "watch 12 min: if errors return, replace the cable; if they follow the port, replace the port/HCA",
        ]
        return steps, ([drain] if drain else []) + reset
    if v.kind == BAD_PORT and v.suspect is not None:
        node = v.suspect.name if v.suspect.is_host else None
        reason = f"triage-cable: bad port {v.suspect}"[:200]
        steps = ([f"drain {node}{job_note}"] if node else []) + [
            f"move the cable to a spare port or swap the HCA/switch port of {v.suspect}, then reset its counters"
        ]
        own_reset = [r for r in reset if node and r.startswith(f"reset-counters {node} --device {v.suspect.device} ")]
        return steps, ([f"drain {node} --reason {_quoted(reason)}"] if node else []) + own_reset
    if v.kind == DEGRADING:
        return [
            "no drain yet: reseat the cable at the next maintenance window",
            f"run triage-cable {link.a} again in 12 min to see the trend",
        ], []
    return [], []


async def collect(
    links: Sequence[Link],
    src: Sources,
    *,
    deep: bool = True,
    growth: Mapping[Endpoint, PortGrowth] | None = None,
    prom_down: str | None = None,
) -> list[EndEvidence]:
    """Evidence for every end of ``links`` (flattened, two per link). ``prom_down``: the caller already
    knows Prometheus is not answering (why), so no end waits for it again."""
    hosts = sorted({e.name for link in links for e in link.ends if e.is_host})
    if prom_down is not None:
        growth = {}
    elif growth is None:
        try:
            growth = await host_port_growth(src.prometheus, hosts, instance_map=src.instance_map)
        except DcopsError as exc:  # Prometheus down: every host end lacks counters, the verdicts say so
            growth, prom_down = {}, str(exc)
    now: float | None = None
    if (
        src.switch_counters is not None
        and prom_down is None
        and any(not e.is_host for link in links for e in link.ends)
    ):
        try:
            now = await prometheus_now(src.prometheus)
        except DcopsError as exc:
            prom_down = prom_down or str(exc)

    async def one(end: Endpoint) -> EndEvidence:
        ev = EndEvidence(end)
        if end.is_host:
            ev.growth = growth.get(end)
            if ev.growth is None:
                ev.growth_missing = prom_down or "Prometheus has no node_exporter infiniband series for this port"
            if deep:
                ev.mlxlink, ev.ibstat, ev.ssh_missing = await _ssh_evidence(src.ssh, end)
        elif src.switch_counters is not None and prom_down is not None:
            ev.growth_missing = prom_down
        elif src.switch_counters is not None and now is not None:
            try:
                ev.growth = switch_port_growth(src.switch_counters, end, now)
            except DcopsError as exc:
                ev.growth_missing = str(exc)
        else:
            ev.growth_missing = "no counter source for switch ports is configured"
        return ev

    return list(await asyncio.gather(*(one(e) for link in links for e in link.ends)))


def judge_link(link: Link, ends: Sequence[EndEvidence], thresholds: Mapping[str, float]) -> Verdict:
    fec = next((e.mlxlink.fec for e in ends if e.mlxlink is not None and e.mlxlink.fec), link.fec)
    rules = CounterRules.for_link(link.bits_per_second, thresholds)
    return judge(link, list(ends), rules, ber_thresholds(link.speed, link.media, fec))


async def triage_links(links: Sequence[Link], src: Sources) -> list[Triage]:
    evidence = await collect(links, src)
    out = []
    for i, link in enumerate(links):
        verdict = judge_link(link, evidence[2 * i : 2 * i + 2], src.thresholds)
        affected = verdict.link.host_nodes if verdict.kind not in (HEALTHY, UNKNOWN) else []
        jobs, jobs_missing = await _jobs(src.slurm, affected)
        steps, commands = _plan(verdict, jobs)
        out.append(Triage(verdict, jobs, jobs_missing, steps, commands, list(evidence[2 * i : 2 * i + 2])))
    return out


async def rank_fabric(topology: Topology, src: Sources, top: int) -> tuple[list[Triage], int, int]:
    """``--auto``: judge every link on counters alone (one batch of queries), then triage the worst
    ``top`` in depth. Returns the triaged links, how many links were screened and how many of those
    could not be judged (unknown: counters missing, e.g. Prometheus down)."""
    growth: Mapping[Endpoint, PortGrowth] = {}
    prom_down: str | None = None
    try:
        growth = await host_port_growth(src.prometheus, None, instance_map=src.instance_map)
    except DcopsError as exc:
        prom_down = str(exc)
    screened = await collect(topology.links, src, deep=False, growth=growth, prom_down=prom_down)
    verdicts = [judge_link(link, screened[2 * i : 2 * i + 2], src.thresholds) for i, link in enumerate(topology.links)]
    worst = sorted((v for v in verdicts if v.kind not in (HEALTHY, UNKNOWN)), key=lambda v: -v.score)[:top]
    triaged = await triage_links([v.link for v in worst], src) if worst else []
    limit = isolation_limit(len(topology.links), src.thresholds)
    drained = 0
    for t in sorted(triaged, key=lambda t: -t.verdict.score):
        if any(f.startswith("drain ") for f in t.followups):
            drained += 1
            if drained > limit:
                t.followups = [f for f in t.followups if not f.startswith("drain ")]
                t.next_actions.append(f"not offering a drain: UFM's rule isolates at most {limit} links at once")
    unknown = sum(1 for v in verdicts if v.kind == UNKNOWN)
    return sorted(triaged, key=lambda t: -t.verdict.score), len(topology.links), unknown
