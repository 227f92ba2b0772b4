"""Alerts in: Alertmanager webhooks parsed into :class:`Alert`, deduplicated and audited by the
:class:`AlertInbox`, and mapped (by data, ``mapping.toml``) to the evidence an on-call needs and the
suggested actions with pre-filled arguments. Actions started from an alert go through
``Engine.submit`` with the alert's fingerprint in the request (``Request.alert``)."""

from __future__ import annotations

from .inbox import AlertInbox, ReceiveReport
from .mapping import AlertMapping, Playbook, Suggestion, load_mapping
from .model import Alert, PayloadError, parse_payload

__all__ = [
    "Alert",
    "AlertInbox",
    "AlertMapping",
    "PayloadError",
    "Playbook",
    "ReceiveReport",
    "Suggestion",
    "load_mapping",
    "parse_payload",
]
