"""The node screen links to the site's Grafana ([grafana] url_template): the node's dashboard in
its head line, and the links a metrics view's result carries (the flagged GPU first) under it."""

from __future__ import annotations

from textual.widgets import Static

from dcops.actions.config.grafana import GrafanaSection
from dcops.console.tui.app import DcopsApp
from dcops.console.tui.screens.node import NodeScreen

from .conftest import SIZE, wait_for

TEMPLATE = "https://grafana.example/d/dcgm?var-node={node}&var-gpu={gpu}&from={from}&to={to}"


def _text(app: DcopsApp, selector: str) -> str:
    """The widget's text, "" until the screen has composed it."""
    try:
        return str(app.screen.query_one(selector, Static).render())
    except Exception:  # NoMatches while the screen mounts
        return ""


async def test_node_screen_links_to_grafana(config) -> None:
    cfg = config().model_copy(update={"grafana": GrafanaSection(url_template=TEMPLATE)})
    app = DcopsApp(cfg, principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None and app.node_names(), what="the engine")
        app.push_screen(NodeScreen("gpu017"))
        await wait_for(pilot, lambda: isinstance(app.screen, NodeScreen), what="the node screen")
        await wait_for(
            pilot,
            lambda: (
                "Grafana https://grafana.example/d/dcgm?var-node=gpu017&var-gpu=All&from=" in _text(app, "#node-head")
            ),
            what="the head line's link",
        )
        await wait_for(pilot, lambda: "Grafana: gpu017 GPU 3" in _text(app, "#summary-gpus"), what="the GPU tab's link")


async def test_no_grafana_section_no_link(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None and app.node_names(), what="the engine")
        app.push_screen(NodeScreen("gpu017"))
        await wait_for(pilot, lambda: isinstance(app.screen, NodeScreen), what="the node screen")
        await wait_for(pilot, lambda: "GPUs on" in _text(app, "#summary-gpus"), what="the GPU tab")
        assert "gpu017" in _text(app, "#node-head")
        assert "Grafana" not in _text(app, "#node-head") + _text(app, "#summary-gpus")


async def test_metrics_result_screen_shows_the_links(config) -> None:
    from dcops.console.tui.screens.result import ResultScreen

    cfg = config().model_copy(update={"grafana": GrafanaSection(url_template=TEMPLATE)})
    app = DcopsApp(cfg, principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None and app.node_names(), what="the engine")
        await pilot.press("colon", *"gpu-health gpu[016-017]", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen), what="the result screen")
        await wait_for(
            pilot,
            lambda: (
                "Grafana: gpu017 GPU 3 https://grafana.example/d/dcgm?var-node=gpu017&var-gpu=3"
                in _text(app, "#result-links")
            ),
            what="the links line",
        )


async def test_alerts_screen_links_the_alerting_node(config) -> None:
    from dcops.actions.config.alerts import AlertmanagerSection

    from .test_alerts_screen import _receive

    cfg = config().model_copy(
        update={"alertmanager": AlertmanagerSection(), "grafana": GrafanaSection(url_template=TEMPLATE)}
    )
    await _receive(cfg, "gpu061", "beef0061")
    app = DcopsApp(cfg, principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.current_mode == "alerts", what="the Alerts screen first", timeout=45)
        await wait_for(
            pilot,
            lambda: (
                "Grafana: https://grafana.example/d/dcgm?var-node=gpu061&var-gpu=2&from="
                in _text(app, "#alerts-detail")
            ),
            what="the alert's Grafana line",
            timeout=45,
        )
