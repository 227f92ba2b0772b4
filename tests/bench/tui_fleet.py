"""Benchmark: the console's fleet screen on a 10,000-node simulated cluster.

Run by hand (not collected by pytest):

    .venv/bin/python tests/bench/tui_fleet.py [--nodes 10000] [--keys 60]

Measures, headless at 160x50, with frames timed where Textual hands them to the terminal driver:
  * start to first paint (the console's frame) and to the first paint with every fleet row;
  * filter keystroke -> repaint, median and p95, for the fleet's VirtualTable and, side by side,
    for a stock DataTable re-filtered the only way it can be (clear + add_rows) on the same rows;
  * resident memory (VmRSS, VmHWM) of the whole process: console, engine thread and simulator.
Targets (issue 7): first paint < 1.5 s, filter p95 < 50 ms, memory < 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Input

SIZE = (160, 50)
# What an operator types, one key at a time: a node range, a state, an inverse, a regex, and
# corrections; every key changes the filter text, so every key causes a frame.
PATTERNS = ["gpu0001", "drain", "!alloc", "xid", "^gpu000[1-5]"]


def _keys(limit: int) -> list[str]:
    out: list[str] = []
    while len(out) < limit:
        for pattern in PATTERNS:
            out.extend(pattern)
            out.extend(["backspace"] * len(pattern))
    return out[:limit]


def rss_mb() -> tuple[float, float]:
    fields = dict(re.findall(r"^(Vm\w+):\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M))
    return int(fields["VmRSS"]) / 1024, int(fields["VmHWM"]) / 1024


async def paint_after(paints: list[float], condition) -> float:  # noqa: ANN001
    """The time of the first frame painted once ``condition()`` holds (polled every millisecond;
    the frame may already have been painted when the poll sees the condition)."""
    seen = len(paints)
    while not condition():
        seen = len(paints)
        await asyncio.sleep(0.001)
    while len(paints) == seen:
        await asyncio.sleep(0.001)
    return paints[seen]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def type_and_time(pilot, paints: list[float], keys: list[str], renders: list[float]) -> list[float]:
    """Seconds from each key press to the frame that shows the table's new rows: the first frame
    after the table last rendered a line for this key. Frames are collected until none has come
    for 50 ms (a DataTable measures its cells on idle, in later frames); input cursors do not
    blink here, so no unrelated frame is counted."""
    latencies = []
    for key in keys:
        seen = len(paints)
        t = time.perf_counter()
        await pilot.press(key)
        deadline = time.perf_counter() + 2.0
        while len(paints) == seen and time.perf_counter() < deadline:
            await asyncio.sleep(0.0005)
        if len(paints) == seen:
            raise RuntimeError(f"key {key!r} caused no frame within 2 s")
        while True:
            count = len(paints)
            await asyncio.sleep(0.05)
            if len(paints) == count:
                break
        rendered = max((r for r in renders if r >= t), default=t)
        shown = next(p for p in paints[seen:] if p >= rendered)
        latencies.append(shown - t)
        if os.environ.get("BENCH_DEBUG"):
            print(
                f"{t:.3f}",
                key,
                [round((p - t) * 1000, 1) for p in paints[seen:]],
                "table rendered",
                round((rendered - t) * 1000, 1),
            )
    return latencies


def spy_render_line(cls: type[Widget], renders: list[float]) -> None:
    """Note the time whenever ``cls`` renders a line (bench-only patch of a class method)."""
    original = cls.render_line

    def render_line(self, y: int):  # noqa: ANN001, ANN202
        renders.append(time.perf_counter())
        return original(self, y)

    setattr(cls, "render_line", render_line)  # noqa: B010 - a method patched on the class


async def bench_console(nodes: int, keys: list[str]) -> dict:
    from dcops.actions.config import demo_config
    from dcops.console.tui.app import DcopsApp
    from dcops.console.tui.widgets.vtable import VirtualTable

    renders: list[float] = []
    spy_render_line(VirtualTable, renders)

    class TimedApp(DcopsApp):
        paints: list[float] = []

        def _display(self, screen, renderable) -> None:  # noqa: ANN001 - Textual's signature
            if renderable is not None:
                self.paints.append(time.perf_counter())
            super()._display(screen, renderable)

    cfg = demo_config(data_dir=Path(tempfile.mkdtemp(prefix="dcops-bench-")))
    cfg = cfg.model_copy(update={"cluster": cfg.cluster.model_copy(update={"demo_nodes": nodes})})
    t0 = time.perf_counter()
    app = TimedApp(cfg, principal="unix:bench")
    out: dict = {}
    async with app.run_test(size=SIZE) as pilot:
        while not app.paints:
            await asyncio.sleep(0.001)
        out["first paint"] = app.paints[0] - t0
        table = app.screen.query_one("#fleet-table", VirtualTable)
        summary = app.screen.query_one("#fleet-summary")
        out["rows painted"] = await paint_after(app.paints, lambda: table.total_count >= nodes) - t0
        out["all planes painted"] = await paint_after(app.paints, lambda: "loading" not in str(summary.render())) - t0
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one("#filter Input", Input).cursor_blink = False
        out["filter"] = await type_and_time(pilot, app.paints, keys, renders)
        out["rss"], out["hwm"] = rss_mb()
        out["rows"] = [dict(r) for r in table.visible_rows]
        out["render"] = [(c.key, c.render) for c in table.columns]
    return out


async def bench_datatable(rows: list[dict], render: list, keys: list[str]) -> dict:
    """The stock DataTable on the same rows and filter, for comparison."""
    texts = [[fn(r.get(key), r)[0] for key, fn in render] for r in rows]
    search = ["\n".join(t) for t in texts]

    class Baseline(App):
        paints: list[float] = []

        def compose(self) -> ComposeResult:
            yield DataTable()
            yield Input()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns(*[key for key, _ in render])
            table.add_rows(texts)
            self.query_one(Input).cursor_blink = False
            self.query_one(Input).focus()

        def on_input_changed(self, event: Input.Changed) -> None:
            pattern = event.value
            invert = pattern.startswith("!")
            try:
                rx = re.compile(pattern[1:] if invert else pattern, re.I | re.M)
            except re.error:
                return
            table = self.query_one(DataTable)
            table.clear()
            table.add_rows(t for t, s in zip(texts, search) if (rx.search(s) is None) is invert)

        def _display(self, screen, renderable) -> None:  # noqa: ANN001
            if renderable is not None:
                self.paints.append(time.perf_counter())
            super()._display(screen, renderable)

    renders: list[float] = []
    spy_render_line(DataTable, renders)
    app = Baseline()
    t0 = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = app.paints[0] - t0 if app.paints else float("nan")
        latencies = await type_and_time(pilot, app.paints, keys, renders)
    return {"first paint": first, "filter": latencies}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--keys", type=int, default=60, help="filter keystrokes timed on the fleet table")
    parser.add_argument("--baseline-keys", type=int, default=12, help="keystrokes on the stock DataTable (slow)")
    args = parser.parse_args()
    os.environ.setdefault("XDG_STATE_HOME", tempfile.mkdtemp(prefix="dcops-bench-state-"))

    keys = _keys(args.keys)
    console = asyncio.run(bench_console(args.nodes, keys))
    baseline = asyncio.run(bench_datatable(console["rows"], console["render"], keys[: args.baseline_keys]))

    ms = 1000.0
    print(
        f"dcops console, fleet screen, {args.nodes} simulated nodes, {SIZE[0]}x{SIZE[1]}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"  start -> first paint (console frame)          {console['first paint'] * ms:9.0f} ms   target < 1500 ms")
    print(f"  start -> every node painted (Slurm columns)   {console['rows painted'] * ms:9.0f} ms")
    print(
        f"  start -> every plane painted (fleet action)   {console['all planes painted'] * ms:9.0f} ms   "
        "(the simulator's PromQL on the engine thread)"
    )
    print()
    print(f"  filter keystroke -> repaint          {'VirtualTable':>14} {'stock DataTable':>16}")
    vt, dt = console["filter"], baseline["filter"]
    print(f"    keystrokes                         {len(vt):>14} {len(dt):>16}")
    print(
        f"    median                             {statistics.median(vt) * ms:>11.1f} ms {statistics.median(dt) * ms:>13.1f} ms"
    )
    print(
        f"    p95                                {pct(vt, 95) * ms:>11.1f} ms {pct(dt, 95) * ms:>13.1f} ms"
        "   target p95 < 50 ms"
    )
    print(f"    max                                {max(vt) * ms:>11.1f} ms {max(dt) * ms:>13.1f} ms")
    print()
    print(
        f"  resident memory (whole process, after typing)  VmRSS {console['rss']:.0f} MB, "
        f"peak VmHWM {console['hwm']:.0f} MB   target < 300 MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
