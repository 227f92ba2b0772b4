"""The fleet action reads a real Prometheus whose label conventions are not the lab default: the DCGM
exporter names the node in a `node` label (not `Hostname`) and node_exporter scrape targets are FQDNs
with a port, one of them mapped by hand. `[prometheus] node_label` / `instance_map` must fill the GPU
and IB columns as gpu-health and fabric-health do; with the defaults the same server leaves them
empty, which proves the setting (not luck) fills them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcops.actions import load_actions, parse_command
from dcops.actions.backends.factory import build_backends
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, NodeEntry
from dcops.actions.config.prometheus import PrometheusSection
from dcops.actions.engine import Engine
from dcops.actions.events import Result
from dcops.actions.rbac import Policy
from dcops.actions.request import Request
from dcops.actions.store.sqlite import SqliteStore
from tests.lab.metrics.fleet_prom import BackfilledPrometheus, FleetSeries, backfilled

pytestmark = pytest.mark.lab

NODES = [f"gpu{i:03d}" for i in range(1, 17)]
# gpu016's exporter is scraped through an alias no string rule can turn into its name
ALIAS = "10.9.8.7:9100"


def instance_of(node: str) -> str:
    return ALIAS if node == "gpu016" else f"{node}.dc1.example.com:9100"


@pytest.fixture(scope="module")
def fqdn_prom() -> Iterator[BackfilledPrometheus]:
    spec = FleetSeries(
        nodes=NODES,
        node_label="node",
        instance=instance_of,
        hot=frozenset({"gpu003"}),
        flapping=frozenset({"gpu005", "gpu016"}),
        stale=frozenset({"gpu009"}),
    )
    with backfilled("labels", spec) as prom:
        yield prom


async def fleet_rows(
    tmp_path: Path, prom: BackfilledPrometheus, section: PrometheusSection, command: str = "fleet"
) -> tuple[dict[str, dict], str]:
    load_actions()
    cfg = DcopsConfig(
        cluster=ClusterSection(name="lab"),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}"),
        nodes=[NodeEntry(names="gpu[001-016]", partitions=["gpu"])],
        prometheus=section,
    )
    eng = Engine(cfg, build_backends(cfg), SqliteStore(str(tmp_path / "a.db")), Policy.demo())
    await eng.start()
    try:
        cmd = parse_command(command)
        r = await eng.submit(Request(principal="unix:root", channel="cli", action=cmd.action, params=cmd.params))
        results = [ev async for ev in r.events() if isinstance(ev, Result)]
        finished = await r.wait()
    finally:
        await eng.aclose()
    assert results, finished.summary
    return {row.node: row.model_dump() for row in results[-1].rows}, finished.summary  # typed FleetRows


@pytest.mark.parametrize("sharded", [False, True], ids=["one-query", "sharded"])
async def test_node_label_and_instance_map_fill_every_metrics_column(tmp_path, fqdn_prom, sharded, monkeypatch):
    if sharded:  # what a fleet of thousands does: eleven queries per column
        monkeypatch.setattr("dcops.actions.ops.fleet._SHARD_FROM", 1)
    section = PrometheusSection(url=fqdn_prom.url, timeout=10.0, node_label="node", instance_map={ALIAS: "gpu016"})
    rows, summary = await fleet_rows(tmp_path, fqdn_prom, section)
    assert set(rows) == set(NODES) and "unavailable" not in summary
    stale = rows.pop("gpu009")  # its DCGM exporter stopped 20 min ago: history, but no current value
    assert stale["gpu_util"] is None and stale["gpu_temp"] is None and stale["ib_errors"] is not None
    assert 1 <= len(stale["util_history"]) < 7, stale
    for node, row in rows.items():
        assert row["gpu_util"] is not None and row["gpu_temp"] is not None, (node, row)
        assert row["ib_errors"] is not None, (node, row)  # FQDN instances map to their node
        assert len(row["util_history"]) >= 7 and len(row["temp_history"]) >= 7, (node, row)
    assert rows["gpu003"]["xid"] == 79 and rows["gpu004"]["xid"] == 0
    assert rows["gpu005"]["ib_errors"] > 0 and rows["gpu006"]["ib_errors"] == 0
    assert rows["gpu016"]["ib_errors"] > 0  # only instance_map names this one
    spec, now = fqdn_prom.spec, time.time()
    recent = [k for k, t in enumerate(spec.times()) if t <= now][-2:]  # the sample "now" falls on
    assert rows["gpu002"]["gpu_temp"] in {max(spec.temp(1, g, k) for g in range(8)) for k in recent}
    assert rows["gpu002"]["gpu_util"] in {round(sum(spec.util(1, g, k) for g in range(8)) / 8, 1) for k in recent}


async def test_without_the_mapping_the_alias_node_has_no_ib_and_defaults_find_no_gpus(tmp_path, fqdn_prom):
    section = PrometheusSection(url=fqdn_prom.url, timeout=10.0, node_label="node")
    rows, _ = await fleet_rows(tmp_path, fqdn_prom, section)
    assert rows["gpu016"]["ib_errors"] is None and rows["gpu015"]["ib_errors"] is not None
    rows, _ = await fleet_rows(tmp_path, fqdn_prom, PrometheusSection(url=fqdn_prom.url, timeout=10.0))
    assert all(r["gpu_util"] is None and r["xid"] == 0 for r in rows.values())  # `Hostname` is not there


async def test_a_node_label_that_is_not_a_label_name_is_one_clear_refusal(tmp_path, fqdn_prom):
    load_actions()
    section = PrometheusSection(url=fqdn_prom.url, timeout=10.0, node_label="node) or vector(1")
    cfg = DcopsConfig(
        cluster=ClusterSection(name="lab"),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'b.db'}"),
        nodes=[NodeEntry(names="gpu[001-002]", partitions=["gpu"])],
        prometheus=section,
    )
    eng = Engine(cfg, build_backends(cfg), SqliteStore(str(tmp_path / "b.db")), Policy.demo())
    await eng.start()
    try:
        r = await eng.submit(Request(principal="unix:root", channel="cli", action="fleet", params={}))
        finished = await r.wait()
    finally:
        await eng.aclose()
    assert finished.outcome != "ok" and finished.exit_code == 2
    assert "[prometheus] node_label 'node) or vector(1" in finished.summary
    assert "is not a Prometheus label name" in finished.summary
