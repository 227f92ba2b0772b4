"""Command palette (ctrl+p): every action of the registry, and every screen.

Choosing an action opens the ``:`` line prefilled with its name, because most actions need
targets and options; actions the principal may not run are listed with the policy's reason, so
the palette also answers "why can't I do X here?".
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from dcops.actions import registry, usage

if TYPE_CHECKING:
    from .app import DcopsApp

SCREENS = ("fleet", "jobs", "operations", "audit", "approvals", "metrics")


class ActionCommands(Provider):
    def _entries(self) -> list[tuple[str, str, Callable[[], Any]]]:
        app = cast("DcopsApp", self.app)
        entries: list[tuple[str, str, Callable[[], Any]]] = []
        for name in SCREENS:
            entries.append((f"screen: {name}", f"switch to the {name} screen", partial(app.switch_mode, name)))
        engine = app.engine
        for spec in registry:
            note = ""
            if engine is not None:
                decision = engine.decide(app.principal, spec.name)
                if not decision.allowed:
                    note = f" (not for you: {decision.reason})"
            entries.append(
                (
                    f"action: {spec.name}",
                    f"{spec.help} — {usage(spec)}{note}",
                    partial(app.action_command_line, f"{spec.name} "),
                )
            )
        return entries

    async def discover(self) -> Hits:
        for title, help_text, callback in self._entries():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
