"""The package declares exactly what it imports, ships its type hints, and has one version.

Read from the source tree (ast, not grep) and pyproject.toml, so an import added without declaring
its distribution, or a dependency kept after its last import went, fails here first."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("actions", "console", "bots", "themes", "dcops")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _names(reqs: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in reqs}


def _third_party_imports(paths: list[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods = [node.module]
            else:
                continue
            for mod in mods:
                top = mod.split(".")[0]
                if top not in sys.stdlib_module_names and top not in PACKAGES and top != "tests":
                    found.setdefault(top, path)
    return found


def _source(*dirs: str) -> list[Path]:
    return [p for d in dirs for p in (ROOT / d).rglob("*.py")]


RUNTIME = _names(PYPROJECT["project"]["dependencies"])
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
# features that install with an extra (pip install 'dcops[ansible]'): imported lazily where used
# the host environment's, not dependencies: imported under `except ImportError` only when present
HOST_ONLY = {"IPython": "dcops/client.py: one-line errors when already running inside IPython/Jupyter"}
FEATURE_EXTRAS = set().union(*(_names(v) for k, v in EXTRAS.items() if k not in ("test", "bench")))


def test_every_runtime_import_is_a_declared_dependency() -> None:
    dists = packages_distributions()
    missing = {}
    for top, path in _third_party_imports(_source(*PACKAGES)).items():
        if top in HOST_ONLY:
            continue
        names = {d.lower().replace("_", "-") for d in dists.get(top, [top])}
        if not names & (RUNTIME | FEATURE_EXTRAS):
            missing[top] = str(path.relative_to(ROOT))
    assert not missing, f"imported but not in [project] dependencies: {missing}"


def test_no_runtime_dependency_is_left_unimported() -> None:
    dists = packages_distributions()
    imported = {
        d.lower().replace("_", "-") for top in _third_party_imports(_source(*PACKAGES)) for d in dists.get(top, [top])
    }
    # slack-sdk comes with slack-bolt but is imported directly too; psycopg-pool likewise
    unused = RUNTIME - imported
    assert not unused, f"declared but never imported by {PACKAGES}: {sorted(unused)}"


@pytest.mark.parametrize("rejected", ["casbin", "prometheus-api-client", "redfish"])
def test_rejected_libraries_are_not_runtime_dependencies(rejected: str) -> None:
    assert rejected not in RUNTIME


def test_bench_only_libraries_are_not_needed_by_make_test() -> None:
    """`make test` installs `.[test]`: no collected test may import what only the bench extra has."""
    bench_only = _names(EXTRAS["bench"]) - _names(EXTRAS["test"]) - RUNTIME
    assert {"ansible", "redfish"} <= bench_only
    tops = _third_party_imports([p for p in _source("tests") if "bench" not in p.relative_to(ROOT).parts])
    needs = {top for top in tops if top in ("ansible", "redfish")}
    assert needs <= _names(EXTRAS["test"]), f"tests import {needs}: declare them in the test extra, not bench"


def test_type_hints_are_shipped() -> None:
    assert PYPROJECT["tool"]["setuptools"]["package-data"]["*"] == ["py.typed"]
    for pkg in PACKAGES:
        assert (ROOT / pkg / "py.typed").is_file(), pkg


def test_metadata_is_complete() -> None:
    project = PYPROJECT["project"]
    assert project["license"] and project["classifiers"] and "Typing :: Typed" in project["classifiers"]


def test_one_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    import dcops
    from dcops import actions
    from dcops.console.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"dcops {actions.__version__}"
    assert actions.__version__ == version("dcops") == PYPROJECT["project"]["version"]
    assert dcops.__version__ == actions.__version__
