"""`--json` on every command that prints something, through the real entry point: lists are one
JSON array, single answers one object; `audit head/export/migrate` go through the engine (RBAC and
an audit record of their own), as `audit list` does."""

from __future__ import annotations

import json

import pytest

from .test_cli import dcops, env  # noqa: F401  (env is a fixture)


@pytest.mark.parametrize(
    "args",
    [
        ("--demo", "--json", "actions"),
        ("--demo", "actions", "--json"),
        ("--demo", "approvals", "--json"),
        ("--demo", "audit", "list", "--json"),
        ("--demo", "alerts", "--json"),
    ],
)
def test_lists_are_one_json_array(env, args) -> None:
    assert dcops(env, "--demo", "run", "ping").returncode == 0
    p = dcops(env, *args)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)  # one document, not JSON Lines
    assert isinstance(out, list)


def test_actions_and_help_json(env) -> None:
    names = {a["name"] for a in json.loads(dcops(env, "--demo", "--json", "actions").stdout)}
    assert {"drain", "audit-head", "audit-export"} <= names
    viewer = {a["name"] for a in json.loads(dcops(env, "--demo", "--as", "unix:viewer", "--json", "actions").stdout)}
    assert "drain" not in viewer and "nodes" in viewer
    h = json.loads(dcops(env, "--demo", "help", "drain", "--json").stdout)
    assert h["name"] == "drain" and "reason" in h["params"]["properties"] and "usage: drain" in h["usage"]


def test_audit_head_goes_through_the_engine_and_is_audited(env) -> None:
    head = json.loads(dcops(env, "--demo", "audit", "head", "--json").stdout)
    assert head["head"] == f"{head['seq']}:{head['hash']}" and len(head["hash"]) == 64
    plain = dcops(env, "--demo", "audit", "head").stdout.strip()
    assert plain.split(":")[0].isdigit() and int(plain.split(":")[0]) > head["seq"]  # the first head was recorded
    verified = dcops(env, "--demo", "audit", "verify", "--expect-head", head["head"])
    assert verified.returncode == 0, verified.stdout + verified.stderr
    actions = [r["action"] for r in json.loads(dcops(env, "--demo", "audit", "list", "--json").stdout)]
    assert "audit-head" in actions


def test_audit_export_is_json_lines_and_audited(env) -> None:
    assert dcops(env, "--demo", "run", "ping").returncode == 0
    out = dcops(env, "--demo", "audit", "export").stdout.splitlines()
    records = [json.loads(line) for line in out]
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert records[-1]["action"] == "audit-export"  # the export recorded itself first


def test_audit_head_and_export_are_rbac_gated(env, tmp_path) -> None:
    pol = tmp_path / "p.toml"
    pol.write_text('[roles.r]\nactions = ["ping"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["r"]\n')
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[cluster]\nname = "x"\n[audit]\nurl = "sqlite:///{tmp_path}/a.db"\n[policy]\npath = "{pol}"\n')
    for args in (("audit", "head"), ("audit", "export"), ("audit", "migrate", "postgresql://u:pw@127.0.0.1:1/x")):
        p = dcops(env, "--config", str(cfg), *args)
        assert p.returncode == 4 and "denied" in p.stderr and "Traceback" not in p.stderr, (args, p.stderr)


def test_audit_migrate_bad_url_is_2_and_json_dry_run(env) -> None:
    p = dcops(env, "--demo", "audit", "migrate", "sqlite:///elsewhere.db", "--json")
    assert p.returncode == 2 and "postgresql://" in p.stderr
    dry = dcops(env, "--demo", "--json", "run", "audit-migrate", "postgresql://u:secret@127.0.0.1:1/x", "--dry-run")
    assert dry.returncode == 0 and "would copy" in dry.stdout
    export = dcops(env, "--demo", "audit", "export").stdout
    assert "secret" not in export  # the password in the URL is masked


def test_deny_json(env) -> None:
    ask = dcops(env, "--demo", "--as", "unix:oncall", "--json", "run", "reimage", "gpu003", "--confirm", "1")
    assert ask.returncode == 3
    approval = json.loads(ask.stdout)["approval_id"]
    p = dcops(env, "--demo", "--as", "unix:admin", "deny", approval, "--reason", "not now", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {
        "approval_id": approval,
        "status": "denied",
        "action": "reimage",
        "requester": "unix:oncall",
        "reason": "not now",
    }
