"""Process helpers the lab shares: start a daemon detached, find it again by pid file, stop it by pid.

Every lab process carries ``DCOPS_LAB_OWNER=<lab dir>`` in its environment, so a later ``start`` or
``stop`` can find what an earlier, crashed run left behind (slurmstepd and job processes have no pid
file) and end exactly those processes by pid — never by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

OWNER_VAR = "DCOPS_LAB_OWNER"
T = TypeVar("T")


class LabError(RuntimeError):
    """A lab service could not be started or reached; the message says which and why."""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if alive(pid) else None


def owned_pids(owner: str) -> list[int]:
    """Pids of live processes whose environment marks them as this lab's."""
    needle = f"{OWNER_VAR}={owner}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0"):
            found.append(int(entry.name))
    return found


def kill_pids(pids: Sequence[int], *, grace: float = 5.0) -> None:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL what is left."""
    pids = [p for p in pids if alive(p)]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)


def spawn(argv: Sequence[str], *, env: Mapping[str, str], log: Path, owner: str) -> subprocess.Popen[bytes]:
    """Start a daemon in its own session, output to ``log``, marked as the lab's."""
    full_env = {**env, OWNER_VAR: owner}
    with open(log, "ab") as out:
        return subprocess.Popen(
            list(argv),
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for(check, *, timeout: float, what: str, poll: float = 0.1):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise LabError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)


def tail(path: Path, chars: int = 400) -> str:
    try:
        return " ".join(path.read_text(errors="replace")[-chars:].split())
    except OSError:
        return "(no log)"


@contextmanager
def session(status: Callable[[], T | None], start: Callable[[], T], stop: Callable[[], object]) -> Iterator[T]:
    """A lab for a test session: the running one if any (left running), else a fresh one that is
    stopped at the end. Lets several test folders share one lab without stopping it under others."""
    running = status()
    lab = running if running is not None else start()
    try:
        yield lab
    finally:
        if running is None:
            stop()
