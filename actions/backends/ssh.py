"""The SSH port over asyncssh: run argv on nodes, one result per host.

- Connections are reused per host (one SSH connection, many sessions) and dropped when they fail.
- At most ``max_parallel`` commands run at once across the fleet and ``max_per_host`` on one host
  (sshd's MaxStartups drops bursts; a real host should not see 64 sessions from one console), and
  at most ``max_parallel`` connections stay open: opening one more closes the least recently used
  idle one, so a sweep over 10,000 nodes does not keep 10,000 connections.
- Host keys are always checked against ``known_hosts`` (the config's file, else ~/.ssh/known_hosts);
  there is no switch to turn the check off.
- argv is joined with :func:`shlex.join`, so every word reaches the remote shell as one literal
  argument: a node name, a reason or user input cannot inject shell syntax.
- Connect and command time are bounded; an unreachable host, a refused connection, an unknown host
  key or a timeout is reported in that host's :class:`CommandResult.error`, never raised, so one bad
  host never fails the others.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from collections.abc import Mapping, Sequence

import asyncssh

from ..config.ssh import SshSection
from .models import CommandResult


def remote_command(argv: Sequence[str]) -> str:
    """The one shell line sent to the host: each word quoted; no NUL (it would end the C string)."""
    if isinstance(argv, (str, bytes)):
        raise TypeError("SSH commands are argv lists, never shell strings")
    if not argv:
        raise ValueError("empty command")
    for word in argv:
        if not isinstance(word, str):
            raise TypeError(f"argv words must be str, got {type(word).__name__}")
        if "\0" in word:
            raise ValueError("argv words cannot contain NUL bytes")
    return shlex.join(argv)


def _describe(exc: BaseException, host: str, port: int) -> str:
    """One line in the words operators know from the ssh client."""
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return f"ssh: host key for {host} is unknown or changed (not in known_hosts): {exc.reason}"
    if isinstance(exc, asyncssh.PermissionDenied):
        return f"ssh: {host}: permission denied (publickey)"
    if isinstance(exc, asyncssh.DisconnectError):
        return f"ssh: {host}: disconnected: {exc.reason}"
    if isinstance(exc, ConnectionRefusedError):
        return f"ssh: connect to host {host} port {port}: Connection refused"
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return f"ssh: connect to host {host} port {port}: Connection timed out"
    if isinstance(exc, OSError):
        return f"ssh: connect to host {host} port {port}: {exc.strerror or exc}"
    return f"ssh: {host}: {type(exc).__name__}: {exc}".splitlines()[0]


class SshAdapter:
    """Implements :class:`~dcops.actions.backends.ports.SshPort`. ``addresses`` maps node names to
    addresses (``[ssh] hosts`` and ``[[nodes]] ssh_host``); other names are connected to as given."""

    def __init__(self, section: SshSection, addresses: Mapping[str, str] | None = None) -> None:
        self.section = section
        self.addresses = {**(addresses or {}), **section.hosts}
        known = section.known_hosts or os.path.expanduser("~/.ssh/known_hosts")
        self._known_hosts = known
        self._conns: dict[str, asyncssh.SSHClientConnection] = {}
        self._connecting: dict[str, asyncio.Lock] = {}
        self._per_host: dict[str, asyncio.Semaphore] = {}
        self._overall = asyncio.Semaphore(section.max_parallel)
        self._in_use: dict[str, int] = {}
        self._last_used: dict[str, float] = {}

    def address(self, host: str) -> str:
        return self.addresses.get(host, host)

    def port(self, host: str) -> int:
        return self.section.ports.get(host, self.section.port)

    def _host_sem(self, host: str) -> asyncio.Semaphore:
        sem = self._per_host.get(host)
        if sem is None:
            sem = self._per_host[host] = asyncio.Semaphore(self.section.max_per_host)
        return sem

    async def _connection(self, host: str) -> asyncssh.SSHClientConnection:
        conn = self._conns.get(host)
        if conn is not None and not conn.is_closed():
            return conn
        lock = self._connecting.setdefault(host, asyncio.Lock())
        async with lock:
            conn = self._conns.get(host)
            if conn is not None and not conn.is_closed():
                return conn
            if not os.path.exists(self._known_hosts):  # noqa: ASYNC240 - one local stat, before a network connect
                raise FileNotFoundError(f"known_hosts file {self._known_hosts} does not exist")
            conn = await asyncssh.connect(
                self.address(host),
                port=self.port(host),
                username=self.section.user,
                known_hosts=self._known_hosts,
                client_keys=self.section.client_keys or (),
                connect_timeout=self.section.connect_timeout,
                config=None,
                agent_path=None,
                keepalive_interval=30,
            )
            self._evict_idle(keep=self.section.max_parallel - 1)  # (hosts in use are never evicted)
            self._conns[host] = conn
            return conn

    def _evict_idle(self, keep: int) -> None:
        """Close least recently used idle connections until at most ``keep`` stay open."""
        idle = sorted((h for h in self._conns if not self._in_use.get(h)), key=lambda h: self._last_used.get(h, 0.0))
        while len(self._conns) > keep and idle:
            self._drop(idle.pop(0))

    def _drop(self, host: str) -> None:
        conn = self._conns.pop(host, None)
        if conn is not None:
            conn.close()

    async def run(self, host: str, argv: Sequence[str], *, timeout: float | None = None) -> CommandResult:
        command = remote_command(argv)
        words = tuple(argv)
        limit = timeout if timeout is not None else self.section.command_timeout
        t0 = time.monotonic()
        async with self._overall, self._host_sem(host):
            self._in_use[host] = self._in_use.get(host, 0) + 1
            try:
                return await self._attempts(host, command, words, limit, t0)
            finally:
                self._in_use[host] -= 1
                self._last_used[host] = time.monotonic()

    async def _attempts(
        self, host: str, command: str, words: tuple[str, ...], limit: float, t0: float
    ) -> CommandResult:
        def failed(error: str) -> CommandResult:
            return CommandResult(host=host, argv=words, error=error, duration=time.monotonic() - t0)

        for attempt in (1, 2):
            try:
                conn = await self._connection(host)
            except FileNotFoundError as exc:
                return failed(f"ssh: {exc}")
            except (TimeoutError, OSError, asyncssh.Error) as exc:
                return failed(_describe(exc, self.address(host), self.port(host)))
            try:
                async with asyncio.timeout(limit):
                    done = await conn.run(command, check=False, stdin=asyncssh.DEVNULL)
            except TimeoutError:
                self._drop(host)  # the session may still hang; never reuse it
                return failed(f"ssh: {host}: command did not finish within {limit:g} s")
            except asyncssh.ChannelOpenError as exc:
                self._drop(host)  # the reused connection went stale: the command never
                if attempt == 1:  # started, so one retry on a new connection is safe
                    continue
                return failed(_describe(exc, host, self.port(host)))
            except (OSError, asyncssh.Error) as exc:
                self._drop(host)  # lost mid-command: it may have run; never run it twice
                return failed(_describe(exc, host, self.port(host)))
            if done.exit_status is None and done.exit_signal:
                return CommandResult(
                    host=host,
                    argv=words,
                    stdout=_text(done.stdout),
                    stderr=_text(done.stderr),
                    error=f"ssh: {host}: command killed by signal {done.exit_signal[0]}",
                    duration=time.monotonic() - t0,
                )
            return CommandResult(
                host=host,
                argv=words,
                exit_status=done.exit_status,
                stdout=_text(done.stdout),
                stderr=_text(done.stderr),
                duration=time.monotonic() - t0,
            )
        raise AssertionError("unreachable: the second attempt always returns")

    async def aclose(self) -> None:
        conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            conn.close()
        for conn in conns:
            try:
                await asyncio.wait_for(conn.wait_closed(), 5)
            except (TimeoutError, OSError, asyncssh.Error):
                pass


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
