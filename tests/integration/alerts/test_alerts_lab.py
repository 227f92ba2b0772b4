"""Alerts on the real lab: a rule fires in real Prometheus, real Alertmanager delivers it to dcops'
webhook receiver (bearer token), the inbox audits it once; silences are real API v2 calls
(drain --silence on real Slurm, resume expires); validate runs the stand-in tools over real SSH."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from dcops.actions.alerts import AlertInbox
from dcops.actions.backends.alertmanager import AlertmanagerAdapter
from dcops.actions.engine import Engine
from dcops.actions.events import Result, Step
from dcops.actions.request import Request
from dcops.actions.store.base import AuditQuery
from dcops.bots.alert_webhook import WebhookServer
from tests.lab import alertmanager as lab_am
from tests.lab import sshnodes
from tests.lab.metrics.lab import MetricsLab


async def wait_alert(inbox: AlertInbox, name: str, node: str, timeout: float = 45.0, status: str = "firing"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for a in inbox.alerts(include_resolved=True):
            if a.name == name and a.node == node and a.status == status:
                return a
        await asyncio.sleep(0.3)
    raise AssertionError(
        f"{name} on {node} ({status}) never reached dcops; inbox: {inbox.alerts(include_resolved=True)}"
    )


async def run(eng: Engine, action: str, **params: Any) -> list[Any]:
    submitted = await eng.submit(Request(principal="unix:root", channel="cli", action=action, params=params))
    return [ev async for ev in submitted.events()]


async def test_an_xid_in_prometheus_reaches_dcops_through_alertmanager(
    receiver: tuple[AlertInbox, WebhookServer], lab_engine: Engine, clean_metrics: MetricsLab
) -> None:
    inbox, _ = receiver
    clean_metrics.set_gpus("gpu005", {2: {"xid": 79}})
    a = await wait_alert(inbox, "GpuXidFellOffBus", "gpu005")
    assert a.labels["gpu"] == "2" and a.known_node is True and a.summary == "gpu005 GPU 2: XID 79, GPU fell off the bus"
    pb = inbox.playbook(a)
    assert pb.primary.command[:2] == ["drain", "gpu005"] and "GpuXidFellOffBus" in pb.primary.line
    await asyncio.sleep(4)  # Alertmanager re-sends the group (group_interval 2 s)
    recs = [
        r
        for r in await lab_engine.store.query(AuditQuery(action="alert", event="received"))
        if r.params.get("fingerprint") == a.fingerprint
    ]
    assert len(recs) == 1 and recs[0].principal == "alertmanager:dcops" and recs[0].targets == ["gpu005"]

    clean_metrics.set_gpus("gpu005", {2: {"xid": 0}})
    await wait_alert(inbox, "GpuXidFellOffBus", "gpu005", status="resolved")


async def test_a_forged_delivery_is_refused_and_an_unknown_node_shown(
    receiver: tuple[AlertInbox, WebhookServer], lab_engine: Engine, am_lab: lab_am.AlertmanagerLab
) -> None:
    inbox, server = receiver
    body = {
        "version": "4",
        "status": "firing",
        "receiver": "dcops",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "GpuXidFellOffBus", "node": "gpu009", "gpu": "0"},
                "startsAt": "2026-12-04T03:00:00Z",
                "fingerprint": "f0f0f0f0",
            }
        ],
    }
    async with httpx.AsyncClient() as client:  # the receiver runs on this test's event loop
        r = await client.post(server.url, json=body, headers={"Authorization": "Bearer forged"}, timeout=5)
    assert r.status_code == 401 and inbox.get("f0f0f0f0") is None
    denied = await lab_engine.store.query(AuditQuery(action="alert", event="denied"))
    assert denied and "wrong bearer token" in denied[0].detail

    # an alert injected into the real Alertmanager for a node dcops does not know is shown, flagged
    ghost = f"rack9-x{int(time.time() * 1000) % 10**6:06d}"  # new per run: Alertmanager remembers what it sent
    am_lab.post_alerts(
        [
            {
                "labels": {"alertname": "NodeDown", "node": ghost, "severity": "critical"},
                "annotations": {"summary": f"{ghost}: node_exporter not answering"},
            }
        ]
    )
    a = await wait_alert(inbox, "NodeDown", ghost)
    assert a.known_node is False


async def test_alertmanager_adapter_silences_against_the_real_api(am_lab: lab_am.AlertmanagerLab) -> None:
    am = AlertmanagerAdapter(am_lab.url)
    try:
        sid = await am.create_silence({"node": "gpu011"}, hours=1, created_by="unix:alice", comment="t (dcops run r1)")
        found = {s.id: s for s in await am.silences()}[sid]
        assert (found.state, found.matchers, found.created_by) == ("active", {"node": "gpu011"}, "unix:alice")
        await am.expire_silence(sid)
        assert {s.id: s for s in await am.silences()}[sid].state == "expired"
    finally:
        await am.aclose()


async def test_drain_silence_and_resume_validate_on_real_slurm_alertmanager_and_ssh(
    lab_engine: Engine, am_lab: lab_am.AlertmanagerLab, ssh_nodes: sshnodes.SshNodesLab
) -> None:
    events = await run(lab_engine, "drain", nodes="gpu006", reason="alert GpuXidFellOffBus GPU 2", silence=True)
    assert events[-1].outcome == "ok", events[-1]
    (silence,) = am_lab.active_silences("gpu006")
    assert (
        silence["createdBy"] == "unix:root"
        and silence["comment"] == f"alert GpuXidFellOffBus GPU 2 (dcops run {events[-1].run_id})"
    )
    assert silence["matchers"] == [{"name": "node", "value": "gpu006", "isRegex": False, "isEqual": True}]
    # the silence really mutes the node's alerts in Alertmanager
    am_lab.post_alerts([{"labels": {"alertname": "GpuXidFellOffBus", "node": "gpu006"}}])
    deadline = time.monotonic() + 10
    while not am_lab.alerts(alertname="GpuXidFellOffBus", node="gpu006") and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert am_lab.alerts(alertname="GpuXidFellOffBus", node="gpu006")[0]["status"]["silencedBy"] == [silence["id"]]

    ssh_nodes.set_dcgm("gpu006", {2: "GPU Memory"})  # the GPU is still bad: validation must refuse
    events = await run(lab_engine, "resume", nodes="gpu006", validate=True, level=2)
    res = next(e for e in events if isinstance(e, Result))
    assert not res.ok and "validation failed on gpu006 (gpu006: dcgm: GPU Memory failed on GPU 2" in res.summary
    assert (await lab_engine.backends.slurm.nodes(["gpu006"]))[0].drain_flag
    assert am_lab.active_silences("gpu006"), "a refused resume keeps the maintenance silence"

    ssh_nodes.set_dcgm("gpu006", {})
    events = await run(lab_engine, "resume", nodes="gpu006", validate=True, level=2)
    assert events[-1].outcome == "ok", events[-1]
    assert not (await lab_engine.backends.slurm.nodes(["gpu006"]))[0].drain_flag
    assert am_lab.active_silences("gpu006") == []
    assert any(isinstance(e, Step) and e.detail.startswith("silence ") and "expired" in e.detail for e in events)


async def test_validate_names_each_failed_check_over_ssh(lab_engine: Engine, ssh_nodes: sshnodes.SshNodesLab) -> None:
    ssh_nodes.set_gpus("gpu008", lost=[4])
    ssh_nodes.set_gpu_state("gpu009", nvlink_inactive={"1": [3, 4]})
    ssh_nodes.set_ibstat("gpu010", "mlx5_1", state="Down", physical_state="Polling", rate=10)
    ssh_nodes.set_gpu_state("gpu011", driver="550.54.15")
    events = await run(lab_engine, "validate", nodes="gpu[007-011]", level=1)
    res = next(e for e in events if isinstance(e, Result))
    verdicts = {d["node"]: {c["name"]: c for c in d["checks"]} for d in res.data}
    assert all(c["ok"] for c in verdicts["gpu007"].values())
    assert not verdicts["gpu008"]["gpus"]["ok"] and "GPU 4 lost" in verdicts["gpu008"]["gpus"]["detail"]
    assert not verdicts["gpu008"]["dcgm"]["ok"]  # dcgmi cannot reach the lost GPU either
    assert verdicts["gpu009"]["nvlink"]["detail"] == "GPU 1 NVLink 3,4 inactive"
    assert verdicts["gpu010"]["ib"]["detail"].startswith("mlx5_1 port 1 Down/Polling")
    assert verdicts["gpu011"]["gpus"]["ok"]  # no driver pinned: any driver passes
    assert res.summary.startswith("2 of 5 node(s) passed validation (level 1); failed: gpu008: gpus: GPU 4 lost")


async def test_gpu_reset_over_ssh_refused_while_in_use(lab_engine: Engine, ssh_nodes: sshnodes.SshNodesLab) -> None:
    ssh_nodes.set_gpu_state("gpu012", processes={"3": [[4242, "python3"]]})
    ssh_nodes.set_dcgm("gpu012", {5: "SM Stress"})
    sub = await lab_engine.submit(
        Request(
            principal="unix:root", channel="cli", action="gpu-reset", params={"nodes": "gpu012", "gpu": 3}, confirm="1"
        )
    )
    fin = await sub.wait()
    assert fin.outcome == "failed" and "GPU 3 of gpu012 is in use by pid 4242 (python3)" in fin.summary
    sub = await lab_engine.submit(
        Request(
            principal="unix:root",
            channel="cli",
            action="gpu-reset",
            params={"nodes": "gpu012", "gpu": 5},
            confirm="gpu012",
        )
    )
    assert (await sub.wait()).outcome == "ok"
    events = await run(lab_engine, "validate", nodes="gpu012", level=3)
    assert events[-1].outcome == "ok"  # the reset cleared the stress failure
    steps = await lab_engine.store.query(AuditQuery(run_id=sub.run_id, event="step"))
    assert steps and "GPU 5" in steps[0].detail
