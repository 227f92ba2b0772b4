"""The playbook action on the demo cluster (simulated Ansible port): RBAC per playbook name, the
audit record with the content hash, failed / unreachable hosts named, and --check as the dry run."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dcops.actions import Request
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig
from dcops.actions.engine import Engine
from dcops.actions.errors import DeniedError
from dcops.actions.events import Result
from dcops.actions.rbac import Policy
from dcops.actions.sim import SimCluster
from dcops.actions.store.base import AuditQuery
from dcops.actions.store.sqlite import SqliteStore

POLICY = """
[roles.checks]
actions = ["playbook:check-*", "playbooks"]
[roles.driver]
actions = ["playbook:nvidia-driver"]
scope = { partitions = ["gpu"] }
max_targets = 4
[[bindings]]
principals = ["unix:alice"]
roles = ["checks", "driver"]
[[bindings]]
principals = ["unix:bob"]
roles = ["checks"]
"""
DEMO = Path(__file__).resolve().parents[3] / "actions" / "ansible" / "demo_playbooks"


@pytest.fixture
async def engine(tmp_path: Path):
    cfg = DcopsConfig(cluster=ClusterSection(name="t", demo=True), audit=AuditSection(url=f"sqlite:///{tmp_path}/a.db"))
    eng = Engine(cfg, SimCluster(nodes=64).backends(), SqliteStore(str(tmp_path / "a.db")), Policy.from_toml(POLICY))
    await eng.start()
    yield eng
    await eng.aclose()


async def _run(engine: Engine, principal: str, **params):
    run = await engine.submit(Request(principal=principal, channel="cli", action="playbook", params=params))
    fin = await run.wait()
    return run, fin, run.result


async def test_policy_names_the_playbook(engine: Engine) -> None:
    run, fin, result = await _run(engine, "unix:bob", playbook="check-nvidia", nodes="gpu[001-020]")
    assert fin.outcome == "failed"
    assert "1 failed: gpu017" in result.summary and "1 unreachable: gpu009" in result.summary
    with pytest.raises(DeniedError, match="no role of unix:bob allows playbook:nvidia-driver"):
        await _run(engine, "unix:bob", playbook="nvidia-driver", nodes="gpu001", var=["driver_version=550.1"])
    with pytest.raises(DeniedError, match="exceed the limit of 4"):
        await _run(engine, "unix:alice", playbook="nvidia-driver", nodes="gpu[001-005]", var=["driver_version=550.1"])
    denied = await engine.store.query(AuditQuery(event="denied", limit=5))
    assert {d.params["playbook"] for d in denied} == {"nvidia-driver"}
    assert all(
        d.params["sha256"] == hashlib.sha256((DEMO / "nvidia-driver.yml").read_bytes()).hexdigest() for d in denied
    )


async def test_check_is_the_dry_run_and_is_audited_so(engine: Engine) -> None:
    run, fin, result = await _run(
        engine,
        "unix:alice",
        playbook="nvidia-driver",
        nodes="gpu[001-004]",
        var={"driver_version": "550.54.15"},
        check=True,
    )
    assert fin.outcome == "dry-run" and run.dry_run
    assert run.params["check"] is True and run.params["diff"] is True
    assert "would change" in result.summary
    rec = (await engine.store.query(AuditQuery(run_id=run.run_id, event="finished")))[0]
    assert rec.outcome == "dry-run"
    # --dry-run means the same
    run, fin, _ = await _run(
        engine, "unix:alice", playbook="nvidia-driver", nodes="gpu001", var=["driver_version=550.54.15"], dry_run=True
    )
    assert run.params.get("check") is True and fin.outcome == "dry-run"


async def test_playbooks_lists_the_catalog(engine: Engine) -> None:
    run = await engine.submit(Request(principal="unix:bob", channel="cli", action="playbooks"))
    await run.wait()
    assert isinstance(run.result, Result)
    names = [r[0] for r in run.result.table.rows]
    assert names == ["check-nvidia", "nvidia-driver"]
    assert run.result.data[1]["vars"]["driver_version"]["required"] is True


async def test_actions_lists_playbook_for_whoever_may_run_one(engine: Engine) -> None:
    assert "playbook" in {s.name for s in engine.actions_for("unix:bob")}  # only playbook:check-*
    assert "playbook" not in {s.name for s in engine.actions_for("unix:nobody")}
    assert "ansible" not in {s.name for s in engine.actions_for("unix:alice")}  # no ansible:* grant


async def test_adhoc_args_are_data_not_templates(tmp_path: Path) -> None:
    from dcops.actions.config.ansible import AnsibleSection
    from dcops.actions.errors import UsageError

    cfg = DcopsConfig(
        cluster=ClusterSection(name="t", demo=True),
        audit=AuditSection(url=f"sqlite:///{tmp_path}/a.db"),
        ansible=AnsibleSection(playbook_dir=str(DEMO), adhoc_modules=["debug"]),
    )
    policy = Policy.from_toml(
        '[roles.a]\nactions = ["ansible:*"]\n[[bindings]]\nprincipals = ["unix:alice"]\nroles = ["a"]\n'
    )
    eng = Engine(cfg, SimCluster(nodes=8).backends(), SqliteStore(str(tmp_path / "a.db")), policy)
    await eng.start()
    try:
        with pytest.raises(UsageError, match="Jinja delimiters"):
            await eng.submit(
                Request(
                    principal="unix:alice",
                    channel="cli",
                    action="ansible",
                    params={"nodes": "gpu001", "module": "debug", "arg": ["msg={{ lookup('pipe', 'id') }}"]},
                )
            )
        with pytest.raises(UsageError, match="not allowed ad hoc; allowed: debug"):
            await eng.submit(
                Request(
                    principal="unix:alice",
                    channel="cli",
                    action="ansible",
                    params={"nodes": "gpu001", "module": "../../bin/sh"},
                )
            )
        run = await eng.submit(
            Request(
                principal="unix:alice",
                channel="cli",
                action="ansible",
                params={"nodes": "gpu001", "module": "debug", "arg": {"msg": "hi"}},
            )
        )
        await run.wait()
        assert run.result.ok and run.params["arg"] == {"msg": "hi"}
    finally:
        await eng.aclose()
