"""``tests/bench/audit_scale`` rerun on a kept log changes it as little as its figures allow.

The benchmark's seal (where the incremental ``dcops audit verify`` starts) is appended once and
reused; the timed ``dcops`` processes seal nothing; ``--read-only`` leaves the file byte for byte as
it was. Written as the engineer who reruns the 10M figures every hour would break it: a rerun must
not start the incremental verify from a seal a timed process left behind, nor from a seal it cannot
vouch for (another key, a record rewritten under it), nor from one so old the figure drifts."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from dcops.actions.seal.keys import generate as generate_key
from dcops.actions.seal.keys import load_signer
from dcops.actions.seal.seal import make_seal
from dcops.actions.seal.sealing import seal_entry
from dcops.actions.store.base import AuditQuery
from dcops.actions.store.sqlite import SqliteStore
from tests.bench import audit_scale

N = 11_500  # the incremental figures start 10,000 records back; a stale seal is 11,001 back
BEHIND = 10_000


def db(workdir: Path) -> Path:
    return workdir / f"audit-{N}.db"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def rerun(workdir: Path, **flags: Any) -> dict[str, Any]:
    return await audit_scale.bench("sqlite", N, workdir, keep=True, verify_only=True, **flags)


async def records_after(workdir: Path, seq: int) -> list[Any]:
    """The records after #seq, oldest first (a few dozen at most here)."""
    store = SqliteStore(str(db(workdir)))
    try:
        return sorted((r for r in await store.query(AuditQuery(limit=100)) if r.seq > seq), key=lambda r: r.seq)
    finally:
        await store.aclose()


async def head(workdir: Path) -> tuple[int, str]:
    store = SqliteStore(str(db(workdir)))
    try:
        return await store.head()
    finally:
        await store.aclose()


def timed_processes_records(records: list[Any]) -> list[tuple[str, str]]:
    return [(r.event, r.action) for r in records if r.event != "seal"]


CLI_RECORDS = [("received", "audit-verify"), ("started", "audit-verify"), ("finished", "audit-verify")] * 2


async def test_a_rerun_reuses_its_seal_and_read_only_leaves_the_file_as_found(tmp_path: Path) -> None:
    await audit_scale.bench("sqlite", N, tmp_path, keep=True, generate_only=True)
    first = await rerun(tmp_path)
    assert first["seal_appended"] and first["sealed_seq"] == N - BEHIND
    assert first["cli_verify_incremental_from_seq"] == first["sealed_seq"]
    assert first["log_grew_by"] == 1 + len(CLI_RECORDS)
    new = await records_after(tmp_path, N)
    assert [r.owner for r in new if r.event == "seal"] == ["bench:1:1"]  # the benchmark's seal, none at exit
    assert timed_processes_records(new) == CLI_RECORDS

    second = await rerun(tmp_path)
    assert not second["seal_appended"] and second["sealed_seq"] == first["sealed_seq"]
    assert second["cli_verify_incremental_from_seq"] == first["sealed_seq"]  # the 10k figure, not a few records
    assert second["cli_verify_incremental_records"] == first["cli_verify_incremental_records"] + len(CLI_RECORDS)
    assert second["log_grew_by"] == len(CLI_RECORDS)  # what an operator's two `audit verify` runs record
    seals = [r for r in await records_after(tmp_path, N) if r.event == "seal"]
    assert len(seals) == 1

    before, before_head = sha(db(tmp_path)), await head(tmp_path)
    untouched = await rerun(tmp_path, read_only=True)
    assert untouched["log_grew_by"] == 0 and "sealed_seq" not in untouched and "cli_verify_full_s" not in untouched
    assert untouched["verify_full_records_per_s"] > 0 and untouched["verify_newest_10k_s"] >= 0
    assert await head(tmp_path) == before_head and sha(db(tmp_path)) == before

    fresh = await rerun(tmp_path, new_seal=True)
    assert fresh["seal_appended"] and fresh["sealed_seq"] == before_head[0] - BEHIND
    assert fresh["cli_verify_incremental_from_seq"] == fresh["sealed_seq"]


async def _log_with_newest_seal(tmp_path: Path, case: str) -> tuple[SqliteStore, int]:
    """A kept log whose newest seal is one a rerun must not start from (``case``)."""
    await audit_scale.bench("sqlite", N, tmp_path, keep=True, generate_only=True)
    store = SqliteStore(str(db(tmp_path)))
    generate_key(tmp_path / "seal.key", tmp_path / "seal.pub")
    signer = load_signer(str(tmp_path / "seal.key"), None, None)
    if case == "stale":  # the right key, but 1,001 more records than the window behind it
        seq = N - BEHIND - audit_scale.REUSE_SLACK - 1
    elif case == "left at exit":  # what a timed process that sealed at exit left: the head itself
        seq = N
    elif case == "other key":
        generate_key(tmp_path / "other.key", tmp_path / "other.pub")
        signer, seq = load_signer(str(tmp_path / "other.key"), None, None), N - BEHIND
    else:
        raise AssertionError(case)
    digest = (await store.hashes_at([seq]))[seq]
    seal = make_seal(signer, seq, digest, "bench")
    await store.append([seal_entry(seal, "bench:1:1")])
    return store, seq


@pytest.mark.parametrize("case", ["stale", "left at exit", "other key"])
async def test_a_seal_it_cannot_start_from_is_not_reused(tmp_path: Path, case: str) -> None:
    store, bad = await _log_with_newest_seal(tmp_path, case)
    try:
        head_seq = (await store.head())[0]
        seq, appended = await audit_scale.seal_behind_head(store, tmp_path)
        assert appended and seq == head_seq - BEHIND != bad
    finally:
        await store.aclose()


async def test_a_kept_seal_over_a_rewritten_record_is_not_reused(tmp_path: Path) -> None:
    """The seal is in the window and signed with the benchmark's key, but the record it vouches for
    was rewritten since (its stored hash is no longer the signed one): the CLI would not start from
    it, so a rerun must not time a verify as if it did."""
    await audit_scale.bench("sqlite", N, tmp_path, keep=True, generate_only=True)
    store = SqliteStore(str(db(tmp_path)))
    try:
        sealed, appended = await audit_scale.seal_behind_head(store, tmp_path)
        assert appended and await audit_scale.seal_behind_head(store, tmp_path) == (sealed, False)
    finally:
        await store.aclose()
    with sqlite3.connect(db(tmp_path)) as conn:
        conn.execute("UPDATE audit SET hash = ? WHERE seq = ?", ("0" * 64, sealed))
    store = SqliteStore(str(db(tmp_path)))
    try:
        head_seq = (await store.head())[0]
        assert await audit_scale.seal_behind_head(store, tmp_path) == (head_seq - BEHIND, True)
    finally:
        await store.aclose()
