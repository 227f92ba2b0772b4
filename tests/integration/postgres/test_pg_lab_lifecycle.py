"""The PostgreSQL lab's own contract: start over leftovers is clean and idempotent, stop leaves no
process and no file, and the server answers on loopback only. Runs in its own DCOPS_LAB_DIR so the
session's server is untouched."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.lab import postgres as lab

pytestmark = pytest.mark.lab


def _backends(pid: int) -> list[int]:
    """The postmaster's children (checkpointer, walwriter, sessions...), to see that none outlives it."""
    return [
        int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and (p / "stat").exists() and _ppid(p) == pid
    ]


def _ppid(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def test_start_twice_then_stop_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(tempfile.mkdtemp(prefix="dcops-pglab-", dir="/tmp"))
    os.chmod(root, 0o755)  # the postgres user must be able to enter
    monkeypatch.setenv("DCOPS_LAB_DIR", str(root))
    try:
        first = lab.start()
        children = _backends(first.pid)
        assert children and lab.status() == first
        with psycopg.connect(first.url) as conn:
            assert conn.execute("SELECT current_user, inet_server_addr()::text").fetchone() == ("dcops", "127.0.0.1/32")

        second = lab.start()  # over the first one, still running
        assert second.pid != first.pid and not lab._alive(first.pid)
        assert not any(lab._alive(p) for p in children)
        assert lab.status() == second and second.password != first.password
        with psycopg.connect(second.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)

        children = _backends(second.pid)
        assert lab.stop() is True
        assert not lab._alive(second.pid) and not any(lab._alive(p) for p in children)
        assert not (root / "postgres").exists()
        assert lab.status() is None and lab.stop() is False
    finally:
        lab.stop()
        os.rmdir(root)
