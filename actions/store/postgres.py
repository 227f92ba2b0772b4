"""The shared store: one PostgreSQL database for every console and bot acting on a cluster.

Chain integrity across processes and hosts: an append takes the transaction-level advisory lock
``CHAIN_KEY`` *in its own statement*, then reads the head in a second statement, then inserts. The
split matters: in READ COMMITTED each statement reads from a snapshot taken when it starts, so a head
read in the same statement that waits for the lock could see the head from before the previous
writer committed, and fork the chain. The lock is released at COMMIT, after the rows are visible, so
the next writer always builds on them; ``prev_hash UNIQUE`` is a last line of defence. The hashes
are the same chain as SQLite's (``chain.py``), over the same columns, so a migrated log verifies.

Node locks are session advisory locks on a connection per run (``pg_locks.py``); runs of dead
processes on any host are told by leases (``pg_leases.py``) combined with the engine's local pid check.
All database errors surface as one-line :class:`AuditError` messages that never carry the password.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool

from ..errors import ApprovalTaken, AuditError, NotFound
from ..owner import current_owner, owner_is_dead
from .base import COMMON_EVENTS, RARE_EVENTS_SQL, Approval, AuditEntry, AuditQuery, AuditRecord, VerifyReport
from .chain import GENESIS, chain_rows
from .pg_import import copy_into
from .pg_leases import Leases
from .pg_locks import PgLockHandle, PgNodeLocks
from .pg_rows import append_batch, glob_to_like
from .pg_schema import (
    APPEND_SIGNATURE,
    APPEND_SQL,
    CHAIN_KEY,
    COLS,
    INDEXES,
    INSERT_AUDIT,
    INSERT_NODE,
    NEWEST_INDEX,
    SCHEMA,
    SCHEMA_KEY,
    TABLES,
    scrub,
    shown_url,
)
from .sqlite import _iso, _row_to_record
from .verify_copy import Buffer, ReadRow, copy_groups_sql, verify_copy
from .verify_fast import rows_sql
from .verify_rows import checkpoint_report
from .verify_split import split_points, verify_split, workers_for

log = logging.getLogger("dcops.store.postgres")
_SELECT = f"SELECT {', '.join(COLS)} FROM audit"
_HEAD = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"


class PostgresStore:
    """The Store protocol on PostgreSQL (psycopg 3, async, pooled). Opens lazily on first use."""

    def __init__(
        self,
        url: str,
        *,
        lease_seconds: float = 30.0,
        pool_size: int = 4,
        connect_timeout: float = 10.0,
        idle_check: float = 5.0,
    ) -> None:
        self.url = url
        self.shown = shown_url(url)
        self.owner = current_owner()
        self.connect_timeout = connect_timeout
        self._pool_size = pool_size
        self._idle_check = idle_check
        self._used: weakref.WeakKeyDictionary[psycopg.AsyncConnection, float] = weakref.WeakKeyDictionary()
        self._pool: AsyncConnectionPool | None = None
        self._one_trip = False  # the server-side append function is there
        self._opening: asyncio.Lock | None = None
        self._leases = Leases(self.owner, lease_seconds, self._connection)
        self._locks = PgNodeLocks(url, self.owner, connect_timeout)

    def __repr__(self) -> str:  # never the password, even in a debugger or a log line
        return f"PostgresStore({self.shown})"

    # ------------------------------------------------------------ plumbing
    def _error(self, exc: BaseException, doing: str = "") -> AuditError:
        return AuditError(f"audit database {self.shown}{' ' + doing if doing else ''}: {scrub(str(exc), self.url)}")

    async def open(self) -> None:
        """Connect, create the tables on first use, take this process's lease. Idempotent."""
        if self._pool is not None:
            return
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is not None:
                return
            await self._ensure_schema()
            pool = AsyncConnectionPool(
                self.url,
                min_size=1,
                max_size=self._pool_size,
                open=False,
                kwargs={"autocommit": True},
                timeout=self.connect_timeout,
                check=self._check,
                name="dcops-audit",
            )
            try:
                await pool.open(wait=True, timeout=self.connect_timeout)
            except psycopg.Error as exc:
                await pool.close()
                raise self._error(exc, "cannot be reached") from None
            self._pool = pool
            try:
                await self._leases.register()
            except BaseException:
                self._pool = None
                await pool.close()
                raise

    async def _ensure_schema(self) -> None:
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.url, autocommit=True, connect_timeout=max(1, int(self.connect_timeout))
            )
        except psycopg.Error as exc:
            raise self._error(exc, "cannot be reached") from None
        try:
            cur = await conn.execute(
                "SELECT count(to_regclass(t)), to_regprocedure(%s) IS NOT NULL "
                "AND to_regclass(%s) IS NOT NULL FROM unnest(%s::text[]) AS t",
                (APPEND_SIGNATURE, NEWEST_INDEX, list(TABLES)),
            )
            row = await cur.fetchone()
            if row and row[0] == len(TABLES) and row[1]:
                self._one_trip = True
                return  # a DML-only role can use a prepared database
            if not (row and row[0] == len(TABLES)):
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_KEY,))
                    await conn.execute(SCHEMA)
            self._one_trip = await self._create_append_function(conn)
        except psycopg.Error as exc:
            raise self._error(exc, "cannot be prepared") from None
        finally:
            await conn.close()

    async def _create_append_function(self, conn: psycopg.AsyncConnection) -> bool:
        """Install the one-round-trip append (a database made by an older dcops lacks it). A role that
        may not create functions keeps the two-round-trip append, with the same guarantees."""
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_KEY,))
                await conn.execute(APPEND_SQL)
                await conn.execute(INDEXES)
            return True
        except psycopg.errors.InsufficientPrivilege as exc:
            log.warning(
                "audit database %s: cannot install %s (%s); appends take two round trips",
                self.shown,
                APPEND_SIGNATURE,
                scrub(str(exc), self.url),
            )
            return False

    async def _check(self, conn: psycopg.AsyncConnection) -> None:
        """Ping a pooled connection that sat idle, so a database restart while the console idled costs
        one round trip instead of failing the next action; busy connections are not pinged (the pool
        discards a connection whose check raises and hands out another)."""
        used = self._used.get(conn)
        if used is None or time.monotonic() - used > self._idle_check:
            await conn.execute("SELECT 1")

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        if self._pool is None:
            await self.open()
        assert self._pool is not None
        try:
            async with self._pool.connection() as conn:
                yield conn
                self._used[conn] = time.monotonic()
        except psycopg.Error as exc:
            raise self._error(exc) from None

    async def _fetch(self, sql: str, args: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        async with self._connection() as conn:
            cur = await conn.execute(sql, args)
            return await cur.fetchall()

    async def aclose(self) -> None:
        if self._pool is None:
            return
        try:
            await self._leases.close()  # the lease goes back over the pool
        finally:
            pool, self._pool = self._pool, None
            await pool.close()

    # ------------------------------------------------------------ audit
    async def append(self, entries: Sequence[AuditEntry]) -> tuple[int, str]:
        """Shielded: a caller cancelled mid-append (the operator pressing cancel twice) still gets its
        records written — an audit record lost to a cancel would hide that the cluster was touched."""
        task = asyncio.ensure_future(self._append(entries))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(_log_lost_append)  # nobody awaits it now: say if it failed
            raise

    async def _append(self, entries: Sequence[AuditEntry]) -> tuple[int, str]:
        if self._pool is None:
            await self.open()
        batch = append_batch(entries) if self._one_trip else None
        async with self._connection() as conn:
            if batch is not None:
                return await self._append_one_trip(conn, batch)
            head = await self._append_tx(conn, entries)
        assert head is not None
        return head

    @staticmethod
    async def _append_one_trip(conn: psycopg.AsyncConnection, batch: str) -> tuple[int, str]:
        """One statement, one round trip: ``dcops_append`` takes the chain lock, reads the head, hashes
        and inserts (pg_schema.APPEND_FUNCTION); autocommit makes the statement its own transaction,
        so the lock is released only once the rows are committed and visible to the next writer."""
        cur = await conn.execute("SELECT head_seq, head_hash FROM dcops_append(%s::json)", (batch,))
        row = await cur.fetchone()
        assert row is not None
        return int(row[0]), str(row[1])

    @staticmethod
    async def _append_tx(
        conn: psycopg.AsyncConnection, entries: Sequence[AuditEntry], unless_finished: str | None = None
    ) -> tuple[int, str] | None:
        """Lock, read the head, insert, commit; returns the new head. ``unless_finished``: write nothing
        and return None if that run already has a "finished" record (checked under the chain lock, so
        two engines starting at once cannot both close the same run).

        Two round trips, pipelined: [BEGIN, lock, head] then [inserts, COMMIT]. The chain lock is held
        for one round trip plus the commit, not one per statement: with consoles on other hosts, the
        network latency while holding the lock is what bounds the whole team's audited actions/s."""
        try:
            async with conn.pipeline() as pipe:
                await conn.execute("BEGIN")
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (CHAIN_KEY,))
                head_cur = await conn.execute(_HEAD)
                done_cur = None
                if unless_finished is not None:
                    done_cur = await conn.execute(
                        "SELECT 1 FROM audit WHERE run_id = %s AND event = 'finished' LIMIT 1", (unless_finished,)
                    )
                await pipe.sync()
                row = await head_cur.fetchone()
                seq, prev = (row[0], row[1]) if row else (0, GENESIS)
                if done_cur is not None and await done_cur.fetchone():
                    await conn.execute("ROLLBACK")
                    return None
                rows, nodes = chain_rows(seq, prev, entries)
                for r in rows:  # execute, not executemany: that would sync after its batch
                    await conn.execute(INSERT_AUDIT, r)
                for n in nodes:
                    await conn.execute(INSERT_NODE, n)
                await conn.execute("COMMIT")
        except BaseException:
            if conn.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
                try:
                    await conn.execute("ROLLBACK")
                except psycopg.Error:
                    pass  # a broken connection: the pool discards it
            raise
        return (rows[-1][0], rows[-1][-1]) if rows else (seq, prev)

    async def query(self, q: AuditQuery) -> list[AuditRecord]:
        """Newest (or oldest) first with a limit, keyset-paged by ``before_seq``; each filter has an
        index ending in seq (pg_schema.INDEXES), so the plan walks it in order and stops at the limit."""
        where: list[str] = []
        args: list[Any] = []
        if q.since:
            where.append("a.ts >= %s")
            args.append(_iso(q.since))
        if q.until:
            where.append("a.ts <= %s")
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
                    where.append(f"a.{col} LIKE %s")
                    args.append(glob_to_like(val))
                else:
                    where.append(f"a.{col} = %s")
                    args.append(val)
        if q.event and "*" not in q.event and q.event not in COMMON_EVENTS:
            where.append("a." + RARE_EVENTS_SQL)  # lets the planner use audit_rare_event_seq
        cols = ", ".join(f"a.{c}" for c in COLS)
        if q.node:
            sql, key = f"SELECT {cols} FROM audit_nodes n JOIN audit a ON a.seq = n.seq", "n.seq"
            where.insert(0, "n.node = %s")
            args.insert(0, q.node)
            if q.since:  # that node's index rows since then (audit_nodes_node_ts)
                where.insert(1, "n.ts >= %s")
                args.insert(1, _iso(q.since))
        else:
            sql, key = f"SELECT {cols} FROM audit a", "a.seq"
        if q.before_seq is not None:
            where.append(f"{key} < %s")
            args.append(int(q.before_seq))
        sql += " WHERE " + " AND ".join(where) if where else ""
        sql += f" ORDER BY {key} " + ("DESC" if q.newest_first else "ASC")
        if q.limit:
            sql += f" LIMIT {int(q.limit)}"
        return [_row_to_record(r) for r in await self._fetch(sql, args)]

    async def export(self) -> list[AuditRecord]:
        return [_row_to_record(r) for r in await self._fetch(_SELECT + " ORDER BY seq")]

    async def export_pages(self, page: int = 1000) -> AsyncIterator[list[AuditRecord]]:
        """Every record, oldest first, ``page`` at a time (keyset on seq): one page in memory at a time."""
        after = 0
        while True:
            rows = await self._fetch(_SELECT + f" WHERE seq > %s ORDER BY seq LIMIT {int(page)}", (after,))
            if not rows:
                return
            after = rows[-1][0]
            yield [_row_to_record(r) for r in rows]

    async def verify_since(
        self, checkpoint: tuple[int, str], expect_head: tuple[int, str] | None = None
    ) -> VerifyReport:
        """Verify what follows a checkpoint already proven (``audit head`` kept elsewhere, a signed
        seal; ``(0, GENESIS)`` = everything on the fast row path), in one REPEATABLE READ snapshot,
        streaming through a server-side cursor; then the node index of those records."""
        await self.open()
        try:
            return await asyncio.to_thread(self._verify_since_sync, checkpoint, expect_head)
        except psycopg.Error as exc:
            raise self._error(exc) from None

    def _verify_since_sync(self, checkpoint: tuple[int, str], expect_head: tuple[int, str] | None) -> VerifyReport:
        with psycopg.connect(self.url, connect_timeout=max(1, int(self.connect_timeout))) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction():
                found = None
                if checkpoint[0]:
                    row = conn.execute("SELECT hash FROM audit WHERE seq = %s", (checkpoint[0],)).fetchone()
                    found = row[0] if row else None
                bad = checkpoint_report(found, checkpoint)
                if bad is not None:
                    return bad
                head = conn.execute("SELECT max(seq) FROM audit").fetchone()[0] or 0  # type: ignore[index]
                parts = workers_for(head - checkpoint[0])
                if parts == 1:
                    return _verify_pg(conn, self.url, checkpoint, expect_head)
                cuts = conn.execute(
                    "SELECT seq, hash FROM audit WHERE seq = ANY(%s)", (split_points(checkpoint[0], head, parts),)
                )
                known: dict[int, str] = dict(cuts.fetchall())
        return verify_split(
            verify_range,
            self.url,
            checkpoint,
            head,
            lambda seqs: {s: known[s] for s in seqs if s in known},
            expect_head,
            parts,
        )

    async def head(self) -> tuple[int, str]:
        rows = await self._fetch(_HEAD)
        return (rows[0][0], rows[0][1]) if rows else (0, GENESIS)

    async def verify(self, expect_head: tuple[int, str] | None = None) -> VerifyReport:
        """The whole chain from the genesis, and the whole node index."""
        return await self.verify_since((0, GENESIS), expect_head)

    async def hashes_at(self, seqs: Sequence[int]) -> dict[int, str]:
        """The stored hash of each of these records (those that exist): what seals are checked against."""
        wanted = [int(s) for s in seqs]
        if not wanted:
            return {}
        return dict(await self._fetch("SELECT seq, hash FROM audit WHERE seq = ANY(%s)", (wanted,)))

    async def open_runs(self) -> list[AuditRecord]:
        sql = (
            _SELECT + " a WHERE a.event = 'started' AND a.run_id IN (SELECT run_id FROM audit_open) ORDER BY a.seq"
        )  # audit_open: see pg_schema.NEWEST_INDEX
        return [_row_to_record(r) for r in await self._fetch(sql)]

    async def close_interrupted(self, is_dead: Callable[[str | None], bool], closer: str) -> list[str]:
        """Close open runs whose process is gone: proven dead by ``is_dead`` (local pids), or with no
        live lease — unless the owner is a local process we can see running (a stalled lease is not a
        death when the pid says otherwise)."""
        runs = await self.open_runs()
        if not runs:
            return []
        alive = await self._leases.alive()
        closed: list[str] = []
        now = _iso(datetime.now(UTC))
        for rec in runs:
            gone = is_dead(rec.owner)
            if not gone and (rec.owner in alive or _running_here(rec.owner)):
                continue
            why = "" if gone else " and its lease ran out"
            entry = AuditEntry(
                ts=now,
                run_id=rec.run_id,
                event="finished",
                principal=rec.principal,
                channel=rec.channel,
                action=rec.action,
                targets=rec.targets,
                params=rec.params,
                outcome="interrupted",
                detail=f"process {rec.owner} ended without finishing{why}; closed by {closer}",
                owner=closer,
            )
            async with self._connection() as conn:
                if await self._append_tx(conn, [entry], unless_finished=rec.run_id) is not None:
                    closed.append(rec.run_id)
        await self._leases.forget_expired()
        return closed

    async def import_records(
        self,
        records: Sequence[AuditRecord],
        approvals: Sequence[Approval],
        journals: dict[str, dict[str, Any]],
        still_current: Callable[[], Awaitable[bool]],
    ) -> None:
        """Take another store's contents verbatim (seq, prev_hash, hash kept) in one transaction; refuses
        a non-empty store; rolls back if ``still_current()`` says the source grew meanwhile."""
        async with self._connection() as conn, conn.transaction():
            await copy_into(conn, self.shown, records, approvals, journals, still_current)

    # ------------------------------------------------------------ approvals
    async def create_approval(self, approval: Approval) -> None:
        async with self._connection() as conn:
            await conn.execute(
                "INSERT INTO approvals (id, body, state) VALUES (%s, %s, %s)",
                (approval.id, approval.model_dump_json(), approval.state),
            )

    async def get_approval(self, approval_id: str) -> Approval | None:
        rows = await self._fetch("SELECT body FROM approvals WHERE id = %s", (approval_id,))
        return Approval.model_validate_json(rows[0][0]) if rows else None

    async def decide_approval(
        self, approval_id: str, state: str, by: str, reason: str | None, expect: str = "pending"
    ) -> Approval:
        """Compare-and-set under a row lock: of two deciders in two processes, the second waits, then
        sees the first one's decision and changes nothing."""
        async with self._connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT body FROM approvals WHERE id = %s FOR UPDATE", (approval_id,))
            row = await cur.fetchone()
            if row is None:
                raise NotFound(f"no approval request {approval_id!r}")
            appr = Approval.model_validate_json(row[0])
            if appr.state != expect:
                raise ApprovalTaken(appr)
            using = state == "used"
            appr = appr.model_copy(
                update={
                    "state": state,
                    "decided_by": appr.decided_by if using else by,
                    "decided_at": appr.decided_at if using else _iso(datetime.now(UTC)),
                    "reason": reason if reason is not None else appr.reason,
                }
            )
            await conn.execute(
                "UPDATE approvals SET body = %s, state = %s WHERE id = %s", (appr.model_dump_json(), state, approval_id)
            )
            return appr

    async def list_approvals(self, state: str | None = "pending") -> list[Approval]:
        if state:
            rows = await self._fetch("SELECT body FROM approvals WHERE state = %s ORDER BY pos", (state,))
        else:
            rows = await self._fetch("SELECT body FROM approvals ORDER BY pos")
        return [Approval.model_validate_json(r[0]) for r in rows]

    # ------------------------------------------------------------ journals
    async def journal_get(self, run_id: str, key: str) -> Any | None:
        rows = await self._fetch("SELECT value FROM journal WHERE run_id = %s AND key = %s", (run_id, key))
        return json.loads(rows[0][0]) if rows else None

    async def journal_put(self, run_id: str, key: str, value: Any) -> None:
        async with self._connection() as conn:
            await conn.execute(
                "INSERT INTO journal (run_id, key, value) VALUES (%s, %s, %s) "
                "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
                (run_id, key, json.dumps(value, default=str)),
            )

    async def journal_items(self, run_id: str) -> dict[str, Any]:
        rows = await self._fetch("SELECT key, value FROM journal WHERE run_id = %s", (run_id,))
        return {k: json.loads(v) for k, v in rows}

    async def journal_copy(self, from_run: str, to_run: str) -> None:
        async with self._connection() as conn:
            await conn.execute(
                "INSERT INTO journal (run_id, key, value) SELECT %s, key, value FROM journal "
                "WHERE run_id = %s ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
                (to_run, from_run),
            )

    # ------------------------------------------------------------ locks
    async def lock(self, names: Sequence[str], run_id: str, wait: float) -> PgLockHandle:
        await self.open()  # the schema (node_locks) exists before the first lock
        return await self._locks.lock(names, run_id, wait)


