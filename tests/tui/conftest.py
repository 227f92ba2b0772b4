"""Fixtures for the console's Pilot and snapshot tests: a private XDG tree per test (the demo
audit db lives there), demo configs, policies, and a deterministic engine for snapshots."""

from __future__ import annotations

import contextlib
import itertools
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.css.query import NoMatches

from dcops.actions.config import DcopsConfig, demo_config

SIZE = (160, 50)


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        d = tmp_path / var.lower()
        d.mkdir()
        monkeypatch.setenv(var, str(d))
    monkeypatch.delenv("DCOPS_CONFIG", raising=False)
    return tmp_path


def make_config(tmp_path: Path, *, policy: str | None = None, tui: dict | None = None, **cluster) -> DcopsConfig:
    cfg = demo_config(data_dir=tmp_path)
    update: dict = {}
    if cluster:
        update["cluster"] = cfg.cluster.model_copy(update=cluster)
    if policy is not None:
        path = tmp_path / "policy.toml"
        path.write_text(textwrap.dedent(policy))
        update["policy"] = cfg.policy.model_copy(update={"path": str(path)})
    if tui is not None:
        update["tui"] = cfg.tui.model_copy(update=tui)
    return cfg.model_copy(update=update) if update else cfg


@pytest.fixture
def config(tmp_path: Path) -> Callable[..., DcopsConfig]:
    return lambda **kw: make_config(tmp_path, **kw)


# Drain needs a second person here: alice and bob are both operators.
APPROVAL_POLICY = """
[roles.operator]
actions = ["*"]
approval = ["drain"]
approve = ["drain"]

[[bindings]]
principals = ["unix:alice", "unix:bob"]
roles = ["operator"]
"""


async def wait_for(pilot, predicate: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> None:
    """Pause the pilot until ``predicate()`` is true (the engine works in the background). At least
    ``timeout`` seconds of wall time and of pauses both: on a loaded machine a 0.05 s pause can take
    far longer, and a fast predicate should not fail merely because the box is busy."""
    deadline = time.monotonic() + timeout
    steps = int(timeout / 0.05)
    while steps > 0 or time.monotonic() < deadline:
        steps -= 1
        try:
            if predicate():
                return
        except NoMatches:  # the screen has not composed yet (a loaded machine)
            pass
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def confirm_ready(pilot, timeout: float = 15.0) -> None:  # noqa: ANN001
    """Wait for the typed-confirmation dialog and for the plan it re-reads when it opens
    (recheck.py): Confirm waits until the current state is on screen, as a person would."""
    from dcops.console.tui.screens.confirm import ConfirmDialog

    await wait_for(
        pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), timeout=timeout, what="the typed confirmation"
    )
    await wait_for(pilot, lambda: not pilot.app.screen.checking, timeout=timeout, what="the dialog's plan")


async def type_confirmation(pilot, token: str) -> None:
    """Answer the typed-confirmation dialog the engine asks for (drain, requeue, destructive actions)."""
    await confirm_ready(pilot)
    await pilot.press(*token, "enter")


async def audit(app, query) -> list:  # noqa: ANN001 - DcopsApp, AuditQuery
    """Query the app's audit store (on the engine's own thread)."""
    link = app.engine
    return await link.call(link.engine.store.query(query))


FIXED_NOW = datetime(2026, 11, 29, 3, 0, 0, tzinfo=UTC)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch):
    """An engine factory whose cluster clock, audit timestamps, run ids and approval ids are fixed,
    so SVG snapshots are identical from run to run."""
    import dcops.actions.engine as engine_mod
    from dcops.actions import open_engine
    from dcops.actions.sim import ManualClock, SimCluster

    ticks = itertools.count()
    ids = itertools.count(1)

    class FixedDatetime(datetime):
        @classmethod
        def now(cls, tz=None):  # noqa: ANN001, ANN206
            return FIXED_NOW

    monkeypatch.setattr(engine_mod, "_now", lambda: FIXED_NOW.replace(microsecond=next(ticks) % 1_000_000).isoformat())
    monkeypatch.setattr(engine_mod, "time", SimpleNamespace(monotonic=lambda: 0.0))  # run durations
    monkeypatch.setattr(engine_mod, "new_run_id", lambda: f"r20261129-030000-{next(ids):06d}")
    import datetime as datetime_mod

    import dcops.actions.ops.fleet as fleet_mod
    import dcops.actions.ops.metrics as metrics_mod
    import dcops.console.tui.screens.base as screen_base_mod

    # the fleet's and the query's time windows end "now", the banner's "as of": pin them (modules that
    # imported the class)
    for module in (engine_mod, metrics_mod, fleet_mod, datetime_mod, screen_base_mod):
        monkeypatch.setattr(module, "datetime", FixedDatetime)
    monkeypatch.setattr(engine_mod.secrets, "token_hex", lambda n=8: f"{next(ids):0{2 * n}d}")

    async def factory(config: DcopsConfig):
        clock = ManualClock(FIXED_NOW.timestamp())
        engine = await open_engine(config, backends=SimCluster(nodes=config.cluster.demo_nodes, clock=clock).backends())
        engine.owner = "snapshot-host:1:1"
        return engine

    return factory


def screen_text(app) -> str:  # noqa: ANN001 - DcopsApp
    """What the terminal shows now, as plain lines (the compositor's full frame, no styles): for
    checks of what a person at a 100x30 terminal can actually read."""
    import io

    from rich.console import Console

    frame = app.screen._compositor.render_update(full=True)
    console = Console(
        width=app.size.width,
        height=app.size.height,
        record=True,
        file=io.StringIO(),
        color_system=None,
        legacy_windows=False,
    )
    console.print(frame)
    return console.export_text()


@contextlib.asynccontextmanager
async def other_process(cfg: DcopsConfig, time_scale: float = 40.0):  # noqa: ANN201 - AsyncIterator[Engine]
    """Another process's engine on the same audit store (the bot, an approver's CLI), with a demo
    cluster of its own: what it runs reaches a console only through the shared store."""
    from dcops.actions.engine import open_engine
    from dcops.actions.sim import SimCluster

    engine = await open_engine(cfg, backends=SimCluster(nodes=64, time_scale=time_scale).backends())
    try:
        yield engine
    finally:
        await engine.aclose()
