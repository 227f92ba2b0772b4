"""triage-cable and the health actions end to end on the labs: real Prometheus scraping real
node_exporters whose sysfs counters the test writes, and real sshd nodes whose stand-in mlxlink /
ibstat print what the test sets. One test per verdict, on its own pair of back-to-back nodes
(the lab wires mlxlink mlx5_0 of gpu001<->gpu002, gpu003<->gpu004, ...)."""

from __future__ import annotations

import socket

import pytest

from dcops.actions import parse_command
from dcops.actions.engine import Engine
from dcops.actions.events import Result
from dcops.actions.request import Request

pytestmark = pytest.mark.lab


async def run(eng: Engine, command: str) -> tuple[Result | None, str, str]:
    cmd = parse_command(command)
    r = await eng.submit(Request(principal="unix:root", channel="cli", action=cmd.action, params=cmd.params))
    results = [ev async for ev in r.events() if isinstance(ev, Result)]
    finished = await r.wait()
    return (results[-1] if results else None), finished.outcome, finished.summary


def scraped_growth(metrics_lab, node: str, counter: str, at_least: float) -> None:
    """Wait until Prometheus has scraped what the test wrote (the 12-minute increase shows it)."""
    metrics_lab.wait_value(f'increase(node_infiniband_{counter}{{instance="{node}",device="mlx5_0"}}[12m])', at_least)


async def test_rising_symbol_errors_on_one_end_is_a_bad_cable(make_engine, metrics_lab, ssh_nodes, slurm_cluster):
    job = slurm_cluster.sbatch("-w", "gpu003", "-N", "1")
    slurm_cluster.wait_job(job, "RUNNING")
    metrics_lab.add_counters("gpu003", "mlx5_0", symbol_error=400, port_rcv_errors=30)
    ssh_nodes.set_mlxlink(
        "gpu003",
        "mlx5_0",
        symbol_errors=400,
        effective_errors=400,
        raw_errors_per_lane=[240000, 200000, 260000, 260000],
        raw_ber=2e-6,
        minutes_since_clear=20.0,
    )
    scraped_growth(metrics_lab, "gpu003", "symbol_error_total", 400)
    res, outcome, _ = await run(await make_engine(slurm=slurm_cluster), "triage-cable gpu003:mlx5_0:1")
    assert outcome == "ok"
    (link,) = res.data["links"]
    assert link["link"] == "gpu003:mlx5_0:1 <-> gpu004:mlx5_0:1"
    assert link["verdict"] == "bad cable" and link["suspect"] == "gpu003:mlx5_0:1"
    ev = "\n".join(link["evidence"])
    assert "gpu003:mlx5_0:1: symbol errors +4" in ev and "limits 2.88" in ev
    assert "gpu003:mlx5_0:1: mlxlink raw BER" in ev and "NDR copper" in ev
    assert "gpu004" not in ev.split("\n", 1)[1]  # the far end is clean
    assert link["missing"] == []  # both ends: counters and SSH
    assert link["jobs"] == {"gpu003": [job], "gpu004": []} and link["jobs_missing"] is None
    assert any(a.startswith("drain both ends (1 running job(s) finish first)") for a in link["next_actions"])
    assert (
        res.data["followups"][0]
        == 'drain gpu[003-004] --reason "triage-cable: bad cable gpu003:mlx5_0:1 <-> gpu004:mlx5_0:1"'
    )
    assert "reset-counters gpu003 --device mlx5_0 --port 1" in res.data["followups"]


async def test_link_downed_on_both_ends_is_flapping(make_engine, metrics_lab, ssh_nodes):
    for node in ("gpu005", "gpu006"):
        metrics_lab.add_counters(node, "mlx5_0", link_downed=3, link_error_recovery=7)
        ssh_nodes.set_mlxlink(node, "mlx5_0", link_down=4, link_error_recovery=9)
    for node in ("gpu005", "gpu006"):
        scraped_growth(metrics_lab, node, "link_downed_total", 3)
    res, outcome, _ = await run(await make_engine(), "triage-cable gpu006:mlx5_0")
    (link,) = res.data["links"]
    assert link["verdict"] == "flapping" and link["evidence"][0] == "link downed rising on both ends"
    assert res.data["followups"][0].startswith("drain gpu[005-006] --reason")


