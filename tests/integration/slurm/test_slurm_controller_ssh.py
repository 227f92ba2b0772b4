"""``[slurm] controller_ssh``: the Slurm CLI run on the controller over SSH (a real sshd on
loopback in front of the lab cluster), built from config by the real factory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dcops.actions.backends.factory import build_backends
from dcops.actions.backends.models import JobFilter
from dcops.actions.backends.slurm_cli import SlurmCli
from dcops.actions.config.model import DcopsConfig
from dcops.actions.config.slurm import SlurmSection
from dcops.actions.config.ssh import SshSection
from dcops.actions.errors import BackendUnavailable
from tests.lab import sshnodes
from tests.lab.slurm import SlurmLab
from tests.lab.sshnodes import controller


@pytest.fixture
async def remote(cluster: SlurmLab, ssh_nodes: sshnodes.SshNodesLab) -> AsyncIterator[SlurmCli]:
    ctl = controller.start(ssh_nodes)
    config = DcopsConfig(
        slurm=SlurmSection(controller_ssh=ctl.name, env=cluster.env, timeout=10),
        ssh=SshSection(
            **ssh_nodes.ssh_config(
                known_hosts=str(ctl.known_hosts), hosts={ctl.name: ctl.address}, ports={ctl.name: ctl.port}
            )
        ),
    )
    backends = build_backends(config)
    assert isinstance(backends.slurm, SlurmCli)
    yield backends.slurm
    await backends.aclose()


async def test_drain_cancel_and_read_on_the_controller_over_ssh(
    remote: SlurmCli, cluster: SlurmLab, tmp_path: Path
) -> None:
    job = cluster.sbatch("-N1", "-w", "gpu003")
    cluster.wait_job(job, "RUNNING")
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    reason = f"psu; touch {marker} $(touch {marker}) 'q' \"dq\" [unix:oncall1 via slack]"
    await remote.drain(["gpu003"], reason)
    node = cluster.node("gpu003")
    assert "DRAIN" in node["State"].split("+") and node["Reason"] == reason
    assert not marker.exists()
    [node] = await remote.nodes(["gpu003"])
    assert node.jobs == (job,) and node.reason == reason
    assert [j.job_id for j in await remote.jobs(JobFilter(node="gpu003"))] == [job]
    await remote.cancel([job])
    assert cluster.run("squeue", "-h", "-t", "all", "-j", job, "-o", "%T").stdout.strip() in ("CANCELLED", "COMPLETING")
    assert list(remote._closer._conns) == ["slurmctl"]  # every call went over one reused SSH connection


async def test_an_unreachable_controller_is_one_clear_error(cluster: SlurmLab, ssh_nodes: sshnodes.SshNodesLab) -> None:
    config = DcopsConfig(
        slurm=SlurmSection(controller_ssh="slurmctl", env=cluster.env, timeout=5),
        ssh=SshSection(**ssh_nodes.ssh_config(hosts={"slurmctl": "127.0.0.1"}, ports={"slurmctl": 9})),
    )
    backends = build_backends(config)
    try:
        with pytest.raises(BackendUnavailable) as err:
            await backends.slurm.nodes()
    finally:
        await backends.aclose()
    assert str(err.value) == (
        "slurm: cannot reach the controller slurmctl: ssh: connect to host 127.0.0.1 port 9: Connection refused"
    )
