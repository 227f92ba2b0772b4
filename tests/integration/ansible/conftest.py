"""Fixtures for the playbook tests: the lab's SSH nodes (real sshd in network namespaces) and a
dcops engine whose [ansible] section points at this folder's playbooks, so ansible-runner runs real
ansible-playbook against them with dcops' inventory (host keys checked)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dcops.actions import open_engine
from dcops.actions.config.ansible import AnsibleSection
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, NodeEntry
from dcops.actions.config.ssh import SshSection
from dcops.actions.engine import Engine
from dcops.actions.rbac import Policy
from tests.lab import sshnodes
from tests.lab.fixtures import lab_or_fail

HERE = Path(__file__).resolve().parent

POLICY = """
[roles.ops]
actions = ["playbook:*", "playbooks", "audit", "ansible:ping", "ansible:command"]
approval = ["playbook:pin-driver-approved"]
approve = ["playbook:*"]          # ops approve each other's playbooks (never their own)
[roles.checker]
actions = ["playbook:check-*", "playbooks"]
scope = { nodes = "gpu[001-008]" }
[[bindings]]
principals = ["unix:alice"]
roles = ["ops"]
[[bindings]]
principals = ["unix:bob", "unix:carol"]
roles = ["checker"]
[[bindings]]
principals = ["unix:carol"]
roles = ["ops"]
"""


@pytest.fixture(scope="session")
def ssh_lab() -> Iterator[sshnodes.SshNodesLab]:
    yield from lab_or_fail(sshnodes.session(), "SSH")


@pytest.fixture
def nodes(ssh_lab: sshnodes.SshNodesLab) -> Iterator[sshnodes.SshNodesLab]:
    ssh_lab.heal()
    ssh_lab.reset_state()
    yield ssh_lab
    ssh_lab.heal()
    ssh_lab.reset_state()


@pytest.fixture
def playbook_dir(tmp_path: Path) -> Path:
    """A copy of the lab playbooks (tests edit them to prove the content hash is checked)."""
    d = tmp_path / "playbooks"
    shutil.copytree(HERE / "playbooks", d)
    return d


@pytest.fixture
async def engine(tmp_path: Path, nodes: sshnodes.SshNodesLab, playbook_dir: Path) -> AsyncIterator[Engine]:
    config = DcopsConfig(
        cluster=ClusterSection(name="ansible-lab"),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'audit.db'}"),
        nodes=[NodeEntry(names="gpu[001-016]", partitions=["gpu"])],
        ssh=SshSection(**nodes.ssh_config(connect_timeout=3.0)),
        ansible=AnsibleSection(
            playbook_dir=str(playbook_dir), forks=16, timeout=300, adhoc_modules=["ping", "command", "shell"]
        ),
    )
    eng = await open_engine(config, policy=Policy.from_toml(POLICY))
    yield eng
    await eng.aclose()
