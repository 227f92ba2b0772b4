"""The dcops Python API outside a notebook: who acts comes from the uid (not $USER), results are
plain data and escaped HTML, the sync client works from inside a running event loop, refusals are
the engine's exceptions, and every call is audited with channel api."""

from __future__ import annotations

import asyncio
import os
import pwd
from pathlib import Path

import pytest

import dcops
from dcops import html

ME = f"unix:{pwd.getpwuid(os.getuid()).pw_name}"
POLICY = f'[roles.r]\nkinds = ["read"]\n[[bindings]]\nprincipals = ["{ME}"]\nroles = ["r"]\n'


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    (tmp_path / "policy.toml").write_text(POLICY)
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[cluster]\nname = "api"\ndemo = true\n[audit]\nurl = "sqlite:///a.db"\n[policy]\npath = "policy.toml"\n'
    )
    return cfg


async def test_principal_is_the_uid_not_the_environment(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "root-impostor")
    monkeypatch.setenv("LOGNAME", "root-impostor")
    async with dcops.connect(config_file) as ops:
        assert ops.principal == ME == dcops.principal()
        r = await ops.run("ping")
        assert r.ok and r.summary == f"pong from api for {ME}"
        with pytest.raises(dcops.DeniedError, match=f"no role of {ME} allows drain"):
            await ops.run("drain", nodes="gpu001", reason="x", confirm=1)
        with pytest.raises(dcops.UsageError, match="unknown action"):
            await ops.run("frobnicate")
        audit = await ops.audit(action="drain")
        assert [(r["event"], r["channel"], r["principal"]) for r in audit.data][:2] == [
            ("denied", "api", ME),
            ("received", "api", ME),
        ]


async def test_results_are_plain_data_and_escaped_html(config_file: Path) -> None:
    async with dcops.connect(config_file) as ops:
        r = await ops.run("nodes gpu00[1-3]")
        assert [row["node"] for row in r.records()] == ["gpu001", "gpu002", "gpu003"]
        assert r.columns[0] == "node" and isinstance(r.rows[0], list)
        assert [i.node for i in r.items] == ["gpu001", "gpu002", "gpu003"]  # typed rows: lists stay lists
        assert all(isinstance(i.jobs, list) and isinstance(i.gpus_total, int) for i in r.items)
        assert "<td>gpu001</td>" in r._repr_html_()
        acts = await ops.actions()
        assert "drain" not in {a.name for a in acts} and "nodes" in {a.name for a in acts}
        assert "<th>action</th>" in acts._repr_html_()
    out = html.table(["a"], [["<script>alert(1)</script>"]], caption="<b>")
    assert "<script>" not in out and "&lt;script&gt;" in out and "&lt;b&gt;" in out
    assert "… 10 more rows" in html.table(["n"], [[i] for i in range(html.MAX_ROWS + 10)])


async def test_sync_client_inside_a_running_loop(config_file: Path) -> None:
    """Jupyter's loop is already running when a cell calls the sync client: it must not deadlock."""
    ops = await asyncio.to_thread(dcops.connect_sync, config_file)
    try:
        r = ops.run("ping")  # called on the loop's own thread, like a notebook cell
        assert r.ok
        kinds = [e.kind for e in ops.stream("ping")]
        assert kinds == ["run-started", "result", "run-finished"]
    finally:
        ops.close()


def test_connect_needs_a_config_or_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("DCOPS_CONFIG", raising=False)
    with pytest.raises(dcops.DcopsError, match="no config file"):
        dcops.connect_sync()
