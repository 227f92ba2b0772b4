"""The policy file as data: pydantic models of the TOML, and one-line errors for what is wrong.

Only the *shape* is checked here (keys, types, allowed words); cross-references (a binding naming
an unknown role, a hostlist that does not parse) are checked when the policy is compiled
(:mod:`dcops.actions.rbac.rules`), which knows where each value came from. Unknown keys are errors:
a typo'd ``max_target`` must not silently lift a limit.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError

KindName = Literal["read", "write", "destructive"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
PRINCIPAL_PATTERN = r"^(unix|slack|group|alert):[^\s:]+$"  # alert:NAME = auto-remediation for that alert
MEMBER_PATTERN = r"^(unix|slack|alert):[^\s:]+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ScopeSpec(_Strict):
    """Where a permission or a deny rule applies; every field empty = the whole cluster."""

    partitions: list[str] = Field(default_factory=list)
    nodes: str | list[str] = Field(default_factory=list)  # Slurm hostlist(s): "gpu[001-032]"
    labels: list[str] = Field(default_factory=list)  # "rack=r01" or bare feature words


class RoleSpec(_Strict):
    description: str = ""
    actions: list[str] = Field(default_factory=list)  # action names or globs: drain, firmware-*, *
    kinds: list[KindName] = Field(default_factory=list)  # every action of these kinds
    scope: ScopeSpec = Field(default_factory=ScopeSpec)
    max_targets: int | None = Field(None, ge=1)
    allow_yes: bool = False
    approval: list[str] = Field(default_factory=list)  # action names or globs needing two people
    approve: list[str] = Field(default_factory=list)  # actions its holders may approve/deny for others


class BindingSpec(_Strict):
    principals: list[typing.Annotated[str, Field(pattern=PRINCIPAL_PATTERN)]] = Field(min_length=1)
    except_: list[typing.Annotated[str, Field(pattern=PRINCIPAL_PATTERN)]] = Field(default_factory=list, alias="except")
    roles: list[str] = Field(min_length=1)


class DenySpec(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    reason: str = ""
    principals: list[typing.Annotated[str, Field(pattern=PRINCIPAL_PATTERN)]] = Field(min_length=1)
    actions: list[str] = Field(default_factory=list)
    kinds: list[KindName] = Field(default_factory=list)
    scope: ScopeSpec = Field(default_factory=ScopeSpec)


class PolicySpec(_Strict):
    read_only: bool = False
    groups: dict[str, list[typing.Annotated[str, Field(pattern=MEMBER_PATTERN)]]] = Field(default_factory=dict)
    roles: dict[str, RoleSpec] = Field(default_factory=dict)
    bindings: list[BindingSpec] = Field(default_factory=list)
    deny: list[DenySpec] = Field(default_factory=list)


def parse(raw: Any, source: str) -> PolicySpec:
    """Validate the shape of a policy; the first problem becomes a one-line ConfigError."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a policy must be a table of keys, got {type(raw).__name__}")
    try:
        return PolicySpec.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"{source}: {describe_error(err)}") from None


def format_loc(loc: tuple[Any, ...]) -> str:
    """``('bindings', 2, 'roles')`` -> ``bindings[2].roles`` (the path a TOML reader follows)."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def describe_error(err: Mapping[str, Any]) -> str:
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        accepted = ", ".join(_accepted_keys(loc[:-1]))
        return f"{format_loc(loc)}: unknown key {loc[-1]!r}; accepted keys here: {accepted}"
    if err["type"] == "string_pattern_mismatch":
        what = {
            PRINCIPAL_PATTERN: "a principal such as unix:alice, slack:U0123ABC or group:oncall",
            MEMBER_PATTERN: "a principal such as unix:alice or slack:U0123ABC (groups cannot hold groups)",
            NAME_PATTERN: "a name of letters, digits, '_', '.', '-'",
        }.get(err["ctx"]["pattern"], err["msg"])
        return f"{format_loc(loc)}: {err['input']!r} is not {what}"
    return f"{format_loc(loc)}: {err['msg']}"


def _accepted_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at ``loc`` accepts (for 'unknown key' messages): follow the annotations
    down from PolicySpec, a dict key or list index stepping into the dict's values or list's items."""
    ann: Any = PolicySpec
    for part in loc:
        if typing.get_origin(ann) in (dict, list):
            ann = typing.get_args(ann)[-1]
        elif _is_model(ann):
            field = next((f for n, f in ann.model_fields.items() if (f.alias or n) == part), None)
            if field is None:
                return []
            ann = field.annotation
        else:
            return []
    return [f.alias or n for n, f in ann.model_fields.items()] if _is_model(ann) else []


def _is_model(ann: Any) -> bool:
    return isinstance(ann, type) and issubclass(ann, BaseModel)
