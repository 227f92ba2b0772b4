"""A request as every front end builds it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Request(BaseModel):
    model_config = ConfigDict(frozen=True)

    principal: str  # unix:alice, slack:U0123
    channel: str  # tui, cli, slack, api
    action: str
    params: dict[str, Any] = Field(default_factory=dict)
    confirm: str | None = None  # the echoed confirmation token (node count or hostlist)
    yes: bool = False  # CLI --yes: skip confirmation where the policy allows it
    approval_id: str | None = None  # run a request a second person approved
    resume_of: str | None = None  # finish what run RUN_ID left undone (resumable actions)
    interactive: bool = False  # a person at the keyboard (TUI, Slack, CLI on a terminal): actions in
    # guards.confirm_actions ask them the typed confirmation on every path
    alert: str | None = None  # fingerprint of the Alertmanager alert this was started from
