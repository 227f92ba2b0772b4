"""An engine on the in-process simulator with a policy of the test's own, and audit look-ups."""

from __future__ import annotations

import textwrap
from pathlib import Path

from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig
from dcops.actions.engine import Engine
from dcops.actions.rbac import Policy
from dcops.actions.sim import SimCluster
from dcops.actions.store.base import AuditEntry, AuditQuery
from dcops.actions.store.sqlite import SqliteStore


async def sim_engine(tmp_path: Path, policy: str, *, nodes: int = 64) -> tuple[Engine, SimCluster]:
    sim = SimCluster(nodes=nodes, time_scale=1000.0)
    cfg = DcopsConfig(
        cluster=ClusterSection(name="t", demo=True), audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}")
    )
    eng = Engine(cfg, sim.backends(), SqliteStore(str(tmp_path / "a.db")), Policy.from_toml(textwrap.dedent(policy)))
    await eng.start()
    return eng, sim


async def records(eng: Engine, **query: object) -> list[AuditEntry]:
    """Audit records matching ``query``, oldest first."""
    return sorted(await eng.store.query(AuditQuery(**query)), key=lambda r: r.seq)


async def running_jobs(sim: SimCluster) -> set[str]:
    from dcops.actions.backends.models import JobFilter

    return {j.job_id for j in await sim.backends().slurm.jobs(JobFilter(state="RUNNING"))}
