"""A command imports only what it uses (issue 16): a Slurm drain and resume through the real ``dcops``
entry point, from a config file, against the lab's Slurm cluster, in a fresh interpreter that then
lists ``sys.modules``. The Kubernetes client, Textual, slack-bolt and psycopg must not be among
them: each costs start time (the Kubernetes client alone ~1 s) and none is needed to drain a node."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.lab.slurm import SlurmLab

# what a Slurm-only drain must never load (top-level package names)
NOT_FOR_A_DRAIN = (
    "kubernetes",
    "textual",
    "slack_bolt",
    "slack_sdk",
    "psycopg",
    "psycopg_pool",
    "asyncssh",
    "dcops.console.tui",
    "bots",
)

PROBE = """
import json, os, sys
for name in filter(None, os.environ.get("PROBE_PRELOAD", "").split(",")):
    __import__(name)
from dcops.console.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    json.dump({"exit": code, "modules": sorted(sys.modules)}, out)
"""


def write_config(tmp_path: Path, cluster: SlurmLab) -> Path:
    (tmp_path / "policy.toml").write_text(
        '[roles.all]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'
    )
    cfg = tmp_path / "dcops.toml"
    env = ", ".join(f'{k} = "{v}"' for k, v in cluster.env.items())
    cfg.write_text(
        f'[cluster]\nname = "slurm-lab"\n[audit]\nurl = "sqlite:///{tmp_path / "audit.db"}"\n'
        f'[policy]\npath = "{tmp_path / "policy.toml"}"\n[guards]\nmax_partition_unavailable = 1.0\n'
        f"[slurm]\ntimeout = 8\nenv = {{ {env} }}\n"
    )
    return cfg


def probe(tmp_path: Path, label: str, *argv: str, preload: str = "") -> tuple[int, set[str], str]:
    report = tmp_path / f"modules-{label}.json"
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "PROBE_PRELOAD": preload,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert report.exists(), done.stderr
    found = json.loads(report.read_text())
    return found["exit"], set(found["modules"]), done.stdout + done.stderr


def loaded(modules: set[str], name: str) -> bool:
    return name in modules or any(m.startswith(name + ".") for m in modules)


def test_a_slurm_drain_and_resume_import_no_kubernetes_textual_slack_or_psycopg(
    tmp_path: Path, cluster: SlurmLab
) -> None:
    cfg = str(write_config(tmp_path, cluster))
    code, modules, out = probe(tmp_path, "drain", "--config", cfg, "run", "drain", "gpu005", "--reason", "imports")
    assert code == 0, out
    assert "DRAIN" in cluster.node("gpu005")["State"], out  # it really drained, through Slurm
    assert loaded(modules, "dcops.actions.backends.slurm_cli")  # ... through the CLI adapter
    assert [m for m in NOT_FOR_A_DRAIN if loaded(modules, m)] == []

    code, modules, out = probe(tmp_path, "resume", "--config", cfg, "run", "resume", "gpu005")
    assert code == 0, out
    assert "DRAIN" not in cluster.node("gpu005")["State"], out
    assert [m for m in NOT_FOR_A_DRAIN if loaded(modules, m)] == []


def test_the_probe_sees_a_heavy_import_when_one_happens(tmp_path: Path, cluster: SlurmLab) -> None:
    """The check can fail: the same drain in a process that did load Textual and the Kubernetes
    client is caught by the same list."""
    cfg = str(write_config(tmp_path, cluster))
    code, modules, out = probe(
        tmp_path,
        "preloaded",
        "--config",
        cfg,
        "run",
        "drain",
        "gpu006",
        "--reason",
        "imports",
        preload="textual.app,kubernetes.client",
    )
    assert code == 0, out
    assert [m for m in NOT_FOR_A_DRAIN if loaded(modules, m)] == ["kubernetes", "textual"]
