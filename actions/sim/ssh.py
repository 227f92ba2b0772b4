"""SimSsh: the SshPort over the simulated nodes.

A node whose OS is wedged or still booting refuses the connection, a powered-off node times out,
an unknown host does not resolve — all reported in ``CommandResult.error`` per host, never raised,
as the real adapter reports them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ..backends.models import CommandResult
from .cluster import SimCluster
from .commands import run_command

DURATION = 0.05  # what a command "took", for display


class SimSsh:
    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim

    async def run(self, host: str, argv: Sequence[str], *, timeout: float | None = None) -> CommandResult:
        if isinstance(argv, str):
            raise TypeError("SshPort.run takes argv as a list of words, not a shell string")
        await asyncio.sleep(0)  # yield like a real network call would
        now = self.sim.advance()
        words = tuple(argv)
        node = self.sim.nodes.get(host)
        if node is None:
            return CommandResult(
                host=host, argv=words, error=f"ssh: Could not resolve hostname {host}: Name or service not known"
            )
        if node.power != "On":
            return CommandResult(
                host=host,
                argv=words,
                error=f"ssh: connect to host {host} port 22: Connection timed out",
                duration=timeout or 10.0,
            )
        if not node.os_up or node.hung:
            return CommandResult(
                host=host, argv=words, error=f"ssh: connect to host {host} port 22: Connection refused"
            )
        status, out, err = run_command(self.sim, node, words, now)
        return CommandResult(host=host, argv=words, exit_status=status, stdout=out, stderr=err, duration=DURATION)
