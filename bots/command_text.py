"""The text of a slash command as Slack delivers it, turned back into what the user typed.

Slack escapes ``&``, ``<`` and ``>`` in the ``text`` field (``&amp;``, ``&lt;``, ``&gt;``), so a
PromQL ``rate(x[5m]) > 0`` arrives as ``rate(x[5m]) &gt; 0``; and Slack's desktop and mobile
clients often turn typed quotes into typographic ones (“xid 79”), which the shared grammar's
shell-style quoting would not recognise. Both are undone here, before parsing, and nothing else
is touched (the grammar itself is shared with the CLI and the TUI and stays Slack-agnostic).
"""

from __future__ import annotations

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "‘": "'", "’": "'", "‚": "'", "‛": "'"})


def normalise(text: str | None) -> str:
    """Undo Slack's entity escaping (``&amp;`` last, so ``&amp;lt;`` stays ``&lt;``) and straighten quotes."""
    t = (text or "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return t.translate(_QUOTES).strip()
