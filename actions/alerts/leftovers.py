"""Silences dcops made, with the outcome of the run that made each: the ``silences`` action lists
them, and the receivers (``dcops alerts serve``, the bot) report at start those a failed,
interrupted or cancelled run left active — a silence is never left behind unannounced."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..backends.ports import AlertmanagerPort
from ..store.base import AuditQuery

TAG = "dcops run"
LEFT = ("failed", "interrupted", "cancelled")


@dataclass(frozen=True)
class DcopsSilence:
    silence: Any  # backends.models.Silence
    run: str
    run_state: str  # ok / failed / interrupted / cancelled / running

    @property
    def left_behind(self) -> bool:
        return self.silence.state == "active" and self.run_state in LEFT

    @property
    def note(self) -> str:
        return (
            f"left by a {self.run_state} run: the node is still out; `resume NODE` expires it"
            if self.left_behind
            else ""
        )


async def dcops_silences(am: Any, store: Any, *, include_expired: bool = False) -> list[DcopsSilence]:
    out = []
    for s in await am.silences():
        if TAG not in s.comment or (not include_expired and s.state == "expired"):
            continue
        run = s.comment.rsplit(TAG, 1)[1].strip(" )")
        done = await store.query(AuditQuery(run_id=run, event="finished", limit=1))
        out.append(DcopsSilence(s, run, (done[0].outcome or "finished") if done else "running"))
    return out


async def report_left_behind(engine: Any) -> str | None:
    """One line naming the silences failed or interrupted runs left active, or None."""
    am = engine.backends.find(AlertmanagerPort)
    if am is None:
        return None
    try:
        left = [d for d in await dcops_silences(am, engine.store) if d.left_behind]
    except Exception as exc:  # noqa: BLE001 - a start-up report must not stop the receiver
        return f"could not check for left-behind silences: {exc}"
    if not left:
        return None
    names = ", ".join(f"{','.join(d.silence.matchers.values())} ({d.run_state} run {d.run})" for d in left[:5])
    return (
        f"{len(left)} alert silence(s) left active by runs that did not finish: {names}"
        + (" …" if len(left) > 5 else "")
        + "; `dcops alerts silences` lists them, `resume NODE` expires them"
    )
