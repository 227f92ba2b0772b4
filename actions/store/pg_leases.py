"""Leases: how a dcops process on one host tells that a process on another host has died.

A pid proves nothing across hosts, so every process using the PostgreSQL store holds a row in
``owners`` (its owner string, host, ``expires``) and refreshes it every third of the lease. Expiry
is computed from the database server's clock (``now()``), never the hosts' clocks, so skew between
consoles cannot kill a live lease. A process that ends cleanly deletes its row; one that is killed
stops refreshing and its lease runs out after ``lease_seconds``.

The cost of this design: a live process cut off from the database for longer than a lease looks dead
to the others, which may then close its open runs as interrupted. Leases are therefore generous
(30 s by default) and only consulted for owners whose pid cannot be checked locally.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

log = logging.getLogger("dcops.store.leases")

ConnFactory = Callable[[], AbstractAsyncContextManager[Any]]


class Leases:
    def __init__(self, owner: str, lease_seconds: float, connection: ConnFactory) -> None:
        self.owner, self.seconds = owner, float(lease_seconds)
        self._connection = connection
        self._task: asyncio.Task[None] | None = None

    async def register(self) -> None:
        """Take (or renew) this process's lease and keep it fresh in the background."""
        await self._renew()
        if self._task is None:
            self._task = asyncio.create_task(self._beat(), name="dcops-store-lease")

    async def _renew(self) -> None:
        async with self._connection() as conn:
            await conn.execute(
                "INSERT INTO owners (owner, host, expires) VALUES (%s, %s, now() + make_interval(secs => %s)) "
                "ON CONFLICT (owner) DO UPDATE SET expires = excluded.expires",
                (self.owner, socket.gethostname(), self.seconds),
            )

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.seconds / 3)
            try:
                await self._renew()
            except Exception as exc:  # noqa: BLE001 - keep beating: the database may be back at the next try
                log.warning("audit store lease not renewed: %s", str(exc).splitlines()[0] if str(exc) else exc)

    async def alive(self) -> set[str]:
        """Owners whose lease has not run out (by the database server's clock)."""
        async with self._connection() as conn:
            cur = await conn.execute("SELECT owner FROM owners WHERE expires > now()")
            return {r[0] for r in await cur.fetchall()}

    async def forget_expired(self, older_than: float = 86400.0) -> None:
        async with self._connection() as conn:
            await conn.execute("DELETE FROM owners WHERE expires < now() - make_interval(secs => %s)", (older_than,))

    async def close(self) -> None:
        """Stop beating and give the lease back (a clean exit is not a death)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            try:
                async with self._connection() as conn:
                    await conn.execute("DELETE FROM owners WHERE owner = %s", (self.owner,))
            except Exception as exc:  # noqa: BLE001 - at exit; the lease expires on its own
                log.warning("audit store lease not returned: %s", str(exc).splitlines()[0] if str(exc) else exc)
