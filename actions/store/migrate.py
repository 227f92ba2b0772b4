"""``dcops audit migrate TO_URL``: move a deployment's store (SQLite) into a shared PostgreSQL one.

The audit records are copied verbatim — their own seq, prev_hash and hash — so the target holds the
*same* chain, and a checkpoint taken with ``dcops audit head`` before the move still verifies after
it. Approvals and run journals come along (a pending approval or a resumable firmware rollout must
survive the move). The source is verified first (a broken chain is refused: copying it would launder
the damage), the target must be empty, everything goes in one transaction that is rolled back if the
source grew meanwhile, and the target is verified against the source's head afterwards.
"""

from __future__ import annotations

from ..errors import AuditError, ConfigError
from . import open_store
from .base import Store
from .pg_schema import shown_url


def _source_name(src: Store) -> str:
    path = getattr(src, "path", None)
    return str(path) if path is not None else getattr(src, "shown", type(src).__name__)


async def migrate(src: Store, to_url: str) -> str:
    """Copy every record, approval and journal entry of ``src`` into the empty store at ``to_url``;
    returns a one-line report. Raises :class:`AuditError` (source broken, target not empty, target
    does not verify) or :class:`ConfigError` (target URL is not PostgreSQL)."""
    if not to_url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            "audit migrate copies into a shared PostgreSQL store: TO_URL must look like "
            "postgresql://user:password@host:5432/dbname"
        )
    before = await src.verify()
    if not before.ok:
        raise AuditError(
            f"refusing to migrate {_source_name(src)}: {before.line()}; "
            "keep it as evidence and start the shared store from a clean log"
        )
    records = await src.export()
    head = (records[-1].seq, records[-1].hash) if records else (0, before.head_hash)
    if len(records) != before.records or head != (before.head_seq, before.head_hash):
        raise AuditError(
            "the source audit log changed while it was being verified; stop every console and "
            "bot writing to it, then migrate again"
        )
    approvals = await src.list_approvals(None)
    journals = {}
    for run_id in dict.fromkeys(r.run_id for r in records):
        items = await src.journal_items(run_id)
        if items:
            journals[run_id] = items

    async def still_current() -> bool:
        return await src.head() == head

    dst = open_store(to_url)
    try:
        importer = getattr(dst, "import_records", None)
        if importer is None:
            raise ConfigError(f"{shown_url(to_url)}: this store cannot take a migration")
        await importer(records, approvals, journals, still_current)
        after = await dst.verify(expect_head=head if records else None)
        if not after.ok or after.records != len(records) or (after.head_seq, after.head_hash) != head:
            raise AuditError(
                f"the migrated log in {shown_url(to_url)} does not verify: {after.line()}; "
                "do not switch audit.url to it"
            )
    finally:
        await dst.aclose()
    entries = sum(len(v) for v in journals.values())
    return (
        f"migrated {len(records)} audit records (head #{head[0]} {head[1][:16]}), {len(approvals)} approvals and "
        f"{entries} journal entries from {_source_name(src)} to {shown_url(to_url)}; chain verified before and "
        f"after — set [audit] url to the new store"
    )
