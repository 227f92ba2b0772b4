"""reimage end to end: lab BMCs (one-time PXE, power cycle, the PXE boot reinstalls the node), the
lab's real Slurm cluster and its SSH nodes (the node comes back reporting the new image id)."""

from __future__ import annotations

import pytest
from redfish_lab import ALLOW_ALL, dcops_config, run_action
from test_redfish_rollout import drained

from dcops.actions import open_engine
from dcops.actions.config.slurm import SlurmSection
from dcops.actions.config.ssh import SshSection
from dcops.actions.rbac import Policy
from dcops.actions.store.base import AuditQuery

pytestmark = pytest.mark.lab
NEW_IMAGE = "dcops-gpu-2026.12.0"


@pytest.fixture
async def engine(lab, slurm_lab, ssh_session, tmp_path):
    lab.call("POST", "provision", {"image_id": NEW_IMAGE, "delay": 3})
    cfg = dcops_config(
        lab, tmp_path, slurm=SlurmSection(mode="cli", env=slurm_lab.env), ssh=SshSection(**ssh_session.ssh_config())
    )
    eng = await open_engine(cfg, policy=Policy.from_toml(ALLOW_ALL))
    try:
        yield eng
    finally:
        await eng.aclose()


async def test_reimage_two_nodes(lab, slurm_lab, ssh_session, engine):
    old = ssh_session.image_file("gpu003").read_text().strip()
    run = await run_action(engine, "reimage", {"nodes": "gpu[003-004]", "image": NEW_IMAGE, "install_timeout": 60})
    fin = await run.wait()
    assert fin.outcome == "ok", run.result.data["failed"]
    assert run.result.data["reimaged"] == ["gpu003", "gpu004"]
    assert [r["node"] for r in sorted(lab.status()["reinstalls"], key=lambda r: r["node"])] == ["gpu003", "gpu004"]
    for node in ("gpu003", "gpu004"):
        assert ssh_session.image_file(node).read_text().strip() == NEW_IMAGE != old
        assert lab.status()["nodes"][node]["override"] == ["None", "Disabled"]  # the one-time override was used
    assert not drained(slurm_lab)
    steps = await engine.store.query(AuditQuery(run_id=run.run_id, event="step"))
    details = [s.detail for s in sorted(steps, key=lambda s: s.seq) if s.targets == ["gpu003"]]
    assert [d.split(":")[0] for d in details[:7]] == [
        f"step {i}/7 {name}"
        for i, name in enumerate(
            ("drain", "wait idle", "PXE override", "power cycle", "wait for SSH", "verify", "resume"), start=1
        )
    ]
    assert details[-1] == f"reimaged: {old} -> {NEW_IMAGE}"


async def test_reimage_that_never_reports_the_image_stays_drained(lab, slurm_lab, engine):
    run = await run_action(engine, "reimage", {"nodes": "gpu005", "image": "some-other-image", "install_timeout": 8})
    fin = await run.wait()
    assert fin.outcome == "failed"
    assert "stopped at step 'wait for SSH'" in run.result.data["failed"]["gpu005"]
    reason = drained(slurm_lab)["gpu005"]
    assert "reimage run" in reason and "stopped at step 'wait for SSH'" in reason
