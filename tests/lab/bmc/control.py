"""Start, stop and drive the lab BMCs from tests, benchmarks and the shell.

``start`` is idempotent: it stops an earlier lab by its pid file, clears its folder, checks the
ports are free, then starts a fresh process and waits until it answers. ``stop`` ends that process
by pid and removes the folder. :class:`LabBmcs` is the handle tests use (URLs, credentials, faults).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.lab.slurm.procs import OWNER_VAR, kill_pids, owned_pids, read_pid

from .pki import make_lab_pki

REPO = Path(__file__).resolve().parents[3]
DEFAULT_PORT = 18400  # control; files = +1; BMC i = +10+i


def lab_dir() -> Path:
    return Path(os.environ.get("DCOPS_LAB_DIR", "/tmp/dcops-lab")) / "bmc"


def base_port() -> int:
    return int(os.environ.get("DCOPS_LAB_BMC_PORT", DEFAULT_PORT))


def node_names(count: int) -> list[str]:
    return [f"gpu{i:03d}" for i in range(1, count + 1)]


def _ours(pid: int) -> bool:
    """Only signal a pid whose command line is this lab's server (pids get reused)."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"tests.lab.bmc" in cmd and b"serve" in cmd


def stop(directory: Path | None = None) -> bool:
    """Stop the lab by its pid file (and any process it started, e.g. a reinstall hook, found by the
    lab's owner marker), then remove its folder; True when something was stopped."""
    d = directory or lab_dir()
    pid = read_pid(d / "server.pid")
    pids = sorted({*([pid] if pid is not None and _ours(pid) else []), *owned_pids(str(d))})
    ports = _ports_of(d)
    kill_pids(pids)
    # a threaded server's leader shows as exited before its last thread has closed the sockets
    deadline = time.monotonic() + 5.0
    while pids and any(not _port_free(p) for p in ports) and time.monotonic() < deadline:
        time.sleep(0.05)
    shutil.rmtree(d, ignore_errors=True)
    return bool(pids)


def _ports_of(d: Path) -> list[int]:
    try:
        info = json.loads((d / "lab.json").read_text())
        urls = [info["control"], info["files"], *info["bmcs"].values()]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [int(u.rsplit(":", 1)[1]) for u in urls]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start(
    nodes: int = 16,
    *,
    update_seconds: float = 1.5,
    power_delay: int = 1,
    reinstall_hook: list[str] | None = None,
    timeout: float = 60.0,
    profiles: dict[str, str] | None = None,
) -> LabBmcs:
    """Start the lab; ``profiles`` serves a vendor shape (hgx, idrac, ilo; see profiles.py) on some
    nodes from the start (tests switch them at run time with :meth:`LabBmcs.profile`)."""
    d = lab_dir()
    stop(d)
    port = base_port()
    ports = [port, port + 1, *range(port + 10, port + 10 + nodes)]
    busy = [p for p in ports if not _port_free(p)]
    deadline = time.monotonic() + 5.0  # an earlier server may still be exiting
    while busy and time.monotonic() < deadline:
        time.sleep(0.2)
        busy = [p for p in busy if not _port_free(p)]
    if busy:
        raise RuntimeError(f"lab BMC ports in use by another process: {busy[:5]}; set DCOPS_LAB_BMC_PORT")
    d.mkdir(parents=True)
    pw = d / "password"
    pw.touch(mode=0o600)
    pw.write_text(secrets.token_urlsafe(18) + "\n")
    make_lab_pki(d / "pki")
    argv = [
        sys.executable,
        "-m",
        "tests.lab.bmc",
        "serve",
        "--dir",
        str(d),
        "--base-port",
        str(port),
        "--names",
        ",".join(node_names(nodes)),
        "--update-seconds",
        str(update_seconds),
        "--power-delay",
        str(power_delay),
    ]
    if reinstall_hook:
        argv += ["--reinstall-hook", json.dumps(reinstall_hook)]
    if profiles:
        argv += ["--profiles", ",".join(f"{n}={p}" for n, p in profiles.items())]
    with open(d / "server.log", "wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env={**os.environ, OWNER_VAR: str(d)},
        )
    (d / "server.pid").write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (d / "server.log").read_text()[-2000:]
            raise RuntimeError(f"lab BMC server exited with {proc.returncode}: {tail}")
        if (d / "lab.json").exists():
            try:
                lab = LabBmcs.load(d)
                lab.call("GET", "status")
                return lab
            except OSError:
                pass
        time.sleep(0.1)
    stop(d)
    raise RuntimeError(f"lab BMC server did not answer within {timeout:.0f} s (log: {d / 'server.log'})")


@dataclass
class LabBmcs:
    """A running lab: where its BMCs are and how to steer it."""

    directory: Path
    info: dict[str, Any]

    @classmethod
    def load(cls, directory: Path | None = None) -> LabBmcs:
        d = directory or lab_dir()
        return cls(d, json.loads((d / "lab.json").read_text()))

    @property
    def bmcs(self) -> dict[str, str]:
        return dict(self.info["bmcs"])

    @property
    def ca(self) -> str:
        return self.info["ca"]

    @property
    def user(self) -> str:
        return self.info["user"]

    @property
    def password_file(self) -> str:
        return self.info["password_file"]

    def password(self) -> str:
        return Path(self.password_file).read_text().strip()

    def image_url(self, name: str) -> str:
        return f"{self.info['files']}/{name}"

    def add_image(self, name: str, content: bytes = b"dcops lab firmware\n" * 64) -> str:
        (Path(self.info["images_dir"]) / name).write_bytes(content)
        return self.image_url(name)

    def redfish_toml(self, timeout: float = 30.0) -> str:
        """The ``[redfish]`` section of a dcops config file that reaches these BMCs."""
        bmcs = "\n".join(f'{n} = "{u}"' for n, u in self.bmcs.items())
        return (
            f'[redfish]\nusername = "{self.user}"\npassword_file = "{self.password_file}"\n'
            f'ca_bundle = "{self.ca}"\ntimeout = {timeout}\n[redfish.bmcs]\n{bmcs}\n'
        )

    def call(self, method: str, path: str, data: dict[str, Any] | None = None, timeout: float = 10.0) -> Any:
        req = urllib.request.Request(
            f"{self.info['control']}/{path}",
            method=method,
            data=json.dumps(data or {}).encode() if method == "POST" else None,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback lab control
            return json.loads(resp.read())

    def status(self) -> dict[str, Any]:
        return self.call("GET", "status")

    def reset(self) -> None:
        self.call("POST", "reset")

    def faults(self, nodes: list[str] | str = "all", **faults: Any) -> None:
        self.call("POST", "faults", {"nodes": nodes, **faults})

    def latency(self, lo: float | None, hi: float | None = None) -> None:
        self.call("POST", "latency", {"latency": [lo, hi] if lo is not None else None})

    def set_firmware(self, nodes: list[str] | str, versions: dict[str, str] | None = None, **kw: str) -> None:
        """Set installed versions (keyword form for plain ids, a dict for ids like "System ROM")."""
        self.call("POST", "firmware", {"nodes": nodes, "versions": {**(versions or {}), **kw}})

    def profile(self, nodes: list[str] | str, name: str) -> None:
        """Serve vendor shape ``name`` (generic, hgx, idrac, ilo) on these BMCs until the next reset."""
        self.call("POST", "profile", {"nodes": nodes, "profile": name})

    def requests(self) -> dict[str, Any]:
        return self.call("GET", "requests")
