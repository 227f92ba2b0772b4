"""The PostgreSQL store's tables, advisory-lock keys, and how its URL is shown without the password.

The audit tables keep the SQLite layout column for column (targets and params as the JSON text the
store wrote, not jsonb): jsonb would re-render numbers and reorder keys, and the migration promises
records copied verbatim, so the same row parser and the same hash chain serve both stores.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit, urlunsplit

from .base import RARE_EVENTS_SQL
from .chain import STORED_COLUMNS

TABLES = ("audit", "audit_nodes", "approvals", "journal", "node_locks", "owners")

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq BIGINT PRIMARY KEY,
    ts TEXT NOT NULL, run_id TEXT NOT NULL, event TEXT NOT NULL,
    principal TEXT NOT NULL, channel TEXT NOT NULL, action TEXT NOT NULL,
    targets TEXT NOT NULL, params TEXT NOT NULL,
    decision TEXT, outcome TEXT, duration DOUBLE PRECISION, error TEXT, detail TEXT, owner TEXT,
    prev_hash TEXT NOT NULL UNIQUE, hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_run ON audit(run_id);
CREATE INDEX IF NOT EXISTS audit_ts ON audit(ts);
CREATE TABLE IF NOT EXISTS audit_nodes (node TEXT NOT NULL, seq BIGINT NOT NULL, ts TEXT);
CREATE TABLE IF NOT EXISTS approvals (pos BIGSERIAL, id TEXT PRIMARY KEY, body TEXT NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (run_id, key));
CREATE TABLE IF NOT EXISTS node_locks (node TEXT PRIMARY KEY, run_id TEXT NOT NULL, owner TEXT,
    since TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS owners (owner TEXT PRIMARY KEY, host TEXT NOT NULL, expires TIMESTAMPTZ NOT NULL);
"""

COLS = STORED_COLUMNS  # the SQLite layout, column for column
INSERT_AUDIT = f"INSERT INTO audit ({', '.join(COLS)}) VALUES ({', '.join(['%s'] * len(COLS))})"
INSERT_NODE = "INSERT INTO audit_nodes (node, seq, ts) VALUES (%s, %s, %s)"


def advisory_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for a name (PostgreSQL's bigint lock space is shared by
    everything in the database, so keys are namespaced by prefix before hashing)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


CHAIN_KEY = advisory_key("dcops:audit-chain")  # serialises read-head + insert across processes

SCHEMA_KEY = advisory_key("dcops:schema")  # serialises CREATE ... IF NOT EXISTS at first start


def node_key(node: str) -> int:
    return advisory_key("dcops:node:" + node)


