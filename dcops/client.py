"""The client: one engine per connection, acting as this process's user on channel ``api``.

Why a client and not the engine itself: a notebook user should not build ``Request`` objects or
follow ``Run`` histories by hand, and must not be able to choose who they are. The client fixes
the principal from the uid at connect time and offers four verbs (actions, run/stream, audit,
approvals) whose results are plain data that Jupyter shows as tables.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import threading
from collections.abc import AsyncGenerator, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from dcops.actions import Engine, Request, Run, command_help, open_engine, parse_command, usage
from dcops.actions.config import demo_config, load_config
from dcops.actions.config.model import DcopsConfig
from dcops.actions.errors import DcopsError
from dcops.actions.events import Error, Event, Log, Result, RunFinished, Step

from . import html

CHANNEL = "api"
T = TypeVar("T")


def principal() -> str:
    """``unix:<login>`` of the process's real uid, from the password database (not $USER/$LOGNAME,
    which anyone can set)."""
    uid = os.getuid()
    try:
        return f"unix:{pwd.getpwuid(uid).pw_name}"
    except KeyError:
        return f"unix:uid{uid}"


@dataclass(frozen=True)
class ActionInfo:
    name: str
    kind: str
    category: str
    help: str
    usage: str


class ActionList(list[ActionInfo]):
    """The actions the caller may run; a list of :class:`ActionInfo`, a table in Jupyter."""

    columns = ["action", "kind", "category", "help", "usage"]

    @property
    def rows(self) -> list[list[str]]:
        return [[a.name, a.kind, a.category, a.help, a.usage] for a in self]

    def _repr_html_(self) -> str:
        return html.table(self.columns, self.rows, caption=f"{len(self)} action(s) you may run")


@dataclass
class RunResult:
    """A finished run: outcome, summary, the result table (``columns`` + ``rows``), the typed rows
    (``items``: instances of the action's declared row model, see ``dcops help ACTION --json``), the
    action's own ``data``, per-target ``steps`` and every event, in order."""

    run_id: str
    action: str
    outcome: str
    summary: str
    duration: float
    targets: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    items: list[Any] = field(default_factory=list)
    data: Any = None
    steps: dict[str, Step] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome in ("ok", "dry-run")

    def records(self) -> list[dict[str, Any]]:
        """The table as one dict per row (column name -> value)."""
        return [dict(zip(self.columns, row)) for row in self.rows]

    @property
    def logs(self) -> list[str]:
        return [e.message for e in self.events if isinstance(e, Log)]

    def __str__(self) -> str:
        return f"{self.action} {self.run_id}: {self.outcome}: {self.summary}"

    def _repr_html_(self) -> str:
        head = html.line(f"{self.action} · {self.outcome} in {self.duration:.2f}s · {self.summary}", ok=self.ok)
        errs = "".join(html.line(e, ok=False) for e in self.errors if e != self.summary)
        return head + errs + (html.table(self.columns, self.rows) if self.columns else "")

    @classmethod
    def from_run(cls, run: Run, events: list[Event]) -> RunResult:
        fin = next((e for e in events if isinstance(e, RunFinished)), None)
        result = next((e for e in reversed(events) if isinstance(e, Result)), None)
        table = result.table if result is not None else None
        return cls(
            run_id=run.run_id,
            action=run.action,
            outcome=fin.outcome if fin else "unknown",
            summary=(fin.summary if fin else "") or (result.summary if result else ""),
            duration=fin.duration if fin else 0.0,
            targets=list(run.targets),
            columns=list(table.columns) if table else [],
            rows=[list(r) for r in table.rows] if table else [],
            items=list(result.rows or []) if result else [],
            data=result.data if result else None,
            steps=dict(run.steps),
            errors=[e.message for e in events if isinstance(e, Error)],
            events=events,
        )


def _load(
    config: str | os.PathLike[str] | DcopsConfig | None, demo: bool, data_dir: str | os.PathLike[str] | None
) -> DcopsConfig:
    if isinstance(config, DcopsConfig):
        return config
    if demo:
        if config is not None:
            raise DcopsError("connect: give a config or demo=True, not both")
        return demo_config(Path(data_dir) if data_dir is not None else None)
    return load_config(config)


class Client:
    """An open connection to one cluster. Build with :func:`connect`; close with ``async with``
    or :meth:`close`. Every method goes through the engine as :attr:`principal` on channel api."""

    def __init__(self, engine: Engine, principal: str) -> None:
        self.engine = engine
        self.principal = principal
        _install_one_line_errors()

    @classmethod
    async def open(
        cls,
        config: str | os.PathLike[str] | DcopsConfig | None = None,
        *,
        demo: bool = False,
        data_dir: str | os.PathLike[str] | None = None,
    ) -> Client:
        engine = await open_engine(_load(config, demo, data_dir))
        return cls(engine, principal())

    async def close(self) -> None:
        await self.engine.aclose()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def cluster(self) -> str:
        return self.engine.config.cluster.name

    # ---------------------------------------------------------------- what may I run
    async def actions(self) -> ActionList:
        """The actions the policy lets you run (anywhere in its scope)."""
        return ActionList(
            ActionInfo(s.name, s.kind.value, s.category, s.help, usage(s))
            for s in self.engine.actions_for(self.principal)
        )

    def help(self, action: str) -> str:
        return command_help(self.engine.registry.get(action))

    # ---------------------------------------------------------------- run
    def request(
        self,
        command: str,
        /,
        *,
        confirm: str | int | None = None,
        yes: bool = False,
        approval: str | None = None,
        **params: Any,
    ) -> Request:
        """The request for ``command``: a line in the shared grammar (``"drain gpu001 --reason x"``)
        or an action name, with params as keyword arguments (they win over the line's)."""
        parsed = parse_command(command, registry=self.engine.registry)
        return Request(
            principal=self.principal,
            channel=CHANNEL,
            action=parsed.action,
            params={**parsed.params, **params},
            confirm=None if confirm is None else str(confirm),
            yes=yes,
            approval_id=approval,
        )

    async def submit(self, command: str, /, **kwargs: Any) -> Run:
        """Start a run and return it at once (follow it with ``run.events()``, stop with ``run.cancel()``).
        Raises DeniedError, UsageError, ConfirmationRequired, ApprovalRequired: each a one-line message."""
        return await self.engine.submit(self.request(command, **kwargs))

    async def stream(self, command: str, /, **kwargs: Any) -> AsyncGenerator[Event, None]:
        """Every event of a new run as it happens, ending with RunFinished."""
        run = await self.submit(command, **kwargs)
        try:
            async for event in run.events():
                yield event
        finally:
            if run.active:  # the caller stopped listening early: stop the run too
                run.cancel()

    async def run(self, command: str, /, **kwargs: Any) -> RunResult:
        """Run to the end and return the result (``.ok``, ``.summary``, ``.rows``, ``.data``)."""
        run = await self.submit(command, **kwargs)
        return RunResult.from_run(run, [e async for e in run.events()])

    # ---------------------------------------------------------------- audit and approvals
    async def audit(self, **filters: Any) -> RunResult:
        """Search the audit log (since="2h", node=, action=, principal=, outcome=, run=, event=, limit=):
        the ``audit`` action, so the search is itself RBAC-gated and audited."""
        return await self.run("audit", **filters)

    async def approvals(self, state: str = "pending") -> RunResult:
        return await self.run("approvals", state=state)

    async def approve(self, approval_id: str) -> RunResult:
        """Grant someone else's request (never your own) and follow the run it starts."""
        run = await self.engine.approve(approval_id, self.principal, CHANNEL)
        return RunResult.from_run(run, [e async for e in run.events()])

    async def deny(self, approval_id: str, reason: str = "") -> None:
        await self.engine.deny(approval_id, self.principal, CHANNEL, reason)


class _Connect:
    """``await dcops.connect(...)`` or ``async with dcops.connect(...) as ops``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args, self._kwargs = args, kwargs
        self._client: Client | None = None

    def __await__(self):  # noqa: ANN204 - a generator of the awaited Client
        return Client.open(*self._args, **self._kwargs).__await__()

    async def __aenter__(self) -> Client:
        self._client = await Client.open(*self._args, **self._kwargs)
        return self._client

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.close()


def connect(
    config: str | os.PathLike[str] | DcopsConfig | None = None,
    *,
    demo: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
) -> _Connect:
    """Connect to the cluster of ``config`` (a path, a DcopsConfig, or None for $DCOPS_CONFIG /
    ~/.config/dcops/config.toml), or to the built-in demo cluster with ``demo=True`` (its audit log
    under ``data_dir`` when given)."""
    return _Connect(config, demo=demo, data_dir=data_dir)


class SyncClient:
    """The client, blocking: its engine runs on an event loop in a background thread, so it works
    in scripts, plain REPLs and inside Jupyter (whose own loop is already running)."""

    def __init__(
        self,
        config: str | os.PathLike[str] | DcopsConfig | None = None,
        *,
        demo: bool = False,
        data_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="dcops-api", daemon=True)
        self._thread.start()
        try:
            self._client: Client = self._call(Client.open(config, demo=demo, data_dir=data_dir))
        except BaseException:
            self._stop()
            raise

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    @property
    def principal(self) -> str:
        return self._client.principal

    @property
    def engine(self) -> Engine:
        return self._client.engine

    def actions(self) -> ActionList:
        return self._call(self._client.actions())

    def help(self, action: str) -> str:
        return self._client.help(action)

    def run(self, command: str, /, **kwargs: Any) -> RunResult:
        return self._call(self._client.run(command, **kwargs))

    def stream(self, command: str, /, **kwargs: Any) -> Iterator[Event]:
        agen = self._client.stream(command, **kwargs)
        try:
            while True:
                try:
                    yield self._call(agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self._call(agen.aclose())

    def audit(self, **filters: Any) -> RunResult:
        return self._call(self._client.audit(**filters))

    def approvals(self, state: str = "pending") -> RunResult:
        return self._call(self._client.approvals(state))

    def approve(self, approval_id: str) -> RunResult:
        return self._call(self._client.approve(approval_id))

    def deny(self, approval_id: str, reason: str = "") -> None:
        self._call(self._client.deny(approval_id, reason))

    def close(self) -> None:
        if self._thread.is_alive():
            try:
                self._call(self._client.close())
            finally:
                self._stop()

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect_sync(
    config: str | os.PathLike[str] | DcopsConfig | None = None,
    *,
    demo: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
) -> SyncClient:
    """:func:`connect`, blocking."""
    return SyncClient(config, demo=demo, data_dir=data_dir)


_installed = False


def _install_one_line_errors() -> None:
    """In IPython/Jupyter, show a refused request (denied, bad input, approval needed) as its one
    line instead of a traceback: the same message the CLI, the TUI and Slack print."""
    global _installed
    if _installed:
        return
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def one_line(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> list[str]:
        stb = [f"dcops: {value}"]
        shell._showtraceback(etype, value, stb)  # IPython calls a custom handler instead of showing anything
        return stb

    shell.set_custom_exc((DcopsError,), one_line)
    _installed = True
