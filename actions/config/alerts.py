"""[alerts] (the webhook receiver and the alert mapping), [alertmanager] (API v2 for silences) and
[validate] (checks a node must pass before it returns to service)."""

from __future__ import annotations

from pydantic import Field

from ._base import Section


class AlertsSection(Section):
    mapping: str | None = None  # site alert -> evidence/actions TOML, tried before the built-in one
    token_env: str | None = "DCOPS_ALERTS_TOKEN"  # bearer token Alertmanager sends (http_config.authorization)
    basic_user: str | None = None  # or basic auth (http_config.basic_auth)
    basic_password_env: str | None = None
    host: str = "127.0.0.1"  # `dcops alerts serve` listens here
    port: int = Field(9095, ge=1, le=65535)
    path: str = "/alertmanager"  # the webhook URL path (also in the Slack bot's process)
    slack_channel: str | None = None  # where the bot posts alert messages
    max_body: int = Field(4 * 1024 * 1024, ge=1024)  # bytes; Alertmanager batches can be large


class AlertmanagerSection(Section):
    url: str = "http://127.0.0.1:9093"
    token_env: str | None = None  # bearer token for the API, when a proxy asks for one
    timeout: float = 10.0
    silence_hours: float = Field(4.0, gt=0, le=24 * 14)  # default maintenance window of a --silence
    node_label: str = "node"  # the label dcops' rules put on every alert


class ValidateSection(Section):
    level: int = Field(1, ge=1, le=4)  # dcgmi diag level `validate` runs by default
    mandatory_for_health_drained: bool = False  # resume of a node drained with a health reason validates first
    driver: str | None = None  # expected NVIDIA driver version (None: any)
    gpus: int = Field(8, ge=0)  # GPUs a node must show
    ib_rate_gbps: float = 400.0  # each IB port must be ACTIVE at this rate
