"""The dcops console: a keyboard-driven Textual app over the action layer.

The app owns one :class:`actions.Engine`, opened on a thread of its own (``engine_link.py``) so
the first frame paints at once and engine work never freezes the screen; the principal it acts
as; and the cross-screen plumbing: the ``:`` command line, status
messages, run tracking, the theme and the keymap. Screens live in ``screens/`` (one per file) and
switch as Textual modes, so each keeps its own state and stack (the node screen opens over the
fleet).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from platformdirs import user_state_path
from rich.segment import Segment, Segments
from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.widgets import Input

from dcops.actions import Engine, Kind, Run, load_actions, open_engine, parse_command, registry
from dcops.actions.config import DcopsConfig
from dcops.actions.errors import DcopsError
from dcops.actions.events import Result

from . import flow
from .bindings import app_bindings, keymap_from_config
from .engine_link import EngineLink
from .palette import ActionCommands
from .screens.alerts import AlertsScreen
from .screens.approvals import ApprovalsScreen
from .screens.audit import AuditScreen
from .screens.base import DcopsScreen
from .screens.fleet import FleetScreen
from .screens.help import HelpScreen
from .screens.jobs import JobsScreen
from .screens.metrics import MetricsScreen
from .screens.operations import OperationsScreen
from .screens.result import ResultScreen
from .theming import choose_theme, load_themes, remember_theme, remembered_theme

log = logging.getLogger("dcops.tui")

EngineFactory = Callable[[DcopsConfig], Awaitable[Engine]]

SCREEN_MODES: dict[str, type[DcopsScreen]] = {
    "fleet": FleetScreen,
    "jobs": JobsScreen,
    "operations": OperationsScreen,
    "audit": AuditScreen,
    "approvals": ApprovalsScreen,
    "metrics": MetricsScreen,
    "alerts": AlertsScreen,
}


class DcopsApp(App[int]):
    TITLE = "dcops"
    BINDINGS = app_bindings()
    MODES = dict(SCREEN_MODES)
    COMMANDS = App.COMMANDS | {ActionCommands}
    CSS = """
    VirtualTable > .vtable--selected { background: $selected; }
    """

    def __init__(
        self,
        config: DcopsConfig,
        *,
        principal: str,
        theme: str | None = None,
        engine_factory: EngineFactory | None = None,
    ) -> None:
        """``engine_factory``: how to open the engine on its thread (default :func:`actions.open_engine`)."""
        super().__init__()
        load_actions()  # the registry is full before the engine opens (palette, completion)
        self.config = config
        self.principal = principal
        self.cluster_name = config.cluster.name
        self.production = config.cluster.production
        self.read_only = config.cluster.read_only
        self._themes = load_themes()
        self._theme_name, self._theme_note = choose_theme(config, theme, self._themes, remembered_theme())
        self.keymap_overrides = keymap_from_config(config.tui.bindings)
        self._engine: EngineLink | None = None
        self._engine_factory = engine_factory or open_engine
        self._engine_ready = asyncio.Event()
        self.last_message: tuple[str, str] = (self._theme_note or "", "warning" if self._theme_note else "information")
        self.fatal_message: str | None = None

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """dcops' own theme variables, for themes that do not define them (Textual's built-ins)."""
        return {"production": "#D93F3F", "muted": "#808890", "selected": "#2F4B6E"}

    # ------------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        for theme in self._themes.values():
            self.register_theme(theme)
        self.theme = self._theme_name
        if not self.config.cluster.theme:  # a pinned theme is the cluster's, not a choice to remember
            self.theme_changed_signal.subscribe(self, lambda theme: remember_theme(theme.name))
        self.set_keymap(self.keymap_overrides)
        self.switch_mode("fleet")
        self._open_engine()

    @work(exclusive=True, group="engine", exit_on_error=False)
    async def _open_engine(self) -> None:
        try:
            self._engine = await EngineLink.open(self._engine_factory, self.config)
            if self.alerting:
                self.call_later(self._alerts_first)
        except DcopsError as exc:
            self.fatal_message = str(exc)
            self.report(f"cannot open the action engine: {exc}", "error")
        except Exception as exc:
            log.exception("opening the engine failed")
            self.fatal_message = f"internal error opening the engine: {type(exc).__name__}: {exc}"
            self.report(self.fatal_message, "error")
        finally:
            self._engine_ready.set()

    @property
    def alerting(self) -> bool:
        """This cluster receives alerts (an [alertmanager] or an alerts Slack channel is configured)."""
        return self.config.alertmanager is not None or bool(self.config.alerts.slack_channel)

    @work(group="alerts-first", exit_on_error=False)
    async def _alerts_first(self) -> None:
        """Firing alerts are the first thing on-call sees: open on the Alerts screen when there are any."""
        result = await self.read("alerts", {})
        if result is not None and result.data and self.current_mode == "fleet" and len(self.screen_stack) == 1:
            self.switch_mode("alerts")

    async def wait_engine(self) -> EngineLink | None:
        await self._engine_ready.wait()
        return self._engine

    @property
    def engine(self) -> EngineLink | None:
        return self._engine

    async def on_unmount(self) -> None:
        if self._engine is not None:
            await self._engine.aclose()

    # ------------------------------------------------------------------ messages and errors
    def report(self, message: str, severity: str = "information") -> None:
        """One line in the status bar of the current screen (and kept for the next screen)."""
        self.last_message = (" ".join(message.split()), severity)
        screen = self.screen
        if isinstance(screen, DcopsScreen):
            screen.status(*self.last_message)

    @asynccontextmanager
    async def guarded(self, doing: str) -> AsyncIterator[None]:
        """Turn any error while ``doing`` into one status line; bugs go to the log with a traceback."""
        try:
            yield
        except DcopsError as exc:
            self.report(str(exc), "error")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("error while %s", doing)
            self.report(f"internal error while {doing}: {type(exc).__name__}: {exc} (details in {log_path()})", "error")

    def _fatal_error(self) -> None:
        """Unhandled exceptions: the traceback goes to the log file, the user gets one line."""
        exc = sys.exc_info()[1] or self._exception
        log.error("unhandled error in the console", exc_info=exc)
        line = f"dcops: internal error: {type(exc).__name__}: {exc} (traceback in {log_path()})"
        self.error_console.width = max(self.error_console.width, len(line))  # one line, never wrapped
        self._exit_renderables.append(Segments([Segment(line), Segment.line()]))
        self._close_messages_no_wait()

    # ------------------------------------------------------------------ node names for completion
    def node_names(self) -> list[str]:
        return self._engine.node_names() if self._engine is not None else []

    # ------------------------------------------------------------------ actions
    def action_command_line(self, prefill: str = "") -> None:
        if isinstance(self.screen, DcopsScreen):
            self.screen.open_command(prefill)

    def action_filter(self) -> None:
        if isinstance(self.screen, DcopsScreen):
            self.screen.open_filter()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_refresh(self) -> None:
        if isinstance(self.screen, DcopsScreen):
            self.screen.reload()

    async def action_back(self) -> None:
        """Esc: leave a form field for the screen's table, else close the pushed screen."""
        screen = self.screen
        if isinstance(screen, DcopsScreen) and isinstance(self.focused, Input):
            table = screen.main_table()
            if table is not None:
                table.focus()
                return
        if len(self.screen_stack) > 1:
            self.pop_screen()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title.lower().startswith("theme") and self.config.cluster.theme:
                continue  # a pinned theme cannot be changed from the palette
            yield command

    # ------------------------------------------------------------------ running commands
    @work(group="commands", exit_on_error=False)
    async def run_command(self, text: str) -> None:
        """A ``:`` command line: parse with the shared grammar, then submit."""
        if await self.wait_engine() is None:
            return
        async with self.guarded(f"running {text!r}"):
            words = text.split()
            if words and words[0] in ("help", "?"):  # `:help drain`, as `dcops help drain`
                self.push_screen(HelpScreen(words[1] if len(words) > 1 else None))
                return
            cmd = parse_command(text)
            spec = registry.get(cmd.action)
            if spec.kind is Kind.READ and not cmd.params and cmd.action in SCREEN_MODES:
                self.switch_mode(cmd.action)
                return
            await self.execute(cmd.action, cmd.params)

    def allowed(self, action: str) -> bool:
        """Ask the policy before opening a dialog, so a refused operator is told why at once
        (the engine still decides again, with the real targets, when the request comes)."""
        if self._engine is None:
            return False
        decision = self._engine.decide(self.principal, action)
        if not decision.allowed:
            self.report(decision.reason, "error")
        return decision.allowed

    async def execute(
        self,
        action: str,
        params: dict[str, Any],
        *,
        show_result: bool = True,
        confirmed: str | None = None,
        alert: str | None = None,
    ) -> Run | None:
        """Submit (with confirmation / approval dialogs); mutating runs are tracked, read
        results shown. ``alert``: the fingerprint of the alert it was started from. Call from a worker."""
        run = await flow.submit(self, action, params, confirmed=confirmed, alert=alert)
        if run is None:
            return None
        if registry.get(action).mutating and not run.dry_run:
            self.track(run)
        elif show_result:  # a read, or a dry run: its plan is the answer, shown as a result
            assert self._engine is not None  # a run exists, so the engine does
            finished = await self._engine.wait(run)
            if finished.outcome in ("ok", "dry-run"):  # a success clears the last error from the status line
                self.report(f"{action}: {finished.outcome}: {finished.summary}")
            if run.result is not None:
                await self.push_screen(
                    ResultScreen(
                        f":{action}" + (" (dry run: nothing changed)" if run.dry_run else ""), run.result, finished
                    )
                )
            else:
                self.report(
                    f"{action}: {finished.outcome}: {finished.summary}",
                    "error" if finished.outcome == "failed" else "information",
                )
        return run

    async def read(self, action: str, params: dict[str, Any], *, alert: str | None = None) -> Result | None:
        """Run a read action for a screen and return its Result (None, with a status line, when
        refused or failed without one)."""
        run = await self.execute(action, params, show_result=False, alert=alert)
        if run is None:
            return None
        assert self._engine is not None
        finished = await self._engine.wait(run)
        if run.result is None:
            self.report(f"{action}: {finished.outcome}: {finished.summary}", "error")
        return run.result

    def track(self, run: Run) -> None:
        targets = ", ".join(run.targets[:3]) + ("…" if len(run.targets) > 3 else "")
        self.report(f"run {run.run_id} started: {run.action} {targets}".rstrip() + " (3: operations)")
        self._follow(run)

    @work(group="follow", exit_on_error=False)
    async def _follow(self, run: Run) -> None:
        assert self._engine is not None
        finished = await self._engine.wait(run)
        severity = {"ok": "information", "dry-run": "information", "cancelled": "warning"}.get(
            finished.outcome, "error"
        )
        self.report(f"run {run.run_id} {run.action}: {finished.outcome}: {finished.summary}", severity)
        self.runs_changed()

    def runs_changed(self) -> None:
        """A run of ours finished: screens showing cluster state reload."""
        for screen in self._mode_screens():
            if getattr(screen, "RELOAD_ON_RUN", False):
                screen.reload()

    def approvals_changed(self) -> None:
        for screen in self._mode_screens():
            if isinstance(screen, ApprovalsScreen):
                screen.reload()

    def _mode_screens(self) -> list[DcopsScreen]:
        found: list[DcopsScreen] = []
        for stack in self._screen_stacks.values():
            found.extend(s for s in stack if isinstance(s, DcopsScreen) and s.is_mounted)
        return found


