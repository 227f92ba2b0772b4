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


def _clean(entry: AuditEntry) -> AuditEntry:
    update = {}
    for name in _TEXT:
        value = getattr(entry, name)
        if value:
            clean = scrub(value)
            if clean is not value and clean != value:
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
