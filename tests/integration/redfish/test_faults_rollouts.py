"""Faults in the middle of long runs, on the real lab (BMCs, Slurm, SSH nodes): a BMC that hangs
and one that answers 500s during a rolling firmware update, a BMC whose port goes away while its
node's update task runs, and a console killed with SIGKILL in the
middle of a reimage. Each test checks that nothing is lost or half-done silently: the audit chain
verifies, every run ends in a state that matches the cluster, and ``dcops resume`` finishes the job."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from redfish_lab import ALLOW_ALL, run_action
from test_redfish_rollout import NEW_BIOS, NEW_GPU, drained, write_config_file

from dcops.actions import local_principal, open_engine
from dcops.actions.config import load_config
from dcops.actions.rbac import Policy
from dcops.actions.store.base import AuditQuery

pytestmark = [pytest.mark.lab, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[3]
DCOPS = str(Path(sys.executable).with_name("dcops"))  # the console script of this venv
NEW_IMAGE = "dcops-gpu-2026.12.1"


def _dcops(cfg: Path, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DCOPS, "--config", str(cfg), *argv], capture_output=True, text=True, timeout=timeout)


async def _audit_intact(cfg: Path) -> None:
    out = await asyncio.to_thread(_dcops, cfg, "audit", "verify", timeout=60)
    assert out.returncode == 0 and "audit chain intact" in out.stdout, out.stdout + out.stderr


# ---------------------------------------------------------------- a BMC lost mid rolling update
async def test_bmc_lost_and_one_failing_mid_rollout_halts_then_resume_finishes(lab, slurm_lab, tmp_path, baseline):
    """gpu005 stops answering (hangs past the client timeout) and gpu006 answers 500 to everything,
    both after the rollout started: with --max-failures 1 the batch halts (later nodes never
    touched, failed nodes not left half-updated in service); once the BMCs are back, ``dcops resume``
    finishes only what was left."""
    cfg = write_config_file(lab, slurm_lab, tmp_path)
    text = cfg.read_text().replace("timeout = 10\n", "timeout = 3\n")
    cfg.write_text(text)
    engine = await open_engine(load_config(str(cfg)), policy=Policy.from_toml(ALLOW_ALL))
    try:
        run = await run_action(
            engine,
            "firmware-update",
            {"nodes": "gpu[001-008]", "baseline": str(baseline), "max_parallel": 2, "max_failures": 1},
            principal=local_principal(),
        )  # the account whose `dcops resume` finishes it
        injected = False
        async for ev in run.events():
            if (
                not injected
                and getattr(ev, "kind", "") == "step"
                and getattr(ev, "status", "") == "ok"
                and str(getattr(ev, "detail", "")).startswith("updated")
            ):
                lab.faults(["gpu005"], hang=True)  # mid-run: the first node is done
                lab.faults(["gpu006"], server_error=True)
                injected = True
        fin = await run.wait()
    finally:
        lab.faults(["gpu005", "gpu006"], hang=False, server_error=False)
        await engine.aclose()
    assert injected
    assert fin.outcome == "failed"
    assert "rollout halted: failures exceeded --max-failures 1" in fin.summary
    assert "\n" not in fin.summary
    failed, skipped = run.result.data["failed"], run.result.data["skipped"]
    assert set(failed) == {"gpu005", "gpu006"}, failed
    assert skipped and set(skipped) <= {"gpu007", "gpu008"}  # gpu007 may start while gpu005 still hangs
    updated = run.result.data["updated"]
    assert set(updated) | set(failed) | set(skipped) == {f"gpu{i:03d}" for i in range(1, 9)}
    status = lab.status()
    for node in skipped:  # halted: never touched
        assert status["tasks"][node] == 0
    assert set(drained(slurm_lab)) <= {"gpu005", "gpu006"}  # nothing else left out of service
    await _audit_intact(cfg)

    out = await asyncio.to_thread(_dcops, cfg, "--json", "resume", run.run_id)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    ok = {
        e["target"]: e["detail"]
        for e in events
        if e.get("kind") == "step" and e.get("status") == "ok" and e["detail"].startswith(("updated", "already done"))
    }
    assert sorted(ok) == [f"gpu{i:03d}" for i in range(1, 9)]
    for node in updated:
        assert ok[node].startswith(f"already done in run {run.run_id}")
    after = lab.status()["nodes"]
    assert {(after[n]["versions"]["BIOS"], after[n]["versions"]["GPU3"]) for n in ok} == {(NEW_BIOS, NEW_GPU)}
    assert not drained(slurm_lab)
    await _audit_intact(cfg)


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("gone", "cannot connect"),  # its port refuses connections (BMC rebooting, pulled off the network)
        ("server_error", "HTTP 500"),  # its web server answers 500 to everything
        ("hang", "no answer within 3 s"),  # it accepts and never answers, past the client timeout
    ],
)
async def test_bmc_fails_while_its_update_task_runs_holds_the_node_halts_then_resume_reattaches(
    lab, slurm_lab, tmp_path, baseline, fault, says
):
    """gpu003's BMC fails while gpu003 is drained and its update task runs (gone, 500s, or hung past
    the timeout): that node fails, stays drained with a reason naming the run and the step, the
    rollout halts under --max-failures 0 (later nodes never touched), and the user reads one line.
    Once the BMC is back, ``dcops resume`` re-attaches to the task the BMC kept (no second push of
    that image), finishes gpu003 and the skipped nodes, and returns every node to service."""
    cfg = write_config_file(lab, slurm_lab, tmp_path)
    cfg.write_text(cfg.read_text().replace("timeout = 10\n", "timeout = 3\n"))
    engine = await open_engine(load_config(str(cfg)), policy=Policy.from_toml(ALLOW_ALL))
    victim = "gpu003"
    try:
        run = await run_action(
            engine,
            "firmware-update",
            {"nodes": "gpu[001-006]", "baseline": str(baseline), "max_parallel": 1, "max_failures": 0},
            principal=local_principal(),
        )
        gone = False
        async for ev in run.events():
            detail = str(getattr(ev, "detail", ""))
            if not gone and getattr(ev, "target", "") == victim and "started: task" in detail:
                lab.faults([victim], **{fault: True})  # drained, first image pushed, its task running
                gone = True
        fin = await run.wait()
        tasks_before_resume = lab.status()["tasks"][victim]
    finally:
        lab.faults([victim], **{fault: False})
        await engine.aclose()
    assert gone
    assert fin.outcome == "failed"
    assert "rollout halted: failures exceeded --max-failures 0" in fin.summary and "\n" not in fin.summary
    failed, skipped = run.result.data["failed"], run.result.data["skipped"]
    assert list(failed) == [victim], failed
    assert says in failed[victim] and "node left drained" in failed[victim], failed[victim]
    assert sorted(run.result.data["updated"]) == ["gpu001", "gpu002"]
    assert sorted(skipped) == ["gpu004", "gpu005", "gpu006"]
    status = lab.status()
    for node in skipped:
        assert status["tasks"][node] == 0  # halted: never touched
    held = drained(slurm_lab)
    assert list(held) == [victim], held  # the failed node held out of service, nothing else
    assert f"run {run.run_id}" in held[victim] and "failed" in held[victim], held[victim]
    await _audit_intact(cfg)

    out = await asyncio.to_thread(_dcops, cfg, "--json", "resume", run.run_id)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    ok = {e["target"]: e["detail"] for e in events if e.get("kind") == "step" and e.get("status") == "ok"}
    finished = {t for t, d in ok.items() if d.startswith(("updated", "already done"))}
    assert finished == {f"gpu{i:03d}" for i in range(1, 7)}, ok
    assert ok["gpu001"].startswith(f"already done in run {run.run_id}")
    # the task the BMC kept was followed, not started again: one new task at most (the second image)
    assert lab.status()["tasks"][victim] - tasks_before_resume <= 1
    assert not any(
        e.get("target") == victim and "started: task" in e.get("detail", "") and "bios" in e.get("detail", "").lower()
        for e in events
    )
    after = lab.status()["nodes"]
    assert {(after[n]["versions"]["BIOS"], after[n]["versions"]["GPU3"]) for n in finished} == {(NEW_BIOS, NEW_GPU)}
    assert not drained(slurm_lab)
    await _audit_intact(cfg)


# ---------------------------------------------------------------- kill -9 mid reimage
def _reimage_driver(cfg: Path) -> subprocess.Popen[str]:
    code = f"""
