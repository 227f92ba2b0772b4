"""Building PromQL from values a user typed, safely.

Node names, devices and ports end up inside label matchers. A value with a quote or a backslash
must not be able to close the string and change the query, and a value used in a regex matcher
(``instance=~"gpu001|gpu002"``) must match itself literally, not as a pattern. PromQL string
literals use Go's escaping; regex matchers are RE2, fully anchored by Prometheus.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_METRIC = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_RE2_SPECIAL = set("\\.+*?()|[]{}^$")


def quote(value: str) -> str:
    """A PromQL double-quoted string literal holding exactly ``value``."""
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{out}"'


def regex_literal(value: str) -> str:
    """An RE2 pattern matching exactly ``value`` (before string-literal quoting)."""
    return "".join("\\" + c if c in _RE2_SPECIAL else c for c in value)


@dataclass(frozen=True)
class AnyOf:
    """A matcher value meaning "equal to one of these" (``label=~"a|b"`` with each escaped)."""

    values: tuple[str, ...]
    suffix: str = ""  # a raw RE2 tail, e.g. "(:[0-9]+)?" to allow a port after a host

    @classmethod
    def of(cls, values: Iterable[str], suffix: str = "") -> AnyOf:
        return cls(tuple(dict.fromkeys(values)), suffix)


def selector(metric: str, matchers: Mapping[str, str | AnyOf | None] | None = None) -> str:
    """``metric{label="value",...}``; ``None`` values are left out."""
    if not _METRIC.match(metric):
        raise ValueError(f"not a metric name: {metric!r}")
    parts = []
    for label, value in (matchers or {}).items():
        if value is None:
            continue
        if not _LABEL.match(label):
            raise ValueError(f"not a label name: {label!r}")
        if isinstance(value, AnyOf):
            if not value.values:
                raise ValueError(f"no values to match for label {label!r}")
            pattern = f"({'|'.join(regex_literal(v) for v in value.values)}){value.suffix}"
            parts.append(f"{label}=~{quote(pattern)}")
        else:
            parts.append(f"{label}={quote(value)}")
    return f"{metric}{{{','.join(parts)}}}" if parts else metric
