"""Fixtures for the SSH integration tests: the lab's SSH nodes (network namespaces with real sshd,
gpu[001-016]) for the session, healed and with default stand-in values before each test, and dcops'
SSH adapter pointed at them with host-key checking on. If the lab cannot start, tests fail."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from dcops.actions.backends.ssh import SshAdapter
from dcops.actions.config.ssh import SshSection
from tests.lab import sshnodes
from tests.lab.fixtures import lab_or_fail


@pytest.fixture(scope="session")
def ssh_session() -> Iterator[sshnodes.SshNodesLab]:
    yield from lab_or_fail(sshnodes.session(), "SSH")


@pytest.fixture
def nodes(ssh_session: sshnodes.SshNodesLab) -> sshnodes.SshNodesLab:
    ssh_session.heal()
    ssh_session.reset_state()
    return ssh_session


@pytest.fixture
async def ssh(nodes: sshnodes.SshNodesLab) -> AsyncIterator[SshAdapter]:
    adapter = SshAdapter(SshSection(**nodes.ssh_config(connect_timeout=2.0, command_timeout=10.0)))
    yield adapter
    await adapter.aclose()
