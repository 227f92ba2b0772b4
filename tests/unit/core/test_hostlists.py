"""dcops' hostlist dialect is Slurm's: what it accepts, what it expands to, and what it writes back.

The expected expansions below are what ``scontrol show hostnames`` (Slurm 22.05) printed for the
same input; ``tests/integration/slurm/test_hostlist_dialect.py`` checks the same rules against the
real scontrol with generated input.
"""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dcops.actions.errors import UsageError
from dcops.actions.hostlists import ARG_LIMIT, MAX_NAMES, MAX_RANGE, chunks, collapse, count, expand, parse

# (input, what scontrol show hostnames printed, duplicates dropped)
SLURM_AGREES = [
    ("gpu[001-003,007]", ["gpu001", "gpu002", "gpu003", "gpu007"]),
    ("rack[1-2]-gpu[01-02]", ["rack1-gpu01", "rack1-gpu02", "rack2-gpu01", "rack2-gpu02"]),
    ("dgx-a100-[01-03]", ["dgx-a100-01", "dgx-a100-02", "dgx-a100-03"]),
    ("a[1-2]b[3-4]", ["a1b3", "a1b4", "a2b3", "a2b4"]),
    ("a[1-2][3-4]", ["a13", "a14", "a23", "a24"]),
    ("a[1-2][3-4][5-6]", ["a135", "a136", "a235", "a236", "a145", "a146", "a245", "a246"]),  # Slurm's order
    ("a[0,00][0-1][0]", ["a000", "a0000", "a010", "a0010"]),
    ("a[2,1][4,3]", ["a24", "a23", "a14", "a13"]),
    ("a[1-2]-[3-4]", ["a1-3", "a1-4", "a2-3", "a2-4"]),
    ("a[1-2]b[3]", ["a1b3", "a2b3"]),
    ("gpu[001-3]", ["gpu001", "gpu002", "gpu003"]),  # width of lo
    ("gpu[1-003]", ["gpu1", "gpu2", "gpu3"]),
    ("a[9-011]", ["a9", "a10", "a11"]),
    ("a[09-11]", ["a09", "a10", "a11"]),
    ("a[2,1]", ["a2", "a1"]),  # input order, not sorted
    ("a,,b", ["a", "b"]),  # empty tokens skipped
    ("[1-3]", ["1", "2", "3"]),
    ("a.b[1-2]", ["a.b1", "a.b2"]),
    ("a_b[1-2]", ["a_b1", "a_b2"]),
    ("n01-ib,n02-ib", ["n01-ib", "n02-ib"]),
    ("gpu[01-02],gpu01", ["gpu01", "gpu02"]),  # Slurm: gpu01 gpu02 gpu01 (dcops: a set)
    ("a[1-3,2]", ["a1", "a2", "a3"]),  # Slurm: a1 a2 a3 a2
]

# scontrol says "Invalid hostlist" (or prints nothing) for these; dcops refuses them too
SLURM_REJECTS = [
    "x[9-11]y",
    "n[1-2]-ib",
    "rack[1-2]-gpu01",
    "gpu[1-2]a",
    "a[1-2].b",
    "a[1-2]:b",
    "[1-2]a",
    "gpu[3-1]",
    "a[]",
    "a[1,]",
    "a[,1]",
    "a[-1]",
    "a[0x1]",
    "a[[1]]",
    "a[0-65536]",
    "a[0-1000],b[0-70000]",
    ",",
    ",,,",
]

# Slurm reads these leniently; dcops refuses them on purpose (documented in actions/hostlists.py)
DCOPS_STRICTER = [
    "a[1-2",
    "a1-2]",
    "a[1-]",
    "a[ 1]",
    "a[+1]",
    "a b",
    "a\tb",
    "-a",
    ".a",
    "a[99999999999999999999]",
    "gpu001;rm -rf /",
    "gpu$(id)",
    "a\nb",
    "a[1-2]]",
]


@pytest.mark.parametrize(("expr", "names"), SLURM_AGREES)
def test_expands_like_scontrol(expr: str, names: list[str]) -> None:
    assert expand(expr) == names


@pytest.mark.parametrize("expr", SLURM_REJECTS + DCOPS_STRICTER)
def test_refused_with_one_line(expr: str) -> None:
    with pytest.raises(UsageError) as err:
        expand(expr)
    assert "\n" not in str(err.value)
    assert "hostlist" in str(err.value) or "node list" in str(err.value)


def test_text_after_a_group_says_how_to_write_it() -> None:
    with pytest.raises(UsageError, match=r"write rack\[1-2\]-gpu\[01\]"):
        expand("rack[1-2]-gpu01")
    assert expand("rack[1-2]-gpu[01]") == ["rack1-gpu01", "rack2-gpu01"]
    with pytest.raises(UsageError, match="one by one"):
        expand("n[01-02]-ib")


@pytest.mark.parametrize("expr", ["", " ", ",", " , ", ",,"])
def test_an_empty_target_list_is_bad_input(expr: str) -> None:
    with pytest.raises(UsageError, match="empty node list"):
        expand(expr)


