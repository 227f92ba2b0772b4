"""A SQLite audit log opened read-only: reviewing a copy (an evidence file, a backup, a log on a
read-only mount) must neither need write access nor change a byte of it.

SQLite's ``mode=ro`` still wants to create the ``-shm`` file of a WAL database; in a read-only
directory that fails, and ``immutable=1`` then reads the file as it is (a copy holds no writer).
Appends are not written: the engine's own records of the review are dropped, and the front end
says so (``recorded`` is False). Everything else that writes is refused.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..errors import AuditError
from .base import Approval, AuditEntry
from .sqlite import SqliteStore


def meant_read_only(path: Path) -> bool:
    """The file or its directory is read-only: no write permission, or no write bit at all (which
    even root, who passes every permission check, should respect as the owner's intent)."""
    if not path.exists():
        return False
    return any(not p.stat().st_mode & 0o222 or not os.access(p, os.W_OK) for p in (path, path.parent))


class ReadOnlySqliteStore(SqliteStore):
    recorded = False

    def __init__(self, path: str) -> None:
        # the node-lock directory would be created beside the file: point it at one that exists
        import tempfile

        super().__init__(path, lock_dir=tempfile.gettempdir())
        self._fast_ok = False

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.path.exists():
                raise AuditError(f"audit database {self.path} does not exist")
            last: Exception | None = None
            wal = Path(str(self.path) + "-wal")
            # no pending WAL: read the file as it is and create no -shm beside it; else SQLite must
            # read the WAL too, which needs its -shm (immutable only if that cannot be made)
            pending = wal.exists() and wal.stat().st_size > 0
            for flags in ("mode=ro", "mode=ro&immutable=1") if pending else ("mode=ro&immutable=1",):
                try:
                    conn = sqlite3.connect(
                        f"file:{quote(str(self.path))}?{flags}", uri=True, isolation_level=None, check_same_thread=False
                    )
                    conn.execute("SELECT seq FROM audit LIMIT 1").fetchall()
                except sqlite3.DatabaseError as exc:
                    last = exc
                    continue
                self._conn = conn
                return conn
            raise AuditError(f"audit database {self.path} cannot be read: {last} (is it a dcops audit database?)")
        return self._conn

    async def append(self, entries: Sequence[AuditEntry]) -> tuple[int, str]:
        return await self.head()

    async def close_interrupted(self, is_dead: Callable[[str | None], bool], closer: str) -> list[str]:
        return []

    def _refuse(self, *_: Any, **__: Any) -> Any:
        raise AuditError(f"audit database {self.path} is opened read-only (a review of a copy): nothing can run")

    async def create_approval(self, approval: Approval) -> None:
        self._refuse()

    async def decide_approval(self, *a: Any, **kw: Any) -> Approval:
        self._refuse()
        raise AssertionError

    async def journal_put(self, run_id: str, key: str, value: Any) -> None:
        self._refuse()

    async def journal_copy(self, from_run: str, to_run: str) -> None:
        self._refuse()

    async def lock(self, names: Sequence[str], run_id: str, wait: float):
        self._refuse()
