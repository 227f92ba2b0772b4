"""Steps that firmware-update and reimage share: drain and wait until idle, wait for power and for
Slurm to see the node again, keep a failed node drained with a reason that says where it stopped.

Every wait is bounded: it polls until a condition holds or raises :class:`StepFailed` naming what
it waited for and for how long.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ..backends.models import NodeInfo
from ..backends.ports import RedfishPort, SlurmPort
from ..errors import BackendError, DcopsError

log = logging.getLogger(__name__)
T = TypeVar("T")
POLL = 1.0
BUSY_STATES = ("allocated", "mixed", "completing")


class StepFailed(DcopsError):
    """A step of a node's procedure did not complete; the message says which and why."""


async def until(check: Callable[[], Awaitable[T | None]], *, timeout: float, what: str, poll: float = POLL) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            raise StepFailed(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(poll)


async def slurm_node(slurm: SlurmPort, node: str) -> NodeInfo:
    found = [n for n in await slurm.nodes([node]) if n.name == node]
    if not found:
        raise BackendError(f"slurm: no node {node}")
    return found[0]


async def wait_idle(slurm: SlurmPort, node: str, timeout: float) -> NodeInfo:
    async def idle() -> NodeInfo | None:
        info = await slurm_node(slurm, node)
        return info if info.drain_flag and not info.jobs and info.state not in BUSY_STATES else None

    return await until(idle, timeout=timeout, what=f"the jobs on {node} to finish after draining")


async def wait_power(redfish: RedfishPort, node: str, state: str, timeout: float) -> None:
    async def reached() -> bool:
        return (await redfish.system(node)).power_state == state

    await until(reached, timeout=timeout, what=f"{node} to report power {state}")


async def wait_slurm_responding(slurm: SlurmPort, node: str, timeout: float) -> None:
    """After a reboot: until slurmd has registered again (not down, not NOT_RESPONDING)."""

    async def back() -> bool:
        info = await slurm_node(slurm, node)
        return info.state not in ("down", "unknown", "fail") and "NOT_RESPONDING" not in info.flags

    await until(back, timeout=timeout, what=f"slurmd on {node} to register again")


async def hold_drained(slurm: SlurmPort, node: str, reason: str) -> None:
    """Leave a failed node drained with ``reason``; best effort (the failure is reported anyway)."""
    try:
        await slurm.drain([node], reason[:250])
    except DcopsError as exc:
        log.warning("could not set the drain reason on %s: %s", node, exc)
