"""Attack: act as someone else. The principal comes from the real uid of the process, never from
``LOGNAME``/``USER``/``getpass``; ``--as`` only on the built-in demo cluster; ``[identity] map``
renames accounts and is validated. Through the real ``dcops`` entry point where it matters, with
the audit trail read back."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dcops.actions.config import parse_config
from dcops.actions.config.identity import IdentitySection
from dcops.actions.errors import ConfigError, DeniedError
from dcops.actions.identity import local_principal, login_name

ROOT = Path(__file__).resolve().parents[3]
ME = pwd.getpwuid(os.getuid()).pw_name
VICTIM = "dana" if ME != "dana" else "erin"


# ------------------------------------------------------------------ the resolver itself
def test_the_principal_ignores_every_environment_variable(monkeypatch) -> None:
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(var, VICTIM)
    assert local_principal() == f"unix:{ME}"
    assert login_name() == ME


def test_a_uid_without_a_passwd_entry_acts_as_its_number() -> None:
    free = next(u for u in range(4_000_000, 4_001_000) if not _has_pw(u))
    assert local_principal(uid=free) == f"unix:uid{free}"


def test_the_map_renames_and_refuses_unmapped_when_told() -> None:
    section = IdentitySection(map={ME: "unix:john.doe"})
    assert local_principal(section) == "unix:john.doe"
    strict = IdentitySection(map={"someone-else": "unix:x"}, unmapped="refuse")
    with pytest.raises(DeniedError, match=f"the unix account {ME} has no entry in \\[identity\\] map"):
        local_principal(strict)


@pytest.mark.parametrize(
    "identity, needle",
    [
        ({"mapp": {}}, "identity.mapp: Extra inputs are not permitted"),
        ({"map": {"jdoe": "john.doe"}}, "a mapped principal must look like unix:NAME"),
        ({"map": {"jdoe": "slack:U1"}}, "a mapped principal must look like unix:NAME"),
        ({"map": {"jdoe": "group:oncall"}}, "a mapped principal must look like unix:NAME"),
        ({"map": {"bad name": "unix:x"}}, "is not a unix login name"),
        ({"unmapped": "allow"}, "identity.unmapped"),
    ],
)
def test_bad_identity_tables_are_config_errors(identity, needle) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config({"identity": identity}, source="c.toml")
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def _has_pw(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


# ------------------------------------------------------------------ through the CLI
POLICY = f"""
[roles.admin]
actions = ["*"]
approve = ["*"]

[roles.viewer]
actions = ["audit"]

[[bindings]]
principals = ["unix:{VICTIM}", "unix:john.doe"]
roles = ["admin"]

[[bindings]]
principals = ["unix:*"]
except = ["unix:{VICTIM}", "unix:john.doe"]
roles = ["viewer"]
"""


@pytest.fixture
def site(tmp_path: Path) -> dict:
    """A real (non-demo) config: static nodes, our policy, an audit log; and a clean environment."""
    (tmp_path / "policy.toml").write_text(POLICY)
    cfg = tmp_path / "real.toml"
    cfg.write_text(
        f'[cluster]\nname = "prod"\n[policy]\npath = "policy.toml"\n'
        f'[audit]\nurl = "sqlite:///{tmp_path}/audit.db"\n'
        f'[[nodes]]\nnames = "gpu[001-004]"\npartitions = ["gpu"]\n'
    )
    env = dict(
        os.environ,
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    env.pop("DCOPS_CONFIG", None)
    return {"cfg": cfg, "env": env, "dir": tmp_path}


def dcops(
    site: dict, *args: str, env: dict | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("dcops")
    cmd = [*prefix, exe] if exe and not prefix else [*prefix, sys.executable, "-m", "dcops.console.cli"]
    return subprocess.run([*cmd, *args], cwd=ROOT, env=env or site["env"], text=True, capture_output=True, timeout=120)


def audit(site: dict) -> list[dict]:
    p = dcops(site, "--config", str(site["cfg"]), "--json", "audit", "list", "--limit", "1000")
    assert p.returncode == 0, p.stderr
    return sorted(json.loads(p.stdout), key=lambda r: r["seq"])


def test_logname_and_user_do_not_change_who_acts(site) -> None:
    env = dict(site["env"], LOGNAME=VICTIM, USER=VICTIM, USERNAME=VICTIM)
    p = dcops(site, "--config", str(site["cfg"]), "run", "ping", env=env)
    assert p.returncode == 4 and "Traceback" not in p.stderr
    assert f"no role of unix:{ME} allows ping" in p.stderr  # the viewer role, not the victim's admin
    recs = [r for r in audit(site) if r["action"] == "ping"]
    assert [r["event"] for r in recs] == ["received", "denied"]
    assert {r["principal"] for r in recs} == {f"unix:{ME}"}


def test_as_is_refused_without_demo_and_the_attempt_is_audited(site) -> None:
    p = dcops(site, "--config", str(site["cfg"]), "--as", f"unix:{VICTIM}", "run", "ping")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "--as is only accepted in demo mode" in p.stderr
    recs = audit(site)
    refusal = [r for r in recs if r["event"] == "denied" and r["action"] == "ping"]
    assert len(refusal) == 1 and refusal[0]["principal"] == f"unix:{ME}"
    assert refusal[0]["params"]["as"] == f"unix:{VICTIM}" and "only accepted in demo mode" in refusal[0]["detail"]
    assert not [r for r in recs if r["event"] == "started" and r["action"] == "ping"]
    # the TUI entry point refuses it the same way (and never starts without a terminal)
    for cmd in ("tui", "slack", "actions"):
        t = dcops(site, "--config", str(site["cfg"]), "--as", f"unix:{VICTIM}", cmd)
        assert t.returncode == 2 and "--as is only accepted in demo mode" in t.stderr, (cmd, t.stderr)


def test_as_with_a_malformed_principal_is_bad_input_even_in_demo(site) -> None:
    p = dcops(site, "--demo", "--as", "root", "run", "ping")
    assert p.returncode == 2 and "give a principal such as unix:alice" in p.stderr


def test_self_approval_through_a_spoofed_logname_is_refused(site) -> None:
    cfg = site["dir"] / "approve.toml"
    (site["dir"] / "policy2.toml").write_text("""