def log_path() -> Path:
    return user_state_path("dcops") / "tui.log"


def _setup_logging() -> None:
    root = logging.getLogger("dcops")
    if any(isinstance(h, logging.FileHandler) for h in root.handlers):
        return  # the CLI already logs to a file
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _build(config: DcopsConfig, principal: str, theme: str | None) -> DcopsApp | int:
    try:
        _setup_logging()
        return DcopsApp(config, principal=principal, theme=theme)
    except DcopsError as exc:
        print(f"dcops: error: {exc}", file=sys.stderr)
        return exc.exit_code


def _exit_code(app: DcopsApp, code: object) -> int:
    if app.fatal_message:
        print(f"dcops: error: {app.fatal_message}", file=sys.stderr)
        return 1
    return code if isinstance(code, int) else (app.return_code or 0)


def run_tui(config: DcopsConfig, *, principal: str, theme: str | None = None) -> int:
    """Entry point for ``dcops tui`` from synchronous code on the main thread (Textual's terminal
    driver installs signal handlers, which Python allows only there). Returns the exit code;
    errors are one line on stderr."""
    app = _build(config, principal, theme)
    if isinstance(app, int):
        return app
    if threading.current_thread() is not threading.main_thread():
        print(
            "dcops: error: the console must run on the main thread; call run_tui_async() from async code",
            file=sys.stderr,
        )
        return 1
    return _exit_code(app, app.run())


async def run_tui_async(config: DcopsConfig, *, principal: str, theme: str | None = None) -> int:
    """The same, from inside a running event loop on the main thread (``await run_tui_async(...)``)."""
    app = _build(config, principal, theme)
    if isinstance(app, int):
        return app
    return _exit_code(app, await app.run_async())
