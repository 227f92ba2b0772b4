"""One long-lived ``scontrol`` that answers node reads: a fresh ``show node`` from slurmctld in
~2-3 ms instead of the ~15-20 ms of starting ``sinfo`` (most of a Slurm client's cost is starting:
loading libslurm and its plugins, parsing slurm.conf). drain and resume read node state on their hot
path (the blast-radius guard, the health check before a resume); with one-shot reads they cost as
much as the writes they guard.

Every ``show node`` is a new RPC to slurmctld, so an answer is never older than the question: this
is not a cache. (scontrol asks with the time of its last answer and slurmctld answers "no change"
only when nothing changed since one second before that; a lab test drains a node with an ``NHC:``
reason between two reads in the same second and sees it.) Only reads go through here: writes stay
one ``scontrol update`` process each, so their exit status keeps meaning what it says.

Framing: scontrol reads commands from stdin (run under ``stdbuf -oL`` so its output is not held in
a pipe buffer); after each command a ``show hostnames TOKEN-[n-n]`` prints ``TOKEN-n`` on a line of
its own, which ends the answer (the echo of that command holds the bracketed form, never the
expanded one; the token is random per process). A session that is busy, on another event loop, or
not startable is simply not used: the caller runs the one-shot command. A timeout or a cancelled
read kills the process (its output can no longer be framed) and the next read starts a new one.
Not a library: no maintained Python package speaks Slurm's RPC protocol (pyslurm must be built
against the exact Slurm release), and slurmrestd is a separate daemon a site may not run.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import Mapping

from ..errors import BackendUnavailable
from .slurm_runner import Output, check


class ScontrolSession:
    """``await session.show_nodes("gpu[001-016]")``: the ``scontrol -o -d show node`` output, or
    None when the session cannot serve this call (the caller then runs a one-shot command)."""

    def __init__(self, *, timeout: float, env: Mapping[str, str], bin_dir: str | None = None) -> None:
        self.timeout = timeout
        self.env = dict(env)
        self.scontrol = os.path.join(bin_dir, "scontrol") if bin_dir else "scontrol"
        found = shutil.which(self.scontrol, path=self.env.get("PATH"))
        self.stdbuf = shutil.which("stdbuf") if found else None  # None: not used, one-shot commands
        self._proc: asyncio.subprocess.Process | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._busy = False
        self._token = "dcops-" + secrets.token_hex(6)
        self._seq = 0
        self.started = 0  # processes started (tests look)
        self.reads = 0  # reads served (tests and benchmarks look)

    async def show_nodes(self, hostlist: str | None) -> Output | None:
        loop = asyncio.get_running_loop()
        if self._busy or self.stdbuf is None:
            return None
        if self._proc is not None and (self._loop is not loop or self._proc.returncode is not None):
            if self._loop is not loop:
                return None  # bound to another event loop: leave it to that one
            self._proc = None
        self._busy = True
        try:
            if self._proc is None:
                if not await self._start(loop):
                    return None
                await self._exchange(None)  # what scontrol says on starting (config warnings) is no answer
            answer = self._answer(await self._exchange("show node" + (f" {hostlist}" if hostlist else "")))
            self.reads += 1
            return answer
        finally:
            self._busy = False

    async def _start(self, loop: asyncio.AbstractEventLoop) -> bool:
        assert self.stdbuf is not None
        try:
            self._proc = await asyncio.create_subprocess_exec(
                self.stdbuf,
                "-oL",
                "-eL",
                self.scontrol,
                "-o",
                "-d",
                env=self.env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                limit=64 * 1024 * 1024,  # a 10k-node cluster answers with ~10 MB
            )
        except OSError:
            self.stdbuf = None  # cannot start here: one-shot commands from now on
            return False
        self._loop = loop
        self.started += 1
        return True

    async def _exchange(self, command: str | None) -> str:
        """Send ``command`` (None: nothing) and the end marker; return what scontrol printed before it."""
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        self._seq += 1
        end = f"{self._token}-{self._seq}\n".encode()
        ask = (f"{command}\n" if command else "") + f"show hostnames {self._token}-[{self._seq}-{self._seq}]\n"
        try:
            async with asyncio.timeout(self.timeout):
                proc.stdin.write(ask.encode())
                await proc.stdin.drain()
                raw = await proc.stdout.readuntil(end)
        except TimeoutError:
            await self._kill()
            raise BackendUnavailable(
                f"slurm: scontrol did not answer within {self.timeout:g} s (is slurmctld up?)"
            ) from None
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as exc:
            await self._kill()
            raise BackendUnavailable(f"slurm: scontrol stopped answering ({type(exc).__name__})") from None
        except BaseException:  # cancelled mid-answer: the rest of it would be read as the next one's
            await self._kill()
            raise
        return raw[: -len(end)].decode(errors="replace")

    @staticmethod
    def _answer(text: str) -> Output:
        """Node lines are the answer; "Node x not found" is no error (sinfo leaves unknown names out
        too); any other line is scontrol's error, and only fails the read when no node came back
        (a warning beside an answer does not make it wrong; sinfo exits 0 on those)."""
        nodes, errors = [], []
        for line in text.splitlines():
            if line.startswith("NodeName="):
                nodes.append(line)
            elif line.strip() and not line.startswith("scontrol: show ") and not line.endswith(" not found"):
                errors.append(line.removeprefix("scontrol: ").strip())
        out = Output(1 if errors and not nodes else 0, "\n".join(nodes) + "\n", "\n".join(errors))
        return check(["scontrol", "show", "node"], out)

    async def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()

    async def aclose(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        if self._loop is not asyncio.get_running_loop():
            proc.kill()  # its loop's transport reaps it
            return
        assert proc.stdin is not None
        proc.stdin.close()  # scontrol exits at the end of its input
        try:
            async with asyncio.timeout(2):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
