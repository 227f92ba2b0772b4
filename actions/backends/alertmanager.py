"""AlertmanagerPort over Alertmanager's API v2: silences for nodes in maintenance.

Hand-written on httpx (as the Prometheus adapter): the three calls dcops makes are plain JSON over
HTTP, and the generated OpenAPI clients on PyPI are synchronous. ``POST /api/v2/silences`` returns
``{"silenceID": ...}``; ``DELETE /api/v2/silence/ID`` expires one; ``GET /api/v2/silences`` lists
them with ``status.state`` active / pending / expired.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ..errors import BackendError, BackendUnavailable, NotFound
from .models import Silence


class AlertmanagerAdapter:
    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(base_url=self.url, timeout=timeout, headers=headers, transport=transport)

    async def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            resp = await self._client.request(method, path, **kw)
        except httpx.TimeoutException:  # unreachable for the caller (exit 6), like a refused connection
            raise BackendUnavailable(
                f"alertmanager {self.url}: no answer within {self._client.timeout.read}s"
            ) from None
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"alertmanager {self.url} unreachable: {exc}") from None
        if resp.status_code == 404 and method == "DELETE":
            raise NotFound(f"alertmanager {self.url}: no silence at {path}")
        if resp.status_code >= 400:
            raise BackendError(
                f"alertmanager {self.url} answered {resp.status_code} to {method} {path}: {resp.text.strip()[:200]}"
            )
        return resp

    async def create_silence(self, matchers: dict[str, str], *, hours: float, created_by: str, comment: str) -> str:
        now = datetime.now(UTC)
        body = {
            "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in matchers.items()],
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(hours=hours)).isoformat(),
            "createdBy": created_by,
            "comment": comment,
        }
        data = (await self._call("POST", "/api/v2/silences", json=body)).json()
        return str(data["silenceID"])

    async def expire_silence(self, silence_id: str) -> None:
        await self._call("DELETE", f"/api/v2/silence/{silence_id}")

    async def silences(self) -> list[Silence]:
        data = (await self._call("GET", "/api/v2/silences")).json()
        return [
            Silence(
                id=s["id"],
                state=s["status"]["state"],
                matchers={
                    m["name"]: m["value"]
                    for m in s.get("matchers", [])
                    if m.get("isEqual", True) and not m.get("isRegex")
                },
                created_by=s.get("createdBy", ""),
                comment=s.get("comment", ""),
                starts_at=s.get("startsAt", ""),
                ends_at=s.get("endsAt", ""),
            )
            for s in data
        ]

    async def aclose(self) -> None:
        await self._client.aclose()


def build_alertmanager(section) -> AlertmanagerAdapter:  # noqa: ANN001 - AlertmanagerSection
    token = os.environ.get(section.token_env) if section.token_env else None
    return AlertmanagerAdapter(section.url, token=token, timeout=section.timeout)
