"""Per-node locks for a shared PostgreSQL deployment: session-level advisory locks.

Each run that takes locks gets its own connection and holds ``pg_advisory_lock`` keys on it for as
long as it acts. A session lock lives exactly as long as that connection: a clean release closes it,
and a process killed with SIGKILL has its socket closed by the kernel, the server sees the EOF and
ends the session, and the lock is gone — on any host, with no table row to clean up. For a host
that vanishes without closing its sockets (power loss), the connection asks the server for short TCP
keepalives, so the server drops the session (and the lock) within about 25 s instead of hours.

The ``node_locks`` table only says *who* holds a node (run id, owner) so a refusal can name the run;
it is never what makes a lock exclusive. A row left by a killed process is harmless: the next holder
overwrites it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import psycopg

from ..errors import AuditError, LockBusy
from .pg_schema import node_key, scrub, shown_url

log = logging.getLogger("dcops.store.locks")
# the server drops a silent client after idle + interval * count seconds
_KEEPALIVE = "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"
_POLL = 0.1
_APP_PREFIX = "dcops-lock "  # + run id: who holds a lock, readable from pg_stat_activity


class PgNodeLocks:
    def __init__(self, url: str, owner: str, connect_timeout: float = 10.0) -> None:
        self.url, self.owner, self.connect_timeout = url, owner, connect_timeout

    async def _connect(self, run_id: str) -> psycopg.AsyncConnection:
        try:
            return await psycopg.AsyncConnection.connect(
                self.url,
                autocommit=True,
                connect_timeout=max(1, int(self.connect_timeout)),
                application_name=(_APP_PREFIX + run_id)[:63],
                options=_KEEPALIVE,
            )
        except psycopg.Error as exc:
            raise AuditError(
                f"node locks: audit database {shown_url(self.url)} cannot be reached: {scrub(str(exc), self.url)}"
            ) from None

    async def lock(self, names: Sequence[str], run_id: str, wait: float) -> PgLockHandle:
        ordered = sorted(set(names))
        keys = [node_key(n) for n in ordered]
        conn = await self._connect(run_id)
        deadline = time.monotonic() + wait
        try:
            while True:
                busy = await self._try_all(conn, ordered, keys)
                if busy is None:
                    await conn.execute(
                        "INSERT INTO node_locks (node, run_id, owner, since) SELECT n, %s, %s, now() FROM unnest(%s::text[]) n "
                        "ON CONFLICT (node) DO UPDATE SET run_id = excluded.run_id, owner = excluded.owner, since = excluded.since",
                        (run_id, self.owner, ordered),
                    )
                    return PgLockHandle(conn, ordered, run_id)
                if time.monotonic() >= deadline:
                    holder = await self._holder(conn, busy)
                    raise LockBusy(
                        f"{busy} is locked by run {holder}; retry when it finishes"
                        + (f" (waited {wait:.0f}s)" if wait else "")
                    )
                await asyncio.sleep(_POLL)
        except BaseException as exc:
            await conn.close()
            if isinstance(exc, psycopg.Error):
                raise AuditError(f"node locks: {scrub(str(exc), self.url)}") from None
            raise

    @staticmethod
    async def _try_all(conn: psycopg.AsyncConnection, names: list[str], keys: list[int]) -> str | None:
        """Try every key without waiting; on any miss give back what was taken and name the busy node.
        All-or-nothing tries cannot deadlock, whatever order two runs ask in."""
        cur = await conn.execute(
            "SELECT array_agg(pg_try_advisory_lock(k) ORDER BY i) FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(k, i)",
            (keys,),
        )
        row = await cur.fetchone()
        got: list[bool] = list(row[0]) if row and row[0] else []
        if all(got):
            return None
        taken = [k for k, ok in zip(keys, got) if ok]
        if taken:
            await conn.execute("SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) AS t(k)", (taken,))
        return next(n for n, ok in zip(names, got) if not ok)

    @staticmethod
    async def _holder(conn: psycopg.AsyncConnection, node: str) -> str:
        """The run holding ``node`` now, from the lock itself: the holding session's application_name
        was set to the run id when it connected, before it could take any lock, so there is no moment
        where the lock is held but its holder unknown. The node_locks row adds the owner (host:pid)."""
        classid, objid = _lock_ids(node_key(node))
        cur = await conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.classid = %s AND l.objid = %s "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (classid, objid),
        )
        row = await cur.fetchone()
        run_id = row[0].removeprefix(_APP_PREFIX) if row and row[0] and row[0].startswith(_APP_PREFIX) else None
        cur = await conn.execute("SELECT run_id, owner FROM node_locks WHERE node = %s", (node,))
        recorded = await cur.fetchone()
        if run_id is None and recorded is None:
            return "another run"
        if recorded and (run_id is None or recorded[0] == run_id):
            return f"{recorded[0]} ({recorded[1]})" if recorded[1] else recorded[0]
        return run_id or "another run"


def _lock_ids(key: int) -> tuple[int, int]:
    """How pg_locks shows a bigint advisory key: high and low 32 bits as classid and objid."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


class PgLockHandle:
    """Holds the run's lock connection; closing it is what releases the advisory locks."""

    def __init__(self, conn: psycopg.AsyncConnection, names: list[str], run_id: str) -> None:
        self._conn: psycopg.AsyncConnection | None = conn
        self.names, self.run_id = names, run_id

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.execute("DELETE FROM node_locks WHERE node = ANY(%s) AND run_id = %s", (self.names, self.run_id))
        except psycopg.Error as exc:
            # the session is gone, and its locks with it: say so, another run may have acted meanwhile
            log.warning(
                "run %s: the lock session on %s was lost before the run finished: %s",
                self.run_id,
                ",".join(self.names),
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            )
        finally:
            await conn.close()