# Search indexes ending in seq: a filtered, newest-first, limited search walks one index in seq order
# and stops at the limit (keyset pages with seq < before), at any size of the log. Installed with
# the append function (a database made by an older dcops gets them at the next start). The node
# index carries its record's ts (the append function writes it; for any other writer, old or new, a
# trigger fills it from the audit row inserted just before; verify checks it): ``--node X --since
# 1d`` then reads only that day's index rows of X (audit_nodes_node_ts) instead of every record X
# ever had.
#
# audit_open lists the runs with a "started" and no "finished" record, so finding interrupted runs at
# every start reads those few rows instead of every "started" record of a 10M-record log; a database
# made by an older dcops fills it once. It is kept in the appending transaction: by the append
# function itself, and by a trigger for every other writer (the two-round-trip append, an older
# dcops). The triggers skip rows the function writes (``dcops.appending``, set for its transaction
# only): a fired trigger costs ~10% of an append's server time. Both ways are idempotent, so a
# trigger an older dcops reinstalls without the skip only repeats the same work.
TRIGGERS = """
CREATE OR REPLACE FUNCTION dcops_node_ts() RETURNS trigger LANGUAGE plpgsql AS $t$
BEGIN
    IF NEW.ts IS NULL THEN
        SELECT a.ts INTO NEW.ts FROM audit a WHERE a.seq = NEW.seq;
    END IF;
    RETURN NEW;
END
$t$;
CREATE OR REPLACE TRIGGER audit_nodes_ts BEFORE INSERT ON audit_nodes FOR EACH ROW WHEN (NEW.ts IS NULL)
    EXECUTE FUNCTION dcops_node_ts();
CREATE OR REPLACE FUNCTION dcops_open_runs() RETURNS trigger LANGUAGE plpgsql AS $t$
BEGIN
    IF NEW.event = 'started' THEN
        INSERT INTO audit_open (run_id, seq) SELECT NEW.run_id, NEW.seq
        WHERE NOT EXISTS (SELECT 1 FROM audit f WHERE f.run_id = NEW.run_id AND f.event = 'finished')
        ON CONFLICT (run_id) DO NOTHING;
    ELSE
        DELETE FROM audit_open WHERE run_id = NEW.run_id;
    END IF;
    RETURN NULL;
END
$t$;
CREATE OR REPLACE TRIGGER audit_open_runs AFTER INSERT ON audit FOR EACH ROW
    WHEN (NEW.event IN ('started', 'finished') AND current_setting('dcops.appending', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION dcops_open_runs();
"""
INDEXES = f"""
DROP INDEX IF EXISTS audit_nodes_node;
CREATE INDEX IF NOT EXISTS audit_nodes_node_seq ON audit_nodes(node, seq);
CREATE INDEX IF NOT EXISTS audit_nodes_seq ON audit_nodes(seq);
CREATE INDEX IF NOT EXISTS audit_principal_seq ON audit(principal, seq);
CREATE INDEX IF NOT EXISTS audit_action_seq ON audit(action, seq);
CREATE INDEX IF NOT EXISTS audit_outcome_seq ON audit(outcome, seq) WHERE outcome IS NOT NULL;
ALTER TABLE audit_nodes ADD COLUMN IF NOT EXISTS ts TEXT;
DO $do$
BEGIN
    IF to_regclass('audit_open') IS NULL THEN
        CREATE TABLE audit_open (run_id TEXT PRIMARY KEY, seq BIGINT NOT NULL);
        INSERT INTO audit_open (run_id, seq)
        SELECT a.run_id, min(a.seq) FROM audit a WHERE a.event = 'started' AND NOT EXISTS
            (SELECT 1 FROM audit f WHERE f.run_id = a.run_id AND f.event = 'finished') GROUP BY a.run_id;
    END IF;
END
$do$;
{TRIGGERS}
UPDATE audit_nodes n SET ts = a.ts FROM audit a WHERE a.seq = n.seq AND n.ts IS NULL;
CREATE INDEX IF NOT EXISTS audit_nodes_node_ts ON audit_nodes(node, ts);
DROP INDEX IF EXISTS audit_event_seq;
CREATE INDEX IF NOT EXISTS audit_rare_event_seq ON audit(event, seq) WHERE {RARE_EVENTS_SQL};
"""
NEWEST_INDEX = "audit_open"  # made last by the one-round-trip era's upgrade (INDEXES)

APPEND_SIGNATURE = "dcops_append(json)"
# One statement per append: take the chain lock, read the head, hash and insert every entry. In a
# VOLATILE plpgsql function each statement takes a new snapshot (READ COMMITTED), so the head read
# *after* the lock sees the previous writer's committed rows: the same split the two-statement path
# makes, inside one round trip. The lock is held until the caller's transaction (the statement, in
# autocommit) commits. The record's canonical text comes from the client split around seq
# (pg_rows.canonical_around_seq); the hash is chain.record_hash's: sha256(prev_hash || canonical).
# The batch is parsed once, as jsonb (``->>`` on json text re-reads the text at every field: ~10%
# of an append's server time); only strings are read from it, and jsonb keeps a string's text as
# json does (the duration, a number, is read back as the exact decimal the client wrote).
APPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION dcops_append(batch json) RETURNS TABLE (head_seq BIGINT, head_hash TEXT)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    s BIGINT;
    h TEXT;
    d TEXT;
    e jsonb;
    c jsonb;
