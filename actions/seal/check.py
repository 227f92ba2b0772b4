"""What ``audit verify`` adds on top of the chain walk: every seal checked against the chain.

Kept apart from the chain walk (``store/chain.py``) on purpose: the walk proves the log consistent
with itself, this proves it is the log that was sealed. The newest good seal is returned, so a
later verify can trust everything up to it and walk the chain only from there.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from ..store.base import AuditQuery, Store, VerifyReport
from .keys import Keyring
from .seal import Seal


class SealReport(BaseModel):
    ok: bool
    seals: int = 0  # good seals checked (in the log and external)
    external: int = 0  # of which read from outside the database
    sealed_seq: int = 0  # newest record covered by a good seal
    sealed_hash: str | None = None
    unsealed: int = 0  # records after it (not protected against a rewrite)
    first_bad_seq: int | None = None
    problem: str | None = None

    def line(self) -> str:
        if not self.ok:
            return f"audit log FAILS its seals at record #{self.first_bad_seq}: {self.problem}"
        if self.seals == 0:
            return (
                "no seal found: nothing in this log is protected against a full recompute or truncation "
                "(seals removed, or sealing never ran)"
            )
        tail = f"; {self.unsealed} record(s) after it are unsealed" if self.unsealed else "; nothing unsealed"
        ext = f" ({self.external} from outside the database)" if self.external else ""
        return f"{self.seals} seal(s) good{ext}, sealed up to #{self.sealed_seq}{tail}"


async def check_seals(
    store: Store, chain: VerifyReport, keyring: Keyring, *, external: Sequence[Seal] = (), log_name: str | None = None
) -> SealReport:
    """Check every seal record in the log and every external seal of ``log_name`` against ``chain``
    (a report of an intact chain walk)."""

    def bad(seq: int, problem: str) -> SealReport:
        return SealReport(ok=False, first_bad_seq=seq, problem=problem)

    in_log: list[tuple[int, Seal]] = []
    for rec in await store.query(AuditQuery(event="seal", limit=None, newest_first=False)):
        try:
            in_log.append((rec.seq, Seal.from_json(rec.detail or "")))
        except ValueError:
            return bad(rec.seq, "seal record is malformed (edited)")
    outside = [s for s in external if log_name is None or s.log == log_name]
    for where, seal in [(f"seal record #{seq}", s) for seq, s in in_log] + [("external seal", s) for s in outside]:
        problem = seal.check(keyring)
        if problem:
            return bad(seal.seq, f"{where} {seal.line()}: {problem}")
        if seal.seq > chain.head_seq:
            return bad(
                chain.head_seq + 1,
                f"{where} {seal.line()} covers #{seal.seq} but the log ends at "
                f"#{chain.head_seq} (records removed: truncation or a replaced database)",
            )
    seals = [s for _, s in in_log] + outside
    hashes = await store.hashes_at(sorted({s.seq for s in seals if s.seq > 0}))
    for seal in sorted(seals, key=lambda s: s.seq):
        if seal.seq and hashes.get(seal.seq) != seal.hash:
            return bad(
                seal.seq,
                f"record #{seal.seq} is not the one seal {seal.line()} signed "
                "(chain rewritten and recomputed behind the seal)",
            )
    newest = max(seals, key=lambda s: s.seq, default=None)
    sealed_seq = newest.seq if newest else 0
    seal_records_after = sum(1 for seq, _ in in_log if seq > sealed_seq)
    return SealReport(
        ok=True,
        seals=len(seals),
        external=len(outside),
        sealed_seq=sealed_seq,
        sealed_hash=newest.hash if newest else None,
        unsealed=max(0, chain.head_seq - sealed_seq - seal_records_after),
    )