_COPY_ROWS = f"COPY ({rows_sql('WHERE seq > %s AND seq <= %s')}) TO STDOUT"
_COPY_GROUPS = f"COPY ({copy_groups_sql('WHERE seq > %s AND seq <= %s')}) TO STDOUT"
_BEYOND = 1 << 62  # seq bounds of an open range: every row below or above any record
_ONE_ROW = _SELECT + " WHERE seq = %s"


def _verify_pg(
    conn: psycopg.Connection,
    url: str,
    start: tuple[int, str],
    expect_head: tuple[int, str] | None,
    until: int | None = None,
) -> VerifyReport:
    """``verify_copy`` of the records after ``start`` up to ``until`` (None: to the end) in this
    connection's REPEATABLE READ transaction: the records stream by COPY here, the node index
    groups by COPY on a second connection that imports this transaction's snapshot, and the rare
    record that needs the slow path is read on a third (a connection busy with a COPY cannot
    query). From the genesis the node index is read whole (a row with seq 0 or below belongs to no
    record)."""
    bounds = (start[0] if start[0] else -_BEYOND, _BEYOND if until is None else until)
    conn.execute("SET LOCAL client_encoding = 'UTF8'")  # the hashed bytes are the bytes COPY sends
    conn.execute("SET LOCAL extra_float_digits = 1")  # shortest round-trip float text
    snapshot = str(conn.execute("SELECT pg_export_snapshot()").fetchone()[0])  # type: ignore[index]
    with ExitStack() as stack:
        groups_conn = stack.enter_context(_snapshot_connection(url, snapshot))
        slow: list[psycopg.Connection] = []

        def slow_conn() -> psycopg.Connection:
            if not slow:
                slow.append(stack.enter_context(_snapshot_connection(url, snapshot)))
            return slow[0]

        read_rows = stack.enter_context(_copy_stream(conn, _COPY_ROWS, bounds))
        read_groups = stack.enter_context(_copy_stream(groups_conn, _COPY_GROUPS, bounds))
        return verify_copy(
            read_rows,
            read_groups,
            slow_row=lambda seq: slow_conn().execute(_ONE_ROW, (seq,)).fetchone(),
            slow_nodes=lambda seq: [
                r[0]
                for r in slow_conn().execute(
                    "SELECT n.node FROM audit_nodes n JOIN audit a ON a.seq = n.seq AND a.ts IS NOT DISTINCT FROM n.ts "
                    "WHERE n.seq = %s",
                    (seq,),
                )
            ],
            start=start,
            expect_head=expect_head,
        )