BEGIN
    PERFORM set_config('dcops.appending', 'on', true);
    PERFORM pg_advisory_xact_lock({chain_key});
    SELECT a.seq, a.hash INTO s, h FROM audit a ORDER BY a.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        s := 0;
        h := repeat('0', 64);
    END IF;
    FOR e IN SELECT * FROM jsonb_array_elements(batch::jsonb) LOOP
        s := s + 1;
        c := e->'c';
        d := encode(sha256(convert_to(h || (e->>'pre') || s::text || (e->>'post'), 'UTF8')), 'hex');
        INSERT INTO audit (seq, ts, run_id, event, principal, channel, action, targets, params,
                           decision, outcome, duration, error, detail, owner, prev_hash, hash)
        VALUES (s, c->>0, c->>1, c->>2, c->>3, c->>4, c->>5, c->>6, c->>7,
                c->>8, c->>9, (c->>10)::double precision, c->>11, c->>12, c->>13, h, d);
        IF c->>2 = 'started' THEN  -- audit_open, as the trigger keeps it for other writers
            INSERT INTO audit_open (run_id, seq) SELECT c->>1, s
            WHERE NOT EXISTS (SELECT 1 FROM audit f WHERE f.run_id = c->>1 AND f.event = 'finished')
            ON CONFLICT (run_id) DO NOTHING;
        ELSIF c->>2 = 'finished' THEN
            DELETE FROM audit_open WHERE run_id = c->>1;
        END IF;
        IF jsonb_array_length(e->'nodes') > 0 THEN
            INSERT INTO audit_nodes (node, seq, ts) SELECT t, s, c->>0 FROM jsonb_array_elements_text(e->'nodes') AS t;
        END IF;
        h := d;
    END LOOP;
    head_seq := s;
    head_hash := h;
    RETURN NEXT;
END
$fn$;
"""
APPEND_SQL = APPEND_FUNCTION.replace("{chain_key}", str(CHAIN_KEY))

GROUPED_SIGNATURE = "dcops_append_grouped(json,bigint,text,pg_lsn)"
# Group commit for a serialized chain. ``dcops_append`` holds the chain lock until its transaction
# ends, and a synchronous commit ends only after the WAL flush: with the lock held through every
# fsync, 8 processes could append no faster than one disk flush after another (~500-700 actions/s
# here, ~1,000 with synchronous_commit off: the flush under the lock was the bound). This procedure
# keeps the chain step exactly as it is (the same function, the same lock, the same head read) but
# commits it without waiting for the flush, so the lock goes to the next writer as soon as the rows
# are visible; then, outside the lock, it commits a second transaction that writes one WAL record (a
# transactional logical message: no table, nothing to vacuum) under the session's own
# synchronous_commit. That commit returns only once the WAL is flushed (and replicated, if the site
# asks for it) up to a point after the first commit, so the CALL returns only when the records are
# as durable as a synchronous commit makes them; and writers' second commits share flushes, which is
# PostgreSQL's group commit. Why the chain stays whole through a crash: WAL is flushed in order, so a
# record built on another's hash is never durable without it. A record is visible to readers for
# the moment between the two commits (``head()`` makes its answer durable first: a checkpoint kept
# elsewhere must never name a record a crash could take back). Its existence marks a database
# upgraded to this release's append function and triggers.
GROUPED_PROCEDURE = """
CREATE OR REPLACE PROCEDURE dcops_append_grouped(batch json, INOUT head_seq BIGINT DEFAULT NULL,
                                                 INOUT head_hash TEXT DEFAULT NULL,
                                                 INOUT committed_lsn pg_lsn DEFAULT NULL)
LANGUAGE plpgsql AS $p$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    SELECT a.head_seq, a.head_hash INTO head_seq, head_hash FROM dcops_append(batch) a;
    COMMIT;
    committed_lsn := pg_current_wal_insert_lsn();  -- at or past the end of that commit's WAL record
    PERFORM pg_logical_emit_message(true, 'dcops-audit', '');
END
$p$;
"""
# ``committed_lsn`` is for whoever checks the promise (tests/integration/postgres/test_pg_grouped.py):
# when the CALL returns, the server's WAL flush position is at or past it.
# What makes the session's WAL durable up to here when the transaction that runs it commits: used by
# the procedure above and by ``head()``. Transactional, so it costs one small WAL record and the
# commit's flush (which it shares with every other backend flushing at that moment). A role that may
# not run it appends with one synchronous commit per append, as before.
FLUSH_MARK = "SELECT pg_logical_emit_message(true, 'dcops-audit', '')"
FLUSH_PRIVILEGE = "has_function_privilege('pg_logical_emit_message(boolean,text,text)', 'EXECUTE')"


def shown_url(url: str) -> str:
    """The URL as it may appear in messages and logs: user, host, port and database, no password."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = (f"{parts.username}@" if parts.username else "") + host + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "postgresql://(unparseable url)"


def password_of(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def scrub(message: str, url: str) -> str:
    """An error message from libpq with the password (raw or percent-encoded) and the full URL removed."""
    from urllib.parse import unquote

    out = message.replace(url, shown_url(url))
    raw = password_of(url)
    for secret in {raw, unquote(raw) if raw else None}:
        if secret:
            out = out.replace(secret, "***")
    return " ".join(out.split())
