"""What the Ansible port takes and gives: one playbook run on named hosts, and its events reduced
to what dcops shows (task started, a host's result for a task, the final per-host tally)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

HostStatus = Literal["ok", "changed", "failed", "unreachable", "skipped"]


class PlaybookJob(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str  # the approved playbook's name (NAME.yml in directory)
    directory: str  # the approved playbook directory
    hosts: list[str]  # dcops node names; the adapter builds the inventory
    extra_vars: dict[str, Any] = Field(default_factory=dict)  # already validated against the declaration
    check: bool = False  # ansible-playbook --check
    diff: bool = False  # ansible-playbook --diff
    run_id: str = ""  # names the artifact directory
    module: str | None = None  # ad hoc: run this module (``ansible -m``) instead of a playbook
    module_args: dict[str, Any] = Field(default_factory=dict)  # its arguments (sent as one JSON ``-a``)


class TaskStarted(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["task"] = "task"
    task: str
    play: str = ""


class HostResult(BaseModel):
    """One host's result for one task (ansible-runner's runner_on_ok / failed / unreachable / skipped)."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["host"] = "host"
    host: str
    task: str
    status: HostStatus
    message: str = ""  # msg / stderr of a failure, one line
    diff: str = ""  # --diff output of this task on this host
    ignored: bool = False  # failed with ignore_errors: not a host failure


class HostStats(BaseModel):
    model_config = ConfigDict(frozen=True)
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0


class PlaybookStats(BaseModel):
    """playbook_on_stats: the recap, per host."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["stats"] = "stats"
    hosts: dict[str, HostStats]
    status: str = ""  # ansible-runner's final status: successful / failed / timeout / canceled
    rc: int | None = None
    error: str = ""  # why there is no recap (syntax error, missing playbook)


PlaybookEvent = TaskStarted | HostResult | PlaybookStats
