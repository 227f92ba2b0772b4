"""Start, stop and inspect the lab API server as a background process on loopback.

Files live in ``$DCOPS_LAB_DIR/kubeapi`` (default ``/tmp/dcops-lab/kubeapi``): ``pid``, ``port``,
``token``, ``code``, ``ca.crt``/``server.*``, ``kubeconfig``, ``server.log``. ``start`` is
idempotent: a healthy server is reused, a stale one (dead, not answering, or started from older
code of this package) is stopped by its pid and its files cleared before a fresh one starts on a
free port. ``stop`` ends the process by pid and removes the directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .tls import make_certs

REPO_ROOT = Path(__file__).resolve().parents[3]


class LabError(RuntimeError):
    """The lab server could not be started or reached."""


def lab_dir() -> Path:
    return Path(os.environ.get("DCOPS_LAB_DIR") or "/tmp/dcops-lab") / "kubeapi"


@dataclass(frozen=True)
class LabInfo:
    url: str
    token: str
    kubeconfig: Path
    pid: int
    directory: Path

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.crt"

    def request(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        """A JSON call to the server (``/_lab`` control endpoints, or raw API paths in tests)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:
            return json.loads(resp.read() or b"null")

    def reset(self, objects: list[dict[str, Any]], **settings: float) -> None:
        self.request("POST", "/_lab/reset", {"objects": objects, "settings": settings})

    def faults(self, *faults: dict[str, Any]) -> None:
        """Inject failures (see the server's ``/_lab/faults``); no arguments clears them."""
        self.request("POST", "/_lab/faults", {"faults": list(faults)})

    def objects(self) -> list[dict[str, Any]]:
        return self.request("GET", "/_lab/objects")["items"]


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our exited child (a zombie still "exists")
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie nobody reaps (no init in a container) has exited all the same
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _ours(pid: int) -> bool:
    """Only ever signal a process that is this lab server (pids get reused)."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"tests.lab.kubeapi" in cmd and b"serve" in cmd


def _healthy(url: str, ca_file: Path) -> bool:
    try:
        ctx = ssl.create_default_context(cafile=str(ca_file))
        with urllib.request.urlopen(url + "/healthz", timeout=1.0, context=ctx) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def code_version() -> str:
    """A hash of this package's source: a server started from older code is stale, not reusable."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def status() -> LabInfo | None:
    """How to reach the running server, or None if none is running (or it runs older code)."""
    d = lab_dir()
    pid, port, token = _read(d / "pid"), _read(d / "port"), _read(d / "token")
    if not (pid and port and token and pid.isdigit()) or not _alive(int(pid)):
        return None
    if _read(d / "code") != code_version():
        return None
    url = f"https://127.0.0.1:{port}"
    if not _healthy(url, d / "ca.crt"):
        return None
    return LabInfo(url=url, token=token, kubeconfig=d / "kubeconfig", pid=int(pid), directory=d)


def _kill(pid: int, wait: float = 5.0) -> None:
    if not _alive(pid) or not _ours(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def stop() -> bool:
    """Stop the server by its pid and remove its files; True when a server was running."""
    d = lab_dir()
    pid = _read(d / "pid")
    was_running = bool(pid and pid.isdigit() and _alive(int(pid)) and _ours(int(pid)))
    if pid and pid.isdigit():
        _kill(int(pid))
    shutil.rmtree(d, ignore_errors=True)
    return was_running


def write_kubeconfig(path: Path, url: str, token: str, ca_file: Path, context: str = "dcops-lab") -> None:
    """JSON is valid YAML, so the kubeconfig needs no YAML writer."""
    cfg = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": context,
        "clusters": [{"name": "dcops-lab", "cluster": {"server": url, "certificate-authority": str(ca_file)}}],
        "users": [{"name": "dcops-lab-admin", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": "dcops-lab", "user": "dcops-lab-admin"}}],
    }
    path.write_text(json.dumps(cfg, indent=2))
    path.chmod(0o600)


def start(timeout: float = 15.0) -> LabInfo:
    """Start the server (or reuse a healthy one) and return how to reach it."""
    running = status()
    if running is not None:
        return running
    stop()  # clear a stale pid, port and kubeconfig from an earlier run
    d = lab_dir()
    d.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    (d / "token").write_text(token)
    (d / "token").chmod(0o600)
    (d / "code").write_text(code_version())
    make_certs(d)
    with open(d / "server.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.lab.kubeapi", "serve", "--dir", str(d)],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        port = _read(d / "port")
        if port and _healthy(f"https://127.0.0.1:{port}", d / "ca.crt"):
            url = f"https://127.0.0.1:{port}"
            write_kubeconfig(d / "kubeconfig", url, token, d / "ca.crt")
            return LabInfo(url=url, token=token, kubeconfig=d / "kubeconfig", pid=proc.pid, directory=d)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    tail = (_read(d / "server.log") or "").splitlines()[-5:]
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)
    raise LabError(f"lab kube API server did not come up within {timeout:.0f}s: {' | '.join(tail) or 'no output'}")
