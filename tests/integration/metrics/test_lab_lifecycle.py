"""The metrics lab's own contract: start over leftovers (even without pid files) is clean and
idempotent, stop leaves nothing behind (no process, no file). Runs a small 2-node lab in its own
DCOPS_LAB_DIR so the session's lab is untouched."""

from __future__ import annotations

import shutil

import pytest

from tests.lab.metrics import lab

pytestmark = pytest.mark.lab


def test_start_twice_then_stop_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("DCOPS_LAB_DIR", str(tmp_path / "lab"))
    first = lab.start(nodes=2, history_hours=0.5)
    first_pids = list(lab._pids(first.directory).values())
    assert len(first_pids) == 4 and all(lab._alive(p) for p in first_pids)  # prometheus, dcgm, 2 node_exporters
    assert first.query("count(up == 1)")[0]["value"][1] == "4"

    shutil.rmtree(first.directory / "pids")  # a crashed run may leave processes but no pid files
    second = lab.start(nodes=2, history_hours=0.5)  # over the leftovers of the first
    assert not any(lab._alive(p) for p in first_pids)
    assert lab.status() == second and len(second.query("up")) == 4
    second_pids = list(lab._pids(second.directory).values())
    assert len(second_pids) == 4 and not set(second_pids) & set(first_pids)

    assert lab.stop() is True
    assert not (tmp_path / "lab" / "metrics").exists()
    assert not any(lab._alive(p) for p in second_pids)
    assert lab.status() is None and lab.stop() is False
