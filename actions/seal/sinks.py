"""Where seals are shipped outside the database, and how they are read back.

A sink is append-only from dcops' side and kept by someone else: syslog (a remote log server, or
the local journal), journald's native socket, or a file (an append-only file — ``chattr +a`` — or
one another host collects). Each seal is one line ``dcops-seal: {json}``. Reading back takes any
text whose lines contain such JSON (a syslog file, ``journalctl -t dcops-seal -o cat``, the file
sink), so ``dcops audit verify --seals FILE`` works with what a log server keeps.

``logging.handlers.SysLogHandler`` (stdlib) speaks syslog to a unix socket or UDP; journald's
native protocol is four lines in one datagram, simple enough not to need the ``systemd`` package.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from ..errors import ConfigError
from .seal import MARK, Seal

log = logging.getLogger("dcops.seal")
SPEC_HELP = "file:/ABS/PATH, syslog, syslog:/dev/log, syslog+udp://HOST:PORT, journald or journald:/SOCKET"


class Sink(Protocol):
    name: str

    def ship(self, seal: Seal) -> None: ...


class FileSink:
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.name = f"file:{path}"

    def ship(self, seal: Seal) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, f"{MARK}: {seal.to_json()}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)


class _RaisingSysLogHandler(logging.handlers.SysLogHandler):
    """The stdlib handler prints send errors to stderr and carries on; a lost seal must be reported."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - stdlib name
        raise  # noqa: PLE0704 - emit() calls this inside its except block: re-raise the send error


class SyslogSink:
    def __init__(self, address: str | tuple[str, int], name: str) -> None:
        self.name = name
        self._address = address
        self._handler: logging.handlers.SysLogHandler | None = None

    def ship(self, seal: Seal) -> None:
        if self._handler is None:
            self._handler = _RaisingSysLogHandler(
                address=self._address, socktype=socket.SOCK_DGRAM, facility=logging.handlers.SysLogHandler.LOG_AUTHPRIV
            )
            self._handler.ident = f"{MARK}: "
        self._handler.emit(logging.LogRecord("dcops.seal", logging.INFO, __file__, 0, seal.to_json(), None, None))

    def close(self) -> None:
        if self._handler is not None:
            self._handler.close()


class JournaldSink:
    def __init__(self, path: str = "/run/systemd/journal/socket") -> None:
        self.path = path
        self.name = f"journald:{path}"

    def ship(self, seal: Seal) -> None:
        body = (
            f"MESSAGE={MARK}: {seal.to_json()}\nSYSLOG_IDENTIFIER={MARK}\nPRIORITY=6\nDCOPS_SEAL_SEQ={seal.seq}\n"
        ).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(body, self.path)


def parse_sink(spec: str) -> Sink:
    if spec.startswith("file:"):
        path = spec.removeprefix("file:")
        if not path.startswith("/"):
            raise ConfigError(f"audit.seal_sinks: {spec!r}: a file sink needs an absolute path ({SPEC_HELP})")
        return FileSink(path)
    if spec == "syslog":
        return SyslogSink("/dev/log", spec)
    if spec.startswith("syslog:/"):
        return SyslogSink(spec.removeprefix("syslog:"), spec)
    if spec.startswith("syslog+udp://"):
        host, _, port = spec.removeprefix("syslog+udp://").rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"audit.seal_sinks: {spec!r} is not syslog+udp://HOST:PORT")
        return SyslogSink((host.strip("[]"), int(port)), spec)
    if spec == "journald":
        return JournaldSink()
    if spec.startswith("journald:/"):
        return JournaldSink(spec.removeprefix("journald:"))
    raise ConfigError(f"audit.seal_sinks: {spec!r} is not a sink; accepted: {SPEC_HELP}")


def parse_seal_lines(lines: Iterable[str]) -> list[Seal]:
    """Every seal found in the text (lines without one are skipped: a syslog file holds other lines)."""
    seals = []
    for line in lines:
        at = line.find(MARK)
        start = line.find("{", at if at >= 0 else 0)
        if start < 0 or '"sig"' not in line:
            continue
        try:
            seals.append(Seal.from_json(line[start:].strip().rstrip("\x00")))
        except ValueError:
            continue
    return seals


def read_seals(path: str) -> list[Seal]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return parse_seal_lines(f)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(f"cannot read seals from {path}: {exc.strerror}") from None
