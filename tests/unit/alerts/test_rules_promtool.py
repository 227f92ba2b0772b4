"""The shipped alerting rules: promtool's own unit tests pass, and every rule gives dcops what it
needs (a node label, a severity, a runbook naming dcops actions, an entry in the alert mapping)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from dcops.actions.alerts.mapping import load_mapping

HERE = Path(__file__).parent
RULES = Path(__file__).resolve().parents[3] / "actions" / "alerts" / "gpu-cluster.rules.yml"


def _rules() -> list[dict]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def test_promtool_unit_tests_pass() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus (.ci/apt-packages.txt)"
    out = subprocess.run(
        [promtool, "test", "rules", str(HERE / "gpu-cluster.rules.test.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_promtool_catches_a_broken_expectation(tmp_path: Path) -> None:
    """The test file really checks labels: changing one expected node makes promtool fail."""
    text = (HERE / "gpu-cluster.rules.test.yml").read_text().replace("node: gpu017", "node: gpu099", 1)
    text = text.replace("../../../actions/alerts/gpu-cluster.rules.yml", str(RULES))
    bad = tmp_path / "bad.test.yml"
    bad.write_text(text)
    out = subprocess.run(["promtool", "test", "rules", str(bad)], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "gpu099" in out.stdout + out.stderr


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r["alert"])
def test_every_rule_is_actionable(rule: dict) -> None:
    assert rule["labels"]["severity"] in ("warning", "critical")
    assert rule["annotations"]["runbook"].startswith("dcops: ")
    assert "node" in rule["expr"] or "{{ $labels.node }}" in rule["annotations"]["summary"]
    assert load_mapping().for_alert({"alertname": rule["alert"], "node": "gpu001"}) is not None, (
        f"{rule['alert']} has no entry in the alert mapping"
    )
