"""The sealed audit log through `dcops` as an operator and an attacker use it: keygen, a sealed
demo cluster, verify (also of a read-only copy), and the attacks verify must refuse."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from . import tamper
from .cli import dcops, env_for, no_traceback


@pytest.fixture
def sealed(tmp_path: Path):
    env = env_for(tmp_path)
    p = dcops(env, "audit", "keygen", str(tmp_path / "seal"))
    assert p.returncode == 0 and "key id" in p.stdout
    db = tmp_path / "db" / "audit.db"
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[cluster]\nname = "lab"\ndemo = true\n[audit]\nurl = "sqlite:///{db}"\n'
        f'seal_key = "seal.key"\nseal_public_keys = ["seal.pub"]\nseal_sinks = ["file:{tmp_path}/seals.log"]\n'
        "seal_every = 3\n"
    )
    for _ in range(3):
        assert dcops(env, "--config", str(cfg), "run", "ping").returncode == 0
    return env, cfg, db, tmp_path


def test_verify_reports_seals(sealed) -> None:
    env, cfg, _, _ = sealed
    p = dcops(env, "--config", str(cfg), "--json", "audit", "verify", "--full")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["ok"] and data["seals"]["ok"] and data["seals"]["seals"] >= 2 and data["seals"]["external"] >= 1
    assert data["from_seq"] == 0 and data["records"] == data["head_seq"]


def test_verify_starts_from_the_newest_good_seal_and_full_rereads_everything(sealed) -> None:
    """The default verify walks only what follows the newest seal; an edit behind it (hashes left
    alone) is what ``--full`` is for, and a recompute behind it is caught either way."""
    env, cfg, db, _ = sealed
    p = dcops(env, "--config", str(cfg), "--json", "audit", "verify")
    data = json.loads(p.stdout)
    assert p.returncode == 0 and data["ok"] and data["from_seq"] > 0, p.stdout + p.stderr
    assert data["records"] == data["head_seq"] - data["from_seq"] < data["head_seq"]
    assert data["seals"]["sealed_seq"] == data["from_seq"] and data["seals"]["seals"] == 1
    line = dcops(env, "--config", str(cfg), "audit", "verify").stdout
    assert "intact after seal" in line and "--full" in line
    conn = sqlite3.connect(db)
    conn.execute("UPDATE audit SET principal = 'unix:mallory' WHERE seq = 2")
    conn.commit()
    conn.close()
    full = dcops(env, "--config", str(cfg), "audit", "verify", "--full")
    no_traceback(full)
    assert full.returncode == 1 and "BROKEN at record #2" in full.stdout and "edited" in full.stdout


def test_recompute_is_refused_by_verify_and_by_the_engine(sealed) -> None:
    env, cfg, db, _ = sealed
    conn = tamper.Db(f"sqlite:///{db}")
    conn.write(tamper.recompute(tamper.edit(conn.rows())))
    conn.close()
    p = dcops(env, "--config", str(cfg), "audit", "verify")
    no_traceback(p)
    assert p.returncode == 1 and "rewritten" in p.stdout
    run = dcops(env, "--config", str(cfg), "run", "ping")
    assert run.returncode == 1 and "rewritten" in run.stderr


def test_deleted_database_is_not_recreated(sealed) -> None:
    env, cfg, db, _ = sealed
    for f in db.parent.glob("audit.db*"):
        if f.is_file():
            f.unlink()
    for args in (("run", "ping"), ("audit", "verify"), ("audit", "list")):
        p = dcops(env, "--config", str(cfg), *args)
        no_traceback(p)
        assert p.returncode == 1 and ("missing" in p.stderr or "does not exist" in p.stderr), (args, p.stderr)
        assert not db.exists(), args


def test_zero_byte_database_is_refused(sealed) -> None:
    env, cfg, db, _ = sealed
    for f in db.parent.glob("audit.db-*"):
        f.unlink()
    db.write_bytes(b"")
    p = dcops(env, "--config", str(cfg), "run", "ping")
    assert p.returncode == 1 and "empty" in p.stderr
    assert db.stat().st_size == 0


def test_verify_and_list_a_read_only_copy(sealed) -> None:
    env, cfg, db, tmp = sealed
    copy_dir = tmp / "evidence"
    copy_dir.mkdir()
    src = sqlite3.connect(db)
    dst = sqlite3.connect(copy_dir / "audit.db")
    src.backup(dst)
    src.close()
    dst.close()
    ro_cfg = tmp / "ro.toml"
    ro_cfg.write_text(
        cfg.read_text()
        .replace(str(db), str(copy_dir / "audit.db"))
        .replace(f'seal_sinks = ["file:{tmp}/seals.log"]\n', "")
    )
    os.chmod(copy_dir / "audit.db", 0o444)
    os.chmod(copy_dir, 0o555)
    before = (copy_dir / "audit.db").read_bytes()
    try:
        v = dcops(env, "--config", str(ro_cfg), "audit", "verify", "--seals", str(tmp / "seals.log"))
        assert v.returncode == 0 and "seal(s) good" in v.stdout and "read-only" in v.stderr, v.stderr
        listing = dcops(env, "--config", str(ro_cfg), "--json", "audit", "list")
        assert listing.returncode == 0 and any(r["event"] == "seal" for r in json.loads(listing.stdout))
        assert sorted(p.name for p in copy_dir.iterdir()) == ["audit.db"]
        assert (copy_dir / "audit.db").read_bytes() == before
    finally:
        os.chmod(copy_dir, 0o755)


@pytest.mark.parametrize("head", ["garbage", "12", "1:" + "g" * 64, "-1:" + "0" * 64, "9" * 40 + ":" + "0" * 64])
def test_expect_head_garbage_is_bad_input(tmp_path: Path, head: str) -> None:
    env = env_for(tmp_path)
    p = dcops(env, "--demo", "audit", "verify", f"--expect-head={head}")
    no_traceback(p)
    assert p.returncode == 2 and "SEQ:HASH" in p.stderr
    listing = dcops(env, "--demo", "--json", "audit", "list", "--action", "audit-verify", "--event", "invalid")
    assert json.loads(listing.stdout), "the refused request is audited"


def test_seals_file_missing_is_bad_input(sealed) -> None:
    env, cfg, _, tmp = sealed
    p = dcops(env, "--config", str(cfg), "audit", "verify", "--seals", str(tmp / "nope.log"))
    no_traceback(p)
    assert p.returncode == 2 and "nope.log" in p.stderr


def test_bad_seal_config_names_the_key(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    cfg = tmp_path / "c.toml"
    cfg.write_text('[cluster]\ndemo = true\n[audit]\nseal_key = "k"\nseal_sinks = ["ftp://x"]\n')
    p = dcops(env, "--config", str(cfg), "run", "ping")
    assert p.returncode == 2 and "audit" in p.stderr and "ftp://x" in p.stderr
    cfg.write_text("[cluster]\ndemo = true\n[audit]\nseal_every = 0\n")
    p = dcops(env, "--config", str(cfg), "run", "ping")
    assert p.returncode == 2 and "audit.seal_every" in p.stderr
