"""Block Kit rendering: run messages, tables, prompts and one-line errors.

Built with slack_sdk's block models (they know Slack's field limits) and serialised to dicts at the
edge. Every function here is pure: state in, ``(fallback_text, blocks)`` out, so the same message
can be re-rendered on each ``chat.update`` and unit-tested without a server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
    TableBlock,
)

from dcops.actions import events
from dcops.actions.hostlists import collapse as collapse_hostlist
from dcops.actions.result_rows import Row
from dcops.actions.safe_text import printable

from .chart import chart_for
from .run_view import RunView

# action_ids of the interactive buttons; interactivity.py registers handlers for exactly these
CONFIRM, CANCEL, APPROVE, DENY = "dcops_confirm", "dcops_cancel", "dcops_approve", "dcops_deny"
STOP = "dcops_stop"
RESUME_LEFT = "dcops_resume_left"  # Resume the nodes a stopped run left out of service
FOLLOWUP = "dcops_followup"  # run a follow-up a result suggests (triage: drain gpu023 ...)
MAX_FOLLOWUPS = 20  # every follow-up gets a button (triage --auto: drain + reset per bad link)
FOLLOWUPS_PER_ROW = 5  # Slack allows 25 per actions block; rows of 5 stay readable on a phone
LINK = "dcops_link"  # prefix of link buttons (Grafana): Slack opens the URL, the bot only acks

TABLE_MAX_ROWS = 100  # Slack's table block limit (header row included)
TABLE_MAX_COLS = 20
SECTION_MAX = 2900  # Slack allows 3000 characters in a section's text; keep a margin
MAX_FAILED_LISTED = 10  # failed targets are listed one per line, up to this many
DETAIL_MAX = 160  # per failed target, so ten of them and the count of the rest fit

STATUS_ICON = {
    "ok": ":white_check_mark:",
    "failed": ":x:",
    "running": ":hourglass_flowing_sand:",
    "pending": ":white_circle:",
    "skipped": ":fast_forward:",
    "cancelled": ":no_entry_sign:",
    "interrupted": ":warning:",
    "dry-run": ":memo:",
    "planned": ":memo:",
}

# a verdict's icon by what it found, not by whether the read worked: a bad cable is never a green tick
SEVERITY_ICON = {"ok": ":white_check_mark:", "warning": ":warning:", "bad": ":red_circle:"}

Rendered = tuple[str, list[dict[str, Any]]]


def _dicts(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


def _clip(text: str, limit: int = SECTION_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _md(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=_clip(text)))


def escape(text: str) -> str:
    """Slack mrkdwn control characters; user-provided text must not ping channels or fake links,
    and other control characters show escaped (newlines stay: callers join lines they wrote)."""
    return printable(text, keep_newlines=True).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def collapse(names: Sequence[str]) -> str:
    """Node names back to a hostlist (gpu[001-060]) so 64 targets fit in one line."""
    try:
        return collapse_hostlist(list(names))
    except Exception:  # noqa: BLE001 - job ids and odd names are not hostlists: list them as they are
        return ",".join(names)


# ---------------------------------------------------------------- one-line replies


_SLACK_REF = re.compile(r"<(?:@[UW][A-Z0-9]{2,20}|#C[A-Z0-9]{2,20}(?:\|[a-z0-9_-]{1,80})?)>")


def escape_keeping_refs(text: str) -> str:
    """Escape like :func:`escape` but let user mentions and channel links (``<@U…>``, ``<#C…>``)
    render: the bot's own error lines name people and channels. ``<!channel>``-style broadcasts and
    links stay escaped, so a message cannot ping everyone or fake a link."""
    out, last = [], 0
    for m in _SLACK_REF.finditer(text):
        out += [escape(text[last : m.start()]), m.group(0)]
        last = m.end()
    return "".join(out) + escape(text[last:])


def error_line(message: str) -> Rendered:
    """A user error: one line, never a traceback."""
    line = " ".join(str(message).split())
    return line, _dicts([_md(f":warning: {escape_keeping_refs(line)}")])


def notice(text: str) -> Rendered:
    return text, _dicts([_md(text)])


def code_section(text: str) -> dict[str, Any]:
    """Preformatted text (usage help) as one section block."""
    return _md("```\n" + escape(_clip(text, SECTION_MAX - 10)) + "\n```").to_dict()


# ---------------------------------------------------------------- tables and charts


def _cell(text: str) -> dict[str, str]:
    return {"type": "raw_text", "text": printable(text) or " "}


def table_block(table: events.Table, model: type[Row] | None = None) -> tuple[list[Block], str | None]:
    """A Slack table block; returns the blocks and a note when rows or columns were cut. With the
    result's row model, number columns are right-aligned (the model says which are numbers; the
    display strings do not)."""
    columns = [str(c) for c in table.columns][:TABLE_MAX_COLS]
    kinds = {c.title: c.kind for c in model.columns()} if model is not None else {}
    settings = [{"align": "right"} if kinds.get(c) == "number" else None for c in columns]
    body = table.rows[: TABLE_MAX_ROWS - 1]
    # cells as plain raw_text dicts, not RawTextObject models: a full table is 2,000 cells, and
    # validating each as a model made re-rendering on every chat.update the bot's main CPU cost
    rows = [[_cell(c) for c in columns]]
    for row in body:
        cells = [("" if v is None else str(v)) for v in list(row)[: len(columns)]]
        cells += [""] * (len(columns) - len(cells))
        rows.append([_cell(c) for c in cells])
    note = None
    if len(table.rows) > len(body) or len(table.columns) > len(columns):
        note = (
            f"showing {len(body)} of {len(table.rows)} rows"
            + (f", {len(columns)} of {len(table.columns)} columns" if len(table.columns) > len(columns) else "")
            + " — use the CLI for the full table"
        )
    blocks: list[Block] = []
    if table.title:
        blocks.append(_md(f"*{escape(table.title)}*"))
    blocks.append(TableBlock(rows=rows, column_settings=settings if any(settings) else None))
    return blocks, note


# ---------------------------------------------------------------- the run message


def _steps_text(view: RunView) -> str | None:
    grouped = view.steps_by_status()
    if not grouped:
        return None
    if view.dry_run:  # a dry run changes nothing: its targets are planned, never "running"
        planned = [s.target for s in view.steps.values() if s.status in ("pending", "running", "ok")]
        rest = {k: v for k, v in grouped.items() if k not in ("pending", "running", "ok")}
        grouped = ({"planned": [events.Step(target=t, status="ok") for t in planned]} if planned else {}) | rest
    lines: list[str] = []
    for status in ("failed", "running", "pending", "ok", "planned", "skipped", "cancelled"):
        steps = grouped.get(status, [])
        if not steps:
            continue
        icon = STATUS_ICON.get(status, "")
        if status == "failed":
            for step in steps[:MAX_FAILED_LISTED]:
                detail = f" — {escape(_clip(step.detail, DETAIL_MAX))}" if step.detail else ""
                lines.append(f"{icon} `{escape(step.target)}` failed{detail}")
            if len(steps) > MAX_FAILED_LISTED:
                more = collapse([s.target for s in steps[MAX_FAILED_LISTED:]])
                lines.append(f"{icon} and {len(steps) - MAX_FAILED_LISTED} more failed: `{escape(more)}`")
        else:
            lines.append(f"{icon} {status} ({len(steps)}): `{escape(collapse([s.target for s in steps]))}`")
    return "\n".join(lines)


def _progress_text(progress: events.Progress) -> str:
    width = 20
    filled = round(width * progress.done / progress.total) if progress.total else width
    bar = "█" * filled + "░" * (width - filled)
    label = f" {escape(progress.label)}" if progress.label else ""
    return f"`{bar}` {progress.done}/{progress.total}{label}"


def run_message(view: RunView) -> Rendered:
    """The whole run message for its current state: header, progress, per-target results,
    result (summary, table, chart) and a footer that names the run id to find its audit trail."""
    if view.finished is not None:
        outcome = view.finished.outcome
        state = f"{STATUS_ICON.get(outcome, '')} {outcome}"
    else:
        state = f"{STATUS_ICON['running']} running"
    title = f"{view.action}: {state.split(' ', 1)[1]}"
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=_clip(f"dcops {title}", 150)))]
    who = f"<@{view.requester}>" + (f", approved by <@{view.approved_by}>" if view.approved_by else "")
    blocks.append(_md(f"{state} · `/dcops {escape(_clip(view.command_text, 500))}` · {who}"))

    if view.progress is not None and view.finished is None:
        blocks.append(_md(_progress_text(view.progress)))
    steps = _steps_text(view)
    if steps:
        blocks.append(_md(steps))
    if view.stoppable and view.finished is None and view.run_id:
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Stop",
                        action_id=STOP,
                        value=view.run_id,
                        style="danger",
                        confirm=ConfirmObject(
                            title="Stop this run?",
                            text="Targets already done stay done; nodes in the "
                            "middle of it are left drained and listed here with a Resume button.",
                            confirm="Stop run",
                            deny="Keep running",
                        ),
                    )
                ]
            )
        )
    left = view.finished.left_out_of_service if view.finished is not None else []
    if left:
        nodes = collapse(left)
        blocks.append(_md(f":construction: left out of service by the stop: `{escape(nodes)}`"))
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text=_clip(f"Resume {nodes}", 70),
                        action_id=RESUME_LEFT,
                        value=nodes,
                        confirm=ConfirmObject(
                            title="Return them to service?",
                            text=f"resume {nodes} (audited)",
                            confirm="Resume nodes",
                            deny="Leave drained",
                        ),
                    )
                ]
            )
        )
    if view.logs and view.finished is None:
        blocks.append(
            ContextBlock(
                elements=[MarkdownTextObject(text=_clip("\n".join(escape(log.message) for log in view.logs), 1900))]
            )
        )

    notes: list[str] = []
    result = view.result
    if result is not None:
        icon = (
            STATUS_ICON["dry-run"]
            if view.dry_run
            else SEVERITY_ICON[result.severity]
            if result.ok
            else STATUS_ICON["failed"]
        )
        blocks.append(_md(f"{icon} {escape(result.summary)}"))
        if result.table is not None and result.table.columns:
            table = result.table
            if view.public_rows is not None and len(table.rows) > view.public_rows:
                table = table.model_copy(update={"rows": table.rows[: view.public_rows]})
                notes.append(
                    f"first {view.public_rows} of {len(result.table.rows)} rows; the full table is in the thread"
                )
            tblocks, note = table_block(table, result.row_model)
            blocks.extend(tblocks)
            if note:
                notes.append(note)
        chart = chart_for(result.data)
        if chart:
            blocks.append(_md(chart))
        followups = (
            [f for f in (result.data or {}).get("followups", []) if isinstance(f, str)]
            if isinstance(result.data, dict) and view.finished is not None
            else []
        )
        buttons = [
            ButtonElement(text=_clip(f"Run: {f}", 70), action_id=f"{FOLLOWUP}_{i}", value=_clip(f, 1900))
            for i, f in enumerate(followups[:MAX_FOLLOWUPS])
        ]
        for start in range(0, len(buttons), FOLLOWUPS_PER_ROW):
            blocks.append(ActionsBlock(elements=buttons[start : start + FOLLOWUPS_PER_ROW]))
        if len(followups) > MAX_FOLLOWUPS:
            notes.append(f"{len(followups) - MAX_FOLLOWUPS} more follow-up(s) not shown: type them as `/dcops ...`")
        if result.links:
            blocks.append(link_buttons(result.links))
    for message in view.errors[-3:]:
        blocks.append(_md(f":warning: {escape(message)}"))

    footer = []
    if view.run_id:
        footer.append(f"run `{view.run_id}` · audit: `/dcops audit --run {view.run_id}`")
    if view.finished is not None:
        footer.append(f"took {view.finished.duration:.1f}s")
    footer.extend(notes)
    if footer:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" · ".join(footer))]))

    summary = (result.summary if result else "") or (view.finished.summary if view.finished else "")
    text = f"dcops {title}" + (f": {escape(summary)}" if summary else "")
    return _clip(text, 3000), _dicts(blocks)


# ---------------------------------------------------------------- confirmation and approval


def confirm_prompt(*, command_text: str, message: str, value: str, ttl: float = 300.0) -> Rendered:
    """The requester-only (ephemeral) prompt; ``value`` binds the buttons to one pending request."""
    text = f"Confirm `/dcops {escape(command_text)}`? {escape(message)}"
    blocks = [
        _md(f":warning: *Confirm* `/dcops {escape(command_text)}`\n{escape(message)}"),
        ContextBlock(
            elements=[
                MarkdownTextObject(text=f"only you can confirm · the buttons expire in {max(1, round(ttl / 60))} min")
            ]
        ),
        ActionsBlock(
            elements=[
                ButtonElement(text="Confirm", action_id=CONFIRM, value=value, style="danger"),
                ButtonElement(text="Cancel", action_id=CANCEL, value=value),
            ]
        ),
    ]
    return text, _dicts(blocks)


def approval_request(
    *, approval_id: str, requester: str, command_text: str, message: str, plan: events.Result | None = None
) -> Rendered:
    """The approvers' card. ``plan``: the request as a dry run (targets, batches, affected jobs,
    versions), so nobody approves what they have not seen; Approve asks once more before it runs."""
    text = f"Approval needed: <@{requester}> asks to run /dcops {escape(command_text)}"
    blocks: list[Block] = [
        _md(
            f":raised_hand: *Approval needed* — <@{requester}> asks to run\n`/dcops {escape(command_text)}`\n"
            f"{escape(message)}"
        ),
    ]
    if plan is not None:
        blocks.append(_md(f":memo: *Plan:* {escape(_clip(plan.summary, 1500))}"))
        if plan.table is not None and plan.table.columns:
            tblocks, _ = table_block(plan.table, plan.row_model)
            blocks.extend(tblocks)
    blocks += [
        ContextBlock(elements=[MarkdownTextObject(text=f"approval `{approval_id}` · the requester cannot approve")]),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Approve",
                    action_id=APPROVE,
                    value=approval_id,
                    style="primary",
                    confirm=ConfirmObject(
                        title="Approve and run?",
                        text=_clip(f"/dcops {command_text} runs now as <@{requester}>'s request", 290),
                        confirm="Approve and run",
                        deny="Not now",
                    ),
                ),
                ButtonElement(text="Deny", action_id=DENY, value=approval_id, style="danger"),
            ]
        ),
    ]
    return text, _dicts(blocks)


def approval_decided(
    *, approval_id: str, requester: str, command_text: str, verdict: str, decider: str, run_id: str | None = None
) -> Rendered:
    """The approval message once decided: the buttons are gone so nobody decides twice."""
    icon = ":white_check_mark:" if verdict == "approved" else ":no_entry:"
    tail = f" · run `{run_id}`" if run_id else ""
    text = f"{verdict} by <@{decider}>: /dcops {escape(command_text)}"
    blocks = [
        _md(f"{icon} *{verdict.capitalize()}* by <@{decider}> — <@{requester}>'s `/dcops {escape(command_text)}`"),
        ContextBlock(elements=[MarkdownTextObject(text=f"approval `{approval_id}`{tail}")]),
    ]
    return text, _dicts(blocks)


# ---------------------------------------------------------------- help


def help_message(specs: Sequence[Any], *, read_only: bool) -> Rendered:
    """Only what this user may run, grouped by category, with the verb and its one-line help."""
    if not specs:
        return error_line("you may not run any dcops action here; ask an admin to add your Slack user to the policy")
    by_cat: dict[str, list[Any]] = {}
    for spec in specs:
        by_cat.setdefault(spec.category, []).append(spec)
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text="dcops: what you may run"))]
    for cat in sorted(by_cat):
        lines = []
        for spec in by_cat[cat]:
            usage = " ".join(f"<{p}>" for p in spec.positional)
            mark = " :lock:" if spec.kind != "read" else ""
            lines.append(f"`{spec.name}{(' ' + escape(usage)) if usage else ''}`{mark} — {escape(spec.help)}")
        blocks.append(_md(f"*{escape(cat)}*\n" + "\n".join(lines)))
    tail = "read-only mode: only read actions run · " if read_only else ""
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"{tail}usage: `/dcops &lt;action&gt; [args] [--option value]` · `/dcops help &lt;action&gt;` · "
                    "`/dcops approve|deny &lt;id&gt;` · :lock: changes the cluster"
                )
            ]
        )
    )
    names = ", ".join(s.name for s in specs)
    return f"dcops: you may run {names}", _dicts(blocks)


def link_buttons(links: Sequence[events.Link]) -> ActionsBlock:
    """Links out (Grafana dashboards) as URL buttons: Slack opens them in the browser."""
    return ActionsBlock(
        elements=[
            ButtonElement(text=_clip(link.label, 75), url=link.url[:3000], action_id=f"{LINK}_{i}")
            for i, link in enumerate(links[:5])
        ]
    )
