"""A small PromQL evaluator over any source of series, for the simulated Prometheus.

Parsing is done by ``promql-parser`` (PyPI; Python bindings of the Rust parser GreptimeDB uses),
so syntax and parse errors match real PromQL. Evaluation is hand-written: no maintained
pure-Python PromQL *engine* exists on PyPI, and the subset dcops needs is small. Supported:
instant and range selectors with ``= != =~ !~`` matchers and ``offset``; ``rate irate increase
delta`` and ``avg/min/max/sum/count/last_over_time``; ``abs ceil floor round sqrt exp ln log2
log10 clamp clamp_min clamp_max time vector scalar``; ``sum avg max min count stddev stdvar group
topk bottomk`` with ``by``/``without``; arithmetic and comparison operators (with ``bool``) between
scalars and vectors, vector matching with ``on``/``ignoring`` and ``group_left``/``group_right``;
``and or unless``. Anything else is refused with a one-line ``bad_data`` error, as Prometheus
answers a query it cannot run. ``rate``/``increase`` extrapolate to the window edges the way
Prometheus does; staleness is simplified to "no sample at the scrape slot means absent".
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple, Protocol

import promql_parser as pp

from ..errors import UsageError

Labels = dict[str, str]
ValueFn = Callable[[float], "float | None"]
Vector = list[tuple[Labels, float]]
Matrix = list[tuple[Labels, list[tuple[float, float]]]]
Value = float | Vector | Matrix | str

MAX_POINTS = 11_000


class LabelMatcher(NamedTuple):
    name: str
    op: str  # "=", "!=", "=~", "!~"
    value: str

    def matches(self, labels: Labels) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        hit = _regex(self.value).fullmatch(actual) is not None
        return hit if self.op == "=~" else not hit


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


class SeriesSource(Protocol):
    """Where series come from: the labels (with ``__name__``) and a value at a scrape time."""

    scrape_interval: float

    def select(self, matchers: Sequence[LabelMatcher]) -> Iterable[tuple[Labels, ValueFn]]: ...


def _bad(message: str) -> UsageError:
    return UsageError(f"bad_data: {message}")


def _exec(message: str) -> UsageError:
    return UsageError(f"execution: {message}")


# ---------------------------------------------------------------- the plan (parsed once)


@dataclass
class Selector:
    matchers: list[LabelMatcher]
    offset: float
    cache: list[tuple[Labels, ValueFn]] | None = None


@dataclass
class RangeSelector:
    selector: Selector
    range: float


@dataclass
class Call:
    name: str
    args: list[Node]


@dataclass
class Aggregate:
    op: str
    expr: Node
    param: Node | None
    by: list[str] | None
    without: list[str] | None


@dataclass
class Binary:
    op: str
    lhs: Node
    rhs: Node
    return_bool: bool = False
    on: list[str] | None = None
    ignoring: list[str] | None = None
    card: str = "OneToOne"
    include: list[str] = field(default_factory=list)


@dataclass
class Negate:
    expr: Node


Node = float | str | Selector | RangeSelector | Call | Aggregate | Binary | Negate

_MATCH_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}


def _seconds(delta: object) -> float:
    return 0.0 if delta is None else float(delta.total_seconds())  # type: ignore[attr-defined]


def _selector(vs: pp.VectorSelector) -> Selector:
    if vs.at is not None:
        raise _bad("the @ modifier is not supported by the dcops simulator")
    if vs.matchers.or_matchers:
        raise _bad("'or' inside label matchers is not supported by the dcops simulator")
    matchers = [LabelMatcher(m.name, _MATCH_OPS[str(m.op)], m.value) for m in vs.matchers.matchers]
    if vs.name:
        matchers.insert(0, LabelMatcher("__name__", "=", vs.name))
    return Selector(matchers=matchers, offset=_seconds(vs.offset))


def plan(expr: pp.Expr) -> Node:
    """Turn the parser's tree into plain dataclasses (the Rust-backed nodes are rebuilt on every
    attribute access, so caching selected series on them would not work)."""
    if isinstance(expr, pp.NumberLiteral):
        return float(expr.val)
    if isinstance(expr, pp.StringLiteral):
        return str(expr.val)
    if isinstance(expr, pp.ParenExpr):
        return plan(expr.expr)
    if isinstance(expr, pp.VectorSelector):
        return _selector(expr)
    if isinstance(expr, pp.MatrixSelector):
        return RangeSelector(_selector(expr.vector_selector), _seconds(expr.range))
    if isinstance(expr, pp.UnaryExpr):
        return Negate(plan(expr.expr))
    if isinstance(expr, pp.Call):
        return Call(expr.func.name, [plan(a) for a in expr.args])
    if isinstance(expr, pp.AggregateExpr):
        mod = expr.modifier
        labels = list(mod.labels) if mod is not None else []  # no modifier: one group
        without = mod is not None and str(mod.type).endswith("Without")
        return Aggregate(
            op=str(expr.op),
            expr=plan(expr.expr),
            param=plan(expr.param) if expr.param is not None else None,
            by=None if without else labels,
            without=labels if without else None,
        )
    if isinstance(expr, pp.BinaryExpr):
        node = Binary(op=str(expr.op), lhs=plan(expr.lhs), rhs=plan(expr.rhs))
        bin_mod = expr.modifier
        if bin_mod is not None:
            node.return_bool = bool(bin_mod.return_bool)
            node.card = str(bin_mod.card).rsplit(".", 1)[-1]
            node.include = list(bin_mod.group_labels or [])
            if bin_mod.matching is not None:
                if str(bin_mod.matching.type).endswith("Include"):
                    node.on = list(bin_mod.matching.labels)
                else:
                    node.ignoring = list(bin_mod.matching.labels)
        return node
    if isinstance(expr, pp.SubqueryExpr):
        raise _bad("subqueries are not supported by the dcops simulator")
    raise _bad(f"unsupported expression {type(expr).__name__}")


def parse(query: str) -> Node:
    """Parse PromQL into a plan; a parse error is a one-line ``bad_data`` UsageError."""
    if not query or not query.strip():
        raise _bad("parse error: empty query")
    try:
        expr = pp.parse(query)
    except (ValueError, RuntimeError) as exc:
        raise _bad(f"parse error: {str(exc).splitlines()[0] if str(exc) else 'invalid query'}") from None
    return plan(expr)


# ---------------------------------------------------------------- evaluation


def _drop_name(labels: Labels) -> Labels:
    return {k: v for k, v in labels.items() if k != "__name__"}


_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b if b else (math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)),
    "%": lambda a, b: math.fmod(a, b) if b else math.nan,
    "^": lambda a, b: _pow(a, b),
    "atan2": lambda a, b: math.atan2(a, b),
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}


def _pow(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except (OverflowError, ValueError):
        return math.inf if a > 0 else math.nan


_MATH: dict[str, Callable[[float], float]] = {
    "abs": abs,
    "ceil": math.ceil,
    "floor": math.floor,
    "sqrt": lambda v: math.sqrt(v) if v >= 0 else math.nan,
    "exp": lambda v: _pow(math.e, v),
    "ln": lambda v: math.log(v) if v > 0 else (-math.inf if v == 0 else math.nan),
    "log2": lambda v: math.log2(v) if v > 0 else (-math.inf if v == 0 else math.nan),
    "log10": lambda v: math.log10(v) if v > 0 else (-math.inf if v == 0 else math.nan),
}
_OVER_TIME: dict[str, Callable[[list[float]], float]] = {
    "avg_over_time": lambda vs: sum(vs) / len(vs),
    "min_over_time": min,
    "max_over_time": max,
    "sum_over_time": sum,
    "count_over_time": len,
    "last_over_time": lambda vs: vs[-1],
}


class Evaluator:
    """Evaluates a plan at an instant against a :class:`SeriesSource`."""

    def __init__(self, source: SeriesSource) -> None:
        self.source = source
        self.step = source.scrape_interval

    # -------------------------------------------------------- selectors

    def _series(self, sel: Selector) -> list[tuple[Labels, ValueFn]]:
        if sel.cache is None:
            if all(m.matches({}) for m in sel.matchers):  # every matcher accepts the empty label set
                raise _bad("vector selector must contain at least one non-empty matcher")
            sel.cache = list(self.source.select(sel.matchers))
        return sel.cache

    def _slot(self, t: float) -> float:
        return math.floor(t / self.step) * self.step

    def instant_vector(self, sel: Selector, t: float) -> Vector:
        at = self._slot(t - sel.offset)
        out: Vector = []
        for labels, fn in self._series(sel):
            value = fn(at)
            if value is not None:
                out.append((labels, value))
        return out

    def range_vector(self, rs: RangeSelector, t: float) -> Matrix:
        end = t - rs.selector.offset
        first = math.floor((end - rs.range) / self.step) + 1
        last = math.floor(end / self.step)
        stamps = [k * self.step for k in range(first, last + 1)]
        out: Matrix = []
        for labels, fn in self._series(rs.selector):
            points = [(s, v) for s in stamps if (v := fn(s)) is not None]
            if points:
                out.append((labels, points))
        return out

    # -------------------------------------------------------- dispatch

    def eval(self, node: Node, t: float) -> Value:
        if isinstance(node, (float, str)):
            return node
        if isinstance(node, Selector):
            return self.instant_vector(node, t)
        if isinstance(node, RangeSelector):
            return self.range_vector(node, t)
        if isinstance(node, Negate):
            inner = self.eval(node.expr, t)
            if isinstance(inner, float):
                return -inner
            return [(_drop_name(labels), -v) for labels, v in self._vector(inner, "unary minus")]
        if isinstance(node, Call):
            return self._call(node, t)
        if isinstance(node, Aggregate):
            return self._aggregate(node, t)
        return self._binary(node, t)

    def _vector(self, value: Value, where: str) -> Vector:
        if isinstance(value, list) and (not value or not isinstance(value[0][1], list)):
            return value  # type: ignore[return-value]
        raise _bad(f"{where} expects an instant vector")

    def _scalar(self, value: Value, where: str) -> float:
        if isinstance(value, float):
            return value
        raise _bad(f"{where} expects a scalar")

    # -------------------------------------------------------- functions

    def _call(self, node: Call, t: float) -> Value:
        name = node.name
        if name == "time":
            return float(t)
        if name in ("rate", "irate", "increase", "delta", "idelta") or name in _OVER_TIME:
            arg = node.args[0]
            if not isinstance(arg, RangeSelector):
                raise _bad(f"expected type range vector in call to function {name!r}")
            return self._range_function(name, arg, t)
        args = [self.eval(a, t) for a in node.args]
        if name == "vector":
            one: Vector = [({}, self._scalar(args[0], "vector()"))]
            return one
        if name == "scalar":
            vec = self._vector(args[0], "scalar()")
            return vec[0][1] if len(vec) == 1 else math.nan
        if name in _MATH or name in ("round", "clamp", "clamp_min", "clamp_max"):
            vec = self._vector(args[0], f"{name}()")
            extra = [self._scalar(a, f"{name}()") for a in args[1:]]
            return [(_drop_name(labels), _apply(name, v, extra)) for labels, v in vec]
        raise _bad(f"function {name}() is not supported by the dcops simulator")

    def _range_function(self, name: str, arg: RangeSelector, t: float) -> Vector:
        out: Vector = []
        for labels, points in self.range_vector(arg, t):
            value = _range_value(name, points, t - arg.selector.offset, arg.range)
            if value is not None:
                out.append((_drop_name(labels), value))
        return out

    # -------------------------------------------------------- aggregation

    def _aggregate(self, node: Aggregate, t: float) -> Vector:
        vec = self._vector(self.eval(node.expr, t), f"{node.op}()")
        groups: dict[tuple[tuple[str, str], ...], list[tuple[Labels, float]]] = {}
        for labels, v in vec:
            if node.by is not None:
                key = tuple((k, labels[k]) for k in sorted(set(node.by)) if k in labels and k != "__name__")
            else:
                drop = set(node.without or ()) | {"__name__"}
                key = tuple(sorted((k, val) for k, val in labels.items() if k not in drop))
            groups.setdefault(key, []).append((labels, v))
        if node.op in ("topk", "bottomk"):
            if node.param is None:
                raise _bad(f"{node.op}() needs a parameter")
            k = int(self._scalar(self.eval(node.param, t), f"{node.op}()"))
            out: Vector = []
            for members in groups.values():
                ranked = sorted(members, key=lambda s: (math.isnan(s[1]), -s[1] if node.op == "topk" else s[1]))
                out.extend(ranked[: max(0, k)])
            return out
        reduce = _AGGREGATES.get(node.op)
        if reduce is None:
            raise _bad(f"aggregation {node.op}() is not supported by the dcops simulator")
        return [(dict(key), reduce([v for _, v in members])) for key, members in groups.items()]

    # -------------------------------------------------------- binary operators

    def _binary(self, node: Binary, t: float) -> Value:
        lhs, rhs = self.eval(node.lhs, t), self.eval(node.rhs, t)
        op = node.op
        if isinstance(lhs, str) or isinstance(rhs, str):
            raise _bad(f"operator {op} not allowed on strings")
        if isinstance(lhs, float) and isinstance(rhs, float):
            if op in _COMPARE:
                return float(_COMPARE[op](lhs, rhs))
            return _arith(op, lhs, rhs)
        if isinstance(lhs, float) or isinstance(rhs, float):
            return self._vector_scalar(node, lhs, rhs)
        return self._vector_vector(node, self._vector(lhs, op), self._vector(rhs, op))

    def _vector_scalar(self, node: Binary, lhs: Value, rhs: Value) -> Vector:
        op = node.op
        if op in ("and", "or", "unless"):
            raise _bad(f"set operator {op} not allowed in binary scalar expression")
        scalar_left = isinstance(lhs, float)
        vec = self._vector(rhs if scalar_left else lhs, op)
        s = lhs if scalar_left else rhs
        out: Vector = []
        for labels, v in vec:
            a, b = (s, v) if scalar_left else (v, s)
            if op in _COMPARE:
                hit = _COMPARE[op](a, b)  # type: ignore[arg-type]
                if node.return_bool:
                    out.append((_drop_name(labels), float(hit)))
                elif hit:
                    out.append((labels, v))
            else:
                out.append((_drop_name(labels), _arith(op, a, b)))  # type: ignore[arg-type]
        return out

    def _signature(self, node: Binary, labels: Labels) -> tuple[tuple[str, str], ...]:
        if node.on is not None:
            return tuple((k, labels.get(k, "")) for k in sorted(node.on))
        drop = set(node.ignoring or ()) | {"__name__"}
        return tuple(sorted((k, v) for k, v in labels.items() if k not in drop))

    def _vector_vector(self, node: Binary, lhs: Vector, rhs: Vector) -> Vector:
        op = node.op
        if op in ("and", "unless"):
            keys = {self._signature(node, labels) for labels, _ in rhs}
            return [(lbl, v) for lbl, v in lhs if (self._signature(node, lbl) in keys) == (op == "and")]
        if op == "or":
            keys = {self._signature(node, labels) for labels, _ in lhs}
            return lhs + [(lbl, v) for lbl, v in rhs if self._signature(node, lbl) not in keys]
        many, one, swapped = lhs, rhs, False
        if node.card == "OneToMany":
            many, one, swapped = rhs, lhs, True
        index: dict[tuple[tuple[str, str], ...], tuple[Labels, float]] = {}
        for labels, v in one:
            key = self._signature(node, labels)
            if key in index:
                side = "left" if swapped else "right"
                raise _exec(
                    f"found duplicate series for the match group {dict(key)} on the {side} hand-side "
                    "of the operation; many-to-many matching not allowed: matching labels must be unique on one side"
                )
            index[key] = (labels, v)
        out: Vector = []
        seen: set[tuple[tuple[str, str], ...]] = set()
        for labels, v in many:
            key = self._signature(node, labels)
            match = index.get(key)
            if match is None:
                continue
            if node.card == "OneToOne":
                if key in seen:
                    raise _exec(
                        f"found duplicate series for the match group {dict(key)} on the left hand-side "
                        "of the operation; use group_left/group_right for many-to-one matching"
                    )
                seen.add(key)
            a, b = (match[1], v) if swapped else (v, match[1])
            result_labels = self._result_labels(node, labels, match[0])
            if op in _COMPARE:
                hit = _COMPARE[op](a, b)
                if node.return_bool:
                    out.append((_drop_name(result_labels), float(hit)))
                elif hit:
                    out.append((result_labels, a if not swapped else b))
            else:
                out.append((_drop_name(result_labels), _arith(op, a, b)))
        return out

    def _result_labels(self, node: Binary, many: Labels, one: Labels) -> Labels:
        if node.card == "OneToOne":
            if node.on is not None:
                return {k: many[k] for k in node.on if k in many}
            if node.ignoring is not None:
                return {k: v for k, v in many.items() if k not in node.ignoring}
            return dict(many)
        result = dict(many)
        for k in node.include:
            if k in one:
                result[k] = one[k]
            else:
                result.pop(k, None)
        return result

    # -------------------------------------------------------- entry points

    def instant(self, node: Node, t: float) -> float | Vector:
        if isinstance(node, RangeSelector):
            raise _bad("a range vector is not an instant result; wrap it in a function such as rate()")
        value = self.eval(node, t)
        if isinstance(value, str):
            raise _bad("a string is not a result dcops can show; query a vector or a scalar")
        if isinstance(value, list) and value and isinstance(value[0][1], list):
            raise _bad("a range vector is not an instant result; wrap it in a function such as rate()")
        return value  # type: ignore[return-value]

    def range(
        self, node: Node, start: float, end: float, step: float
    ) -> list[tuple[Labels, list[tuple[float, float]]]]:
        if step <= 0:
            raise _bad("zero or negative query resolution step widths are not accepted; try a positive integer")
        if end < start:
            raise _bad("end timestamp must not be before start time")
        if (end - start) / step + 1 > MAX_POINTS:
            raise _bad(
                "exceeded maximum resolution of 11,000 points per timeseries; try decreasing the query resolution (?step=XX)"
            )
        if isinstance(node, RangeSelector):
            raise _bad('invalid expression type "range vector" for range query, must be Scalar or instant Vector')
        series: dict[tuple[tuple[str, str], ...], tuple[Labels, list[tuple[float, float]]]] = {}
        count = math.floor((end - start) / step + 1e-9) + 1
        for i in range(count):
            t = start + i * step
            value = self.instant(node, t)
            samples = [({}, value)] if isinstance(value, float) else value
            for labels, v in samples:
                key = tuple(sorted(labels.items()))
                series.setdefault(key, (labels, []))[1].append((t, v))
        return list(series.values())


def _apply(name: str, v: float, extra: list[float]) -> float:
    if name == "round":
        to = extra[0] if extra else 1.0
        return math.floor(v / to + 0.5) * to
    if name == "clamp_min":
        return max(v, extra[0])
    if name == "clamp_max":
        return min(v, extra[0])
    if name == "clamp":
        return math.nan if extra[0] > extra[1] else min(max(v, extra[0]), extra[1])
    return float(_MATH[name](v))


def _arith(op: str, a: float, b: float) -> float:
    fn = _ARITH.get(op)
    if fn is None:
        raise _bad(f"operator {op} is not supported by the dcops simulator")
    return float(fn(a, b))


def _increase(points: list[tuple[float, float]], counter: bool) -> float:
    total = points[-1][1] - points[0][1]
    if counter:
        for (_, prev), (_, cur) in itertools.pairwise(points):
            if cur < prev:
                total += prev
    return total


def _range_value(name: str, points: list[tuple[float, float]], end: float, window: float) -> float | None:
    values = [v for _, v in points]
    if name in _OVER_TIME:
        return float(_OVER_TIME[name](values))
    if name in ("irate", "idelta"):
        if len(points) < 2:
            return None
        (t1, v1), (t2, v2) = points[-2], points[-1]
        diff = v2 - v1
        if name == "idelta":
            return diff
        if diff < 0:
            diff = v2
        return diff / (t2 - t1)
    if len(points) < 2:
        return None
    counter = name in ("rate", "increase")
    raw = _increase(points, counter)
    first_t, last_t = points[0][0], points[-1][0]
    sampled = last_t - first_t
    average = sampled / (len(points) - 1)
    to_start = first_t - (end - window)
    to_end = end - last_t
    if counter and raw > 0 and points[0][1] >= 0:
        to_zero = sampled * points[0][1] / raw
        to_start = min(to_start, to_zero)
    threshold = average * 1.1
    extended = (
        sampled + (to_start if to_start < threshold else average / 2) + (to_end if to_end < threshold else average / 2)
    )
    result = raw * extended / sampled
    return result / window if name == "rate" else result


_AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "sum": lambda vs: float(sum(vs)),
    "avg": lambda vs: float(sum(vs) / len(vs)),
    "max": lambda vs: float(max(vs)),
    "min": lambda vs: float(min(vs)),
    "count": lambda vs: float(len(vs)),
    "group": lambda vs: 1.0,
    "stddev": lambda vs: float(statistics.pstdev(vs)),
    "stdvar": lambda vs: float(statistics.pvariance(vs)),
}