@contextmanager
def _copy_stream(conn: psycopg.Connection, statement: str, params: Sequence[Any]) -> Iterator[ReadRow]:
    """The lines of a COPY TO stream, one per read (one row per message in the protocol), None at its
    end. A stream left unread (the walk stopped at a broken record) is cancelled rather than read to
    its end, and drained so the connection can end its transaction.

    Why not ``Copy.read`` alone: it drives a generator through the connection's wait loop for every
    row, ~1.2 µs; a row libpq already holds is taken here with one non-blocking ``PQgetCopyData``,
    and ``Copy.read`` is called only to wait for the socket when libpq holds none. When the
    non-blocking call meets the end of the stream (-1), the copy is finished here the way
    ``Copy.read`` finishes it: the final result (the command tag, or the error) is collected."""
    done = False
    with conn.cursor().copy(statement, params) as copy:
        take = conn.pgconn.get_copy_data
        wait = copy.read

        def read() -> Buffer | None:
            nonlocal done
            nbytes, data = take(1)
            if nbytes > 0:
                return data
            if nbytes < 0:  # the end, taken here: collect the final result, as Copy.read would
                _finish_copy(conn)
                done = True
                return None
            waited = wait()
            if not waited:
                done = True
                return None
            return waited

        try:
            yield read
        finally:
            if not done:
                conn.cancel_safe()
                try:
                    while wait():
                        pass
                except psycopg.errors.QueryCanceled:
                    pass


