"""Actions and their registry.

An action is an async generator of events plus the metadata the engine, the grammar and the
front ends need: the verb users type, a one-line help, a pydantic params model (the grammar and
the help are generated from it), its kind, how its targets are found, and which guards apply.
Register one with :func:`action`; the default registry imports an action's module the first time it
is asked for that action (``dcops.actions.action_index`` says which module), and every module when
it is listed.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .action_index import ACTION_MODULES, OPS_PACKAGE
from .errors import UsageError
from .events import ActionEvent
from .result_rows import Row
from .safe_text import control_problem

if TYPE_CHECKING:
    from .context import ActionContext


class Kind(StrEnum):
    READ = "read"
    WRITE = "write"
    DESTRUCTIVE = "destructive"


class TargetKind(StrEnum):
    NODES = "nodes"  # params.nodes is a hostlist, validated against the inventory
    JOBS = "jobs"  # params.jobs is a list of job ids, resolved to jobs via Slurm/Kubernetes
    NONE = "none"  # acts on the cluster as a whole (queries, listings)


_HUGE = 1e12  # no count, size or number of seconds a user types is larger: a typo, or an attack


class Params(BaseModel):
    """Base for every action's parameters: strict, so a typo'd option is an error, not ignored.
    No text parameter (a reason, a node or job name, a pattern) may hold control characters: they
    would fake lines in tables and the audit log, or drive the reader's terminal (safe_text)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(item, str):
                problem = control_problem(item)
                if problem:
                    raise ValueError(problem)
            elif isinstance(item, (int, float)) and not isinstance(item, bool) and not -_HUGE <= item <= _HUGE:
                raise ValueError(f"{item!r} is out of range (a finite number up to {_HUGE:.0e})")  # also inf, nan
        return value


class MutatingParams(Params):
    """Every mutating action can show its plan without acting."""

    dry_run: bool = Field(False, description="show which nodes and jobs would be affected, change nothing")


ActionFn = Callable[["ActionContext", Any], AsyncIterator[ActionEvent]]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    help: str
    params: type[Params]
    kind: Kind
    targets: TargetKind
    run: ActionFn
    positional: tuple[str, ...] = ()  # params filled by position in the grammar, in order
    confirm: bool = False  # destructive: the caller must echo the node count / hostlist
    approval: bool = False  # two-person approval by default (the policy may add more)
    resumable: bool = False  # keeps a journal; `dcops resume RUN_ID` finishes what is left
    timeout: float | None = None  # seconds; None -> config guards.default_timeout
    category: str = "general"
    lock: bool | None = None  # take per-target locks; default: every non-read action
    takes_out_of_service: bool = False  # counts against the partition blast-radius guard
    example: str = ""  # a complete command line, shown in help and run by the invariant tests
    implies: Callable[[Any], tuple[str, ...]] | None = None  # other actions these params also perform
    # (drain --cancel-jobs cancels): RBAC must allow those too
    prepare: Callable[[Any, Any], Any] | None = None  # (params, config) -> params: checks against the
    # site's config before RBAC (a playbook must be approved, its
    # vars declared; fills in its content hash); UsageError if not
    policy_name: Callable[[Any], str] | None = None  # the name RBAC decides on for these params
    # (playbook nvidia-driver -> "playbook:nvidia-driver")
    policy_names: Callable[[Any], list[str]] | None = None  # config -> every such name (the approved
    # playbooks), so `actions` lists it for whoever may run one of them
    risks: Callable[[Any], tuple[str, ...]] | None = None  # risky options these params use
    # (firmware-update --no-drain -> "no-drain"): RBAC decides each
    # as a permission of its own, on the same targets
    check: Callable[[Any, Any], None] | None = None  # (params, backends) -> raise UsageError
    # for a request this cluster cannot run as given (before it starts)
    rows: tuple[type[Row], ...] = ()  # the row models its Result carries (result_rows): the columns
    # every front end shows, the schema `help ACTION --json` prints

    @property
    def mutating(self) -> bool:
        return self.kind is not Kind.READ

    @property
    def takes_locks(self) -> bool:
        return self.mutating if self.lock is None else self.lock


