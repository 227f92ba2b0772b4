"""``playbook`` / ``playbooks``: approved Ansible playbooks as audited actions.

``playbook nvidia-driver gpu[001-004] --var driver_version=550.54.15`` runs ``nvidia-driver.yml``
from ``[ansible] playbook_dir`` (the demo uses ``actions/ansible/demo_playbooks``) on those nodes
with dcops' inventory. Before RBAC the request is checked against the catalog (an approved name,
declared vars of the right type) and the playbook's SHA-256 is written into its params, so the
audit record names the exact content and an approval is only good for those bytes. RBAC decides
on ``playbook:NAME``: the policy grants, scopes, limits and asks approval per playbook. ``--dry-run``
(or ``--check``) runs ``ansible-playbook --check --diff``: Ansible connects and reports what would
change, changes nothing, takes no node locks and is audited as a dry run.

Per-host progress is the engine's ``Step`` events (the task a host is on; failed and unreachable
hosts named with Ansible's message as soon as they fail), each task start is a ``Log`` line, diffs
are ``Log`` lines, and the result is one row per host with the recap counters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pydantic import Field, computed_field

from ..ansible import catalog
from ..backends.ansible_models import PlaybookJob
from ..backends.ports import AnsiblePort
from ..config.model import DcopsConfig
from ..context import ActionContext
from ..errors import UsageError
from ..events import ActionEvent, Log, Result
from ..hostlists import collapse
from ..registry import Kind, Params, TargetKind, action
from ..result_rows import Row, hidden
from ._ansible_run import CheckParams, HostRecapRow, follow

DEMO_DIR = Path(__file__).resolve().parent.parent / "ansible" / "demo_playbooks"


def playbook_dir(config: DcopsConfig) -> Path:
    if config.ansible is not None:
        return Path(config.ansible.playbook_dir)
    if config.cluster.demo:
        return DEMO_DIR
    raise UsageError("playbook: this cluster has no [ansible] section (playbook_dir = the approved playbooks)")


class PlaybookParams(CheckParams):
    playbook: str = Field(description="the approved playbook's name (`playbooks` lists them), not a path")
    nodes: str = Field(description="nodes to run it on (hostlist)")
    var: list[str] | dict[str, Any] = Field(
        [],
        json_schema_extra={"metavar": "NAME=VALUE"},
        description="extra variable the playbook declares (repeat for more)",
    )
    diff: bool = Field(False, description="show what changed on each host (ansible-playbook --diff)")
    sha256: str | None = Field(None, description="refuse unless the playbook's content has this SHA-256")


def _given_vars(var: list[str] | dict[str, Any]) -> dict[str, Any]:
    """``--var a=1 --var pkgs=x,y`` (the grammar splits values on commas: a piece without ``=``
    continues the previous value) or a mapping from the Python API."""
    if isinstance(var, dict):
        return dict(var)
    out: dict[str, Any] = {}
    last: str | None = None
    for item in var:
        name, eq, value = item.partition("=")
        if not eq:
            if last is None:
                raise UsageError(f"playbook: --var {item!r} is not NAME=VALUE")
            out[last] = f"{out[last]},{item}"
            continue
        name = name.strip()
        if not name:
            raise UsageError(f"playbook: --var {item!r} is not NAME=VALUE")
        if name in out:
            raise UsageError(f"playbook: variable {name} given twice")
        out[name], last = value, name
    return out


def prepare(p: PlaybookParams, config: DcopsConfig) -> PlaybookParams:
    """Approved name, declared vars, pinned content: before RBAC, so a bad request is 'invalid'."""
    pb = catalog.find(playbook_dir(config), p.playbook)
    if p.sha256 is not None and p.sha256 != pb.sha256:
        raise UsageError(
            f"playbook {pb.name} changed: its content hash is {pb.sha256[:12]}…, the request "
            f"(or its approval) was for {p.sha256[:12]}…; ask again for the current content"
        )
    return p.model_copy(update={"var": pb.extra_vars(_given_vars(p.var)), "sha256": pb.sha256})


@action(
    "playbook",
    example="playbook check-nvidia gpu[001-004] --check",
    help="run an approved Ansible playbook on nodes (RBAC per playbook: playbook:NAME)",
    params=PlaybookParams,
    kind=Kind.WRITE,
    targets=TargetKind.NODES,
    positional=("playbook", "nodes"),
    category="ansible",
    prepare=prepare,
    policy_name=lambda p: f"playbook:{p.playbook}",
    policy_names=lambda config: [f"playbook:{n}" for n in catalog.names(playbook_dir(config))],
    rows=HostRecapRow,
)
async def playbook(ctx: ActionContext, p: PlaybookParams) -> AsyncIterator[ActionEvent]:
    ansible = ctx.backends.get(AnsiblePort)
    hosts = ctx.nodes
    mode = " in check mode (--check --diff)" if p.check else ""
    yield Log(message=f"playbook {p.playbook} (sha256 {p.sha256}) on {len(hosts)} node(s) {collapse(hosts)}{mode}")
    job = PlaybookJob(
        name=p.playbook,
        directory=str(playbook_dir(ctx.config)),
        hosts=hosts,
        extra_vars=p.var if isinstance(p.var, dict) else {},
        check=p.check,
        diff=p.diff,
        run_id=ctx.run_id,
    )
    async for event in follow(
        ansible.run_playbook(job),
        hosts,
        what=f"playbook {p.playbook}",
        check=p.check,
        title=f"playbook {p.playbook} sha256 {p.sha256[:12] if p.sha256 else '?'}",
        data={"playbook": p.playbook, "sha256": p.sha256, "check": p.check},
    ):
        yield event


class PlaybooksParams(Params):
    pass


class PlaybookRow(Row):
    """One approved playbook: what it does, its declared variables, its content hash."""

    TABLE = ("playbook", "description", "vars_shown", "sha256_short")

    playbook: str
    description: str
    vars: list[str] = hidden([], description="NAME:TYPE, NAME?:TYPE when optional")
    sha256: str = hidden("", description="the playbook file's content hash (pinned by approvals)")

    @computed_field(title="vars (? = optional)")  # type: ignore[prop-decorator]
    @property
    def vars_shown(self) -> str:
        return ", ".join(self.vars) or "-"

    @computed_field(title="sha256")  # type: ignore[prop-decorator]
    @property
    def sha256_short(self) -> str:
        return self.sha256[:12]


@action(
    "playbooks",
    example="playbooks",
    help="the approved Ansible playbooks, their variables and content hashes",
    params=PlaybooksParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    category="ansible",
    rows=PlaybookRow,
)
async def playbooks(ctx: ActionContext, p: PlaybooksParams) -> AsyncIterator[ActionEvent]:
    directory = playbook_dir(ctx.config)
    rows, data = [], []
    for pb in catalog.catalog(directory):
        decl = [f"{v.name}{'' if v.required else '?'}:{v.type}" for v in pb.vars.values()]
        rows.append(PlaybookRow(playbook=pb.name, description=pb.description or "-", vars=decl, sha256=pb.sha256))
        data.append(
            {
                "name": pb.name,
                "description": pb.description,
                "sha256": pb.sha256,
                "vars": {
                    v.name: {
                        "type": v.type,
                        "required": v.required,
                        "default": v.default,
                        "choices": list(v.choices),
                        "description": v.description,
                    }
                    for v in pb.vars.values()
                },
            }
        )
    yield Result(
        summary=f"{len(rows)} approved playbook(s) in {directory} (policy names: playbook:NAME)",
        rows=rows,
        row_model=PlaybookRow,
        data=data,
    )
