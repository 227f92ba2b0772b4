"""A reason Slurm would show otherwise than typed is refused before anything starts.

``scontrol`` drops a Reason value's leading double quote (the lab test
``tests/integration/slurm/test_reason_quotes.py`` pins that on the real Slurm); the reason dcops
hands over always ends with its ``[who via where]`` stamp, so only a leading quote is lost. Written
as a tired on-call engineer would type: a quoted first word, spaces before it, a lone quote, through
drain and through the drains of firmware-update and reimage; and as the rule's author would break
it: quotes anywhere else must still be accepted and reach Slurm untouched."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from dcops.actions.engine import Engine
from dcops.actions.errors import UsageError
from dcops.actions.events import RunFinished
from dcops.actions.store.base import AuditQuery
from dcops.actions.validation import SLURM_LEADING_QUOTE, SlurmReason
from tests.unit.slurm.test_node_actions_sim import eng, run  # noqa: F401 - eng is a fixture (the simulated cluster)

LOST = ['"hi" there', '"', '""', '  "indented', '"xid 79"']
KEPT = ['say "hi"', 'psu "A" and "B"', 'trailing"', "it's 'fine'", 'a "" b', "x", " x"]


@pytest.mark.parametrize("reason", LOST)
def test_the_rule_refuses_a_leading_quote_after_any_spaces(reason: str) -> None:
    with pytest.raises(ValidationError, match="leading double quote"):
        TypeAdapter(SlurmReason).validate_python(reason)


@pytest.mark.parametrize("reason", KEPT)
def test_the_rule_keeps_every_other_quote_and_the_text_as_typed(reason: str) -> None:
    assert TypeAdapter(SlurmReason).validate_python(reason) == reason


@pytest.mark.parametrize("reason", LOST)
async def test_drain_with_a_leading_quote_is_refused_audited_invalid_and_nothing_runs(eng: Engine, reason: str) -> None:
    node = "gpu003"
    before = {n.name: (n.drain_flag, n.reason) for n in await eng.backends.slurm.nodes([node])}
    with pytest.raises(UsageError) as err:
        await run(eng, "drain", nodes=node, reason=reason)
    assert str(err.value) == f"drain: --reason: {SLURM_LEADING_QUOTE}"
    records = await eng.store.query(AuditQuery(action="drain"))
    assert sorted(r.event for r in records) == ["invalid", "received"]
    assert SLURM_LEADING_QUOTE in (next(r for r in records if r.event == "invalid").error or "")
    assert eng.runs() == []
    assert {n.name: (n.drain_flag, n.reason) for n in await eng.backends.slurm.nodes([node])} == before


@pytest.mark.parametrize("reason", KEPT)
async def test_drain_with_quotes_after_the_first_character_reaches_slurm_as_typed(eng: Engine, reason: str) -> None:
    events = await run(eng, "drain", nodes="gpu004", reason=reason)
    assert isinstance(events[-1], RunFinished) and events[-1].outcome == "ok", events[-1]
    [info] = await eng.backends.slurm.nodes(["gpu004"])
    assert info.reason == f"{reason} [unix:root via cli]"  # the simulator keeps spaces; Slurm: the lab test


@pytest.mark.parametrize(("action", "extra"), [("firmware-update", {"image": "/srv/fw/bios-2.1.bin"}), ("reimage", {})])
async def test_the_drains_of_firmware_update_and_reimage_refuse_it_too(
    eng: Engine, action: str, extra: dict[str, Any]
) -> None:
    with pytest.raises(UsageError) as err:
        await run(eng, action, nodes="gpu005", reason='"planned" window', **extra)
    assert str(err.value) == f"{action}: --reason: {SLURM_LEADING_QUOTE}"
    assert [r.event for r in await eng.store.query(AuditQuery(action=action))] == ["invalid", "received"]
