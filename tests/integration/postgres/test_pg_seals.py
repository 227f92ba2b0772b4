"""Sealed audit log on the real lab PostgreSQL: the same tamper kinds as the SQLite tests
(tests/security/test_sealed_audit.py), by an attacker with write access to the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.actions.errors import AuditError
from dcops.actions.seal.setup import sealed_store
from dcops.actions.store import open_store
from tests.security import tamper
from tests.security.sealed_scenarios import no_sink, rewrite, verify, write_sealed


async def test_intact_sealed_log(pg_url: str, tmp_path: Path) -> None:
    s = await write_sealed(pg_url, tmp_path)
    chain, seals = await verify(s)
    assert chain.ok and chain.records == 17
    assert seals is not None and seals.ok and seals.sealed_seq == 16 and seals.unsealed == 0 and seals.external == 3


@pytest.mark.parametrize("kind", sorted(tamper.TAMPERS))
async def test_tamper_is_caught_with_or_without_recompute(pg_url: str, tmp_path: Path, kind: str) -> None:
    s = await write_sealed(pg_url, tmp_path)
    db = tamper.Db(pg_url)
    original = db.rows()
    db.write(tamper.TAMPERS[kind](original))
    db.close()
    chain, _ = await verify(s)
    assert not chain.ok, f"{kind} without recompute"
    rewrite(s, lambda _rows: tamper.recompute(tamper.TAMPERS[kind](original)))
    chain, seals = await verify(s, no_sink(s))
    assert chain.ok and seals is not None and not seals.ok and "rewritten" in seals.problem, kind


async def test_recompute_without_seal_records_caught_by_the_sink(pg_url: str, tmp_path: Path) -> None:
    s = await write_sealed(pg_url, tmp_path)
    rewrite(s, lambda rows: tamper.recompute(tamper.edit(tamper.without_seals(rows))))
    _, seals = await verify(s)
    assert seals is not None and not seals.ok


async def test_truncation_behind_a_seal(pg_url: str, tmp_path: Path) -> None:
    s = await write_sealed(pg_url, tmp_path)
    rewrite(s, lambda rows: rows[:9])
    _, seals = await verify(s)
    assert seals is not None and not seals.ok and "ends at #9" in seals.problem
    with pytest.raises(AuditError, match="ends at #9"):
        await sealed_store(s.config, open_store(pg_url))


async def test_every_record_deleted_is_refused_at_start(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL's 'whole-file deletion': the audit table emptied (or the database recreated)."""
    s = await write_sealed(pg_url, tmp_path)
    rewrite(s, lambda rows: [])
    _, seals = await verify(s)
    assert seals is not None and not seals.ok and "ends at #0" in seals.problem
    with pytest.raises(AuditError, match="ends at #0"):
        await sealed_store(s.config, open_store(pg_url))
