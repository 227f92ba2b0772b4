"""The bot's settings: the ``[slack]`` config section plus secrets read from the environment.

Secrets (bot token, signing secret, app-level token) are never in the config file, only the names
of the environment variables that hold them, so the file can be shared and checked in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from dcops.actions.config.model import SlackSection
from dcops.actions.errors import ConfigError


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str
    signing_secret: str
    app_token: str | None = None  # set -> Socket Mode instead of HTTP
    api_base_url: str | None = None  # a local Slack Web API in tests; None -> Slack's
    approvals_channel: str | None = None
    channel_rules: Mapping[str, list[str]] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 3000
    update_interval: float = 1.0  # min seconds between chat.update calls (Slack rate-limits them)
    confirm_ttl: float = 300.0  # seconds a Confirm button stays valid

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    def __repr__(self) -> str:  # never print secrets, even in a debugger or a log line
        return (
            f"SlackSettings(socket_mode={self.socket_mode}, api_base_url={self.api_base_url!r}, "
            f"approvals_channel={self.approvals_channel!r}, host={self.host!r}, port={self.port})"
        )

    @classmethod
    def from_config(cls, section: SlackSection | None, environ: Mapping[str, str] | None = None) -> SlackSettings:
        sec = section or SlackSection()
        env = os.environ if environ is None else environ
        bot_token = env.get(sec.bot_token_env, "")
        signing_secret = env.get(sec.signing_secret_env, "")
        app_token = env.get(sec.app_token_env) or None
        if not bot_token:
            raise ConfigError(f"no Slack bot token: set ${sec.bot_token_env} (xoxb-…) or [slack] bot_token_env")
        if not app_token and not signing_secret:
            raise ConfigError(
                f"no Slack signing secret: set ${sec.signing_secret_env}, or ${sec.app_token_env} "
                "(xapp-…) for Socket Mode"
            )
        return cls(
            bot_token=bot_token,
            signing_secret=signing_secret,
            app_token=app_token,
            api_base_url=sec.api_base_url,
            approvals_channel=sec.approvals_channel,
            channel_rules=dict(sec.channel_rules),
            host=sec.host,
            port=sec.port,
            update_interval=sec.update_interval,
            confirm_ttl=sec.confirm_ttl,
        )
