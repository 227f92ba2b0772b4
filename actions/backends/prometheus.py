"""PrometheusPort over Prometheus' HTTP API (``/api/v1/query``, ``/api/v1/query_range``).

Hand-written on httpx rather than prometheus-api-client because that client is synchronous
(``requests``): every query would block the event loop the engine, the TUI and the Slack bot share,
or need a thread each. The two endpoints are plain GETs with a documented JSON envelope
(``status``, ``data.resultType``, ``data.result``, ``errorType``, ``error``), so an async client is a
few lines and keeps every call bounded by one timeout.

Failure mapping, so a user sees one clear line:
- the server rejects the expression (HTTP 400/422, ``bad_data``) -> :class:`UsageError` carrying
  Prometheus' own message (it names the position of the syntax error);
- connection refused / DNS / TLS -> :class:`BackendUnavailable` naming the URL;
- no answer within the timeout -> :class:`BackendError` naming the timeout;
- any other non-success answer -> :class:`BackendError` with the server's status and message.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict

from ..errors import BackendError, BackendUnavailable, UsageError
from .models import Sample, Series

_MAX_POINTS = 11_000  # Prometheus refuses range queries with more points per series than this


# The two common answers, typed, so pydantic-core parses the JSON body straight into checked labels
# and floats (Prometheus sends each value as a string, "NaN" and "+Inf" included) in one call: a
# 10,000-node range answer costs ~0.4 of json.loads plus a model per series (measured on 2.4 MB).
# Any other answer (scalar, string, an error, an unexpected shape) takes the generic path below.
class _VectorItem(TypedDict):
    metric: dict[str, str]
    value: tuple[float, float]


class _MatrixItem(TypedDict):
    metric: dict[str, str]
    values: list[tuple[float, float]]


class _VectorData(TypedDict):
    resultType: str
    result: list[_VectorItem]


class _MatrixData(TypedDict):
    resultType: str
    result: list[_MatrixItem]


class _VectorAnswer(TypedDict):
    status: str
    data: _VectorData


class _MatrixAnswer(TypedDict):
    status: str
    data: _MatrixData


_VECTOR = TypeAdapter(_VectorAnswer)
_MATRIX = TypeAdapter(_MatrixAnswer)


def _typed(resp: httpx.Response, shape: TypeAdapter[Any], kind: str) -> list[Any] | None:
    """The answer's result items if it is a successful ``kind`` answer of the expected shape, else None."""
    if resp.status_code != 200:
        return None
    try:
        answer = shape.validate_json(resp.content)
    except ValidationError:
        return None
    if answer["status"] != "success" or answer["data"]["resultType"] != kind:
        return None
    return list(answer["data"]["result"])


