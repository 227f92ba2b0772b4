"""Slurm hostlist expressions (``gpu[001-004,007]``), through python-hostlist.

python-hostlist is the library Slurm sites already use (it ships the ``hostlist`` tool); its
errors are turned into one-line messages that say what is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable

import hostlist

from .errors import UsageError

MAX_EXPANDED = 100_000


def expand(expr: str) -> list[str]:
    """Expand a hostlist; duplicates removed, order kept. Raises UsageError on garbage."""
    text = (expr or "").strip()
    if not text:
        raise UsageError("empty node list; give a Slurm hostlist such as gpu[001-004] or gpu001,gpu002")
    if any(c.isspace() for c in text) or any(c in text for c in ";|&$`'\"\\<>(){}*?!~"):
        raise UsageError(f"malformed hostlist {expr!r}: node names may hold letters, digits, '-', '_', '.', "
                         "with ranges in brackets, e.g. gpu[001-004,007]")
    try:
        names = hostlist.expand_hostlist(text)
    except hostlist.BadHostlist as exc:
        raise UsageError(f"malformed hostlist {expr!r} ({exc}); expected e.g. gpu[001-004,007]") from None
    if len(names) > MAX_EXPANDED:
        raise UsageError(f"hostlist {expr!r} expands to {len(names)} names; at most {MAX_EXPANDED} are accepted")
    seen: dict[str, None] = {}
    for n in names:
        if not n:
            raise UsageError(f"malformed hostlist {expr!r}: empty node name")
        seen.setdefault(n, None)
    return list(seen)


def collapse(names: Iterable[str]) -> str:
    """The shortest hostlist for ``names`` (sorted the way Slurm sorts)."""
    items = list(names)
    if not items:
        return ""
    return hostlist.collect_hostlist(items)
