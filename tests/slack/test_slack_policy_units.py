"""Unit tests of identity mapping, channel rules and the pending-confirmation store."""

from __future__ import annotations

import pytest

from dcops.actions.config.model import SlackSection
from dcops.actions.errors import ConfigError, DeniedError
from dcops.bots.channel_policy import check_channel
from dcops.bots.identity import principal_for, user_of
from dcops.bots.pending import PendingConfirms
from dcops.bots.settings import SlackSettings


def test_principal_is_the_immutable_user_id_and_garbage_is_refused():
    assert principal_for("U0ONCALL") == "slack:U0ONCALL"
    assert user_of("slack:U0ONCALL") == "U0ONCALL" and user_of("unix:alice") is None
    for bad in ("", None, "alice", "U0 1", "slack:U1", "u0lower"):
        with pytest.raises(DeniedError):
            principal_for(bad)


def test_channel_rules_action_rule_wins_over_kind_rule():
    rules = {"destructive": ["C0ONCALL"], "cancel": ["C0ONCALL", "C0JOBS"]}
    check_channel(rules, "requeue", "write", "C0ANY")  # no rule: allowed
    check_channel(rules, "cancel", "destructive", "C0JOBS")  # action rule allows it
    with pytest.raises(DeniedError, match="allowed: <#C0ONCALL>"):
        check_channel(rules, "reimage", "destructive", "C0JOBS")
    with pytest.raises(DeniedError):
        check_channel({"cancel": []}, "cancel", "destructive", "C0ONCALL")


def test_pending_confirm_is_bound_to_requester_nonce_and_single_use():
    store = PendingConfirms(ttl=60)
    item = store.add(
        requester="U1", channel_id="C1", command_text="cancel 5", action="cancel", params={"jobs": ["5"]}, token="1"
    )
    with pytest.raises(DeniedError, match="only <@U1>"):
        store.take(item.value, "U2")
    with pytest.raises(DeniedError, match="unknown"):
        store.take(f"{item.id}:wrong-nonce", "U1")
    assert store.take(item.value, "U1").token == "1"
    with pytest.raises(DeniedError, match="already used"):
        store.take(item.value, "U1")


def test_pending_confirm_expires():
    store = PendingConfirms(ttl=-1)
    item = store.add(requester="U1", channel_id="C1", command_text="x", action="cancel", params={}, token="1")
    with pytest.raises(DeniedError, match="expired"):
        store.take(item.value, "U1")


def test_settings_read_secrets_from_env_and_never_show_them():
    env = {"SLACK_BOT_TOKEN": "xoxb-secret", "SLACK_SIGNING_SECRET": "s3cret"}
    s = SlackSettings.from_config(SlackSection(approvals_channel="C0APPR", confirm_ttl=60, update_interval=2), env)
    assert s.bot_token == "xoxb-secret" and not s.socket_mode and s.approvals_channel == "C0APPR"
    assert (s.confirm_ttl, s.update_interval) == (60, 2)
    assert "secret" not in repr(s)
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        SlackSettings.from_config(None, {})
    with pytest.raises(ConfigError, match="signing secret"):
        SlackSettings.from_config(None, {"SLACK_BOT_TOKEN": "x"})
    assert SlackSettings.from_config(None, {"SLACK_BOT_TOKEN": "x", "SLACK_APP_TOKEN": "xapp-1"}).socket_mode
