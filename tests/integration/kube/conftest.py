"""Fixtures for the Kubernetes integration tests: the lab API server (started once per session,
stopped at the end if this session started it), a fresh seeded world per test, the real kubectl
pointed at it, and dcops' KubeAdapter pointed at it. If the lab cannot start, tests fail."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator

import pytest
from kubelab import Kubectl

from dcops.actions.backends.kube import KubeAdapter
from dcops.actions.config.kube import KubeSection
from tests.lab.kubeapi import lab
from tests.lab.kubeapi.scenario import default_world


@pytest.fixture(scope="session")
def kube_lab() -> Iterator[lab.LabInfo]:
    was_running = lab.status() is not None
    try:
        info = lab.start()
    except lab.LabError as exc:
        pytest.fail(f"the lab Kubernetes API server cannot start: {exc}")
    yield info
    if not was_running:
        lab.stop()


@pytest.fixture
def world(kube_lab: lab.LabInfo) -> lab.LabInfo:
    """The default GPU-cluster world, freshly seeded (fast pod start/stop for quick tests)."""
    kube_lab.reset(default_world(), pod_start_delay=0.2, kubelet_stop_seconds=0.3)
    return kube_lab


@pytest.fixture
def kubectl(world: lab.LabInfo) -> Kubectl:
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.fail("kubectl is not on PATH; the lab server's fidelity is checked with the real kubectl")
    return Kubectl(world, binary)


@pytest.fixture
async def kube(world: lab.LabInfo) -> AsyncIterator[KubeAdapter]:
    adapter = KubeAdapter(KubeSection(kubeconfig=str(world.kubeconfig), request_timeout=10))
    yield adapter
    await adapter.aclose()
