"""[grafana]: links out to the site's Grafana dashboards.

``url_template`` is a URL with placeholders filled per link: ``{node}`` (the node name),
``{gpu}`` (a GPU index, or ``All`` when the link is about the whole node), ``{from}`` / ``{to}``
(epoch milliseconds, as Grafana's ``from=``/``to=`` take them). Values are URL-quoted. Any other
placeholder is a config error, so a typo shows at start, not as a broken link at 3 a.m.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from pydantic import field_validator

from ._base import Section

PLACEHOLDERS = ("node", "gpu", "from", "to")


class GrafanaSection(Section):
    url_template: str  # https://grafana/d/dcgm?var-node={node}&var-gpu={gpu}&from={from}&to={to}
    default_range: float = 3600.0  # seconds back from now when a view has no time range of its own
    label: str = "Grafana"  # the button / link text

    @field_validator("url_template")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("url_template must start with http:// or https://")
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError as exc:
            raise ValueError(f"url_template is not a valid template: {exc}") from None
        unknown = sorted({f for f in fields if f not in PLACEHOLDERS})
        if unknown:
            raise ValueError(
                f"url_template has unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; "
                f"accepted: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
            )
        return value

    def url(
        self, node: str, *, gpu: int | str | None = None, start: datetime | None = None, end: datetime | None = None
    ) -> str:
        """The dashboard URL for ``node`` (and one GPU), over [start, end] (default: the last
        ``default_range`` seconds). Every value is URL-quoted: a node name cannot add parameters."""
        end = end or datetime.now(UTC)
        start = start or end - timedelta(seconds=self.default_range)
        values = {
            "node": node,
            "gpu": "All" if gpu is None else str(gpu),
            "from": str(int(start.timestamp() * 1000)),
            "to": str(int(end.timestamp() * 1000)),
        }
        return self.url_template.format(**{k: quote(v, safe="") for k, v in values.items()})
