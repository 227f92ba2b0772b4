"""Links out (Grafana dashboards, from a result's ``links``) as clickable text: terminals that
support hyperlinks open them, and the URL is on screen to copy in those that do not."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from dcops.actions.events import Link


def links_text(links: Sequence[Link], *, urls: bool = False) -> Text:
    """``label`` (or ``label URL``) per link, underlined and carrying the link style."""
    parts: list[str | tuple[str, str]] = []
    for link in links:
        if parts:
            parts.append("  ")
        parts.append((f"{link.label} {link.url}" if urls else link.label, f"underline link {link.url}"))
    return Text.assemble(*parts)
