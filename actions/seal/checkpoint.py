"""Where an incremental ``audit verify`` may start: the newest seal that still holds.

A good seal (signature valid under an accepted key, and record #SEQ still carrying the signed hash)
proves the chain up to #SEQ is the one the sealer wrote: a recompute or a truncation behind it would
change or remove that record. So a routine verify walks only the records after it (the newest 10k
records of a 10M-record log in well under a second) and checks that one seal, instead of re-reading
every record and every seal. What it does not re-read: the content of the records before the seal —
an edit there that leaves every stored hash alone is caught by the chain walk of ``--full``, which
``audit verify`` does when there is no good seal to start from and which should run periodically.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from ..store.base import AuditQuery, Store
from .keys import Keyring
from .seal import Seal


class Checkpoint(BaseModel):
    seq: int
    hash: str
    seal: str  # the seal's line, for the report
    external: bool  # read from outside the database (a sink or --seals)


async def newest_good_seal(
    store: Store, keyring: Keyring, external: Sequence[Seal] = (), log_name: str | None = None
) -> Checkpoint | None:
    """The newest seal of this log (the newest seal record, or a newer external seal) if it holds;
    None when there is none or the newest does not hold (the caller then walks the whole chain,
    which reports what is wrong with it)."""
    candidates: list[tuple[Seal, bool]] = []
    recs = await store.query(AuditQuery(event="seal", limit=1))
    if recs:
        try:
            candidates.append((Seal.from_json(recs[0].detail or ""), False))
        except ValueError:
            return None  # a malformed seal record: the full check names it
    outside = [s for s in external if log_name is None or s.log == log_name]
    if outside:
        candidates.append((max(outside, key=lambda s: s.seq), True))
    if not candidates:
        return None
    seal, is_external = max(candidates, key=lambda c: c[0].seq)
    if seal.seq == 0 or seal.check(keyring) is not None:
        return None
    if (await store.hashes_at([seal.seq])).get(seal.seq) != seal.hash:
        return None
    return Checkpoint(seq=seal.seq, hash=seal.hash, seal=seal.line(), external=is_external)
