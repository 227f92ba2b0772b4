"""Fuzzing the command grammar and the CLI with hypothesis: whatever argv a user (or a script gone
wrong) passes, dcops answers with an exit code in {0, 1, 2, 3} and never a traceback or an
"internal error" (exit 70)."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import dcops.actions.ops  # noqa: F401 - registers every action
from dcops.actions.errors import DcopsError
from dcops.actions.grammar import parse_command
from dcops.actions.registry import registry
from dcops.actions.validation import describe

ACTIONS = sorted(s.name for s in registry)
OPTIONS = sorted({"--" + f.replace("_", "-") for s in registry for f in s.params.model_fields})
VALUES = [
    "gpu001",
    "gpu[001-004]",
    "gpu[001-",
    "gpu999",
    ",",
    "",
    "0",
    "-1",
    "1e999",
    "nan",
    "9999999999999d",
    "2h",
    "x\x1b]0;t\x07",
    "a\nb",
    "--",
    "-",
    "=",
    "RUNNING",
    "on",
    "sideways",
    "USR1",
    "12345",
    "1_2",
    "\u202e",
    "password=hunter2",
    "{name}",
    "%s",
    "'",
    '"',
    "\\",
    "*",
    "gpu[1-99999999999]",
]
word = st.one_of(
    st.sampled_from(ACTIONS),
    st.sampled_from(OPTIONS),
    st.sampled_from(VALUES),
    st.text(max_size=12),
    st.sampled_from(["--yes", "--confirm", "--approval", "--dry-run", "--json"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(word, min_size=0, max_size=8))
def test_grammar_never_crashes(tokens: list[str]) -> None:
    try:
        cmd = parse_command(tokens)
    except DcopsError as exc:
        assert exc.exit_code in (1, 2) and "\n" not in str(exc)
        return
    spec = registry.get(cmd.action)
    try:
        spec.params.model_validate(cmd.params)
    except ValidationError as exc:
        line = describe(spec, exc)
        assert line.startswith(spec.name) and "\n" not in line


CLI_HEADS = [
    ["run"],
    ["audit", "list"],
    ["audit", "show"],
    ["audit", "verify"],
    ["audit", "head"],
    ["audit", "export"],
    ["policy", "check"],
    ["approvals"],
    ["approve"],
    ["deny"],
    ["resume"],
    ["actions"],
    ["help"],
    ["tui"],
]
CLI_OPTS = [
    "--since",
    "--until",
    "--limit",
    "--node",
    "--run",
    "--event",
    "--csv",
    "--expect-head",
    "--seals",
    "--reason",
    "-o",
    "--output",
    "--yes",
    "--confirm",
    "--approval",
    "--theme",
    "--nodes",
    "--as",
]


@settings(
    max_examples=int(os.environ.get("DCOPS_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    head=st.sampled_from(CLI_HEADS),
    json_out=st.booleans(),
    rest=st.lists(
        st.one_of(st.sampled_from(ACTIONS), st.sampled_from(CLI_OPTS), st.sampled_from(VALUES), st.text(max_size=10)),
        max_size=6,
    ),
)
def test_cli_never_crashes(head: list[str], json_out: bool, rest: list[str]) -> None:
    from dcops.console.cli import main

    argv = ["--demo", *(["--json"] if json_out else []), *head, *rest]
    if any("\x00" in a for a in argv):  # the OS cannot pass NUL in argv
        return
    out, err = io.StringIO(), io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"XDG_DATA_HOME": f"{tmp}/data", "XDG_STATE_HOME": f"{tmp}/state", "XDG_CONFIG_HOME": f"{tmp}/config"}
        saved = {k: os.environ.get(k) for k in env}
        cwd = os.getcwd()
        os.environ.update(env)
        os.chdir(tmp)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(argv)
                except SystemExit as exc:  # argparse --help
                    code = exc.code if isinstance(exc.code, int) else 0
        finally:
            os.chdir(cwd)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    assert code in (0, 1, 2, 3), (argv, code, err.getvalue())
    assert "Traceback" not in err.getvalue() and "internal error" not in err.getvalue(), (argv, err.getvalue())
