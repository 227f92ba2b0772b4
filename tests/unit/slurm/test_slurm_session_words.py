"""The long-lived scontrol reads commands from its stdin and splits words itself: a hostlist that
is not one plain word (a newline would start a second command, e.g. an ``update``; a space or a
quote another argument) never reaches it, nor does a drain reason that could leave its quotes;
that read or write goes to the one-shot command instead, where each word is one argv entry. A
stand-in scontrol records every line it is sent."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from dcops.actions.backends.slurm_session import ScontrolSession
from dcops.actions.errors import BackendError

FAKE = """\
import re, sys
log = open(sys.argv[0] + ".log", "a")
for line in sys.stdin:
    log.write(line); log.flush()
    m = re.match(r"show hostnames (\\S+)-\\[(\\d+)-\\d+\\]", line)
    if m:
        print(f"{m[1]}-{m[2]}", flush=True)
    elif line.startswith("update") and "nosuch" in line:
        print("slurm_update error: Invalid node name specified", flush=True)
    elif line.startswith("update") and "redraw" in line:  # readline redrawing a wrapped echo
        print("scontrol: " + line.rstrip()[:-1] + " \\r\\x1b[A\\x1b[C\\x1b[C\\x1b[K" + '"', flush=True)
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


HOSTILE_REASONS = [
    'x" State=DOWN Reason="y',  # leaves its quotes: a second State= word
    'x"\nupdate NodeName=gpu002 State=DOWN Reason="y',
    "it's",  # a single quote: scontrol quotes with it too
    "back\\slash",
    "#not a comment",
    "caf\u00e9",  # not ASCII: how scontrol's byte-wise split treats it is not ours to guess
    "nbsp\u00a0here",
    "tab\there",
    "line\u2028separator",
]


@pytest.mark.parametrize("hostile", HOSTILE_REASONS)
async def test_a_reason_that_could_leave_its_quotes_never_reaches_the_session(
    session: ScontrolSession, tmp_path: Path, hostile: str
) -> None:
    assert await session.update_nodes("gpu001", "DRAIN", hostile) is None  # the one-shot command runs it
    assert session.started == 0 and sent(tmp_path) == ""
    await session.aclose()


async def test_a_hostile_hostlist_or_state_never_reaches_the_session_as_an_update(
    session: ScontrolSession, tmp_path: Path
) -> None:
    assert await session.update_nodes("gpu001\nupdate NodeName=gpu002 State=DOWN", "DRAIN", "x") is None
    assert await session.update_nodes("gpu001", "DRAIN Reason=x", None) is None
    assert session.started == 0 and sent(tmp_path) == ""
    await session.aclose()


async def test_a_plain_reason_is_one_quoted_word_of_one_update(session: ScontrolSession, tmp_path: Path) -> None:
    reason = "hw: ECC [unix:oncall1 via cli] ticket=INC-42 @rack7"
    out = await session.update_nodes("gpu[001-016]", "DRAIN", reason)
    assert out is not None and out.status == 0 and session.updates == 1
    updates = [line for line in sent(tmp_path).splitlines() if line.startswith("update")]
    assert updates == [f'update NodeName=gpu[001-016] State=DRAIN Reason="{reason}"']
    await session.aclose()


async def test_what_scontrol_says_to_an_update_is_its_one_line_error(session: ScontrolSession) -> None:
    with pytest.raises(BackendError) as err:
        await session.update_nodes("nosuch[1-2]", "DRAIN", "x")
    assert str(err.value) == "slurm: scontrol failed: slurm_update error: Invalid node name specified"
    assert await session.update_nodes("gpu001", "RESUME", None) is not None  # the process goes on serving
    await session.aclose()


async def test_a_redrawn_echo_is_not_taken_for_an_error_or_a_success(session: ScontrolSession, tmp_path: Path) -> None:
    """Nothing can be read from a garbled answer: the session is dropped and the caller runs the
    (idempotent) update again as a one-shot command."""
    assert await session.update_nodes("gpu001", "DRAIN", "redraw me") is None
    assert session.updates == 0 and session._proc is None
    assert await session.update_nodes("gpu001", "DRAIN", "plain") is not None and session.started == 2
    await session.aclose()


def test_the_session_gets_a_screen_wider_than_any_command_and_no_site_inputrc(tmp_path: Path) -> None:
    s = ScontrolSession(timeout=1, env={"PATH": os.environ["PATH"], "TERM": "xterm-256color", "INPUTRC": "/etc/x"})
    assert (s.env["TERM"], s.env["COLUMNS"], s.env["INPUTRC"]) == ("dumb", "1000000", "/dev/null")
