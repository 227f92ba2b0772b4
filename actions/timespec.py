"""Durations (``90s``, ``15m``, ``2h``, ``1d``) and points in time (``2h`` ago, or ISO 8601) as
operators type them in every front end."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BeforeValidator

_DUR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


MAX_SECONDS = 3650 * 86400.0  # ten years: anything longer is a typo, and would overflow dates


def parse_duration(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; use e.g. 90s, 15m, 2h, 1d")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _DUR.match(str(value))
        if not m:
            raise ValueError(f"{str(value)[:40]!r} is not a duration; use e.g. 90s, 15m, 2h, 1d")
        seconds = float(m.group(1)) * _UNIT[m.group(2)]
    if not 0 <= seconds <= MAX_SECONDS:  # also refuses nan and inf
        raise ValueError(f"{str(value)[:40]!r} is out of range: a duration is 0 to 3650d (ten years)")
    return seconds


def parse_time(value: object, now: datetime | None = None) -> datetime:
    """``2h`` means two hours ago; otherwise an ISO 8601 time (UTC when no zone is given)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    if _DUR.match(text):
        return (now or datetime.now(UTC)) - timedelta(seconds=parse_duration(text))
    if len(text) > 40:
        raise ValueError(f"{text[:40]!r}… is not a time; use a duration ago (2h, 30m) or ISO 8601 (2026-11-29T04:00)")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a time; use a duration ago (2h, 30m) or ISO 8601 (2026-11-29T04:00)"
        ) from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


Duration = Annotated[float, BeforeValidator(parse_duration)]
TimePoint = Annotated[datetime, BeforeValidator(parse_time)]