def _finish_copy(conn: psycopg.Connection) -> None:
    """Collect the results that follow the end of a COPY TO (its command tag), raising its error."""
    while (result := conn.pgconn.get_result()) is not None:
        if result.status == psycopg.pq.ExecStatus.FATAL_ERROR:
            raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)


@contextmanager
def _snapshot_connection(url: str, snapshot: str) -> Iterator[psycopg.Connection]:
    """A connection in a REPEATABLE READ transaction on the exported ``snapshot``."""
    with psycopg.connect(url, connect_timeout=10) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            conn.execute(psycopg.sql.SQL("SET TRANSACTION SNAPSHOT {}").format(psycopg.sql.Literal(snapshot)))
            conn.execute("SET LOCAL client_encoding = 'UTF8'")
            yield conn


def verify_range(url: str, lo: int, lo_hash: str, hi: int | None, expect_head: tuple[int, str] | None) -> VerifyReport:
    """One range of a split verify (``verify_split``), in a worker process: its own connection and
    REPEATABLE READ snapshot (records are append-only: every worker sees the same records up to the
    head fixed when the split was planned). Errors come back as one scrubbed line."""
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction():
                return _verify_pg(conn, url, (lo, lo_hash), expect_head, hi)
    except psycopg.Error as exc:
        raise AuditError(f"audit database {shown_url(url)}: {scrub(str(exc), url)}") from None


def _log_lost_append(task: asyncio.Future[tuple[int, str]]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("audit records of a cancelled caller not written: %s", task.exception())


def _is_local(owner: str | None) -> bool:
    return bool(owner) and owner.rsplit(":", 2)[0] == socket.gethostname()  # type: ignore[union-attr]


def _running_here(owner: str | None) -> bool:
    """A process on this host that is provably still running (same pid, same start time)."""
    return _is_local(owner) and not owner_is_dead(owner)
