"""The store wrapper that seals: every append goes through, and at least every ``every`` records,
every ``interval`` seconds while records wait, and at close, the head this process last wrote is
signed and appended as a ``seal`` record, then shipped to the sinks.

A seal signs the head an append returned, which covers every record before it, other processes'
included; so one live writer's seal also covers what a killed process left unsealed. Wrapping the
store keeps the engine and both stores unaware of sealing (one idea per module).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import AuditError
from ..owner import current_owner
from ..store.base import AuditEntry, AuditQuery, Store
from .keys import Keyring, Signer
from .seal import Seal, make_seal
from .sinks import FileSink, Sink, read_seals

log = logging.getLogger("dcops.seal")
SEAL_PRINCIPAL = "dcops:sealer"


def seal_entry(seal: Seal, owner: str) -> AuditEntry:
    return AuditEntry(
        ts=seal.ts,
        run_id=f"seal-{seal.seq}",
        event="seal",
        principal=SEAL_PRINCIPAL,
        channel="engine",
        action="audit-seal",
        detail=seal.to_json(),
        owner=owner,
    )


class SealingStore:
    def __init__(
        self, inner: Store, signer: Signer, sinks: Sequence[Sink], *, every: int, interval: float, log_name: str
    ) -> None:
        self._inner = inner
        self.signer, self.sinks = signer, list(sinks)
        self.every, self.interval, self.log_name = every, interval, log_name
        self.owner = current_owner()
        self._pending = 0
        self._head: tuple[int, str] | None = None
        self._last = time.monotonic()
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self.sink_errors: list[str] = []

    def __getattr__(self, name: str) -> Any:  # everything but append/aclose is the wrapped store's
        return getattr(self._inner, name)

    @property
    def inner(self) -> Store:
        return self._inner

    async def append(self, entries: Sequence[AuditEntry]) -> tuple[int, str]:
        head = await self._inner.append(entries)
        if any(e.event != "seal" for e in entries):
            self._pending += len(entries)
            self._head = head
            if self._pending >= self.every or time.monotonic() - self._last >= self.interval:
                await self.seal_now()
            else:
                self._arm()
        return head

    def _arm(self) -> None:
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.interval, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._task = asyncio.ensure_future(self._seal_quietly())

    async def _seal_quietly(self) -> None:
        """The interval seal runs with nobody awaiting it: its failure is logged, not lost."""
        try:
            await self.seal_now()
        except Exception as exc:  # noqa: BLE001 - a timer seal must not kill the process; the next seal covers it
            log.error("interval seal not written: %s", exc)

    async def seal_now(self) -> Seal | None:
        """Sign the newest head this process wrote (if it is not sealed yet) and ship the seal."""
        async with self._lock:
            if self._head is None or self._pending == 0:
                return None
            seq, digest = self._head
            self._pending, self._last = 0, time.monotonic()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self.signer._command:
                seal = await asyncio.to_thread(make_seal, self.signer, seq, digest, self.log_name)
            else:
                seal = make_seal(self.signer, seq, digest, self.log_name)
            await self._inner.append([seal_entry(seal, self.owner)])
            for sink in self.sinks:
                try:
                    sink.ship(seal)
                except Exception as exc:  # noqa: BLE001 - a lost external seal is loud, but the action stands
                    msg = f"seal {seal.line()} not shipped to {sink.name}: {exc}"
                    self.sink_errors.append(msg)
                    log.error(msg)
            return seal

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None and not self._task.done():
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            await self.seal_now()  # at stop: nothing this process wrote stays unsealed
        except Exception as exc:  # noqa: BLE001 - closing must go on; verify reports the unsealed tail
            log.error("seal at stop not written: %s", exc)
        await self._inner.aclose()


async def _newest_log_seal(store: Store, keyring: Keyring) -> Seal | None:
    path = getattr(store, "path", None)
    if isinstance(path, Path) and (not path.exists() or path.stat().st_size == 0):
        return None
    recs = await store.query(AuditQuery(event="seal", limit=1))
    if not recs:
        return None
    try:
        seal = Seal.from_json(recs[0].detail or "")
    except ValueError:
        raise AuditError(f"seal record #{recs[0].seq} is malformed (edited); run `dcops audit verify`") from None
    problem = seal.check(keyring)
    if problem:
        raise AuditError(f"seal record #{recs[0].seq}: {problem}; run `dcops audit verify`")
    return seal


def last_external_seal(sinks: Sequence[Sink], log_name: str) -> Seal | None:
    """The newest seal of this log in the sinks dcops can read back (file sinks)."""
    best: Seal | None = None
    for sink in sinks:
        if isinstance(sink, FileSink):
            for s in read_seals(str(sink.path)):
                if s.log == log_name and (best is None or s.seq > best.seq):
                    best = s
    return best


async def refuse_lost_log(store: Store, seal: Seal | None, keyring: Keyring | None = None) -> None:
    """Refuse to write (and seal) a log that is shorter than a seal says it was, or whose newest
    sealed record changed: a deleted, emptied, truncated or recomputed database is not silently
    carried on (the next seal would vouch for the rewritten chain)."""
    newest_in_log = await _newest_log_seal(store, keyring) if keyring else None
    if newest_in_log is not None and (seal is None or newest_in_log.seq > seal.seq):
        seal = newest_in_log
    if seal is None or seal.seq == 0:
        return
    path = getattr(store, "path", None)
    where = str(path) if path is not None else getattr(store, "shown", "the audit database")
    if isinstance(path, Path) and (not path.exists() or path.stat().st_size == 0):
        state = "is missing" if not path.exists() else "is empty (zero bytes)"
        raise AuditError(
            f"audit database {where} {state} but seal {seal.line()} says it held {seal.seq} records; "
            "restore it from backup (dcops will not start a new log over a lost one)"
        )
    seq, _ = await store.head()
    if seq < seal.seq:
        raise AuditError(
            f"audit database {where} ends at #{seq} but seal {seal.line()} says it held {seal.seq} "
            "records (truncated or replaced); restore it from backup"
        )
    got = (await store.hashes_at([seal.seq])).get(seal.seq)
    if got != seal.hash:
        raise AuditError(
            f"audit database {where}: record #{seal.seq} differs from what seal {seal.line()} signed "
            "(chain rewritten); keep it as evidence and run `dcops audit verify`"
        )