import asyncio, json
from dcops.actions import open_engine
from dcops.actions.config import load_config
from dcops.actions.errors import ConfirmationRequired
from dcops.actions.request import Request

async def main():
    engine = await open_engine(load_config({str(cfg)!r}))
    req = Request(principal="unix:alice", channel="cli", action="reimage",
                  params={{"nodes": "gpu[009-012]", "image": {NEW_IMAGE!r}, "max_parallel": 2, "install_timeout": 60}})
    try:
        run = await engine.submit(req)
    except ConfirmationRequired as exc:
        run = await engine.submit(req.model_copy(update={{"confirm": exc.token}}))
    async for ev in run.events():
        print(json.dumps({{"run": run.run_id, **ev.model_dump(mode="json")}}), flush=True)

asyncio.run(main())
"""
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True, stderr=subprocess.DEVNULL
    )


async def test_console_killed_mid_reimage_resumes_from_its_journal(lab, slurm_lab, ssh_session, tmp_path):
    """SIGKILL once the first node is reimaged (its partner is mid-install, two nodes not started):
    ``dcops resume RUN_ID`` skips the finished node, does not power cycle again a node whose PXE
    boot already happened, reimages the rest, and every node is back in service on the new image."""
    lab.call("POST", "provision", {"image_id": NEW_IMAGE, "delay": 3})
    cfg = write_config_file(lab, slurm_lab, tmp_path)
    ssh = ssh_session.ssh_config()
    cfg.write_text(
        cfg.read_text()
        + "[ssh]\n"
        + "".join(f"{k} = {json.dumps(v)}\n" for k, v in ssh.items() if k != "hosts")
        + "[ssh.hosts]\n"
        + "".join(f'{n} = "{a}"\n' for n, a in ssh["hosts"].items())
    )
    proc = _reimage_driver(cfg)
    run_id, finished, cycled = None, set(), set()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # kill once a node is done and a later one is mid-install
            ev = json.loads(line)
            run_id = ev["run"]
            if ev["kind"] == "step" and ev["status"] == "ok" and ev["detail"].startswith("reimaged"):
                finished.add(ev["target"])
            if ev["kind"] == "step" and str(ev.get("detail", "")).startswith("step 4/7 power cycle"):
                cycled.add(ev["target"])
            if finished and cycled & {"gpu011", "gpu012"}:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert run_id and finished and cycled & {"gpu011", "gpu012"}
    assert len(finished) < 4  # killed in the middle
    drained_before = drained(slurm_lab)
    assert drained_before  # the killed run left nodes out of service

    out = await asyncio.to_thread(_dcops, cfg, "--json", "resume", run_id)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    ok = {
        e["target"]: e["detail"]
        for e in events
        if e.get("kind") == "step" and e.get("status") == "ok" and e["detail"].startswith(("reimaged", "already done"))
    }
    nodes = ["gpu009", "gpu010", "gpu011", "gpu012"]
    assert sorted(ok) == nodes, events[-5:]
    for node in finished:
        assert ok[node].startswith(f"already done in run {run_id}")
    reinstalls = [r["node"] for r in lab.status()["reinstalls"]]
    assert sorted(reinstalls) == nodes  # each node reinstalled exactly once
    for node in nodes:
        assert ssh_session.image_file(node).read_text().strip() == NEW_IMAGE
    assert not drained(slurm_lab)

    engine = await open_engine(load_config(str(cfg)), policy=Policy.from_toml(ALLOW_ALL))
    try:
        killed = await engine.store.query(AuditQuery(run_id=run_id, event="finished"))
        assert [r.outcome for r in killed] == ["interrupted"]  # the killed run says so in the log
    finally:
        await engine.aclose()
    await _audit_intact(cfg)


@pytest.fixture
def baseline(lab, tmp_path) -> Path:
    path = tmp_path / "baseline.toml"
    path.write_text(f"""[BIOS]
version = "{NEW_BIOS}"
image = "{lab.image_url(f"bios-{NEW_BIOS}.bin")}"
[GPU]
version = "{NEW_GPU}"
image = "{lab.image_url(f"gpu-{NEW_GPU}.bin")}"
""")
    return path
