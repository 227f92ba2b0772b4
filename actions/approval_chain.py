"""Approvals covered by the hash chain: the approvals table is a working copy, the chain is the truth.

Every approval record in the chain (``approval-requested`` when it is asked, ``approval-granted`` /
``approval-refused`` when it is decided) carries a digest of the approval's row as it was then. So a
hand-edited row — a pending request turned "granted", its targets widened, its expiry pushed back —
no longer matches its record: the engine refuses to run on it, and ``audit verify`` reports it.
The chain itself is protected by the hash links and the seals (``actions/seal``).
"""

from __future__ import annotations

import hashlib
import json
import re

from .store.base import Approval, AuditQuery, AuditRecord, Store

_TAG = re.compile(r"\[approval ([\w-]+) sha256:([0-9a-f]{64})\]")


def digest(appr: Approval) -> str:
    """Over the row as decided: a "used" approval is the granted one, consumed (same digest)."""
    body = appr.model_dump(mode="json")
    if body["state"] == "used":
        body["state"] = "granted"
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def tag(appr: Approval) -> str:
    """The suffix of an approval record's detail that binds it to the row."""
    return f"[approval {appr.id} sha256:{digest(appr)}]"


def _tagged(rec: AuditRecord) -> tuple[str, str] | None:
    m = _TAG.search(rec.detail or "")
    return (m.group(1), m.group(2)) if m else None


async def grant_problem(store: Store, appr: Approval, *, to_use: bool = True) -> str | None:
    """Why a "granted" row must not be used, judged by the chain; None when its grant is on record
    (and, ``to_use``, no use of it is: a used row set back to "granted" must not run twice)."""
    if to_use and await store.query(AuditQuery(run_id=appr.id, event="approval-used", limit=1)):
        return (
            f"approval {appr.id} was already used (on record in the audit log; the approvals table was edited); refused"
        )
    recs = await store.query(AuditQuery(run_id=appr.id, event="approval-granted", limit=10))
    if not recs:
        return (
            f"approval {appr.id} says granted but the audit log has no grant of it "
            "(the approvals table was edited); refused"
        )
    for rec in recs:
        t = _tagged(rec)
        if t == (appr.id, digest(appr)) or (t is None and _legacy_match(rec, appr)):
            return None
    return f"approval {appr.id} differs from the grant on record (the approvals table was edited); refused"


def _legacy_match(rec: AuditRecord, appr: Approval) -> bool:
    """A grant written before records carried digests: compare what the record holds."""
    return (
        rec.principal == appr.decided_by
        and rec.action == appr.action
        and rec.targets == appr.targets
        and rec.params == appr.params
    )


async def table_problem(store: Store) -> tuple[str, str] | None:
    """(approval id, problem) for the first approvals row the chain does not vouch for, or None."""
    requested: dict[str, set[str]] = {}
    decided: dict[str, set[str]] = {}
    for event, into in (
        ("approval-requested", requested),
        ("approval-granted", decided),
        ("approval-refused", decided),
    ):
        for rec in await store.query(AuditQuery(event=event, limit=None, newest_first=False)):
            t = _tagged(rec)
            if t:
                into.setdefault(t[0], set()).add(t[1])
    for appr in await store.list_approvals(None):
        if appr.state in ("granted", "used"):
            problem = await grant_problem(store, appr, to_use=appr.state == "granted")
            if problem:
                return appr.id, problem
        elif appr.state == "denied" and appr.id in decided and digest(appr) not in decided[appr.id]:
            return appr.id, f"approval {appr.id} differs from the refusal on record (the approvals table was edited)"
        elif appr.state == "pending" and appr.id in requested and digest(appr) not in requested[appr.id]:
            return appr.id, f"approval {appr.id} differs from the request on record (the approvals table was edited)"
    return None
