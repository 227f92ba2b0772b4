"""The append function of this release (pg_schema.APPEND_FUNCTION: the batch parsed once as jsonb,
audit_open and the node index's ts kept by the function itself, the triggers skipping its rows) on
the lab PostgreSQL: a database the last release made is upgraded at start, and the last release's
client statement, the two-round-trip append (plain INSERTs: the triggers do the work) and the new
function write one chain, with audit_open and the node index right."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from dcops.actions.store.base import AuditEntry
from dcops.actions.store.pg_rows import append_batch
from dcops.actions.store.pg_schema import CHAIN_KEY
from dcops.actions.store.postgres import PostgresStore

pytestmark = pytest.mark.lab

LAST_APPEND = """
CREATE OR REPLACE FUNCTION dcops_append(batch json) RETURNS TABLE (head_seq BIGINT, head_hash TEXT)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    s BIGINT;
    h TEXT;
    d TEXT;
    e json;
    c json;
BEGIN
    PERFORM pg_advisory_xact_lock({chain_key});
    SELECT a.seq, a.hash INTO s, h FROM audit a ORDER BY a.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        s := 0;
        h := repeat('0', 64);
    END IF;
    FOR e IN SELECT * FROM json_array_elements(batch) LOOP
        s := s + 1;
        c := e->'c';
        d := encode(sha256(convert_to(h || (e->>'pre') || s::text || (e->>'post'), 'UTF8')), 'hex');
        INSERT INTO audit (seq, ts, run_id, event, principal, channel, action, targets, params,
                           decision, outcome, duration, error, detail, owner, prev_hash, hash)
        VALUES (s, c->>0, c->>1, c->>2, c->>3, c->>4, c->>5, c->>6, c->>7,
                c->>8, c->>9, (c->>10)::double precision, c->>11, c->>12, c->>13, h, d);
        INSERT INTO audit_nodes (node, seq) SELECT t, s FROM json_array_elements_text(e->'nodes') AS t;
        h := d;
    END LOOP;
    head_seq := s;
    head_hash := h;
    RETURN NEXT;
END
$fn$;
""".replace("{chain_key}", str(CHAIN_KEY))
LAST_RELEASE_TRIGGERS = """
CREATE OR REPLACE TRIGGER audit_nodes_ts BEFORE INSERT ON audit_nodes FOR EACH ROW EXECUTE FUNCTION dcops_node_ts();
CREATE OR REPLACE TRIGGER audit_open_runs AFTER INSERT ON audit FOR EACH ROW
    WHEN (NEW.event IN ('started', 'finished')) EXECUTE FUNCTION dcops_open_runs();
"""


def entry(
    i: int, event: str = "started", run_id: str | None = None, nodes: tuple[str, ...] = ("gpu001",)
) -> AuditEntry:
    return AuditEntry(
        ts=f"2026-12-04T10:{i // 60 % 60:02d}:{i % 60:02d}.000000+00:00",
        run_id=run_id or f"r{i}",
        event=event,  # type: ignore[arg-type]
        principal="unix:alice",
        channel="cli",
        action="drain",
        targets=list(nodes),
        params={"reason": f'xid 79 "{i}"'},
        decision="allow",
        duration=i / 3 if event == "finished" else None,
        outcome="ok" if event == "finished" else None,
        owner="host:1",
    )


async def test_a_database_of_the_last_release_is_upgraded_and_every_writer_keeps_one_chain(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    await store.append([entry(1)])
    await store.aclose()
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:  # as the last release left it
        await conn.execute("COMMENT ON FUNCTION dcops_append(json) IS NULL")
        await conn.execute(LAST_APPEND)
        await conn.execute(LAST_RELEASE_TRIGGERS)
        await conn.execute("SELECT dcops_append(%s::json)", (append_batch([entry(4, nodes=("gpu004",))]),))

    new = PostgresStore(pg_url)
    await new.open()
    assert new._one_trip
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname IN ('audit_open_runs', 'audit_nodes_ts')"
        )
        defs = dict(await cur.fetchall())
        assert "dcops.appending" in defs["audit_open_runs"] and "(new.ts IS NULL)" in defs["audit_nodes_ts"], defs
        cur = await conn.execute("SELECT pg_get_functiondef('dcops_append(json)'::regprocedure)")
        assert "jsonb_array_elements" in (await cur.fetchone())[0]  # type: ignore[index]
        # the last release's client statement, on the upgraded function, beside the new writer
        await conn.execute("SELECT head_seq, head_hash FROM dcops_append(%s::json)", (append_batch([entry(2)]),))
    await new.append([entry(3), entry(1, "finished", "r1")])
    new._one_trip = False  # the two-round-trip append: plain INSERTs, triggers fire
    await new.append([entry(2, "finished", "r2", nodes=("gpu002", "gpu003"))])
    new._one_trip = True
    await asyncio.gather(*(new.append([entry(10 + i)]) for i in range(6)))
    try:
        report = await new.verify()
        assert report.ok and report.records == 12, report.line()
        assert sorted(r.run_id for r in await new.open_runs()) == ["r10", "r11", "r12", "r13", "r14", "r15", "r3", "r4"]
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM audit_nodes n JOIN audit a USING (seq) WHERE n.ts IS DISTINCT FROM a.ts"
            )
            assert (await cur.fetchone())[0] == 0  # type: ignore[index]
    finally:
        await new.aclose()
