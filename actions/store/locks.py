"""Per-node locks across processes on one host, as ``flock`` files.

flock locks die with the process that holds them (kill -9 included), so a crashed console never
leaves a node locked; that is why this is not a table in the audit database. PostgreSQL
deployments use advisory locks instead (same property, across hosts).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import LockBusy


class FileLocks:
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        return self.dir / f"{safe}.lock"

    def _try(self, name: str, run_id: str) -> int | None:
        fd = os.open(self._path(name), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        os.ftruncate(fd, 0)
        os.pwrite(fd, run_id.encode(), 0)
        return fd

    def holder(self, name: str) -> str:
        try:
            return self._path(name).read_text().strip() or "another run"
        except OSError:
            return "another run"

    async def lock(self, names: Sequence[str], run_id: str, wait: float) -> FileLockHandle:
        deadline = time.monotonic() + wait
        ordered = sorted(set(names))  # one global order: no deadlock between two runs
        while True:
            held: list[int] = []
            busy: str | None = None
            for name in ordered:
                fd = self._try(name, run_id)
                if fd is None:
                    busy = name
                    break
                held.append(fd)
            if busy is None:
                return FileLockHandle(held)
            for fd in held:
                os.close(fd)
            if time.monotonic() >= deadline:
                raise LockBusy(
                    f"{busy} is locked by run {self.holder(busy)}; retry when it finishes"
                    + (f" (waited {wait:.0f}s)" if wait else "")
                )
            await asyncio.sleep(0.1)


class FileLockHandle:
    def __init__(self, fds: list[int]) -> None:
        self._fds = fds

    async def release(self) -> None:
        fds, self._fds = self._fds, []
        for fd in fds:
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            os.close(fd)  # closing the descriptor releases the flock
