"""The fast verify path (``store/verify_fast.py``) attacked where it differs from re-encoding each
record: text spliced without escaping, stored JSON spliced as is, the node index checked per record
by count and joined names, and the index's ts. Each attack must be refused; each legitimate
record the fast path cannot take (quotes, backslashes, control characters, spaced JSON of older
logs, params holding a separator) must still verify."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dcops.actions.store.base import AuditEntry, AuditQuery
from dcops.actions.store.chain import GENESIS, canonical, stored_json
from dcops.actions.store.sqlite import _FAST_ROWS, SqliteStore
from dcops.actions.store.verify_fast import fast_text


def entry(i: int, **kw) -> AuditEntry:
    base = dict(
        ts=f"2026-11-29T04:00:{i:02d}.000000+00:00",
        run_id=f"r{i}",
        event="started",
        principal="unix:alice",
        channel="cli",
        action="drain",
        targets=[f"gpu{i:03d}"],
        params={"nodes": f"gpu{i:03d}"},
        decision="allow",
    )
    return AuditEntry(**{**base, **kw})


async def make(tmp_path: Path, entries: list[AuditEntry]) -> SqliteStore:
    store = SqliteStore(str(tmp_path / "audit.db"))
    for e in entries:
        await store.append([e])
    return store


def sql(store: SqliteStore, *stmts: str, args: tuple = ()) -> None:
    conn = sqlite3.connect(store.path)
    for s in stmts:
        conn.execute(s, args if "?" in s else ())
    conn.commit()
    conn.close()


async def test_records_the_fast_path_cannot_take_still_verify_and_their_edits_are_caught(tmp_path: Path) -> None:
    odd = [
        entry(1, detail='drained "gpu001" (xid 79)'),
        entry(2, error="C:\\path\\to"),
        entry(3, detail="two\nlines"),
        entry(4, params={"action": "drain", "principal": "unix:bob"}),  # params holding ,"principal":
        entry(5, targets=['we"ird', "gpu\\5"]),
        entry(6, duration=0.1 + 0.2),
        entry(7, principal="unix:zoë"),
    ]
    store = await make(tmp_path, odd)
    try:
        assert (await store.verify()).ok
        for seq, stmt in (
            (1, "UPDATE audit SET detail = 'drained \"gpu002\" (xid 79)' WHERE seq = 1"),
            (2, "UPDATE audit SET error = 'C:\\path\\tx' WHERE seq = 2"),
            (3, "UPDATE audit SET detail = 'two' || char(13) || 'lines' WHERE seq = 3"),
            (6, "UPDATE audit SET duration = 0.3 WHERE seq = 6"),
        ):
            conn = sqlite3.connect(store.path)
            before = conn.execute("SELECT * FROM audit WHERE seq = ?", (seq,)).fetchone()
            conn.close()
            sql(store, stmt)
            report = await store.verify()
            assert not report.ok and report.first_bad_seq == seq and "edited" in (report.problem or ""), stmt
            conn = sqlite3.connect(store.path)  # put it back for the next attack
            conn.execute(f"REPLACE INTO audit VALUES ({','.join('?' * len(before))})", before)
            conn.commit()
            conn.close()
            assert (await store.verify()).ok
    finally:
        await store.aclose()


async def test_a_backslash_turned_into_its_escape_is_not_taken_for_the_control_character(tmp_path: Path) -> None:
    """Spliced unescaped, a detail of backslash + n would read like the escaped newline it replaced."""
    store = await make(tmp_path, [entry(1, detail="a\nb")])
    try:
        sql(store, "UPDATE audit SET detail = 'a\\nb' WHERE seq = 1")
        report = await store.verify()
        assert not report.ok and report.first_bad_seq == 1
    finally:
        await store.aclose()


async def test_params_shifted_into_targets_with_the_same_bytes_is_refused(tmp_path: Path) -> None:
    """The one split the splice must never accept: params that hold the keys following them. The
    spliced text of the edited row is byte for byte the hashed one; only the separator checks stop it."""
    params = {"a": 1, "principal": "x", "run_id": "y", "seq": 1, "targets": ["z"]}
    store = await make(tmp_path, [entry(1, params=params, targets=["n1"], principal="unix:alice", run_id="r1")])
    try:
        conn = sqlite3.connect(store.path)
        conn.execute(
            "UPDATE audit SET params = ?, principal = 'x', run_id = 'y', targets = ? WHERE seq = 1",
            ('{"a":1', '["z"]},"principal":"unix:alice","run_id":"r1","seq":1,"targets":["n1"]'),
        )
        conn.execute("UPDATE audit_nodes SET node = 'z' WHERE seq = 1")
        conn.commit()
        row = conn.execute(_FAST_ROWS, (0, 1 << 62)).fetchone()
        conn.close()
        # the splice as the fast path would build it, were it not refused for the separators
        seq, _, _, action, channel, decision, detail, _, error, event, outcome, owner, p, prin, run, t, ts = row
        spliced = (
            f'{{"action":"{action}","channel":"{channel}","decision":"{decision}","detail":null,"duration":null,'
            f'"error":null,"event":"{event}","outcome":null,"owner":null,"params":{p},"principal":"{prin}",'
            f'"run_id":"{run}","seq":{seq},"targets":{t},"ts":"{ts}"}}'
        )
        assert fast_text(row) is None
        original = canonical({**entry(1, params=params, targets=["n1"]).model_dump(), "seq": 1}).decode()
        assert spliced == original  # the attack is real: same bytes, same hash
        report = await store.verify()
        assert not report.ok and report.first_bad_seq == 1 and "cannot be read" in (report.problem or "")
    finally:
        await store.aclose()


@pytest.mark.parametrize(
    "tamper",
    [
        # one index row naming two nodes, with the right ts: the joined names read the same
        [
            "DELETE FROM audit_nodes WHERE seq = 2",
            "INSERT INTO audit_nodes (node, seq, ts) SELECT 'gpu002\",\"gpu102', 2, ts FROM audit WHERE seq = 2",
        ],
        # ... and an orphan row elsewhere so the total count of index rows stays right
        [
            "DELETE FROM audit_nodes WHERE seq = 2",
            "INSERT INTO audit_nodes (node, seq, ts) SELECT 'gpu002\",\"gpu102', 2, ts FROM audit WHERE seq = 2",
            "INSERT INTO audit_nodes (node, seq, ts) VALUES ('gpu777', 99, '2026-11-29T04:00:02.000000+00:00')",
        ],
        # a row moved to another day hides the record from --node X --since
        ["UPDATE audit_nodes SET ts = '2020-01-01T00:00:00.000000+00:00' WHERE seq = 3"],
        # a row dropped from one record and an orphan added elsewhere: totals equal, records not
        [
            "DELETE FROM audit_nodes WHERE seq = 2 AND node = 'gpu102'",
            "INSERT INTO audit_nodes (node, seq, ts) VALUES ('gpu102', 99, '2026-11-29T04:00:02.000000+00:00')",
        ],
        # a duplicate row for one record and a row missing from another
        [
            "INSERT INTO audit_nodes (node, seq, ts) SELECT node, seq, ts FROM audit_nodes WHERE seq = 1",
            "DELETE FROM audit_nodes WHERE seq = 4",
        ],
        ["INSERT INTO audit_nodes (node, seq, ts) VALUES ('gpu001', 0, NULL)"],
    ],
)
async def test_node_index_attacks_are_caught(tmp_path: Path, tamper: list[str]) -> None:
    store = await make(tmp_path, [entry(1), entry(2, targets=["gpu002", "gpu102"]), entry(3), entry(4), entry(5)])
    try:
        assert (await store.verify()).ok
        sql(store, *tamper)
        report = await store.verify()
        assert not report.ok and "node search index" in (report.problem or ""), report
    finally:
        await store.aclose()


async def test_an_older_log_with_spaced_json_and_no_index_ts_is_upgraded_and_verifies(tmp_path: Path) -> None:
    """A log written before this version: targets/params as ``json.dumps`` spaced them, the node index
    without ts. Opening it adds and fills the column; verify takes the slow path for those rows."""
    store = await make(
        tmp_path, [entry(i, targets=[f"gpu{i:03d}", "gpu900"], params={"a": i, "b": "ü"}) for i in range(1, 6)]
    )
    await store.aclose()
    conn = sqlite3.connect(tmp_path / "audit.db")
    for seq, targets, params in conn.execute("SELECT seq, targets, params FROM audit").fetchall():
        conn.execute(
            "UPDATE audit SET targets = ?, params = ? WHERE seq = ?",
            (json.dumps(json.loads(targets)), json.dumps(json.loads(params), sort_keys=True), seq),
        )
    conn.executescript(
        "CREATE TABLE n2 AS SELECT node, seq FROM audit_nodes; DROP TABLE audit_nodes; "
        "ALTER TABLE n2 RENAME TO audit_nodes; PRAGMA user_version = 0;"
    )
    conn.commit()
    assert '", "' in conn.execute("SELECT targets FROM audit WHERE seq = 1").fetchone()[0]
    conn.close()
    store = SqliteStore(str(tmp_path / "audit.db"))
    try:
        report = await store.verify()
        assert report.ok and report.records == 5
        since = await store.query(AuditQuery(node="gpu900", since="2026-11-29T04:00:03+00:00", limit=None))
        assert [r.seq for r in since] == [5, 4, 3]
        sql(store, "UPDATE audit SET params = replace(params, '\"a\": 2', '\"a\": 7') WHERE seq = 2")
        assert (await store.verify()).first_bad_seq == 2
    finally:
        await store.aclose()


async def test_node_since_search_reads_the_index_ts_and_agrees_with_filtering(tmp_path: Path) -> None:
    store = await make(tmp_path, [entry(i, targets=["gpu001"] if i % 2 else ["gpu002"]) for i in range(1, 41)])
    try:
        everything = await store.query(AuditQuery(node="gpu001", limit=None))
        since = await store.query(AuditQuery(node="gpu001", since="2026-11-29T04:00:20+00:00", limit=None))
        assert [r.seq for r in since] == [r.seq for r in everything if r.ts >= "2026-11-29T04:00:20"] != []
        conn = sqlite3.connect(store.path)
        plan = " ".join(
            r[-1]
            for r in conn.execute(
                "EXPLAIN QUERY PLAN SELECT a.seq FROM audit_nodes n JOIN audit a ON a.seq = n.seq "
                "WHERE n.node = 'gpu001' AND n.ts >= '2026' AND a.ts >= '2026' ORDER BY n.seq DESC LIMIT 200"
            )
        )
        conn.close()
        assert "audit_nodes_node_ts" in plan or "audit_nodes_node_seq" in plan, plan
    finally:
        await store.aclose()


text = st.text(st.characters(codec="utf-8"), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "principal": text,
                "detail": st.none() | text,
                "error": st.none() | text,
                "duration": st.none() | st.floats(allow_nan=False, allow_infinity=False),
                "targets": st.lists(text, max_size=3),
                "params": st.dictionaries(text, text | st.integers(), max_size=3),
            }
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_records_verify_and_the_fast_text_is_the_canonical_text(tmp_path_factory, records) -> None:
    import asyncio

    path = tmp_path_factory.mktemp("h")
    entries = [entry(i, **r) for i, r in enumerate(records, start=1)]

    async def run() -> None:
        store = await make(path, entries)
        try:
            assert (await store.verify()).ok
            assert (await store.verify_since((0, GENESIS))).records == len(entries)
        finally:
            await store.aclose()

    asyncio.run(run())
    conn = sqlite3.connect(path / "audit.db")
    for e, row in zip(entries, conn.execute(_FAST_ROWS, (0, 1 << 62)), strict=True):
        spliced = fast_text(row)
        if spliced is not None:  # whenever the fast path takes a record, its text is the canonical one
            recorded = {**e.model_dump(), "seq": row[0]}
            if e.duration is not None:  # a duration is recorded as the float SQLite reads back (-0.0 is 0.0)
                recorded["duration"] = e.duration + 0.0
            assert spliced == canonical(recorded).decode()
        else:  # and it refuses only records whose text it cannot splice
            assert any(
                c == '"' or c == "\\" or ord(c) < 32 for c in "".join([e.principal, e.detail or "", e.error or ""])
            ) or any(sep in stored_json(x) for x in (e.params, e.targets) for sep in (',"principal":', ',"ts":'))
    conn.close()


async def test_a_quick_verify_of_a_large_unsealed_log_says_it_did_not_walk_it(tmp_path: Path, monkeypatch) -> None:
    """The TUI's audit screen asks a quick verify when it opens: a log of millions without a seal is
    walked on request (`v`), not on every visit; a small one is still walked whole."""
    from dcops.actions.config.model import DcopsConfig
    from dcops.actions.ops import audit as ops_audit
    from dcops.actions.ops.audit import VerifyParams, audit_verify

    store = await make(tmp_path, [entry(i) for i in range(1, 6)])
    ctx = type("Ctx", (), {"store": store, "config": DcopsConfig.model_validate({"cluster": {"name": "t"}})})()
    try:
        small = [e async for e in audit_verify(ctx, VerifyParams(quick=True))][-1]
        assert small.ok and "intact: 5 records" in small.summary
        monkeypatch.setattr(ops_audit, "QUICK_WALK", 3)
        large = [e async for e in audit_verify(ctx, VerifyParams(quick=True))][-1]
        assert large.data == {"verified": False} and "not verified yet" in large.summary
        full = [e async for e in audit_verify(ctx, VerifyParams(quick=True, full=True))][-1]
        assert full.ok and full.data["records"] == 5
    finally:
        await store.aclose()


@pytest.mark.parametrize(
    ("target", "forged"),
    [("gpu\\5", "gpu\\\\5"), ('we"ird', 'we\\"ird')],  # the index row spells the target's JSON escape
)
async def test_an_index_row_spelling_a_targets_json_escape_is_caught(tmp_path: Path, target: str, forged: str) -> None:
    """Joined index names are compared with the targets' JSON text only when it holds no escape:
    an index row holding the escape itself reads the same joined, but names another node."""
    store = await make(tmp_path, [entry(1, targets=[target])])
    try:
        assert (await store.verify()).ok
        sql(store, "UPDATE audit_nodes SET node = ? WHERE seq = 1", args=(forged,))
        report = await store.verify()
        assert not report.ok and "node search index" in (report.problem or "") and report.first_bad_seq == 1
    finally:
        await store.aclose()
