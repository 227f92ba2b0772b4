"""The connection a PostgreSQL store appends through: one per store, one append at a time.

Why not the pool: every audited action appends twice, and on a 2-core box shared by 8 consoles and
their database backends, the client's CPU per append is what bounds the team's audited actions/s.
Checking a connection out of ``psycopg_pool`` and back, a fresh cursor per statement and psycopg's
statement cache lookups cost about as much CPU as the round trip itself (measured: 0.47 ms of client
CPU per action through the pool, 0.29 ms with a dedicated connection and a reused cursor, 0.23 ms
for raw libpq calls). Serialising one process's appends on one connection costs nothing: appends are
serialised across every process by the chain lock anyway.

Same failure rules as the pool: a connection idle for longer than ``idle_check`` is pinged before
use (a database restart while the console idled then costs one round trip, not an action), and a
broken connection is dropped and replaced on the next append. An append is never retried here: one
that failed may have committed, and the caller refuses to act either way.
"""

from __future__ import annotations

import asyncio
import time

import psycopg


class Appender:
    def __init__(self, url: str, connect_timeout: float, idle_check: float) -> None:
        self._url = url
        self._connect_timeout = connect_timeout
        self._idle_check = idle_check
        self._conn: psycopg.AsyncConnection | None = None
        self._cur: psycopg.AsyncCursor[tuple[object, ...]] | None = None
        self._used = 0.0
        self._lock: asyncio.Lock | None = None

    async def append(self, statement: str, batch: str) -> tuple[int, str]:
        """Run the one-statement append ``statement`` with ``batch``; the new head it returns."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            cur = await self._cursor()
            try:
                await cur.execute(statement, (batch,), prepare=True)
                row = await cur.fetchone()
            except BaseException:
                if self._conn is not None and (self._conn.broken or self._conn.closed):
                    await self.aclose()
                raise
            self._used = time.monotonic()
        assert row is not None
        return int(row[0]), str(row[1])  # type: ignore[call-overload]

    async def _cursor(self) -> psycopg.AsyncCursor[tuple[object, ...]]:
        if self._conn is not None and time.monotonic() - self._used > self._idle_check:
            try:
                await self._conn.execute("SELECT 1")
            except psycopg.Error:
                await self.aclose()
        if self._conn is None or self._cur is None:
            self._conn = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=max(1, int(self._connect_timeout))
            )
            self._cur = self._conn.cursor()
            self._used = time.monotonic()
        return self._cur

    async def aclose(self) -> None:
        conn, self._conn, self._cur = self._conn, None, None
        if conn is not None:
            try:
                await conn.close()
            except psycopg.Error:
                pass  # a connection that is already gone
