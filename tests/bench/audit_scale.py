"""Benchmark: the audit log at millions of records, on SQLite and on the lab PostgreSQL.

    python -m tests.bench.audit_scale N [--stores sqlite,postgres] [--keep DIR]

``--keep DIR`` keeps the generated SQLite log in DIR (and the PostgreSQL database ``bench_N``) and
reuses a log of N records found there, so a measurement can be rerun without regenerating.

1. A generator writes a valid chain of N records through each store's own append code (SQLite's
   ``_append_tx`` in batches on the store's connection, PostgreSQL's one-round-trip ``append``), not
   through the engine, so millions take minutes: 1,000 nodes, 40 principals, 15 actions, the
   engine's event mix (received / started / step / finished), outcomes on finished records, ts
   spread over the 30 days before now.
2. Searches as ``audit list`` runs them (limit 200, newest first): ``--node X --since 1d``,
   ``--principal X``, ``--action X``, ``--outcome failed``; 30 each with random X; p50 / p95 in ms.
3. ``dcops audit export`` in its own process: wall time and peak RSS (``wait4``'s ru_maxrss).
4. Verify: the full ``verify()`` in records/s (wall, and per CPU second of this process: on a
   loaded machine the wall rate says more about the neighbours), and ``verify_since`` of the newest
   10,000 records from a checkpoint.
5. ``dcops audit verify`` as a process, with a seal of record #head-10,000 as the log's newest seal:
   the default (from that seal) and ``--full``.

``--verify-only`` runs 4 and 5 alone (a rerun of the verify figures without the searches and the
export). A SQLite run also reports how much of the log file was in the page cache before it
(``page_cache_before_pct``, from util-linux ``fincore``): a cold 11 GB log verifies slower.
``--cold`` (SQLite) measures that side by side: the log's own files are evicted from the page
cache (``POSIX_FADV_DONTNEED``, never the system-wide drop_caches), the full verify runs cold, then
again warm right after; each with user and system CPU per record (the kernel filling the cache
shows as system time). The cold figure of the issue:

    python -m tests.bench.audit_scale 10000000 --stores sqlite --keep /var/tmp/dcops-bench-10m --verify-only --cold

A rerun on a kept log changes it as little as the figures allow (``log_grew_by`` says by how much):
the seal of 5 is appended once and reused while it stays 10,000 to 11,000 records behind the head
(``--new-seal`` appends a fresh one); the ``dcops`` processes of 3 and 5 run with the public key
only, so they seal nothing. What remains are their own audit records (received, started, finished:
3 per process, 6 for a ``--verify-only`` run): an operator's ``audit verify`` records itself, and
that is part of what 5 times (the first one may also close, once, a run the generator left open at N). ``--read-only`` runs 2 and 4 alone and leaves the log exactly as found.

Report medians / ratios; never a timed test. Starts the PostgreSQL lab if it is not running.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dcops.actions.store.base import AuditEntry, AuditEvent, AuditQuery

NODES = [f"gpu{i:04d}" for i in range(1, 1001)]
PRINCIPALS = [f"unix:user{i:02d}" for i in range(30)] + [f"slack:U{i:08d}" for i in range(10)]
ACTIONS = [
    "drain",
    "resume",
    "reimage",
    "firmware-update",
    "triage-cable",
    "cancel",
    "requeue",
    "gpu-health",
    "fleet",
    "nodes",
    "jobs",
    "power",
    "reset-counters",
    "audit",
    "ping",
]
BATCH = 20000


def entries(n: int, seed: int = 16) -> Any:
    """N entries in the engine's shapes, ts rising over the last 30 days (yielded in batches)."""
    rng = random.Random(seed)
    end = datetime.now(UTC)
    start = end - timedelta(days=30)
    step = (end - start) / max(n, 1)
    batch: list[AuditEntry] = []
    i = 0
    while i < n:
        action = rng.choice(ACTIONS)
        principal = rng.choice(PRINCIPALS)
        targets = sorted(rng.sample(NODES, rng.choice((1, 1, 1, 2, 4, 16))))
        run = f"r{i:09d}"
        params = {"nodes": ",".join(targets[:4]), "reason": "xid 79 on GPU 3"}
        events: list[tuple[AuditEvent, str | None]] = [("received", None), ("started", None)]
        events += [("step", "ok")] * rng.choice((0, 0, 1, 2))
        events.append(("finished", rng.choices(("ok", "failed", "cancelled", "interrupted"), (95, 3, 1, 1))[0]))
        for event, outcome in events:
            if i >= n:
                break
            ts = (start + step * i).isoformat(timespec="microseconds")
            batch.append(
                AuditEntry(
                    ts=ts,
                    run_id=run,
                    event=event,
                    principal=principal,
                    channel="cli",
                    action=action,
                    targets=targets,
                    params=params,
                    decision="allow" if event == "started" else None,
                    outcome=outcome,
                    duration=round(rng.random() * 30, 6) if event == "finished" else None,
                    detail="summary" if event == "finished" else None,
                    owner="host:1:1",
                )
            )
            i += 1
            if len(batch) >= BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


