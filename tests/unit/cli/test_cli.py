"""The `dcops` CLI as a user runs it: a real process, one-line errors, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = dict(os.environ)
    e.update(
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    e.pop("DCOPS_CONFIG", None)
    return e


def dcops(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dcops.console.cli", *args],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
        input=stdin,
        timeout=120,
    )


def one_line_error(p: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout
    lines = [l for l in p.stderr.splitlines() if l.startswith("dcops:")]
    assert len(lines) == 1, p.stderr
    return lines[0]


@pytest.mark.parametrize(
    "args, code, needle",
    [
        (("--demo", "run", "nope"), 2, "unknown action 'nope'"),
        (("--demo", "run", "drain", "gpu001"), 2, "--reason is required"),
        (("--demo", "run", "drain", "gpu[001-", "--reason", "x"), 2, "malformed hostlist"),
        (("--demo", "run", "drain", "gpu999", "--reason", "x"), 2, "unknown node gpu999"),
        (("--demo", "run", "drain", "gpu001", "--resaon", "x"), 2, "unknown option --resaon"),
        (("--demo", "run", "drain", "gpu001", "--reason", "x y"), 0, None),
        (("--demo", "--as", "unix:viewer", "run", "drain", "gpu001", "--reason", "x"), 4, "denied"),
        (
            ("--demo", "--as", "unix:oncall", "run", "drain", "gpu[050-060]", "--reason", "x"),
            4,
            "gpu[057-060] are outside",
        ),
        (("--as", "unix:root", "run", "ping"), 2, "no config file"),
        (("--config", "/nonexistent.toml", "run", "ping"), 2, "does not exist"),
        (("--demo", "frobnicate"), 2, "invalid choice"),
    ],
)
def test_errors_are_one_line_with_exit_codes(env, args, code, needle) -> None:
    p = dcops(env, *args)
    assert p.returncode == code, (p.stdout, p.stderr)
    if needle:
        assert needle in one_line_error(p)


def test_bad_config_and_policy_files(env, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[cluster\nname=1")
    assert "not valid TOML" in one_line_error(dcops(env, "--config", str(cfg), "run", "ping"))
    cfg.write_text('[cluster]\nname = "x"\nnmae = "typo"\n')
    assert "cluster.nmae" in one_line_error(dcops(env, "--config", str(cfg), "run", "ping"))
    pol = tmp_path / "p.toml"
    pol.write_text('[roles.x]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["nope"]\n')
    cfg.write_text(f'[cluster]\nname = "x"\n[policy]\npath = "{pol}"\n[audit]\nurl = "sqlite:///{tmp_path}/a.db"\n')
    p = dcops(env, "--config", str(cfg), "run", "ping")
    assert p.returncode == 2 and "nope" in one_line_error(p)


def test_corrupted_audit_database_is_one_line(env, tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    db.write_bytes(os.urandom(8192))
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[cluster]\nname = "x"\n[audit]\nurl = "sqlite:///{db}"\n[policy]\npath = "{tmp_path}/p.toml"\n')
    (tmp_path / "p.toml").write_text(
        '[roles.a]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["a"]\n'
    )
    p = dcops(env, "--config", str(cfg), "audit", "verify")
    assert p.returncode == 1 and "audit database" in one_line_error(p)


def test_confirmation_audit_review_and_policy_check(env) -> None:
    # non-interactive cancel needs the token; with it the run is audited
    jobs = json.loads(
        "["
        + ",".join(dcops(env, "--demo", "--json", "run", "jobs", "--state", "RUNNING").stdout.strip().splitlines())
        + "]"
    )
    result = next(e for e in jobs if e["kind"] == "result")
    job = str(result["data"][0]["job_id"])
    p = dcops(env, "--demo", "run", "cancel", job)
    assert p.returncode == 2 and "--confirm 1" in one_line_error(p)
    p = dcops(env, "--demo", "run", "--confirm", "1", "cancel", job)
    assert p.returncode == 0, p.stderr
    listing = dcops(env, "--demo", "--json", "audit", "list", "--action", "cancel")
    records = json.loads(listing.stdout)
    assert {r["event"] for r in records} >= {"received", "started", "step", "finished"}
    run_id = records[0]["run_id"]
    show = dcops(env, "--demo", "audit", "show", run_id)
    assert show.returncode == 0 and "finished" in show.stdout and f"cancel {job}"[:6] in show.stdout
    csv_out = dcops(env, "--demo", "audit", "list", "--node", "gpu001", "--csv")
    assert csv_out.returncode == 0 and csv_out.stdout.startswith("seq,time,run,event")
    assert dcops(env, "--demo", "audit", "verify").returncode == 0
    head = dcops(env, "--demo", "audit", "head").stdout.strip()
    seq, digest = head.split(":")
    assert int(seq) > 0 and len(digest) == 64
    assert dcops(env, "--demo", "audit", "verify", "--expect-head", head).returncode == 0
    exported = dcops(env, "--demo", "audit", "export").stdout.strip().splitlines()
    assert len(exported) >= int(seq) and json.loads(exported[0])["seq"] == 1
    allow = dcops(env, "--demo", "policy", "check", "unix:oncall", "drain", "gpu[001-004]")
    assert allow.returncode == 0 and allow.stdout.startswith("allowed")
    deny = dcops(env, "--demo", "policy", "check", "unix:oncall", "drain", "gpu[050-060]")
    assert deny.returncode == 1 and "gpu[057-060]" in deny.stdout


def test_as_is_refused_outside_demo(env, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[cluster]\nname = "x"\n[audit]\nurl = "sqlite:///{tmp_path}/a.db"\n')
    p = dcops(env, "--config", str(cfg), "--as", "unix:root", "run", "ping")
    assert p.returncode == 2 and "only accepted in demo mode" in one_line_error(p)


def test_unparsable_command_is_audited(env) -> None:
    p = dcops(env, "--demo", "run", "drain", "gpu001", "--reason")
    assert p.returncode == 2 and "--reason needs a value" in one_line_error(p)
    records = json.loads(dcops(env, "--demo", "--json", "audit", "list", "--action", "drain").stdout)
    assert [r["event"] for r in records] == ["invalid", "received"]
    assert "--reason needs a value" in records[0]["error"]
