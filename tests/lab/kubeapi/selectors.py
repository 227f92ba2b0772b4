"""Kubernetes label and field selectors, parsed the way the API server parses them.

Hand-written because no maintained Python package implements the API server's selector grammar
(client libraries only *send* selector strings). Supported: ``k=v``, ``k==v``, ``k!=v``, ``k``,
``!k``, ``k in (a,b)``, ``k notin (a,b)`` for labels; ``path=v``, ``path==v``, ``path!=v`` on dotted
object paths for fields (``spec.nodeName``, ``metadata.name``, ``status.phase``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]


class SelectorError(ValueError):
    """A selector the real API server would reject with 400 BadRequest."""


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside ``( ... )``."""
    terms, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if cur:
        terms.append("".join(cur).strip())
    return [t for t in terms if t]


_SET_RE = re.compile(r"^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$")
_EQ_RE = re.compile(r"^([\w./-]+)\s*(==|!=|=)\s*([\w./-]*)$")
_KEY_RE = re.compile(r"^(!?)([\w./-]+)$")


def label_selector(text: str | None) -> Predicate:
    """Predicate over an object's ``metadata.labels`` for a labelSelector query string."""
    if not text:
        return lambda obj: True
    checks: list[Callable[[dict[str, str]], bool]] = []
    for term in _split_terms(text):
        if m := _SET_RE.match(term):
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
            if op == "in":
                checks.append(lambda lb, k=key, vs=values: lb.get(k) in vs)
            else:
                checks.append(lambda lb, k=key, vs=values: lb.get(k) not in vs)
        elif m := _EQ_RE.match(term):
            key, op, value = m.groups()
            if op == "!=":
                checks.append(lambda lb, k=key, v=value: lb.get(k) != v)
            else:
                checks.append(lambda lb, k=key, v=value: lb.get(k) == v)
        elif m := _KEY_RE.match(term):
            neg, key = m.groups()
            checks.append((lambda lb, k=key: k not in lb) if neg else (lambda lb, k=key: k in lb))
        else:
            raise SelectorError(f"unable to parse requirement: {term!r}")
    return lambda obj: all(c((obj.get("metadata") or {}).get("labels") or {}) for c in checks)


def match_labels(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A structured LabelSelector (matchLabels + matchExpressions), as PDBs and workloads carry.
    An empty selector matches everything (policy/v1 semantics); None matches nothing."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), set(expr.get("values") or [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _lookup(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def field_selector(text: str | None) -> Predicate:
    """Predicate for a fieldSelector query string (equality terms on dotted paths)."""
    if not text:
        return lambda obj: True
    checks: list[Predicate] = []
    for term in _split_terms(text):
        m = re.match(r"^([\w.]+)\s*(==|!=|=)\s*(.*)$", term)
        if not m:
            raise SelectorError(f"invalid field selector term: {term!r}")
        path, op, value = m.groups()
        if op == "!=":
            checks.append(lambda o, p=path, v=value: _lookup(o, p) != v)
        else:
            checks.append(lambda o, p=path, v=value: _lookup(o, p) == v)
    return lambda obj: all(c(obj) for c in checks)
