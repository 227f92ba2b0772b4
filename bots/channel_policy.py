"""Which Slack channels may run which actions (``[slack] channel_rules``).

A rule's key is an action name (``drain``) or an action kind (``destructive``, ``write``,
``read``); its value the channel ids allowed. An action-name rule wins over a kind rule, so an
on-call channel can be required for destructive actions while one destructive action is opened
to a second channel. No matching rule: any channel. This is Slack-specific (the engine knows
front ends, not channels), so it lives in the bot and runs before the engine sees the request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dcops.actions.errors import DeniedError


def allowed_channels(rules: Mapping[str, Sequence[str]], action: str, kind: str) -> Sequence[str] | None:
    """The channel ids allowed for this action, or None when no rule applies."""
    if action in rules:
        return rules[action]
    if kind in rules:
        return rules[kind]
    return None


def check_channel(rules: Mapping[str, Sequence[str]], action: str, kind: str, channel_id: str) -> None:
    """Raise a one-line DeniedError naming the allowed channels when ``channel_id`` is not one."""
    allowed = allowed_channels(rules, action, kind)
    if allowed is None or channel_id in allowed:
        return
    where = ", ".join(f"<#{c}>" for c in allowed) or "no channel"
    raise DeniedError(f"{action} ({kind}) may not be run from this channel; allowed: {where}")
