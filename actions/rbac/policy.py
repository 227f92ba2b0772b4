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
every target covered by some granting role's scope -> the targets fit the limits.

Limits never merge to loosen (see :mod:`.limits`): each target is governed by one granting role
whose scope covers it, and that role's limits hold for it. ``max_targets`` of a role counts the
targets it governs; approval is needed unless every target can be governed by a role that needs
no approval for the action (within those roles' max_targets); ``--yes`` is allowed only when
every target can be governed by a role that allows it (and, when no approval is needed, by one
that needs none). Approving is a permission of its own: a role's ``approve`` list names the
actions its holders may approve or deny for others, within the role's scope (:meth:`Policy.may_approve`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import hostlist

from ..errors import ConfigError
from ..targets import Target
from .limits import share_out
from .rules import DenyRule, Role, Rules, compile_rules
from .schema import parse
from .scope import Scope, name_targets, union

_CACHE_LIMIT = 65_536


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str  # one human line, "allowed: ..." or "denied: ..."
    roles: tuple[str, ...] = ()  # the bound roles granting the action
    approval: bool = False  # the policy asks for two-person approval
    allow_yes: bool = False  # --yes may skip the confirmation prompt
    max_targets: int | None = None  # the effective per-request limit (None = unlimited)


@dataclass(frozen=True, slots=True)
class _View:
    """What the policy says about one (principal, action, kind), whatever the targets."""

    bound: tuple[str, ...]  # every role bound to the principal
    granting: tuple[Role, ...]  # bound roles that grant the action
    names: tuple[str, ...]  # their names, for the Decision
    scope: Scope  # union of the granting roles' scopes
    scope_text: str  # its description, built once (collapsing a hostlist is not free)
    denies: tuple[DenyRule, ...]  # deny rules applying to the principal and action
    max_targets: int | None
    limit_role: str  # the role the limit comes from (for the reason)
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
            raise ConfigError(
                f"policy file {p} does not exist; set [policy] path in the config, "
                "or use --demo for the built-in demo policy"
            ) from None
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

    def decide(
        self, principal: str, action: str, kind: str, targets: Sequence[Target] = (), *, read_only: bool = False
    ) -> Decision:
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
                return Decision(
                    False, f"denied: deny rule '{rule.name}' forbids {action}{on} for {principal}{why}", names
                )
        if not view.granting:
            return Decision(False, f"denied: no role of {principal} allows {action} (roles: {', '.join(view.bound)})")
        granting = view.granting
        if len(granting) == 1:  # the common case: one role governs every target
            return self._decide_one(principal, action, targets, view)
        cover = [frozenset(i for i, r in enumerate(granting) if r.scope.covers(t)) for t in targets]
        outside = [t for t, c in zip(targets, cover) if not c]
        if outside:
            what = describe_targets(outside)
            verb = "is" if len(outside) == 1 else "are"
            return Decision(
                False,
                f"denied: {what} {verb} outside {principal}'s scope for {action} "
                f"({_roles_phrase(names)} {'covers' if len(names) == 1 else 'cover'} "
                f"{view.scope_text})",
                names,
            )
        groups: dict[frozenset[int], int] = {}
        for c in cover:
            groups[c] = groups.get(c, 0) + 1
        if not targets:  # "may run anywhere?": one virtual target every grant covers
            groups = {frozenset(range(len(granting))): 1}
        caps = [r.max_targets for r in granting]
        short = share_out(groups, caps)
        if short is not None:
            limited = [granting[i].name for i in short.grants]
            who = f"role {limited[0]}" if len(limited) == 1 else f"roles {', '.join(limited)} together"
            return Decision(
                False,
                f"denied: {short.count} targets exceed the limit of {short.allowed} per request "
                f"for {who}" + (" (each target counts against one role that covers it)" if len(granting) > 1 else ""),
                names,
                max_targets=short.allowed,
            )
        free = frozenset(i for i, r in enumerate(granting) if not r.needs_approval(action))
        approval = not _fits(groups, caps, free)
        yes_ok = frozenset(i for i, r in enumerate(granting) if r.allow_yes and (approval or i in free))
        allow_yes = _fits(groups, caps, yes_ok)
        return Decision(
            True,
            f"allowed: {principal} has {_roles_phrase(names)} ({action} on {view.scope_text})",
            names,
            approval=approval,
            allow_yes=allow_yes,
            max_targets=view.max_targets,
        )

    def _decide_one(self, principal: str, action: str, targets: Sequence[Target], view: _View) -> Decision:
        """:meth:`decide` when a single role grants the action (no share-out to compute)."""
        role, names = view.granting[0], view.names
        outside = [t for t in targets if not role.scope.covers(t)]
        if outside:
            verb = "is" if len(outside) == 1 else "are"
            return Decision(
                False,
                f"denied: {describe_targets(outside)} {verb} outside {principal}'s scope for {action} "
                f"(role {role.name} covers {view.scope_text})",
                names,
            )
        if role.max_targets is not None and len(targets) > role.max_targets:
            return Decision(
                False,
                f"denied: {len(targets)} targets exceed the limit of {role.max_targets} per request "
                f"for role {role.name}",
                names,
                max_targets=role.max_targets,
            )
        return Decision(
            True,
            f"allowed: {principal} has role {role.name} ({action} on {view.scope_text})",
            names,
            approval=role.needs_approval(action),
            allow_yes=role.allow_yes,
            max_targets=role.max_targets,
        )

    def may_approve(
        self, approver: str, action: str, kind: str, targets: Sequence[Target] = (), *, requester: str | None = None
    ) -> Decision:
        """May ``approver`` approve (or deny) someone else's request for ``action`` on ``targets``?

        Yes when the approver is not the requester, no deny rule forbids the approver ``action`` on
        those targets, and every target is covered by a bound role whose ``approve`` list names
        the action. Approving is not running: no max_targets, and read-only mode does not matter
        (the run itself is decided for the requester again when it starts).
        """
        if requester is not None and approver == requester:
            return Decision(
                False,
                f"denied: {approver} asked for this request and cannot approve or deny it; "
                "another person must (withdraw it instead)",
            )
        bound = self.roles_of(approver)
        if not bound:
            return Decision(False, f"denied: {approver} is not bound to any role")
        for rule in self._view(approver, action, kind).denies:
            hit = _deny_hits(rule, targets)
            if hit is not None:
                on = f" on {hit}" if hit else ""
                return Decision(
                    False,
                    f"denied: deny rule '{rule.name}' forbids {action}{on} for {approver}, "
                    "so they may not approve it either",
                    bound,
                )
        approving = [self._rules.roles[n] for n in bound if self._rules.roles[n].may_approve(action)]
        names = tuple(r.name for r in approving)
        if not approving:
            return Decision(
                False,
                f"denied: no role of {approver} may approve {action} (roles: {', '.join(bound)}; "
                'a role approves with approve = ["ACTION", ...])',
                bound,
            )
        outside = [t for t in targets if not any(r.scope.covers(t) for r in approving)]
        if outside:
            scope = union(r.scope for r in approving).describe()
            verb = "is" if len(outside) == 1 else "are"
            return Decision(
                False,
                f"denied: {describe_targets(outside)} {verb} outside what {approver} may approve "
                f"{action} on ({_roles_phrase(names)}: {scope})",
                names,
            )
        return Decision(True, f"allowed: {approver} may approve {action} ({_roles_phrase(names)})", names)

    def approvers(self, action: str) -> list[str]:
        """Who may approve ``action`` somewhere (the principals and groups as the bindings write
        them, for ``dcops policy check``)."""
        roles = {n for n, r in self._rules.roles.items() if r.may_approve(action)}
        out: list[str] = []
        for b in self._rules.bindings:
            if roles.intersection(b.roles):
                who = ", ".join(b.written) + (
                    f" (except {', '.join(b.excluded_written)})" if b.excluded_written else ""
                )
                out.append(f"{who} via {', '.join(r for r in b.roles if r in roles)}")
        return out

    def explain(
        self, principal: str, action: str, kind: str, targets: Sequence[Target] = (), *, read_only: bool = False
    ) -> list[str]:
        """The decision, then every rule line that was considered (for ``dcops policy check``)."""
        rules = self._rules
        lines = [self.decide(principal, action, kind, targets, read_only=read_only).reason]
        lines.append(f"request: {principal} {action} ({kind}) on {name_targets(targets) or 'no targets'}")
        ro = "on (policy file)" if rules.read_only else "on (engine setting)" if read_only else "off"
        lines.append(f"read_only: {ro}")
        for b in rules.bindings:
            state = "binds" if b.matches(principal) else "does not bind"
            lines.append(
                f"{b.where}: {state} {principal} (principals {', '.join(b.written)}) to roles {', '.join(b.roles)}"
            )
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
            lines.append(
                f"deny '{rule.name}': applies to {principal} / {action}, scope {rule.scope.describe()}: {state}"
            )
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
        return _View(
            bound=bound,
            granting=granting,
            names=tuple(r.name for r in granting),
            scope=scope,
            scope_text=scope.describe(),
            denies=denies,
            max_targets=max_targets,
            limit_role=limit_role,
            allow_yes=any(r.allow_yes for r in granting),
            approval=bool(granting) and all(r.needs_approval(action) for r in granting),
        )


def _deny_hits(rule: DenyRule, targets: Sequence[Target]) -> str | None:
    """None when the rule does not reach the request; "" when it forbids the action outright;
    else the targets it reaches, named as a hostlist (a job with the nodes it runs on)."""
    if rule.scope.whole_cluster:
        return ""
    hit = [t for t in targets if rule.scope.touches(t)]
    return describe_targets(hit) if hit else None


def describe_targets(targets: Sequence[Target]) -> str:
    """Like :func:`name_targets`, with every job followed by the nodes it runs on: a job is
    refused because of *where* it runs, and the reason must show it."""
    text = name_targets([t for t in targets if t.kind != "job"])
    jobs = [t for t in targets if t.kind == "job"]
    if jobs:
        named = ", ".join(
            f"{t.name} (on {hostlist.collect_hostlist(list(t.nodes)) if t.nodes else 'no nodes'})" for t in jobs
        )
        text = ", ".join(
            filter(
                None,
                [
                    text.replace(", the whole cluster", "").replace("the whole cluster", ""),
                    f"job{'s' if len(jobs) > 1 else ''} {named}",
                    "the whole cluster" if any(t.kind == "cluster" for t in targets) else "",
                ],
            )
        )
    return text


def _fits(groups: dict[frozenset[int], int], caps: Sequence[int | None], allowed: frozenset[int]) -> bool:
    """Can every target be governed by one of the ``allowed`` grants covering it, within their limits?"""
    narrowed: dict[frozenset[int], int] = {}
    for g, n in groups.items():
        g2 = g & allowed
        if not g2:
            return False
        narrowed[g2] = narrowed.get(g2, 0) + n
    return share_out(narrowed, caps) is None


def _roles_phrase(names: Sequence[str]) -> str:
    return f"role {names[0]}" if len(names) == 1 else f"roles {', '.join(names)}"
