"""A PostgreSQL verify split over worker processes (each its own connection and snapshot) says
exactly what the serial walk in one snapshot says, for an intact log and for every kind of
tampering, wherever it falls relative to the range boundaries: a differential test on the lab
server, the serial walk being the reference (the SQLite twin: tests/unit/core/test_verify_split.py)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from dcops.actions.errors import AuditError
from dcops.actions.store import postgres as pg_store
from dcops.actions.store.base import AuditEntry
from dcops.actions.store.postgres import PostgresStore, verify_range
from tests.verify_split_cases import TAMPERINGS, N

pytestmark = pytest.mark.lab


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        ts=f"2026-11-29T04:00:{i:02d}.000000+00:00",
        run_id=f"r{i}",
        event="started",
        principal="unix:alice",
        channel="cli",
        action="drain",
        targets=[f"gpu{i:03d}"] + (["gpu900"] if i % 3 == 0 else []),
        params={"nodes": f"gpu{i:03d}", "ratio": i / 7},
        decision="allow",
        duration=i / 3,
    )


async def both(url: str, monkeypatch: pytest.MonkeyPatch, expect_head: tuple[int, str] | None = None) -> tuple:
    """(serial report, split report) of the log at ``url``."""
    reports = []
    for parts in (1, 3):
        monkeypatch.setattr(pg_store, "workers_for", lambda n, parts=parts: parts)
        store = PostgresStore(url)
        try:
            reports.append(await store.verify(expect_head))
        finally:
            await store.aclose()
    return tuple(reports)


@pytest.fixture
async def log(pg_url: str) -> str:
    store = PostgresStore(pg_url)
    try:
        await store.append([entry(i) for i in range(1, N + 1)])
    finally:
        await store.aclose()
    return pg_url


def sql(url: str, *stmts: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for s in stmts:
            conn.execute(s)


async def test_an_intact_log_verifies_alike(log: str, monkeypatch: pytest.MonkeyPatch) -> None:
    serial, split = await both(log, monkeypatch)
    assert serial.ok and serial.records == N
    assert split == serial


@pytest.mark.parametrize(
    "tamper",
    [*TAMPERINGS, ["UPDATE audit SET duration = duration + 1e-9 WHERE seq = 12"]],  # + a float nudged below display
)
async def test_every_tampering_is_named_alike(log: str, monkeypatch: pytest.MonkeyPatch, tamper: list[str]) -> None:
    sql(log, *tamper)
    serial, split = await both(log, monkeypatch)
    assert not serial.ok
    assert split == serial


async def test_a_checkpoint_inside_a_later_range_is_checked_there(log: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(log) as conn:
        head = conn.execute("SELECT seq, hash FROM audit WHERE seq = 25").fetchone()
    assert head is not None
    serial, split = await both(log, monkeypatch, expect_head=(25, "0" * 64))
    assert not serial.ok and "checkpoint" in (serial.problem or "") and split == serial
    serial, split = await both(log, monkeypatch, expect_head=(40, head[1]))  # newest records removed
    assert not serial.ok and "chain ends at #30" in (serial.problem or "") and split == serial


def test_a_worker_that_cannot_connect_says_so_in_one_line_without_the_password(pg_url: str) -> None:
    parts = urlsplit(pg_url)  # the store takes URLs only (store.open_store)
    dead = urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0] + ":1"))
    secret = parts.password
    with pytest.raises(AuditError) as err:
        verify_range(dead, 0, "0" * 64, 10, None)
    line = str(err.value)
    assert "\n" not in line and line.startswith("audit database ")
    assert secret and str(secret) not in line