[roles.all]
actions = ["*"]
approval = ["ping"]
approve = ["*"]
[[bindings]]
principals = ["unix:*"]
roles = ["all"]
""")
    cfg.write_text(site["cfg"].read_text().replace("policy.toml", "policy2.toml"))
    asked = dcops(site, "--config", str(cfg), "run", "ping")
    assert asked.returncode == 3, asked.stderr
    aid = asked.stderr.split("approve ")[1].split("`")[0]
    env = dict(site["env"], LOGNAME=VICTIM, USER=VICTIM)
    p = dcops(site, "--config", str(cfg), "approve", aid, env=env)
    assert p.returncode == 4 and f"unix:{ME} asked for {aid} and cannot approve it" in p.stderr
    refused = [r for r in audit(site) if r["run_id"] == aid and r["event"] == "approval-refused"]
    assert refused and refused[-1]["principal"] == f"unix:{ME}"


def test_identity_map_through_the_cli(site) -> None:
    cfg = site["dir"] / "mapped.toml"
    cfg.write_text(site["cfg"].read_text() + f'[identity]\nmap = {{ "{ME}" = "unix:john.doe" }}\n')
    p = dcops(site, "--config", str(cfg), "run", "ping")
    assert p.returncode == 0 and "for unix:john.doe" in p.stdout
    strict = site["dir"] / "strict.toml"
    strict.write_text(site["cfg"].read_text() + '[identity]\nmap = { "someone" = "unix:x" }\nunmapped = "refuse"\n')
    p = dcops(site, "--config", str(strict), "run", "ping")
    assert p.returncode == 4 and "has no entry in [identity] map" in p.stderr
    refusal = [r for r in audit(site) if r["event"] == "denied" and r["action"] == "ping"]
    assert refusal and refusal[-1]["principal"] == f"unix:{ME}"
    bad = site["dir"] / "bad.toml"
    bad.write_text(site["cfg"].read_text() + '[identity]\nmap = { "jdoe" = "john.doe" }\n')
    p = dcops(site, "--config", str(bad), "run", "ping")
    assert p.returncode == 2 and "must look like unix:NAME" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.skipif(os.getuid() != 0 or not shutil.which("setpriv"), reason="needs root to run as another uid")
def test_another_uid_acts_as_itself_whatever_logname_says(site) -> None:
    """Run the CLI as uid nobody with LOGNAME=root: it must act as unix:nobody."""
    nobody = pwd.getpwnam("nobody")
    os.chmod(site["dir"], 0o777)
    for path in site["dir"].iterdir():
        os.chmod(path, 0o777 if path.is_dir() else 0o666)
    env = dict(site["env"], LOGNAME="root", USER="root", HOME=str(site["dir"]))
    prefix = ("setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups")
    p = dcops(site, "--config", str(site["cfg"]), "run", "ping", env=env, prefix=prefix)
    if p.returncode != 0 and "Permission denied" in p.stderr:
        pytest.skip(f"uid nobody cannot read the worktree here: {p.stderr.strip()[:200]}")
    assert p.returncode == 0, p.stderr
    assert "for unix:nobody" in p.stdout


def test_python_m_console_tui_takes_the_uid_and_validates_as(monkeypatch) -> None:
    import dcops.console.tui.__main__ as entry

    seen: dict = {}
    monkeypatch.setattr(
        entry, "run_tui", lambda config, principal, theme: seen.update(p=principal, demo=config.cluster.demo) or 0
    )
    monkeypatch.setenv("LOGNAME", VICTIM)
    monkeypatch.setenv("USER", VICTIM)

    class Terminal:  # the entry point refuses to start without one
        @staticmethod
        def isatty() -> bool:
            return True

    monkeypatch.setattr(entry.sys, "stdin", Terminal())
    monkeypatch.setattr(entry.sys, "stdout", Terminal())
    assert entry.main([]) == 0 and seen == {"p": f"unix:{ME}", "demo": True}
    assert entry.main(["--as", "unix:oncall"]) == 0 and seen["p"] == "unix:oncall"
    with pytest.raises(SystemExit) as exc:
        entry.main(["--as", "oncall"])
    assert exc.value.code == 2