async def test_xmit_wait_only_is_congestion_not_a_fault(make_engine, metrics_lab):
    metrics_lab.add_counters("gpu007", "mlx5_0", port_xmit_wait=2_000_000_000)
    scraped_growth(metrics_lab, "gpu007", "port_transmit_wait_total", 2e9)
    res, outcome, _ = await run(await make_engine(), "triage-cable gpu007:mlx5_0:1")
    (link,) = res.data["links"]
    assert link["verdict"] == "congestion" and link["suspect"] == "gpu007:mlx5_0:1"
    assert any("congestion, not a fault" in e for e in link["evidence"])
    assert res.data["followups"] == []


async def test_a_quiet_link_is_healthy(make_engine):
    res, outcome, summary = await run(await make_engine(), "triage-cable gpu001:mlx5_0:1")
    (link,) = res.data["links"]
    assert outcome == "ok" and link["verdict"] == "healthy" and link["missing"] == [] and res.data["followups"] == []
    assert "healthy" in summary


async def test_ssh_down_on_one_end_gives_a_verdict_that_says_what_is_missing(make_engine, metrics_lab, ssh_nodes):
    metrics_lab.add_counters("gpu009", "mlx5_0", symbol_error=300)
    scraped_growth(metrics_lab, "gpu009", "symbol_error_total", 300)
    ssh_nodes.stop_sshd("gpu010")
    res, outcome, summary = await run(await make_engine(), "triage-cable gpu009:mlx5_0:1")
    (link,) = res.data["links"]
    assert outcome == "ok" and link["verdict"] == "bad cable"
    (missing,) = link["missing"]
    assert missing.startswith("gpu010:mlx5_0:1: no mlxlink/ibstat (ssh to gpu010:") and "refused" in missing.lower()
    assert "from what was available" in summary
    assert any(e.startswith("gpu009:mlx5_0:1: mlxlink") for e in link["evidence"]) is False  # clean BER on gpu009


