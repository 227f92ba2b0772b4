"""Double quotes in a drain reason against the lab's real Slurm 22.05: what sinfo shows is what was
typed (plus dcops' ``[who via where]`` stamp), or the drain is refused before anything is audited
as started and the node is left as it was.

scontrol drops a Reason value's leading double quote (and a trailing one): the first test pins that
on the real scontrol, so the day a Slurm stops doing it the refusal can be reconsidered; the others
go through the engine built from config, as every front end does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dcops.actions import open_engine, parse_command
from dcops.actions.engine import Engine
from dcops.actions.errors import UsageError
from dcops.actions.rbac import Policy
from dcops.actions.store.base import AuditQuery
from dcops.actions.validation import SLURM_LEADING_QUOTE
from tests.integration.slurm.test_slurm_actions import ALLOW_ALL, lab_config, run
from tests.lab.slurm import SlurmLab


@pytest.fixture
async def engine(tmp_path: Path, cluster: SlurmLab) -> AsyncIterator[Engine]:
    eng = await open_engine(lab_config(tmp_path, cluster), policy=Policy.from_toml(ALLOW_ALL))
    yield eng
    await eng.aclose()


def shown(cluster: SlurmLab, node: str) -> str:
    """The node's reason as sinfo shows it."""
    return cluster.run("sinfo", "-h", "-N", "-n", node, "-o", "%E").stdout.rstrip("\n")


def test_scontrol_itself_drops_a_leading_and_a_trailing_double_quote(cluster: SlurmLab) -> None:
    for typed, stored in (('"hi" there', 'hi" there'), ('say "hi"', 'say "hi'), ('a "b" c', 'a "b" c')):
        cluster.run("scontrol", "update", "NodeName=gpu015", "State=DRAIN", f"Reason={typed}")
        assert shown(cluster, "gpu015") == stored
    cluster.run("scontrol", "update", "NodeName=gpu015", "State=RESUME")


KEPT = ['say "hi"', 'psu "A" and "B" swapped', 'ends with a quote"', "it's 'fine' \"really\"", 'a "" b']


@pytest.mark.parametrize("reason", KEPT)
async def test_quotes_after_the_first_character_are_stored_as_typed(
    engine: Engine, cluster: SlurmLab, reason: str
) -> None:
    fin, _ = await run(engine, "drain", nodes="gpu013", reason=reason)
    assert fin.outcome == "ok", fin.summary
    assert shown(cluster, "gpu013") == f"{reason} [unix:oncall1 via cli]"
    assert cluster.node("gpu013")["Reason"] == f"{reason} [unix:oncall1 via cli]"


@pytest.mark.parametrize("typed", ["drain gpu014 --reason '\"hi\" there'", 'drain gpu014 --reason " \\"xid 79\\""'])
async def test_a_leading_quote_is_refused_before_anything_is_audited_as_started(
    engine: Engine, cluster: SlurmLab, typed: str
) -> None:
    command = parse_command(typed)  # the command line every front end parses
    assert command.params["reason"].lstrip().startswith('"')
    before = cluster.node("gpu014")
    with pytest.raises(UsageError) as err:
        await run(engine, command.action, **command.params)
    assert str(err.value) == f"drain: --reason: {SLURM_LEADING_QUOTE}"
    records = await engine.store.query(AuditQuery(action="drain"))
    assert sorted(r.event for r in records) == ["invalid", "received"]
    after = cluster.node("gpu014")
    assert after == before == {"State": "IDLE", "Reason": ""}
