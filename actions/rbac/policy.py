"""RBAC decisions: may this principal run this action on these targets, and under which limits.

Why not pycasbin: casbin answers one (subject, object, action) -> bool question per call. Our
decision is about a *set* of targets (a request is refused as a whole when some targets are out
of scope, and the reason must name them as one hostlist), scopes are Slurm hostlists, partitions
and labels matched with different rules for allow and deny, and the answer carries per-role
limits (max_targets, allow_yes, approval) and a human reason. Expressing that in a casbin model
would need custom matcher functions for every one of those and a second pass to rebuild the
reasons, and it would cost one enforce() call per target. So the matcher is small and written
here, over sets precompiled at load time (see :mod:`.rules` and :mod:`.scope`), with fnmatch for
globs; per (principal, action, kind) the bound roles, their merged scope and limits are cached.

Order of checks (the first that fails is the reason): principal bound to a role at all ->
read-only mode -> deny rules (they win over any allow) -> some bound role grants the action ->
every target inside the union of the granting roles' scopes -> target count within the limit.

When several roles grant the action, the union of their scopes applies per target, and the
limits come from the most permissive granting role: no max_targets if any is unlimited, else the
largest; ``--yes`` allowed if any allows it; approval needed only if every granting role needs it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..targets import Target
from .rules import DenyRule, Role, Rules, compile_rules
from .schema import parse
from .scope import Scope, name_targets, union

_CACHE_LIMIT = 65_536


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str                       # one human line, "allowed: ..." or "denied: ..."
    roles: tuple[str, ...] = ()       # the bound roles granting the action
    approval: bool = False            # the policy asks for two-person approval
    allow_yes: bool = False           # --yes may skip the confirmation prompt
    max_targets: int | None = None    # the effective per-request limit (None = unlimited)


@dataclass(frozen=True, slots=True)
class _View:
    """What the policy says about one (principal, action, kind), whatever the targets."""

    bound: tuple[str, ...]            # every role bound to the principal
    granting: tuple[Role, ...]        # bound roles that grant the action
    names: tuple[str, ...]            # their names, for the Decision
    scope: Scope                      # union of the granting roles' scopes
    scope_text: str                   # its description, built once (collapsing a hostlist is not free)
    denies: tuple[DenyRule, ...]      # deny rules applying to the principal and action
    max_targets: int | None
    limit_role: str                   # the role the limit comes from (for the reason)
    allow_yes: bool
    approval: bool


class Policy:
    """A compiled policy file. Build with :meth:`load`, :meth:`from_dict` or :meth:`demo`."""

    def __init__(self, rules: Rules, source: str) -> None:
        self._rules = rules
        self.source = source
        self._views: dict[tuple[str, str, str], _View] = {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Policy:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"policy file {p} does not exist; set [policy] path in the config, "
                              "or use --demo for the built-in demo policy") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read policy file {p}: {getattr(exc, 'strerror', None) or exc}") from None
        return cls.from_toml(text, source=str(p))

    @classmethod
    def from_toml(cls, text: str, *, source: str = "<policy>") -> Policy:
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"policy file {source} is not valid TOML: {exc}") from None
        return cls.from_dict(raw, source=source)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<policy>") -> Policy:
        raw = dict(data) if isinstance(data, Mapping) else data
        return cls(compile_rules(parse(raw, source), source), source)

    @classmethod
    def demo(cls) -> Policy:
        """The permissive demo policy shipped as ``demo_policy.toml`` in this package."""
        text = resources.files(__package__).joinpath("demo_policy.toml").read_text(encoding="utf-8")
        return cls.from_toml(text, source="demo_policy.toml (built in)")

    # ------------------------------------------------------------------ queries
    @property
    def read_only(self) -> bool:
        return self._rules.read_only

    def roles_of(self, principal: str) -> tuple[str, ...]:
        """Every role bound to ``principal``, in the order the file defines the roles."""
        bound = {r for b in self._rules.bindings if b.matches(principal) for r in b.roles}
        return tuple(r for r in self._rules.roles if r in bound)

    def principals_known(self, principal: str) -> bool:
        return any(b.matches(principal) for b in self._rules.bindings)

    def decide(self, principal: str, action: str, kind: str, targets: Sequence[Target] = (), *,
               read_only: bool = False) -> Decision:
        """The decision for one request. With no targets: may the principal run ``action`` anywhere?"""
        view = self._view(principal, action, kind)
        names = view.names
        if not view.bound:
            return Decision(False, f"denied: {principal} is not bound to any role")
        if (read_only or self._rules.read_only) and kind != "read":
            return Decision(False, "denied: read-only mode refuses every non-read action", names)
        for rule in view.denies:
            hit = _deny_hits(rule, targets)
            if hit is not None:
                on = f" on {hit}" if hit else ""
                why = f" ({rule.reason})" if rule.reason else ""
                return Decision(False, f"denied: deny rule '{rule.name}' forbids {action}{on} for {principal}{why}",
                                names)
        if not view.granting:
            return Decision(False, f"denied: no role of {principal} allows {action} "
                                   f"(roles: {', '.join(view.bound)})")
        scope = view.scope
        outside = [t for t in targets if not scope.covers(t)]
        if outside:
            what = name_targets(outside)
            verb = "is" if len(outside) == 1 else "are"
            return Decision(False, f"denied: {what} {verb} outside {principal}'s scope for {action} "
                                   f"({_roles_phrase(names)} {'covers' if len(names) == 1 else 'cover'} "
                                   f"{view.scope_text})", names)
        if view.max_targets is not None and len(targets) > view.max_targets:
            return Decision(False, f"denied: {len(targets)} targets exceed the limit of {view.max_targets} "
                                   f"per request for role {view.limit_role}", names, max_targets=view.max_targets)
        return Decision(True, f"allowed: {principal} has {_roles_phrase(names)} ({action} on {view.scope_text})",
                        names, approval=view.approval, allow_yes=view.allow_yes, max_targets=view.max_targets)

    def explain(self, principal: str, action: str, kind: str, targets: Sequence[Target] = (), *,
                read_only: bool = False) -> list[str]:
        """The decision, then every rule line that was considered (for ``dcops policy check``)."""
        rules = self._rules
        lines = [self.decide(principal, action, kind, targets, read_only=read_only).reason]
        lines.append(f"request: {principal} {action} ({kind}) on {name_targets(targets) or 'no targets'}")
        ro = "on (policy file)" if rules.read_only else "on (engine setting)" if read_only else "off"
        lines.append(f"read_only: {ro}")
        for b in rules.bindings:
            state = "binds" if b.matches(principal) else "does not bind"
            lines.append(f"{b.where}: {state} {principal} (principals {', '.join(b.written)}) "
                         f"to roles {', '.join(b.roles)}")
        for name in self.roles_of(principal):
            role = rules.roles[name]
            state = "grants" if role.grants(action, kind) else "does not grant"
            lines.append(f"role {name}: {state} {action}; {role.describe()}")
        for rule in rules.denies:
            if not rule.applies(principal, action, kind):
                lines.append(f"deny '{rule.name}': does not apply to {principal} / {action}")
                continue
            hit = _deny_hits(rule, targets)
            state = "does not reach these targets" if hit is None else f"forbids {action} on {hit or 'any target'}"
            lines.append(f"deny '{rule.name}': applies to {principal} / {action}, scope {rule.scope.describe()}: {state}")
        return lines

    # ------------------------------------------------------------------ internals
    def _view(self, principal: str, action: str, kind: str) -> _View:
        key = (principal, action, kind)
        view = self._views.get(key)
        if view is None:
            if len(self._views) >= _CACHE_LIMIT:
                self._views.clear()
            view = self._views[key] = self._build_view(principal, action, kind)
        return view

    def _build_view(self, principal: str, action: str, kind: str) -> _View:
        bound = self.roles_of(principal)
        granting = tuple(r for r in (self._rules.roles[n] for n in bound) if r.grants(action, kind))
        denies = tuple(d for d in self._rules.denies if d.applies(principal, action, kind))
        limits = [r.max_targets for r in granting]
        if not granting or None in limits:
            max_targets, limit_role = None, ""
        else:
            top = max(r.max_targets or 0 for r in granting)
            max_targets, limit_role = top, next(r.name for r in granting if r.max_targets == top)
        scope = union(r.scope for r in granting)
        return _View(bound=bound, granting=granting, names=tuple(r.name for r in granting), scope=scope, scope_text=scope.describe(), denies=denies,
                     max_targets=max_targets, limit_role=limit_role,
                     allow_yes=any(r.allow_yes for r in granting),
                     approval=bool(granting) and all(r.needs_approval(action) for r in granting))


def _deny_hits(rule: DenyRule, targets: Sequence[Target]) -> str | None:
    """None when the rule does not reach the request; "" when it forbids the action outright;
    else the targets it reaches, named as a hostlist."""
    if rule.scope.whole_cluster:
        return ""
    hit = [t for t in targets if rule.scope.touches(t)]
    return name_targets(hit) if hit else None


def _roles_phrase(names: Sequence[str]) -> str:
    return f"role {names[0]}" if len(names) == 1 else f"roles {', '.join(names)}"
