"""SimAnsible: the Ansible port over the simulated nodes, for the demo and fast tests.

It reads the real playbook file (so the demo's tasks are the playbook's tasks), then for each
task and host answers as Ansible would: a node that is powered off is unreachable (connect timed
out), one whose OS is down or wedged is unreachable (refused), a node with a GPU off the bus
(XID 79) fails tasks that run ``nvidia-smi``, and file-writing modules report ``changed`` (in
check mode: ``changed`` without changing anything). A host that failed or was unreachable gets no
further tasks, as in Ansible.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ..backends.ansible_models import HostResult, HostStats, PlaybookEvent, PlaybookJob, PlaybookStats, TaskStarted
from .cluster import SimCluster

_CHANGING = ("copy", "template", "lineinfile", "file", "apt", "package", "dnf", "yum", "systemd", "service")
_META = {
    "name",
    "when",
    "register",
    "changed_when",
    "failed_when",
    "ignore_errors",
    "become",
    "tags",
    "notify",
    "loop",
    "vars",
    "check_mode",
    "delegate_to",
    "retries",
    "until",
    "delay",
    "no_log",
}


def _module(task: dict[str, Any]) -> tuple[str, Any]:
    for key, value in task.items():
        if key not in _META:
            return key.rsplit(".", 1)[-1], value
    return "debug", None


class SimAnsible:
    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim

    async def run_playbook(self, job: PlaybookJob) -> AsyncIterator[PlaybookEvent]:
        plays: list[dict[str, Any]]
        if job.module:  # ad hoc: one task, the module
            plays = [{"name": "ad hoc", "tasks": [{"name": job.module, job.module: dict(job.module_args)}]}]
        else:
            import yaml  # here: the demo imports this module on every start, few runs read a playbook

            plays = yaml.safe_load((Path(job.directory) / f"{job.name}.yml").read_text(encoding="utf-8")) or []
        counters: dict[str, dict[str, int]] = {h: {} for h in job.hosts}
        dead: set[str] = set()
        for play in plays:
            for task in play.get("tasks") or []:
                module, args = _module(task)
                name = str(task.get("name") or module)
                yield TaskStarted(task=name, play=str(play.get("name", "")))
                await asyncio.sleep(0)
                self.sim.advance()
                for host in job.hosts:
                    if host in dead:
                        continue
                    result = self._run(host, module, args, name, job.check)
                    if result.status in ("failed", "unreachable"):
                        dead.add(host)
                    key = "changed" if result.status == "changed" else result.status
                    counters[host][key] = counters[host].get(key, 0) + 1
                    if result.status == "changed":
                        counters[host]["ok"] = counters[host].get("ok", 0) + 1
                    yield result
        yield PlaybookStats(
            hosts={h: HostStats(**c) for h, c in counters.items()},
            status="failed" if dead else "successful",
            rc=2 if dead else 0,
        )

    def _run(self, host: str, module: str, args: Any, task: str, check: bool) -> HostResult:
        node = self.sim.nodes.get(host)
        if node is None or node.power != "On":
            return HostResult(
                host=host,
                task=task,
                status="unreachable",
                message=f"Failed to connect to the host via ssh: ssh: connect to host {host} port 22: "
                "Connection timed out",
            )
        if not node.os_up or node.hung:
            return HostResult(
                host=host,
                task=task,
                status="unreachable",
                message=f"Failed to connect to the host via ssh: ssh: connect to host {host} port 22: "
                "Connection refused",
            )
        if "nvidia-smi" in str(args) and node.lost_gpus:
            gpus = ", ".join(str(g) for g in node.lost_gpus)
            return HostResult(
                host=host,
                task=task,
                status="failed",
                message=f"Unable to determine the device handle for GPU {gpus}: Unknown Error",
            )
        if module in _CHANGING:
            diff = f"--- before\n+++ after\n@@ -1 +1 @@\n+{args}" if check else ""
            return HostResult(host=host, task=task, status="changed", diff=diff)
        return HostResult(host=host, task=task, status="ok")