class PrometheusAdapter:
    def __init__(
        self,
        url: str,
        *,
        timeout: float = 15.0,
        headers: dict[str, str] | None = None,
        max_concurrency: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``max_concurrency`` caps queries in flight: a health view fans out a dozen queries, and
        beyond a few at once they only contend for Prometheus' cores (and httpcore's pool
        bookkeeping grows with every open connection)."""
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._slots = asyncio.Semaphore(max_concurrency)  # cheaper than queueing in httpcore's pool
        self._client = httpx.AsyncClient(
            base_url=self.url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers=headers,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def query(self, promql: str, at: datetime | None = None) -> list[Sample]:
        params = {"query": promql, "timeout": f"{self.timeout:g}s"}
        if at is not None:
            params["time"] = f"{_unix(at):.3f}"
        resp = await self._request("/api/v1/query", params)
        items = _typed(resp, _VECTOR, "vector")
        if items is not None:  # checked by the typed parse: no second validation per sample
            return [
                Sample.model_construct(labels=r["metric"], value=r["value"][1], timestamp=r["value"][0]) for r in items
            ]
        data = self._data(resp)
        kind = data.get("resultType")
        result: Any = data.get("result")  # JSON whose shape depends on kind
        if kind == "vector":
            return [
                Sample(labels=r["metric"], value=_num(r["value"][1]), timestamp=float(r["value"][0])) for r in result
            ]
        if kind == "scalar":
            ts, value = result
            return [Sample(labels={}, value=_num(value), timestamp=float(ts))]
        if kind == "string":  # a bare string literal: no number to show, keep the text as a label
            ts, value = result
            return [Sample(labels={"string": str(value)}, value=math.nan, timestamp=float(ts))]
        if kind == "matrix":  # an instant query of a range selector (x[5m]): every raw sample
            return [
                Sample(labels=r["metric"], value=_num(v), timestamp=float(t)) for r in result for t, v in r["values"]
            ]
        raise BackendError(f"prometheus at {self.url} answered with an unknown result type {kind!r}")

    async def query_range(self, promql: str, start: datetime, end: datetime, step: float) -> list[Series]:
        if step <= 0:
            raise UsageError(f"range query step must be positive, got {step:g}s")
        t0, t1 = _unix(start), _unix(end)
        if t1 < t0:
            raise UsageError("range query end is before its start")
        if (t1 - t0) / step > _MAX_POINTS:
            raise UsageError(
                f"{(t1 - t0) / step:.0f} points per series is more than Prometheus allows "
                f"({_MAX_POINTS}); use a larger --step"
            )
        resp = await self._request(
            "/api/v1/query_range",
            {
                "query": promql,
                "start": f"{t0:.3f}",
                "end": f"{t1:.3f}",
                "step": f"{step:g}",
                "timeout": f"{self.timeout:g}s",
            },
        )
        items = _typed(resp, _MATRIX, "matrix")
        if items is not None:  # checked by the typed parse: no second validation per series
            return [Series.model_construct(labels=r["metric"], points=tuple(r["values"])) for r in items]
        data = self._data(resp)
        if data.get("resultType") != "matrix":
            raise BackendError(f"prometheus at {self.url} answered a range query with {data.get('resultType')!r}")
        return [
            Series(labels=r["metric"], points=tuple((float(t), _num(v)) for t, v in r["values"]))
            for r in data["result"]
        ]

    async def _request(self, path: str, params: dict[str, str]) -> httpx.Response:
        try:
            async with self._slots:
                resp = await self._client.get(path, params=params)
        except httpx.TimeoutException:  # unreachable for the caller (exit 6), like a refused connection
            raise BackendUnavailable(f"prometheus at {self.url} did not answer within {self.timeout:g}s") from None
        except httpx.TransportError as exc:
            reason = _reason(exc)
            raise BackendUnavailable(f"prometheus at {self.url} is not reachable: {reason}") from None
        return resp

    def _data(self, resp: httpx.Response) -> dict[str, Any]:
        """The ``data`` of a successful answer, or the error mapped to one clear line."""
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("status") == "success" and isinstance(body.get("data"), dict):
            return body["data"]
        message = body.get("error") if isinstance(body, dict) else None
        error_type = body.get("errorType") if isinstance(body, dict) else None
        if resp.status_code in (400, 422) and error_type in ("bad_data", "execution") and message:
            raise UsageError(f"prometheus rejected the query: {message}")
        if error_type == "timeout":
            raise BackendError(f"prometheus at {self.url} gave up on the query: {message or 'timeout'}")
        detail = message or (resp.text.strip().splitlines() or [resp.reason_phrase])[0][:200]
        raise BackendError(f"prometheus at {self.url} answered HTTP {resp.status_code}: {detail}")


def _reason(exc: httpx.TransportError) -> str:
    """The root cause's words: httpx wraps "connection refused" in "All connection attempts failed"."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    return (str(exc) or type(exc).__name__).splitlines()[0]


def _num(value: Any) -> float:
    return float(value)  # Prometheus sends "NaN", "+Inf", "-Inf" as strings; float() reads them all


def _unix(dt: datetime) -> float:
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
