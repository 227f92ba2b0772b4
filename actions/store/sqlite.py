"""The embedded store: one SQLite file in WAL mode, shared safely by several processes.

Appends run in ``BEGIN IMMEDIATE`` transactions, so the read of the chain head and the insert of
the next record are atomic across processes: concurrent writers queue on SQLite's write lock and
the chain never forks. ``synchronous=NORMAL`` in WAL mode: a committed record survives a crash of
any dcops process (the WAL is in the OS); only an OS crash or power loss can lose the newest
records, and ``audit verify`` still proves the rest intact.

Appends first try inline on a second connection whose busy timeout is zero: when no other process
holds the write lock (the common case) the ~50 µs insert happens right away, without the cost of a
thread hand-off. When the lock is busy, the append goes to one dedicated thread that waits for it,
so the event loop (the TUI, the bot) never blocks on another process's write lock. Reads always
run on that thread.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ApprovalTaken, AuditError, NotFound
from .base import COMMON_EVENTS, RARE_EVENTS_SQL, Approval, AuditEntry, AuditQuery, AuditRecord, VerifyReport
from .chain import GENESIS, STORED_COLUMNS, chain_rows
from .locks import FileLockHandle, FileLocks
from .verify_fast import node_groups_sql, rows_sql, verify_fast
from .verify_rows import checkpoint_report

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL, run_id TEXT NOT NULL, event TEXT NOT NULL,
    principal TEXT NOT NULL, channel TEXT NOT NULL, action TEXT NOT NULL,
    targets TEXT NOT NULL, params TEXT NOT NULL,
    decision TEXT, outcome TEXT, duration REAL, error TEXT, detail TEXT, owner TEXT,
    prev_hash TEXT NOT NULL UNIQUE, hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_run ON audit(run_id);
CREATE INDEX IF NOT EXISTS audit_ts ON audit(ts);
CREATE TABLE IF NOT EXISTS audit_nodes (node TEXT NOT NULL, seq INTEGER NOT NULL, ts TEXT);
DROP INDEX IF EXISTS audit_nodes_node;
CREATE INDEX IF NOT EXISTS audit_nodes_node_seq ON audit_nodes(node, seq);
CREATE INDEX IF NOT EXISTS audit_nodes_seq ON audit_nodes(seq);
CREATE INDEX IF NOT EXISTS audit_principal_seq ON audit(principal, seq);
CREATE INDEX IF NOT EXISTS audit_action_seq ON audit(action, seq);
CREATE INDEX IF NOT EXISTS audit_outcome_seq ON audit(outcome, seq) WHERE outcome IS NOT NULL;
CREATE TABLE IF NOT EXISTS approvals (id TEXT PRIMARY KEY, body TEXT NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (run_id, key));
"""
# The node index carries the record's ts (checked by verify like the node name), so ``--node X
# --since 1d`` reads only that day's index rows of X instead of every record X ever had; seals and
# approval records are found by event without walking the log (verify, approvals check).
_UPGRADE = """
ALTER TABLE audit_nodes ADD COLUMN ts TEXT;
UPDATE audit_nodes SET ts = (SELECT a.ts FROM audit a WHERE a.seq = audit_nodes.seq) WHERE ts IS NULL;
"""
_INDEXES = f"""
CREATE INDEX IF NOT EXISTS audit_nodes_node_ts ON audit_nodes(node, ts);
DROP INDEX IF EXISTS audit_event_seq;
CREATE INDEX IF NOT EXISTS audit_rare_event_seq ON audit(event, seq) WHERE {RARE_EVENTS_SQL};
CREATE TRIGGER IF NOT EXISTS audit_open_started AFTER INSERT ON audit WHEN NEW.event = 'started' BEGIN
    INSERT OR IGNORE INTO audit_open (run_id, seq) SELECT NEW.run_id, NEW.seq
    WHERE NOT EXISTS (SELECT 1 FROM audit f WHERE f.run_id = NEW.run_id AND f.event = 'finished');
END;
CREATE TRIGGER IF NOT EXISTS audit_open_finished AFTER INSERT ON audit WHEN NEW.event = 'finished' BEGIN
    DELETE FROM audit_open WHERE run_id = NEW.run_id;
END;
"""
# The runs with a "started" and no "finished" record, kept by the triggers above inside the
# appending transaction: every start looks for interrupted runs, and this reads those few rows
# instead of every "started" record of a 10M-record log. A log from an older dcops fills it once.
_OPEN_RUNS = """
CREATE TABLE audit_open (run_id TEXT PRIMARY KEY, seq INTEGER NOT NULL);
INSERT INTO audit_open (run_id, seq)
SELECT a.run_id, min(a.seq) FROM audit a WHERE a.event = 'started' AND NOT EXISTS
    (SELECT 1 FROM audit f WHERE f.run_id = a.run_id AND f.event = 'finished') GROUP BY a.run_id;
"""
_COLS = STORED_COLUMNS
_INSERT = f"INSERT INTO audit ({', '.join(_COLS)}) VALUES ({', '.join('?' * len(_COLS))})"
_INSERT_NODE = "INSERT INTO audit_nodes (node, seq, ts) VALUES (?, ?, ?)"


