"""Checks on what dcops hands to Slurm, shared by every Slurm adapter (and ``per_job`` for APIs
that act on one job per call).

The CLI runs argv without a shell (and over SSH every word is quoted), so these checks are not the
injection defence; they make bad input fail with a clear message before Slurm sees it, and keep
Slurm's own ``key=value`` parsing unambiguous (a newline in a reason would end up in sinfo's
output; a space in a node name would be a second argument to scontrol).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

from .. import hostlists
from ..errors import BackendError, BackendUnavailable, UsageError
from ..hostlists import chunks, collapse

_NODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_JOB = re.compile(r"^\d+(_\d+)?$")
_SIGNAL = re.compile(r"^(SIG)?[A-Z0-9]{1,10}$")
MAX_REASON = 1000  # Slurm has no limit; dcops keeps sinfo's reason column readable


def _checked(nodes: Sequence[str]) -> Sequence[str]:
    if isinstance(nodes, str):
        raise TypeError("pass node names as a list, not a string")
    if not nodes:
        raise UsageError("no nodes given")
    bad = [n for n in nodes if not _NODE.fullmatch(n)]
    if bad:
        raise UsageError(f"invalid node name {bad[0]!r}: letters, digits, '.', '_' and '-' only")
    return nodes


def node_list(nodes: Sequence[str]) -> str:
    """The nodes as one hostlist expression in Slurm's dialect; every name checked. It may be
    long: for a command line use :func:`node_lists`."""
    return collapse(_checked(nodes))


def node_lists(nodes: Sequence[str], limit: int | None = None) -> list[str]:
    """The nodes as Slurm-dialect hostlists of at most ``limit`` (default
    :data:`dcops.actions.hostlists.ARG_LIMIT`) characters each, one per command: an argv word is limited
    to 128 KiB, and over SSH the whole command line is one word."""
    return chunks(_checked(nodes), limit or hostlists.ARG_LIMIT)


def reason(text: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise UsageError("a reason is required (Slurm shows it in sinfo)")
    if any(ord(c) < 32 or ord(c) == 127 for c in cleaned):
        raise UsageError("the reason must be one line of printable text")
    if len(cleaned) > MAX_REASON:
        raise UsageError(f"the reason is {len(cleaned)} characters; dcops accepts at most {MAX_REASON}")
    return cleaned


def job_ids(ids: Sequence[str]) -> list[str]:
    if isinstance(ids, str):
        raise TypeError("pass job ids as a list, not a string")
    if not ids:
        raise UsageError("no job ids given")
    bad = [j for j in ids if not _JOB.fullmatch(str(j))]
    if bad:
        raise UsageError(f"invalid job id {bad[0]!r}: digits, or ARRAYID_TASK")
    return [str(j) for j in ids]


def signal_name(sig: str) -> str:
    name = sig.strip().upper()
    if not _SIGNAL.fullmatch(name):
        raise UsageError(f"invalid signal {sig!r}: a name such as USR1, TERM, KILL or a number")
    return name


async def per_job(ids: Sequence[str], fn: Callable[[str], Awaitable[object]]) -> None:
    """Run ``fn`` for each job (APIs that take one job per call), then raise one error naming every
    job that failed; an unreachable controller stops at once."""
    failures = []
    for job in job_ids(ids):
        try:
            await fn(job)
        except BackendUnavailable:
            raise
        except BackendError as exc:
            failures.append(str(exc).removeprefix("slurm: "))
    if failures:
        raise BackendError("slurm: " + "; ".join(failures))
