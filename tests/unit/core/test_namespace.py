"""dcops installs one namespace: ``dcops.actions``, ``dcops.console``, ``dcops.bots``, ``dcops.themes``.

The repository keeps its fixed top-level folders; ``dcops/actions`` etc. are relative symlinks to them
(see ``dcops/__init__.py``). These tests build the real wheel and install it on its own, so a module
left importing the old top-level name, or a data file left out of the wheel, fails here and not on
a user's machine where another package called ``actions`` happens to be installed."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
OLD_NAMES = ("actions", "console", "bots", "themes")
SOURCES = [
    p
    for d in ("actions", "console", "bots", "dcops", "tests")
    for p in (ROOT / d).rglob("*.py")
    if not (d == "dcops" and p.relative_to(ROOT / d).parts[0] in OLD_NAMES) and p != Path(__file__).resolve()
]  # this file spells the old names on purpose


def _names_our_module(text: str) -> bool:
    parts = text.split(".")
    if len(parts) < 2 or parts[0] not in OLD_NAMES or not parts[1].isidentifier():
        return False
    where = ROOT / parts[0] / parts[1]
    return where.is_dir() or where.with_suffix(".py").is_file()


def _old_style_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in OLD_NAMES]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module
            and node.module.split(".")[0] in OLD_NAMES
        ):
            found.append(node.module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _names_our_module(node.value):
            found.append(repr(node.value))  # "-m console.cli", importlib / monkeypatch targets
    return found


def test_the_symlinks_point_at_the_fixed_layout() -> None:
    for name in OLD_NAMES:
        link = ROOT / "dcops" / name
        assert link.is_symlink() and os.readlink(link) == f"../{name}", link


def test_no_module_imports_the_old_top_level_names() -> None:
    offenders = {str(p.relative_to(ROOT)): found for p in SOURCES if (found := _old_style_imports(p))}
    assert len(SOURCES) > 300 and not offenders, offenders


def test_the_scan_sees_an_old_style_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('from actions.engine import Engine\nimport console.cli\nX = "actions.hostlists.ARG_LIMIT"\n')
    assert _old_style_imports(bad) == ["actions.engine", "console.cli", "'actions.hostlists.ARG_LIMIT'"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    return next(out.glob("dcops-*.whl"))


def test_the_wheel_holds_only_the_dcops_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"dcops"}, tops
    for needed in (
        "dcops/actions/engine.py",
        "dcops/console/cli.py",
        "dcops/bots/app.py",
        "dcops/themes/dcops-dark.toml",
        "dcops/actions/sim/baseline.toml",
        "dcops/actions/rbac/example_policy.toml",
        "dcops/actions/alerts/mapping.toml",
        "dcops/actions/py.typed",
        "dcops/py.typed",
    ):
        assert needed in names, needed
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "dcops = dcops.console.cli:main" in entry


def test_installed_alone_it_answers_as_dcops_and_not_as_actions(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    inst = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert inst.returncode == 0, inst.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": str(target)}  # the installed copy first; its deps from the venv
    probe = (
        "import dcops.actions.engine, dcops.console.cli, dcops.themes; "
        "from dcops.actions.rbac.policy import Policy; Policy.demo(); "
        "print(dcops.actions.engine.__file__)"
    )
    ok = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert ok.returncode == 0 and ok.stdout.strip().startswith(str(target)), ok.stderr[-2000:]
    for old in OLD_NAMES:
        gone = subprocess.run(
            [sys.executable, "-c", f"import {old}"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert gone.returncode == 1 and f"No module named '{old}'" in gone.stderr, (old, gone.stderr[-500:])
