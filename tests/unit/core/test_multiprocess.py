"""Several processes share one SQLite audit log: no lost record, no fork; a process killed with
SIGKILL mid-action leaves a trail the next start closes as `interrupted`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from dcops.actions.store.base import AuditQuery
from dcops.actions.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[3]


def worker(db: Path, mode: str, n: int = 0, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.unit.core.worker", str(db), mode, str(n)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        **kw,
    )


async def test_four_processes_500_actions_each(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    procs = [worker(db, "ping", 500) for _ in range(4)]
    for p in procs:
        assert p.wait(timeout=240) == 0
    store = SqliteStore(str(db))
    try:
        finished = await store.query(AuditQuery(event="finished", limit=None))
        assert len(finished) == 2000 and all(r.outcome == "ok" for r in finished)
        assert len({r.run_id for r in finished}) == 2000
        report = await store.verify()
        assert report.ok and report.records == 6000, report.line()
    finally:
        await store.aclose()


async def test_kill_9_mid_action_is_closed_as_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    p = worker(db, "hang")
    run_id = p.stdout.readline().strip()
    assert run_id.startswith("r")
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    store = SqliteStore(str(db))
    try:
        events = [r.event for r in sorted(await store.query(AuditQuery(run_id=run_id)), key=lambda r: r.seq)]
        assert events == ["received", "started", "step"]  # the trail so far survived the kill
    finally:
        await store.aclose()
    nxt = worker(db, "start")
    out, _ = nxt.communicate(timeout=60)
    assert nxt.returncode == 0 and run_id in out
    store = SqliteStore(str(db))
    try:
        fin = await store.query(AuditQuery(run_id=run_id, event="finished"))
        assert len(fin) == 1 and fin[0].outcome == "interrupted" and str(p.pid) in fin[0].detail
        assert (await store.verify()).ok
        # the node lock died with the process: a new run on n01 is not refused
        handle = await store.lock(["n01"], "r-next", wait=0)
        await handle.release()
    finally:
        await store.aclose()
