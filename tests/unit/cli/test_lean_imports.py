"""A command imports only what it uses: a Slurm drain from the CLI (config with Slurm, Redfish, SSH
and Prometheus, no Kubernetes) never loads the Kubernetes client, Textual, slack-bolt or psycopg.
Checked in a fresh interpreter, so an import made by another test cannot hide one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.unit.cli.fresh_probe import REPO, run_probe

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


# What `dcops --demo run ping` must not load: a client it never talks through, the simulator it never
# asks (the demo cluster and each port's adapter are built on first lookup), the backend models
# no port call made, the split verifier's multiprocessing, and the front ends it is not.
NOT_FOR_A_PING = (
    *HEAVY,
    "promql_parser",
    "httpx",
    "asyncssh",
    "cryptography",
    "multiprocessing",
    "dcops.actions.sim.cluster",  # a ping touches no node: the simulated cluster is never built
    "dcops.actions.sim.prometheus",
    "dcops.actions.sim.promql",
    "dcops.actions.sim.kube",
    "dcops.actions.sim.redfish",
    "dcops.actions.sim.ssh",
    "dcops.actions.sim.ansible",
    "dcops.actions.backends.models",
    "dcops.actions.backends.ansible_models",
    "dcops.actions.store.verify_split",
    "dcops.console.tui",
    "dcops.bots",
)

PING = r"""
import json, os, sys
for name in filter(None, os.environ.get("PROBE_PRELOAD", "").split(",")):
    __import__(name)
from dcops.console.cli import main
code = main(["--demo", "run", "ping"])
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}))
"""


def ping_modules(tmp_path: Path, preload: str = "") -> set[str]:
    """``dcops --demo run ping`` through the CLI's entry point in a fresh interpreter: its modules."""
    found, printed = run_probe(tmp_path, PING, env={"PROBE_PRELOAD": preload})
    assert found["exit"] == 0, printed[-2000:]
    assert "pong" in printed  # it really ran the action
    return set(found["modules"])


def loaded(modules: set[str], name: str) -> bool:
    return name in modules or any(m.startswith(name + ".") for m in modules)


def test_run_ping_on_the_demo_loads_only_what_a_ping_uses(tmp_path: Path) -> None:
    modules = ping_modules(tmp_path)
    # the probe sees the run's own imports: the engine, the audit store, the demo's deferred simulator
    assert {"dcops.actions.engine", "dcops.actions.store.sqlite", "dcops.actions.sim.deferred"} <= modules
    assert [m for m in NOT_FOR_A_PING if loaded(modules, m)] == []


def test_the_ping_probe_sees_a_heavy_import_when_one_happens(tmp_path: Path) -> None:
    """The check can fail: the same ping in a process that loaded the PromQL parser, httpx and
    the simulated Prometheus is caught by the same list."""
    modules = ping_modules(tmp_path, preload="promql_parser,httpx,dcops.actions.sim.prometheus")
    caught = {m for m in NOT_FOR_A_PING if loaded(modules, m)}
    assert {"promql_parser", "httpx", "dcops.actions.sim.prometheus"} <= caught, sorted(caught)
