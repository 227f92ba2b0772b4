"""Who runs a run: host, pid and the process's start time, so a later process can tell whether the
owner of an unfinished run is still alive (a reused pid has a different start time)."""

from __future__ import annotations

import os
import socket
from functools import cache


def _start_ticks(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return None
    # the command name (field 2) may contain spaces; fields after the closing paren are fixed
    rest = stat.rsplit(")", 1)[-1].split()
    return rest[19] if len(rest) > 19 else None


@cache
def current_owner() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or '0'}"


def owner_is_dead(owner: str | None) -> bool:
    """True only when we can prove it: same host, and that pid is gone or is another process."""
    if not owner:
        return True
    try:
        host, pid_s, ticks = owner.rsplit(":", 2)
        pid = int(pid_s)
    except ValueError:
        return True
    if host != socket.gethostname():
        return False
    if owner == current_owner():
        return False
    return _start_ticks(pid) != ticks
