"""Hostlist and no-scheduler bad input through the real `dcops` CLI process: one line, exit 2,
audited as invalid (issue 12's "empty target list", "huge ranges"; issue 13's "no scheduler")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.cli.test_cli import dcops, env, one_line_error  # noqa: F401 - env is a fixture

BIG = "gpu" + "[0-65535]" * 30  # ~300 characters standing for 65536^30 names


@pytest.mark.parametrize(
    "nodes, needle",
    [
        (",", "empty node list ','"),
        (",,,", "empty node list"),
        ("gpu[1-99999999999999]", "one range may name at most 65,536"),
        (BIG, "dcops accepts at most 100,000 in one expression"),
        ("n[01-02]-ib", "text after its last bracket group"),
        ("gpu[001-002]x", "text after its last bracket group"),
    ],
)
def test_bad_hostlists_are_exit_2_and_audited(env, nodes: str, needle: str) -> None:
    p = dcops(env, "--demo", "run", "drain", nodes, "--reason", "x")
    assert p.returncode == 2, (p.stdout, p.stderr)
    line = one_line_error(p)
    assert needle in line and len(line) < 400
    records = json.loads(dcops(env, "--demo", "--json", "audit", "list", "--action", "drain").stdout)
    assert [r["event"] for r in records] == ["invalid", "received"] and needle in records[0]["error"]


def _bmc_only_config(tmp_path: Path) -> Path:
    pol = tmp_path / "p.toml"
    pol.write_text('[roles.a]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["a"]\n')
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[cluster]\nname = "bmc-only"\n[policy]\npath = "{pol}"\n[audit]\nurl = "sqlite:///{tmp_path}/a.db"\n'
        '[[nodes]]\nnames = "dgx-h100-[01-02],n01-ib"\n'
    )
    return cfg


def test_no_scheduler_needs_no_drain_and_the_dry_run_says_so(env, tmp_path: Path) -> None:
    cfg = _bmc_only_config(tmp_path)
    args = (
        "--config",
        str(cfg),
        "run",
        "firmware-update",
        "dgx-h100-[01-02]",
        "--image",
        "http://files.example/bios-2.4.1.bin",
        "--component",
        "BIOS",
    )
    p = dcops(env, *args)
    assert p.returncode == 2 and "add --no-drain to go ahead without draining" in one_line_error(p)
    dry = dcops(env, *args, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "a real run needs --no-drain" in dry.stdout and "no [redfish] section" in dry.stdout
    records = json.loads(
        dcops(env, "--config", str(cfg), "--json", "audit", "list", "--action", "firmware-update").stdout
    )
    assert "invalid" in [r["event"] for r in records]


def test_drain_and_resume_without_a_scheduler(env, tmp_path: Path) -> None:
    cfg = _bmc_only_config(tmp_path)
    for action in ("drain", "resume"):
        extra = ("--reason", "x") if action == "drain" else ()
        p = dcops(env, "--config", str(cfg), "run", action, "n01-ib", *extra)
        assert p.returncode == 2 and "no scheduler (no [slurm] or [kube] section)" in one_line_error(p)
        dry = dcops(env, "--config", str(cfg), "run", action, "n01-ib", *extra, "--dry-run")
        assert dry.returncode == 0 and "would change nothing" in dry.stdout, (dry.stdout, dry.stderr)
