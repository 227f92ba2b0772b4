"""Links out of dcops to the site's Grafana dashboards (``[grafana] url_template``).

Actions attach them to their :class:`~dcops.actions.events.Result` (``links``); every front end shows
them its own way: the CLI prints them, the TUI shows them on the node screen and under metrics
views, Slack renders them as link buttons. No ``[grafana]`` section, no links.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from .config.model import DcopsConfig
from .events import Link

MAX_LINKS = 5  # a Slack actions block holds at most 25 elements; five buttons stay readable


def grafana_links(
    config: DcopsConfig,
    nodes: Sequence[str],
    *,
    gpus: Mapping[str, int | str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Link]:
    """One link per node (the first :data:`MAX_LINKS`; put the nodes that need a look first),
    to one GPU of it when ``gpus`` names one."""
    section = config.grafana
    if section is None:
        return []
    out = []
    for node in list(dict.fromkeys(nodes))[:MAX_LINKS]:
        gpu = (gpus or {}).get(node)
        label = f"{section.label}: {node}" + (f" GPU {gpu}" if gpu is not None else "")
        out.append(Link(label=label, url=section.url(node, gpu=gpu, start=start, end=end)))
    return out
