"""What is on every screen: the cluster banner on top and the status line at the bottom.

The banner is the safety cue: the cluster name is always visible, a production cluster paints it
(and the screen border) in the theme's ``production`` colour, and read-only mode says so.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


class Banner(Static):
    """``dcops │ cluster NAME │ PRODUCTION │ READ-ONLY │ unix:alice │ Fleet``"""

    DEFAULT_CSS = """
    Banner { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    Banner.-production { background: $production; color: white; text-style: bold; }
    """

    title = reactive("")
    as_of = reactive("")  # when the screen's data was read ("as of 03:12:05"), for live screens

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = title

    def on_mount(self) -> None:
        self.set_class(bool(getattr(self.app, "production", False)), "-production")

    def render(self) -> Text:
        app = self.app
        parts: list[tuple[str, str]] = [
            ("dcops", "bold"),
            ("  cluster ", ""),
            (getattr(app, "cluster_name", "?"), "bold"),
        ]
        if getattr(app, "production", False):
            parts.append(("  ▲ PRODUCTION", "bold reverse"))
        if getattr(app, "read_only", False):
            parts.append(("  READ-ONLY", "bold"))
        parts.append((f"  {getattr(app, 'principal', '')}", ""))
        parts.append((f"  │ {self.title}", "bold"))
        if self.as_of:
            parts.append((f"  │ as of {self.as_of}", ""))
        return Text.assemble(*parts)


class StatusLine(Static):
    """The last message (one line): errors stay until the next message, so a screenshot or a
    slow reader still sees why an action was refused."""

    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; background: $surface; color: $foreground; }
    StatusLine.-error { color: $error; text-style: bold; }
    StatusLine.-warning { color: $warning; }
    StatusLine.-information { color: $success; }
    """

    def show(self, message: str, severity: str = "information") -> None:
        self.update(Text(message.splitlines()[0] if message else ""), layout=False)
        for sev in ("error", "warning", "information"):
            self.set_class(sev == severity, f"-{sev}")
