"""A command imports only what it uses: a Slurm drain from the CLI (config with Slurm, Redfish, SSH
and Prometheus, no Kubernetes) never loads the Kubernetes client, Textual, slack-bolt or psycopg.
Checked in a fresh interpreter, so an import made by another test cannot hide one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
HEAVY = ("kubernetes", "kubernetes_asyncio", "textual", "slack_bolt", "slack_sdk", "psycopg", "psycopg_pool")

SCRIPT = r"""
import asyncio, json, sys
from dcops.console.cli import build_parser
from dcops.actions import open_engine
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, NodeEntry
from dcops.actions.config.slurm import SlurmSection
from dcops.actions.config.ssh import SshSection
from dcops.actions.config.prometheus import PrometheusSection
from dcops.actions.rbac import Policy
from dcops.actions.request import Request

async def main(tmp):
    build_parser().parse_args(["run", "drain", "gpu001", "--reason", "x"])
    cfg = DcopsConfig(cluster=ClusterSection(name="lean"), audit=AuditSection(url=f"sqlite:///{tmp}/a.db"),
                      nodes=[NodeEntry(names="gpu[001-004]", partitions=["gpu"])],
                      slurm=SlurmSection(mode="cli", timeout=2.0), ssh=SshSection(),
                      prometheus=PrometheusSection(url="http://127.0.0.1:9"))
    policy = Policy.from_toml('[roles.all]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n')
    eng = await open_engine(cfg, policy=policy)
    try:
        run = await eng.submit(Request(principal="unix:root", channel="cli", action="drain",
                                       params={"nodes": "gpu001", "reason": "x", "dry_run": True}))
        await run.wait()
    except Exception as exc:          # no Slurm here: the drain may fail; the imports are what we check
        pass
    finally:
        await eng.aclose()
    print(json.dumps(sorted(sys.modules)))

asyncio.run(main(sys.argv[1]))
"""


def test_a_slurm_drain_loads_no_kubernetes_textual_slack_or_psycopg(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert out.returncode == 0, out.stderr[-2000:]
    modules = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "dcops.actions.engine" in modules and "dcops.console.cli" in modules  # the check can see imports
    loaded = {m.split(".")[0] for m in modules}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
