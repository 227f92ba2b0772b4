"""Exit codes a script can act on, through the real `dcops` entry point (README "Exit codes"):
0 ok, 1 action failed, 2 bad input, 3 waiting for approval, 4 denied, 5 lock busy, 6 backend
unreachable. Each is provoked the way it happens in production, not by calling the mapper."""

from __future__ import annotations

import fcntl
import http.server
import json
import logging
import os
import socket
import threading
from pathlib import Path

import pytest

from .test_cli import dcops, env, one_line_error  # noqa: F401  (env is a fixture)


def _config(tmp_path: Path, prometheus: str) -> Path:
    pol = tmp_path / "p.toml"
    pol.write_text('[roles.a]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["a"]\n')
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[cluster]\nname = "x"\n[audit]\nurl = "sqlite:///{tmp_path}/a.db"\n'
        f'[policy]\npath = "{pol}"\n[prometheus]\nurl = "{prometheus}"\n'
    )
    return cfg


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens


def test_ok_is_0_and_dry_run_is_0(env) -> None:
    assert dcops(env, "--demo", "run", "ping").returncode == 0
    assert dcops(env, "--demo", "run", "drain", "gpu001", "--reason", "x", "--dry-run").returncode == 0


def test_bad_input_is_2(env) -> None:
    p = dcops(env, "--demo", "run", "drain", "gpu001")
    assert p.returncode == 2 and "--reason" in one_line_error(p)


def test_waiting_for_approval_is_3(env) -> None:
    p = dcops(env, "--demo", "--as", "unix:oncall", "run", "reimage", "gpu003", "--confirm", "1")
    assert p.returncode == 3 and "approve" in p.stderr and "Traceback" not in p.stderr


def test_denied_is_4_and_audited(env) -> None:
    p = dcops(env, "--demo", "--as", "unix:viewer", "run", "drain", "gpu001", "--reason", "x")
    assert p.returncode == 4 and "denied" in one_line_error(p)
    audit = dcops(env, "--demo", "--json", "audit", "list", "--principal", "unix:viewer")
    assert audit.returncode == 0 and "deny" in audit.stdout, audit.stdout


def test_lock_busy_is_5(env) -> None:
    """Another process holds gpu005's node lock (the flock file a running drain holds)."""
    locks = Path(env["XDG_DATA_HOME"]) / "dcops" / "audit.db.locks"
    assert dcops(env, "--demo", "run", "ping").returncode == 0  # creates the store
    locks.mkdir(parents=True, exist_ok=True)
    fd = os.open(locks / "gpu005.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, b"r-other-run")
        p = dcops(env, "--demo", "run", "drain", "gpu005", "--reason", "x")
    finally:
        os.close(fd)
    assert p.returncode == 5, (p.stdout, p.stderr)
    assert "locked by run r-other-run" in p.stdout + p.stderr and "Traceback" not in p.stderr
    again = dcops(env, "--demo", "run", "drain", "gpu005", "--reason", "x")
    assert again.returncode == 0, again.stderr  # released: it runs


def test_backend_unreachable_is_6(env, tmp_path: Path) -> None:
    cfg = _config(tmp_path, f"http://127.0.0.1:{_closed_port()}")
    p = dcops(env, "--config", str(cfg), "run", "query", "up")
    assert p.returncode == 6, (p.stdout, p.stderr)
    assert "not reachable" in p.stdout + p.stderr and "Traceback" not in p.stderr


def test_backend_timeout_is_6(env, tmp_path: Path) -> None:
    """A backend that accepts the connection and never answers (a hung Prometheus) is unreachable
    for the caller: exit 6 after [prometheus] timeout, like a refused connection, not 1."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # the kernel completes the handshake; nobody ever reads or answers
    try:
        cfg = _config(tmp_path, f"http://127.0.0.1:{listener.getsockname()[1]}")
        cfg.write_text(cfg.read_text() + "timeout = 1\n")
        p = dcops(env, "--config", str(cfg), "run", "query", "up")
    finally:
        listener.close()
    assert p.returncode == 6, (p.stdout, p.stderr)
    assert "did not answer within 1s" in p.stdout + p.stderr and "Traceback" not in p.stderr


class _Broken(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = json.dumps({"status": "error", "errorType": "internal", "error": "tsdb on fire"}).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


def test_action_failed_is_1_not_unreachable(env, tmp_path: Path) -> None:
    """A backend that answers but fails (HTTP 500) is a failed action (1), not unreachable (6)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        cfg = _config(tmp_path, f"http://127.0.0.1:{server.server_address[1]}")
        p = dcops(env, "--config", str(cfg), "run", "query", "up")
    finally:
        server.shutdown()
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "HTTP 500" in p.stdout + p.stderr and "Traceback" not in p.stderr


def test_long_running_server_logs_to_stderr_too(capsys: pytest.CaptureFixture[str]) -> None:
    from dcops.console.cli import log_to_stderr

    root = logging.getLogger()
    before = list(root.handlers)
    try:
        log_to_stderr(logging.INFO)
        log_to_stderr(logging.INFO)  # idempotent: one handler
        assert len(root.handlers) == len(before) + 1
        logging.getLogger("dcops.slack").warning("socket closed, reconnecting")
        assert "dcops.slack WARNING socket closed, reconnecting" in capsys.readouterr().err
    finally:
        for h in root.handlers[len(before) :]:
            root.removeHandler(h)


def test_debug_flag_logs_to_stderr(env) -> None:
    p = dcops(env, "--demo", "-v", "run", "ping")
    assert p.returncode == 0 and " DEBUG " in p.stderr


def test_paths_follow_platformdirs(env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from dcops.actions.config import default_config_path
    from dcops.actions.paths import data_dir, state_dir

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "dat"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "st"))
    assert default_config_path() == tmp_path / "cfg" / "dcops" / "config.toml"
    assert data_dir() == tmp_path / "dat" / "dcops" and state_dir() == tmp_path / "st" / "dcops"
    assert dcops(env, "--demo", "run", "ping").returncode == 0
    assert (Path(env["XDG_STATE_HOME"]) / "dcops" / "dcops.log").is_file()
