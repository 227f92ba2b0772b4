"""The Slurm port over slurmrestd (openapi v0.0.38, JWT), with the Slurm CLI for what 22.05's REST
API cannot do.

REST: list nodes and jobs (``GET /nodes``, ``GET /jobs``), cancel or signal
(``DELETE /job/{id}?signal=``), hold and release (``POST /job/{id}`` with ``{"hold": true|false}``).
CLI (``fallback``): drain, resume and down (22.05's node endpoint is GET-only) and requeue (no REST
endpoint). Every request is bounded by ``timeout``; slurmrestd reports a failed slurmctld call in the
body's ``errors`` list with HTTP 200 or 500, so both the status and that list are checked.
What 22.05's REST and CLI can and cannot do: docs/slurm.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from ..errors import BackendError, BackendUnavailable
from . import slurm_args as args
from .models import JobFilter, JobInfo, NodeInfo
from .ports import SlurmPort
from .slurm_cli import matches
from .slurm_parse import job_from_json, node_from_json, node_jobs_from_json

_UNREACHABLE = ("Unable to contact slurm controller", "Socket timed out", "Connection refused")


class SlurmRest:
    """Implements :class:`~dcops.actions.backends.ports.SlurmPort`."""

    def __init__(
        self,
        url: str,
        *,
        user: str,
        token: SecretStr,
        fallback: SlurmPort,
        api_version: str = "v0.0.38",
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.fallback = fallback
        self.prefix = f"/slurm/{api_version}"
        self.timeout = timeout
        self._client = httpx.AsyncClient(
            base_url=self.url,
            timeout=timeout,
            transport=transport,
            headers={"X-SLURM-USER-NAME": user, "X-SLURM-USER-TOKEN": token.get_secret_value()},
        )

    async def _request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        what = f"{method} {self.prefix}{path}"
        try:
            resp = await self._client.request(method, self.prefix + path, **kw)
        except httpx.TimeoutException:
            raise BackendUnavailable(
                f"slurm: slurmrestd at {self.url} did not answer {what} within {self.timeout:g} s (is slurmctld up?)"
            ) from None
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"slurm: cannot reach slurmrestd at {self.url}: {exc}") from None
        if resp.status_code in (401, 403):
            raise BackendError(
                f"slurm: slurmrestd refused the token ({resp.status_code}); check [slurm] token_env and rest_user"
            )
        try:
            body = resp.json()
        except ValueError:
            raise BackendError(f"slurm: slurmrestd answered {what} with HTTP {resp.status_code} and no JSON") from None
        errors = [e for e in body.get("errors") or [] if e.get("error") or e.get("description")]
        if errors:
            text = "; ".join(str(e.get("description") or e.get("error")) for e in errors)
            if any(m in text for m in _UNREACHABLE):
                raise BackendUnavailable(f"slurm: slurmctld does not answer slurmrestd ({text})")
            raise BackendError(f"slurm: slurmrestd {what}: {text}")
        if resp.status_code >= 400:
            raise BackendError(f"slurm: slurmrestd answered {what} with HTTP {resp.status_code}")
        return body

    async def _all_jobs(self) -> list[JobInfo]:
        return [job_from_json(j) for j in (await self._request("GET", "/jobs")).get("jobs") or []]

    async def nodes(self, names: Sequence[str] | None = None, *, jobs: bool = True) -> list[NodeInfo]:
        if names is not None:
            if not names:
                return []
            args.node_list(names)
        if jobs:
            raw, all_jobs = await asyncio.gather(self._request("GET", "/nodes"), self._all_jobs())
            on_node = node_jobs_from_json(all_jobs)
        else:
            raw, on_node = await self._request("GET", "/nodes"), {}
        found = {n["name"]: n for n in raw.get("nodes") or []}
        order = list(names) if names is not None else list(found)
        return [node_from_json(found[n], on_node.get(n)) for n in order if n in found]

    async def jobs(self, filter: JobFilter | None = None) -> list[JobInfo]:
        flt = filter or JobFilter()
        return [j for j in await self._all_jobs() if matches(j, flt)]

    async def cancel(self, job_ids: Sequence[str], signal: str | None = None) -> None:
        params = {"signal": args.signal_name(signal)} if signal else {}
        await args.per_job(job_ids, lambda job: self._request("DELETE", f"/job/{job}", params=params))

    async def hold(self, job_ids: Sequence[str]) -> None:
        await args.per_job(job_ids, lambda job: self._request("POST", f"/job/{job}", json={"hold": True}))

    async def release(self, job_ids: Sequence[str]) -> None:
        await args.per_job(job_ids, lambda job: self._request("POST", f"/job/{job}", json={"hold": False}))

    # 22.05's REST API cannot do these: the CLI does them
    async def drain(self, nodes: Sequence[str], reason: str) -> None:
        await self.fallback.drain(nodes, reason)

    async def resume(self, nodes: Sequence[str]) -> None:
        await self.fallback.resume(nodes)

    async def requeue(self, job_ids: Sequence[str]) -> None:
        await self.fallback.requeue(job_ids)

    async def aclose(self) -> None:
        await self._client.aclose()
        close = getattr(self.fallback, "aclose", None)
        if close is not None:
            await close()
