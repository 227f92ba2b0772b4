"""The audit gate remembers texts it found free of secrets (so the same RBAC reason is not scrubbed
on every action), and must never let that memory let a secret through or keep one alive."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from dcops.actions.redact import MASK
from dcops.actions.store import redacting as gate
from dcops.actions.store.base import AuditEntry

SECRET = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


class _Recorder:
    def __init__(self) -> None:
        self.written: list[AuditEntry] = []

    async def append(self, entries: Sequence[AuditEntry]) -> tuple[int, str]:
        self.written.extend(entries)
        return len(self.written), "h"


def _entry(detail: str, error: str | None = None) -> AuditEntry:
    return AuditEntry(
        ts="2026-12-04T15:00:00.000000+00:00",
        run_id="r1",
        event="finished",
        principal="unix:alice",
        channel="cli",
        action="ping",
        detail=detail,
        error=error,
    )


@pytest.fixture(autouse=True)
def _empty_memory() -> None:
    gate._KNOWN_CLEAN.clear()


def _write(*entries: AuditEntry) -> list[AuditEntry]:
    inner = _Recorder()
    asyncio.run(gate.RedactingStore(inner).append(list(entries)))  # type: ignore[arg-type]
    return inner.written


def test_a_secret_is_masked_every_time_and_never_remembered() -> None:
    text = f"drain failed: token={SECRET}"
    for _ in range(3):
        (out,) = _write(_entry(text, error=f"bearer {SECRET}"))
        assert SECRET not in (out.detail or "") and MASK in (out.detail or "")
        assert SECRET not in (out.error or "")
    assert not any(SECRET in t for t in gate._KNOWN_CLEAN)


def test_clean_text_is_remembered_and_written_unchanged() -> None:
    reason = "allowed: unix:alice has role ops (ping on the whole cluster)"
    first, second = _write(_entry(reason), _entry(reason))
    assert first.detail == second.detail == reason
    assert reason in gate._KNOWN_CLEAN
    # a remembered clean text does not make a different text carrying a secret pass
    (out,) = _write(_entry(reason + f" password={SECRET}"))
    assert SECRET not in (out.detail or "")


def test_memory_is_bounded_and_long_texts_are_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gate, "_KNOWN_CLEAN_MAX", 10)
    _write(*[_entry(f"summary {i}") for i in range(25)])
    assert len(gate._KNOWN_CLEAN) <= 10
    long = "x" * (gate._KNOWN_CLEAN_LEN + 1)
    _write(_entry(long))
    assert long not in gate._KNOWN_CLEAN
    (out,) = _write(_entry(f"after the clear: secret={SECRET}"))
    assert SECRET not in (out.detail or "")
