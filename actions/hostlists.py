"""Slurm hostlist expressions (``gpu[001-004,007]``) in Slurm's own dialect.

What dcops accepts is what ``scontrol show hostnames`` accepts (Slurm 22.05, docs/slurm.md), and a name set is
written back (:func:`collapse`) only in forms Slurm parses to the same names, because that text is
handed to ``scontrol update NodeName=...`` and typed back into dcops by people and by the TUI.

Why not python-hostlist (which dcops used before): its dialect is wider than Slurm's. It accepts
``x[9-11]y`` and ``n[1-2]-ib`` (a bracket group followed by plain text), which Slurm rejects with
"Invalid hostlist", and its ``collect_hostlist`` writes exactly those forms (``n[1-2]-ib``,
``rack[1-2]-gpu01``), so a drain of two such nodes failed on a real controller. It also has no way
to bound the size of an expansion before doing it. The grammar here is small (tokens, bracket
groups of decimal ranges) and is checked against the real ``scontrol`` by
``tests/integration/slurm/test_hostlist_dialect.py``; python-hostlist's natural sort is still the
order names are listed in (:func:`sort_names`), where its behaviour is right.

Slurm's rules, as implemented:
- tokens are separated by commas; empty tokens are skipped (``a,,b`` is ``a,b``);
- a token is literal text and bracket groups ``[1-4,7]``; a group may be followed by more text
  only if another group follows it (``rack[1-2]-gpu[01-02]`` yes, ``rack[1-2]-gpu01`` no);
- several groups expand as a product, the first group outermost;
- a range ``lo-hi`` is written with the width of ``lo``: ``[001-010]`` is 001..010, ``[1-010]`` is
  1..10, ``[9-11]`` is 9, 10, 11; ``lo`` must not exceed ``hi``; one range holds at most 65,536
  names (Slurm's MAX_RANGE).

Deliberate differences from Slurm (dcops is stricter, or a set where Slurm keeps a list):
- duplicates are dropped, first occurrence kept (Slurm keeps them and their order): a request
  targets a set of nodes;
- names hold letters, digits, ``.``, ``_`` and ``-`` only and start with a letter or digit;
  whitespace is not a separator (Slurm splits on it; a shell would too, silently);
- unbalanced or nested brackets and half ranges (``a[1-``, ``a1-2]``, ``a[1-]``), which Slurm reads
  leniently, are errors; numbers have at most 18 digits (Slurm silently saturates longer ones);
- the whole expression names at most :data:`MAX_NAMES` nodes, counted before anything is
  expanded, so a 2 KB expression cannot allocate gigabytes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import hostlist as _python_hostlist

from .errors import UsageError

MAX_NAMES = 100_000  # names one expression may stand for (checked before expanding)
MAX_RANGE = 65_536  # names in one range: Slurm's own limit ("Too many hosts in range")
MAX_DIGITS = 18  # digits in one number of a range

# Linux limits one argv word to 128 KiB (MAX_ARG_STRLEN) and OpenSSH hands the whole remote command
# to ``sh -c`` as one word, so the node list of one scontrol call stays far below that.
ARG_LIMIT = 32_000

_NAME_CHARS = re.compile(r"[A-Za-z0-9._-]+")
_TAIL_DIGITS = re.compile(r"^(.*?)(\d+)$", re.S)
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")
_EXAMPLE = "e.g. gpu[001-004,007] or dgx-h100-01,n01-ib"


def _shown(expr: str) -> str:
    """The expression as an error message quotes it: at most 60 characters."""
    return repr(expr if len(expr) <= 60 else expr[:57] + "...")


@dataclass(frozen=True, slots=True)
class _Range:
    lo: int
    hi: int
    width: int

    def __len__(self) -> int:
        return self.hi - self.lo + 1

    def numbers(self) -> Iterator[str]:
        width = self.width
        return (f"{n:0{width}d}" for n in range(self.lo, self.hi + 1))


# A token alternates text and groups: [text, group, text, group, ...]; the last part is a group unless
# the token is one plain name (Slurm refuses text after the last group)
_Token = list["str | list[_Range]"]


def _bad(expr: str, why: str) -> UsageError:
    return UsageError(f"malformed hostlist {_shown(expr)}: {why}; {_EXAMPLE}")


def _parse_group(expr: str, body: str) -> list[_Range]:
    ranges = []
    for part in body.split(","):
        m = _RANGE.fullmatch(part)
        if m is None:
            what = "an empty range" if not part else f"range {part!r}"
            raise _bad(expr, f"{what} in brackets; a range is NUMBER or NUMBER-NUMBER")
        lo_text, hi_text = m.group(1), m.group(2) or m.group(1)
        if max(len(lo_text), len(hi_text)) > MAX_DIGITS:
            raise _bad(expr, f"number in range {part!r} has more than {MAX_DIGITS} digits")
        lo, hi = int(lo_text), int(hi_text)
        if lo > hi:
            raise _bad(expr, f"range {part!r} runs backwards")
        if hi - lo + 1 > MAX_RANGE:
            raise UsageError(
                f"hostlist {_shown(expr)}: range {part!r} names {hi - lo + 1:,} nodes; "
                f"one range may name at most {MAX_RANGE:,} (Slurm's limit)"
            )
        ranges.append(_Range(lo, hi, len(lo_text)))
    return ranges


def _suffix_hint(token: str, suffix: str) -> str:
    """How to write ``rack[1-2]-gpu01`` or ``n[1-2]-ib`` the way Slurm accepts."""
    m = _TAIL_DIGITS.match(suffix)
    if m is not None:
        return f"write {token[: len(token) - len(m.group(2))]}[{m.group(2)}]"
    return "write such names out one by one, e.g. n01-ib,n02-ib"


def _parse_token(expr: str, token: str) -> _Token:
    parts: _Token = []
    rest = token
    while rest:
        open_at = rest.find("[")
        text = rest if open_at < 0 else rest[:open_at]
        if "]" in text:
            raise _bad(expr, f"']' without '[' in {token!r}")
        if text and not _NAME_CHARS.fullmatch(text):
            bad = next(c for c in text if not _NAME_CHARS.fullmatch(c))
            raise _bad(expr, f"{bad!r} in {token!r}; node names hold letters, digits, '.', '_' and '-'")
        parts.append(text)
        if open_at < 0:
            break
        close_at = rest.find("]", open_at)
        if close_at < 0:
            raise _bad(expr, f"'[' without ']' in {token!r}")
        body = rest[open_at + 1 : close_at]
        if "[" in body:
            raise _bad(expr, f"brackets inside brackets in {token!r}")
        parts.append(_parse_group(expr, body))
        rest = rest[close_at + 1 :]
        if rest and "[" not in rest:
            raise UsageError(
                f"malformed hostlist {_shown(expr)}: {token!r} has text after its last bracket "
                "group, which Slurm rejects (a group goes at the end of a name or before another "
                f"group); {_suffix_hint(token, rest)}"
            )
    first = parts[0] if isinstance(parts[0], str) else ""
    if first[:1] in (".", "-", "_"):
        raise _bad(expr, f"{token!r} starts with {first[0]!r}; node names start with a letter or digit")
    return parts


def _tokens(expr: str) -> list[str]:
    """Split at the commas outside brackets; empty tokens are dropped (as Slurm does)."""
    out, depth, start = [], 0, 0
    for i, c in enumerate(expr):
        if c == "[":
            depth += 1
        elif c == "]":
            depth = max(0, depth - 1)
        elif c == "," and depth == 0:
            out.append(expr[start:i])
            start = i + 1
    out.append(expr[start:])
    return [t for t in out if t]


def _count(token: _Token, cap: int | None = None) -> int:
    """Names in a token; with ``cap``, counting stops once it is passed (returns cap + 1), so a
    product of hundreds of groups costs nothing."""
    total = 1
    for part in token:
        if isinstance(part, list):
            total *= sum(len(r) for r in part)
            if cap is not None and total > cap:
                return cap + 1
    return total


def _names(token: _Token) -> Iterator[str]:
    """The token's names in Slurm's order. Slurm takes the last group as the innermost loop and
    expands the groups before it from the right (``_push_range_list`` recurses on the prefix's last
    group), so with groups G1..Gk the loops run G(k-1), ..., G1, Gk from the outside in: two groups
    are plain row-major, ``a[1-2][3-4][5-6]`` gives a135 a136 a235 a236 a145 ..."""
    texts = [str(p) for p in token[0::2]]  # one text before each group
    groups = [[d for r in g for d in r.numbers()] for g in token[1::2] if isinstance(g, list)]
    if not groups:  # a plain name
        yield texts[0]
        return
    if len(groups) == 1:  # the common case, fast
        head = texts[0]
        yield from (head + d for d in groups[0])
        return
    order = [*range(len(groups) - 2, -1, -1), len(groups) - 1]
    for combo in itertools.product(*(groups[i] for i in order)):
        digits = dict(zip(order, combo))
        yield "".join(texts[i] + digits[i] for i in range(len(groups)))


def parse(expr: str) -> list[list[str | list[_Range]]]:
    """Check an expression and return its tokens, without expanding anything. Raises UsageError."""
    text = (expr or "").strip()
    if not text:
        raise UsageError(f"empty node list; give a Slurm hostlist, {_EXAMPLE}")
    bad_space = next((c for c in text if c.isspace() or ord(c) < 32 or ord(c) == 127), None)
    if bad_space is not None:
        raise _bad(expr, f"{bad_space!r} in the list; separate names with commas, without spaces")
    tokens = [_parse_token(text, t) for t in _tokens(text)]
    if not tokens:
        raise UsageError(f"empty node list {_shown(text)}: it names no node; give a Slurm hostlist, {_EXAMPLE}")
    return tokens


def count(expr: str) -> int:
    """How many names (duplicates included) ``expr`` stands for, computed without expanding it."""
    return sum(_count(t) for t in parse(expr))


def expand(expr: str, *, limit: int = MAX_NAMES) -> list[str]:
    """Expand a hostlist: Slurm's names and order, duplicates removed. Raises UsageError on bad
    input, and before expanding anything when the expression stands for more than ``limit`` names."""
    tokens = parse(expr)
    total = 0
    for token in tokens:
        total += _count(token, cap=limit)
        if total > limit:
            exact = sum(_count(t, cap=10**12) for t in tokens)
            amount = f"{exact:,}" if exact <= 10**12 else "more than 10^12"
            raise UsageError(
                f"hostlist {_shown(expr.strip())} names {amount} nodes; dcops accepts at most "
                f"{limit:,} in one expression"
            )
    if len(tokens) == 1:
        return list(dict.fromkeys(_names(tokens[0])))
    return list(dict.fromkeys(name for token in tokens for name in _names(token)))


# ------------------------------------------------------------------ writing name sets back


def sort_names(names: Iterable[str]) -> list[str]:
    """Names in natural order (gpu2 before gpu10), as python-hostlist sorts them."""
    return _python_hostlist.numerically_sorted(list(names))


def _runs(items: list[tuple[int, str]]) -> list[str]:
    """Sorted (number, digits) items as range texts. A range ``lo-hi`` is read with the width of
    ``lo``, so a name extends a range when its number is the next one and it is written with that
    width (``a9,a10`` -> ``a[9-10]``, ``a099,a100`` -> ``a[099-100]``); several ranges stay open at once
    so ``cn1..cn99`` and ``cn050..cn149`` make two ranges, not a hundred. No range passes Slurm's
    MAX_RANGE names."""
    runs: list[list] = []  # [lo digits, hi digits, width, length]
    waiting: dict[int, list[int]] = {}  # next number -> runs that it would extend
    for number, digits in items:
        r = -1
        open_runs = waiting.get(number)
        if open_runs:
            size = len(digits)
            for candidate in open_runs:  # fits width w: exactly w digits, or more and unpadded
                width = runs[candidate][2]
                if size == width or (size > width and digits[0] != "0"):
                    r = candidate
                    if size == width:
                        break
            if r >= 0:
                open_runs.remove(r)
                run = runs[r]
                run[1] = digits
                run[3] += 1
        if r < 0:
            r = len(runs)
            runs.append([digits, digits, len(digits), 1])
        if runs[r][3] < MAX_RANGE:
            waiting.setdefault(number + 1, []).append(r)
    return [lo if lo == hi else f"{lo}-{hi}" for lo, hi, _, _ in runs]


def _pieces(names: Iterable[str]) -> list[tuple[str, list[str]]]:
    """The set as (prefix, [range texts]) pieces in natural order; a name that does not end in
    digits is a piece of its own with no ranges (Slurm cannot bracket it)."""
    groups: dict[str, list[tuple[int, str]]] = {}
    by_key: dict[str, tuple[str, list[str]]] = {}
    for name in dict.fromkeys(names):
        m = _TAIL_DIGITS.match(name)
        if m is None:
            by_key[name] = (name, [])
        else:
            groups.setdefault(m.group(1), []).append((int(m.group(2)), m.group(2)))
    for prefix, items in groups.items():
        items.sort(key=lambda it: (it[0], len(it[1])))
        by_key[prefix + items[0][1]] = (prefix, _runs(items))
    return [by_key[k] for k in sort_names(by_key)]


def _format(prefix: str, ranges: Sequence[str]) -> str:
    if not ranges:
        return prefix
    if len(ranges) == 1 and "-" not in ranges[0]:
        return prefix + ranges[0]
    return f"{prefix}[{','.join(ranges)}]"


_PREFIX_NUMBER = re.compile(r"^(.*?)(\d+)(\D*)$", re.S)


def _merged(pieces: list[tuple[str, list[str]]]) -> list[str]:
    """Pieces whose prefixes differ only in their last number and that share the same ranges become
    one two-group token, ``rack1-gpu[01-32],rack2-gpu[01-32]`` -> ``rack[1-2]-gpu[01-32]`` (Slurm
    accepts a group followed by text and another group), where that is shorter."""
    families: dict[tuple[str, str, tuple[str, ...]], list[tuple[int, str]]] = {}
    for prefix, ranges in pieces:
        m = _PREFIX_NUMBER.match(prefix) if ranges else None
        if m is not None:
            families.setdefault((m.group(1), m.group(3), tuple(ranges)), []).append((int(m.group(2)), m.group(2)))
    out: list[str] = []
    done: set[tuple[str, str, tuple[str, ...]]] = set()
    for prefix, ranges in pieces:
        m = _PREFIX_NUMBER.match(prefix) if ranges else None
        key = (m.group(1), m.group(3), tuple(ranges)) if m is not None else None
        if key is None or len(families[key]) < 2:
            out.append(_format(prefix, ranges))
            continue
        if key in done:
            continue
        done.add(key)
        head, mid, _ = key
        members = sorted(families[key], key=lambda it: (it[0], len(it[1])))
        merged = f"{head}[{','.join(_runs(members))}]{mid}[{','.join(ranges)}]"
        apart = [_format(f"{head}{digits}{mid}", ranges) for _, digits in members]
        out += [merged] if len(merged) < len(",".join(apart)) else apart
    return out


def collapse(names: Iterable[str]) -> str:
    """The set as one hostlist Slurm accepts and expands back to exactly these names (duplicates
    dropped, natural order). Names that do not end in digits stay as they are: Slurm has no way to
    write ``n01-ib,n02-ib`` shorter. Racks of equal rows share two groups (``rack[1-4]-gpu[01-32]``).
    Command lines get :func:`chunks` (one group per token, bounded in length), also Slurm's dialect."""
    return ",".join(_merged(_pieces(names)))


def chunks(names: Iterable[str], limit: int = ARG_LIMIT) -> list[str]:
    """The set as hostlists of at most ``limit`` characters each (a single name longer than that
    is a chunk of its own), for commands whose argument length is bounded. Their union is the set."""
    out: list[str] = []
    current = ""

    def add(text: str) -> None:
        nonlocal current
        if current and len(current) + 1 + len(text) > limit:
            out.append(current)
            current = ""
        current = f"{current},{text}" if current else text

    for prefix, ranges in _pieces(names):
        if len(_format(prefix, ranges)) <= limit or len(ranges) <= 1:
            add(_format(prefix, ranges))
            continue
        batch: list[str] = []
        for r in ranges:  # one prefix with too many ranges: split its brackets
            if batch and len(_format(prefix, [*batch, r])) > limit:
                add(_format(prefix, batch))
                batch = []
            batch.append(r)
        if batch:
            add(_format(prefix, batch))
    if current:
        out.append(current)
    return out
