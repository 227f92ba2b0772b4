"""Shell completion through the real `dcops` entry point, the way bash/zsh/fish ask for it
(argcomplete's protocol: _ARGCOMPLETE + COMP_LINE in the environment, answers on fd 8)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .test_cli import ROOT, dcops, env  # noqa: F401  (env is a fixture)


def _complete(env: dict[str, str], line: str) -> list[str]:
    e = dict(env, _ARGCOMPLETE="1", _ARGCOMPLETE_IFS="\n", COMP_LINE=line, COMP_POINT=str(len(line)))
    p = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m dcops.console.cli 8>&1 9>/dev/null'],
        cwd=ROOT,
        env=e,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in p.stderr, p.stderr
    return [c.strip() for c in p.stdout.split("\n") if c.strip()]


def test_commands_actions_and_options_complete(env) -> None:
    assert "audit" in _complete(env, "dcops au")
    assert set(_complete(env, "dcops run firm")) == {"firmware", "firmware-check", "firmware-update"}
    assert "--reason" in _complete(env, "dcops run drain gpu001 --re")
    assert "drain" in _complete(env, "dcops help dr")
    assert _complete(env, "dcops run nosuchaction --") == []


@pytest.mark.parametrize(
    "shell, marker", [("bash", "complete "), ("zsh", "compdef"), ("fish", "complete --command dcops")]
)
def test_completion_scripts(env, shell: str, marker: str) -> None:
    p = dcops(env, "completion", shell)
    assert p.returncode == 0 and marker in p.stdout and "dcops" in p.stdout


def test_unknown_shell_is_bad_input(env) -> None:
    p = dcops(env, "completion", "powershell")
    assert p.returncode == 2 and "invalid choice" in p.stderr