def test_bounded_before_expanding() -> None:
    """A 2 KB expression standing for 65536^40 names is refused by counting, in well under a
    megabyte, and the message names the limit."""
    expr = "a" + "[0-65535]" * 40 + ",b" * 600
    assert 1500 < len(expr) < 2600
    tracemalloc.start()
    try:
        with pytest.raises(UsageError) as err:
            expand(expr)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    assert f"at most {MAX_NAMES:,}" in str(err.value) and "\n" not in str(err.value)
    assert len(str(err.value)) < 200  # the expression is shortened in the message


def test_many_small_ranges_add_up_to_the_limit() -> None:
    expr = ",".join(f"n{i}x[0-9999]" for i in range(11))  # 110,000 names, no single range too big
    with pytest.raises(UsageError, match="110,000 nodes"):
        expand(expr)
    assert count(expr) == 110_000
    assert len(expand(expr, limit=200_000)) == 110_000


def test_huge_numbers_are_bad_input() -> None:
    with pytest.raises(UsageError, match="65,536"):
        expand("gpu[1-99999999999999]")
    with pytest.raises(UsageError, match="18 digits"):
        expand("gpu[1234567890123456789]")
    assert len(expand(f"gpu[1-{MAX_RANGE}]")) == MAX_RANGE


def test_collapse_writes_only_what_slurm_accepts() -> None:
    names = ["n1-ib", "n2-ib", "rack1-gpu01", "rack2-gpu01", "gpu1a", "gpu2a", "dgx-h100-01", "dgx-h100-02"]
    text = collapse(names)
    assert text == "dgx-h100-[01-02],gpu1a,gpu2a,n1-ib,n2-ib,rack[1-2]-gpu[01]"
    assert sorted(expand(text)) == sorted(names)
    assert collapse(["gpu001", "gpu002", "gpu004"]) == "gpu[001-002,004]"
    assert collapse(["a9", "a10", "a11"]) == "a[9-11]"
    assert collapse(["a1", "a01", "a001"]) == "a[1,01,001]"
    assert collapse(["a099", "a100", "a0100"]) == "a[099-100,0100]"
    assert collapse(["1", "2", "3"]) == "[1-3]"
    assert collapse(["gpu5"]) == "gpu5"
    racks = [f"rack{r}-gpu{g:02d}" for r in range(1, 5) for g in range(1, 33)]
    assert collapse(racks) == "rack[1-4]-gpu[01-32]"  # two groups, as Slurm accepts
    assert collapse(["a1b1", "a2b1"]) == "a1b1,a2b1"  # merged only where shorter
    assert collapse([]) == ""
    big = [f"g{i}" for i in range(MAX_RANGE + 10)]  # no range longer than Slurm's limit
    assert expand(collapse(big), limit=len(big)) == big


def test_chunks_stay_under_the_limit_and_cover_the_set() -> None:
    irregular = [f"n{i:05d}-ib" for i in range(10_000)]  # does not collapse: ~110 KB as one list
    parts = chunks(irregular)
    assert len(parts) > 1 and all(len(p) <= ARG_LIMIT for p in parts)
    assert [n for p in parts for n in expand(p)] == irregular
    sparse = [f"gpu{i}" for i in range(0, 40_000, 2)]  # one prefix, 20,000 ranges
    parts = chunks(sparse, limit=5000)
    assert len(parts) > 1 and all(len(p) <= 5000 for p in parts)
    assert sorted((n for p in parts for n in expand(p)), key=lambda n: int(n[3:])) == sparse
    assert chunks(["gpu001", "gpu002"]) == ["gpu[001-002]"]


# ---------------------------------------------------------------- generated name sets

_word = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=4)
_sep = st.sampled_from(["", "-", "_", "."])
_names = st.builds(
    lambda head, sep, n, w, tail: f"{head}{sep}{n:0{w}d}{tail}",
    st.lists(_word, min_size=1, max_size=3).map("-".join),
    _sep,
    st.integers(0, 3000),
    st.integers(1, 4),
    st.sampled_from(["", "", "-ib", "a", "-gpu01", "-eth0"]),
)


@given(st.lists(_names, min_size=1, max_size=80))
@settings(max_examples=300, deadline=None)
def test_collapse_round_trips_through_the_parser(items: list[str]) -> None:
    text = collapse(items)
    assert sorted(expand(text)) == sorted(set(items))
    assert count(text) == len(set(items))  # collapse never writes a duplicate
    for token in parse(text):  # never a group followed by plain text
        assert not isinstance(token[-1], str) or not token[-1] or len(token) == 1


@given(st.lists(_names, min_size=1, max_size=60), st.integers(20, 200))
@settings(max_examples=100, deadline=None)
def test_chunks_round_trip(items: list[str], limit: int) -> None:
    parts = chunks(items, limit)
    assert all(len(p) <= limit or "," not in p for p in parts)
    assert sorted(n for p in parts for n in expand(p)) == sorted(set(items))


@given(st.text(max_size=40))
@settings(max_examples=400, deadline=None)
def test_garbage_is_rejected_cleanly(text: str) -> None:
    try:
        out = expand(text)
    except UsageError as exc:
        assert "\n" not in str(exc)
        return
    assert out and all(n and n[0].isalnum() and all(c.isalnum() or c in "-_." for c in n) for n in out)
    assert len(out) == len(set(out))
