"""The metric and cable actions through the real engine on the simulated cluster (the demo's
story: a degrading cable on gpu023, a flapping link on gpu031, congestion on gpu040, XID 79 on
gpu017). The lab tests in tests/integration/metrics drive the same actions on real services."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.actions import load_actions, parse_command
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig
from dcops.actions.engine import Engine
from dcops.actions.events import Result
from dcops.actions.rbac import Policy
from dcops.actions.request import Request
from dcops.actions.sim import ManualClock, SimCluster
from dcops.actions.store.sqlite import SqliteStore


@pytest.fixture
async def eng(tmp_path: Path):
    load_actions()
    cfg = DcopsConfig(
        cluster=ClusterSection(name="sim", demo=True), audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}")
    )
    e = Engine(
        cfg, SimCluster(nodes=64, clock=ManualClock()).backends(), SqliteStore(str(tmp_path / "a.db")), Policy.demo()
    )
    await e.start()
    yield e
    await e.aclose()


async def run(eng: Engine, command: str) -> Result:
    cmd = parse_command(command)
    r = await eng.submit(Request(principal="unix:root", channel="cli", action=cmd.action, params=cmd.params))
    results = [ev async for ev in r.events() if isinstance(ev, Result)]
    finished = await r.wait()
    assert finished.outcome in ("ok", "dry-run"), finished.summary
    return results[-1]


async def fails(eng: Engine, command: str) -> str:
    """The one-line reason a run failed (errors raised inside an action end the run as failed)."""
    cmd = parse_command(command)
    r = await eng.submit(Request(principal="unix:root", channel="cli", action=cmd.action, params=cmd.params))
    finished = await r.wait()
    assert finished.outcome == "failed"
    assert "\n" not in finished.summary
    return finished.summary


async def test_bad_cable_on_gpu023(eng):
    res = await run(eng, "triage-cable gpu023:mlx5_0:1")
    (link,) = res.data["links"]
    assert link["verdict"] == "bad cable" and link["suspect"] == "gpu023:mlx5_0:1"
    assert any("mlxlink raw BER" in e for e in link["evidence"])  # SSH evidence was used
    near, far = link["ends"]
    assert near["port"] == "gpu023:mlx5_0:1" and near["growth"]["12m"]["symbol errors"] > 1000
    assert near["mlxlink"]["raw_ber"] >= 1e-6 and near["ibstat"]["state"] == "Active"
    assert far["port"] == "ibsw-r03-a:7" and far["mlxlink"] is None and far["growth"]["125m"]["link downed"] == 0
    assert link["jobs"]["gpu023"]  # the job that will suffer
    drain = [f for f in res.data["followups"] if f.startswith("drain ")]
    assert drain == ['drain gpu023 --reason "triage-cable: bad cable gpu023:mlx5_0:1 <-> ibsw-r03-a:7"']
    for followup in res.data["followups"]:  # submit-able as typed
        assert parse_command(followup).action in ("drain", "reset-counters")


async def test_flapping_link_on_gpu031(eng):
    res = await run(eng, "triage-cable gpu031:mlx5_0")
    (link,) = res.data["links"]
    assert link["verdict"] == "flapping" and "both ends" in link["evidence"][0]


async def test_congestion_on_gpu040_is_not_a_fault(eng):
    res = await run(eng, "triage-cable gpu040:mlx5_0:1")
    (link,) = res.data["links"]
    assert link["verdict"] == "congestion" and res.data["followups"] == []


async def test_a_node_triages_all_its_ports(eng):
    res = await run(eng, "triage-cable gpu001")
    assert [l["verdict"] for l in res.data["links"]] == ["healthy", "healthy"]


async def test_ssh_refused_on_a_down_node_still_gives_a_verdict(eng):
    res = await run(eng, "triage-cable gpu009:mlx5_0:1")  # the story's hung node: SSH refused
    (link,) = res.data["links"]
    assert link["verdict"] == "healthy"
    assert any("gpu009:mlx5_0:1: no mlxlink/ibstat" in m and "refused" in m for m in link["missing"])
    assert "missing" in res.summary


async def test_auto_ranks_the_story_links_worst_first(eng):
    res = await run(eng, "triage-cable --auto --top 5")
    verdicts = [(l["a"], l["verdict"]) for l in res.data["links"]]
    assert verdicts[:2] in (
        [("gpu023:mlx5_0:1", "bad cable"), ("gpu031:mlx5_0:1", "flapping")],
        [("gpu031:mlx5_0:1", "flapping"), ("gpu023:mlx5_0:1", "bad cable")],
    )
    assert ("gpu040:mlx5_0:1", "congestion") in verdicts


async def test_unknown_port_is_a_clear_error(eng):
    assert "gpu023 has gpu023:mlx5_0:1, gpu023:mlx5_1:1" in await fails(eng, "triage-cable gpu023:mlx5_9")
    assert "give a port" in await fails(eng, "triage-cable")


async def test_gpu_health_flags_the_lost_gpu(eng):
    res = await run(eng, "gpu-health gpu[016-017] --flagged")
    assert [(g["node"], g["gpu"]) for g in res.data["gpus"]] == [("gpu017", 3)]
    assert any("XID 79" in f for f in res.data["gpus"][0]["flags"])


async def test_fabric_health_ranks_the_story_ports_first(eng):
    res = await run(eng, "fabric-health --top 3")
    assert {p["port"]: p["verdict"] for p in res.data["ports"]} == {
        "gpu023:mlx5_0:1": "bad cable",
        "gpu031:mlx5_0:1": "flapping",
        "gpu040:mlx5_0:1": "congestion",
    }
    assert res.data["total_ports"] == 128
    mine = await run(eng, "fabric-health gpu[039-040]")
    assert [p["port"] for p in mine.data["ports"]] == [
        "gpu040:mlx5_0:1",
        "gpu039:mlx5_0:1",
        "gpu039:mlx5_1:1",
        "gpu040:mlx5_1:1",
    ]


async def test_node_health_combines_gpu_and_ports(eng):
    res = await run(eng, "node-health gpu[022-023]")
    status = {n["node"]: n for n in res.data["nodes"]}
    assert status["gpu022"]["status"] == "ok"
    assert status["gpu023"]["status"] == "attention" and "bad cable" in status["gpu023"]["port_flags"]


async def test_reset_counters_is_one_port_only(eng):
    assert "never reset fabric-wide" in await fails(eng, "reset-counters gpu[023-024] --device mlx5_0 --dry-run")
    res = await run(eng, "reset-counters gpu023 --device mlx5_0 --dry-run")
    assert res.data["argv"] == ["mlxlink", "-d", "mlx5_0", "--pc"]


async def test_reset_counters_runs_on_the_one_node_after_confirmation(eng):
    cmd = parse_command("reset-counters gpu023 --device mlx5_0")
    r = await eng.submit(
        Request(principal="unix:root", channel="cli", action=cmd.action, params=cmd.params, confirm="gpu023")
    )
    results = [ev async for ev in r.events() if isinstance(ev, Result)]
    assert (await r.wait()).outcome == "ok"
    assert results[-1].data == {"port": "gpu023:mlx5_0:1", "followups": ["triage-cable gpu023:mlx5_0:1"]}