SCHEMA_VERSION = 3  # PRAGMA user_version of a log this dcops made or upgraded; bump with any DDL above


def _statements(script: str) -> list[str]:
    """A script's statements, trigger bodies kept whole (sqlite3.complete_statement knows BEGIN..END)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf)
            buf = ""
    return [s for s in out if s.strip()]


def _prepare(conn: sqlite3.Connection) -> None:
    """Create or upgrade the schema once, in one write transaction, and mark it with user_version.

    A log already at this version costs one header read per start and no DDL. Otherwise the work
    runs under BEGIN IMMEDIATE: several processes opening one log at once wait for the first (busy
    timeout) instead of racing through DDL statements, where SQLite answers "database is locked"
    without waiting when a statement's read must turn into a write after another process wrote."""

    def version() -> int:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])

    if version() == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if version() != SCHEMA_VERSION:
            for stmt in _statements(_SCHEMA):
                conn.execute(stmt)
            if "ts" not in {r[1] for r in conn.execute("PRAGMA table_info(audit_nodes)")}:
                for stmt in _statements(_UPGRADE):  # a log from before the index carried ts
                    conn.execute(stmt)
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'audit_open'").fetchone():
                for stmt in _statements(_OPEN_RUNS):  # a log from before audit_open
                    conn.execute(stmt)
            for stmt in _statements(_INDEXES):
                conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _row_to_record(row: sqlite3.Row | tuple) -> AuditRecord:
    d = dict(zip(_COLS, row))
    d["targets"] = json.loads(d["targets"])
    d["params"] = json.loads(d["params"])
    return AuditRecord.model_validate(d)


def workers_for(records: int) -> int:
    """:func:`verify_split.workers_for`, imported on the first verify (it brings multiprocessing,
    which an action never needs: CLI start); a module attribute here so tests can set it."""
    from .verify_split import workers_for as split_workers

    return split_workers(records)


