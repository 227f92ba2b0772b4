"""One long-lived ``scontrol`` that answers node reads: a fresh ``show node`` from slurmctld in
~2-3 ms instead of the ~15-20 ms of starting ``sinfo`` (most of a Slurm client's cost is starting:
loading libslurm and its plugins, parsing slurm.conf). drain and resume read node state on their hot
path (the blast-radius guard, the health check before a resume); with one-shot reads they cost as
much as the writes they guard.

Every ``show node`` is a new RPC to slurmctld, so an answer is never older than the question: this
is not a cache. (scontrol asks with the time of its last answer and slurmctld answers "no change"
only when nothing changed since one second before that; a lab test drains a node with an ``NHC:``
reason between two reads in the same second and sees it.)

Node updates (drain, resume) go through here too when every word of them is provably one word of
scontrol's own line splitting (``_one_word``, ``_quotable``): the hostlist plain, the reason quoted
and free of quotes, backslashes, ``#`` and anything but printable ASCII. Anything else is one argv
entry of a one-shot ``scontrol update``, where it cannot start a second command. scontrol prints
nothing for an update that worked, so any line besides the echo of our own commands is its error
(``slurm_update error: ...``, ``Request aborted``): the same message the one-shot command's non-zero
exit would have carried. Starting ``scontrol`` costs ~5 ms of the ~6 ms an update took.

Framing: scontrol reads commands from stdin (run under ``stdbuf -oL`` so its output is not held in
a pipe buffer); after each command a ``show hostnames TOKEN-[n-n]`` prints ``TOKEN-n`` on a line of
its own, which ends the answer (the echo of that command holds the bracketed form, never the
expanded one; the token is random per process). A session that is busy, on another event loop, or
not startable is simply not used: the caller runs the one-shot command. The process is a plain ``subprocess.Popen``
whose pipe is watched by the running event loop only during a read (``loop.add_reader``): nothing
of it is bound to an event loop between reads, so an adapter used from several ``asyncio.run``
calls, or never closed, leaves no transport to a closed loop behind. A timeout or a cancelled
read kills the process (its output can no longer be framed) and the next read starts a new one.
A process older than :data:`MAX_AGE` is replaced before its next read: a one-shot command reads
slurm.conf each time, and a moved controller or a changed config must not be missed for long.
Not a library: no maintained Python package speaks Slurm's RPC protocol (pyslurm must be built
against the exact Slurm release), and slurmrestd is a separate daemon a site may not run.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Mapping

from ..errors import BackendUnavailable
from .slurm_runner import Output, check

MAX_AGE = 60.0  # seconds one scontrol process serves reads before a fresh one replaces it


class ScontrolSession:
    """``await session.show_nodes("gpu[001-016]")``: the ``scontrol -o -d show node`` output, or
    None when the session cannot serve this call (the caller then runs a one-shot command)."""

    def __init__(self, *, timeout: float, env: Mapping[str, str], bin_dir: str | None = None) -> None:
        self.timeout = timeout
        # scontrol reads its stdin with readline, which echoes each command and redraws one that
        # reaches the screen width (80 columns from terminfo) with cursor motions: a screen wider
        # than any command, no terminal features and no site inputrc keep the echo one plain line
        self.env = {**env, "TERM": "dumb", "COLUMNS": "1000000", "INPUTRC": "/dev/null"}
        self.scontrol = os.path.join(bin_dir, "scontrol") if bin_dir else "scontrol"
        found = shutil.which(self.scontrol, path=self.env.get("PATH"))
        self.stdbuf = shutil.which("stdbuf") if found else None  # None: not used, one-shot commands
        self._proc: subprocess.Popen[bytes] | None = None
        self._busy = False
        self._born = 0.0
        self._token = "dcops-" + secrets.token_hex(6)
        self._seq = 0
        self.started = 0  # processes started (tests look)
        self.reads = 0  # reads served (tests and benchmarks look)
        self.updates = 0  # updates served

    async def show_nodes(self, hostlist: str | None) -> Output | None:
        if hostlist is not None and not _one_word(hostlist):
            return None
        said = await self._ask("show node" + (f" {hostlist}" if hostlist else ""))
        if said is None:
            return None
        self.reads += 1
        return self._answer(said)

    async def update_nodes(self, hostlist: str, state: str, reason: str | None) -> Output | None:
        """``scontrol update NodeName=HOSTLIST State=STATE [Reason="REASON"]``, checked like the
        one-shot command (its error raised as one line), or None when the words are not provably
        safe on scontrol's stdin or the session cannot serve (the caller runs the one-shot command)."""
        if not (_one_word(hostlist) and state.isalpha() and state.isascii()):
            return None
        if reason is not None and not _quotable(reason):
            return None
        command = f"update NodeName={hostlist} State={state}" + (f' Reason="{reason}"' if reason is not None else "")
        said = await self._ask(command)
        if said is None:
            return None
        if "\x1b" in said or "\r" in said:  # on the raw answer: splitlines would cut at a CR
            # readline redrew the echo (it should not, with the screen width we give it): what was
            # said cannot be told apart from it. Both updates are idempotent, so the one-shot
            # command runs it again and its exit status says how it went.
            self._kill()
            return None
        self.updates += 1
        errors = [ln.strip() for ln in said.splitlines() if ln.strip() and not self._echo(ln.strip(), command)]
        argv = ["scontrol", "update", f"NodeName={hostlist}", f"State={state}"]
        return check(argv, Output(1 if errors else 0, "", "\n".join(errors)))

    def _echo(self, line: str, command: str) -> bool:
        """Whether ``line`` is scontrol echoing our own input (the command, the end marker's command,
        a bare prompt), not something it has to say. The prompt before an echo may have gone with
        the previous answer (it follows that answer's end marker), so it is optional here."""
        said = line.removeprefix("scontrol:").strip()
        return said in ("", command) or said.startswith(f"show hostnames {self._token}-[")

    async def _ask(self, command: str) -> str | None:
        """What scontrol printed for ``command`` (its echo included), or None when busy or not startable."""
        if self._busy or self.stdbuf is None:
            return None
        self._busy = True
        try:
            if self._proc is not None and (self._proc.poll() is not None or time.monotonic() - self._born > MAX_AGE):
                self._retire()
            if self._proc is None:
                if not self._start():
                    return None
                await self._exchange(None)  # what scontrol says on starting (config warnings) is no answer
            return await self._exchange(command)
        finally:
            self._busy = False

    def _start(self) -> bool:
        assert self.stdbuf is not None
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - argv, no shell
                [self.stdbuf, "-oL", "-eL", self.scontrol, "-o", "-d"],
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError:
            self.stdbuf = None  # cannot start here: one-shot commands from now on
            return False
        assert self._proc.stdout is not None
        os.set_blocking(self._proc.stdout.fileno(), False)
        self._born = time.monotonic()
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
            proc.stdin.write(ask.encode())  # a few bytes into an empty pipe: does not block
            proc.stdin.flush()
            async with asyncio.timeout(self.timeout):
                raw = await _read_until(proc.stdout.fileno(), end)
        except TimeoutError:
            self._kill()
            raise BackendUnavailable(
                f"slurm: scontrol did not answer within {self.timeout:g} s (is slurmctld up?)"
            ) from None
        except (OSError, EOFError) as exc:  # EOF or a broken pipe: it exited
            self._kill()
            raise BackendUnavailable(f"slurm: scontrol stopped answering ({exc})") from None
        except BaseException:  # cancelled mid-answer: the rest of it would be read as the next one's
            self._kill()
            raise
        return raw[: raw.find(end)].decode(errors="replace")  # what follows is its next prompt

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

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            _close(proc)

    def _retire(self) -> None:
        """End the process the polite way (end of its input; it exits at once), else kill it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait(timeout=1)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
        _close(proc)

    async def aclose(self) -> None:
        self._retire()


def _one_word(hostlist: str) -> bool:
    """Whether ``hostlist`` is one word scontrol's own line splitting keeps whole: anything else (a
    newline would start another command on the session's stdin, a space or quote another argument)
    goes to the one-shot command, where it is one argv entry whatever it holds."""
    return hostlist.isprintable() and not any(c.isspace() or c in "\"'#" for c in hostlist)


def _quotable(reason: str) -> bool:
    """Whether ``reason`` stays one word between double quotes on scontrol's stdin, spelled as it is:
    printable ASCII without the characters its line splitting or a later reader could treat as
    syntax (quotes, backslash, ``#``). scontrol strips the surrounding quotes, so the node's reason
    reads exactly as the one-shot command's argv would have set it (lab test)."""
    return reason.isascii() and reason.isprintable() and not any(c in "\"'\\#" for c in reason)


def _close(proc: subprocess.Popen[bytes]) -> None:
    """Reap a killed or ended process and close our ends of its pipes."""
    for pipe in (proc.stdin, proc.stdout):
        try:
            if pipe is not None:
                pipe.close()
        except OSError:
            pass
    try:
        proc.wait(timeout=1)
    except subprocess.TimeoutExpired:
        pass


async def _read_until(fd: int, end: bytes) -> bytes:
    """Read the non-blocking pipe ``fd`` until ``end``, watched by the running loop meanwhile."""
    loop = asyncio.get_running_loop()
    buf = bytearray()
    done: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError as exc:
            if not done.done():
                done.set_exception(exc)
            return
        if not chunk:
            if not done.done():
                done.set_exception(EOFError("end of output"))
            return
        seen = len(buf)
        buf.extend(chunk)
        if not done.done() and buf.find(end, max(0, seen - len(end))) >= 0:
            done.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await done
    finally:
        loop.remove_reader(fd)
    return bytes(buf)
