"""Tamper tests for `audit verify`: what the chain detects on its own, and what needs a checkpoint."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from dcops.actions.store.base import AuditEntry
from dcops.actions.store.chain import record_hash
from dcops.actions.store.sqlite import SqliteStore


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        ts=f"2026-11-29T04:00:{i:02d}.000000+00:00",
        run_id=f"r{i}",
        event="started",
        principal="unix:alice",
        channel="cli",
        action="drain",
        targets=[f"gpu{i:03d}"],
        params={"nodes": f"gpu{i:03d}", "reason": "xid 79"},
        decision="allow",
    )


@pytest.fixture
async def db(tmp_path: Path):
    store = SqliteStore(str(tmp_path / "audit.db"))
    for i in range(1, 11):
        await store.append([entry(i)])
    head = await store.head()
    await store.aclose()
    return tmp_path / "audit.db", head


async def verify(path: Path, expect=None):
    store = SqliteStore(str(path))
    try:
        return await store.verify(expect)
    finally:
        await store.aclose()


def sql(path: Path, *stmts: str) -> None:
    conn = sqlite3.connect(path)
    for s in stmts:
        conn.execute(s)
    conn.commit()
    conn.close()


async def test_intact_chain_verifies(db) -> None:
    path, head = db
    report = await verify(path, head)
    assert report.ok and report.records == 10 and (report.head_seq, report.head_hash) == head


async def test_one_byte_changed_in_params(db) -> None:
    path, _ = db
    sql(path, "UPDATE audit SET params = replace(params, 'xid 79', 'xid 78') WHERE seq = 4")
    report = await verify(path)
    assert not report.ok and report.first_bad_seq == 4 and "edited" in report.problem


async def test_row_deleted(db) -> None:
    path, _ = db
    sql(path, "DELETE FROM audit WHERE seq = 6")
    report = await verify(path)
    assert not report.ok and report.first_bad_seq == 7


async def test_two_rows_swapped(db) -> None:
    path, _ = db
    conn = sqlite3.connect(path)
    cols = "ts, run_id, event, principal, channel, action, targets, params, decision, outcome, duration, error, detail, owner, prev_hash, hash"
    r3 = conn.execute(f"SELECT {cols} FROM audit WHERE seq = 3").fetchone()
    r5 = conn.execute(f"SELECT {cols} FROM audit WHERE seq = 5").fetchone()
    conn.execute("DELETE FROM audit WHERE seq IN (3, 5)")
    sets = ", ".join(f"{c.strip()} = ?" for c in cols.split(","))
    ins = f"INSERT INTO audit (seq, {cols}) VALUES (?, {', '.join('?' * 16)})"
    conn.execute(ins, (3, *r5))
    conn.execute(ins, (5, *r3))
    conn.commit()
    conn.close()
    del sets
    report = await verify(path)
    assert not report.ok and report.first_bad_seq == 3


async def test_forged_record_with_recomputed_hash_but_wrong_link(db) -> None:
    path, _ = db
    content = entry(99).model_dump()
    content["seq"] = 11
    fake_prev = "f" * 64
    digest = record_hash(fake_prev, content)
    sql(
        path,
        "INSERT INTO audit (seq, ts, run_id, event, principal, channel, action, targets, params, decision, "
        "outcome, duration, error, detail, owner, prev_hash, hash) VALUES (11, '{ts}', 'r99', 'started', "
        "'unix:alice', 'cli', 'drain', '{t}', '{p}', 'allow', NULL, NULL, NULL, NULL, NULL, '{fp}', '{d}')".format(
            ts=content["ts"],
            t=json.dumps(content["targets"]),
            p=json.dumps(content["params"], sort_keys=True),
            fp=fake_prev,
            d=digest,
        ),
    )
    report = await verify(path)
    assert not report.ok and report.first_bad_seq == 11 and "link" in report.problem


async def test_tail_truncation_needs_the_checkpoint(db) -> None:
    path, head = db
    sql(path, "DELETE FROM audit WHERE seq > 7", "DELETE FROM audit_nodes WHERE seq > 7")
    alone = await verify(path)
    assert alone.ok, "a truncated chain is self-consistent: verify alone cannot see it"
    with_checkpoint = await verify(path, head)
    assert not with_checkpoint.ok and "removed" in with_checkpoint.problem


async def test_rewritten_chain_caught_by_checkpoint(db) -> None:
    path, head = db
    # an attacker rewrites record 10 and recomputes its hash consistently
    conn = sqlite3.connect(path)
    row = conn.execute("SELECT prev_hash FROM audit WHERE seq = 10").fetchone()
    content = entry(10).model_dump() | {"seq": 10, "detail": "nothing to see"}
    conn.execute("UPDATE audit SET detail = 'nothing to see', hash = ? WHERE seq = 10", (record_hash(row[0], content),))
    conn.commit()
    conn.close()
    assert (await verify(path)).ok
    report = await verify(path, head)
    assert not report.ok and report.first_bad_seq == 10


async def test_node_index_tampering_is_detected(db) -> None:
    path, _ = db
    sql(path, "DELETE FROM audit_nodes WHERE node = 'gpu003'")
    report = await verify(path)
    assert not report.ok and report.first_bad_seq == 3 and "index" in report.problem
