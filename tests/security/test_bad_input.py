"""Bad input and a hostile environment through the real `dcops` process: one clear line, exit 2
(1 for an environment failure), never a traceback or exit 70 — and the request, once it reaches
the engine, is audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .cli import dcops, env_for, no_traceback


def one_line(p) -> str:  # noqa: ANN001
    no_traceback(p)
    lines = [line for line in p.stderr.splitlines() if line.startswith("dcops:")]
    assert len(lines) == 1, p.stderr
    return lines[0]


@pytest.mark.parametrize(
    "args, code, needle",
    [
        (("--demo", "audit", "list", "--since", "9999999999999d"), 2, "out of range"),
        (("--demo", "run", "audit", "--until", "99999999999999999999w"), 2, "out of range"),
        (("--demo", "run", "query", "up", "--range", "9999999999999d"), 2, "out of range"),
        (("--demo", "run", "query", "up", "--range", "1h", "--step", "1e308"), 2, "duration"),
        (("--demo", "audit", "list", "--limit", "99999999999999999999999"), 2, "--limit"),
        (("--demo", "audit", "export", "-o", "/nonexistent/x"), 2, "/nonexistent/x"),
        (("--demo", "run", "jobs", "--state", "bogus"), 2, "accepted: PENDING, RUNNING"),
        (("--demo", "run", "power", "gpu001", "sideways"), 2, "accepted: on, off, cycle or status"),
        (("--demo", "run", "cancel", "1", "--signal", "BOGUS"), 2, "accepted: HUP, INT"),
        (("--demo", "run", "power", "gpu001", "on", "--timeout", "inf", "--confirm", "1"), 2, "out of range"),
        (("--demo", "run", "power", "gpu001", "on", "--timeout", "1e308", "--confirm", "1"), 2, "out of range"),
        (("--demo", "tui", "--nodes", "0"), 2, "demo_nodes"),
        (("--demo", "tui"), 1, "needs a terminal"),
        (("--demo", "run", "drain", "gpu003", "--reason", "x", "--confirm"), 2, "--confirm needs a value"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, args, code: int, needle: str) -> None:
    p = dcops(env_for(tmp_path), *args)
    assert p.returncode == code, p.stderr
    assert needle in one_line(p)


def test_refused_requests_are_audited(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    for args in (
        ("run", "jobs", "--state", "bogus"),
        ("run", "cancel", "1", "--signal", "BOGUS"),
        ("run", "query", "up", "--range", "9999999999999d"),
    ):
        assert dcops(env, "--demo", *args).returncode == 2
    invalid = json.loads(dcops(env, "--demo", "--json", "audit", "list", "--event", "invalid").stdout)
    assert {r["action"] for r in invalid} >= {"jobs", "cancel", "query"}


def test_unwritable_log_and_data_dirs(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    p = dcops({**env, "XDG_STATE_HOME": str(blocker / "state")}, "--demo", "run", "ping")
    assert p.returncode == 1 and "log file" in one_line(p) and "XDG_STATE_HOME" in p.stderr
    p = dcops({**env, "XDG_DATA_HOME": str(blocker / "data")}, "--demo", "run", "ping")
    assert p.returncode == 1 and "audit database" in one_line(p)


def test_config_file_mistakes_name_file_key_value(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    cfg = tmp_path / "c.toml"
    cfg.write_bytes(b'[cluster]\nname = "\xff\xfe"\n')
    p = dcops(env, "--config", str(cfg), "run", "ping")
    assert p.returncode == 2 and "not UTF-8" in one_line(p) and str(cfg) in p.stderr
    cfg.write_text("[cluster]\ndemo = true\ndemo_nodes = 0\n")
    p = dcops(env, "--config", str(cfg), "run", "ping")
    assert p.returncode == 2 and "cluster.demo_nodes" in one_line(p)
    for template, needle in (
        ("{nmae}.lab", "{nmae}"),
        ("{name", "malformed"),
        ("{0}", "{0}"),
        ("{name.x}", "{name.x}"),
    ):
        cfg.write_text(f'[cluster]\ndemo = true\n[[nodes]]\nnames = "gpu[001-004]"\nssh_host = "{template}"\n')
        p = dcops(env, "--config", str(cfg), "run", "ping")
        assert p.returncode == 2 and "nodes.0.ssh_host" in one_line(p) and needle in p.stderr, template


def test_run_options_anywhere_among_the_words(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    assert dcops(env, "--demo", "run", "drain", "gpu001", "--reason", "x", "--yes").returncode == 0
    assert dcops(env, "--demo", "run", "drain", "gpu002", "--confirm=1", "--reason", "x").returncode == 0
    assert dcops(env, "--demo", "run", "drain", "--confirm", "gpu003", "gpu003", "--reason", "x").returncode == 0
    p = dcops(env, "--demo", "run", "drain", "gpu004", "--reason", "x", "--approval", "a-nope")
    no_traceback(p)
    assert p.returncode in (0, 1)


def test_actions_and_help_without_config_list_what_the_caller_may_run(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    everything = dcops(env, "actions")
    assert everything.returncode == 0 and "drain" in everything.stdout and "no config file" in everything.stderr
    policy = tmp_path / "config" / "dcops" / "policy.toml"
    policy.parent.mkdir(parents=True)
    policy.write_text('[roles.r]\nkinds = ["read"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["r"]\n')
    readers = dcops(env, "actions")
    names = {line.split()[0] for line in readers.stdout.splitlines()}
    assert readers.returncode == 0 and "nodes" in names and "drain" not in names and "reimage" not in names
    h = dcops(env, "help", "drain")
    assert h.returncode == 0 and "--reason" in h.stdout and "does not let you run drain" in h.stdout
    assert dcops(env, "help", "nope").returncode == 2


async def test_a_crash_while_preparing_is_audited(tmp_path: Path) -> None:
    from dcops.actions.backends.bundle import Backends
    from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig
    from dcops.actions.engine import Engine
    from dcops.actions.rbac import Policy
    from dcops.actions.request import Request
    from dcops.actions.store.base import AuditQuery
    from dcops.actions.store.sqlite import SqliteStore

    class Broken:
        async def nodes(self):  # noqa: ANN201
            raise KeyError("bug in an inventory")

    cfg = DcopsConfig(cluster=ClusterSection(name="t"), audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}"))
    eng = Engine(cfg, Backends(inventory=Broken()), SqliteStore(str(tmp_path / "a.db")), Policy.demo())
    with pytest.raises(KeyError):
        await eng.submit(
            Request(principal="unix:alice", channel="cli", action="power-status", params={"nodes": "gpu001"})
        )
    recs = await eng.store.query(AuditQuery(action="power-status"))
    await eng.aclose()
    assert {r.event for r in recs} == {"received", "finished"}
    assert any(r.outcome == "failed" and "internal error" in (r.error or "") for r in recs)
