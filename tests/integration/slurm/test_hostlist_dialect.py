"""Differential test: dcops' hostlist parser and collapse against the lab's real ``scontrol``
(Slurm 22.05). ``scontrol show hostnames EXPR`` is Slurm's expansion (duplicates and order kept;
"Invalid hostlist" on stdout with exit 0 when it refuses); ``scontrol show hostlist NAMES`` is its
collapse. Neither needs slurmctld: only the lab's slurm.conf.

Properties, over generated expressions and name sets (prefixes with dashes, text after the
number, several bracket groups, zero padding, duplicates, 1,000+ names):
- whatever dcops accepts, Slurm accepts, and expands to the same names (dcops drops duplicates);
- whatever Slurm refuses, dcops refuses;
- what dcops writes (``collapse``, ``chunks``) Slurm expands to exactly the set it came from;
- what Slurm writes, dcops reads back to the set it came from.
"""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dcops.actions.errors import UsageError
from dcops.actions.hostlists import chunks, collapse, expand
from tests.lab.slurm import SlurmLab


class Scontrol:
    def __init__(self, lab: SlurmLab) -> None:
        self.lab = lab

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return self.lab.run("scontrol", *argv, check=False, timeout=30)

    def hostnames(self, expr: str) -> list[str] | None:
        """Slurm's expansion, or None when Slurm refuses the expression."""
        res = self._run("show", "hostnames", expr)
        if "Invalid hostlist" in res.stdout + res.stderr or res.returncode != 0:
            return None
        return res.stdout.split()

    def hostlist(self, names: list[str]) -> str:
        res = self._run("show", "hostlist", ",".join(names))
        assert res.returncode == 0 and "Invalid" not in res.stdout, res.stdout + res.stderr
        return res.stdout.strip()


@pytest.fixture(scope="module")
def scontrol(slurm_cluster: SlurmLab) -> Scontrol:
    return Scontrol(slurm_cluster)


def dcops(expr: str) -> list[str] | None:
    try:
        return expand(expr)
    except UsageError:
        return None


def unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


# ---------------------------------------------------------------- generators

word = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=5)
prefix = (
    st.lists(word, min_size=1, max_size=3)
    .map("-".join)
    .flatmap(lambda w: st.sampled_from([w, w + "-", w + "_", w + "."]))
)


@st.composite
def a_range(draw: st.DrawFn) -> str:
    lo = draw(st.integers(0, 120))
    width = draw(st.integers(1, 4))
    text = str(lo).zfill(width)
    if draw(st.booleans()):
        hi = lo + draw(st.integers(0, 40))
        text += "-" + str(hi).zfill(draw(st.integers(1, 4)))
    return text


group = st.lists(a_range(), min_size=1, max_size=4).map(lambda rs: "[" + ",".join(rs) + "]")


@st.composite
def a_token(draw: st.DrawFn) -> str:
    """A name, or prefix + groups (with text between them), the last group at the end — and,
    sometimes, text after the last group, which Slurm refuses."""
    head = draw(prefix)
    kind = draw(st.sampled_from(["name", "name", "groups", "groups", "groups", "suffix"]))
    if kind == "name":
        return (
            head
            + str(draw(st.integers(0, 999))).zfill(draw(st.integers(1, 3)))
            + draw(st.sampled_from(["", "-ib", "a", "-gpu01"]))
        )
    parts = [head, draw(group)]
    for _ in range(draw(st.integers(0, 2))):
        parts += [draw(st.sampled_from(["", "-", "-gpu", "x", "."])), draw(group)]
    if kind == "suffix":
        parts.append(draw(st.sampled_from(["-ib", "a", "-gpu01", ".b"])))
    return "".join(parts)


expressions = st.lists(a_token(), min_size=1, max_size=5).flatmap(
    lambda toks: st.sampled_from([",".join(toks), ",".join(toks + toks[:1]), ",," + ",".join(toks)])
)

