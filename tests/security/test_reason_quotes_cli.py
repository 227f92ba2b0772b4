"""``dcops run drain --reason`` with a leading double quote through the real process: exit 2, the one
line the TUI and Slack give, no traceback, audited as invalid; a quote later in the reason is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dcops.actions.validation import SLURM_LEADING_QUOTE

from .cli import dcops, env_for, no_traceback


@pytest.mark.parametrize("action", ["drain", "firmware-update", "reimage"])
def test_a_leading_quote_is_one_line_exit_2_and_audited(tmp_path: Path, action: str) -> None:
    env = env_for(tmp_path)
    extra = ("--image", "/srv/fw/bios-2.1.bin") if action == "firmware-update" else ()
    p = dcops(env, "--demo", "run", action, "gpu001", "--reason", ' "xid 79" on GPU 3', *extra, "--yes")
    no_traceback(p)
    assert p.returncode == 2
    assert p.stderr.splitlines() == [f"dcops: {action}: --reason: {SLURM_LEADING_QUOTE}"]
    records = json.loads(dcops(env, "--demo", "--json", "audit", "list", "--action", action).stdout)
    assert [r["event"] for r in records] == ["invalid", "received"]


def test_a_quote_after_the_first_character_is_drained_with(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    p = dcops(env, "--demo", "--json", "run", "drain", "gpu001", "--reason", 'xid 79 on "GPU 3"', "--yes")
    assert p.returncode == 0, p.stderr
    assert 'xid 79 on \\"GPU 3\\" [unix:' in p.stdout
