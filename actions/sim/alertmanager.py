"""An in-process Alertmanager for the demo and unit tests: silences held in memory, same port as
the real adapter (which is tested against the lab's real Alertmanager)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from ..backends.models import Silence
from ..errors import NotFound


class SimAlertmanager:
    def __init__(self) -> None:
        self._silences: dict[str, Silence] = {}

    async def create_silence(self, matchers: dict[str, str], *, hours: float, created_by: str, comment: str) -> str:
        sid = secrets.token_hex(8)
        now = datetime.now(UTC)
        self._silences[sid] = Silence(
            id=sid,
            state="active",
            matchers=dict(matchers),
            created_by=created_by,
            comment=comment,
            starts_at=now.isoformat(),
            ends_at=(now + timedelta(hours=hours)).isoformat(),
        )
        return sid

    async def expire_silence(self, silence_id: str) -> None:
        if silence_id not in self._silences:
            raise NotFound(f"alertmanager: no silence {silence_id}")
        self._silences[silence_id] = self._silences[silence_id].model_copy(update={"state": "expired"})

    async def silences(self) -> list[Silence]:
        return list(self._silences.values())
