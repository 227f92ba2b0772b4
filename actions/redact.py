"""Secrets never reach the audit log: parameter names that look like secrets are masked, and so is
anything pydantic declares as a SecretStr."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

_SECRET_NAME = re.compile(r"(pass(word)?|secret|token|credential|api[-_]?key|private[-_]?key)", re.I)
MASK = "***"


def redact(value: Any, key: str = "") -> Any:
    if key and _SECRET_NAME.search(key):
        return MASK
    if isinstance(value, (SecretStr, SecretBytes)):
        return MASK
    if isinstance(value, BaseModel):
        return redact(value.model_dump(mode="python"))
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
