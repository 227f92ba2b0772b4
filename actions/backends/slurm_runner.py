"""Where the Slurm CLI runs: on this host (a subprocess) or on the controller over SSH.

Both take argv (never a shell string), bound every call by a timeout (Slurm clients retry for ~10 s
and can hang far longer when slurmctld is down) and turn failures into one-line
:class:`BackendError`s; "the controller does not answer" is :class:`BackendUnavailable`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import BackendError, BackendUnavailable
from .ports import SshPort

_UNREACHABLE = (
    "Unable to contact slurm controller",
    "Socket timed out",
    "Connection refused",
    "Zero Bytes were transmitted",
    "Communication connection failure",
    "slurm_load_",
    "Unable to establish connection",
)


@dataclass(frozen=True)
class Output:
    status: int
    stdout: str
    stderr: str


class Runner(Protocol):
    async def __call__(self, argv: Sequence[str]) -> Output: ...


def check(argv: Sequence[str], out: Output, *, where: str = "") -> Output:
    """Raise the one-line error a failed Slurm command deserves; pass a successful one through."""
    if out.status == 0:
        return out
    lines = [ln.strip() for ln in out.stderr.splitlines() if ln.strip()] or [
        ln.strip() for ln in out.stdout.splitlines() if ln.strip()
    ]
    detail = lines[-1] if lines else f"exit status {out.status}"
    cmd = argv[0] if argv[0] != "env" else next((a for a in argv[1:] if "=" not in a), "env")
    if any(marker in out.stderr for marker in _UNREACHABLE):
        raise BackendUnavailable(f"slurm: slurmctld does not answer{where} ({cmd}: {detail})")
    raise BackendError(f"slurm: {cmd} failed{where}: {detail}")


class LocalRunner:
    """Runs the CLI here, with ``env`` added to this process's environment."""

    def __init__(self, *, timeout: float, env: Mapping[str, str] | None = None, bin_dir: str | None = None) -> None:
        self.timeout = timeout
        self.env = {**os.environ, **(env or {})}
        self.bin_dir = bin_dir

    async def __call__(self, argv: Sequence[str]) -> Output:
        words = list(argv)
        if self.bin_dir:
            words[0] = os.path.join(self.bin_dir, words[0])
        try:
            proc = await asyncio.create_subprocess_exec(
                *words,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise BackendUnavailable(
                f"slurm: {words[0]} is not installed here (set [slurm] bin_dir or controller_ssh)"
            ) from None
        except OSError as exc:
            raise BackendError(f"slurm: cannot run {words[0]}: {exc.strerror}") from None
        try:
            async with asyncio.timeout(self.timeout):
                stdout, stderr = await proc.communicate()
        except (TimeoutError, asyncio.CancelledError) as exc:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise BackendUnavailable(
                f"slurm: {argv[0]} did not answer within {self.timeout:g} s (is slurmctld up?)"
            ) from None
        return Output(proc.returncode or 0, stdout.decode(errors="replace"), stderr.decode(errors="replace"))


class SshRunner:
    """Runs the CLI on the controller through the SSH port (argv quoted word by word there)."""

    def __init__(
        self,
        ssh: SshPort,
        host: str,
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        bin_dir: str | None = None,
    ) -> None:
        self.ssh = ssh
        self.host = host
        self.timeout = timeout
        self.env = dict(env or {})
        self.bin_dir = bin_dir

    async def __call__(self, argv: Sequence[str]) -> Output:
        words = list(argv)
        if self.bin_dir:
            words[0] = f"{self.bin_dir.rstrip('/')}/{words[0]}"
        if self.env:
            words = ["env", *(f"{k}={v}" for k, v in self.env.items()), *words]
        res = await self.ssh.run(self.host, words, timeout=self.timeout)
        if res.error is not None:
            if "did not finish" in res.error:
                raise BackendUnavailable(
                    f"slurm: {argv[0]} on {self.host} did not answer within {self.timeout:g} s (is slurmctld up?)"
                )
            raise BackendUnavailable(f"slurm: cannot reach the controller {self.host}: {res.error}")
        return Output(res.exit_status if res.exit_status is not None else 255, res.stdout, res.stderr)
