"""Control characters and escape sequences in user text: refused at input (reasons, names), shown
escaped on output (CLI tables, audit list/show, live run output, Slack). The attacker wants a
newline to fake an audit row, or ``ESC ] 0 ; … BEL`` to retitle a reviewer's terminal."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from dcops.actions.events import Log, Result, Step, Table
from dcops.actions.safe_text import control_problem, printable
from dcops.actions.store.base import AuditEntry
from dcops.actions.store.sqlite import SqliteStore
from dcops.bots.blocks import escape, table_block
from dcops.console.render import EventPrinter, table_text

from .cli import dcops, env_for, no_traceback

RETITLE = "\x1b]0;you have been pwned\x07"
CLEAR = "\x1b[2J"
EVIL = [RETITLE, CLEAR, "line\nFAKE ROW", "carriage\rover", "\u202eright-to-left", "del\x7f", "nul\x00", "c1\x9b31m"]
RAW = ["\x1b", "\x07", "\n", "\r", "\u202e", "\x7f", "\x00", "\x9b"]


def assert_inert(text: str) -> None:
    for ch in RAW:
        assert ch not in text, repr(ch)


@pytest.mark.parametrize("evil", EVIL)
def test_printable_escapes_everything_dangerous(evil: str) -> None:
    out = printable(evil)
    assert_inert(out)
    assert control_problem(evil) is not None and control_problem("plain text, ok: 1-2") is None


@pytest.mark.parametrize("evil", [RETITLE, "x\nFAKE ROW", "tab\tin reason"])
def test_reason_with_control_characters_is_refused_and_audited(tmp_path: Path, evil: str) -> None:
    env = env_for(tmp_path)
    p = dcops(env, "--demo", "run", "drain", "gpu001", "--reason", evil)
    no_traceback(p)
    assert p.returncode == 2 and "control character" in p.stderr
    assert_inert(p.stderr.rstrip("\n"))
    records = json.loads(dcops(env, "--demo", "--json", "audit", "list", "--event", "invalid").stdout)
    assert any(r["action"] == "drain" for r in records), "refused, and audited"


def test_node_name_with_escape_is_refused(tmp_path: Path) -> None:
    p = dcops(env_for(tmp_path), "--demo", "run", "drain", f"gpu001{CLEAR}", "--reason", "x")
    no_traceback(p)
    assert p.returncode == 2
    assert_inert(p.stderr.rstrip("\n"))


def test_unknown_action_word_with_escape_prints_escaped(tmp_path: Path) -> None:
    p = dcops(env_for(tmp_path), "--demo", "run", f"nope{RETITLE}")
    no_traceback(p)
    assert p.returncode == 2
    assert_inert(p.stderr.rstrip("\n"))


def test_cli_table_keeps_one_line_per_row() -> None:
    table = Table(columns=["node", "reason"], rows=[["gpu001", "ok\nFAKE gpu999 drained"], ["gpu002", RETITLE]])
    lines = table_text(table).splitlines()
    assert len(lines) == 3
    assert_inert("".join(lines))


def test_live_run_output_is_escaped() -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = EventPrinter(out, err)
    printer(Step(target="gpu001", status="failed", detail=f"bmc said {RETITLE}"))
    printer(Log(level="error", message=f"x{CLEAR}y"))
    printer(Result(summary="done\nrun r1: ok (fake)"))
    assert_inert(out.getvalue().replace("\n", "") + err.getvalue().replace("\n", ""))
    assert len(out.getvalue().splitlines()) == 2


def test_audit_list_and_show_escape_stored_text(tmp_path: Path) -> None:
    """Records written with control characters (by an older dcops, another tool, a backend's error
    text) are shown escaped."""
    env = env_for(tmp_path)
    assert dcops(env, "--demo", "run", "ping").returncode == 0
    db = next(p for p in (tmp_path / "data").rglob("*.db") if p.is_file())

    async def plant() -> None:
        store = SqliteStore(str(db))
        await store.append(
            [
                AuditEntry(
                    ts="2026-12-04T05:00:00.000000+00:00",
                    run_id="r-evil",
                    event="finished",
                    principal="unix:mallory",
                    channel="cli",
                    action="drain",
                    detail=f"fine{RETITLE}\n#999 2026-12-04 finished unix:root drain ok",
                    error=CLEAR,
                    outcome="ok",
                )
            ]
        )
        await store.aclose()

    asyncio.run(plant())
    listing = dcops(env, "--demo", "audit", "list", "--run", "r-evil")
    assert listing.returncode == 0
    assert_inert(listing.stdout.replace("\n", ""))
    assert len(listing.stdout.splitlines()) == 3  # header, one row, summary
    show = dcops(env, "--demo", "audit", "show", "r-evil")
    assert show.returncode == 0 and "\\x1b]0;" in show.stdout
    assert_inert(show.stdout.replace("\n", ""))
    assert not any(line.startswith("#999") for line in show.stdout.splitlines())


def test_slack_text_and_tables_are_escaped() -> None:
    assert_inert(escape(f"reason {RETITLE} <!channel>").replace("\n", ""))
    assert "&lt;!channel&gt;" in escape("<!channel>")
    blocks, _ = table_block(Table(columns=["node", "detail"], rows=[["gpu001", f"a\nb{CLEAR}"]]))
    cells = [c["text"] for row in blocks[-1].rows for c in row]
    assert_inert("".join(cells))


async def test_tui_table_cells_are_escaped() -> None:
    """The TUI's table (fleet, audit, jobs ... all use it): a cell's text never reaches the terminal raw."""
    from rich.style import Style
    from textual.app import App, ComposeResult

    from dcops.console.tui.widgets.vtable import Column, VirtualTable

    class TableApp(App):
        def compose(self) -> ComposeResult:
            yield VirtualTable([Column("node", "NODE", 10), Column("detail", "DETAIL", 40)], key="node")

    app = TableApp()
    async with app.run_test(size=(80, 10)):
        table = app.query_one(VirtualTable)
        row = {"node": "gpu001", "detail": f"ok{RETITLE}\nFAKE"}
        table.set_rows([row])
        text = "".join(seg.text for seg in table._cells(row, Style(), " "))
        assert_inert(text)
        assert "\\x1b]0;" in text
