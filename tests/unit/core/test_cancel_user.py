"""`cancel --user alice` (like scancel -u): her running and pending jobs become the targets, each
decided and confirmed like ids typed by hand; someone with no jobs is a clear line, not a no-op."""

from __future__ import annotations

import pytest

from dcops.actions.backends.models import JobFilter
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig
from dcops.actions.engine import Engine
from dcops.actions.errors import ConfirmationRequired, UsageError
from dcops.actions.rbac import Policy
from dcops.actions.request import Request
from dcops.actions.sim import SimCluster
from dcops.actions.store.sqlite import SqliteStore

ALLOW_ALL = '[roles.all]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'


async def test_cancel_user_targets_only_that_users_jobs(tmp_path) -> None:
    sim = SimCluster(nodes=64, time_scale=1000.0)
    cfg = DcopsConfig(
        cluster=ClusterSection(name="t", demo=True), audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}")
    )
    eng = Engine(cfg, sim.backends(), SqliteStore(str(tmp_path / "a.db")), Policy.from_toml(ALLOW_ALL))
    await eng.start()
    try:
        before = await sim.backends().slurm.jobs(JobFilter())
        alices = sorted(j.job_id for j in before if j.user == "alice" and j.state in ("RUNNING", "PENDING"))
        others = sorted(j.job_id for j in before if j.user != "alice" and j.state == "RUNNING")
        assert alices and others
        req = Request(principal="unix:oncall", channel="cli", action="cancel", params={"user": "alice"})
        with pytest.raises(ConfirmationRequired) as asked:
            await eng.submit(req)
        assert asked.value.token == str(len(alices))
        run = await eng.submit(req.model_copy(update={"confirm": asked.value.token}))
        assert (await run.wait()).outcome == "ok" and sorted(run.targets) == alices
        after = {j.job_id: j.state for j in await sim.backends().slurm.jobs(JobFilter())}
        assert all(after.get(j, "gone") in ("CANCELLED", "gone") for j in alices)
        assert all(after[j] == "RUNNING" for j in others)
        with pytest.raises(UsageError, match="user nobody has no running or pending jobs"):
            await eng.submit(
                Request(principal="unix:oncall", channel="cli", action="cancel", params={"user": "nobody"})
            )
        with pytest.raises(UsageError, match="job ids or --user"):
            await eng.submit(
                Request(
                    principal="unix:oncall", channel="cli", action="cancel", params={"user": "alice", "jobs": ["1"]}
                )
            )
    finally:
        await eng.aclose()