class SqliteStore:
    def __init__(self, path: str, *, lock_dir: str | None = None) -> None:
        self.path = Path(path)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dcops-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._fast: sqlite3.Connection | None = None
        self._fast_ok = True
        self._locks = FileLocks(lock_dir or (str(self.path) + ".locks"))

    # ------------------------------------------------------------ plumbing
    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA busy_timeout=30000")
                _prepare(conn)
            except sqlite3.DatabaseError as exc:
                raise AuditError(
                    f"audit database {self.path} cannot be opened: {exc} "
                    "(is it a dcops audit database? move it aside or fix audit.url)"
                ) from None
            except OSError as exc:
                raise AuditError(f"audit database {self.path} cannot be created: {exc.strerror}") from None
            self._conn = conn
        return self._conn

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            try:
                return fn(self._connect())
            except sqlite3.DatabaseError as exc:
                raise AuditError(f"audit database {self.path}: {exc}") from None

        return await asyncio.get_running_loop().run_in_executor(self._pool, run)

    async def open(self) -> None:
        await self._call(lambda c: None)

    async def aclose(self) -> None:
        def close(_: sqlite3.Connection) -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        if self._conn is not None:
            await self._call(close)
        if self._fast is not None:
            self._fast.close()
            self._fast = None
        self._pool.shutdown(wait=True)

    # ------------------------------------------------------------ audit
    @staticmethod
    def _append_tx(conn: sqlite3.Connection, entries: Sequence[AuditEntry]) -> tuple[int, str]:
        """Read the head and insert in one write transaction; returns the new head (seq, hash)."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            head = (row[0], row[1]) if row else (0, GENESIS)
            rows, nodes = chain_rows(head[0], head[1], entries)
            conn.executemany(_INSERT, rows)
            if nodes:
                conn.executemany(_INSERT_NODE, nodes)
            conn.execute("COMMIT")
            return (rows[-1][0], rows[-1][-1]) if rows else head
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    async def append(self, entries: Sequence[AuditEntry]) -> tuple[int, str]:
        if self._fast_ok:
            try:
                return self._append_tx(self._fast_conn(), entries)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise AuditError(f"audit database {self.path}: {exc}") from None
            except sqlite3.DatabaseError as exc:
                raise AuditError(f"audit database {self.path}: {exc}") from None
        return await self._call(lambda c: self._append_tx(c, entries))

    def _fast_conn(self) -> sqlite3.Connection:
        if self._fast is None:
            self._connect_sync()
            conn = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=0")
            self._fast = conn
        return self._fast

    def _connect_sync(self) -> None:
        if self._conn is None:
            # first use: create the schema on the worker thread's connection, synchronously
            self._pool.submit(self._connect).result()

    async def query(self, q: AuditQuery) -> list[AuditRecord]:
        """Newest (or oldest) first with a limit, keyset-paged by ``before_seq``: every filter has an
        index ending in seq (``audit_*_seq``, ``audit_nodes_node_seq``), so SQLite walks it in seq
        order and stops at the limit instead of sorting every match of a 10M-record log."""
        where: list[str] = []
        args: list[Any] = []
        if q.since:
            where.append("a.ts >= ?")
            args.append(_iso(q.since))
        if q.until:
            where.append("a.ts <= ?")
            args.append(_iso(q.until))
        for col, val in (
            ("principal", q.principal),
            ("action", q.action),
            ("outcome", q.outcome),
            ("run_id", q.run_id),
            ("event", q.event),
        ):
            if val:
                if "*" in val:
                    where.append(f"a.{col} GLOB ?")
                else:
                    where.append(f"a.{col} = ?")
                args.append(val)
        if q.event and "*" not in q.event and q.event not in COMMON_EVENTS:
            where.append("a." + RARE_EVENTS_SQL)  # lets the planner use audit_rare_event_seq
        order = "DESC" if q.newest_first else "ASC"
        cols = ", ".join(f"a.{c}" for c in _COLS)
        if q.node:
            sql = f"SELECT {cols} FROM audit_nodes n JOIN audit a ON a.seq = n.seq"
            where.insert(0, "n.node = ?")
            args.insert(0, q.node)
            key = "n.seq"
            if q.since:  # that node's index rows since then (audit_nodes_node_ts)
                where.insert(1, "n.ts >= ?")
                args.insert(1, _iso(q.since))
        else:
            sql, key = f"SELECT {cols} FROM audit a", "a.seq"
        if q.before_seq is not None:
            where.append(f"{key} < ?")
            args.append(int(q.before_seq))
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {key} {order}"
        if q.limit:
            sql += f" LIMIT {int(q.limit)}"
        rows = await self._call(lambda c: c.execute(sql, args).fetchall())
        return [_row_to_record(r) for r in rows]

    async def export(self) -> list[AuditRecord]:
        rows = await self._call(lambda c: c.execute(f"SELECT {', '.join(_COLS)} FROM audit ORDER BY rowid").fetchall())
        return [_row_to_record(r) for r in rows]

    async def export_pages(self, page: int = 1000) -> AsyncIterator[list[AuditRecord]]:
        """Every record, oldest first, ``page`` at a time (keyset on seq, which is the rowid): memory
        stays at one page whatever the size of the log."""
        after = 0
        sql = f"SELECT {', '.join(_COLS)} FROM audit WHERE seq > ? ORDER BY seq LIMIT {int(page)}"
        while True:
            rows = await self._call(lambda c: c.execute(sql, (after,)).fetchall())  # noqa: B023 - awaited at once
            if not rows:
                return
            after = rows[-1][0]
            yield [_row_to_record(r) for r in rows]

    async def verify_since(
        self, checkpoint: tuple[int, str], expect_head: tuple[int, str] | None = None
    ) -> VerifyReport:
        """Verify only what follows a checkpoint already proven (an ``audit head`` kept elsewhere, a
        signed seal; ``(0, GENESIS)`` = everything): the checkpoint record must still carry its
        hash, every later record must chain onto it, and the node index of those records must
        match their hashed targets. One read snapshot; the fast row path (``verify_fast``)."""

        def run(c: sqlite3.Connection) -> VerifyReport:
            # here, not at the top: it imports multiprocessing, which an action never needs (CLI start)
            from .verify_split import verify_split

            c.execute("BEGIN")  # one snapshot for the checkpoint and the rows after it
            try:
                found = None
                if checkpoint[0]:
                    row = c.execute("SELECT hash FROM audit WHERE seq = ?", (checkpoint[0],)).fetchone()
                    found = row[0] if row else None
                bad = checkpoint_report(found, checkpoint)
                if bad is not None:
                    return bad
                head = c.execute("SELECT max(seq) FROM audit").fetchone()[0] or 0
                parts = workers_for(head - checkpoint[0])
                if parts == 1:
                    return _verify_sqlite(c, checkpoint, expect_head)
            finally:
                c.execute("COMMIT")

            def hashes(seqs: Sequence[int]) -> dict[int, str]:
                marks = ",".join("?" * len(seqs))
                return dict(c.execute(f"SELECT seq, hash FROM audit WHERE seq IN ({marks})", list(seqs)).fetchall())

            return verify_split(verify_range, str(self.path), checkpoint, head, hashes, expect_head, parts)

        def own_connection() -> VerifyReport:
            # its own connection and thread: a verify of millions of records must not queue every
            # other read of this store (the TUI's searches) behind it on the store's one thread
            self._connect_sync()
            try:
                c = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            except sqlite3.DatabaseError as exc:
                raise AuditError(f"audit database {self.path}: {exc}") from None
            try:
                return run(c)
            except sqlite3.DatabaseError as exc:
                raise AuditError(f"audit database {self.path}: {exc}") from None
            finally:
                c.close()

        return await asyncio.to_thread(own_connection)

    async def verify(self, expect_head: tuple[int, str] | None = None) -> VerifyReport:
        """The whole chain from the genesis, and the whole node index."""
        return await self.verify_since((0, GENESIS), expect_head)

    async def head(self) -> tuple[int, str]:
        row = await self._call(lambda c: c.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone())
        return (row[0], row[1]) if row else (0, GENESIS)

    async def hashes_at(self, seqs: Sequence[int]) -> dict[int, str]:
        """The stored hash of each of these records (those that exist): what seals are checked against."""
        wanted = [int(s) for s in seqs]

        def run(c: sqlite3.Connection) -> dict[int, str]:
            out: dict[int, str] = {}
            for i in range(0, len(wanted), 500):
                part = wanted[i : i + 500]
                out.update(
                    c.execute(
                        f"SELECT seq, hash FROM audit WHERE seq IN ({','.join('?' * len(part))})", part
                    ).fetchall()
                )
            return out

        return await self._call(run) if wanted else {}

    async def open_runs(self) -> list[AuditRecord]:
        cols = ", ".join(f"a.{c}" for c in _COLS)
        sql = (
            f"SELECT {cols} FROM audit a WHERE a.event = 'started' AND a.run_id IN "
            "(SELECT run_id FROM audit_open) ORDER BY a.seq"
        )  # audit_open: see _OPEN_RUNS
        if not await self._call(
            lambda c: c.execute("SELECT 1 FROM sqlite_master WHERE name = 'audit_open'").fetchone()
        ):
            sql = (
                f"SELECT {cols} FROM audit a WHERE a.event = 'started' AND NOT EXISTS "  # read-only,
                "(SELECT 1 FROM audit f WHERE f.run_id = a.run_id AND f.event = 'finished') "  # older log
                "ORDER BY a.seq"
            )
        rows = await self._call(lambda c: c.execute(sql).fetchall())
        return [_row_to_record(r) for r in rows]

    async def close_interrupted(self, is_dead: Callable[[str | None], bool], closer: str) -> list[str]:
        closed: list[str] = []
        now = _iso(datetime.now(UTC))
        for rec in await self.open_runs():
            if not is_dead(rec.owner):
                continue
            await self.append(
                [
                    AuditEntry(
                        ts=now,
                        run_id=rec.run_id,
                        event="finished",
                        principal=rec.principal,
                        channel=rec.channel,
                        action=rec.action,
                        targets=rec.targets,
                        params=rec.params,
                        outcome="interrupted",
                        detail=f"process {rec.owner} ended without finishing; closed by {closer}",
                        owner=closer,
                    )
                ]
            )
            closed.append(rec.run_id)
        return closed

    # ------------------------------------------------------------ approvals
    async def create_approval(self, approval: Approval) -> None:
        body = approval.model_dump_json()
        await self._call(
            lambda c: c.execute(
                "INSERT INTO approvals (id, body, state) VALUES (?, ?, ?)", (approval.id, body, approval.state)
            )
        )

    async def get_approval(self, approval_id: str) -> Approval | None:
        row = await self._call(
            lambda c: c.execute("SELECT body FROM approvals WHERE id = ?", (approval_id,)).fetchone()
        )
        return Approval.model_validate_json(row[0]) if row else None

    async def decide_approval(
        self, approval_id: str, state: str, by: str, reason: str | None, expect: str = "pending"
    ) -> Approval:
        """Compare-and-set: only one decider wins, even across processes."""

        def run(c: sqlite3.Connection) -> Approval:
            c.execute("BEGIN IMMEDIATE")
            try:
                row = c.execute("SELECT body FROM approvals WHERE id = ?", (approval_id,)).fetchone()
                if row is None:
                    raise NotFound(f"no approval request {approval_id!r}")
                appr = Approval.model_validate_json(row[0])
                if appr.state != expect:
                    c.execute("ROLLBACK")
                    raise ApprovalTaken(appr)
                appr = appr.model_copy(
                    update={
                        "state": state,
                        "decided_by": by if state != "used" else appr.decided_by,
                        "decided_at": _iso(datetime.now(UTC)) if state != "used" else appr.decided_at,
                        "reason": reason if reason is not None else appr.reason,
                    }
                )
                c.execute(
                    "UPDATE approvals SET body = ?, state = ? WHERE id = ?",
                    (appr.model_dump_json(), state, approval_id),
                )
                c.execute("COMMIT")
                return appr
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise

        return await self._call(run)

    async def list_approvals(self, state: str | None = "pending") -> list[Approval]:
        if state:
            rows = await self._call(
                lambda c: c.execute("SELECT body FROM approvals WHERE state = ? ORDER BY rowid", (state,)).fetchall()
            )
        else:
            rows = await self._call(lambda c: c.execute("SELECT body FROM approvals ORDER BY rowid").fetchall())
        return [Approval.model_validate_json(r[0]) for r in rows]

    # ------------------------------------------------------------ journals
    async def journal_get(self, run_id: str, key: str) -> Any | None:
        row = await self._call(
            lambda c: c.execute("SELECT value FROM journal WHERE run_id = ? AND key = ?", (run_id, key)).fetchone()
        )
        return json.loads(row[0]) if row else None

    async def journal_put(self, run_id: str, key: str, value: Any) -> None:
        data = json.dumps(value, default=str)
        await self._call(
            lambda c: c.execute(
                "INSERT INTO journal (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT(run_id, key) DO UPDATE SET value = excluded.value",
                (run_id, key, data),
            )
        )

    async def journal_items(self, run_id: str) -> dict[str, Any]:
        rows = await self._call(
            lambda c: c.execute("SELECT key, value FROM journal WHERE run_id = ?", (run_id,)).fetchall()
        )
        return {k: json.loads(v) for k, v in rows}

    async def journal_copy(self, from_run: str, to_run: str) -> None:
        await self._call(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO journal (run_id, key, value) SELECT ?, key, value FROM journal WHERE run_id = ?",
                (to_run, from_run),
            )
        )

    # ------------------------------------------------------------ locks
    async def lock(self, names: Sequence[str], run_id: str, wait: float) -> FileLockHandle:
        return await self._locks.lock(names, run_id, wait)


_FAST_ROWS = rows_sql("WHERE seq > ? AND seq <= ?")
_NODE_GROUPS = node_groups_sql("sqlite", "WHERE seq > ? AND seq <= ?")
_ONE_ROW = f"SELECT {', '.join(_COLS)} FROM audit WHERE seq = ?"
_BEYOND = 1 << 62  # seq bounds of an open range: every row below or above any record


def _verify_sqlite(
    c: sqlite3.Connection, start: tuple[int, str], expect_head: tuple[int, str] | None, until: int | None = None
) -> VerifyReport:
    """``verify_fast`` of the records after ``start`` up to ``until`` (None: to the end) on this
    connection's open read transaction (two cursors, one snapshot): from the genesis the node
    index is read whole (a row with seq 0 or below belongs to no record)."""
    bounds = (start[0] if start[0] else -_BEYOND, _BEYOND if until is None else until)
    return verify_fast(
        c.execute(_FAST_ROWS, bounds),
        c.execute(_NODE_GROUPS, bounds),
        slow_row=lambda seq: c.execute(_ONE_ROW, (seq,)).fetchone(),
        slow_nodes=lambda seq: [
            r[0]
            for r in c.execute(
                "SELECT n.node FROM audit_nodes n JOIN audit a ON a.seq = n.seq AND a.ts IS n.ts WHERE n.seq = ?",
                (seq,),
            )
        ],
        start=start,
        expect_head=expect_head,
    )


def verify_range(path: str, lo: int, lo_hash: str, hi: int | None, expect_head: tuple[int, str] | None) -> VerifyReport:
    """One range of a split verify (``verify_split``), in a worker process: its own read-only
    connection and snapshot."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=30.0)
    try:
        conn.execute("BEGIN")
        return _verify_sqlite(conn, (lo, lo_hash), expect_head, hi)
    except sqlite3.DatabaseError as exc:
        raise AuditError(f"audit database {path}: {exc}") from None
    finally:
        conn.close()


def _iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def now_iso() -> str:
    return _iso(datetime.now(UTC))