# What the bulk load drops and the store's own ``_prepare`` rebuilds when it next opens the log
# (user_version 0): building an index once over sorted keys is far cheaper than keeping eight
# indexes and two triggers current row by row, and audit_open is refilled by the store's own query.
_REBUILT = (
    "DROP TRIGGER audit_open_started",
    "DROP TRIGGER audit_open_finished",
    "DROP TABLE audit_open",
    *(
        f"DROP INDEX {name}"
        for name in (
            "audit_run",
            "audit_ts",
            "audit_nodes_node_seq",
            "audit_nodes_seq",
            "audit_principal_seq",
            "audit_action_seq",
            "audit_outcome_seq",
            "audit_nodes_node_ts",
            "audit_rare_event_seq",
        )
    ),
)


def bulk_sqlite(path: Path, n: int) -> None:
    """Rows encoded and hashed by the stores' own ``chain_rows``, inserted in large transactions
    with the indexes and triggers dropped; the store rebuilds them when it opens the log."""
    import sqlite3

    from dcops.actions.store.chain import GENESIS, chain_rows
    from dcops.actions.store.sqlite import _INSERT, _INSERT_NODE

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    for stmt in _REBUILT:
        conn.execute(stmt)
    conn.execute("PRAGMA user_version = 0")
    seq, prev = 0, GENESIS
    for batch in entries(n):
        rows, nodes = chain_rows(seq, prev, batch)
        seq, prev = rows[-1][0], rows[-1][-1]
        conn.execute("BEGIN")
        conn.executemany(_INSERT, rows)
        conn.executemany(_INSERT_NODE, nodes)
        conn.execute("COMMIT")
    conn.close()


_PG_REBUILT = (
    "DROP TRIGGER audit_open_runs ON audit",
    "DROP TRIGGER audit_nodes_ts ON audit_nodes",
    "DROP TABLE audit_open",
    *(
        f"DROP INDEX {name}"
        for name in (
            "audit_run",
            "audit_ts",
            "audit_nodes_node_seq",
            "audit_nodes_seq",
            "audit_principal_seq",
            "audit_action_seq",
            "audit_outcome_seq",
            "audit_nodes_node_ts",
            "audit_rare_event_seq",
        )
    ),
)


