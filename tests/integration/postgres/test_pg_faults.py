"""PostgreSQL restarted, or crashed, while four dcops processes write to the shared audit log: no
record a process was told is written goes missing, the chain does not fork, and no action runs
without its "started" record (a run that could not record refuses to act, with one line saying why).

The crash ("immediate" stop: every server process quits at once, WAL still in shared memory is
lost, the next start replays the WAL files) holds crash recovery to the same promises."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

import pytest

from dcops.actions.store.base import AuditQuery
from dcops.actions.store.postgres import PostgresStore
from tests.integration.postgres.pg_worker import spawn
from tests.lab import postgres as lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]
WORKERS, ATTEMPTS = 4, 120


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_restart_while_four_processes_write(pg_lab, pg_url, tmp_path, mode):
    marks = tmp_path / "acted"
    procs = [
        spawn(pg_url, "act", str(ATTEMPTS), str(marks), env={"DCOPS_TEST_LOCK_WAIT": "30"}) for _ in range(WORKERS)
    ]
    lines: list[list[str]] = [[] for _ in procs]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"

        def read(i: int) -> None:
            assert procs[i].stdout is not None
            lines[i].extend(line.strip() for line in procs[i].stdout)

        readers = [threading.Thread(target=read, args=(i,)) for i in range(WORKERS)]
        for t in readers:
            t.start()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        while sum(len(x) for x in lines) < WORKERS * 10:  # the writers are well under way
            time.sleep(0.02)
        old_pid = pg_lab.pid
        restarted = lab.restart(down_for=1.5, mode=mode)
        assert restarted.pid != old_pid
        for p in procs:
            p.wait(180)
        for t in readers:
            t.join(10)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    results = [line for per in lines for line in per]
    assert len(results) == WORKERS * ATTEMPTS, results[-5:]
    kinds = Counter(line.split(" ", 1)[0] for line in results)
    assert set(kinds) <= {"ok", "failed", "refused"}, kinds
    for line in results:  # every failure is one line naming the database
        if not line.startswith("ok"):
            assert "audit database" in line, line

    closer = spawn(pg_url, "start")  # closes runs of the (now dead) writers
    closer.wait(60)
    store = PostgresStore(pg_url)
    try:
        report = await store.verify()
        assert report.ok, report.line()  # no fork, no gap
        records = await store.query(AuditQuery(limit=None, newest_first=False))
        started = {r.run_id for r in records if r.event == "started"}
        finished = Counter(r.run_id for r in records if r.event == "finished")
        acted = {line.split()[1] for line in marks.read_text().splitlines()} if marks.exists() else set()
        assert acted <= started  # nothing ran unaudited
        ok_runs = {line.split()[1] for line in results if line.startswith("ok")}
        assert ok_runs <= acted and ok_runs <= started  # nothing a writer was told is written is lost
        assert all(finished[r] == 1 for r in started), [r for r in started if finished[r] != 1][:5]
        assert len(acted) <= kinds["ok"] + kinds["failed"]  # a refused attempt never acted
        assert report.records == len(records)
    finally:
        await store.aclose()
    print(
        f"\nattempts {dict(kinds)}; records {len(records)}; pid {old_pid} -> {restarted.pid}; "
        f"writer pids gone: {[p.pid for p in procs if not os.path.exists(f'/proc/{p.pid}')]}"
    )
