from __future__ import annotations

from pathlib import Path

import pytest

from dcops.actions.backends.bundle import Backends
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, NodeEntry
from dcops.actions.engine import Engine
from dcops.actions.inventory import StaticInventory
from dcops.actions.rbac import Policy
from dcops.actions.store.sqlite import SqliteStore

POLICY = """
[groups]
ops = ["unix:alice", "unix:bob"]

[roles.ops]
actions = ["*"]
approval = ["t-approve"]
approve = ["*"]

[roles.gpu-only]
actions = ["*"]
scope = { partitions = ["gpu"] }

[roles.reader]
kinds = ["read"]

[[bindings]]
principals = ["group:ops"]
roles = ["ops"]

[[bindings]]
principals = ["unix:carol"]
roles = ["gpu-only"]

[roles.toucher]
actions = ["t-imply"]

[[bindings]]
principals = ["unix:viewer"]
roles = ["reader"]

[[bindings]]
principals = ["unix:dave"]
roles = ["toucher"]
"""


def make_config(tmp_path: Path, **cluster) -> DcopsConfig:
    return DcopsConfig(
        cluster=ClusterSection(name="t", **cluster),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'audit.db'}"),
        nodes=[NodeEntry(names="n[01-08]", partitions=["gpu"]), NodeEntry(names="m[01-04]", partitions=["debug"])],
    )


@pytest.fixture
def policy() -> Policy:
    return Policy.from_toml(POLICY)


@pytest.fixture
async def make_engine(tmp_path: Path, policy: Policy):
    engines: list[Engine] = []

    async def make(registry=None, **cluster) -> Engine:
        cfg = make_config(tmp_path, **cluster)
        eng = Engine(
            cfg,
            Backends(inventory=StaticInventory(cfg.nodes)),
            SqliteStore(str(tmp_path / "audit.db")),
            policy,
            registry=registry,
        )
        await eng.start()
        engines.append(eng)
        return eng

    yield make
    for e in engines:
        await e.aclose()