names = st.builds(
    lambda p, n, w, tail: f"{p}{n:0{w}d}{tail}",
    prefix,
    st.integers(0, 2500),
    st.integers(1, 4),
    st.sampled_from(["", "", "", "-ib", "a", "-gpu01"]),
)


# ---------------------------------------------------------------- properties


@given(expressions)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_parser_agrees_with_scontrol_show_hostnames(scontrol: Scontrol, expr: str) -> None:
    ours = dcops(expr)
    theirs = scontrol.hostnames(expr)
    assume(theirs is None or len(theirs) <= 20_000)
    if theirs is None:
        assert ours is None, f"dcops accepts {expr!r}, which Slurm refuses"
    else:
        assert ours == unique(theirs), expr


@given(st.text("ab1-[],0", max_size=14))
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_what_dcops_accepts_slurm_accepts_the_same_way(scontrol: Scontrol, expr: str) -> None:
    """Raw text: dcops may be stricter (documented), never more lenient or different."""
    ours = dcops(expr)
    if ours is not None:
        assert unique(scontrol.hostnames(expr) or []) == ours, expr
    if scontrol.hostnames(expr) is None:
        assert ours is None


@given(st.lists(names, min_size=1, max_size=60))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_collapse_is_read_back_by_slurm_and_slurms_collapse_by_dcops(scontrol: Scontrol, items: list[str]) -> None:
    ours = collapse(items)
    assert sorted(scontrol.hostnames(ours) or ["refused"]) == sorted(set(items)), ours
    theirs = scontrol.hostlist(items)
    assert sorted(expand(theirs)) == sorted(set(items)), theirs


@st.composite
def a_big_fleet(draw: st.DrawFn) -> list[str]:
    """1,000+ names from a few families (prefix, number range with gaps, padding, suffix), plus
    duplicates: cheap to draw, unlike 1,000 independent names."""
    out: list[str] = []
    while len(out) < 1000:
        head, start, width = draw(prefix), draw(st.integers(0, 5000)), draw(st.integers(1, 5))
        tail, step = draw(st.sampled_from(["", "", "-ib", "a", "-gpu01"])), draw(st.integers(1, 3))
        out += [f"{head}{n:0{width}d}{tail}" for n in range(start, start + step * draw(st.integers(50, 700)), step)]
    return out + out[: draw(st.integers(0, 50))]


@given(a_big_fleet())
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
def test_thousands_of_names(scontrol: Scontrol, items: list[str]) -> None:
    ours = collapse(items)
    assert sorted(scontrol.hostnames(ours) or []) == sorted(set(items))
    theirs = scontrol.hostlist(items)
    assert sorted(expand(theirs)) == sorted(set(items))
    for part in chunks(items, limit=2000):
        assert len(part) <= 2000 or "," not in part
        assert scontrol.hostnames(part) == expand(part)


def test_a_generated_fleet_of_irregular_names(scontrol: Scontrol) -> None:
    """2,600 names of the shapes real fleets use, through both tools and back."""
    fleet = (
        [f"dgx-h100-{i:02d}" for i in range(1, 300)]
        + [f"n{i:03d}-ib" for i in range(1, 800)]
        + [f"rack{r}-gpu{g:02d}" for r in range(1, 40) for g in range(1, 33)]
        + [f"cn{i}" for i in range(1, 100)]
        + [f"cn{i:03d}" for i in range(50, 150)]
    )
    ours = collapse(fleet)
    assert sorted(scontrol.hostnames(ours) or []) == sorted(fleet)
    assert sorted(expand(scontrol.hostlist(fleet))) == sorted(fleet)
    assert "]-ib" not in ours and "cn[1-99,050-149]" in ours and "dgx-h100-[01-299]" in ours


@pytest.mark.parametrize("expr", ["x[9-11]y", "n[1-2]-ib", "rack[1-2]-gpu01", "gpu[1-2]a", "a[0-65536]"])
def test_the_forms_python_hostlist_wrote_are_refused_by_both(scontrol: Scontrol, expr: str) -> None:
    assert scontrol.hostnames(expr) is None
    assert dcops(expr) is None
