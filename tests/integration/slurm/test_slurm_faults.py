"""slurmctld stopped and restarted in the middle of a drain of 16 nodes (the real lab controller):
the drain stands, the run waits the outage out and ends saying what Slurm itself shows; a drain
asked while the controller is down is refused before anything changes. The audit log verifies."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from test_slurm_actions import ALLOW_ALL, lab_config

from dcops.actions import Request, open_engine
from dcops.actions.errors import DcopsError
from dcops.actions.events import Log, RunFinished, Step
from dcops.actions.rbac import Policy
from dcops.actions.store.base import AuditQuery
from tests.lab.slurm import SlurmLab

pytestmark = [pytest.mark.lab, pytest.mark.slow]
NODES = [f"gpu{i:03d}" for i in range(1, 17)]


def drained(cluster: SlurmLab) -> dict[str, str]:
    out = cluster.run("sinfo", "-h", "-N", "-t", "drain,drained,draining", "-o", "%N|%E").stdout
    return dict(line.split("|", 1) for line in out.splitlines() if line.strip())


async def test_slurmctld_restarted_mid_drain_wait(tmp_path: Path, cluster: SlurmLab):
    jobs = [cluster.sbatch("-p", "gpu,debug", "-w", n, wrap="sleep 8") for n in NODES]
    for j in jobs:
        cluster.wait_job(j, "RUNNING")
    eng = await open_engine(lab_config(tmp_path, cluster), policy=Policy.from_toml(ALLOW_ALL))
    try:
        run = await eng.submit(
            Request(
                principal="unix:oncall1",
                channel="cli",
                action="drain",
                params={"nodes": "gpu[001-016]", "reason": "fault test", "wait": True, "wait_timeout": 90},
            )
        )
        events = []
        outage = None
        async for ev in run.events():
            events.append(ev)
            if outage is None and isinstance(ev, Step) and ev.target == NODES[-1]:
                outage = asyncio.create_task(asyncio.to_thread(_outage, cluster, 4.0))  # the drain is written
        assert outage is not None
        await outage
        fin = events[-1]
        assert isinstance(fin, RunFinished)
        logs = [e.message for e in events if isinstance(e, Log)]
        assert any(m.startswith("Slurm is not answering") for m in logs), logs
        assert fin.outcome == "ok", fin.summary
        assert fin.summary.startswith("drained 16 node(s) gpu[001-016]; 16 job(s)") and "\n" not in fin.summary
        assert set(drained(cluster)) == set(NODES)  # what Slurm shows after the restart
        assert all("fault test" in r for r in drained(cluster).values())
        report = await eng.store.verify()
        assert report.ok, report.line()
        [done] = await eng.store.query(AuditQuery(run_id=run.run_id, event="finished"))
        assert done.outcome == "ok"
    finally:
        await eng.aclose()
        if cluster.pid("slurmctld") is None:
            cluster.start_slurmctld()


def _outage(cluster: SlurmLab, seconds: float) -> None:
    cluster.stop_slurmctld()
    time.sleep(seconds)
    cluster.start_slurmctld()


async def test_drain_asked_while_slurmctld_is_down_is_refused_before_acting(tmp_path: Path, cluster: SlurmLab):
    eng = await open_engine(lab_config(tmp_path, cluster, timeout=4.0), policy=Policy.from_toml(ALLOW_ALL))
    cluster.stop_slurmctld()
    try:
        with pytest.raises(DcopsError) as caught:
            await eng.submit(
                Request(
                    principal="unix:oncall1",
                    channel="cli",
                    action="drain",
                    params={"nodes": "gpu[001-016]", "reason": "fault test"},
                )
            )
        line = str(caught.value)
        assert "\n" not in line and "slurm" in line.lower(), line
        recs = await eng.store.query(AuditQuery(limit=None))
        last = max(recs, key=lambda r: r.seq)
        assert (last.event, last.outcome, last.action) == ("finished", "failed", "drain")  # audited, failed early
        assert not [r for r in recs if r.event == "started"]  # it never started
        assert (await eng.store.verify()).ok
    finally:
        cluster.start_slurmctld()
        await eng.aclose()
    assert not drained(cluster)  # nothing changed
