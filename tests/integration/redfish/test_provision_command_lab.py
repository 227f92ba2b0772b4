"""reimage through the ``command`` provisioning provider, end to end without a BMC: the lab's real
Slurm drains and resumes the nodes, the provider's boot command is a real program (the lab's
reinstall, which takes the node's sshd down and brings it back with the new image id, as a PXE
install would), and the new image is read over real SSH. The action is the same as for
redfish-pxe; only ``[provisioning]`` differs."""

from __future__ import annotations

import sys

import pytest
from redfish_lab import ALLOW_ALL, run_action
from test_redfish_rollout import drained

from dcops.actions import open_engine
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, NodeEntry
from dcops.actions.config.provisioning import ProvisioningSection
from dcops.actions.config.slurm import SlurmSection
from dcops.actions.config.ssh import SshSection
from dcops.actions.rbac import Policy
from dcops.actions.store.base import AuditQuery

pytestmark = pytest.mark.lab
NEW_IMAGE = "dcops-gpu-2026.12.1"


def _config(tmp_path, slurm_lab, ssh_session, **options) -> DcopsConfig:
    marks = tmp_path / "armed"
    marks.mkdir()
    arm = [
        sys.executable,
        "-c",
        "import sys, pathlib; pathlib.Path(sys.argv[1], sys.argv[2]).write_text(sys.argv[3])",
        str(marks),
        "{node}",
        "{image}",
    ]
    boot = [sys.executable, "-m", "tests.lab.bmc.reinstall", "{node}", "{image}", "2"]
    return DcopsConfig(
        cluster=ClusterSection(name="lab"),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}"),
        nodes=[NodeEntry(names="gpu[001-016]", partitions=["gpu"])],
        slurm=SlurmSection(mode="cli", env=slurm_lab.env),
        ssh=SshSection(**ssh_session.ssh_config()),
        provisioning=ProvisioningSection(provider="command", options={"arm": arm, "boot": boot, **options}),
    )


async def test_reimage_through_site_commands(slurm_lab, ssh_session, tmp_path) -> None:
    old = ssh_session.image_file("gpu006").read_text().strip()
    engine = await open_engine(_config(tmp_path, slurm_lab, ssh_session), policy=Policy.from_toml(ALLOW_ALL))
    try:
        run = await run_action(engine, "reimage", {"nodes": "gpu[006-007]", "image": NEW_IMAGE, "install_timeout": 60})
        fin = await run.wait()
        steps = await engine.store.query(AuditQuery(run_id=run.run_id, event="step"))
    finally:
        await engine.aclose()
    assert fin.outcome == "ok", run.result.data["failed"]
    assert run.result.data["reimaged"] == ["gpu006", "gpu007"]
    for node in ("gpu006", "gpu007"):
        assert ssh_session.image_file(node).read_text().strip() == NEW_IMAGE != old
        assert (tmp_path / "armed" / node).read_text() == NEW_IMAGE  # the arm command ran with both words
    assert not drained(slurm_lab)  # drained, then resumed by the action
    details = [s.detail for s in sorted(steps, key=lambda s: s.seq) if s.targets == ["gpu006"]]
    assert [d.split(":")[0] for d in details[:7]] == [
        f"step {i}/7 {name}"
        for i, name in enumerate(
            ("drain", "wait idle", "arm install", "boot install", "wait for SSH", "verify", "resume"), start=1
        )
    ]
    assert details[-1] == f"reimaged: {old} -> {NEW_IMAGE}"


async def test_a_failing_boot_command_leaves_the_node_drained_with_its_words(slurm_lab, ssh_session, tmp_path) -> None:
    boot = [sys.executable, "-c", "import sys; sys.exit('foreman: host {node} has no build token')"]
    engine = await open_engine(_config(tmp_path, slurm_lab, ssh_session, boot=boot), policy=Policy.from_toml(ALLOW_ALL))
    try:
        run = await run_action(engine, "reimage", {"nodes": "gpu008", "image": NEW_IMAGE})
        fin = await run.wait()
    finally:
        await engine.aclose()
    assert fin.outcome == "failed"
    why = run.result.data["failed"]["gpu008"]
    assert "stopped at step 'boot install'" in why and "foreman: host gpu008 has no build token" in why
    assert "node left drained" in why
    assert "stopped at step 'boot install'" in drained(slurm_lab)["gpu008"]
