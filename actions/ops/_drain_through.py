"""The schedulers a node procedure (firmware-update, reimage) takes a node out of service through:
Slurm, Kubernetes, both, or none.

A cluster with only Kubernetes, or only BMCs, is normal: these procedures must not need Slurm.
Before acting on a node they drain it in every scheduler the cluster has (Slurm: drain and wait
until no job is left; Kubernetes: cordon and evict, honouring PodDisruptionBudgets), and afterwards
return it to service in each, except where it was already out of service before (then it is left
as found). With no scheduler there is nothing to drain through: a real run then needs an explicit
``--no-drain`` (:func:`check_drain_possible`, run before the request is started), and ``--no-drain``
is a risk RBAC decides on its own (:data:`NO_DRAIN_RISK`), so a policy can forbid it. A dry run never
fails for a missing scheduler: its plan says what a real run would do (:func:`plan_text`).
"""

from __future__ import annotations

import logging
from typing import Any

from ..backends.bundle import Backends
from ..backends.models import KubeNode
from ..backends.ports import KubePort, SlurmPort
from ..backends.registry import spec_for
from ..context import ActionContext
from ..errors import BackendError, DcopsError, UsageError
from ._fresh_read import FreshRead
from ._node_steps import StepFailed, hold_drained, slurm_node, until, wait_idle, wait_slurm_responding

log = logging.getLogger(__name__)

NO_DRAIN_RISK = "no-drain"  # the permission a role must grant for --no-drain (deny rules can name it)
_SCHEDULERS = (SlurmPort, KubePort)


def _ours(reason: str) -> bool:
    """A drain reason a firmware-update or reimage run wrote (an earlier run of a resumed one)."""
    return any(mark in reason for mark in ("(run ", "firmware-update run ", "reimage run "))


def schedulers(backends: Backends) -> list[str]:
    """The configured schedulers' labels, "Slurm" and/or "Kubernetes"."""
    return [spec_for(port).label for port in _SCHEDULERS if backends.has(port)]


def no_drain_risks(params: Any) -> tuple[str, ...]:
    """``ActionSpec.risks``: ``--no-drain`` is decided by RBAC as the risk ``no-drain``."""
    return (NO_DRAIN_RISK,) if getattr(params, "no_drain", False) else ()


def check_drain_possible(params: Any, backends: Backends) -> None:
    """``ActionSpec.check``: with no scheduler configured, a real run needs ``--no-drain`` (a dry
    run goes through and says so in its plan). Raises the one-line UsageError before anything runs."""
    if getattr(params, "dry_run", False) or getattr(params, "no_drain", False) or schedulers(backends):
        return
    raise UsageError(
        "this cluster has no scheduler to drain the nodes through (no [slurm] or [kube] section), "
        "so they would be worked on while in service; add --no-drain to go ahead without draining"
    )


NO_SCHEDULER = "this cluster has no scheduler (no [slurm] or [kube] section) to drain nodes in or resume them from"


def check_scheduler_exists(params: Any, backends: Backends) -> None:
    """``ActionSpec.check`` for drain and resume: without a scheduler a real run is bad input (a dry
    run goes through and says it would change nothing)."""
    if not getattr(params, "dry_run", False) and not schedulers(backends):
        raise UsageError(NO_SCHEDULER)


def plan_text(backends: Backends, no_drain: bool) -> str:
    """One line for a plan: how the nodes would be taken out of service."""
    names = schedulers(backends)
    if no_drain:
        return "not drained (--no-drain): jobs and pods on the nodes keep running" + (
            f" although {' and '.join(names)} could drain them" if names else ""
        )
    if not names:
        return "no scheduler to drain through (no [slurm] or [kube]): a real run needs --no-drain"
    return f"drained through {' and '.join(names)} first, returned to service after"


