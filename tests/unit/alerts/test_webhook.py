"""The webhook receiver over real HTTP (aiohttp on loopback): Alertmanager's bearer token and basic
auth accepted, a forged or missing credential refused with 401 and audited, a malformed body 400
with one line, and no receiver starts without credentials."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from dcops.actions.alerts import AlertInbox
from dcops.actions.config.alerts import AlertsSection
from dcops.actions.engine import Engine
from dcops.actions.errors import ConfigError
from dcops.actions.store.base import AuditQuery
from dcops.bots.alert_webhook import WebhookServer, serve_webhook

from .conftest import alert, payload

TOKEN = "s3cret-token-for-tests"


@pytest.fixture
async def server(eng: Engine, inbox: AlertInbox, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WebhookServer]:
    monkeypatch.setenv("DCOPS_TEST_ALERT_TOKEN", TOKEN)
    monkeypatch.setenv("DCOPS_TEST_ALERT_PW", "pw")
    eng.config = eng.config.model_copy(
        update={
            "alerts": AlertsSection(
                token_env="DCOPS_TEST_ALERT_TOKEN",
                basic_user="am",
                basic_password_env="DCOPS_TEST_ALERT_PW",
                max_body=4096,
            )
        }
    )
    srv = await serve_webhook(inbox, eng.config, host="127.0.0.1", port=0)
    yield srv
    await srv.stop()


async def post(url: str, body: bytes | dict, **headers: str) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with httpx.AsyncClient() as c:
        return await c.post(url, content=data, headers={"Content-Type": "application/json", **headers})


async def test_bearer_and_basic_auth_are_accepted(server: WebhookServer, eng: Engine) -> None:
    node = eng.node_names()[0]
    r = await post(server.url, payload(alert(node=node, fp="aa01")), Authorization=f"Bearer {TOKEN}")
    assert r.status_code == 200 and r.json()["new"] == 1
    basic = base64.b64encode(b"am:pw").decode()
    r = await post(server.url, payload(alert(node=node, fp="aa02")), Authorization=f"Basic {basic}")
    assert r.status_code == 200 and r.json()["new"] == 1
    r = await post(server.url, payload(alert(node=node, fp="aa02")), Authorization=f"Basic {basic}")
    assert r.json() == {**r.json(), "new": 0, "repeats": 1}


@pytest.mark.parametrize(
    "headers, why",
    [
        ({}, "no Authorization header"),
        ({"Authorization": f"Bearer {TOKEN}x"}, "wrong bearer token"),
        ({"Authorization": "Bearer"}, "wrong bearer token"),
        ({"Authorization": "Basic " + base64.b64encode(b"am:nope").decode()}, "wrong basic-auth user or password"),
        ({"Authorization": "Basic %%%"}, "malformed basic credentials"),
        ({"Authorization": f"Token {TOKEN}"}, "unsupported Authorization scheme"),
    ],
)
async def test_forged_or_unauthenticated_deliveries_are_refused_and_audited(
    server: WebhookServer, eng: Engine, inbox: AlertInbox, headers: dict, why: str
) -> None:
    r = await post(server.url, payload(alert(node=eng.node_names()[0], fp="bad1")), **headers)
    assert r.status_code == 401 and TOKEN not in r.text
    assert inbox.alerts(include_resolved=True) == []  # nothing of it is shown
    recs = await eng.store.query(AuditQuery(action="alert", newest_first=False))
    assert [r.event for r in recs] == ["received", "denied"]
    assert recs[0].principal == "webhook:127.0.0.1" and why in recs[1].detail and TOKEN not in recs[1].detail


async def test_malformed_and_oversized_bodies(server: WebhookServer, eng: Engine) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = await post(server.url, b'{"version": "4"', **auth)
    assert r.status_code == 400 and r.json()["error"].startswith("malformed Alertmanager webhook: body is not JSON")
    r = await post(server.url, b"x" * 10000, **auth)
    assert r.status_code == 413
    events = [r.event for r in await eng.store.query(AuditQuery(action="alert", newest_first=False))]
    assert events == ["received", "invalid", "received", "invalid"]


async def test_no_credentials_no_receiver(eng: Engine, inbox: AlertInbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DCOPS_ALERTS_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="never accepts unauthenticated alerts"):
        await serve_webhook(inbox, eng.config, host="127.0.0.1", port=0)
