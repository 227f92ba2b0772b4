"""The long-lived scontrol reads commands from its stdin and splits words itself: a hostlist that
is not one plain word (a newline would start a second command, e.g. an ``update``; a space or a
quote another argument) never reaches it; that read goes to the one-shot command instead, where
the hostlist is one argv entry. A stand-in scontrol records every line it is sent."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from dcops.actions.backends.slurm_session import ScontrolSession

FAKE = """\
import re, sys
log = open(sys.argv[0] + ".log", "a")
for line in sys.stdin:
    log.write(line); log.flush()
    m = re.match(r"show hostnames (\\S+)-\\[(\\d+)-\\d+\\]", line)
    if m:
        print(f"{m[1]}-{m[2]}", flush=True)
"""


@pytest.fixture
def session(tmp_path: Path) -> ScontrolSession:
    fake = tmp_path / "scontrol"
    fake.write_text(f"#!{sys.executable}\n{FAKE}")
    fake.chmod(0o755)
    s = ScontrolSession(timeout=10, env={"PATH": f"{tmp_path}:{os.environ['PATH']}"}, bin_dir=str(tmp_path))
    assert s.stdbuf is not None, "stdbuf (coreutils) is needed for the session"
    return s


def sent(tmp_path: Path) -> str:
    log = tmp_path / "scontrol.log"
    return log.read_text() if log.exists() else ""


@pytest.mark.parametrize(
    "hostile",
    [
        "gpu001\nupdate nodename=gpu002 state=drain reason=x",
        "gpu001\rupdate nodename=gpu002 state=drain",
        "gpu001 state=drain",
        "gpu001\tgpu002",
        'gpu001"',
        "gpu001'x",
        "gpu#1",
        "gpu\x00001",
        "gpu\u2028001",  # a Unicode line separator
    ],
)
async def test_a_hostlist_that_is_not_one_word_never_reaches_the_session(
    session: ScontrolSession, tmp_path: Path, hostile: str
) -> None:
    assert await session.show_nodes(hostile) is None  # the caller runs the one-shot command
    assert session.started == 0 and sent(tmp_path) == ""
    await session.aclose()


async def test_a_plain_hostlist_is_asked_as_one_command(session: ScontrolSession, tmp_path: Path) -> None:
    answer = await session.show_nodes("gpu[001-016],gpu-a_1.x")
    assert answer is not None and session.started == 1
    lines = sent(tmp_path).splitlines()
    assert "show node gpu[001-016],gpu-a_1.x" in lines
    assert not any(line.startswith("update") for line in lines)
    await session.aclose()
