"""The PostgreSQL lab: a real PostgreSQL 15 server of its own, for the shared-store tests and benchmark.

``python -m tests.lab.postgres start|stop|status`` (``start`` prints the URL without its password).

initdb + pg_ctl run as the ``postgres`` user (PostgreSQL refuses to run as root). Files live in
``$DCOPS_LAB_DIR/postgres`` (default ``/tmp/dcops-lab/postgres``): ``data/`` (the cluster, its
``postmaster.pid`` and socket), ``server.log`` and ``lab.json`` (port and the generated password of the
``dcops`` role, readable by root only). The server listens on 127.0.0.1 only, on a free port, with
password (scram) authentication so the store's URL carries a real secret that must never leak.

``start`` always begins from nothing: it stops what an earlier run left (by the pid in
``postmaster.pid``, after checking the process is a postgres serving this directory) and deletes the
files, because a reused cluster would carry an earlier run's audit log. ``stop`` ends the server by
pid (fast shutdown, SIGKILL after 15 s) and removes the directory.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

BIN = Path("/usr/lib/postgresql/15/bin")
ROLE = "dcops"
SUPERUSER = "postgres"


class LabError(RuntimeError):
    """The PostgreSQL lab could not be started or reached."""


def lab_dir() -> Path:
    return Path(os.environ.get("DCOPS_LAB_DIR") or "/tmp/dcops-lab") / "postgres"


@dataclass(frozen=True)
class PostgresLab:
    """A running lab server. ``url`` carries the password: hand it to code, never print it."""

    directory: Path
    port: int
    password: str
    pid: int

    @property
    def url(self) -> str:
        return self.url_for(ROLE)

    def url_for(self, database: str) -> str:
        return f"postgresql://{ROLE}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{database}"

    @property
    def shown(self) -> str:
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{ROLE}"

    def psql(self, sql: str, database: str = ROLE) -> str:
        """Run SQL as the superuser over the lab's unix socket (tests use it to tamper and to make databases)."""
        # the SQL goes in on stdin, never argv (a CREATE ROLE ... PASSWORD would show in ps)
        res = subprocess.run(
            [
                "runuser",
                "-u",
                SUPERUSER,
                "--",
                str(BIN / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.directory / "data"),
                "-p",
                str(self.port),
                "-d",
                database,
                "-f",
                "-",
            ],
            input=sql,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if res.returncode != 0:
            raise LabError(f"psql failed: {res.stderr.replace(self.password, '***').strip()[-300:]}")
        return res.stdout.strip()

    def create_database(self, name: str) -> str:
        """A fresh, empty database owned by the dcops role; returns its URL."""
        self.psql(f'CREATE DATABASE "{name}" OWNER {ROLE}', database="postgres")
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', database="postgres")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()  # the postmaster is not our child: no zombie to mistake


def _server_pid(directory: Path) -> int | None:
    """The postmaster's pid from its pid file, only if that process is a postgres serving this directory."""
    try:
        first = (directory / "data" / "postmaster.pid").read_text().splitlines()[0].strip()
        pid = int(first)
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    return pid if b"postgres" in cmd and str(directory).encode() in cmd else None


def _as_postgres(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", SUPERUSER, "--", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def stop() -> bool:
    """Stop the lab's server by pid and remove its files; True when a server was running."""
    d = lab_dir()
    pid = _server_pid(d)
    if pid is not None:
        os.kill(pid, signal.SIGINT)  # "fast" shutdown: roll back sessions, exit cleanly
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        if _alive(pid) and _server_pid(d) == pid:
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
    shutil.rmtree(d, ignore_errors=True)
    return pid is not None


def restart(down_for: float = 1.0, timeout: float = 60.0, mode: str = "fast") -> PostgresLab:
    """Stop the running lab server, keep it down for ``down_for`` seconds, start it again on the same
    data, port and password (a fault-injection test's database restart). ``mode`` is pg_ctl's: "fast"
    cuts the sessions and shuts down cleanly (a checkpoint writes everything out); "immediate" is a
    crash: every server process quits at once, WAL still in shared memory is lost, and the next start
    runs crash recovery from what reached the WAL files."""
    if mode not in ("fast", "immediate"):
        raise ValueError(f"pg_ctl stop mode {mode!r}: use fast or immediate")
    d = lab_dir()
    data = str(d / "data")
    stopped = _as_postgres([str(BIN / "pg_ctl"), "-D", data, "-m", mode, "-w", "stop"], timeout=timeout)
    if stopped.returncode != 0:
        raise LabError(f"postgres did not stop: {(stopped.stderr or stopped.stdout).strip()[-300:]}")
    time.sleep(down_for)
    run = _as_postgres(
        [str(BIN / "pg_ctl"), "-D", data, "-l", str(d / "server.log"), "-w", "-t", str(int(timeout)), "start"],
        timeout=timeout + 10,
    )
    if run.returncode != 0:
        raise LabError(f"postgres did not start again: {(run.stderr or run.stdout).strip()[-300:]}")
    lab = status()
    if lab is None:
        raise LabError("postgres restarted but its postmaster.pid is missing")
    return lab


def status() -> PostgresLab | None:
    d = lab_dir()
    try:
        info = json.loads((d / "lab.json").read_text())
    except (OSError, ValueError):
        return None
    pid = _server_pid(d)
    if pid is None:
        return None
    return PostgresLab(directory=d, port=info["port"], password=info["password"], pid=pid)


def start(timeout: float = 60.0) -> PostgresLab:
    """Start a fresh cluster (initdb, pg_ctl start -w) and create the ``dcops`` role and database.
    On any failure whatever was made is stopped and removed again."""
    if not (BIN / "initdb").exists():
        raise LabError(f"{BIN / 'initdb'} is missing: apt-get install postgresql")
    stop()
    try:
        return _start(lab_dir(), timeout)
    except BaseException:
        stop()
        raise


def _start(d: Path, timeout: float) -> PostgresLab:
    d.mkdir(parents=True, exist_ok=True)
    shutil.chown(d, SUPERUSER, SUPERUSER)
    os.chmod(d, 0o700)
    if _as_postgres(["test", "-w", str(d)], timeout=10).returncode != 0:
        raise LabError(
            f"the postgres user cannot reach {d}: put DCOPS_LAB_DIR where every user may enter (e.g. under /tmp)"
        )
    password = secrets.token_urlsafe(18)
    port = _free_port()
    pwfile = d / "pw"
    pwfile.write_text(password + "\n")
    shutil.chown(pwfile, SUPERUSER, SUPERUSER)
    try:
        init = _as_postgres(
            [
                str(BIN / "initdb"),
                "-D",
                str(d / "data"),
                "-U",
                SUPERUSER,
                "--auth-local=peer",
                "--auth-host=scram-sha-256",
                "--pwfile",
                str(pwfile),
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ],
            timeout=120,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if init.returncode != 0:
        raise LabError(f"initdb failed: {(init.stderr or init.stdout).strip()[-300:]}")
    with open(d / "data" / "postgresql.conf", "a") as conf:
        conf.write(
            f"\n# dcops lab\nlisten_addresses = '127.0.0.1'\nport = {port}\n"
            f"unix_socket_directories = '{d / 'data'}'\nmax_connections = 200\n"
            "shared_buffers = 64MB\nlog_min_messages = warning\n"
        )
    lab_json = d / "lab.json"
    lab_json.touch(mode=0o600)
    lab_json.write_text(json.dumps({"port": port, "password": password}))
    run = _as_postgres(
        [
            str(BIN / "pg_ctl"),
            "-D",
            str(d / "data"),
            "-l",
            str(d / "server.log"),
            "-w",
            "-t",
            str(int(timeout)),
            "start",
        ],
        timeout=timeout + 10,
    )
    if run.returncode != 0:
        log = (d / "server.log").read_text(errors="replace").strip() if (d / "server.log").exists() else ""
        raise LabError(f"postgres did not start: {(log or run.stderr or run.stdout).strip()[-300:]}")
    pid = _server_pid(d)
    if pid is None:
        raise LabError("postgres started but its postmaster.pid is missing")
    lab = PostgresLab(directory=d, port=port, password=password, pid=pid)
    lab.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{password}'", database="postgres")
    lab.psql(f"CREATE DATABASE {ROLE} OWNER {ROLE}", database="postgres")
    return lab


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.lab.postgres", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            lab = start()
            print(f"postgres lab: {lab.shown} (pid {lab.pid}; password in {lab.directory / 'lab.json'})")
        elif args.command == "stop":
            print("postgres lab stopped" if stop() else "postgres lab was not running")
        else:
            running = status()
            print(
                f"postgres lab running: {running.shown} (pid {running.pid})" if running else "postgres lab not running"
            )
            return 0 if running else 3
    except (LabError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
