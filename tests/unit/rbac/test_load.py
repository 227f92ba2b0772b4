"""Bad policy files stop dcops with one line that names the file, the key and what is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.actions.errors import ConfigError
from dcops.actions.rbac import Policy

GOOD_ROLE = '[roles.r]\nactions = ["drain"]\n'
GOOD_BINDING = '[[bindings]]\nprincipals = ["unix:a"]\nroles = ["r"]\n'


def load_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        Policy.load(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"policy file .*nope\.toml does not exist"):
        Policy.load(tmp_path / "nope.toml")


def test_bad_toml(tmp_path: Path) -> None:
    assert "is not valid TOML" in load_error(tmp_path, "roles = [\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "read_onyl = true\n",
            "read_onyl: unknown key 'read_onyl'; accepted keys here: read_only, groups, roles, bindings, deny",
        ),
        (
            GOOD_ROLE + "max_target = 3\n" + GOOD_BINDING,
            "roles.r.max_target: unknown key 'max_target'; accepted keys here: description, actions, kinds, scope, "
            "max_targets, allow_yes, approval, approve",
        ),
        (
            GOOD_ROLE + 'scope = { partition = ["gpu"] }\n' + GOOD_BINDING,
            "roles.r.scope.partition: unknown key 'partition'; accepted keys here: partitions, nodes, labels",
        ),
        (
            GOOD_ROLE + GOOD_BINDING + 'excpt = ["unix:b"]\n',
            "bindings[0].excpt: unknown key 'excpt'; accepted keys here: principals, except, roles",
        ),
    ],
)
def test_unknown_key_lists_accepted_keys(tmp_path: Path, text: str, expected: str) -> None:
    assert load_error(tmp_path, text).endswith(expected)


def test_bad_hostlist(tmp_path: Path) -> None:
    msg = load_error(tmp_path, GOOD_ROLE + 'scope = { nodes = "gpu[001-" }\n' + GOOD_BINDING)
    assert "roles.r.scope.nodes: malformed hostlist 'gpu[001-'" in msg


def test_unknown_role_in_binding(tmp_path: Path) -> None:
    msg = load_error(tmp_path, GOOD_ROLE + '[[bindings]]\nprincipals = ["unix:a"]\nroles = ["r", "ghost"]\n')
    assert msg.endswith("bindings[0].roles[1]: unknown role 'ghost'; roles: r")


def test_unknown_group(tmp_path: Path) -> None:
    msg = load_error(tmp_path, GOOD_ROLE + '[[bindings]]\nprincipals = ["group:ops"]\nroles = ["r"]\n')
    assert msg.endswith("bindings[0].principals[0]: unknown group 'ops'; groups: none are defined")


def test_bad_principal_and_nested_group(tmp_path: Path) -> None:
    msg = load_error(tmp_path, GOOD_ROLE + '[[bindings]]\nprincipals = ["alice"]\nroles = ["r"]\n')
    assert "bindings[0].principals[0]: 'alice' is not a principal such as unix:alice" in msg
    msg = load_error(tmp_path, '[groups]\nops = ["group:x"]\n')
    assert "groups.ops[0]: 'group:x' is not a principal such as unix:alice or slack:U0123ABC (groups cannot hold" in msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[roles.r]\nkinds = ["delete"]\n', "roles.r.kinds[0]: Input should be 'read', 'write' or 'destructive'"),
        ('[roles.r]\ndescription = "x"\n', "roles.r: the role grants nothing"),
        (
            '[roles.r]\nactions = ["drain"]\nmax_targets = 0\n',
            "roles.r.max_targets: Input should be greater than or equal to 1",
        ),
        ('[[deny]]\nname = "d"\nprincipals = ["unix:a"]\n', "deny[0]: deny rule 'd' names no actions"),
        (
            '[[deny]]\nname = "d"\nprincipals = ["unix:a"]\nactions = ["x"]\n[[deny]]\nname = "d"\n'
            'principals = ["unix:a"]\nactions = ["y"]\n',
            "deny[1].name: deny rule name 'd' is used twice",
        ),
        ("[[bindings]]\nprincipals = []\nroles = []\n", "bindings[0].principals: List should have at least 1 item"),
        ('bindings = "x"\n', "bindings: Input should be a valid list"),
    ],
)
def test_bad_values(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in load_error(tmp_path, text)


def test_from_dict_validates_the_same_way() -> None:
    with pytest.raises(ConfigError, match=r"^<policy>: roles\.r\.scope\.nodes: malformed hostlist"):
        Policy.from_dict({"roles": {"r": {"actions": ["*"], "scope": {"nodes": "a b"}}}})


def test_shipped_policies_load() -> None:
    here = Path(__file__).resolve().parents[3] / "actions" / "rbac"
    example = Policy.load(here / "example_policy.toml")
    assert example.principals_known("unix:alice") and not example.principals_known("unix:ext-joe")
    assert Policy.demo().principals_known("unix:anyone")


def test_unknown_key_in_a_role_named_like_a_key(tmp_path: Path) -> None:
    msg = load_error(tmp_path, '[roles.scope]\nactions = ["drain"]\nallow_yess = true\n')
    assert msg.endswith(
        "roles.scope.allow_yess: unknown key 'allow_yess'; accepted keys here: description, actions, "
        "kinds, scope, max_targets, allow_yes, approval, approve"
    )
