"""Grafana links: the URL template is checked at load, values are quoted (a node name cannot add
query parameters), metrics views attach links, the CLI prints them and Slack shows URL buttons."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dcops.actions import Request
from dcops.actions.config import parse_config
from dcops.actions.config.model import AuditSection, DcopsConfig
from dcops.actions.engine import Engine
from dcops.actions.errors import ConfigError
from dcops.actions.events import Link, Result
from dcops.actions.links import grafana_links
from dcops.actions.rbac import Policy
from dcops.actions.sim import SimCluster
from dcops.actions.store.sqlite import SqliteStore
from dcops.bots.blocks import LINK, link_buttons
from dcops.console.render import EventPrinter

TEMPLATE = "https://grafana.example/d/dcgm?var-node={node}&var-gpu={gpu}&from={from}&to={to}"


def _config(**grafana) -> DcopsConfig:
    return parse_config({"cluster": {"name": "t", "demo": True}, "grafana": {"url_template": TEMPLATE, **grafana}})


@pytest.mark.parametrize(
    "template, message",
    [
        ("https://g/d?node={host}", "unknown placeholder(s) {host}"),
        ("https://g/d?node={node", "not a valid template"),
        ("javascript:alert({node})", "must start with http"),
    ],
)
def test_bad_templates_fail_at_load(template: str, message: str) -> None:
    with pytest.raises(ConfigError, match="grafana.url_template"):
        parse_config({"grafana": {"url_template": template}})
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_config({"grafana": {"url_template": template}})


def test_values_are_quoted_and_times_are_epoch_ms() -> None:
    cfg = _config()
    start, end = datetime(2026, 12, 4, 1, tzinfo=UTC), datetime(2026, 12, 4, 2, tzinfo=UTC)
    url = cfg.grafana.url("gpu017&var-x=1", gpu=3, start=start, end=end)
    assert url == (
        "https://grafana.example/d/dcgm?var-node=gpu017%26var-x%3D1&var-gpu=3&from=1796346000000&to=1796349600000"
    )
    assert "var-gpu=All" in cfg.grafana.url("gpu001")
    assert grafana_links(DcopsConfig(), ["gpu001"]) == []  # no [grafana], no links
    links = grafana_links(cfg, [f"gpu{i:03d}" for i in range(1, 10)] + ["gpu001"])
    assert len(links) == 5 and links[0].label == "Grafana: gpu001"


async def test_metrics_views_link_the_flagged_gpu_first(tmp_path: Path) -> None:
    cfg = _config().model_copy(update={"audit": AuditSection(url=f"sqlite:///{tmp_path}/a.db")})
    eng = Engine(cfg, SimCluster(nodes=64).backends(), SqliteStore(str(tmp_path / "a.db")), Policy.demo())
    await eng.start()
    try:
        run = await eng.submit(
            Request(principal="unix:alice", channel="cli", action="gpu-health", params={"nodes": "gpu[016-018]"})
        )
        await run.wait()
        assert [link.label for link in run.result.links] == [
            "Grafana: gpu017 GPU 3",
            "Grafana: gpu016",
            "Grafana: gpu018",
        ]
        assert "var-node=gpu017&var-gpu=3" in run.result.links[0].url
        run = await eng.submit(
            Request(principal="unix:alice", channel="cli", action="node-health", params={"nodes": "gpu[044-045]"})
        )
        await run.wait()
        assert run.result.links[0].label == "Grafana: gpu045"  # the node needing attention first
    finally:
        await eng.aclose()


def test_cli_prints_links_and_slack_shows_url_buttons() -> None:
    result = Result(summary="1 node", links=[Link(label="Grafana: gpu017", url="https://g/d?var-node=gpu017")])
    out = io.StringIO()
    EventPrinter(out=out, err=io.StringIO())(result)
    assert out.getvalue().splitlines()[-1] == "Grafana: gpu017: https://g/d?var-node=gpu017"
    block = link_buttons(result.links).to_dict()
    assert block["type"] == "actions"
    assert block["elements"][0]["url"] == "https://g/d?var-node=gpu017"
    assert block["elements"][0]["action_id"].startswith(LINK)


def test_slack_run_message_carries_the_buttons() -> None:
    from dcops.bots.blocks import run_message
    from dcops.bots.run_view import RunView

    view = RunView(action="gpu-health", command_text="gpu-health gpu017", requester="U1")
    view.apply(Result(summary="8 GPUs", links=[Link(label="Grafana: gpu017 GPU 3", url="https://g/d?var-gpu=3")]))
    _, blocks = run_message(view)
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"] if e.get("url")]
    assert [(b["text"]["text"], b["url"]) for b in buttons] == [("Grafana: gpu017 GPU 3", "https://g/d?var-gpu=3")]


def test_slack_alert_message_links_the_node_dashboard() -> None:
    from types import SimpleNamespace

    from dcops.actions.alerts import Alert
    from dcops.bots.alert_slack import AlertPoster, render

    alert = Alert(
        fingerprint="f1",
        status="firing",
        starts_at="2026-12-04T02:00:00Z",
        known_node=True,
        labels={"alertname": "GpuXid", "Hostname": "gpu017", "gpu": "3", "severity": "critical"},
    )
    poster = AlertPoster(SimpleNamespace(engine=SimpleNamespace(config=_config())), inbox=None, channel="C1")
    links = poster._links(alert)
    assert [link.label for link in links] == ["Grafana: gpu017 GPU 3"]
    assert "var-node=gpu017&var-gpu=3&from=1796346000000&to=" in links[0].url  # from an hour before it began
    _, message = render(alert, None, [], [], links=links)
    urls = [e["url"] for b in message if b["type"] == "actions" for e in b["elements"] if e.get("url")]
    assert urls == [links[0].url]
    no_config = AlertPoster(SimpleNamespace(engine=SimpleNamespace(config=DcopsConfig())), inbox=None, channel="C1")
    assert no_config._links(alert) == []
