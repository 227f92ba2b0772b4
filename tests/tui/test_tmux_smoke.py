"""Smoke test on a real terminal: the console runs in tmux (160x50), we type, and read the screen
with ``capture-pane``. Catches what headless Pilot runs cannot: the terminal driver, signals,
the entry points, and tracebacks printed on exit."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """One tmux server on a private socket (never the user's), one session."""

    def __init__(self, tmp: Path) -> None:
        self.socket = f"dcops-test-{uuid.uuid4().hex[:8]}"
        self.session = "tui"
        self.tmp = tmp

    def _tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True, timeout=10
        ).stdout

    def start(self, argv: list[str]) -> None:
        env = {
            "XDG_DATA_HOME": self.tmp / "data",
            "XDG_STATE_HOME": self.tmp / "state",
            "XDG_CONFIG_HOME": self.tmp / "config",
            "TERM": "xterm-256color",
        }
        exports = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in env.items())
        done = self.tmp / "exit-code"
        # stderr stays on the terminal: Textual draws there; after exit it holds any error line
        cmd = f"cd {shlex.quote(str(ROOT))} && env -u COLUMNS -u LINES {exports} {shlex.join(argv)}; echo $? > {done}; sleep 30"
        self._tmux("new-session", "-d", "-s", self.session, "-x", "160", "-y", "50", cmd)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.session, *keys)

    def open_prompt(self, key: str, marker: str) -> None:
        """Press ``key`` until the prompt shows ``marker``: keys sent while Textual is still
        exchanging start-up queries with the terminal can be swallowed by that handshake."""
        for _ in range(5):
            self.keys(key)
            try:
                self.wait_for(marker, timeout=3)
                return
            except AssertionError:
                continue
        raise AssertionError(f"{key!r} never opened its prompt; screen:\n{self.screen()}")

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            if (self.tmp / "exit-code").exists():
                break  # the console has exited: no point waiting
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; screen:\n{self.screen()}")

    def exit_code(self, timeout: float = 20.0) -> int:
        path = self.tmp / "exit-code"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if path.exists() and path.read_text().strip():
                return int(path.read_text())
            time.sleep(0.2)
        raise AssertionError("the console did not exit")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


def drive(tmux: Tmux, argv: list[str]) -> None:
    tmux.start(argv)
    screen = tmux.wait_for("64 nodes:")
    assert "cluster demo" in screen and "gpu001" in screen and "Fleet" in screen
    tmux.open_prompt("/", "regex filter")
    tmux.keys("-l", "xid 79")
    tmux.wait_for("1 of 64 rows match")
    tmux.keys("Enter")
    tmux.wait_for("filter /xid 79: 1 of 64 rows")
    screen = tmux.wait_for("XID 79")
    assert "gpu017" in screen and "XID 79" in screen and "gpu001" not in screen
    tmux.open_prompt(":", ": command")
    tmux.keys("-l", "frobnicate")
    tmux.keys("Enter")
    tmux.wait_for("unknown action 'frobnicate'")
    tmux.keys("C-q")
    code = tmux.exit_code()
    after = tmux.screen()  # the shell's screen again: anything printed on exit is here
    assert code == 0, after
    assert "Traceback" not in after and "error" not in after.lower(), after


def test_console_module_on_a_real_terminal(tmp_path: Path) -> None:
    tmux = Tmux(tmp_path)
    try:
        drive(tmux, [sys.executable, "-m", "dcops.console.tui", "--as", "unix:alice"])
    finally:
        tmux.kill()


def test_dcops_tui_demo_on_a_real_terminal(tmp_path: Path) -> None:
    dcops = Path(sys.executable).with_name("dcops")
    tmux = Tmux(tmp_path)
    try:
        drive(tmux, [str(dcops), "--demo", "--as", "unix:alice", "tui"])  # --demo is a global option
    finally:
        tmux.kill()
