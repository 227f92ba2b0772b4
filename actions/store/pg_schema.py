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
# index carries its record's ts (filled by a trigger from the audit row inserted just before, so
# every writer, old and new, gets it; verify checks it): ``--node X --since 1d`` then reads only
# that day's index rows of X (audit_nodes_node_ts) instead of every record X ever had.
INDEXES = f"""
DROP INDEX IF EXISTS audit_nodes_node;
CREATE INDEX IF NOT EXISTS audit_nodes_node_seq ON audit_nodes(node, seq);
CREATE INDEX IF NOT EXISTS audit_nodes_seq ON audit_nodes(seq);
CREATE INDEX IF NOT EXISTS audit_principal_seq ON audit(principal, seq);
CREATE INDEX IF NOT EXISTS audit_action_seq ON audit(action, seq);
CREATE INDEX IF NOT EXISTS audit_outcome_seq ON audit(outcome, seq) WHERE outcome IS NOT NULL;
ALTER TABLE audit_nodes ADD COLUMN IF NOT EXISTS ts TEXT;
CREATE OR REPLACE FUNCTION dcops_node_ts() RETURNS trigger LANGUAGE plpgsql AS $t$
BEGIN
    IF NEW.ts IS NULL THEN
        SELECT a.ts INTO NEW.ts FROM audit a WHERE a.seq = NEW.seq;
    END IF;
    RETURN NEW;
END
$t$;
CREATE OR REPLACE TRIGGER audit_nodes_ts BEFORE INSERT ON audit_nodes FOR EACH ROW EXECUTE FUNCTION dcops_node_ts();
UPDATE audit_nodes n SET ts = a.ts FROM audit a WHERE a.seq = n.seq AND n.ts IS NULL;
CREATE INDEX IF NOT EXISTS audit_nodes_node_ts ON audit_nodes(node, ts);
DROP INDEX IF EXISTS audit_event_seq;
CREATE INDEX IF NOT EXISTS audit_rare_event_seq ON audit(event, seq) WHERE {RARE_EVENTS_SQL};
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
CREATE OR REPLACE TRIGGER audit_open_runs AFTER INSERT ON audit FOR EACH ROW
    WHEN (NEW.event IN ('started', 'finished')) EXECUTE FUNCTION dcops_open_runs();
"""
# The schema object made last (checked at start: when it exists, the database needs no upgrade).
# audit_open lists the runs with a "started" and no "finished" record, kept by a trigger in the
# appending transaction, so finding interrupted runs at every start reads those few rows instead of
# every "started" record of a 10M-record log; a database made by an older dcops fills it once.
NEWEST_INDEX = "audit_open"

APPEND_SIGNATURE = "dcops_append(json)"
# One statement per append: take the chain lock, read the head, hash and insert every entry. In a
# VOLATILE plpgsql function each statement takes a new snapshot (READ COMMITTED), so the head read
# *after* the lock sees the previous writer's committed rows: the same split the two-statement path
# makes, inside one round trip. The lock is held until the caller's transaction (the statement, in
# autocommit) commits. The record's canonical text comes from the client split around seq
# (pg_rows.canonical_around_seq); the hash is chain.record_hash's: sha256(prev_hash || canonical).
APPEND_FUNCTION = """
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
"""
APPEND_SQL = APPEND_FUNCTION.replace("{chain_key}", str(CHAIN_KEY))


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
