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

from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import DataTable, Input  # noqa: E402

SIZE = (160, 50)
# what an operator types: a node range, a state, a regex, an inverse, and corrections
TYPED = ["gpu0", "1", "2", "backspace", "backspace", "backspace", "backspace", "backspace",
         "d", "r", "a", "i", "n", "backspace", "backspace", "backspace", "backspace", "backspace",
         "!", "a", "l", "l", "o", "c", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace",
         "x", "i", "d", "backspace", "backspace", "backspace", "^", "g", "p", "u", "0", "0", "0", "[", "1", "-", "5", "]",
         "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace",
         "backspace", "backspace"]


def _keys(spec: list[str], limit: int) -> list[str]:
    out: list[str] = []
    for k in spec:
        out.extend([k] if len(k) == 1 or k == "backspace" else list(k))
    return out[:limit]


def rss_mb() -> tuple[float, float]:
    fields = dict(re.findall(r"^(Vm\w+):\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M))
    return int(fields["VmRSS"]) / 1024, int(fields["VmHWM"]) / 1024


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def type_and_time(pilot, paints: list[float], keys: list[str]) -> list[float]:
    """Seconds from each key press to the last frame it causes: the app is left to go idle (a
    DataTable measures its cells on idle, so its first frame after a key is not the final one)."""
    latencies = []
    for key in keys:
        seen = len(paints)
        t = time.perf_counter()
        await pilot.press(key)
        await pilot.pause()
        while len(paints) == seen:
            await asyncio.sleep(0.0005)
        await pilot.pause(0.02)           # let any trailing frame of this key land
        latencies.append(paints[-1] - t)
    return latencies


async def bench_console(nodes: int, keys: list[str]) -> dict:
    from actions.config import demo_config
    from console.tui.app import DcopsApp

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
        table = app.screen.query_one("#fleet-table")
        while table.total_count < nodes:
            await asyncio.sleep(0.005)
        loaded = time.perf_counter()
        seen = len(app.paints)
        while len(app.paints) == seen:
            await asyncio.sleep(0.001)
        out["fleet rows painted"] = app.paints[seen] - t0
        out["fleet load (engine + sim)"] = loaded - t0
        await pilot.press("slash")
        await pilot.pause()
        out["filter"] = await type_and_time(pilot, app.paints, keys)
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

    app = Baseline()
    t0 = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = app.paints[0] - t0 if app.paints else float("nan")
        latencies = await type_and_time(pilot, app.paints, keys)
    return {"first paint": first, "filter": latencies}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--keys", type=int, default=60, help="filter keystrokes timed on the fleet table")
    parser.add_argument("--baseline-keys", type=int, default=12, help="keystrokes on the stock DataTable (slow)")
    args = parser.parse_args()
    os.environ.setdefault("XDG_STATE_HOME", tempfile.mkdtemp(prefix="dcops-bench-state-"))

    keys = _keys(TYPED, args.keys)
    console = asyncio.run(bench_console(args.nodes, keys))
    baseline = asyncio.run(bench_datatable(console["rows"], console["render"], keys[: args.baseline_keys]))

    ms = 1000.0
    print(f"dcops console, fleet screen, {args.nodes} simulated nodes, {SIZE[0]}x{SIZE[1]}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"  start -> first paint (console frame)      {console['first paint'] * ms:9.0f} ms   target < 1500 ms")
    print(f"  start -> fleet action answered            {console['fleet load (engine + sim)'] * ms:9.0f} ms   "
          "(engine thread: the simulator's fleet query)")
    print(f"  start -> every fleet row painted          {console['fleet rows painted'] * ms:9.0f} ms")
    print()
    print(f"  filter keystroke -> repaint          {'VirtualTable':>14} {'stock DataTable':>16}")
    vt, dt = console["filter"], baseline["filter"]
    print(f"    keystrokes                         {len(vt):>14} {len(dt):>16}")
    print(f"    median                             {statistics.median(vt) * ms:>11.1f} ms {statistics.median(dt) * ms:>13.1f} ms")
    print(f"    p95                                {pct(vt, 95) * ms:>11.1f} ms {pct(dt, 95) * ms:>13.1f} ms"
          "   target p95 < 50 ms")
    print(f"    max                                {max(vt) * ms:>11.1f} ms {max(dt) * ms:>13.1f} ms")
    print()
    print(f"  resident memory (whole process, after typing)  VmRSS {console['rss']:.0f} MB, "
          f"peak VmHWM {console['hwm']:.0f} MB   target < 300 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
