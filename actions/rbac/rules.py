"""Compiled policy rules: roles, bindings and deny rules with globs and hostlists resolved.

Compiling is where cross-references are checked (a binding naming an unknown role or group, a
hostlist that does not expand), so every ConfigError names the file and the key at fault. After
this step nothing is parsed again: matching is fnmatch on short names and set look-ups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from ..errors import ConfigError, UsageError
from ..hostlists import expand
from .schema import PolicySpec, ScopeSpec
from .scope import Scope


def _any_glob(patterns: Iterable[str], name: str) -> bool:
    return any(fnmatchcase(name, p) for p in patterns)


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    actions: tuple[str, ...]
    kinds: frozenset[str]
    scope: Scope
    max_targets: int | None
    allow_yes: bool
    approval: tuple[str, ...]
    approve: tuple[str, ...] = ()  # actions (globs) this role's holders may approve or deny for others

    def grants(self, action: str, kind: str) -> bool:
        return kind in self.kinds or _any_glob(self.actions, action)

    def needs_approval(self, action: str) -> bool:
        return _any_glob(self.approval, action)

    def may_approve(self, action: str) -> bool:
        return _any_glob(self.approve, action)

    def describe(self) -> str:
        perms = []
        if self.actions:
            perms.append(f"actions {', '.join(self.actions)}")
        if self.kinds:
            perms.append(f"kinds {', '.join(sorted(self.kinds))}")
        limits = f"max_targets {self.max_targets if self.max_targets is not None else 'unlimited'}"
        limits += f"; allow_yes {'yes' if self.allow_yes else 'no'}"
        limits += f"; approval {', '.join(self.approval) if self.approval else 'none'}"
        if self.approve:
            limits += f"; approves {', '.join(self.approve)}"
        return f"{'; '.join(perms)}; scope {self.scope.describe()}; {limits}"


@dataclass(frozen=True, slots=True)
class PrincipalSet:
    """Principal patterns (``unix:*``, ``slack:U0ABC``) with ``group:NAME`` already replaced by members."""

    patterns: tuple[str, ...]

    def matches(self, principal: str) -> bool:
        return _any_glob(self.patterns, principal)


@dataclass(frozen=True, slots=True)
class Binding:
    where: str  # "bindings[0]", for explain
    principals: PrincipalSet
    excluded: PrincipalSet
    roles: tuple[str, ...]
    written: tuple[str, ...]  # the principals as written in the file (group:oncall), for explain
    excluded_written: tuple[str, ...] = ()

    def matches(self, principal: str) -> bool:
        return self.principals.matches(principal) and not self.excluded.matches(principal)


@dataclass(frozen=True, slots=True)
class DenyRule:
    name: str
    reason: str
    principals: PrincipalSet
    actions: tuple[str, ...]
    kinds: frozenset[str]
    scope: Scope

    def applies(self, principal: str, action: str, kind: str) -> bool:
        return self.principals.matches(principal) and (kind in self.kinds or _any_glob(self.actions, action))


@dataclass(frozen=True, slots=True)
class Rules:
    read_only: bool
    roles: dict[str, Role]
    bindings: tuple[Binding, ...]
    denies: tuple[DenyRule, ...]


def compile_rules(spec: PolicySpec, source: str) -> Rules:
    """Resolve names, groups and hostlists; raise a one-line ConfigError on the first bad one."""
    roles: dict[str, Role] = {}
    for name, r in spec.roles.items():
        where = f"roles.{name}"
        _check_name(source, "roles", name)
        if not r.actions and not r.kinds:
            raise ConfigError(
                f'{source}: {where}: the role grants nothing; give actions = ["drain", "firmware-*"] '
                'and/or kinds = ["read"]'
            )
        roles[name] = Role(
            name=name,
            actions=_nonempty(source, f"{where}.actions", r.actions),
            kinds=frozenset(r.kinds),
            scope=_scope(source, f"{where}.scope", r.scope),
            max_targets=r.max_targets,
            allow_yes=r.allow_yes,
            approval=_nonempty(source, f"{where}.approval", r.approval),
            approve=_nonempty(source, f"{where}.approve", r.approve),
        )
    for name in spec.groups:
        _check_name(source, "groups", name)

    def principals(where: str, written: list[str]) -> PrincipalSet:
        patterns: list[str] = []
        for i, p in enumerate(written):
            if p.startswith("group:"):
                group = p.removeprefix("group:")
                if group not in spec.groups:
                    known = ", ".join(sorted(spec.groups)) or "none are defined"
                    raise ConfigError(f"{source}: {where}[{i}]: unknown group {group!r}; groups: {known}")
                patterns.extend(spec.groups[group])
            else:
                patterns.append(p)
        return PrincipalSet(tuple(patterns))

    bindings = []
    for i, b in enumerate(spec.bindings):
        where = f"bindings[{i}]"
        for j, role in enumerate(b.roles):
            if role not in roles:
                known = ", ".join(roles) or "none are defined"
                raise ConfigError(f"{source}: {where}.roles[{j}]: unknown role {role!r}; roles: {known}")
        bindings.append(
            Binding(
                where=where,
                principals=principals(f"{where}.principals", b.principals),
                excluded=principals(f"{where}.except", b.except_),
                roles=tuple(dict.fromkeys(b.roles)),
                written=tuple(b.principals),
                excluded_written=tuple(b.except_),
            )
        )
    denies = []
    seen: set[str] = set()
    for i, d in enumerate(spec.deny):
        where = f"deny[{i}]"
        if d.name in seen:
            raise ConfigError(f"{source}: {where}.name: deny rule name {d.name!r} is used twice; names must be unique")
        seen.add(d.name)
        if not d.actions and not d.kinds:
            raise ConfigError(
                f'{source}: {where}: deny rule {d.name!r} names no actions; give actions = ["reimage"] '
                '(or ["*"] for every action) and/or kinds = ["destructive"]'
            )
        denies.append(
            DenyRule(
                name=d.name,
                reason=" ".join(d.reason.split()),
                principals=principals(f"{where}.principals", d.principals),
                actions=_nonempty(source, f"{where}.actions", d.actions),
                kinds=frozenset(d.kinds),
                scope=_scope(source, f"{where}.scope", d.scope),
            )
        )
    return Rules(read_only=spec.read_only, roles=roles, bindings=tuple(bindings), denies=tuple(denies))


def _check_name(source: str, table: str, name: str) -> None:
    if not name or not (name[0].isalnum() and all(c.isalnum() or c in "_.-" for c in name)):
        raise ConfigError(f"{source}: {table}: {name!r} is not a valid name; use letters, digits, '_', '.', '-'")


def _nonempty(source: str, where: str, items: list[str]) -> tuple[str, ...]:
    for i, item in enumerate(items):
        if not item.strip():
            raise ConfigError(
                f"{source}: {where}[{i}]: empty entry; give an action name or glob such as drain or firmware-*"
            )
    return tuple(items)


def _scope(source: str, where: str, spec: ScopeSpec) -> Scope:
    exprs = [spec.nodes] if isinstance(spec.nodes, str) else list(spec.nodes)
    nodes: set[str] = set()
    for expr in exprs:
        try:
            nodes.update(expand(expr))
        except UsageError as exc:
            raise ConfigError(f"{source}: {where}.nodes: {exc}") from None
    for key, values in (("partitions", spec.partitions), ("labels", spec.labels)):
        for i, v in enumerate(values):
            if not v.strip():
                raise ConfigError(f"{source}: {where}.{key}[{i}]: empty entry; give a name such as gpu or rack=r01")
    return Scope(partitions=frozenset(spec.partitions), nodes=frozenset(nodes), labels=frozenset(spec.labels))
