"""``make lint``'s mypy checks the benchmarks too (``[tool.mypy] packages``): every module under
``tests/bench`` must be reachable as part of the package ``tests.bench``, or mypy skips it without a
word (a subfolder without ``__init__.py``, a file whose name is not a module name)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_mypy_checks_the_benchmarks_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert {"dcops", "tests.bench"} <= set(config["packages"])


def test_every_benchmark_file_is_a_module_mypy_reaches() -> None:
    bench = ROOT / "tests" / "bench"
    files = sorted(bench.rglob("*.py"))
    assert len(files) > 10, files
    for f in files:
        for folder in f.relative_to(ROOT).parents[:-1]:
            assert (ROOT / folder / "__init__.py").exists(), f"{folder} has no __init__.py: mypy -p skips {f}"
        assert f.stem.isidentifier(), f"{f.name} is not a module name: mypy -p skips it"
