"""An Alertmanager alert as dcops holds it, and the webhook payload (``version: "4"``) it comes in.

The payload is validated with pydantic so a malformed body becomes one line naming the first bad
field; extra fields Alertmanager may add later are ignored (they are not ours to refuse)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import UsageError

_FINGERPRINT = re.compile(r"^[0-9A-Za-z]{1,64}$")
_NODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
MAX_ALERTS = 1000  # one webhook; Alertmanager's max_alerts is 0 (all) by default


class PayloadError(UsageError):
    """The body is not an Alertmanager webhook payload; the message says what was wrong."""


class _WireAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str
    endsAt: str = ""
    generatorURL: str = ""
    fingerprint: str

    @field_validator("fingerprint")
    @classmethod
    def _fp(cls, v: str) -> str:
        if not _FINGERPRINT.match(v):
            raise ValueError("must be 1-64 letters or digits")
        return v

    @field_validator("labels")
    @classmethod
    def _has_name(cls, v: dict[str, str]) -> dict[str, str]:
        if "alertname" not in v:
            raise ValueError("has no alertname")
        return v


class _WirePayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: str
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupKey: str = ""
    alerts: list[_WireAlert] = Field(max_length=MAX_ALERTS)
    externalURL: str = ""
    truncatedAlerts: int = 0


def node_of(labels: dict[str, str]) -> str | None:
    """The node an alert is about: the ``node`` label dcops' rules set, else DCGM's ``Hostname``,
    else ``instance`` without its port. None when none of them looks like a host name."""
    for key in ("node", "Hostname", "instance"):
        value = labels.get(key)
        if value:
            value = value.rsplit(":", 1)[0] if key == "instance" else value
            return value if _NODE.match(value) else None
    return None


@dataclass(frozen=True)
class Alert:
    fingerprint: str
    status: str  # firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: str = ""
    ends_at: str = ""
    generator_url: str = ""
    received: str = ""  # ISO time dcops received this state
    known_node: bool | None = None  # the node is in dcops' inventory (None: not checked / no node)

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "?")

    @property
    def node(self) -> str | None:
        return node_of(self.labels)

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")

    @property
    def summary(self) -> str:
        return self.annotations.get("summary") or self.annotations.get("description") or self.name

    @property
    def firing(self) -> bool:
        return self.status == "firing"

    @property
    def state_key(self) -> tuple[str, str, str]:
        """What makes a delivery new: Alertmanager re-sends a whole group on every change and every
        repeat_interval, so the same fingerprint in the same status since the same start is a repeat."""
        return (self.fingerprint, self.status, self.starts_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "status": self.status,
            "alertname": self.name,
            "node": self.node,
            "severity": self.severity,
            "summary": self.summary,
            "labels": self.labels,
            "annotations": self.annotations,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "generator_url": self.generator_url,
            "received": self.received,
            "known_node": self.known_node,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Alert:
        return cls(
            fingerprint=d["fingerprint"],
            status=d["status"],
            labels=dict(d.get("labels") or {}),
            annotations=dict(d.get("annotations") or {}),
            starts_at=d.get("starts_at", ""),
            ends_at=d.get("ends_at", ""),
            generator_url=d.get("generator_url", ""),
            received=d.get("received", ""),
            known_node=d.get("known_node"),
        )


def parse_payload(body: bytes | str | dict[str, Any]) -> tuple[str, list[Alert]]:
    """(receiver, alerts) from a webhook body, or one :class:`PayloadError` line."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PayloadError(f"malformed Alertmanager webhook: body is not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise PayloadError("malformed Alertmanager webhook: expected a JSON object with version, status and alerts")
    try:
        wire = _WirePayload.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        raise PayloadError(
            f"malformed Alertmanager webhook: {where}: {err['msg']} (expected Alertmanager's webhook JSON, version 4)"
        ) from None
    if wire.version != "4":
        raise PayloadError(f"unsupported Alertmanager webhook version {wire.version!r}; dcops reads version 4")
    return wire.receiver, [
        Alert(
            fingerprint=a.fingerprint,
            status=a.status,
            labels=_clean(a.labels),
            annotations=_clean(a.annotations),
            starts_at=_CONTROL.sub(" ", a.startsAt),
            ends_at=_CONTROL.sub(" ", a.endsAt),
            generator_url=_CONTROL.sub(" ", a.generatorURL),
        )
        for a in wire.alerts
    ]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean(values: dict[str, str]) -> dict[str, str]:
    """Control characters become spaces: label and annotation text reaches terminals, Slack and the
    audit log, and a multi-line description must not break a one-line view (nor an escape sequence
    repaint a terminal). The alert is kept — refusing it would hide a real fault."""
    return {_CONTROL.sub(" ", k): _CONTROL.sub(" ", v) for k, v in values.items()}
