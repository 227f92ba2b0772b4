"""``ansible``: one Ansible module ad hoc on nodes (``ansible NODES -m MODULE -a ARGS``), for the
modules a site allows — none unless ``[ansible] adhoc_modules`` lists them, and then only for
principals the policy grants ``ansible:MODULE`` (``ansible:ping``, ``ansible:service_facts``…).
Arbitrary commands stay out unless a site deliberately lists ``command`` or ``shell`` there and
grants them. Same inventory, events, audit and ``--check`` dry run as ``playbook``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from pydantic import Field

from ..ansible.catalog import refuse_templates
from ..backends.ansible_models import PlaybookJob
from ..backends.ports import AnsiblePort
from ..config.model import DcopsConfig
from ..context import ActionContext
from ..errors import UsageError
from ..events import ActionEvent, Log
from ..hostlists import collapse
from ..registry import Kind, TargetKind, action
from ._ansible_run import CheckParams, HostRecapRow, follow
from .playbook import playbook_dir

MODULE_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+){0,2}$")


class AnsibleModuleParams(CheckParams):
    nodes: str = Field(description="nodes to run it on (hostlist)")
    module: str = Field(description="the module ([ansible] adhoc_modules lists the allowed ones)")
    arg: list[str] | dict[str, Any] = Field(
        [], json_schema_extra={"metavar": "NAME=VALUE"}, description="module argument (repeat for more)"
    )


def prepare(p: AnsibleModuleParams, config: DcopsConfig) -> AnsibleModuleParams:
    allowed = list(config.ansible.adhoc_modules) if config.ansible is not None else []
    if config.ansible is None and config.cluster.demo:
        allowed = ["ping", "setup"]
    if not MODULE_RE.match(p.module) or p.module not in allowed:
        shown = ", ".join(allowed) or "none ([ansible] adhoc_modules is empty: ad-hoc modules are off)"
        raise UsageError(f"ansible: module {p.module!r} is not allowed ad hoc; allowed: {shown}")
    args: dict[str, Any] = dict(p.arg) if isinstance(p.arg, dict) else {}
    if isinstance(p.arg, list):
        for item in p.arg:
            name, eq, value = item.partition("=")
            if not eq or not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                raise UsageError(f"ansible: --arg {item!r} is not NAME=VALUE")
            args[name] = value
    for name, value in args.items():
        if not isinstance(value, (str, int, float, bool)):
            raise UsageError(f"ansible: --arg {name}: only plain values (text, numbers, true/false)")
        refuse_templates(f"ansible: --arg {name}", value)
    return p.model_copy(update={"arg": args})


@action(
    "ansible",
    example="ansible gpu[001-004] --module ping",
    help="run one Ansible module ad hoc on nodes (only modules the site allows; RBAC as ansible:MODULE)",
    params=AnsibleModuleParams,
    kind=Kind.WRITE,
    targets=TargetKind.NODES,
    positional=("nodes",),
    category="ansible",
    prepare=prepare,
    policy_name=lambda p: f"ansible:{p.module}",
    rows=HostRecapRow,
    policy_names=lambda config: [f"ansible:{m}" for m in (config.ansible.adhoc_modules if config.ansible else [])],
)
async def ansible_module(ctx: ActionContext, p: AnsibleModuleParams) -> AsyncIterator[ActionEvent]:
    ansible = ctx.backends.get(AnsiblePort)
    hosts = ctx.nodes
    args = p.arg if isinstance(p.arg, dict) else {}
    yield Log(
        message=f"ansible -m {p.module} on {len(hosts)} node(s) {collapse(hosts)}"
        + (" in check mode" if p.check else "")
    )
    job = PlaybookJob(
        name=p.module,
        directory=str(playbook_dir(ctx.config)) if ctx.config.ansible or ctx.config.cluster.demo else "",
        hosts=hosts,
        module=p.module,
        module_args=args,
        check=p.check,
        diff=p.check,
        run_id=ctx.run_id,
    )
    async for event in follow(
        ansible.run_playbook(job),
        hosts,
        what=f"ansible -m {p.module}",
        check=p.check,
        title=f"ansible -m {p.module}",
        data={"module": p.module, "args": args, "check": p.check},
    ):
        yield event
