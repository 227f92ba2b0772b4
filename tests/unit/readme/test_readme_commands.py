"""Every `dcops …` command line in README.md runs as written against the demo cluster (`--demo`):
exit 0, 1 or 3, one-line errors, never a traceback. Taken from the README itself on every run
(code blocks, inline `dcops …` spans, and the command-grammar block as `dcops run LINE`), so a
README edit that breaks a command fails here."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text()

# Lines that cannot run against the demo, and why (matched as a prefix of the words after `dcops`).
SKIP = {
    "[": "the synopsis line, not a command",
    "slack": "serves the Slack bot until stopped: needs Slack tokens and runs forever",
    "alerts serve": "serves the Alertmanager webhook until stopped",
    "tui": "needs a terminal (tests/tui drives it under tmux)",
    "audit keygen /etc": "writes /etc/dcops: root-owned paths of a real install",
    "audit migrate": "copies into a real PostgreSQL store (tests/integration/postgres runs it)",
    "completion fish | source": "a shell pipeline, not a dcops command (the completion tests run it)",
    "run RUN_ID": "a placeholder, not a command",
    "resume RUN_ID": "a placeholder run id (tests/unit/cli resumes real runs)",
    "approve ID": "a placeholder approval id (tests/unit/cli/test_cli_json.py approves/denies real ones)",
}
# Inline spans in prose that name a command rather than spell one out (exact match).
PROSE = {
    "dcops policy check": "names the command; the full example `dcops policy check unix:alice drain …` runs",
    "dcops audit list/show": "names two commands at once; both run from the synopsis' examples",
}
PLACEHOLDER = re.compile(r"\b(FILE|ACTION|ARGS|PREFIX|TOKEN|SEQ:HASH|IMAGE_ID|COMMAND)\b|\.\.\.|…")


def _grammar_lines() -> list[str]:
    """The block after 'The command grammar is the same…': each `ACTION ARGS` (several per line,
    separated by 3+ spaces) is `dcops run ACTION ARGS`."""
    block = README.split("The command grammar is the same", 1)[1].split("```", 2)[1]
    cmds = []
    for line in block.splitlines()[1:]:
        for part in re.split(r" {2,}", line.strip()):
            if part and "|" not in part and "[" not in part.split()[0]:
                cmds.append("dcops run " + re.sub(r"\s*\[--[^\]]*\]", "", part))
    return cmds


def readme_commands() -> list[str]:
    found = []
    for block in re.findall(r"```[^\n]*\n(.*?)```", README, re.S):
        found += [l.strip().split("  #")[0].strip() for l in block.splitlines() if l.strip().startswith("dcops ")]
    found += [" ".join(span.split()) for span in re.findall(r"`(dcops [^`]+)`", README)]
    found += _grammar_lines()
    return list(dict.fromkeys(found))


def _skip_reason(cmd: str) -> str | None:
    if cmd in PROSE:
        return PROSE[cmd]
    rest = cmd.removeprefix("dcops ").strip()
    for prefix, why in SKIP.items():
        if rest.startswith(prefix):
            return why
    if PLACEHOLDER.search(rest):
        return "has placeholders (FILE, ACTION, ...): a synopsis, not a command"
    return None


COMMANDS = readme_commands()


def test_the_readme_has_commands_to_check() -> None:
    runnable = [c for c in COMMANDS if _skip_reason(c) is None]
    assert len(runnable) >= 15, runnable


@pytest.mark.parametrize("cmd", COMMANDS)
def test_readme_command_runs_on_the_demo(cmd: str, tmp_path: Path) -> None:
    why = _skip_reason(cmd)
    if why:
        pytest.skip(why)
    import os

    env = dict(
        os.environ,
        XDG_DATA_HOME=str(tmp_path / "d"),
        XDG_STATE_HOME=str(tmp_path / "s"),
        XDG_CONFIG_HOME=str(tmp_path / "c"),
    )
    env.pop("DCOPS_CONFIG", None)
    (tmp_path / "fw.toml").write_text((ROOT / "actions" / "sim" / "baseline.toml").read_text())  # the demo's
    words = shlex.split(cmd.replace("dcops ", "", 1))

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dcops.console.cli", "--demo", *words, *extra],
            cwd=tmp_path,
            env=env,
            text=True,
            capture_output=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    p = run()
    token = re.search(r"non-interactive: pass --confirm (\S+?)\)", p.stderr)
    if p.returncode == 2 and token:  # destructive: the README says you type the count; a script passes it
        p = run("--confirm", token.group(1))
    assert "Traceback" not in p.stdout + p.stderr, p.stderr
    assert p.returncode in (0, 1, 3), f"{cmd!r} exited {p.returncode}: {p.stderr.strip()}"
