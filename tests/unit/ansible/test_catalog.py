"""The approved-playbook catalog: names not paths, declared variables only, typed values, and
metadata that cannot declare connection variables. Pure logic over files in tmp_path."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from dcops.actions.ansible import catalog
from dcops.actions.backends.ansible_inventory import build_inventory
from dcops.actions.backends.ansible_translate import diff_text, recap, translate
from dcops.actions.config.ssh import SshSection
from dcops.actions.errors import ConfigError, UsageError

PLAY = "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n"


@pytest.fixture
def pdir(tmp_path: Path) -> Path:
    d = tmp_path / "pb"
    d.mkdir()
    (d / "site.yml").write_text(PLAY)
    (d / "drv.yml").write_text(PLAY)
    (d / "drv.meta.yml").write_text(
        "description: driver\nvars:\n  version: {type: str, required: true, pattern: '^[0-9.]+$'}\n"
        "  reboot: {type: bool, default: false}\n  count: {type: int}\n  mode: {choices: [a, b]}\n"
        "  pkgs: {type: list}\n"
    )
    return d


def test_names_are_the_regular_yml_files_only(pdir: Path, tmp_path: Path) -> None:
    (pdir / ".hidden.yml").write_text(PLAY)
    (pdir / "Upper.yml").write_text(PLAY)
    (tmp_path / "outside.yml").write_text(PLAY)
    os.symlink(tmp_path / "outside.yml", pdir / "link.yml")
    (pdir / "sub").mkdir()
    (pdir / "sub" / "inner.yml").write_text(PLAY)
    assert catalog.names(pdir) == ["drv", "site"]
    for bad in ("link", "../outside", "sub/inner", "/etc/passwd", "site.yml", ".hidden", "Upper", "", "drv.meta"):
        with pytest.raises(UsageError, match="no approved playbook"):
            catalog.find(pdir, bad)


def test_hash_is_of_the_playbook_bytes(pdir: Path) -> None:
    assert catalog.find(pdir, "site").sha256 == hashlib.sha256(PLAY.encode()).hexdigest()
    (pdir / "site.yml").write_text(PLAY + "# edited\n")
    assert catalog.find(pdir, "site").sha256 != hashlib.sha256(PLAY.encode()).hexdigest()


def test_extra_vars_are_validated_and_typed(pdir: Path) -> None:
    pb = catalog.find(pdir, "drv")
    assert pb.extra_vars({"version": "550.1", "reboot": "yes", "count": "3", "mode": "b", "pkgs": "x,y"}) == {
        "version": "550.1",
        "reboot": True,
        "count": 3,
        "mode": "b",
        "pkgs": ["x", "y"],
    }
    assert pb.extra_vars({"version": "1"}) == {"version": "1", "reboot": False}
    for given, msg in [
        ({}, "version is required"),
        ({"version": "1;id"}, "does not match"),
        ({"version": "1", "count": "3.5"}, "not a int"),
        ({"version": "1", "count": True}, "not a int"),
        ({"version": "1", "reboot": "perhaps"}, "not a bool"),
        ({"version": "1", "mode": "c"}, "not one of"),
        ({"version": "1", "ansible_host": "evil"}, "unknown variable ansible_host; accepted: count"),
    ]:
        with pytest.raises(UsageError, match=msg):
            pb.extra_vars(given)
    with pytest.raises(UsageError, match="declares no variables"):
        catalog.find(pdir, "site").extra_vars({"a": "1"})


@pytest.mark.parametrize(
    "meta, msg",
    [
        ("vars:\n  ansible_ssh_common_args: {}\n", "cannot be declared"),
        ("vars:\n  hostvars: {}\n", "cannot be declared"),
        ("vars:\n  Bad-Name: {}\n", "cannot be declared"),
        ("vars:\n  x: {type: dict}\n", "type 'dict'"),
        ("vars:\n  x: {pattern: '('}\n", "bad pattern"),
        ("vars:\n  x: {regex: 'a'}\n", "accepted keys"),
        ("hosts: all\n", "expected a mapping"),
        ("vars: [\n", "cannot read"),
    ],
)
def test_bad_metadata_is_a_config_error(pdir: Path, meta: str, msg: str) -> None:
    (pdir / "site.meta.yml").write_text(meta)
    with pytest.raises(ConfigError, match=msg):
        catalog.find(pdir, "site")


def test_inventory_is_dcops_own_with_host_key_checking() -> None:
    ssh = SshSection(
        user="ops",
        known_hosts="/etc/dcops/kh",
        client_keys=["/etc/dcops/key"],
        hosts={"n2": "10.0.0.2"},
        ports={"n2": 2222},
    )
    inv = build_inventory(["n1", "n2"], ssh, {"n1": "n1.mgmt"})
    hosts, group = inv["all"]["hosts"], inv["all"]["vars"]
    assert hosts == {
        "n1": {"ansible_host": "n1.mgmt", "ansible_port": 22},
        "n2": {"ansible_host": "10.0.0.2", "ansible_port": 2222},
    }
    assert group["ansible_user"] == "ops" and group["ansible_ssh_private_key_file"] == "/etc/dcops/key"
    assert "StrictHostKeyChecking=yes" in group["ansible_ssh_common_args"]
    assert "UserKnownHostsFile=/etc/dcops/kh" in group["ansible_ssh_common_args"]


def test_runner_events_translate() -> None:
    ev = translate(
        {
            "event": "runner_on_failed",
            "event_data": {
                "host": "n1",
                "task": "t",
                "res": {"msg": "non-zero return code", "stderr": "boom\nGPU is lost", "rc": 15},
            },
        }
    )
    assert ev.status == "failed" and ev.message == "non-zero return code" and not ev.ignored
    ev = translate(
        {
            "event": "runner_on_failed",
            "event_data": {"host": "n1", "task": "t", "ignore_errors": True, "res": {"stderr": "x"}},
        }
    )
    assert ev.ignored
    ev = translate(
        {
            "event": "runner_on_ok",
            "event_data": {
                "host": "n1",
                "task": "t",
                "res": {"changed": True, "diff": [{"before": "a\n", "after": "b\n", "before_header": "/etc/f"}]},
            },
        }
    )
    assert ev.status == "changed" and "-a" in ev.diff and "+b" in ev.diff
    assert translate({"event": "verbose", "event_data": {}}) is None
    assert diff_text({"prepared": "x"}) == "x"
    stats = recap(
        {
            "ok": {"n1": 2},
            "changed": {"n1": 1},
            "failures": {"n2": 1},
            "dark": {"n3": 1},
            "processed": {"n1": 1, "n2": 1, "n3": 1, "n4": 1},
        }
    )
    assert stats["n1"].ok == 2 and stats["n2"].failed == 1 and stats["n3"].unreachable == 1 and stats["n4"].ok == 0


@pytest.mark.parametrize("value", ["{{ lookup('pipe', 'id') }}", "a{% for x in y %}", "{# c #}", "ok,{{ x }}"])
def test_values_are_never_templates(pdir: Path, value: str) -> None:
    """Ansible templates variables when a task uses them; a lookup would run on dcops' own machine."""
    (pdir / "free.yml").write_text(PLAY)
    (pdir / "free.meta.yml").write_text("vars:\n  note: {type: str}\n  items: {type: list}\n")
    pb = catalog.find(pdir, "free")
    with pytest.raises(UsageError, match="Jinja delimiters"):
        pb.extra_vars({"note": value})
    with pytest.raises(UsageError, match="Jinja delimiters"):
        pb.extra_vars({"items": value})
    assert pb.extra_vars({"note": "{ not a template }"}) == {"note": "{ not a template }"}
