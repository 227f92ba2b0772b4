"""Hostlist parsing round-trips and rejects garbage with a UsageError (never another exception)."""

from __future__ import annotations

import hostlist
from hypothesis import given, settings
from hypothesis import strategies as st

from actions.errors import UsageError
from actions.hostlists import collapse, expand

names = st.builds(lambda p, n, w: f"{p}{n:0{w}d}", st.sampled_from(["gpu", "cpu", "node-a", "dgx"]),
                  st.integers(0, 5000), st.integers(1, 5))


@given(st.lists(names, min_size=1, max_size=60, unique=True))
@settings(max_examples=200, deadline=None)
def test_collapse_then_expand_round_trips(items: list[str]) -> None:
    expr = collapse(items)
    assert sorted(expand(expr)) == sorted(items)


@given(st.text(max_size=40))
@settings(max_examples=400, deadline=None)
def test_garbage_is_rejected_cleanly(text: str) -> None:
    try:
        out = expand(text)
    except UsageError as exc:
        assert "\n" not in str(exc)
        return
    # accepted input must be exactly what python-hostlist expands (no silent reinterpretation)
    assert out == list(dict.fromkeys(hostlist.expand_hostlist(text.strip())))
    assert all(n and not any(c.isspace() for c in n) for n in out)


def test_examples() -> None:
    assert expand("gpu[001-003,007]") == ["gpu001", "gpu002", "gpu003", "gpu007"]
    assert collapse(["gpu001", "gpu002", "gpu004"]) == "gpu[001-002,004]"
    for bad in ["gpu[001-", "gpu001;rm -rf /", "", "gpu[3-1]", "a b"]:
        try:
            expand(bad)
        except UsageError as exc:
            assert bad.strip() == "" or repr(bad)[1:-1][:5] in str(exc) or "hostlist" in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")
