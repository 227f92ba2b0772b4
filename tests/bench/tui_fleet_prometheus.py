"""Benchmark: the fleet view at 10,000 nodes against a REAL Prometheus (issue 16), side by side in one run.

The lab Prometheus is backfilled with promtool (tests/lab/metrics/fleet_prom.py): 10,000 nodes x
8 GPUs of DCGM series (utilisation, temperature, XID) and 2 HCAs x 2 InfiniBand error counters per
node, samples every 4 min from 40 min ago to 30 min ahead (so "now" always has recent samples). The
config is a real one (no simulator): `[[nodes]]` for the 10,000 names and `[prometheus]` at that
server; no Slurm or Kubernetes (the lab's have 16 nodes), so the planes are GPU (3 instant queries
and 2 30-minute ranges for the sparklines) and IB (one rate query).

Measures, medians of ``--rounds``:
  * the fleet action alone through the engine (the data path: PromQL, JSON, the join): fill time;
  * the console (headless, 160x50): start -> every plane painted, and a refresh (ctrl+r's reload)
    from its start to the repaint with the new data;
  * filter keystroke -> repaint WHILE a refresh is in flight (the reload is started, then keys are
    typed until it has painted), median and p95, next to the same keys with no refresh. A key goes
    to the driver as a terminal's would and is timed to the first frame showing its filter (see
    type_direct; ``--pause`` s between keys); each refresh gets ~50 keys, so p95 rests on >= 100;
  * resident memory (VmRSS, peak VmHWM) of the console process after it has loaded the fleet, and
    after the refreshes (the engine keeps the newest runs' results);
  * the process CPU of the whole measurement (per-CPU-second view when neighbours load the box).
Targets: every plane <= 3 s, keystroke p95 during a refresh < 50 ms, RSS < 250 MB.

Run by hand:  python -m tests.bench.tui_fleet_prometheus [--nodes 10000] [--rounds 3] [--keys 40]
                  [--keep /var/tmp/dcops-prom-10k [--hours-ahead 8]] [--pause 0.05] [--stalls]
                  [--baseline DIR [--repeat 2]]

``--baseline DIR`` (a tree of another commit: ``git archive BASE | tar -x -C DIR``) measures that
tree's ``dcops`` and this tree's, with this bench, against the same Prometheus, each in a child
process, ``--repeat`` times in ABBA order (samples pooled), and prints both side by side with ratios. ``--stalls`` prints where the UI's event loop was blocked > 30 ms and
what every thread ran then (tests/bench/tui_fleet_stalls.py).

With ``--keep DIR`` the backfilled TSDB stays in DIR (outside the worktree; ~1 GB for 10k nodes
and 8 h) and a later run with the same ``--nodes`` reuses it without backfilling, for as long as its
samples reach ``--hours-ahead`` past the backfill (a stale one is backfilled again in place; 10k
nodes x 8 h takes a few minutes of promtool). To reuse it from another shell:
``python -m tests.bench.tui_fleet_prometheus --keep /var/tmp/dcops-prom-10k``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from bisect import bisect_left
from pathlib import Path
from typing import TYPE_CHECKING

from tests.bench.tui_fleet import SIZE, _keys, paint_after, pct, rss_mb, spy_render_line
from tests.lab.metrics.fleet_prom import FleetSeries, backfilled

if TYPE_CHECKING:
    from dcops.console.tui.widgets.vtable import VirtualTable

ALLOW_ALL = '[roles.all]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'


def node_names(n: int) -> list[str]:
    return [f"gpu{i:05d}" for i in range(1, n + 1)]


def config(work: Path, url: str, n: int):  # noqa: ANN201
    from dcops.actions.config.model import (
        AuditSection,
        ClusterSection,
        DcopsConfig,
        NodeEntry,
        PolicySection,
        TuiSection,
    )
    from dcops.actions.config.prometheus import PrometheusSection

    (work / "policy.toml").write_text(ALLOW_ALL)
    return DcopsConfig(
        cluster=ClusterSection(name="bench"),
        audit=AuditSection(url=f"sqlite:///{work / 'audit.db'}"),
        policy=PolicySection(path=str(work / "policy.toml")),
        nodes=[NodeEntry(names=f"gpu[00001-{n:05d}]", partitions=["gpu"])],
        prometheus=PrometheusSection(url=url, timeout=30.0),
        tui=TuiSection(refresh=0),  # no timer: "no refresh" keys are measured with none in flight
    )


async def engine_fill(cfg, rounds: int) -> list[float]:  # noqa: ANN001
    """The fleet action alone, through the engine: submit -> result."""
    from dcops.actions import open_engine
    from dcops.actions.request import Request

    engine = await open_engine(cfg)
    out = []
    try:
        for _ in range(rounds):
            t = time.perf_counter()
            run = await engine.submit(Request(principal="unix:bench", channel="tui", action="fleet", params={}))
            fin = await run.wait()
            out.append(time.perf_counter() - t)
            assert run.result is not None and run.result.rows is not None, fin.summary
            data = [r.model_dump() for r in run.result.rows]  # the fleet's typed rows
            assert fin.outcome == "ok" and "unavailable" not in fin.summary, fin.summary
            filled = sum(
                1
                for r in data
                if r["gpu_util"] is not None and r["ib_errors"] is not None and len(r["util_history"]) >= 7
            )
            assert filled == len(data), f"only {filled} of {len(data)} rows have every plane"
    finally:
        await engine.aclose()
    return out


def spy_set_filter(cls: type[VirtualTable], applied: list[float], refused: set[float]) -> None:
    """Note the time whenever ``cls`` applies a filter the user typed, and which of those times
    refused the text (an unfinished regex such as ``gpu[``: the frame shows the error hint and the
    table is not re-rendered). Bench-only patch."""
    original = cls.set_filter

    def set_filter(self, text: str):  # noqa: ANN001, ANN202
        t = time.perf_counter()
        error = original(self, text)
        applied.append(t)
        if error:
            refused.add(t)
        return error

    setattr(cls, "set_filter", set_filter)  # noqa: B010 - a method patched on the class


async def type_direct(
    app,  # noqa: ANN001
    paints: list[float],
    renders: list[float],
    applied: list[float],
    refused: set[float],
    keys: list[str],
    pause: float,
) -> list[float]:
    """Seconds from each key to the first frame showing its filter: the key goes to the driver as a
    terminal's would (not ``pilot.press``, whose wait for an idle process lasts up to 1 s per key
    while a refresh keeps the process busy, and whose later frames were then counted as the key's:
    the 400-900 ms "keystrokes" of earlier runs were the refresh's own repaint arriving inside
    that wait). A key's frame is the first painted after the table rendered a line after the
    filter for that key was applied (a refused pattern: the first frame after it, with the hint).
    ``pause`` between keys: a typist's gap, so keys do not coalesce into one frame."""
    from textual import events
    from textual.keys import _character_to_key

    latencies = []
    for key in keys:
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        char = key if len(key) == 1 else None
        before = len(applied)
        t = time.perf_counter()
        app._driver.send_message(events.Key(name, char))
        deadline = t + 10.0
        while True:
            await asyncio.sleep(0.0005)
            if len(applied) > before:
                at: float | None = applied[before]
                if at not in refused:  # the table's first line rendered after the filter
                    r = bisect_left(renders, applied[before])
                    at = renders[r] if r < len(renders) else None
                p = len(paints) if at is None else bisect_left(paints, at)
                if p < len(paints):
                    latencies.append(paints[p] - t)
                    break
            if time.perf_counter() > deadline:
                raise RuntimeError(f"key {key!r} was not shown within 10 s")
        if os.environ.get("BENCH_DEBUG"):
            print(f"{t:.3f} {key} {latencies[-1] * 1000:.1f} ms")
        await asyncio.sleep(pause)
    return latencies


