"""Secrets for backends (BMC passwords, tokens), read from where the site keeps them: an environment
variable, a file only its owner can read, or a command (a vault CLI, ``pass``, ...).

The value comes back as a pydantic ``SecretStr`` so a stray ``repr``/log line shows ``**********``;
error messages name the source, never the value (nor a command's output, which may hold it).
"""

from __future__ import annotations

import asyncio
import os
import shlex
import stat
from pathlib import Path

from pydantic import SecretStr

from ..errors import ConfigError


async def read_secret(
    *,
    env: str | None = None,
    file: str | None = None,
    command: str | None = None,
    what: str = "password",
    section: str = "redfish",
    timeout: float = 15.0,
) -> SecretStr:
    """Read one secret from exactly one configured source."""
    given = [k for k, v in (("password_env", env), ("password_file", file), ("password_command", command)) if v]
    if len(given) != 1:
        raise ConfigError(
            f"[{section}] needs exactly one of password_env, password_file, password_command "
            f"for the {what} (got {', '.join(given) or 'none'})"
        )
    if env:
        value = os.environ.get(env)
        if not value:
            raise ConfigError(f"[{section}] password_env: environment variable {env} is not set or empty")
        return SecretStr(value)
    if file:
        return SecretStr(_read_private_file(Path(file), section))
    return SecretStr(await _run(command or "", section, timeout))


def _read_private_file(path: Path, section: str) -> str:
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(f"[{section}] password_file {path}: {exc.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"[{section}] password_file {path} is readable by others "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); chmod 600 it"
        )
    value = path.read_text().rstrip("\r\n")
    if not value:
        raise ConfigError(f"[{section}] password_file {path} is empty")
    return value


async def _run(command: str, section: str, timeout: float) -> str:
    argv = shlex.split(command)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
    except OSError as exc:
        raise ConfigError(f"[{section}] password_command {argv[0]!r} cannot run: {exc.strerror}") from None
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ConfigError(f"[{section}] password_command {argv[0]!r} did not finish within {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise ConfigError(f"[{section}] password_command {argv[0]!r} exited with status {proc.returncode}")
    value = out.decode(errors="replace").rstrip("\r\n")
    if not value:
        raise ConfigError(f"[{section}] password_command {argv[0]!r} printed nothing")
    return value
