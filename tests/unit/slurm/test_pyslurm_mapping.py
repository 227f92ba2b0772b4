"""The pyslurm adapter's translation of pyslurm objects into dcops models, and its clear error where
pyslurm cannot be imported (its real tests need Slurm 25.11: tests/integration/slurm)."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import pytest

from dcops.actions.backends.slurm_pyslurm import SlurmPyslurm, job_from_pyslurm, load_pyslurm, node_from_pyslurm
from dcops.actions.errors import BackendUnavailable, UsageError


def test_node_state_flags_gres_and_jobs() -> None:
    node = SimpleNamespace(
        name="gpu001",
        state="MIXED+DRAIN",
        reason="xid 79",
        partitions=["gpu"],
        configured_gres={"gpu:h100": 8},
        allocated_gres={"gpu:h100": 2},
        total_cpus=16,
        allocated_cpus=4,
        real_memory=64000,
        available_features=["h100"],
    )
    info = node_from_pyslurm(node, ["12"])
    assert (info.state, info.flags, info.gpus, info.gpus_used, info.cpus_alloc, info.memory_mb, info.jobs) == (
        "mixed",
        ("DRAIN",),
        8,
        2,
        4,
        64000,
        ("12",),
    )


def test_job_fields() -> None:
    job = SimpleNamespace(
        id=12,
        name="train",
        user_name="alice",
        partition="gpu",
        state="RUNNING",
        allocated_nodes="gpu[001-002]",
        num_nodes=2,
        submit_time_raw=1795929844,
        start_time_raw=0,
        time_limit=60,
        state_reason="None",
        requeue_count=1,
        exit_code="0:0",
    )
    info = job_from_pyslurm(job)
    assert (info.job_id, info.nodes, info.node_count, info.time_limit, info.restarts, info.start_time) == (
        "12",
        ("gpu001", "gpu002"),
        2,
        "01:00:00",
        1,
        None,
    )


@pytest.mark.skipif(importlib.util.find_spec("pyslurm") is not None, reason="pyslurm is installed here")
def test_without_pyslurm_the_adapter_says_why() -> None:
    with pytest.raises(BackendUnavailable, match="needs pyslurm built for this site's Slurm"):
        load_pyslurm()


async def test_array_tasks_are_refused_rather_than_acting_on_the_whole_array() -> None:
    adapter = SlurmPyslurm(module=SimpleNamespace())
    with pytest.raises(UsageError, match="array task 12_3"):
        await adapter.cancel(["12_3"])


class _FakeNode:
    """pyslurm.Node's two uses by the adapter: Node(hostlist) names nodes, Node(**changes) carries the
    update, and ``target.modify(changes)`` applies it (recorded here, per hostlist)."""

    calls: list[tuple[str, dict]] = []

    def __init__(self, name: str | None = None, **changes: object) -> None:
        self.name, self.changes = name, changes

    def modify(self, changes: _FakeNode) -> None:
        _FakeNode.calls.append((self.name or "", changes.changes))


async def test_drain_and_resume_modify_each_hostlist_with_the_changes() -> None:
    _FakeNode.calls = []
    slurm = SlurmPyslurm(module=SimpleNamespace(Node=_FakeNode))
    await slurm.drain(["gpu001", "gpu002", "gpu004"], "xid 79")
    await slurm.resume(["gpu003"])
    assert _FakeNode.calls == [
        ("gpu[001-002,004]", {"state": "DRAIN", "reason": "xid 79"}),
        ("gpu003", {"state": "RESUME"}),
    ]
