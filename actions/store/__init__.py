"""Where dcops keeps what must outlive a process: the audit log (hash-chained), approvals,
run journals and node locks. SQLite is the embedded default; PostgreSQL serves a team.

``open_store(url)`` picks the implementation from the URL scheme.
"""

from __future__ import annotations

from .base import (
    Approval,
    AuditEntry,
    AuditQuery,
    AuditRecord,
    Store,
    VerifyReport,
)

__all__ = ["Approval", "AuditEntry", "AuditQuery", "AuditRecord", "Store", "VerifyReport", "open_store"]


def open_store(url: str, *, lock_dir: str | None = None) -> Store:
    from ..errors import ConfigError

    if url.startswith("sqlite:///"):
        from ..errors import AuditError
        from .sqlite import SqliteStore

        path = url.removeprefix("sqlite:///")
        try:
            return SqliteStore(path, lock_dir=lock_dir)
        except OSError as exc:  # the lock directory beside it cannot be made: an environment failure
            raise AuditError(
                f"audit database {path}: cannot create {exc.filename}: {exc.strerror} "
                "(check [audit] url / lock_dir, or $XDG_DATA_HOME)"
            ) from None
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from .postgres import PostgresStore
        except ImportError:
            raise ConfigError("the PostgreSQL store is not available in this build; use sqlite:///PATH") from None
        return PostgresStore(url)
    raise ConfigError(f"audit url {url!r} is not supported; use sqlite:////abs/path.db or postgresql://user@host/db")
