"""Secrets never reach the audit log: masked by name (a parameter called ``password``, a pydantic
SecretStr) and by value, in every string stored — reasons, free text, error messages, the argv of a
command that did not parse.

By value means two kinds of text: ``key=value`` / ``key: value`` pairs and ``--password VALUE``
argv pairs whose key names a secret, and the known shapes of tokens (Slack ``xox?-``, GitHub
``ghp_``/``github_pat_``, JWTs, PEM private keys, AWS access keys, bearer tokens, credentials in
URLs, and a few more). The value is replaced by ``***``; the key and the rest of the text stay, so a
reviewer still reads what happened.

Why regular expressions and not detect-secrets (Yelp): measured here, its ``scan_line`` costs about
0.7 ms per line with the token plugins on (this runs on every audited string of every action), its
keyword plugin does not flag ``password=hunter2`` in free text, it reports only ``ghp`` of a GitHub
token and cuts a JWT before its signature, so what it returns cannot be masked as is. The patterns
below follow the token formats those detectors (and gitleaks) document.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

_SECRET_WORDS = r"pass(?:word|wd|phrase)?|pwd|secret|token|credentials?|api[-_]?key|access[-_]?key|private[-_]?key|auth[-_]?key|client[-_]?secret"
_SECRET_NAME = re.compile(rf"({_SECRET_WORDS})", re.I)
MASK = "***"

# key=value / key: value, the key naming a secret (aws_secret_access_key=..., "password": "...")
_PAIR = re.compile(
    rf"""(?P<key>[\w.-]*(?:{_SECRET_WORDS})[\w.-]*["']?\s*[=:]\s*)(?P<value>"[^"]*"|'[^']*'|[^\s,;&"']+)""", re.I
)
# an argv option naming a secret, whose value is the next word: --password hunter2
_SECRET_FLAG = re.compile(rf"^--?[\w-]*(?:{_SECRET_WORDS})[\w-]*$", re.I)
_SHAPES = re.compile(
    "|".join(
        [
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|$)",  # PEM private key
            r"\bxox[abposrce]-[A-Za-z0-9-]{8,}",  # Slack bot/user/app tokens
            r"\bxapp-[0-9]-[A-Za-z0-9-]{8,}",  # Slack app-level token
            r"hooks\.slack\.com/services/[A-Za-z0-9/]+",  # Slack webhook URL
            r"\bgh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens
            r"\bgithub_pat_[A-Za-z0-9_]{20,}",  # GitHub fine-grained token
            r"\bglpat-[A-Za-z0-9_-]{20,}",  # GitLab token
            r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",  # JWT (header.payload.signature)
            r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z0-9]{16}\b",  # AWS access key id
            r"\bAIza[0-9A-Za-z_-]{35}\b",  # Google API key
            r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}",  # OpenAI-style secret key
            r"\b[rs]k_live_[A-Za-z0-9]{20,}",  # Stripe live key
            r"\bnpm_[A-Za-z0-9]{36}\b",  # npm token
            r"\bpypi-[A-Za-z0-9_-]{50,}",  # PyPI token
        ]
    )
)
_BEARER = re.compile(r"(?P<key>\b(?:bearer|basic)\s+)(?P<value>[A-Za-z0-9._~+/-]{8,}=*)", re.I)
_BASIC = re.compile(r"basic\s", re.I)
_URL_CRED = re.compile(r"(?P<key>\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)(?P<value>[^/\s@]+)(?=@)", re.I)
# cheap test first (on the lowercased text): most audited strings (node names, reasons) hold none
_MAYBE = re.compile(
    r"pass|pwd|secret|token|credential|key|xox|xapp|gh[pousr]_|github_pat|glpat|eyj|aiza|sk[-_]|"
    r"rk_live|npm_|pypi-|begin|bearer|basic|://"
)
_AWS = re.compile(r"A[BCGIKNPRS][A-Z]A[A-Z0-9]{16}")


def _is_credential(m: re.Match[str]) -> bool:
    """A bearer token is any token-shaped word; a Basic credential is base64 of ``user:password``, so
    prose such as "malformed basic credentials" is left readable."""
    if not _BASIC.match(m["key"]):
        return True
    try:
        return b":" in base64.b64decode(m["value"] + "=" * (-len(m["value"]) % 4), validate=True)
    except (ValueError, binascii.Error):
        return False


def scrub(text: str) -> str:
    """``text`` with every secret value in it replaced by ``***``."""
    if len(text) < 6 or (_MAYBE.search(text.lower()) is None and _AWS.search(text) is None):
        return text
    text = _SHAPES.sub(MASK, text)
    text = _URL_CRED.sub(lambda m: m["key"] + MASK, text)
    text = _BEARER.sub(lambda m: m["key"] + MASK if _is_credential(m) else m[0], text)
    return _PAIR.sub(
        lambda m: m["key"] + (m["value"] if m["value"] in (MASK, f'"{MASK}"', f"'{MASK}'") else MASK), text
    )


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
        out: list[Any] = []
        hide_next = False
        for v in value:
            if hide_next and isinstance(v, str):
                out.append(MASK)
                hide_next = False
                continue
            hide_next = isinstance(v, str) and bool(_SECRET_FLAG.match(v))
            out.append(redact(v))
        return out
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return scrub(str(value))
