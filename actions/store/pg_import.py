"""Bulk copy of another store's contents into an empty PostgreSQL store (``dcops audit migrate``).

COPY, not INSERT: a long-lived SQLite log has hundreds of thousands of records. It all happens in the
caller's transaction, under the chain lock, so no console can append in the middle of the copy and
a refusal (not empty, source changed) leaves the target exactly as it was.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import psycopg

from ..errors import AuditError
from .base import Approval, AuditRecord
from .pg_rows import record_row
from .pg_schema import CHAIN_KEY, COLS


async def copy_into(
    conn: psycopg.AsyncConnection,
    shown: str,
    records: Sequence[AuditRecord],
    approvals: Sequence[Approval],
    journals: dict[str, dict[str, Any]],
    still_current: Callable[[], Awaitable[bool]],
) -> None:
    """Must run inside a transaction on ``conn``; raises :class:`AuditError` to have it rolled back."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (CHAIN_KEY,))
    cur = await conn.execute(
        "SELECT (SELECT count(*) FROM audit), (SELECT count(*) FROM approvals), (SELECT count(*) FROM journal)"
    )
    counts = await cur.fetchone()
    if counts and any(counts):
        raise AuditError(
            f"refusing to migrate into {shown}: it is not empty ({counts[0]} audit records, "
            f"{counts[1]} approvals, {counts[2]} journal entries)"
        )
    async with conn.cursor() as c:
        async with c.copy(f"COPY audit ({', '.join(COLS)}) FROM STDIN") as copy:
            for rec in records:
                await copy.write_row(record_row(rec))
        async with c.copy("COPY audit_nodes (node, seq) FROM STDIN") as copy:
            for rec in records:
                for target in rec.targets:
                    await copy.write_row((target, rec.seq))
        async with c.copy("COPY approvals (id, body, state) FROM STDIN") as copy:
            for a in approvals:
                await copy.write_row((a.id, a.model_dump_json(), a.state))
        async with c.copy("COPY journal (run_id, key, value) FROM STDIN") as copy:
            for run_id, items in journals.items():
                for key, value in items.items():
                    await copy.write_row((run_id, key, json.dumps(value, default=str)))
    if not await still_current():
        raise AuditError(
            "the source audit log changed during the migration; nothing was copied — stop every "
            "console and bot writing to it, then migrate again"
        )