def bulk_postgres(url: str, n: int) -> None:
    """The same rows (the stores share the column layout and ``chain.record_hash``), COPYed with
    the indexes, triggers and audit_open dropped; the store's own schema code rebuilds them when it
    next opens the database (audit_open missing = a database to upgrade)."""
    import psycopg

    from dcops.actions.store.chain import GENESIS, chain_rows
    from dcops.actions.store.pg_schema import COLS, SCHEMA

    with psycopg.connect(url, autocommit=True) as conn:
        for stmt in _PG_REBUILT:
            conn.execute(stmt)
        # the one constraint index the schema code does not recreate: dropped and added back as
        # SCHEMA declares it (prev_hash UNIQUE), checked over the whole log when it is added
        constraint = conn.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'audit'::regclass AND contype = 'u'"
        ).fetchone()
        assert constraint is not None, "the audit table has no UNIQUE constraint (SCHEMA declares prev_hash UNIQUE)"
        unique = constraint[0]
        conn.execute(f"ALTER TABLE audit DROP CONSTRAINT {unique}")
        seq, prev = 0, GENESIS
        with conn.cursor() as cur:
            for batch in entries(n):
                rows, nodes = chain_rows(seq, prev, batch)
                seq, prev = rows[-1][0], rows[-1][-1]
                with conn.transaction():
                    with cur.copy(f"COPY audit ({', '.join(COLS)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                    with cur.copy("COPY audit_nodes (node, seq, ts) FROM STDIN") as copy:
                        for node in nodes:
                            copy.write_row(node)
        conn.execute(f"ALTER TABLE audit ADD CONSTRAINT {unique} UNIQUE (prev_hash)")
        conn.execute(SCHEMA)  # audit_run, audit_ts: made with the tables, not by the upgrade
        conn.execute("ANALYZE")


async def generate(store: Any, kind: str, n: int) -> float:
    t0 = time.perf_counter()
    if kind == "sqlite":
        await store.open()  # the schema, made by the store
        await store.aclose()
        bulk_sqlite(store.path, n)
        store.__init__(str(store.path))  # reopened: the store rebuilds indexes, triggers, audit_open
        await store.open()
    else:
        await store.open()
        url = store.url
        await store.aclose()
        bulk_postgres(url, n)
        store.__init__(url)  # reopened: the store's schema upgrade rebuilds indexes, triggers, audit_open
        await store.open()
    return time.perf_counter() - t0


async def searches(store: Any, rounds: int = 30) -> dict[str, dict[str, float]]:
    rng = random.Random(7)
    since = datetime.now(UTC) - timedelta(days=1)
    cases = {
        "node+since1d": lambda: AuditQuery(node=rng.choice(NODES), since=since, limit=200),
        "principal": lambda: AuditQuery(principal=rng.choice(PRINCIPALS), limit=200),
        "action": lambda: AuditQuery(action=rng.choice(ACTIONS), limit=200),
        "outcome": lambda: AuditQuery(outcome=rng.choice(("failed", "cancelled", "interrupted")), limit=200),
        "node-page3": None,
    }
    out: dict[str, dict[str, float]] = {}
    for name, make in cases.items():
        times = []
        for _ in range(rounds):
            if make is None:  # the third keyset page of one node's records
                node = rng.choice(NODES)
                t0 = time.perf_counter()
                page = await store.query(AuditQuery(node=node, limit=200))
                for _ in range(2):
                    if page:
                        page = await store.query(AuditQuery(node=node, limit=200, before_seq=page[-1].seq))
                times.append((time.perf_counter() - t0) / 3)
                continue
            q = make()
            t0 = time.perf_counter()
            await store.query(q)
            times.append(time.perf_counter() - t0)
        times.sort()
        out[name] = {
            "p50_ms": round(statistics.median(times) * 1000, 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1] * 1000, 1),
        }
    return out


def _config(url: str, workdir: Path, sealed: bool = False) -> Path:
    (workdir / "policy.toml").write_text(
        '[roles.all]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'
    )
    cfg = workdir / ("dcops-sealed.toml" if sealed else "dcops.toml")
    # verify from the benchmark's seal with its public key; no seal_key: a timed run seals nothing at exit,
    # so the benchmark's seal stays the newest one and a rerun can start from it again
    seal = f'seal_public_keys = ["{workdir / "seal.pub"}"]\n' if sealed else ""
    cfg.write_text(
        f'[cluster]\nname = "bench"\n[audit]\nurl = "{url}"\n{seal}[policy]\npath = "{workdir / "policy.toml"}"\n'
    )
    return cfg


REUSE_SLACK = 1_000  # a kept seal is reused while at most this many records more than `behind` follow it


async def seal_behind_head(store: Any, workdir: Path, behind: int = 10_000, fresh: bool = False) -> tuple[int, bool]:
    """A seal of record #head-behind, appended as the log's newest seal record (a writer that sealed
    there and then saw ``behind`` more records): what an incremental verify starts from. Returns the
    sealed seq and whether a seal was appended: a rerun reuses the log's newest seal (unless
    ``fresh``) when it is good under this benchmark's key and ``behind`` to ``behind + REUSE_SLACK``
    records old, the window the runs' own audit records move it through."""
    from dcops.actions.seal.checkpoint import newest_good_seal
    from dcops.actions.seal.keys import generate, load_keyring, load_signer
    from dcops.actions.seal.seal import make_seal
    from dcops.actions.seal.sealing import seal_entry

    key = workdir / "seal.key"
    if not key.exists():
        generate(key, workdir / "seal.pub")
    head_seq, _ = await store.head()
    if not fresh:
        kept = await newest_good_seal(store, load_keyring([str(workdir / "seal.pub")]), (), "bench")
        if kept is not None and behind <= head_seq - kept.seq <= behind + REUSE_SLACK:
            return kept.seq, False
    seq = head_seq - behind
    digest = (await store.hashes_at([seq]))[seq]
    seal = make_seal(load_signer(str(key), None, None), seq, digest, "bench")
    await store.append([seal_entry(seal, "bench:1:1")])
    return seq, True


