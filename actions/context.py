"""What an action sees while it runs: its params, its resolved targets, the backends, a journal
for resumable work, and helpers (fan-out, reason stamping). Built by the engine, one per run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .fanout import Fanout, StepFn
from .targets import Target

if TYPE_CHECKING:
    from .backends.bundle import Backends
    from .config import DcopsConfig
    from .registry import ActionSpec, Params
    from .store.base import Store


class Journal(Protocol):
    """Per-run key/value progress that survives the process (for `dcops resume RUN_ID`)."""

    async def get(self, key: str) -> Any | None: ...
    async def put(self, key: str, value: Any) -> None: ...
    async def items(self) -> dict[str, Any]: ...


@dataclass
class ActionContext:
    run_id: str
    principal: str
    channel: str
    spec: ActionSpec
    params: Params
    targets: list[Target]
    backends: Backends
    config: DcopsConfig
    journal: Journal
    store: Store
    dry_run: bool = False
    resumed_from: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    # for each other action the params perform (drain --cancel-jobs -> cancel), the targets RBAC
    # decided it on, each with the nodes it runs on; the action must not act on any other (a job
    # that started after the decision was not decided). None: no implied actions were decided.
    implied: dict[str, dict[str, tuple[str, ...]]] | None = None

    @property
    def nodes(self) -> list[str]:
        """Target node names (for node actions), in hostlist order."""
        return [t.name for t in self.targets if t.kind == "node"]

    @property
    def job_ids(self) -> list[str]:
        return [t.name for t in self.targets if t.kind == "job"]

    def stamp(self, reason: str) -> str:
        """A reason as Slurm will show it, saying who did it and from where."""
        return f"{reason} [{self.principal} via {self.channel}]"

    def fanout(
        self,
        items: Sequence[str],
        fn: StepFn,
        *,
        max_parallel: int = 16,
        max_failures: int | None = None,
        label: str = "",
    ) -> Fanout:
        return Fanout(items, fn, max_parallel=max_parallel, max_failures=max_failures, label=label)
