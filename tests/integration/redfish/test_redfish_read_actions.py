"""Read actions through the real engine and the real adapter against the lab BMCs: inventory,
baseline check, power status; a BMC that never answers and one that answers 503 + Retry-After."""

from __future__ import annotations

import time

import pytest
from redfish_lab import ALLOW_ALL, dcops_config, run_action

from dcops.actions import open_engine
from dcops.actions.rbac import Policy
from dcops.actions.store.base import AuditQuery

pytestmark = pytest.mark.lab


@pytest.fixture
async def engine(lab, tmp_path):
    eng = await open_engine(dcops_config(lab, tmp_path, timeout=2.0), policy=Policy.from_toml(ALLOW_ALL))
    try:
        yield eng
    finally:
        await eng.aclose()


async def test_firmware_inventory_across_the_fleet(lab, engine):
    lab.set_firmware(["gpu004", "gpu011"], BIOS="2.2.0")
    run = await run_action(engine, "firmware", {"nodes": "gpu[001-016]"})
    fin = await run.wait()
    assert fin.outcome == "ok", fin.summary
    data = run.result.data
    assert len([n for n in data if n.startswith("gpu")]) == 16
    assert data["gpu004"]["BIOS"] == "2.2.0" and data["gpu001"]["BIOS"] == "2.3.1"
    assert "BIOS: 2.2.0 x2, 2.3.1 x14" in fin.summary
    assert run.result.table.columns == ["node", "component", "count", "version", "note"]
    rows = [r for r in run.result.table.rows if r[0] == "gpu[004,011]"]  # nodes that agree share rows
    assert ["gpu[004,011]", "GPU[0-7]", 8, "96.00.89.00.01", ""] in rows and len(rows) == 4  # GPUs in one row
    assert ["gpu[004,011]", "BIOS", 1, "2.2.0", ""] in rows
    assert len(run.result.table.rows) == 8  # 16 nodes, 2 shapes


async def test_firmware_check_against_a_baseline(lab, engine, tmp_path):
    lab.set_firmware(["gpu002"], BIOS="2.2.0")
    lab.set_firmware(["gpu003"], BMC="1.11.0")
    base = tmp_path / "baseline.toml"
    base.write_text('BMC = "1.10.0"\nBIOS = "2.3.1"\nGPU = "96.00.89.00.01"\nNIC = "22.1"\n')
    run = await run_action(engine, "firmware-check", {"nodes": "gpu[001-004]", "baseline": str(base)})
    fin = await run.wait()
    assert fin.outcome == "ok"
    nodes = run.result.data["nodes"]
    assert nodes["gpu002"]["BIOS"] == "outdated" and nodes["gpu003"]["BMC"] == "newer"
    assert nodes["gpu001"]["GPU5"] == "compliant" and nodes["gpu001"]["HCA0"] == "unknown"  # not in the baseline
    assert nodes["gpu001"]["NIC"] == "unknown"  # not on the BMC
    # HCA0 is not in the baseline and NIC is not on the BMC: nobody can be called a match
    assert fin.summary.startswith("0/4 nodes match") and "off baseline: gpu001, gpu002, gpu003, gpu004" in fin.summary
    base.write_text('BMC = "1.10.0"\nBIOS = "2.3.1"\nGPU = "96.00.89.00.01"\nHCA = "28.39.1002"\n')
    run = await run_action(engine, "firmware-check", {"nodes": "gpu[001-004]", "baseline": str(base)})
    fin = await run.wait()
    assert fin.summary.startswith("2/4 nodes match") and "off baseline: gpu002, gpu003" in fin.summary
    assert [
        "gpu[001,004]",
        "GPU[0-7]",
        "96.00.89.00.01",
        "96.00.89.00.01",
        "compliant",
        "by GPU",
    ] in run.result.table.rows  # nodes and siblings that agree share a row


async def test_power_status(lab, engine):
    run = await run_action(engine, "power-status", {"nodes": "gpu[001-003]"})
    await run.wait()
    assert run.result.data == {"gpu001": "On", "gpu002": "On", "gpu003": "On"}


async def test_bmc_that_never_answers_fails_only_its_node(lab, engine):
    lab.faults(["gpu010"], hang=True)
    try:
        started = time.monotonic()
        run = await run_action(engine, "firmware", {"nodes": "gpu[009-012]"})
        fin = await run.wait()
        elapsed = time.monotonic() - started
    finally:
        lab.faults(["gpu010"], hang=False)
    assert fin.outcome == "failed" and elapsed < 15  # bounded: 2 s timeout, one retry of the GET
    errors = run.result.data["errors"]
    assert list(errors) == ["gpu010"] and "no answer within 2 s" in errors["gpu010"]
    assert {n for n in run.result.data if n.startswith("gpu")} == {"gpu009", "gpu011", "gpu012"}
    steps = await engine.store.query(AuditQuery(run_id=run.run_id, event="step"))
    assert [(s.targets, s.outcome) for s in steps] == [(["gpu010"], "failed")]


async def test_503_with_retry_after_is_retried_by_the_action(lab, engine):
    lab.faults(["gpu001", "gpu002"], unavailable=2, retry_after=1)
    run = await run_action(engine, "firmware", {"nodes": "gpu[001-004]"})
    fin = await run.wait()
    assert fin.outcome == "ok", fin.summary
    served = lab.requests()["nodes"]
    assert served["gpu001"]["served_503"] == 2 and served["gpu002"]["served_503"] == 2


async def test_power_off_and_on_through_the_engine(lab, engine):
    run = await run_action(engine, "power", {"nodes": "gpu013", "op": "off"})  # destructive: confirmed
    fin = await run.wait()
    assert fin.outcome == "ok" and lab.status()["nodes"]["gpu013"]["power"] == "Off"
    assert run.result.data["ok"] == ["gpu013"]
    run = await run_action(engine, "power", {"nodes": "gpu013", "op": "on"})
    fin = await run.wait()
    assert fin.outcome == "ok" and lab.status()["nodes"]["gpu013"]["power"] == "On"
    steps = await engine.store.query(AuditQuery(action="power", event="step"))
    assert sorted(s.detail for s in steps) == ["ForceOff: On -> Off", "On: Off -> On"]
