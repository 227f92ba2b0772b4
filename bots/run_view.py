"""The state of one run as the Slack message shows it, folded from the run's event stream.

Kept apart from the Block Kit rendering so the folding (which events win, what is kept) can be
tested without any Slack types, and so a message can be re-rendered from scratch on every
``chat.update`` (Slack replaces the whole message; there is no partial update).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dcops.actions import events

MAX_LOG_LINES = 5  # only the newest log lines fit in a chat message


@dataclass
class RunView:
    """What the run message needs to know; ``apply`` returns True when something visible changed."""

    action: str
    command_text: str
    requester: str  # Slack user id, for the <@U…> mention
    run_id: str = ""
    targets: list[str] = field(default_factory=list)
    dry_run: bool = False
    progress: events.Progress | None = None
    steps: dict[str, events.Step] = field(default_factory=dict)
    logs: list[events.Log] = field(default_factory=list)
    result: events.Result | None = None
    errors: list[str] = field(default_factory=list)
    finished: events.RunFinished | None = None
    approved_by: str | None = None  # Slack user id of the approver, for approved runs
    stoppable: bool = False  # show a Stop button while it runs (mutating actions)
    public_rows: int | None = None  # reads: at most this many table rows in the channel; the
    # full table goes into the message's thread

    def apply(self, event: object) -> bool:
        if isinstance(event, events.RunStarted):
            self.run_id, self.targets, self.dry_run = event.run_id, list(event.targets), event.dry_run
        elif isinstance(event, events.Progress):
            self.progress = event
        elif isinstance(event, events.Step):
            self.steps[event.target] = event
        elif isinstance(event, events.Log):
            if event.level == "debug":
                return False
            self.logs = (self.logs + [event])[-MAX_LOG_LINES:]
        elif isinstance(event, events.Result):
            self.result = event
        elif isinstance(event, events.Error):
            self.errors.append(event.message)
        elif isinstance(event, events.RunFinished):
            self.finished = event
            self.run_id = self.run_id or event.run_id
        else:
            return False
        return True

    @property
    def done(self) -> bool:
        return self.finished is not None

    def steps_by_status(self) -> dict[str, list[events.Step]]:
        grouped: dict[str, list[events.Step]] = {}
        for step in self.steps.values():
            grouped.setdefault(step.status, []).append(step)
        return grouped
