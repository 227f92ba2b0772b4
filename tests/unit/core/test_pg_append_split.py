"""The one-round-trip PostgreSQL append hashes on the server from the canonical text split around
seq (pg_rows.canonical_around_seq). If the split ever disagreed with chain.canonical, every record
written that way would fail ``audit verify``: check it on arbitrary content, including values that
look like the seq field itself."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from dcops.actions.store.base import AuditEntry
from dcops.actions.store.chain import canonical
from dcops.actions.store.pg_rows import BATCH_COLS, append_batch, canonical_around_seq

text = st.text(max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
entries = st.builds(
    AuditEntry,
    ts=text,
    run_id=text,
    event=st.sampled_from(["received", "started", "finished", "step"]),
    principal=text,
    channel=text,
    action=text,
    targets=st.lists(text, max_size=4),
    params=st.dictionaries(st.sampled_from(["seq", "nodes", '"seq":1', "x"]) | text, json_values, max_size=4),
    decision=st.none() | text,
    outcome=st.none() | text,
    duration=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    error=st.none() | text,
    detail=st.none() | text,
    owner=st.none() | text,
)


@settings(max_examples=300, deadline=None)
@given(entry=entries, seq=st.integers(min_value=1, max_value=2**62))
def test_split_around_seq_is_the_canonical_text(entry: AuditEntry, seq: int) -> None:
    pre, post = canonical_around_seq(entry.__dict__)
    assert (pre + str(seq) + post).encode() == canonical(dict(entry.__dict__, seq=seq))


def test_batch_carries_every_column_and_refuses_a_non_finite_duration() -> None:
    entry = AuditEntry(
        ts="t",
        run_id="r",
        event="started",
        principal="unix:a",
        channel="cli",
        action="drain",
        targets=["gpu001", "gpu002"],
        params={"reason": "xid 79"},
        duration=1.5,
    )
    [sent] = json.loads(append_batch([entry]) or "[]")
    assert dict(zip(BATCH_COLS, sent["c"]))["targets"] == '["gpu001","gpu002"]'  # compact: chain.stored_json
    assert sent["nodes"] == ["gpu001", "gpu002"] and len(sent["c"]) == len(BATCH_COLS)
    assert append_batch([entry.model_copy(update={"duration": float("inf")})]) is None
