"""firmware-update end to end: the real engine, the real Redfish adapter against the lab BMCs and the
real Slurm adapter against the lab's Slurm cluster (gpu[001-016] in both labs)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from redfish_lab import ALLOW_ALL, dcops_config, run_action

from dcops.actions import open_engine
from dcops.actions.config.slurm import SlurmSection
from dcops.actions.rbac import Policy
from dcops.actions.store.base import AuditQuery

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[3]
NEW_BIOS, NEW_GPU = "2.4.0", "96.00.af.00.02"


@pytest.fixture
def baseline(lab, tmp_path) -> Path:
    path = tmp_path / "baseline.toml"
    path.write_text(f"""BMC = "1.10.0"
HCA = "28.39.1002"
[BIOS]
version = "{NEW_BIOS}"
image = "{lab.image_url(f"bios-{NEW_BIOS}.bin")}"
[GPU]
version = "{NEW_GPU}"
image = "{lab.image_url(f"gpu-{NEW_GPU}.bin")}"
""")
    return path


@pytest.fixture
def config(lab, slurm_lab, tmp_path):
    return dcops_config(lab, tmp_path, slurm=SlurmSection(mode="cli", env=slurm_lab.env, timeout=20.0))


def drained(slurm_lab) -> dict[str, str]:
    """node -> reason, for drained nodes (Slurm's own view, not dcops')."""
    out = slurm_lab.run("sinfo", "-h", "-N", "-t", "drain,drained,draining", "-o", "%N|%E").stdout
    return dict(line.split("|", 1) for line in out.splitlines() if line.strip())


def versions(lab) -> dict[str, tuple[str, str]]:
    return {n: (s["versions"]["BIOS"], s["versions"]["GPU3"]) for n, s in lab.status()["nodes"].items()}


async def test_rolling_update_of_16_nodes_with_one_failing_bmc(lab, slurm_lab, config, baseline):
    lab.faults(["gpu007"], fail_update="flash write error at 0x3f000")
    engine = await open_engine(config, policy=Policy.from_toml(ALLOW_ALL))
    try:
        run = await run_action(
            engine,
            "firmware-update",
            {"nodes": "gpu[001-016]", "baseline": str(baseline), "max_parallel": 4, "max_failures": 2},
        )
        out, most = set(), 0
        async for ev in run.events():
            if ev.kind == "step" and ev.detail == "drained":
                out.add(ev.target)
                most = max(most, len(out))
            elif (
                ev.kind == "step"
                and ev.status in ("ok", "failed")
                and ev.detail != "drained"
                and (ev.status == "failed" or ev.detail.startswith(("updated", "already")))
            ):
                out.discard(ev.target)
        fin = run.finished
        steps = await engine.store.query(AuditQuery(run_id=run.run_id, event="step"))
    finally:
        await engine.aclose()
    assert fin.outcome == "failed"
    assert run.result.data["failed"].keys() == {"gpu007"}
    assert "flash write error" in run.result.data["failed"]["gpu007"]
    assert len(run.result.data["updated"]) == 15 and most <= 4
    now = versions(lab)
    assert now.pop("gpu007") == ("2.3.1", "96.00.89.00.01")
    assert set(now.values()) == {(NEW_BIOS, NEW_GPU)}  # verified by re-reading the inventory
    left = drained(slurm_lab)
    assert list(left) == ["gpu007"]  # the rest were resumed
    assert "firmware-update run" in left["gpu007"] and "flash write error" in left["gpu007"]
    assert any(s.targets == ["gpu007"] and s.outcome == "failed" for s in steps)


async def test_dry_run_changes_nothing(lab, slurm_lab, config, baseline):
    engine = await open_engine(config, policy=Policy.from_toml(ALLOW_ALL))
    try:
        run = await run_action(
            engine, "firmware-update", {"nodes": "gpu[001-004]", "baseline": str(baseline), "dry_run": True}
        )
        fin = await run.wait()
    finally:
        await engine.aclose()
    assert fin.outcome == "dry-run" and run.result.data == {"nodes": ["gpu001", "gpu002", "gpu003", "gpu004"]}
    assert not drained(slurm_lab) and all(t == 0 for t in lab.status()["tasks"].values())


async def test_wrong_bmc_password_fails_clearly_and_touches_nothing(lab, slurm_lab, tmp_path, baseline):
    secret = tmp_path / "wrong"
    secret.touch(mode=0o600)
    secret.write_text("wrong-password\n")
    cfg = dcops_config(lab, tmp_path, slurm=SlurmSection(mode="cli", env=slurm_lab.env), password_file=str(secret))
    engine = await open_engine(cfg, policy=Policy.from_toml(ALLOW_ALL))
    try:
        run = await run_action(
            engine, "firmware-update", {"nodes": "gpu[001-004]", "baseline": str(baseline), "max_parallel": 1}
        )
        fin = await run.wait()
    finally:
        await engine.aclose()
    assert fin.outcome == "failed"
    first = next(iter(run.result.data["failed"].values()))
    assert "login refused: wrong user name or password" in first and "node not touched" in first
    assert len(run.result.data["skipped"]) == 3  # halted after the first failure
    assert not drained(slurm_lab) and all(t == 0 for t in lab.status()["tasks"].values())


def _driver(config_path: Path, baseline: Path) -> subprocess.Popen[str]:
    """dcops in its own process: submit the rollout, approve it as a second person, print events."""
    code = f"""
