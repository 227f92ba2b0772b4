"""What dcops refuses to hand to Slurm, and the one shell line the SSH adapter sends."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcops.actions.backends import slurm_args as args
from dcops.actions.backends.ssh import remote_command
from dcops.actions.errors import BackendError, BackendUnavailable, UsageError


def test_node_lists_collapse_and_refuse_shell_syntax() -> None:
    assert args.node_list(["gpu001", "gpu002", "gpu004"]) == "gpu[001-002,004]"
    for bad in ("gpu001;reboot", "gpu 1", "$(id)", "-rf", "gpu001\n", ""):
        with pytest.raises(UsageError):
            args.node_list([bad])
    with pytest.raises(TypeError):
        args.node_list("gpu001")  # type: ignore[arg-type]


def test_reasons_are_one_printable_line() -> None:
    assert args.reason("  xid 79; $(id) `x` | y  ") == "xid 79; $(id) `x` | y"
    for bad in ("", "   ", "a\nb", "a\rb", "a\x00b", "x" * 1001):
        with pytest.raises(UsageError):
            args.reason(bad)


def test_job_ids_and_signals() -> None:
    assert args.job_ids(["12", "13_4"]) == ["12", "13_4"]
    for bad in ("12;id", "-1", "1 2", "abc"):
        with pytest.raises(UsageError):
            args.job_ids([bad])
    assert args.signal_name("usr1") == "USR1" and args.signal_name("9") == "9"
    with pytest.raises(UsageError):
        args.signal_name("USR1; id")


async def test_per_job_names_every_failed_job_and_stops_on_an_unreachable_controller() -> None:
    seen = []

    async def fails_on_13(job: str) -> None:
        seen.append(job)
        if job == "13":
            raise BackendError("slurm: job 13: Invalid job id specified")

    with pytest.raises(BackendError, match=r"^slurm: job 13: Invalid job id specified$"):
        await args.per_job(["12", "13", "14"], fails_on_13)
    assert seen == ["12", "13", "14"]

    async def down(job: str) -> None:
        seen.append(job)
        raise BackendUnavailable("slurm: slurmctld does not answer")

    seen.clear()
    with pytest.raises(BackendUnavailable):
        await args.per_job(["1", "2"], down)
    assert seen == ["1"]


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=20), min_size=1, max_size=6))
def test_the_remote_line_splits_back_into_exactly_the_argv(argv: list[str]) -> None:
    assert shlex.split(remote_command(argv)) == argv


def test_remote_command_refuses_shell_strings_and_nul() -> None:
    with pytest.raises(TypeError):
        remote_command("hostname; id")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        remote_command(["echo", "a\x00b"])
    with pytest.raises(ValueError):
        remote_command([])
