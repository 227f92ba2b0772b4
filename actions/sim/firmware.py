"""Firmware of simulated nodes: the shipped baseline, per-node drift, and update tasks.

An update (Redfish UpdateService.SimpleUpdate) becomes a task whose state follows the clock:
New, then Running with a percentage, then Completed. GPU and HCA images apply on completion;
BMC and BIOS images are staged and need a system reset (``reset_required``), as real BMCs do:
"Completed" is not "done" until the node has been reset. On the story's failing node the task
ends in Exception with a message.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from ..backends.models import FirmwareComponent, TaskStatus
from ..errors import BackendError
from .cluster import SimCluster
from .state import SimNode

UPDATE_SECONDS = 8.0
NEW_SECONDS = 1.0
FAIL_AT_SECONDS = 4.0
NEEDS_RESET = ("BMC", "BIOS")
OLD_BMC = "7.00.00.171"
OLD_BIOS = "2.1.7"
NEW_BIOS = "2.4.1"
FAILURE = "Image verification failed: the update package signature does not match the {component} firmware key"

_NAMES = {"BMC": "BMC Firmware", "BIOS": "System BIOS", "HCA0": "NVIDIA ConnectX-7 Firmware (mlx5_0)"}
_VERSION = re.compile(r"\d+(?:\.\d+)+")
_KINDS = (
    ("bios", ("BIOS",)),
    ("bmc", ("BMC",)),
    ("vbios", tuple(f"GPU{i}" for i in range(8))),
    ("gpu", tuple(f"GPU{i}" for i in range(8))),
    ("hca", ("HCA0",)),
    ("cx7", ("HCA0",)),
    ("connectx", ("HCA0",)),
)


@cache
def baseline() -> dict[str, str]:
    """The shipped baseline (``actions/sim/baseline.toml``): component id -> version."""
    text = resources.files("dcops.actions.sim").joinpath("baseline.toml").read_text(encoding="utf-8")
    return dict(tomllib.loads(text))


def inventory(sim: SimCluster, node: SimNode) -> dict[str, str]:
    """The node's installed versions, filled from the baseline and its drift on first use."""
    if node.firmware is None:
        versions = dict(baseline())
        drift = sim.drift.get(node.index)
        if drift == "old-bmc":
            versions["BMC"] = OLD_BMC
        elif drift == "old-bios":
            versions["BIOS"] = OLD_BIOS
        elif drift == "new-bios":
            versions["BIOS"] = NEW_BIOS
        node.firmware = versions
    return node.firmware


def components(sim: SimCluster, node: SimNode) -> list[FirmwareComponent]:
    return [
        FirmwareComponent(id=cid, name=_NAMES.get(cid, f"{cid} VBIOS (NVIDIA H100 80GB HBM3)"), version=v)
        for cid, v in inventory(sim, node).items()
    ]


@dataclass
class SimTask:
    uri: str
    node: str
    versions: dict[str, str]  # component id -> version being installed
    created: float
    fails: bool
    staged: dict[str, str] = field(default_factory=dict)

    def status(self, sim: SimCluster, node: SimNode, now: float) -> TaskStatus:
        age = now - self.created
        what = ", ".join(f"{c} {v}" for c, v in self.versions.items())
        if self.fails and age >= FAIL_AT_SECONDS:
            first = next(iter(self.versions))
            return TaskStatus(
                uri=self.uri,
                state="Exception",
                percent=int(100 * FAIL_AT_SECONDS / UPDATE_SECONDS),
                messages=(FAILURE.format(component=first),),
            )
        if age < NEW_SECONDS:
            return TaskStatus(uri=self.uri, state="New", percent=0, messages=(f"Update of {what} queued",))
        if age < UPDATE_SECONDS:
            return TaskStatus(
                uri=self.uri,
                state="Running",
                percent=min(99, int(100 * age / UPDATE_SECONDS)),
                messages=(f"Updating {what}",),
            )
        pending = {c: v for c, v in self.staged.items() if node.staged.get(c) == v}
        if pending:
            return TaskStatus(
                uri=self.uri,
                state="Completed",
                percent=100,
                reset_required=True,
                messages=(f"Update of {what} staged; a system reset is required to apply it",),
            )
        return TaskStatus(uri=self.uri, state="Completed", percent=100, messages=(f"Update of {what} applied",))


def resolve_targets(
    sim: SimCluster, node: SimNode, image_uri: str, targets: tuple[str, ...] | list[str]
) -> dict[str, str]:
    """Which components an image updates and to which version (from the file name, else the baseline)."""
    installed = inventory(sim, node)
    filename = image_uri.rstrip("/").rsplit("/", 1)[-1]
    if targets:
        ids = [t.rstrip("/").rsplit("/", 1)[-1] for t in targets]
        unknown = [i for i in ids if i not in installed]
        if unknown:
            raise BackendError(
                f"redfish {node.name}: unknown update target {', '.join(unknown)} "
                f"(FirmwareInventory has {', '.join(installed)})"
            )
    else:
        lowered = filename.lower()
        ids = next((list(found) for key, found in _KINDS if key in lowered), [])
        if not ids:
            raise BackendError(
                f"redfish {node.name}: cannot tell which component {filename!r} updates; "
                "pass targets (e.g. BMC, BIOS, GPU0)"
            )
    match = _VERSION.search(filename)
    return {i: (match.group(0) if match else baseline().get(i, installed[i])) for i in ids}


def start_update(
    sim: SimCluster, node: SimNode, image_uri: str, targets: tuple[str, ...] | list[str], now: float
) -> SimTask:
    for task in sim.tasks.values():
        if task.node == node.name and not task.status(sim, node, now).finished:
            raise BackendError(f"redfish {node.name}: an update is already in progress ({task.uri})")
    versions = resolve_targets(sim, node, image_uri, targets)
    uri = f"/redfish/v1/TaskService/Tasks/{len(sim.tasks) + 1}"
    task = SimTask(
        uri=uri, node=node.name, versions=versions, created=now, fails=node.index == sim.story.firmware_fails
    )
    sim.tasks[uri] = task

    def complete(t: float) -> None:
        if task.fails:
            return
        installed = inventory(sim, node)
        for cid, version in versions.items():
            if cid in NEEDS_RESET:
                node.staged[cid] = task.staged[cid] = version
            else:
                installed[cid] = version

    sim.after(UPDATE_SECONDS, complete, at=now)
    return task
