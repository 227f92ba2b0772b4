"""Slack user -> RBAC principal.

The policy binds ``slack:<user id>``: Slack user ids (U…/W…) are immutable, while handles and
display names can be changed by the user, so a handle must never grant anything. Membership of
Slack user groups is not trusted from the request either (Slack does not send it); the policy's
own groups decide what a principal may do. A request whose user id is malformed is refused here
before it reaches the engine; a well-formed but unmapped id reaches the engine, which denies and
audits it.
"""

from __future__ import annotations

import re

from dcops.actions.errors import DeniedError

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
PREFIX = "slack:"


def principal_for(user_id: str | None) -> str:
    """``U0123`` -> ``slack:U0123``; anything that is not a Slack user id is refused."""
    if not user_id or not _USER_ID.match(user_id):
        raise DeniedError(f"request without a valid Slack user id ({user_id!r}); refused")
    return PREFIX + user_id


def user_of(principal: str) -> str | None:
    """The Slack user id behind a principal, or None for principals of other front ends."""
    return principal.removeprefix(PREFIX) if principal.startswith(PREFIX) else None
