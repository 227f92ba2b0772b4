"""Several dcops processes share one PostgreSQL store: one chain that never forks, node locks that
exclude across processes and die with them, runs of dead processes (here or on another host) closed
as interrupted, approvals decided in one process and seen in another."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from dcops.actions.errors import LockBusy
from dcops.actions.owner import owner_is_dead
from dcops.actions.store.base import AuditQuery
from dcops.actions.store.postgres import PostgresStore
from tests.integration.postgres.pg_worker import spawn

pytestmark = pytest.mark.lab


def _ready(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"


def _go(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()


async def test_eight_processes_500_actions_each(pg_url: str) -> None:
    procs = [spawn(pg_url, "ping", "500", "--gate") for _ in range(8)]
    _ready(procs)
    _go(procs)
    for p in procs:
        out, _ = p.communicate(timeout=240)
        assert p.returncode == 0 and out.startswith("done"), out
    store = PostgresStore(pg_url)
    try:
        finished = await store.query(AuditQuery(event="finished", limit=None))
        assert len(finished) == 4000 and all(r.outcome == "ok" for r in finished)
        assert len({r.run_id for r in finished}) == 4000
        assert len({r.owner for r in finished}) == 8
        report = await store.verify()
        assert report.ok and report.records == 12000 and report.head_seq == 12000, report.line()
    finally:
        await store.aclose()


def _intervals(marks: Path) -> list[tuple[float, float, str]]:
    starts: dict[str, float] = {}
    out = []
    for line in marks.read_text().splitlines():
        what, _pid, ts, run_id = line.split()
        if what == "start":
            starts[run_id] = float(ts)
        else:
            out.append((starts.pop(run_id), float(ts), run_id))
    assert not starts, f"a run started but never ended: {starts}"
    return sorted(out)


def _drain_pair(url: str, marks: Path, wait: float) -> list[str]:
    """Two processes drain n02 at the same moment. Whoever gets the lock keeps acting until the test
    releases it: once one process is refused (or has waited a while), so the outcome does not hang on
    how fast a loaded machine schedules the two."""
    env = {"DCOPS_TEST_LOCK_WAIT": str(wait)}
    procs = [spawn(url, "drain", "n02", str(marks), env=env) for _ in range(2)]
    _ready(procs)
    _go(procs)
    deadline = time.monotonic() + 30
    while not (marks.exists() and marks.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    if wait == 0:
        while all(p.poll() is None for p in procs) and time.monotonic() < deadline:
            time.sleep(0.05)
    else:
        time.sleep(1.0)
        assert all(p.poll() is None for p in procs), "the second drain did not wait for the lock"
    assert marks.read_text().count("start") == 1, "both processes acted on n02 at once"
    marks.with_name(marks.name + ".release").touch()
    outs = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0, out
        outs.append(out.strip())
    return outs


async def test_two_drains_of_one_node_one_is_refused_naming_the_holder(pg_url: str, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    outs = _drain_pair(pg_url, marks, wait=0)
    ok = [o for o in outs if o.startswith("ok ")]
    failed = [o for o in outs if o.startswith("failed ")]
    assert len(ok) == 1 and len(failed) == 1, outs
    winner = ok[0].split()[1]
    assert f"n02 is locked by run {winner}" in failed[0]
    acted = _intervals(marks)
    assert [run for _, _, run in acted] == [winner]  # only the lock holder touched the node


async def test_two_drains_of_one_node_the_second_waits_its_turn(pg_url: str, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    outs = _drain_pair(pg_url, marks, wait=30)
    assert all(o.startswith("ok ") for o in outs), outs
    (s1, e1, r1), (s2, e2, r2) = _intervals(marks)
    assert r1 != r2 and s2 >= e1, f"both acted at once: {r1} {s1}-{e1}, {r2} {s2}-{e2}"


async def _wait_lock(store: PostgresStore, node: str, timeout: float) -> None:
    handle = await store.lock([node], "r-after", wait=timeout)
    await handle.release()


async def test_kill_9_releases_the_lock_and_the_run_is_closed_interrupted(pg_url: str) -> None:
    p = spawn(pg_url, "hang", "n03")
    assert p.stdout is not None
    run_id = p.stdout.readline().strip()
    assert run_id.startswith("r")
    store = PostgresStore(pg_url)
    try:
        with pytest.raises(LockBusy, match=f"n03 is locked by run {run_id}"):
            await store.lock(["n03"], "r-other", wait=0)
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
        await _wait_lock(store, "n03", timeout=10)  # the server ended the dead session: the lock is free
        events = [r.event for r in await store.query(AuditQuery(run_id=run_id, newest_first=False))]
        assert events == ["received", "started", "step"]
    finally:
        await store.aclose()
    nxt = spawn(pg_url, "start")
    out, _ = nxt.communicate(timeout=60)
    assert nxt.returncode == 0 and run_id in out
    store = PostgresStore(pg_url)
    try:
        fin = await store.query(AuditQuery(run_id=run_id, event="finished"))
        assert len(fin) == 1 and fin[0].outcome == "interrupted" and str(p.pid) in (fin[0].detail or "")
        assert await store.close_interrupted(owner_is_dead, "me") == []  # closed once, not twice
        assert (await store.verify()).ok
    finally:
        await store.aclose()


async def test_a_run_on_another_host_is_closed_only_when_its_lease_runs_out(pg_url: str) -> None:
    env = {"DCOPS_TEST_HOST": "gpu-console-7", "DCOPS_TEST_LEASE": "2.5"}
    p = spawn(pg_url, "hang", "n04", env=env)
    assert p.stdout is not None
    run_id = p.stdout.readline().strip()
    store = PostgresStore(pg_url)
    try:
        [open_run] = await store.open_runs()
        assert open_run.run_id == run_id and open_run.owner.startswith("gpu-console-7:")
        await asyncio.sleep(6.0)  # more than two leases: only heartbeats keep it alive
        assert await store.close_interrupted(owner_is_dead, "me") == []
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
        deadline = time.monotonic() + 15
        closed: list[str] = []
        while not closed and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            closed = await store.close_interrupted(owner_is_dead, "me")
        assert closed == [run_id]
        [fin] = await store.query(AuditQuery(run_id=run_id, event="finished"))
        assert fin.outcome == "interrupted" and "lease ran out" in (fin.detail or "")
        await _wait_lock(store, "n04", timeout=10)
    finally:
        await store.aclose()


async def test_approval_granted_in_one_process_is_seen_by_the_requester(pg_url: str) -> None:
    requester = spawn(pg_url, "request")
    assert requester.stdout is not None
    approval_id = requester.stdout.readline().strip()
    assert approval_id.startswith("a-")
    approvers = [spawn(pg_url, "approve", approval_id) for _ in range(2)]
    results = [a.communicate(timeout=60)[0].strip() for a in approvers]
    assert sorted(r.split()[0] for r in results) == ["ok", "refused"], results  # exactly one ran it
    seen, _ = requester.communicate(timeout=60)
    assert seen.strip() in ("seen granted unix:bob", "seen used unix:bob"), seen
    store = PostgresStore(pg_url)
    try:
        appr = await store.get_approval(approval_id)
        assert appr is not None and appr.state == "used" and appr.decided_by == "unix:bob"
        granted = await store.query(AuditQuery(event="approval-granted"))
        assert len(granted) == 1 and granted[0].principal == "unix:bob"
        runs = await store.query(AuditQuery(action="test-approved", event="finished"))
        assert [r.outcome for r in runs] == ["ok"] and runs[0].principal == "unix:alice"
    finally:
        await store.aclose()