import asyncio, json, sys
from dcops.actions import local_principal, open_engine
from dcops.actions.config import load_config
from dcops.actions.errors import ApprovalRequired
from dcops.actions.request import Request

async def main():
    engine = await open_engine(load_config({str(config_path)!r}))
    # requested as the account that later runs `dcops resume` (only the requester inherits the approval)
    req = Request(principal=local_principal(), channel="cli", action="firmware-update",
                  params={{"nodes": "gpu[001-016]", "baseline": {str(baseline)!r}, "max_parallel": 4}})
    try:
        run = await engine.submit(req)
    except ApprovalRequired as exc:
        run = await engine.approve(exc.approval_id, "unix:bob", "cli")
    async for ev in run.events():
        print(json.dumps({{"run": run.run_id, **ev.model_dump(mode="json")}}), flush=True)

asyncio.run(main())
"""
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True, stderr=subprocess.DEVNULL
    )


def write_config_file(lab, slurm_lab, tmp_path) -> Path:
    (tmp_path / "policy.toml").write_text(ALLOW_ALL)
    env = "\n".join(f'{k} = "{v}"' for k, v in slurm_lab.env.items())
    path = tmp_path / "dcops.toml"
    path.write_text(
        f"""[cluster]
name = "lab"
[audit]
url = "sqlite:///{tmp_path / "audit.db"}"
[policy]
path = "{tmp_path / "policy.toml"}"
[[nodes]]
names = "gpu[001-016]"
partitions = ["gpu"]
[slurm]
mode = "cli"
[slurm.env]
{env}
"""
        + lab.redfish_toml(timeout=10)
    )
    return path


async def test_killed_rollout_resumes_with_only_the_rest(lab, slurm_lab, tmp_path, baseline):
    cfg = write_config_file(lab, slurm_lab, tmp_path)
    proc = _driver(cfg, baseline)
    finished: set[str] = set()
    run_id = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # read until 5 nodes are fully done, then kill -9
            ev = json.loads(line)
            run_id = ev["run"]
            if ev["kind"] == "step" and ev["status"] == "ok" and ev["detail"].startswith("updated"):
                finished.add(ev["target"])
                if len(finished) >= 5:
                    break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert run_id and len(finished) >= 5
    before = lab.status()
    assert any(v["versions"]["BIOS"] == "2.3.1" for v in before["nodes"].values())  # killed in the middle
    tasks_before = before["tasks"]

    dcops = str(Path(sys.executable).with_name("dcops"))  # the console script of this venv
    out = await asyncio.to_thread(
        subprocess.run,
        [dcops, "--config", str(cfg), "--json", "resume", run_id],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-1000:]
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    ok = {
        e["target"]: e["detail"]
        for e in events
        if e.get("kind") == "step" and e.get("status") == "ok" and e["detail"].startswith(("updated", "already done"))
    }
    assert len(ok) == 16
    assert all(ok[n].startswith("already done in run " + run_id) for n in finished)  # not touched again
    after = lab.status()
    for n in finished:
        assert after["tasks"][n] == tasks_before[n]  # no new update task
    assert {(v["versions"]["BIOS"], v["versions"]["GPU3"]) for v in after["nodes"].values()} == {(NEW_BIOS, NEW_GPU)}
    assert not drained(slurm_lab)
