"""The alert mapping is data: entries match on label globs, commands are filled word by word, and
a label value can never smuggle in an option or a second action."""

from __future__ import annotations

from pathlib import Path

import pytest

import dcops.actions.ops  # noqa: F401 - registers the actions the grammar knows
from dcops.actions import parse_command
from dcops.actions.alerts.mapping import load_mapping, render_words
from dcops.actions.errors import ConfigError


def test_xid79_maps_to_gpu_health_jobs_and_a_drain_naming_the_alert() -> None:
    pb = load_mapping().for_alert({"alertname": "GpuXidFellOffBus", "node": "gpu003", "gpu": "3"}, node="gpu003")
    assert pb is not None
    assert pb.evidence == [["gpu-health", "gpu003"], ["jobs", "--node", "gpu003"]]
    drain = pb.primary
    assert drain is not None and drain.action == "drain"
    cmd = parse_command(drain.command)  # every suggestion parses in the shared grammar
    assert cmd.params["nodes"] == "gpu003" and "GpuXidFellOffBus" in cmd.params["reason"]
    assert cmd.params["silence"] is True and cmd.params["requeue_jobs"] is True


@pytest.mark.parametrize(
    "labels",
    [
        {"alertname": "GpuXidMemory", "node": "n1", "gpu": "2"},
        {"alertname": "GpuEccDoubleBit", "node": "n1", "gpu": "2"},
        {"alertname": "IbSymbolErrors", "node": "n1", "device": "mlx5_0", "port": "1"},
        {"alertname": "NodeDown", "node": "n1"},
        {"alertname": "SomethingSiteSpecific", "node": "n1"},
    ],
)
def test_every_suggestion_and_evidence_line_parses(labels: dict[str, str]) -> None:
    import dcops.actions.ops  # noqa: F401 - registers the actions the grammar knows

    pb = load_mapping().for_alert(labels, node="n1")
    assert pb is not None and pb.actions, labels
    for words in [*pb.evidence, *(s.command for s in pb.actions)]:
        parse_command(words)
    assert not pb.skipped


def test_a_label_value_cannot_become_an_option_or_a_second_word() -> None:
    with pytest.raises(ValueError, match="would become an option"):
        render_words("drain {node} --reason x", {"node": "--cancel-jobs"})
    words = render_words('drain {node} --reason "alert {alertname}"', {"node": "gpu1", "alertname": "X --cancel-jobs"})
    assert words == ["drain", "gpu1", "--reason", "alert X --cancel-jobs"]  # stays inside the reason
    with pytest.raises(ValueError, match="control"):
        render_words("drain {node}", {"node": "gpu1\nresume gpu2"})


def test_a_missing_label_drops_that_command_only() -> None:
    pb = load_mapping().for_alert({"alertname": "GpuXidMemory", "node": "gpu5"}, node="gpu5")  # no gpu label
    assert pb is not None
    assert [s.action for s in pb.actions] == ["validate"]
    assert any("no 'gpu' label" in s for s in pb.skipped)


def test_site_entries_come_first_and_bad_files_are_one_line(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        '[[alert]]\nmatch = { alertname = "GpuXid*", cluster = "east" }\n'
        'evidence = ["nodes {node}"]\n[[alert.action]]\nlabel = "Look"\ncommand = "nodes {node}"\n'
    )
    m = load_mapping(str(site))
    assert (
        m.for_alert({"alertname": "GpuXidMemory", "cluster": "east", "node": "a1"}, node="a1").primary.label == "Look"
    )
    assert (
        m.for_alert(
            {"alertname": "GpuXidMemory", "cluster": "west", "node": "a1", "gpu": "1"}, node="a1"
        ).primary.action
        == "drain"
    )
    bad = tmp_path / "bad.toml"
    bad.write_text("[[alert]]\nmatch = {}\n")
    with pytest.raises(ConfigError, match=r"bad.toml: alert.0.match"):
        load_mapping(str(bad))
    bad.write_text('[[alert]]\nmatch = { alertname = "x" }\nevidence = ["nodes \'{node}"]\n')
    with pytest.raises(ConfigError, match="No closing quotation"):
        load_mapping(str(bad))
    with pytest.raises(ConfigError, match="does not exist"):
        load_mapping(str(tmp_path / "missing.toml"))