async def console(cfg, n: int, keys: list[str], rounds: int, stalls: bool = False, pause: float = 0.05) -> dict:  # noqa: ANN001
    from textual.widgets import Input

    from dcops.console.tui.app import DcopsApp
    from dcops.console.tui.screens.fleet import FleetScreen
    from dcops.console.tui.widgets.vtable import VirtualTable

    renders: list[float] = []
    spy_render_line(VirtualTable, renders)
    applied: list[float] = []
    refused: set[float] = set()
    spy_set_filter(VirtualTable, applied, refused)
    shown: list[float] = []  # when the fleet screen swapped new rows in
    original_show = FleetScreen._show

    def show(self, prepared, summary) -> None:  # noqa: ANN001 - bench-only spy
        original_show(self, prepared, summary)
        shown.append(time.perf_counter())

    FleetScreen._show = show  # type: ignore[method-assign]

    class TimedApp(DcopsApp):
        paints: list[float] = []

        def _display(self, screen, renderable) -> None:  # noqa: ANN001 - Textual's signature
            if renderable is not None:
                self.paints.append(time.perf_counter())
            super()._display(screen, renderable)

    out: dict = {"refresh": [], "during": [], "idle": []}
    t0 = time.perf_counter()
    app = TimedApp(cfg, principal="unix:bench")
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#fleet-table", VirtualTable)
        summary = app.screen.query_one("#fleet-summary")

        def planes_in() -> bool:
            rows = table.all_rows
            return len(rows) == n and rows[0].get("gpu_util") is not None and "loading" not in str(summary.render())

        out["all planes painted"] = await paint_after(app.paints, planes_in) - t0
        out["rss"], out["hwm"] = rss_mb()
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one("#filter Input", Input).cursor_blink = False

        def loading() -> bool:
            return any(w.group == "load" and w.is_running for w in screen.workers)

        watch = None
        if stalls:
            from tests.bench.tui_fleet_stalls import StallWatch

            watch = StallWatch()
            watch.start()
            t_watch = time.perf_counter()
        for _ in range(rounds):
            out["idle"] += await type_direct(app, app.paints, renders, applied, refused, keys, pause)
            t = time.perf_counter()
            screen.reload()  # what ctrl+r and the auto refresh call
            await pilot.pause()
            typed: list[float] = []
            while loading():  # keys while the refresh is in flight
                typed += await type_direct(
                    app, app.paints, renders, applied, refused, [keys[len(typed) % len(keys)]], pause
                )
            out["refresh"].append(await first_paint_since(app.paints, shown[-1]) - t)
            out["during"] += typed
        out["rss after refreshes"], out["hwm after refreshes"] = rss_mb()
        if watch is not None:
            watch.stop()
            out["stalls"] = watch.report(t_watch)
    return out