async def test_prometheus_down_is_unknown_never_healthy(make_engine):
    """Connection refused: gpu-health and triage-cable say "unknown" with the reason in one line (the
    link's mlxlink over SSH still answers and is clean, which alone must not read as healthy);
    fabric-health, which has nothing else to go on, fails with that line."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    eng = await make_engine(prometheus_url=f"http://127.0.0.1:{port}")
    down = f"prometheus at http://127.0.0.1:{port} is not reachable: connection refused"
    await _says_unknown(eng, down)
    res, outcome, summary = await run(eng, "fabric-health")
    assert outcome == "failed" and res is None and summary == down


async def _says_unknown(eng: Engine, why: str) -> None:
    res, outcome, summary = await run(eng, "gpu-health gpu001")
    assert outcome == "failed" and summary == f"GPU health unknown for gpu001: {why}"
    assert res is not None and res.data["health"] == "unknown" and res.data["gpus"] == []
    res, outcome, summary = await run(eng, "triage-cable gpu001:mlx5_0:1")
    assert outcome == "ok" and res is not None
    [link] = res.data["links"]
    assert link["verdict"] == "unknown" and "healthy" not in summary, summary
    assert any(why in m for m in link["missing"]), link["missing"]
    assert "\n" not in summary
    res, outcome, summary = await run(eng, "triage-cable --auto")
    assert summary.startswith("unknown: ") and "healthy" not in summary, summary


@pytest.mark.slow
async def test_prometheus_hanging_is_unknown_then_healthy_again(make_engine, metrics_lab):
    """The real lab Prometheus frozen (SIGSTOP: the port is open, nothing answers) past the client
    timeout: "unknown", never "healthy"; thawed, the same link is judged healthy again."""
    eng = await make_engine()
    metrics_lab.freeze_prometheus()
    try:
        await _says_unknown(eng, f"prometheus at {metrics_lab.prometheus_url} did not answer within 5s")
    finally:
        metrics_lab.freeze_prometheus(False)
    res, outcome, summary = await run(eng, "triage-cable gpu001:mlx5_0:1")
    assert res is not None and res.data["links"][0]["verdict"] == "healthy", summary


async def test_gpu_health_flags_xid_and_temperature(make_engine, metrics_lab):
    metrics_lab.set_gpus("gpu011", {2: {"xid": 79, "temp": 91}})
    metrics_lab.wait_value('DCGM_FI_DEV_XID_ERRORS{Hostname="gpu011",gpu="2"}', 79)
    res, outcome, summary = await run(await make_engine(), "gpu-health gpu[011-012]")
    assert outcome == "ok" and len(res.data["gpus"]) == 16
    flagged = [(g["node"], g["gpu"], g["flags"]) for g in res.data["gpus"] if g["flags"]]
    assert flagged == [("gpu011", 2, ["temp 91 C >= 85", "XID 79: GPU fell off the bus"])]
    assert summary.startswith("16 GPUs on 2 node(s): 1 flagged (gpu011)")


async def test_fabric_health_ranks_a_bad_port_first(make_engine, metrics_lab):
    metrics_lab.add_counters("gpu013", "mlx5_1", symbol_error=5000)
    metrics_lab.wait_value('increase(node_infiniband_symbol_error_total{instance="gpu013",device="mlx5_1"}[12m])', 5000)
    res, outcome, _ = await run(await make_engine(), "fabric-health --top 5")
    assert res.data["total_ports"] == 128
    top = res.data["ports"][0]
    assert (top["port"], top["peer"], top["verdict"]) == ("gpu013:mlx5_1:1", "leaf01:13", "bad cable")


async def test_query_range_gives_chart_data_from_backfilled_history(make_engine):
    res, outcome, _ = await run(
        await make_engine(),
        "query 'node_infiniband_port_transmit_wait_total{instance=\"gpu001\"}' --range 3h --step 1m",
    )
    assert outcome == "ok" and len(res.data["series"]) == 2
    assert all(len(s["points"]) >= 170 for s in res.data["series"])
    res, outcome, summary = await run(await make_engine(), "query 'sum(rate(node_infiniband_symbol_error_total[5m])'")
    assert outcome == "failed" and summary.startswith("prometheus rejected the query:") and "parse error" in summary


async def test_a_switch_end_without_counters_is_named_as_missing(make_engine, metrics_lab):
    res, outcome, summary = await run(await make_engine(), "triage-cable gpu015:mlx5_1:1")
    (link,) = res.data["links"]
    assert link["link"] == "gpu015:mlx5_1:1 <-> leaf01:15" and link["verdict"] == "healthy"
    assert link["missing"] == ["leaf01:15: no counters (no counter source for switch ports is configured)"]
    assert "from what was available" in summary


async def test_node_health_joins_gpus_and_ports_and_names_a_silent_exporter(make_engine, metrics_lab):
    metrics_lab.set_gpus("gpu014", {5: {"temp": 95}})
    metrics_lab.add_counters("gpu014", "mlx5_1", symbol_error=900)
    metrics_lab.set_dcgm_absent("gpu016")  # its scrapes fail: Prometheus marks the series stale
    try:
        metrics_lab.wait_value('DCGM_FI_DEV_GPU_TEMP{Hostname="gpu014",gpu="5"}', 95)
        metrics_lab.wait_value(
            'increase(node_infiniband_symbol_error_total{instance="gpu014",device="mlx5_1"}[12m])', 900
        )
        metrics_lab.wait_for('up{job="dcgm",instance="gpu016"} == 0', bool)
        metrics_lab.wait_for('DCGM_FI_DEV_GPU_TEMP{Hostname="gpu016"}', lambda r: r == [])
        res, outcome, summary = await run(await make_engine(), "node-health gpu[014-016]")
    finally:
        metrics_lab.set_dcgm_absent("gpu016", False)
    rows = {n["node"]: n for n in res.data["nodes"]}
    assert rows["gpu014"]["status"] == "attention"
    assert (
        rows["gpu014"]["gpu_flags"] == "gpu5: temp 95 C >= 85" and rows["gpu014"]["port_flags"] == "mlx5_1: bad cable"
    )
    assert rows["gpu015"]["status"] == "ok"
    assert rows["gpu016"]["gpu_flags"] == "no DCGM metrics" and rows["gpu016"]["port_flags"] == "ok"
    assert summary == "3 node(s): 2 need attention (gpu[014,016])"
