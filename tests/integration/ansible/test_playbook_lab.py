"""The playbook action end to end: ansible-runner runs real playbooks with real ansible-playbook
over real SSH against the lab's sshd nodes, through the engine (RBAC per playbook, audit with the
content hash, --check --diff as the dry run), including hosts that fail and hosts that are down."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from pathlib import Path

import pytest

from dcops.actions import Request
from dcops.actions.engine import Engine
from dcops.actions.errors import ApprovalRequired, DeniedError, UsageError
from dcops.actions.events import Log, Result, RunFinished, Step
from dcops.actions.store.base import AuditQuery
from tests.lab import sshnodes

pytestmark = pytest.mark.lab


async def _run(engine: Engine, principal: str = "unix:alice", **params):  # noqa: ANN202
    run = await engine.submit(Request(principal=principal, channel="cli", action="playbook", params=params))
    events = [e async for e in run.events()]
    fin = next(e for e in events if isinstance(e, RunFinished))
    result = next((e for e in events if isinstance(e, Result)), None)
    return run, fin, result, events


async def test_failed_and_unreachable_hosts_are_named(
    engine: Engine, nodes: sshnodes.SshNodesLab, playbook_dir: Path
) -> None:
    nodes.set_gpus("gpu003", lost=[2])  # nvidia-smi exits 15 there
    nodes.set_gpus("gpu011", lost=[0, 5])
    nodes.stop_sshd("gpu007")  # connection refused
    run, fin, result, events = await _run(engine, playbook="check-nvidia", nodes="gpu[001-016]")
    assert fin.outcome == "failed"
    assert result is not None and not result.ok
    rows = {r[0]: r for r in result.table.rows}
    assert rows["gpu003"][1] == "failed" and rows["gpu011"][1] == "failed"
    assert "GPU is lost" in rows["gpu003"][7] or "non-zero return code" in rows["gpu003"][7]
    assert rows["gpu007"][1] == "unreachable" and "ssh" in rows["gpu007"][7].lower()
    ok = [n for n, r in rows.items() if r[1] == "ok"]
    assert len(ok) == 13 and "gpu001" in ok and "gpu016" in ok
    assert "gpu[003,011]" in result.summary and "gpu007" in result.summary
    assert any(isinstance(e, Log) and e.message == "TASK [nvidia-smi lists the GPUs]" for e in events)
    # the failure is streamed per host as it happens, before the final result
    first_fail = next(
        i for i, e in enumerate(events) if isinstance(e, Step) and e.target == "gpu003" and e.status == "failed"
    )
    assert first_fail < events.index(result)
    # the audit names the playbook and the hash of the bytes that ran, and each host's outcome
    sha = hashlib.sha256((playbook_dir / "check-nvidia.yml").read_bytes()).hexdigest()
    started = (await engine.store.query(AuditQuery(run_id=run.run_id, event="started")))[0]
    assert started.params["playbook"] == "check-nvidia" and started.params["sha256"] == sha
    steps = await engine.store.query(AuditQuery(run_id=run.run_id, event="step", limit=100))
    outcome = {s.targets[0]: s.outcome for s in steps}
    assert outcome["gpu007"] == "failed" and outcome["gpu003"] == "failed" and outcome["gpu001"] == "ok"
    assert len(outcome) == 16


async def test_check_diff_is_the_dry_run_then_the_real_run_changes_the_nodes(
    engine: Engine, nodes: sshnodes.SshNodesLab
) -> None:
    # the node's /etc is an overlay: its files are changed through the node only, so each run pins
    # a version no earlier run wrote, and the host reads the result in the overlay's upper dir
    version = f"550.{secrets.randbelow(10**6)}.{secrets.randbelow(100)}"
    pinned = [nodes.node_dir(n) / "etc" / "upper" / "dcops-nvidia-driver" for n in ("gpu001", "gpu002")]
    before = [p.read_text() if p.exists() else None for p in pinned]
    run, fin, result, events = await _run(
        engine, playbook="pin-driver", nodes="gpu[001-002]", var=[f"driver_version={version}"], check=True
    )
    assert fin.outcome == "dry-run" and result.ok
    assert [r[1] for r in result.table.rows] == ["changed", "changed"]
    assert "would change" in result.summary
    assert any(isinstance(e, Log) and f"+{version} no-reboot" in e.message for e in events)  # the --diff
    assert [p.read_text() if p.exists() else None for p in pinned] == before  # nothing changed
    run, fin, result, _ = await _run(
        engine, playbook="pin-driver", nodes="gpu[001-002]", var=[f"driver_version={version}", "reboot=yes"]
    )
    assert fin.outcome == "ok", result.summary
    assert [r[1] for r in result.table.rows] == ["changed", "changed"]
    assert [p.read_text() for p in pinned] == [f"{version} reboot\n"] * 2
    run, fin, result, _ = await _run(
        engine, playbook="pin-driver", nodes="gpu[001-002]", var=[f"driver_version={version}", "reboot=yes"]
    )
    assert fin.outcome == "ok" and [r[1] for r in result.table.rows] == ["ok", "ok"]  # idempotent


@pytest.mark.parametrize(
    "params, message",
    [
        ({"playbook": "../../etc/passwd", "nodes": "gpu001"}, "no approved playbook"),
        ({"playbook": "/bin/true", "nodes": "gpu001"}, "not a path"),
        ({"playbook": "pin-driver", "nodes": "gpu001"}, "driver_version is required"),
        ({"playbook": "pin-driver", "nodes": "gpu001", "var": ["driver_version=1; rm -rf /"]}, "does not match"),
        ({"playbook": "pin-driver", "nodes": "gpu001", "var": ["driver_version=550.1", "reboot=maybe"]}, "not a bool"),
        (
            {
                "playbook": "pin-driver",
                "nodes": "gpu001",
                "var": ["driver_version=550.1", "ansible_ssh_common_args=-oProxyCommand=touch /tmp/x"],
            },
            "unknown variable",
        ),
        ({"playbook": "check-nvidia", "nodes": "gpu001", "var": ["x=1"]}, "declares no variables"),
    ],
)
async def test_bad_requests_are_refused_before_ansible_runs(engine: Engine, params: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        await engine.submit(Request(principal="unix:alice", channel="cli", action="playbook", params=params))
    recs = await engine.store.query(AuditQuery(action="playbook", limit=10))
    assert recs[0].event == "invalid" and message.split()[0] in recs[0].error


async def test_rbac_decides_per_playbook_with_scope(engine: Engine, playbook_dir: Path) -> None:
    (playbook_dir / "pin-driver-approved.yml").write_bytes((playbook_dir / "pin-driver.yml").read_bytes())
    (playbook_dir / "pin-driver-approved.meta.yml").write_bytes((playbook_dir / "pin-driver.meta.yml").read_bytes())
    with pytest.raises(DeniedError, match="playbook:pin-driver"):
        await engine.submit(
            Request(
                principal="unix:bob",
                channel="cli",
                action="playbook",
                params={"playbook": "pin-driver", "nodes": "gpu001", "var": ["driver_version=550.1"]},
            )
        )
    with pytest.raises(DeniedError, match="outside"):
        await engine.submit(
            Request(
                principal="unix:bob",
                channel="cli",
                action="playbook",
                params={"playbook": "check-nvidia", "nodes": "gpu[007-009]"},
            )
        )
    decision, _ = await engine.explain("unix:bob", "playbook:check-nvidia", "gpu001")
    assert decision.allowed
    decision, _ = await engine.explain("unix:bob", "playbook:pin-driver", "gpu001")
    assert not decision.allowed
    # approval per playbook; an approval is for the bytes that were asked about
    params = {"playbook": "pin-driver-approved", "nodes": "gpu001", "var": ["driver_version=550.1"]}
    with pytest.raises(ApprovalRequired) as asked:
        await engine.submit(Request(principal="unix:alice", channel="cli", action="playbook", params=params))
    appr = await engine.store.get_approval(asked.value.approval_id)
    assert appr.params["sha256"] == hashlib.sha256((playbook_dir / "pin-driver-approved.yml").read_bytes()).hexdigest()
    with (playbook_dir / "pin-driver-approved.yml").open("a") as f:
        f.write("    - ansible.builtin.command: touch /etc/owned\n")  # edited after the request
    with pytest.raises(UsageError, match="changed"):
        await engine.approve(appr.id, "unix:carol", "cli")


async def test_cancel_stops_ansible(engine: Engine, nodes: sshnodes.SshNodesLab) -> None:
    run = await engine.submit(
        Request(
            principal="unix:alice",
            channel="cli",
            action="playbook",
            params={"playbook": "slow", "nodes": "gpu[001-004]"},
        )
    )
    async for event in run.events():
        if isinstance(event, Log) and event.message.startswith("TASK [sleep]"):
            break
    await asyncio.sleep(1.0)
    assert await _ansible_processes(), "ansible-playbook should be running for this run"
    run.cancel()
    fin = await asyncio.wait_for(run.wait(), 40)
    assert fin.outcome == "cancelled"
    assert await _ansible_processes() == []  # the forks too (each in its own session)
    recs = await engine.store.query(AuditQuery(run_id=run.run_id, event="finished"))
    assert recs[0].outcome == "cancelled"


async def _ansible_processes() -> list[str]:
    """ansible-playbook processes of dcops' runner (their inventory is in a dcops-ansible-* dir)."""
    proc = await asyncio.create_subprocess_exec("pgrep", "-f", "dcops-ansible-", stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return out.decode().split()


async def test_adhoc_modules_only_where_config_and_policy_allow(engine: Engine, nodes: sshnodes.SshNodesLab) -> None:
    nodes.stop_sshd("gpu004")
    nodes.set_gpus("gpu002", lost=[1])
    run = await engine.submit(
        Request(
            principal="unix:alice", channel="cli", action="ansible", params={"nodes": "gpu[001-004]", "module": "ping"}
        )
    )
    await run.wait()
    assert run.result.summary == "ansible -m ping on 4 node(s): 3 ok (0 changed); 1 unreachable: gpu004"
    run = await engine.submit(
        Request(
            principal="unix:alice",
            channel="cli",
            action="ansible",
            params={"nodes": "gpu[001-003]", "module": "command", "arg": ["cmd=nvidia-smi -L"]},
        )
    )
    await run.wait()
    rows = {r[0]: r for r in run.result.table.rows}
    assert rows["gpu001"][1] == "changed" and rows["gpu002"][1] == "failed"  # exit 15: a GPU is lost
    assert "failed: gpu002" in run.result.summary
    # shell is in the site's list but the policy does not grant ansible:shell; setup is not listed at all
    with pytest.raises(DeniedError, match="ansible:shell"):
        await engine.submit(
            Request(
                principal="unix:alice",
                channel="cli",
                action="ansible",
                params={"nodes": "gpu001", "module": "shell", "arg": ["cmd=id"]},
            )
        )
    with pytest.raises(UsageError, match="not allowed ad hoc; allowed: ping, command, shell"):
        await engine.submit(
            Request(
                principal="unix:alice", channel="cli", action="ansible", params={"nodes": "gpu001", "module": "setup"}
            )
        )
    with pytest.raises(DeniedError, match="ansible:ping"):
        await engine.submit(
            Request(principal="unix:bob", channel="cli", action="ansible", params={"nodes": "gpu001", "module": "ping"})
        )
