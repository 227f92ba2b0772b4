"""The engine: the one path from a request to the cluster.

validate -> resolve targets -> RBAC -> guards (blast radius, confirmation, two-person approval)
-> audit "started" -> per-target locks -> run the action's event stream -> audit "finished".
Every refusal on the way is audited too, and raised as a one-line :class:`DcopsError` the
front end shows as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import time
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from .approval_chain import grant_problem, tag
from .backends.bundle import Backends
from .backends.ports import SlurmPort
from .config.model import DcopsConfig
from .context import ActionContext
from .errors import (
    ApprovalRequired,
    ApprovalTaken,
    ConfirmationRequired,
    DcopsError,
    DeniedError,
    NotFound,
    UsageError,
)
from .events import Error, Log, Outcome, Result, RunFinished, RunStarted, Step
from .hostlists import collapse
from .inventory import CachedInventory
from .owner import current_owner, owner_is_dead
from .rbac import Decision, Policy, describe_targets
from .redact import redact
from .registry import ActionSpec, Params, Registry, TargetKind
from .registry import registry as default_registry
from .request import Request
from .run import STOP_KEY, Run
from .settle import STEP_STATUS, drained_now, final_states, leftovers, settle_result
from .store.base import Approval, AuditEntry, Store
from .store.redacting import redacting
from .targets import CLUSTER, Target
from .validation import describe

log = logging.getLogger("dcops.engine")
_TERMINAL = ("ok", "failed", "skipped", "cancelled")
STOP_POLL = 0.5  # seconds between looks at the shared store for a stop request


_now_second: list[Any] = [None, ""]  # (the UTC second, its "YYYY-mm-ddTHH:MM:SS." prefix), reused


def _now() -> str:
    """The record time, as ``datetime.now(UTC).isoformat(timespec="microseconds")`` writes it: the
    date and time are formatted once per second, only the microseconds per call (an action writes
    three of these; the full format was a few percent of a no-op action's engine time)."""
    ns = time.time_ns()
    second, micros = ns // 1_000_000_000, ns % 1_000_000_000 // 1000
    if _now_second[0] != second:
        _now_second[:] = [second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")]
    return f"{_now_second[1]}{micros:06d}+00:00"


_run_id_second: list[Any] = [None, ""]  # (the UTC second, its "rYYYYmmdd-HHMMSS-" prefix), reused


def new_run_id() -> str:
    # 48 random bits: 8 processes starting thousands of runs in one second must never share an id
    # (24 bits collided once in 4,000 runs on the PostgreSQL lab; a shared id merges two runs' records).
    # The prefix is formatted once per second (strftime was a tenth of a no-op action's engine time).
    second = int(time.time())
    if _run_id_second[0] != second:
        _run_id_second[:] = [second, datetime.fromtimestamp(second, UTC).strftime("r%Y%m%d-%H%M%S-")]
    return _run_id_second[1] + secrets.token_hex(6)


class _Journal:
    def __init__(self, store: Store, run_id: str) -> None:
        self.store, self.run_id = store, run_id

    async def get(self, key: str) -> Any | None:
        return await self.store.journal_get(self.run_id, key)

    async def put(self, key: str, value: Any) -> None:
        await self.store.journal_put(self.run_id, key, value)

    async def items(self) -> dict[str, Any]:
        return await self.store.journal_items(self.run_id)


class _Prepared:
    """A request that passed validation and target resolution."""

    __slots__ = (
        "audit_params",
        "decide_targets",
        "dry_run",
        "implied",
        "implied_text",
        "params",
        "req",
        "slurm_nodes",
        "spec",
        "target_names",
        "targets",
    )

    def __init__(
        self,
        req: Request,
        spec: ActionSpec,
        params: Params,
        targets: list[Target],
        implied: list[tuple[ActionSpec, list[Target]]] | None = None,
    ) -> None:
        self.req, self.spec, self.params, self.targets = req, spec, params, targets
        self.implied = implied or []  # (other action, its real targets) the params also perform
        self.implied_text = (
            "; ".join(f"also {o.name} {describe_targets(t)}" for o, t in self.implied if t) if self.implied else ""
        )
        self.audit_params = redact(params.model_dump(mode="json", exclude_defaults=True))
        self.target_names = [t.name for t in targets if t.kind != "cluster"]
        self.dry_run = bool(params.__dict__.get("dry_run", False))  # not getattr: a miss costs pydantic an exception
        self.decide_targets = targets  # what RBAC decides on: for a resume, only the work left
        self.slurm_nodes: list[Any] | None = None  # the blast-radius guard's read, handed to the action


def _job_target(job: Any) -> Target:
    """A Slurm job as an RBAC target: its partition and every node it runs on."""
    return Target(
        kind="job",
        name=job.job_id,
        partitions=frozenset([job.partition]) if job.partition else frozenset(),
        nodes=tuple(job.nodes),
    )


class Engine:
    def __init__(
        self, config: DcopsConfig, backends: Backends, store: Store, policy: Policy, *, registry: Registry | None = None
    ) -> None:
        self.config = config
        self.backends = backends
        self.store = redacting(store)  # free text in every record scrubbed of secret values
        self.policy = policy
        self.registry = registry or default_registry
        self.inventory = CachedInventory(backends.inventory)
        self.owner = current_owner()
        self._runs: dict[str, Run] = {}
        self._keep_recent = 200
        self._keep_full = 10
        self._finished: deque[Run] = deque()

    # ------------------------------------------------------------------ lifecycle
    async def start(self, *, warm_inventory: bool = True) -> list[str]:
        """Close runs whose process died mid-action (audited as ``interrupted``); warm the inventory
        (a console and a bot serve many requests; a one-shot CLI command reads it only when a
        request names nodes, so ``run ping`` or ``audit list`` makes no backend call)."""
        closed = await self.store.close_interrupted(owner_is_dead, self.owner)
        if not warm_inventory:
            return closed
        try:
            await self.inventory.nodes()
        except DcopsError as exc:  # a backend down at start must not stop the console
            log.warning("inventory not loaded: %s", exc)
        return closed

    async def aclose(self) -> None:
        for run in list(self._runs.values()):
            if run.active:
                run.cancel()
        for run in list(self._runs.values()):
            if run._task is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(run._task), 10)
                except (TimeoutError, asyncio.CancelledError, Exception):  # noqa: BLE001 - shutting down
                    pass
        await self.backends.aclose()
        await self.store.aclose()

    # ------------------------------------------------------------------ queries for front ends
    def runs(self) -> list[Run]:
        return sorted(self._runs.values(), key=lambda r: r.started, reverse=True)

    def get_run(self, run_id: str) -> Run | None:
        return self._runs.get(run_id)

    def node_names(self) -> list[str]:
        return self.inventory.cached_names()

    async def shared_runs(
        self, *, since_hours: float = 12.0, limit: int = 50, steps_of: Collection[str] = ()
    ) -> list[Run]:
        """Mutating runs other processes sharing the store started (the bot, other consoles, an
        approver's CLI), read back from the audit log: the open ones with their per-target steps,
        and recently finished ones with their outcome (and their steps too for the run ids in
        ``steps_of``: the one a console shows). This process's own runs are left out
        (:meth:`runs` has them live)."""
        from .store.base import AuditQuery

        def mutating(action: str) -> bool:
            return action in self.registry and self.registry.get(action).mutating

        def epoch(ts: str) -> float:
            return datetime.fromisoformat(ts).timestamp()

        async def read_steps(run: Run) -> None:
            for step in sorted(
                await self.store.query(AuditQuery(run_id=run.run_id, event="step", limit=10000)), key=lambda r: r.seq
            ):
                if step.targets and step.outcome:  # emitted: the history is the run's log in a console
                    run.emit(
                        Step(
                            target=step.targets[0],
                            status=step.outcome,  # type: ignore[arg-type]
                            detail=step.detail or "",
                        )
                    )

        found: dict[str, Run] = {}
        for rec in await self.store.open_runs():
            if rec.run_id in self._runs or not mutating(rec.action):
                continue
            run = Run(
                run_id=rec.run_id,
                action=rec.action,
                principal=rec.principal,
                channel=rec.channel,
                targets=list(rec.targets),
                params=dict(rec.params),
                dry_run=False,
                started=epoch(rec.ts),
            )
            await read_steps(run)
            found[rec.run_id] = run
        since = datetime.now(UTC) - timedelta(hours=since_hours)
        for rec in await self.store.query(AuditQuery(event="finished", since=since, limit=limit)):
            if rec.run_id in self._runs or rec.run_id in found or not mutating(rec.action):
                continue
            duration = rec.duration or 0.0
            run = Run(
                run_id=rec.run_id,
                action=rec.action,
                principal=rec.principal,
                channel=rec.channel,
                targets=list(rec.targets),
                params=dict(rec.params),
                dry_run=rec.outcome == "dry-run",
                started=epoch(rec.ts) - duration,
            )
            if rec.run_id in steps_of:
                await read_steps(run)
            run.finished = RunFinished(
                run_id=rec.run_id,
                outcome=rec.outcome or "failed",  # type: ignore[arg-type]
                duration=duration,
                summary=rec.detail or rec.error or "",
            )
            found[rec.run_id] = run
        return sorted(found.values(), key=lambda r: r.started, reverse=True)

    def decide(self, principal: str, action: str, targets: Sequence[Target] = ()) -> Decision:
        spec = self.registry.get(action)
        return self.policy.decide(
            principal, spec.name, spec.kind.value, list(targets), read_only=self.config.cluster.read_only
        )

    async def explain(self, principal: str, action: str, targets: str = "") -> tuple[Decision, list[str]]:
        """The decision for a hypothetical request and the rules behind it (``dcops policy check``).
        ``playbook:NAME`` asks about one playbook (actions whose RBAC name depends on their params)."""
        base, colon, _sub = action.partition(":")
        spec = self.registry.get(base if colon and base in self.registry else action)
        if colon and spec.policy_name is None:
            spec = self.registry.get(action)  # not a parametrised name: the usual "unknown action"
        resolved: list[Target]
        if not targets:
            resolved = [] if spec.targets is not TargetKind.NONE else [CLUSTER]
        elif spec.targets is TargetKind.JOBS:
            fake = spec.params.model_construct(jobs=targets.split(","))  # type: ignore[call-arg]
            resolved = await self._resolve(spec, fake)
        else:
            refs = await self.inventory.resolve(targets)
            resolved = [
                Target(kind="node", name=r.name, partitions=frozenset(r.partitions), labels=frozenset(r.labels))
                for r in refs
            ]
        name = action if colon and spec.policy_name is not None else spec.name
        decision = self.policy.decide(
            principal, name, spec.kind.value, resolved, read_only=self.config.cluster.read_only
        )
        lines = self.policy.explain(principal, name, spec.kind.value, resolved)
        if decision.allowed:
            needed = decision.approval or spec.approval
            decision = replace(decision, approval=needed)
            lines.insert(1, self._approval_note(spec, name, decision, principal))
        return decision, lines

    def _approval_note(self, spec: ActionSpec, name: str, decision: Decision, principal: str) -> str:
        """One line for ``policy check``: whether a second person must approve, and who may."""
        if not decision.approval:
            return "approval: not needed (no granting role asks for it on these targets)"
        why = (
            "the action always needs a second person"
            if spec.approval
            else "every role that could govern some target asks for it"
        )
        who = self.policy.approvers(name)
        return f"approval: needed ({why}); may approve or deny, never {principal} themself: " + (
            "; ".join(who) if who else "nobody — no role has approve = [...] for this action, so it cannot run"
        )

    def actions_for(self, principal: str) -> list[ActionSpec]:
        return [
            s for s in self.registry if self.decide(principal, s.name).allowed or self._some_name_allowed(principal, s)
        ]

    def _some_name_allowed(self, principal: str, spec: ActionSpec) -> bool:
        """For actions RBAC decides per parameter (``playbook:NAME``): may the principal run any of them?"""
        if spec.policy_names is None:
            return False
        try:
            names = spec.policy_names(self.config)
        except DcopsError:  # no playbook directory configured: nothing to run
            return False
        ro = self.config.cluster.read_only
        return any(self.policy.decide(principal, n, spec.kind.value, read_only=ro).allowed for n in names)

    async def approvals(self, state: str | None = "pending") -> list[Approval]:
        return await self.store.list_approvals(state)

    # ------------------------------------------------------------------ the flow
    async def submit(self, req: Request) -> Run:
        return await self._submit(req)

    async def _submit(self, req: Request, *, confirmed: bool = False) -> Run:
        """``confirmed``: the typed confirmation is already given by the way the request came
        (a second person's approval, ``resume`` of a confirmed run); never set by a front end."""
        ts, run_id = _now(), new_run_id()
        received = AuditEntry(
            ts=ts,
            run_id=run_id,
            event="received",
            principal=req.principal,
            channel=req.channel,
            action=req.action,
            owner=self.owner,
            detail=f"from alert {req.alert}" if req.alert else None,
        )
        try:
            prep = await self._prepare(req)
        except UsageError as exc:
            await self.store.append(
                [
                    received.model_copy(update={"params": redact(req.params)}),
                    received.model_copy(
                        update={"event": "invalid", "error": str(exc), "params": redact(req.params), "ts": _now()}
                    ),
                ]
            )
            raise
        except DcopsError as exc:  # a backend failed while resolving targets: audited as failed
            await self._failed_early(received.model_copy(update={"params": redact(req.params)}), exc)
            raise
        except Exception as exc:  # a bug while preparing: the request still leaves its trail
            log.exception("preparing %s crashed", req.action)
            await self._failed_early(
                received.model_copy(update={"params": redact(req.params)}),
                DcopsError(f"internal error preparing {req.action}: {type(exc).__name__}: {exc}".splitlines()[0]),
            )
            raise
        received = received.model_copy(update={"targets": prep.target_names, "params": prep.audit_params})
        decision = self._decide(req.principal, prep)
        if not decision.allowed and prep.spec.name == "stop":
            decision = await self._own_run(req.principal, prep, decision)
        if not decision.allowed:
            await self._refuse(received, decision.reason)
            raise DeniedError(decision.reason)
        approval = None
        if not prep.dry_run:
            try:
                await self._guards(prep, decision, received, confirmed=confirmed)
            except (DeniedError, ConfirmationRequired):
                raise
            except DcopsError as exc:  # the guard could not read the cluster: refuse, audited
                await self._failed_early(received, exc)
                raise
            approval = await self._approval(prep, decision, received)
        started = received.model_copy(
            update={
                "event": "started",
                "ts": _now(),
                "decision": "allow",
                "detail": decision.reason
                + (f"; approved by {approval.decided_by} ({approval.id})" if approval else "")
                + (f"; from alert {req.alert}" if req.alert else ""),
            }
        )
        await self.store.append([received, started])
        return self._launch(prep, run_id, started)

    async def reject(
        self,
        principal: str,
        channel: str,
        action: str,
        reason: str,
        *,
        params: dict | None = None,
        denied: bool = False,
    ) -> None:
        """Audit a request a front end refused before it could reach :meth:`submit` (a command
        line that does not parse, a Slack channel rule): every request leaves a trail."""
        received = AuditEntry(
            ts=_now(),
            run_id=new_run_id(),
            event="received",
            principal=principal,
            channel=channel,
            action=action or "?",
            params=redact(params or {}),
            owner=self.owner,
        )
        refusal = received.model_copy(
            update={
                "event": "denied" if denied else "invalid",
                "ts": _now(),
                "decision": "deny" if denied else None,
                "detail" if denied else "error": reason,
            }
        )
        await self.store.append([received, refusal])

    async def _prepare(self, req: Request) -> _Prepared:
        spec = self.registry.get(req.action)
        try:
            params = spec.params.model_validate(req.params)
        except ValidationError as exc:
            raise UsageError(describe(spec, exc)) from None
        if spec.prepare is not None:
            params = spec.prepare(params, self.config)
        if spec.check is not None:
            spec.check(params, self.backends)  # a request this cluster cannot run as given
        targets = await self._resolve(spec, params)
        prep = _Prepared(req, spec, params, targets, await self._implied(spec, params, targets))
        if req.resume_of:
            done = await self._done_in(req.resume_of)
            prep.decide_targets = [t for t in targets if t.kind != "node" or t.name not in done]
        return prep

    async def _implied(
        self, spec: ActionSpec, params: Params, targets: list[Target]
    ) -> list[tuple[ActionSpec, list[Target]]]:
        """The other actions these params perform, each with its REAL targets: a job action
        implied by a node action (drain --cancel-jobs) acts on the jobs running on those nodes,
        each job with every node it runs on, as a direct ``cancel`` of those jobs would see them."""
        if spec.implies is None:
            return []
        out: list[tuple[ActionSpec, list[Target]]] = []
        for other in spec.implies(params):
            ospec = self.registry.get(other)
            if ospec.targets is TargetKind.JOBS:
                nodes = [t.name for t in targets if t.kind == "node"]
                if not nodes or not self.backends.has(SlurmPort):
                    out.append((ospec, []))
                    continue
                from .backends.models import JobFilter  # here: a no-op action builds no backend models

                slurm = self.backends.get(SlurmPort)
                wanted = set(nodes)
                ids = list(dict.fromkeys(j for n in await slurm.nodes(nodes) if n.name in wanted for j in n.jobs))
                found = await slurm.jobs(JobFilter(job_ids=tuple(ids))) if ids else []
                out.append((ospec, [_job_target(j) for j in found]))
            else:
                out.append((ospec, list(targets)))
        return out

    async def _resolve(self, spec: ActionSpec, params: Params) -> list[Target]:
        if spec.targets is TargetKind.NODES:
            refs = await self.inventory.resolve(getattr(params, "nodes"))
            return [
                Target(kind="node", name=r.name, partitions=frozenset(r.partitions), labels=frozenset(r.labels))
                for r in refs
            ]
        if spec.targets is TargetKind.JOBS:
            from .backends.models import JobFilter  # here: a no-op action builds no backend models

            ids = [str(j) for j in getattr(params, "jobs")]
            slurm = self.backends.get(SlurmPort)
            if not ids and getattr(params, "user", None):  # cancel --user alice: her jobs, each decided
                ids = [
                    j.job_id
                    for j in await slurm.jobs(JobFilter(user=params.user))  # type: ignore[attr-defined]
                    if j.state.upper() in ("RUNNING", "PENDING", "SUSPENDED", "CONFIGURING")
                ]
                if not ids:
                    raise UsageError(f"{spec.name}: user {params.user} has no running or pending jobs")  # type: ignore[attr-defined]
            if not ids:
                raise UsageError(f"{spec.name}: give at least one job id")
            found = {j.job_id: j for j in await slurm.jobs(JobFilter(job_ids=tuple(ids)))}
            missing = [i for i in ids if i not in found]
            if missing:
                raise UsageError(f"{spec.name}: unknown job id{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
            return [_job_target(found[i]) for i in ids]
        return [CLUSTER]

    async def _own_run(self, principal: str, prep: _Prepared, refused: Decision) -> Decision:
        """``stop``: the run's requester and the person who approved it may always stop it; anyone
        else needs the policy's ``stop`` permission (e.g. admins), which ``refused`` said they lack."""
        from .store.base import AuditQuery

        run_id = str(getattr(prep.params, "run", ""))
        recs = await self.store.query(AuditQuery(run_id=run_id, event="started", limit=1))
        requester, detail = (recs[0].principal, recs[0].detail or "") if recs else ("", "")
        if principal == requester or (principal and f"approved by {principal} " in detail):
            return Decision(
                allowed=True, reason=f"allowed: {principal} may stop their own run {run_id}", allow_yes=True
            )
        return Decision(
            allowed=False,
            reason=f"{refused.reason}; a run may be stopped by the person who asked for "
            "it, its approver, or a principal the policy grants `stop`",
            roles=refused.roles,
            approval=False,
            allow_yes=False,
            max_targets=refused.max_targets,
        )

    def _decide(self, principal: str, prep: _Prepared) -> Decision:
        """The action's decision, combined with a full decision of every other action its params
        perform, on that action's real targets (:meth:`_implied`): a refusal of any part refuses
        the whole request; approval is needed when any part needs it; ``--yes`` only when every
        part allows it."""
        spec = prep.spec
        ro = self.config.cluster.read_only
        name = spec.policy_name(prep.params) if spec.policy_name is not None else spec.name
        decision = self.policy.decide(principal, name, spec.kind.value, prep.decide_targets, read_only=ro)
        if not decision.allowed:
            return decision
        approval, allow_yes, notes = decision.approval, decision.allow_yes, []
        for ospec, otargets in prep.implied:
            if not otargets:  # nothing for it to act on (no job runs there): nothing to decide
                continue
            what = f"{spec.name} with these options also performs {ospec.name} on {describe_targets(otargets)}"
            extra = self.policy.decide(principal, ospec.name, ospec.kind.value, otargets, read_only=ro)
            if not extra.allowed:
                return Decision(False, f"{extra.reason} (the request is refused as a whole: {what})", extra.roles)
            approval = approval or extra.approval or ospec.approval
            allow_yes = allow_yes and extra.allow_yes
            notes.append(f"{what}: {extra.reason.removeprefix('allowed: ')}")
        if notes:
            decision = replace(
                decision, reason="; ".join([decision.reason, *notes]), approval=approval, allow_yes=allow_yes
            )
        if spec.risks is not None:
            decision = self._decide_risks(principal, prep, decision)
        return decision

    def _decide_risks(self, principal: str, prep: _Prepared, decision: Decision) -> Decision:
        """A risky option (``--no-drain``) is a permission of its own, decided on the same targets as
        a destructive action named after the risk: a role must grant it (by name, glob or kind), a
        deny rule naming it forbids it, and an approval it needs is needed by the request."""
        spec = prep.spec
        for risk in spec.risks(prep.params) if spec.risks is not None else ():
            extra = self.policy.decide(
                principal, risk, "destructive", prep.decide_targets, read_only=self.config.cluster.read_only
            )
            if not extra.allowed:
                return Decision(
                    allowed=False,
                    reason=f"{extra.reason} (needed because {spec.name} with "
                    f"--{risk} takes a risk the policy must allow)",
                    roles=extra.roles,
                    approval=False,
                    allow_yes=False,
                    max_targets=extra.max_targets,
                )
            # limits never merge to loosen: the risk's own approval and --yes govern it too
            decision = dataclasses.replace(
                decision, approval=decision.approval or extra.approval, allow_yes=decision.allow_yes and extra.allow_yes
            )
        return decision

    async def _failed_early(self, received: AuditEntry, exc: DcopsError) -> None:
        await self.store.append(
            [
                received,
                received.model_copy(
                    update={"event": "finished", "ts": _now(), "outcome": "failed", "error": str(exc), "duration": 0.0}
                ),
            ]
        )

    async def _refuse(self, received: AuditEntry, reason: str) -> None:
        await self.store.append(
            [
                received,
                received.model_copy(update={"event": "denied", "ts": _now(), "decision": "deny", "detail": reason}),
            ]
        )

    async def _guards(
        self, prep: _Prepared, decision: Decision, received: AuditEntry, *, confirmed: bool = False
    ) -> None:
        spec, req = prep.spec, prep.req
        if spec.takes_out_of_service and prep.target_names and self.backends.has(SlurmPort):
            reason = await self._blast_radius(prep)
            if reason:
                await self._refuse(received, reason)
                raise DeniedError(reason)
        if not self.config.guards.confirm_destructive or confirmed:
            return
        needs = self._confirmations(prep)
        if not needs:
            return
        if req.yes and decision.allow_yes:
            return
        if len(needs) == 1:
            title, count, hl, what = needs[0]
            alternatives: tuple[str, ...] = (hl,)
            prompt = f"{title}: confirm by typing {count} or {hl} to act on {what}"
        else:  # several destructive parts: type the total count
            count = str(sum(int(n[1]) for n in needs))
            hl, alternatives = count, ()
            prompt = f"{'; '.join(f'{n[0]} ({n[3]})' for n in needs)}: confirm by typing {count}, the number of targets in all"
        if req.confirm is None:
            hint = "" if not req.yes else " (--yes is not allowed for you by the policy)"
            raise ConfirmationRequired(prompt + hint, token=count, alternatives=alternatives)
        if req.confirm.strip() not in (count, *alternatives):
            msg = f"confirmation {req.confirm!r} does not match: type {count}" + (f" or {hl}" if alternatives else "")
            await self.store.append(
                [received, received.model_copy(update={"event": "invalid", "ts": _now(), "error": msg})]
            )
            raise ConfirmationRequired(msg, token=count, alternatives=alternatives)

    def _confirmations(self, prep: _Prepared) -> list[tuple[str, str, str, str]]:
        """(title, count token, hostlist token, what) for each destructive part of the request:
        the action itself, and every implied destructive action on its real targets (drain
        --cancel-jobs asks for the same confirmation as ``cancel`` of those jobs)."""
        spec, out = prep.spec, []
        # a person at the keyboard is asked for guards.confirm_actions (drain, requeue) on every path
        asks_people = prep.req.interactive and spec.name in self.config.guards.confirm_actions
        if spec.confirm or asks_people:
            count = str(len(prep.target_names) or 1)
            hl = collapse(prep.target_names) if prep.target_names else spec.name
            what = (
                f"{len(prep.target_names)} node(s) {hl}"
                if spec.targets is TargetKind.NODES
                else f"{', '.join(prep.target_names) or 'the cluster'}"
            )
            out.append((f"{spec.name} {'is destructive' if spec.confirm else 'takes things away'}", count, hl, what))
        for ospec, otargets in prep.implied:
            names = [t.name for t in otargets if t.kind != "cluster"]
            if ospec.confirm and names:
                out.append(
                    (
                        f"{spec.name} also performs {ospec.name}, which is destructive",
                        str(len(names)),
                        collapse(names),
                        describe_targets(otargets),
                    )
                )
        return out

    async def _blast_radius(self, prep: _Prepared) -> str | None:
        limit = self.config.guards.max_partition_unavailable
        # states only (no squeue): the guard needs none, drain asks only the busy nodes for jobs
        nodes = await self.backends.get(SlurmPort).nodes(jobs=False)
        prep.slurm_nodes = nodes  # one read serves the guard and the action
        targets = set(prep.target_names)
        by_part: dict[str, list] = {}
        for n in nodes:
            for p in n.partitions:
                by_part.setdefault(p, []).append(n)
        for part, members in sorted(by_part.items()):
            hit = [n for n in members if n.name in targets]
            if not hit:
                continue
            out = sum(1 for n in members if n.unavailable or n.name in targets)
            share = out / len(members)
            if share > limit:
                return (
                    f"refused: {prep.spec.name} of {collapse(n.name for n in hit)} would leave {out} of "
                    f"{len(members)} nodes ({share:.0%}) of partition {part} out of service; the limit is "
                    f"{limit:.0%} (guards.max_partition_unavailable)"
                )
        return None

    async def _approval(self, prep: _Prepared, decision: Decision, received: AuditEntry) -> Approval | None:
        spec, req = prep.spec, prep.req
        if not (spec.approval or decision.approval):
            return None
        if req.resume_of and await self._was_approved(req.resume_of, req.principal):
            return None  # its requester finishing an approved run needs no second approval
        appr: Approval | None
        if req.approval_id is None:
            now = datetime.now(UTC)
            appr = Approval(
                id="a-" + secrets.token_hex(4),
                created=now.isoformat(),
                expires=(now + timedelta(seconds=self.config.guards.approval_ttl)).isoformat(),
                requester=req.principal,
                channel=req.channel,
                action=spec.name,
                params=prep.audit_params,
                targets=prep.target_names,
                resume_of=req.resume_of,
            )
            await self.store.create_approval(appr)
            await self.store.append(
                [
                    received,
                    received.model_copy(
                        update={
                            "event": "approval-requested",
                            "ts": _now(),
                            "detail": f"approval {appr.id} pending "
                            + (f"({prep.implied_text}) " if prep.implied_text else "")
                            + tag(appr),
                        }
                    ),
                ]
            )
            raise ApprovalRequired(
                f"{spec.name} needs a second person's approval: ask someone to run "
                f"`approve {appr.id}` (expires in {self.config.guards.approval_ttl / 60:.0f} min)",
                approval_id=appr.id,
            )
        appr = await self.store.get_approval(req.approval_id)
        problem = None
        if appr is None:
            problem = f"no approval request {req.approval_id}"
        elif appr.requester != req.principal:
            problem = f"approval {appr.id} was asked by {appr.requester}, not {req.principal}"
        elif (
            appr.action != spec.name
            or appr.params != prep.audit_params
            or appr.targets != prep.target_names
            or appr.resume_of != req.resume_of
        ):
            problem = f"approval {appr.id} was given for a different request"
        elif appr.state != "granted":
            problem = f"approval {appr.id} is {appr.state}, not granted"
        elif datetime.fromisoformat(appr.expires) < datetime.now(UTC):
            problem = f"approval {appr.id} expired at {appr.expires}"
        elif unrecorded := await grant_problem(self.store, appr):
            problem = unrecorded  # the row says granted; the chain must say so too
        else:
            try:
                await self.store.decide_approval(appr.id, "used", req.principal, None, expect="granted")
            except ApprovalTaken:
                problem = f"approval {appr.id} was already used"
            else:
                await self.store.append(
                    [
                        received.model_copy(
                            update={
                                "event": "approval-used",
                                "run_id": appr.id,
                                "ts": _now(),
                                "detail": f"used by run {received.run_id}",
                            }
                        )
                    ]
                )
        if problem:
            await self._refuse(received, "denied: " + problem)
            raise DeniedError("denied: " + problem)
        return appr

    async def _was_approved(self, run_id: str, principal: str) -> bool:
        """Was run ``run_id`` started by ``principal`` with a second person's approval? Only its
        own requester inherits that approval; anyone else resuming it asks for a new one."""
        from .store.base import AuditQuery

        recs = await self.store.query(AuditQuery(run_id=run_id, event="started", limit=1))
        return bool(recs) and recs[0].principal == principal and "approved by" in (recs[0].detail or "")

    # ------------------------------------------------------------------ approvals by a second person
    async def approve(self, approval_id: str, approver: str, channel: str, *, alert: str | None = None) -> Run:
        """Grant a pending approval and run the request on behalf of its requester (``alert``: the
        fingerprint of the alert the request was started from, for the audit record)."""
        appr = await self._decide_approval(approval_id, approver, channel, grant=True, reason=None)
        return await self._submit(
            Request(
                principal=appr.requester,
                channel=appr.channel,
                action=appr.action,
                params=appr.params,
                approval_id=appr.id,
                resume_of=appr.resume_of,
                alert=alert,
            ),
            confirmed=True,
        )

    async def deny(self, approval_id: str, approver: str, channel: str, reason: str = "") -> Approval:
        """Refuse a pending request: a permission like approving (never the requester's own)."""
        return await self._decide_approval(approval_id, approver, channel, grant=False, reason=reason)

    async def withdraw(self, approval_id: str, principal: str, channel: str, reason: str = "") -> Approval:
        """The requester takes back their own pending request (audited); nobody else may."""
        appr = await self.store.get_approval(approval_id)
        if appr is None:
            raise NotFound(f"no approval request {approval_id!r}; `approvals` lists the pending ones")
        entry = AuditEntry(
            ts=_now(),
            run_id=appr.id,
            event="approval-refused",
            principal=principal,
            channel=channel,
            action=appr.action,
            targets=appr.targets,
            params=appr.params,
            owner=self.owner,
        )
        problem = None
        decided = appr
        if principal != appr.requester:
            problem = (
                f"{principal} may not withdraw {appr.id}: only its requester {appr.requester} may; "
                f"a principal the policy lets approve {appr.action} may deny it"
            )
        elif appr.state != "pending":
            problem = f"approval {appr.id} is already {appr.state}"
        if problem is None:
            try:
                decided = await self.store.decide_approval(appr.id, "withdrawn", principal, reason or "withdrawn")
            except ApprovalTaken as lost:
                problem = f"approval {appr.id} was decided by someone else first ({lost.current.state})"
        if problem:
            await self.store.append([entry.model_copy(update={"decision": "deny", "detail": "denied: " + problem})])
            raise DeniedError("denied: " + problem)
        await self.store.append(
            [
                entry.model_copy(
                    update={
                        "event": "approval-withdrawn",
                        "decision": None,
                        "detail": f"{principal} withdrew {appr.id} {tag(decided)}" + (f": {reason}" if reason else ""),
                    }
                )
            ]
        )
        return decided

    async def _decide_approval(
        self, approval_id: str, approver: str, channel: str, *, grant: bool, reason: str | None
    ) -> Approval:
        appr = await self.store.get_approval(approval_id)
        if appr is None:
            raise NotFound(f"no approval request {approval_id!r}; `approvals` lists the pending ones")
        entry = AuditEntry(
            ts=_now(),
            run_id=appr.id,
            event="approval-refused",
            principal=approver,
            channel=channel,
            action=appr.action,
            targets=appr.targets,
            params=appr.params,
            owner=self.owner,
        )
        verb = "approve" if grant else "deny"
        problem = None
        if appr.state != "pending":
            problem = f"approval {appr.id} is already {appr.state}"
        elif approver == appr.requester:
            problem = f"{approver} asked for {appr.id} and cannot {verb} it; another person must" + (
                "" if grant else f" (to take it back: withdraw {appr.id})"
            )
        elif datetime.fromisoformat(appr.expires) < datetime.now(UTC):
            problem = f"approval {appr.id} expired at {appr.expires}"
            with contextlib.suppress(ApprovalTaken):  # someone else closed it first: still refused
                await self.store.decide_approval(appr.id, "expired", approver, "expired")
        else:
            why = await self._approver_refusal(appr, approver, grant=grant)
            if why:
                problem = f"{approver} may not {verb} {appr.id}: {why}"
        if problem:
            await self.store.append([entry.model_copy(update={"decision": "deny", "detail": "denied: " + problem})])
            raise DeniedError("denied: " + problem)
        state = "granted" if grant else "denied"
        try:
            decided = await self.store.decide_approval(appr.id, state, approver, reason)
        except ApprovalTaken as lost:
            raise DeniedError(f"approval {appr.id} was decided by someone else first ({lost.current.state})") from None
        await self.store.append(
            [
                entry.model_copy(
                    update={
                        "event": "approval-granted" if grant else "approval-refused",
                        "decision": "allow" if grant else "deny",
                        "detail": f"{approver} {'approved' if grant else 'denied'} {appr.id} asked by {appr.requester} "
                        f"{tag(decided)}" + (f": {reason}" if reason else ""),
                    }
                )
            ]
        )
        return decided

    async def _approver_refusal(self, appr: Approval, approver: str, *, grant: bool) -> str | None:
        """Why ``approver`` may not decide ``appr`` (None: they may). The policy must let them
        approve every part of the request that needs approval (the action, and each action its
        params imply) on that part's real targets, as they are now."""
        spec = self.registry.get(appr.action)
        try:
            params = spec.params.model_validate(appr.params)
            targets = await self._resolve(spec, params)
            implied = await self._implied(spec, params, targets)
        except (ValidationError, DcopsError) as exc:
            if grant:
                return f"the request can no longer be prepared ({str(exc).splitlines()[0]})"
            # denying a request that cannot run any more: judge it on the names it was asked for
            target_kind: Literal["job", "node"] = "job" if spec.targets is TargetKind.JOBS else "node"
            targets, implied, params = [Target(kind=target_kind, name=n) for n in appr.targets] or [CLUSTER], [], None
        ro = self.config.cluster.read_only
        # (action or risk name, kind, targets, needs approval whatever the policy says)
        name = spec.policy_name(params) if spec.policy_name is not None and params is not None else spec.name
        parts = [
            (name, spec.kind.value, targets, spec.approval),
            *((o.name, o.kind.value, t, o.approval) for o, t in implied if t),
            *(
                (risk, "destructive", targets, False)
                for risk in (spec.risks(params) if spec.risks and params is not None else ())
            ),
        ]
        needing = [
            part
            for part in parts
            if part[3] or self.policy.decide(appr.requester, part[0], part[1], part[2], read_only=ro).approval
        ]
        for name, kind, where, _ in needing or parts[:1]:
            d = self.policy.may_approve(approver, name, kind, where, requester=appr.requester)
            if not d.allowed:
                return d.reason.removeprefix("denied: ")
        return None

    # ------------------------------------------------------------------ resume a journaled run
    async def resume_run(self, run_id: str, principal: str, channel: str) -> Run:
        """Finish what run ``run_id`` left undone. This is a new request for the remaining work:
        RBAC decides it for ``principal`` on the targets not yet done, and only the run's own
        requester inherits its approval; anyone else needs one of their own."""
        from .store.base import AuditQuery

        recs = await self.store.query(AuditQuery(run_id=run_id, event="started", limit=1))
        if not recs:
            raise NotFound(f"no run {run_id!r} in the audit log")
        rec = recs[0]
        spec = self.registry.get(rec.action)
        if not spec.resumable:
            raise UsageError(
                f"run {run_id} ({rec.action}) cannot be resumed; resumable actions: "
                + ", ".join(s.name for s in self.registry if s.resumable)
            )
        live = self._runs.get(run_id)
        if live is not None and live.active:
            raise UsageError(f"run {run_id} is still running")
        if spec.targets is TargetKind.NODES and rec.targets and set(rec.targets) <= await self._done_in(run_id):
            raise UsageError(f"run {run_id} left nothing undone: every target is done")
        return await self._submit(
            Request(principal=principal, channel=channel, action=rec.action, params=rec.params, resume_of=run_id),
            confirmed=True,
        )

    async def _done_in(self, run_id: str) -> set[str]:
        """Nodes a resumable run's journal marks done (``node/NAME`` with phase ``done``)."""
        journal = await self.store.journal_items(run_id)
        return {
            k.removeprefix("node/")
            for k, v in journal.items()
            if k.startswith("node/") and isinstance(v, dict) and v.get("phase") == "done"
        }

    # ------------------------------------------------------------------ execution
    def _launch(self, prep: _Prepared, run_id: str, started: AuditEntry) -> Run:
        run = Run(
            run_id=run_id,
            action=prep.spec.name,
            principal=prep.req.principal,
            channel=prep.req.channel,
            targets=prep.target_names,
            params=prep.audit_params,
            dry_run=prep.dry_run,
        )
        # validated, not model_construct: pydantic-core's validation (~1.7 µs) costs half of
        # model_construct's walk over the fields in Python (~3.4 µs)
        run.emit(RunStarted(run_id=run_id, action=run.action, targets=run.targets, dry_run=run.dry_run))
        self._runs[run_id] = run
        run._task = asyncio.create_task(self._execute(run, prep, started), name=f"dcops-run-{run_id}")
        return run

    def _retire(self, run: Run) -> None:
        """Keep the newest runs for the operations view, but only the newest few with their full
        result data: a console refreshing a 10,000-node fleet would otherwise hold every refresh's
        rows. Older runs keep their outcome, summary and per-target steps. O(1) per finished run."""
        self._finished.append(run)
        if len(self._finished) > self._keep_full:
            old = self._finished.popleft()
            if old.result is not None and (
                old.result.data is not None or old.result.table is not None or old.result.rows is not None
            ):  # the typed rows too: a 10k-node fleet's are ~15 MB a refresh
                old.result = old.result.model_copy(update={"data": None, "table": None, "rows": None})
                old.history = [e if not isinstance(e, Result) else old.result for e in old.history]
        while len(self._runs) > self._keep_recent:
            oldest = next(iter(self._runs.values()))
            if oldest.active:
                break
            self._runs.pop(oldest.run_id)

    async def _execute(self, run: Run, prep: _Prepared, started: AuditEntry) -> None:
        spec = prep.spec
        t0 = time.monotonic()
        outcome: Outcome = "dry-run" if prep.dry_run else "ok"
        error, summary = None, ""
        error_code: int | None = None
        lock = None
        steps: list[AuditEntry] = []  # step records of a run of Step(more=True) not yet written
        watcher = (
            asyncio.create_task(self._watch_stop(run), name=f"dcops-stop-{run.run_id}")
            if spec.mutating and not prep.dry_run
            else None
        )
        try:
            if spec.takes_locks and not prep.dry_run and prep.target_names:
                lock = await self.store.lock(prep.target_names, run.run_id, self.config.guards.lock_wait)
            if prep.req.resume_of:
                await self.store.journal_copy(prep.req.resume_of, run.run_id)
                run.emit(Log(message=f"resuming run {prep.req.resume_of}: finishing only what it left undone"))
            ctx = ActionContext(
                run_id=run.run_id,
                principal=run.principal,
                channel=run.channel,
                spec=spec,
                params=prep.params,
                targets=prep.targets,
                backends=self.backends,
                config=self.config,
                journal=_Journal(self.store, run.run_id),
                store=self.store,
                dry_run=prep.dry_run,
                resumed_from=prep.req.resume_of,
                implied={o.name: {t.name: t.nodes for t in ts} for o, ts in prep.implied}
                if prep.spec.implies is not None
                else None,
                extras={"slurm_nodes": {n.name: n for n in prep.slurm_nodes}} if prep.slurm_nodes else {},
            )
            async with asyncio.timeout(spec.timeout or self.config.guards.default_timeout):
                async for event in spec.run(ctx, prep.params):
                    run.emit(event)
                    if isinstance(event, Step) and event.keep and event.status in _TERMINAL:
                        steps.append(
                            started.model_copy(
                                update={
                                    "event": "step",
                                    "ts": _now(),
                                    "targets": [event.target],
                                    "decision": None,
                                    "outcome": event.status,
                                    "detail": event.detail,
                                }
                            )
                        )
                        if not event.more:  # the op's next move may change the cluster: record first
                            await self.store.append(steps)
                            steps = []
                    elif isinstance(event, Result):
                        summary = event.summary
                        if not event.ok:
                            outcome = "failed"
                    elif isinstance(event, Error):
                        outcome, error = "failed", event.message
        except asyncio.CancelledError:
            outcome, error = "cancelled", f"cancelled by {run.stopped_by or 'the operator'}"
            if steps:  # (an op that awaited inside a run of more=True steps) written before the settle's
                steps, pending = [], steps
                await self.store.append(pending)
            if spec.mutating and not prep.dry_run and prep.target_names:
                summary = await self._settle(run, started)
        except TimeoutError:
            outcome, error = "failed", f"timed out after {spec.timeout or self.config.guards.default_timeout:.0f}s"
            run.emit(Error(message=error))
        except DcopsError as exc:
            outcome, error, error_code = "failed", str(exc), exc.exit_code
            run.emit(Error(message=error))
        except Exception as exc:
            log.exception("action %s (run %s) crashed", spec.name, run.run_id)
            outcome, error = "failed", f"internal error in {spec.name}: {type(exc).__name__}: {exc}".splitlines()[0]
            run.emit(Error(message=error))
        finally:
            if watcher is not None:
                watcher.cancel()
            if lock is not None:
                await lock.release()
            duration = time.monotonic() - t0
            if outcome != "ok" and not summary:
                summary = error or outcome
            try:
                # not shielded: the SQLite fast path writes without suspending, so a second cancel
                # cannot interrupt it; the thread path finishes the transaction on its own thread
                await self.store.append(
                    [
                        *steps,  # steps of an op that ended inside a run of more=True steps: before it
                        started.model_copy(
                            update={
                                "event": "finished",
                                "ts": _now(),
                                "decision": None,
                                "outcome": outcome,
                                "duration": round(duration, 6),
                                "error": error,
                                "detail": summary,
                            }
                        ),
                    ]
                )
            except Exception as exc:  # noqa: BLE001 - the cluster was touched; say loudly that the record is missing
                log.error("audit 'finished' record for run %s not written: %s", run.run_id, exc)
                run.emit(Error(message=f"audit record for run {run.run_id} could not be written: {exc}"))
            left = (
                run.result.data.get("left_out_of_service", [])
                if (outcome == "cancelled" and run.result is not None and isinstance(run.result.data, dict))
                else []
            )
            run.emit(
                RunFinished(
                    run_id=run.run_id,
                    outcome=outcome,
                    duration=duration,
                    summary=summary,
                    exit_code=error_code,
                    left_out_of_service=left,
                    stopped_by=run.stopped_by if outcome == "cancelled" else None,
                )
            )
            self._retire(run)

    async def _watch_stop(self, run: Run) -> None:
        """Stop the run when a `stop` request for it lands in the shared store (from any console,
        the CLI or the bot): the process that runs it is the only one that can cancel it."""
        while run.active:
            await asyncio.sleep(STOP_POLL)
            try:
                req = await self.store.journal_get(run.run_id, STOP_KEY)
            except Exception as exc:  # noqa: BLE001 - a store hiccup must not kill the run it watches
                log.warning("stop watcher for %s: %s", run.run_id, exc)
                continue
            if isinstance(req, dict) and req.get("run") == run.run_id:  # not one copied from a resumed run
                run.cancel(by=str(req.get("by") or "someone"))
                return

    async def _settle(self, run: Run, started: AuditEntry) -> str:
        """After a stop: give every target a final state from what Slurm shows now, audit the
        targets that did not finish, and return the summary naming the nodes left out of service."""
        drained: dict[str, str] = {}
        if self.backends.has(SlurmPort):
            drained = await drained_now(self.backends.get(SlurmPort), run.targets)
        states = final_states(run.targets, run.steps, drained, run.run_id)
        left = leftovers(states, drained, run.run_id)
        records = []
        for target, (state, detail) in states.items():
            status = STEP_STATUS[state]
            run.emit(Step(target=target, status=status, detail=f"{state}: {detail}", keep=False))  # type: ignore[arg-type]
            if state != "done":
                records.append(
                    started.model_copy(
                        update={
                            "event": "step",
                            "ts": _now(),
                            "targets": [target],
                            "decision": None,
                            "outcome": status,
                            "detail": f"{state} after the stop: {detail}",
                        }
                    )
                )
        result = settle_result(run.action, states, left, run.stopped_by or "the operator")
        run.emit(result)
        if records:
            try:
                await self.store.append(records)
            except Exception as exc:  # noqa: BLE001 - the stop already happened; the log says the record is missing
                log.error("audit step records after the stop of %s not written: %s", run.run_id, exc)
        return result.summary


async def open_engine(
    config: DcopsConfig,
    *,
    policy: Policy | None = None,
    store: Store | None = None,
    backends: Backends | None = None,
    review: bool = False,
    warm_inventory: bool = True,
) -> Engine:
    """Everything a front end needs, built from one config. ``review``: for reading the audit log
    (verify, list), which must open even a log that fails its seals, to say how. ``warm_inventory``:
    read the node inventory now (long-running front ends) rather than on the first hostlist."""
    from .backends.factory import build_backends
    from .store import open_store

    if policy is None:
        if config.cluster.demo and not config.policy.path:
            policy = Policy.demo()
        else:
            from .config import default_config_path

            path = config.policy.path or str(default_config_path().with_name("policy.toml"))
            policy = Policy.load(path)
    if store is None:
        store = open_store(config.audit.effective_url(), lock_dir=config.audit.lock_dir)
    if config.audit.sealing:  # (the sealing code and its cryptography are imported only for a sealed log)
        from .seal.setup import sealed_store

        try:
            store = await sealed_store(config, store, review=review)
        except BaseException:
            await store.aclose()
            raise
    if backends is None:
        backends = build_backends(config)
    engine = Engine(config, backends, store, policy)
    await engine.start(warm_inventory=warm_inventory)
    return engine