def cli_verify(url: str, workdir: Path) -> dict[str, Any]:
    """``dcops audit verify`` as an operator runs it (process start included): by default from the
    newest good seal, and with ``--full``."""
    cfg = _config(url, workdir, sealed=True)
    dcops = str(Path(sys.executable).with_name("dcops"))
    out: dict[str, Any] = {}
    for label, extra in (("cli_verify_incremental", []), ("cli_verify_full", ["--full"])):
        t0 = time.perf_counter()
        p = subprocess.run(
            [dcops, "--config", str(cfg), "--json", "audit", "verify", *extra], capture_output=True, text=True
        )
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(f"audit verify {extra} failed: {p.stdout[-300:]} {p.stderr[-300:]}")
        data = json.loads(p.stdout)
        out[label + "_s"] = round(wall, 2)
        out[label + "_records"] = data["records"]
        out[label + "_from_seq"] = data["from_seq"]
    return out


def export_rss(url: str, workdir: Path) -> dict[str, float]:
    cfg = _config(url, workdir)
    dcops = str(Path(sys.executable).with_name("dcops"))
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [dcops, "--config", str(cfg), "audit", "export", "--output", os.devnull], stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise RuntimeError(f"export failed: {proc.stderr.read() if proc.stderr else ''}")
    return {"export_s": round(wall, 1), "export_peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def _cpu_split() -> tuple[float, float]:
    """(user, system) CPU seconds of this process and its reaped children (a long verify's worker
    processes): a cold page cache shows as system time (the kernel filling the cache), not as
    Python work."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + kids.ru_utime, me.ru_stime + kids.ru_stime


async def full_verify(store: Any, label: str) -> dict[str, float]:
    """One full ``verify()``: wall, rate, rate per CPU second, user and system CPU per record."""
    t0, (u0, s0) = time.perf_counter(), _cpu_split()
    full = await store.verify()
    wall, (u1, s1) = time.perf_counter() - t0, _cpu_split()
    cpu = (u1 - u0) + (s1 - s0)
    assert full.ok, full.line()
    n = full.records
    return {
        f"{label}_s": round(wall, 2),
        f"{label}_records_per_s": round(n / wall),
        f"{label}_records_per_cpu_s": round(n / cpu),  # this process's and its verify workers' CPU
        f"{label}_user_us_per_record": round((u1 - u0) / n * 1e6, 2),
        f"{label}_sys_us_per_record": round((s1 - s0) / n * 1e6, 2),
    }


def drop_page_cache(path: Path) -> None:
    """Evict this log's files (and only them) from the page cache: ``POSIX_FADV_DONTNEED`` on each,
    never the system-wide drop_caches (other work on the machine keeps its cache)."""
    for f in path.parent.glob(path.name + "*"):
        if f.is_file():
            fd = os.open(f, os.O_RDONLY)
            try:
                os.fsync(fd)  # dirty pages are not dropped
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


async def verifies(store: Any, n: int, cold: Path | None = None) -> dict[str, float]:
    """The full verify (``cold``: the log at that path evicted from the page cache first, then a
    second, warm verify right after it, side by side) and the newest 10k from a checkpoint."""
    out: dict[str, float] = {}
    if cold is not None:
        drop_page_cache(cold)
        out["page_cache_cold_pct"] = page_cache_pct(cold) or 0.0
    out.update(await full_verify(store, "verify_full"))
    if cold is not None:
        out["page_cache_after_pct"] = page_cache_pct(cold) or 0.0
        out.update(await full_verify(store, "verify_full_warm"))
    head_seq = (await store.head())[0]
    [cp] = await store.query(AuditQuery(limit=1, before_seq=head_seq - 10_000 + 1))
    t0 = time.perf_counter()
    newest = await store.verify_since((cp.seq, cp.hash))
    out["verify_newest_10k_s"] = round(time.perf_counter() - t0, 3)
    assert newest.ok and newest.records == 10_000, newest.line()
    return out


def page_cache_pct(path: Path) -> float | None:
    """How much of a file the page cache holds (``fincore``), or None where it cannot be read."""
    try:
        p = subprocess.run(
            ["fincore", "--bytes", "--noheadings", "--raw", "-o", "RES,SIZE", str(path)], capture_output=True, text=True
        )
        res, size = (int(x) for x in p.stdout.split())
    except (OSError, ValueError):
        return None
    return round(100 * res / size, 1) if size else None


async def bench(
    kind: str,
    n: int,
    workdir: Path,
    keep: bool = False,
    generate_only: bool = False,
    verify_only: bool = False,
    read_only: bool = False,
    new_seal: bool = False,
    cold: bool = False,
) -> dict[str, Any]:
    url: str | None  # the log's URL (None until the PostgreSQL database is known)
    if kind == "sqlite":
        from dcops.actions.store.sqlite import SqliteStore

        url = f"sqlite:///{workdir / f'audit-{n}.db'}"
        store: Any = SqliteStore(str(workdir / f"audit-{n}.db"))
    else:
        from dcops.actions.store.postgres import PostgresStore
        from tests.lab import postgres as lab

        server = lab.status() or lab.start()
        name = f"bench_{n}"
        if name in server.psql("SELECT datname FROM pg_database"):
            url = server.url_for(name) if keep else None
            if url is None:
                server.drop_database(name)
        else:
            url = None
        url = url or server.create_database(name)
        store = PostgresStore(url)
    result: dict[str, Any] = {"store": kind, "records": n}
    try:
        if (await store.head())[0] < n:
            if (await store.head())[0]:
                raise SystemExit(f"{url}: holds a smaller log; remove it first")
            gen = await generate(store, kind, n)
            result["generate_s"] = round(gen, 1)
            result["generate_records_per_s"] = round(n / gen)
        if generate_only:
            return result
        head_before = (await store.head())[0]
        if kind == "sqlite":
            result["page_cache_before_pct"] = page_cache_pct(workdir / f"audit-{n}.db")
        if not verify_only:
            result["search"] = await searches(store)
        result.update(await verifies(store, n, cold=workdir / f"audit-{n}.db" if cold and kind == "sqlite" else None))
        if not read_only:
            result["sealed_seq"], result["seal_appended"] = await seal_behind_head(store, workdir, fresh=new_seal)
    finally:
        await store.aclose()
    if not read_only:
        result.update(cli_verify(url, workdir))
        if not verify_only:
            result.update(export_rss(url, workdir))
    store.__init__(str(store.path) if kind == "sqlite" else url)  # reopened: what the runs above appended
    try:
        result["log_grew_by"] = (await store.head())[0] - head_before
    finally:
        await store.aclose()
    if kind == "sqlite":
        result["db_mb"] = round(sum(f.stat().st_size for f in workdir.glob(f"audit-{n}.db*") if f.is_file()) / 2**20)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", type=int)
    ap.add_argument("--stores", default="sqlite,postgres")
    ap.add_argument("--keep", metavar="DIR", help="keep (and reuse) the generated logs here")
    ap.add_argument("--generate-only", action="store_true", help="with --keep: only write the logs")
    ap.add_argument("--verify-only", action="store_true", help="only the verify figures (no searches, no export)")
    ap.add_argument(
        "--read-only", action="store_true", help="append nothing: no seal, no dcops process (store API figures only)"
    )
    ap.add_argument("--new-seal", action="store_true", help="append a fresh seal even if the kept one can be reused")
    ap.add_argument(
        "--cold", action="store_true", help="SQLite: evict the log from the page cache, verify, then verify warm"
    )
    args = ap.parse_args()
    out = []
    keep = bool(args.keep)
    for kind in args.stores.split(","):
        with contextlib.ExitStack() as scratch:
            if keep:
                workdir = Path(args.keep)
                workdir.mkdir(parents=True, exist_ok=True)
            else:
                workdir = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix=f"dcops-audit-{kind}-")))
            run = bench(
                kind,
                args.records,
                workdir,
                keep=keep,
                generate_only=args.generate_only and keep,  # both only mean something for a kept log
                verify_only=args.verify_only,
                read_only=args.read_only,
                new_seal=args.new_seal and keep,
                cold=args.cold,
            )
            out.append(asyncio.run(run))
        print(json.dumps(out[-1]), flush=True)
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