class DrainThrough:
    """Takes one node at a time out of service in every configured scheduler and back.

    The per-node state it needs later (was the node already out of service?) goes into the
    caller's journal dict, so a resumed run restores what the first run found."""

    def __init__(self, ctx: ActionContext, *, no_drain: bool = False) -> None:
        self.ctx = ctx
        self.no_drain = no_drain
        self.slurm = ctx.backends.find(SlurmPort) if not no_drain else None
        self.kube = ctx.backends.find(KubePort) if not no_drain else None
        self._kube_names: dict[str, str] | None = None
        # the cluster's nodes, one read shared by the nodes polling at once (never older than the ask)
        self._kube_nodes = FreshRead(self.kube.nodes) if self.kube is not None else None

    @property
    def active(self) -> bool:
        """True when the node is really taken out of service (some scheduler, no --no-drain)."""
        return self.slurm is not None or self.kube is not None

    @property
    def drained_text(self) -> str:
        return "drained" if self.active else "not drained (--no-drain)"

    async def _kube_name(self, node: str) -> str | None:
        """The node's Kubernetes name, or None when it is not a Kubernetes node."""
        if self.kube is None:
            return None
        if self._kube_names is None:
            from .kube_nodes import kube_name

            assert self._kube_nodes is not None
            known = {n.name for n in await self._kube_nodes.get()}
            self._kube_names = {n: kube_name(self.ctx, n) for n in self.ctx.nodes if kube_name(self.ctx, n) in known}
        return self._kube_names.get(node)

    async def _kube_node(self, name: str) -> KubeNode:
        assert self._kube_nodes is not None
        found = [n for n in await self._kube_nodes.get() if n.name == name]
        if not found:
            raise BackendError(f"kube: no node {name}")
        return found[0]

    async def note_found(self, node: str, state: dict[str, Any]) -> None:
        """Record whether the node was already out of service (someone else's drain or cordon), so
        :meth:`release` leaves it so."""
        if self.slurm is not None:
            found = await slurm_node(self.slurm, node)
            if found.drain_flag and not _ours(found.reason):
                state["found_drained"] = found.reason or "drained before this run"
        kname = await self._kube_name(node)
        if kname is not None and (await self._kube_node(kname)).unschedulable:
            state["found_cordoned"] = True

    async def drain(self, node: str, reason: str) -> None:
        """Ask every scheduler to stop placing work on the node (Slurm drain, Kubernetes cordon)."""
        if self.slurm is not None:
            await self.slurm.drain([node], reason)
        kname = await self._kube_name(node)
        if kname is not None:
            assert self.kube is not None
            await self.kube.cordon(kname)

    async def wait_idle(self, node: str, timeout: float) -> None:
        """Until no work is left: Slurm's jobs finished, Kubernetes' pods evicted (PDBs honoured)."""
        if self.slurm is not None:
            await wait_idle(self.slurm, node, timeout)
        kname = await self._kube_name(node)
        if kname is not None:
            assert self.kube is not None
            grace = self.ctx.config.kube.grace_period if self.ctx.config.kube is not None else None
            report = await self.kube.drain(kname, timeout=timeout, grace_period=grace)
            if report.blocked:
                blocked = "; ".join(f"{b.namespace}/{b.name} ({b.reason})" for b in report.blocked)
                raise StepFailed(f"k8s: {kname} cordoned but pods could not be evicted within {timeout:g} s: {blocked}")

    async def wait_back(self, node: str, timeout: float) -> None:
        """After a reboot: until every scheduler sees the node again (slurmd registered, kubelet Ready)."""
        if self.slurm is not None:
            await wait_slurm_responding(self.slurm, node, timeout)
        kname = await self._kube_name(node)
        if kname is not None:

            async def ready() -> bool:
                return (await self._kube_node(kname)).ready

            await until(ready, timeout=timeout, what=f"Kubernetes node {kname} to be Ready")

    async def release(self, node: str, state: dict[str, Any]) -> str:
        """Return the node to service in each scheduler, or leave it as it was found; returns a
        note for the step line ("" when it simply went back)."""
        notes = []
        if self.slurm is not None:
            if state.get("found_drained"):
                await self.slurm.drain([node], state["found_drained"])
                notes.append(f"left drained as found ({state['found_drained']})")
            else:
                await self.slurm.resume([node])
        kname = await self._kube_name(node)
        if kname is not None:
            assert self.kube is not None
            if state.get("found_cordoned"):
                notes.append(f"left cordoned in Kubernetes as found ({kname})")
            else:
                await self.kube.uncordon(kname)
        return "; ".join(notes)

    def returned_text(self, state: dict[str, Any]) -> str:
        if not self.active:
            return ""
        return "" if state.get("found_drained") or state.get("found_cordoned") else " and resumed"

    async def hold(self, node: str, reason: str) -> None:
        """Keep a failed node out of service with ``reason`` (best effort: the failure is reported anyway)."""
        if self.slurm is not None:
            await hold_drained(self.slurm, node, reason)
        try:
            kname = await self._kube_name(node)
            if kname is not None:
                assert self.kube is not None
                await self.kube.cordon(kname)
        except DcopsError as exc:
            log.warning("could not keep %s cordoned: %s", node, exc)