async def first_paint_since(paints: list[float], since: float, timeout: float = 5.0) -> float:
    """The first frame painted at or after ``since`` (it may already have been)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        later = [p for p in paints[-50:] if p >= since]
        if later:
            return later[0]
        await asyncio.sleep(0.001)
    raise RuntimeError("the refreshed rows were never painted")


def measure(url: str, n: int, args: argparse.Namespace) -> dict:
    """Engine fill and console figures of the code on ``sys.path`` (this tree, or a --baseline's)."""
    with tempfile.TemporaryDirectory(prefix="dcops-bench-") as work:
        cfg = config(Path(work), url, n)
        cpu = time.process_time()
        fills = asyncio.run(engine_fill(cfg, args.rounds))
        tui = asyncio.run(console(cfg, n, _keys(args.keys), args.rounds, args.stalls, args.pause))
        tui["fills"], tui["cpu"] = fills, time.process_time() - cpu
    return tui


def pooled(into: dict | None, got: dict) -> dict:
    """Samples of repeated measurements together; single figures (times, memory) by their median."""
    if into is None:
        return {k: ([v] if not isinstance(v, list) and k != "stalls" else v) for k, v in got.items()}
    for k, v in got.items():
        if k == "stalls":
            into[k] = into[k] + "\n" + v
        else:
            into[k] = into[k] + (v if isinstance(v, list) else [v])
    return into


def single(value: float | list[float]) -> float:
    return statistics.median(value) if isinstance(value, list) else value


def child_run(tree: Path, url: str, args: argparse.Namespace) -> dict:
    """The measurement of a tree's code (``dcops`` from ``tree``, this bench's ``tests``) in a child
    process, against the same Prometheus."""
    with tempfile.TemporaryDirectory(prefix="dcops-bench-base-") as tmp:
        (Path(tmp) / "dcops").symlink_to(tree.resolve() / "dcops")
        (Path(tmp) / "tests").symlink_to(Path(__file__).resolve().parents[1])
        out = Path(tmp) / "out.json"
        argv = [sys.executable, "-m", "tests.bench.tui_fleet_prometheus", "--url", url, "--json", str(out)]
        argv += ["--nodes", str(args.nodes), "--rounds", str(args.rounds), "--keys", str(args.keys)]
        argv += ["--pause", str(args.pause)]
        env = {**os.environ, "PYTHONPATH": tmp}
        subprocess.run(argv, env=env, cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keys", type=int, default=40)
    parser.add_argument("--url", help="a Prometheus already holding the series (skips the backfill; same node names)")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the backfilled TSDB in this directory")
    parser.add_argument("--hours-ahead", type=float, default=8.0, help="with --keep: how long the samples last")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between a key's frame and the next key")
    parser.add_argument("--stalls", action="store_true", help="report where the UI's loop stalled (tui_fleet_stalls)")
    parser.add_argument("--baseline", type=Path, help="also measure this tree's code (e.g. git archive of main)")
    parser.add_argument("--repeat", type=int, default=1, help="with --baseline: alternate the trees this often")
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)  # a baseline child's answer
    parser.add_argument("--backfill-only", action="store_true", help="backfill (or check) --keep DIR and exit")
    args = parser.parse_args()
    os.environ.setdefault("XDG_STATE_HOME", tempfile.mkdtemp(prefix="dcops-bench-state-"))
    n = args.nodes
    after = args.hours_ahead * 3600 if args.keep else 30 * 60
    spec = FleetSeries(nodes=node_names(n), after=after, hot=frozenset({"gpu00042"}), flapping=frozenset({"gpu00077"}))
    runs: dict[str, dict] = {}
    with contextlib.ExitStack() as stack:
        url = args.url
        if url is None:
            print(f"{spec.series_count():,} series x {len(spec.times())} samples (kept in {args.keep}) ...", flush=True)
            prom = stack.enter_context(backfilled("bench", spec, timeout=600, keep=args.keep))
            print(
                f"backfilled and loaded in {prom.backfill_seconds:.1f} s (promtool; 0 = reused), serving at {prom.url}",
                flush=True,
            )
            url = prom.url
            if args.backfill_only:
                return 0
        if args.json is not None:  # a --baseline child: one measurement, raw
            got = measure(url, n, args)
            args.json.write_text(json.dumps({k: v for k, v in got.items() if k != "stalls"}))
            return 0
        if args.baseline is None:
            runs["this tree"] = pooled(None, measure(url, n, args))
        else:  # each tree in a fresh child process (memory figures of its own), ABBA... order
            trees = {"baseline": args.baseline, "this tree": Path(__file__).resolve().parents[2]}
            for i in range(args.repeat):
                for name in list(trees) if i % 2 == 0 else list(trees)[::-1]:
                    runs[name] = pooled(runs.get(name), child_run(trees[name], url, args))
    report(runs, n, args.rounds)
    return 0


def report(runs: dict[str, dict], n: int, rounds: int) -> None:
    ms = 1000.0
    names = list(runs)
    print(
        f"\nfleet view, {n} nodes x 8 GPUs, real Prometheus (backfilled), {SIZE[0]}x{SIZE[1]}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; medians of {rounds}"
    )
    print(f"  {'':44} " + " ".join(f"{name:>18}" for name in names))

    def line(label: str, cells: list[str], note: str = "") -> None:
        print(f"  {label:44} " + " ".join(f"{c:>18}" for c in cells) + (f"   {note}" if note else ""))

    line(
        "fleet action alone (engine, every plane)",
        [f"{statistics.median(r['fills']):.2f} s" for r in runs.values()],
        "target <= 3 s",
    )
    line("console start -> every plane painted", [f"{single(r['all planes painted']):.2f} s" for r in runs.values()])
    line("console refresh -> repainted, median", [f"{statistics.median(r['refresh']):.2f} s" for r in runs.values()])
    for phase, key in (("no refresh", "idle"), ("DURING a refresh", "during")):
        print(f"  filter keystroke -> repaint, {phase}")
        line("  keystrokes", [str(len(r[key])) for r in runs.values()])
        line("  median", [f"{statistics.median(r[key]) * ms:.1f} ms" for r in runs.values()])
        line(
            "  p95",
            [f"{pct(r[key], 95) * ms:.1f} ms" for r in runs.values()],
            "target < 50 ms" if key == "during" else "",
        )
        line("  max", [f"{max(r[key]) * ms:.1f} ms" for r in runs.values()])
    line("VmRSS after load (peak)", [f"{single(r['rss']):.0f} MB ({single(r['hwm']):.0f})" for r in runs.values()])
    line(
        "VmRSS after the refreshes (peak)",
        [f"{single(r['rss after refreshes']):.0f} MB ({single(r['hwm after refreshes']):.0f})" for r in runs.values()],
        "target < 250 MB",
    )
    line("process CPU, whole measurement", [f"{single(r['cpu']):.1f} s" for r in runs.values()])
    if "baseline" in runs:
        base, this = runs["baseline"], runs["this tree"]
        print(
            f"  ratios this/baseline: keystroke p95 during a refresh "
            f"{pct(this['during'], 95) / pct(base['during'], 95):.2f}, without "
            f"{pct(this['idle'], 95) / pct(base['idle'], 95):.2f}; RSS after the refreshes "
            f"{single(this['rss after refreshes']) / single(base['rss after refreshes']):.2f}; CPU {sum(this['cpu']) / sum(base['cpu']):.2f}"
        )
    if "stalls" in runs["this tree"]:
        print(runs["this tree"]["stalls"])


if __name__ == "__main__":
    raise SystemExit(main())
