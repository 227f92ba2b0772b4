"""Benchmark: how long the ``dcops`` command takes to start, side by side in one run, interleaved
(so load from other processes hits every command alike): a bare ``python -c pass`` (the floor no
change to dcops can lower), ``dcops --help``, ``dcops --version`` and ``dcops --demo run ping``;
median and p90 wall time of N runs each (goal: --help < 150 ms, run ping < 300 ms).

Byte code: an installed wheel ships compiled ``.pyc`` files (pip compiles on install), so the
runs use a byte-code cache in a temporary directory (``PYTHONPYCACHEPREFIX``; the source tree is
left clean) warmed by one run of each command first, even where ``PYTHONDONTWRITEBYTECODE`` is set.
With ``--imports`` it also prints the slowest imports of ``run ping`` (``python -X importtime``).
With ``--baseline DIR`` (a checkout of another commit, e.g. ``git archive main | tar -x -C DIR``)
the same commands run from DIR too, in the same rounds, for before/after ratios.

    python -m tests.bench.cli_start [N] [--imports] [--baseline DIR]
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# the installed console script when there is one (what a user runs), else the module
_DCOPS = (
    [sys.executable, shutil.which("dcops")] if shutil.which("dcops") else [sys.executable, "-m", "dcops.console.cli"]
)
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "dcops --help": [*_DCOPS, "--help"],
    "dcops --version": [*_DCOPS, "--version"],
    "dcops --demo run ping": [*_DCOPS, "--demo", "run", "ping"],
}


def bench_env(cache: str, state: str, tree: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=cache, XDG_STATE_HOME=state, XDG_DATA_HOME=state, XDG_CONFIG_HOME=state)
    if tree:
        env["PYTHONPATH"] = tree
    env.pop("DCOPS_CONFIG", None)
    return env


def once(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run; the CPU time is what other
    processes' load does not inflate on a shared machine, so it is reported beside the wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.decode()[-300:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def slowest_imports(env: dict[str, str], top: int = 15) -> list[str]:
    done = subprocess.run(
        [*COMMANDS["dcops --demo run ping"][:1], "-X", "importtime", *COMMANDS["dcops --demo run ping"][1:]],
        env=env,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            _, self_us, cumulative, name = [p.strip() for p in line.replace("import time:", "|").split("|")]
            rows.append((int(cumulative), int(self_us), name))
    return [f"{c / 1000:7.1f} ms cumulative {s / 1000:6.1f} ms self  {n}" for c, s, n in sorted(rows)[-top:]]


def main() -> None:
    args = sys.argv[1:]
    baseline = args[args.index("--baseline") + 1] if "--baseline" in args else None
    numbers = [a for a in args if a.isdigit()]
    n = int(numbers[0]) if numbers else 20
    tmp = tempfile.mkdtemp(prefix="dcops-cli-start-")
    try:
        env = bench_env(os.path.join(tmp, "pycache"), os.path.join(tmp, "state"))
        trees = {"": env}
        if baseline:
            trees["baseline "] = bench_env(os.path.join(tmp, "pycache"), os.path.join(tmp, "state-base"), baseline)
        runs = {
            prefix + name: (cmd, tenv)
            for prefix, tenv in trees.items()
            for name, cmd in COMMANDS.items()
            if not (prefix and name == "python -c pass")
        }
        for cmd, tenv in runs.values():  # warm the byte-code cache and the page cache
            once(cmd, tenv)
        times: dict[str, list[float]] = {name: [] for name in runs}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        load = os.getloadavg()[0]
        for _ in range(n):  # interleaved: each round runs every command once
            for name, (cmd, tenv) in runs.items():
                wall, used = once(cmd, tenv)
                times[name].append(wall)
                cpu[name].append(used)
        floor = statistics.median(times["python -c pass"])
        print(f"{n} runs each, interleaved; load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")
        print(f"{'command':<33} {'median':>9} {'p90':>9} {'minus python':>13} {'cpu median':>11} {'vs baseline':>12}")
        for name, xs in times.items():
            med = statistics.median(xs)
            p90 = statistics.quantiles(xs, n=10)[-1] if len(xs) >= 2 else xs[0]
            base = times.get("baseline " + name)
            ratio = f"{med / statistics.median(base):11.2f}x" if base else ""
            print(
                f"{name:<33} {med * 1000:7.1f}ms {p90 * 1000:7.1f}ms {(med - floor) * 1000:11.1f}ms "
                f"{statistics.median(cpu[name]) * 1000:9.1f}ms {ratio}"
            )
        if "--imports" in sys.argv:
            print("\nslowest imports of `dcops --demo run ping`:")
            print("\n".join(slowest_imports(env)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