class Registry:
    """Action specs by name. With an ``index`` (action name -> module that registers it) the
    registry is lazy: :meth:`get` imports only the module of the action asked for, and
    :meth:`__iter__` (listings, help, completion) imports them all once (see action_index)."""

    def __init__(self, index: Mapping[str, str] | None = None, package: str = "") -> None:
        self._specs: dict[str, ActionSpec] = {}
        self._index = dict(index or {})  # name -> module (relative to package)
        self._package = package
        self._all_loaded = not self._index

    def add(self, spec: ActionSpec) -> ActionSpec:
        if spec.name in self._specs:
            raise ValueError(f"action {spec.name!r} registered twice")
        if spec.mutating and not issubclass(spec.params, MutatingParams):
            raise TypeError(f"mutating action {spec.name!r} must take MutatingParams (for --dry-run)")
        fields = spec.params.model_fields
        if spec.targets is TargetKind.NODES and "nodes" not in fields:
            raise TypeError(f"action {spec.name!r} targets nodes but its params have no 'nodes' field")
        if spec.targets is TargetKind.JOBS and "jobs" not in fields:
            raise TypeError(f"action {spec.name!r} targets jobs but its params have no 'jobs' field")
        for p in spec.positional:
            if p not in fields:
                raise TypeError(f"action {spec.name!r}: positional {p!r} is not a parameter")
        self._specs[spec.name] = spec
        return spec

    def load_all(self) -> None:
        """Import every module of the index's package (once): listings show every action."""
        if not self._all_loaded:
            importlib.import_module(self._package).import_all()
            self._all_loaded = True

    def get(self, name: str) -> ActionSpec:
        spec = self._specs.get(name)
        if spec is None and name in self._index:
            importlib.import_module(f"{self._package}.{self._index[name]}")
            spec = self._specs.get(name)
        if spec is None:
            raise UsageError(f"unknown action {name!r}; known actions: {', '.join(self.names())}")
        return spec

    def __contains__(self, name: object) -> bool:
        return name in self._specs or name in self._index

    def __iter__(self) -> Iterator[ActionSpec]:
        self.load_all()
        return iter(sorted(self._specs.values(), key=lambda s: (s.category, s.name)))

    def names(self) -> list[str]:
        return sorted({*self._specs, *self._index})


registry = Registry(ACTION_MODULES, OPS_PACKAGE)


def action(
    name: str,
    *,
    help: str,
    params: type[Params],
    kind: Kind,
    targets: TargetKind,
    positional: tuple[str, ...] = (),
    confirm: bool | None = None,
    approval: bool = False,
    resumable: bool = False,
    timeout: float | None = None,
    category: str = "general",
    lock: bool | None = None,
    takes_out_of_service: bool = False,
    example: str = "",
    implies: Callable[[Any], tuple[str, ...]] | None = None,
    prepare: Callable[[Any, Any], Any] | None = None,
    policy_name: Callable[[Any], str] | None = None,
    policy_names: Callable[[Any], list[str]] | None = None,
    risks: Callable[[Any], tuple[str, ...]] | None = None,
    check: Callable[[Any, Any], None] | None = None,
    rows: type[Row] | tuple[type[Row], ...] = (),
    into: Registry | None = None,
) -> Callable[[ActionFn], ActionFn]:
    """Register an async-generator function as an action. Destructive actions need confirmation
    unless ``confirm=False`` is given explicitly. ``rows`` is the row model of its result (a tuple
    when a dry run's plan and a run's outcome differ in shape)."""

    def wrap(fn: ActionFn) -> ActionFn:
        (into or registry).add(
            ActionSpec(
                name=name,
                help=help,
                params=params,
                kind=kind,
                targets=targets,
                run=fn,
                positional=positional,
                confirm=(kind is Kind.DESTRUCTIVE) if confirm is None else confirm,
                approval=approval,
                resumable=resumable,
                timeout=timeout,
                category=category,
                lock=lock,
                takes_out_of_service=takes_out_of_service,
                example=example,
                implies=implies,
                prepare=prepare,
                policy_name=policy_name,
                policy_names=policy_names,
                risks=risks,
                check=check,
                rows=rows if isinstance(rows, tuple) else (rows,),
            )
        )
        return fn

    return wrap
