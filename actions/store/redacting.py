"""The last gate before the audit log: free-text fields of every record the engine appends are
scrubbed of secret values (``redact.scrub``). Parameters are redacted where the engine builds them
(by name and by value); this catches what is written as text — an error message quoting the
user's input, a step's detail, the action word of a command that did not parse."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..redact import scrub
from .base import AuditEntry, Store

_TEXT = ("detail", "error", "action")


# Texts scrub() already returned unchanged: an engine writes the same RBAC reasons, summaries and
# action words over and over (a no-op action spent ~5% of its engine time scrubbing them again).
# Only secret-free texts are remembered, so no secret is kept alive here; bounded, cleared when full.
_KNOWN_CLEAN: set[str] = set()
_KNOWN_CLEAN_MAX, _KNOWN_CLEAN_LEN = 4096, 1024


def _scrubbed(text: str) -> str:
    if text in _KNOWN_CLEAN:
        return text
    clean = scrub(text)
    if clean == text and len(text) <= _KNOWN_CLEAN_LEN:
        if len(_KNOWN_CLEAN) >= _KNOWN_CLEAN_MAX:
            _KNOWN_CLEAN.clear()
        _KNOWN_CLEAN.add(text)
    return clean


def _clean(entry: AuditEntry) -> AuditEntry:
    fields = entry.__dict__
    update = {}
    for name in _TEXT:
        value = fields[name]
        if value:
            clean = _scrubbed(value)
            if clean != value:
                update[name] = clean
    return entry.model_copy(update=update) if update else entry


class RedactingStore:
    """Wraps a store: ``append`` scrubs; everything else is the wrapped store's."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def inner(self) -> Store:
        return self._inner

    async def append(self, entries: Sequence[AuditEntry]) -> tuple[int, str]:
        return await self._inner.append([e if e.event == "seal" else _clean(e) for e in entries])

    async def aclose(self) -> None:
        await self._inner.aclose()


def redacting(store: Store) -> Store:
    return store if isinstance(store, RedactingStore) else RedactingStore(store)
