"""The cheap read path of drain and resume against the lab's real Slurm 22.05: node reads through
one long-lived ``scontrol`` (:mod:`dcops.actions.backends.slurm_session`) and the blast-radius
guard reading states only (jobs asked of squeue only for nodes that may hold one).

Written as an attacker of the shortcut: the long-lived process must never answer with state older
than the question (an NHC mark set a moment ago), must agree with sinfo field by field, must recover
when killed, and a node with a running or suspended job must still have its jobs read."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from dcops.actions import Request, open_engine
from dcops.actions.backends.ports import SlurmPort
from dcops.actions.backends.slurm_cli import SlurmCli
from dcops.actions.backends.slurm_runner import LocalRunner, Output
from dcops.actions.engine import Engine
from dcops.actions.errors import BackendError
from dcops.actions.events import Result, RunFinished, Step
from dcops.actions.rbac import Policy
from tests.integration.slurm.test_slurm_actions import ALLOW_ALL, lab_config
from tests.lab.slurm import SlurmLab, all_node_names

TIMEOUT = 15.0


@pytest.fixture
async def session_cli(cluster: SlurmLab) -> AsyncIterator[SlurmCli]:
    cli = SlurmCli(LocalRunner(timeout=TIMEOUT, env=cluster.env))
    assert cli.session is not None and cli.session.stdbuf is not None, "the lab host has stdbuf (coreutils)"
    yield cli
    await cli.aclose()


def sinfo_cli(cluster: SlurmLab) -> SlurmCli:
    """The same adapter with the long-lived scontrol switched off: every read is one sinfo."""
    cli = SlurmCli(LocalRunner(timeout=TIMEOUT, env=cluster.env))
    cli.session = None
    return cli


async def test_session_reads_agree_with_sinfo_on_every_node(session_cli: SlurmCli, cluster: SlurmLab) -> None:
    job = cluster.sbatch("-N2", "-w", "gpu[003-004]", "--gres=gpu:h100:4", "--mem=2000")
    cluster.wait_job(job, "RUNNING")
    nasty = "xid 79 | State=DOWN Reason=x: a|b [unix:x via cli] [root@2026-01-01T00:00:00]"
    cluster.run("scontrol", "update", "NodeName=gpu007", "State=DRAIN", f"Reason={nasty}")
    cluster.stop_slurmd("gpu010")
    cluster.run("scontrol", "update", "NodeName=gpu010", "State=DOWN", "Reason=slurmd gone")
    through_session = await session_cli.nodes(jobs=False)
    through_sinfo = await sinfo_cli(cluster).nodes(jobs=False)
    assert [n.name for n in through_session] == [n.name for n in through_sinfo]
    assert sorted(n.name for n in through_session) == sorted(all_node_names())
    for mine, theirs in zip(through_session, through_sinfo, strict=True):
        assert mine == theirs, mine.name
    by_name = {n.name: n for n in through_session}
    assert by_name["gpu007"].reason == nasty and by_name["gpu007"].display_state == "drained"
    assert (by_name["gpu003"].state, by_name["gpu003"].gpus_used, by_name["gpu003"].memory_alloc_mb) == (
        "mixed",
        4,
        2000,
    )
    assert by_name["gpu010"].state == "down" and by_name["gpu010"].unavailable
    assert session_cli.session is not None and session_cli.session.started == 1


async def test_a_health_mark_set_between_two_reads_is_always_seen(session_cli: SlurmCli, cluster: SlurmLab) -> None:
    """Many reads and writes within the same second: the session must never hand back its last
    answer (scontrol asks slurmctld "what changed since" and must get the new reason)."""
    for i in range(25):
        (before,) = await session_cli.nodes(["gpu012"], jobs=False)
        assert not before.reason.startswith(f"NHC: r{i} ")
        cluster.run("scontrol", "update", "NodeName=gpu012", "State=DRAIN", f"Reason=NHC: r{i} GPU lost")
        (after,) = await session_cli.nodes(["gpu012"], jobs=False)
        assert after.reason == f"NHC: r{i} GPU lost" and after.drain_flag
    assert session_cli.session is not None and session_cli.session.started == 1  # one process served all


async def test_a_killed_session_is_replaced_and_reads_go_on(session_cli: SlurmCli, cluster: SlurmLab) -> None:
    await session_cli.nodes(["gpu001"], jobs=False)
    session = session_cli.session
    assert session is not None and session._proc is not None
    os.kill(session._proc.pid, signal.SIGKILL)  # the scontrol this test's adapter started
    session._proc.wait()
    cluster.run("scontrol", "update", "NodeName=gpu001", "State=DRAIN", "Reason=NHC: after the kill")
    (node,) = await session_cli.nodes(["gpu001"], jobs=False)
    assert node.reason == "NHC: after the kill" and session.started == 2


async def test_an_old_session_is_replaced_before_its_next_read(
    session_cli: SlurmCli, cluster: SlurmLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """slurm.conf is read once per process: a long-lived one is renewed so a changed config counts."""
    from dcops.actions.backends import slurm_session

    await session_cli.nodes(["gpu001"], jobs=False)
    session = session_cli.session
    assert session is not None and session._proc is not None
    first = session._proc
    monkeypatch.setattr(slurm_session, "MAX_AGE", 0.0)
    (node,) = await session_cli.nodes(["gpu001"], jobs=False)
    assert node.name == "gpu001" and session.started == 2 and first.poll() is not None


async def test_concurrent_reads_all_answer_fresh(session_cli: SlurmCli, cluster: SlurmLab) -> None:
    """The session serves one read at a time; the others run one sinfo each meanwhile."""
    cluster.run("scontrol", "update", "NodeName=gpu[001-004]", "State=DRAIN", "Reason=NHC: rack 7")
    answers = await asyncio.gather(*(session_cli.nodes([f"gpu00{i}"], jobs=False) for i in range(1, 5)))
    assert [a[0].reason for a in answers] == ["NHC: rack 7"] * 4


async def test_a_read_cancelled_mid_answer_does_not_shift_the_next_answer(
    session_cli: SlurmCli, cluster: SlurmLab
) -> None:
    read = asyncio.ensure_future(session_cli.nodes(jobs=False))
    await asyncio.sleep(0)  # the command is written, its answer not read yet
    read.cancel()
    with pytest.raises(asyncio.CancelledError):
        await read
    (node,) = await session_cli.nodes(["gpu016"], jobs=False)
    assert node.name == "gpu016" and node.state == "idle"


async def test_an_adapter_used_from_several_event_loops_and_never_closed_is_quiet(cluster: SlurmLab) -> None:
    """A script may call asyncio.run twice with one engine and forget aclose: no transport of a
    closed loop may be left to fail at exit ("Event loop is closed" printed to the user)."""
    script = (
        "import asyncio\n"
        "from dcops.actions.backends.slurm_cli import SlurmCli\n"
        "from dcops.actions.backends.slurm_runner import LocalRunner\n"
        f"cli = SlurmCli(LocalRunner(timeout=10, env={dict(cluster.env)!r}))\n"
        "async def read():\n"
        "    return [n.name for n in await cli.nodes(['gpu001'], jobs=False)]\n"
        "print(asyncio.run(read()), asyncio.run(read()), cli.session.started, cli.session.reads)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['gpu001'] ['gpu001'] 1 2"  # one process served both loops
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr


async def test_unknown_names_are_left_out_like_sinfo_does(session_cli: SlurmCli) -> None:
    assert [n.name for n in await session_cli.nodes(["gpu002", "nosuch01"], jobs=False)] == ["gpu002"]


async def test_slurmctld_down_reaches_the_caller_as_one_line(cluster: SlurmLab) -> None:
    cli = SlurmCli(LocalRunner(timeout=3.0, env=cluster.env))
    await cli.nodes(["gpu001"], jobs=False)  # the session is up before the controller goes away
    cluster.stop_slurmctld()
    try:
        with pytest.raises(Exception) as err:
            await cli.nodes(["gpu001"], jobs=False)
        assert str(err.value).startswith("slurm: ") and "\n" not in str(err.value)
        assert "slurmctld" in str(err.value)
    finally:
        cluster.start_slurmctld()
        await cli.aclose()


# ------------------------------------------------------------------ writes through the session

REASONS = [
    "hw",
    "ECC errors on GPU 3 [unix:oncall1 via cli]",
    "ticket=INC-42 @rack7 (50%) <psu> {a,b} a;b|c&d $HOME `x` ~",
    "it's the PSU",  # the one-shot path (a quote)
    'say "hi"',  # the one-shot path
    "back\\slash #7",  # the one-shot path
    "café au lait",  # the one-shot path (not ASCII)
]


def reason_of(cluster: SlurmLab, node: str) -> str:
    """The node's reason as sinfo shows it (no ``[user@time]`` suffix)."""
    return cluster.run("sinfo", "-h", "-N", "-n", node, "-o", "%E").stdout.strip()


@pytest.mark.parametrize("reason", REASONS)
async def test_a_drain_through_the_session_sets_the_reason_the_one_shot_command_sets(
    session_cli: SlurmCli, cluster: SlurmLab, reason: str
) -> None:
    one_shot = sinfo_cli(cluster)
    assert session_cli.session is not None
    before = session_cli.session.updates
    try:
        await session_cli.drain(["gpu009"], reason)
        await one_shot.drain(["gpu010"], reason)
        assert reason_of(cluster, "gpu009") == reason_of(cluster, "gpu010")
        safe = reason.isascii() and not any(c in "\"'\\#" for c in reason)
        if safe:  # (scontrol itself strips a reason's leading/trailing double quote, argv or not)
            assert reason_of(cluster, "gpu009") == reason
        assert session_cli.session.updates - before == (1 if safe else 0)
    finally:
        await session_cli.resume(["gpu009", "gpu010"])
        await one_shot.aclose()
    assert all("DRAIN" not in cluster.node(n)["State"] for n in ("gpu009", "gpu010"))


async def test_session_writes_of_every_length_around_the_screen_width_are_read_cleanly(
    session_cli: SlurmCli, cluster: SlurmLab
) -> None:
    """readline redraws an echo that reaches the screen width; the session's screen is wider than
    any command, so every update is served and read as it is (80 and 160 columns crossed)."""
    assert session_cli.session is not None
    head = len('scontrol: update NodeName=gpu013 State=DRAIN Reason=""')
    try:
        for width in (*range(76, 85), *range(156, 165), 1000):
            reason = "w" * (width - head)
            await session_cli.drain(["gpu013"], reason)
            assert reason_of(cluster, "gpu013") == reason
        assert session_cli.session.updates == 19 and session_cli.session.started == 1
    finally:
        await session_cli.resume(["gpu013"])


async def test_session_write_errors_are_the_one_shot_errors(session_cli: SlurmCli, cluster: SlurmLab) -> None:
    one_shot = sinfo_cli(cluster)
    try:
        for cli in (session_cli, one_shot):
            with pytest.raises(BackendError) as err:
                await cli.drain(["nosuch01"], "x")
            assert str(err.value) == "slurm: scontrol failed: slurm_update error: Invalid node name specified"
            await cli.resume(["gpu011"])  # already in service: scontrol refuses, resume checks and succeeds
        assert session_cli.session is not None and session_cli.session.updates == 2
    finally:
        await one_shot.aclose()


async def test_slurmctld_down_during_a_session_write_is_one_line_and_nothing_is_half_told(
    cluster: SlurmLab,
) -> None:
    cli = SlurmCli(LocalRunner(timeout=3.0, env=cluster.env))
    await cli.nodes(["gpu012"], jobs=False)  # the session is up before the controller goes away
    cluster.stop_slurmctld()
    try:
        with pytest.raises(BackendError) as err:
            await cli.drain(["gpu012"], "hw")
        assert str(err.value).startswith("slurm: ") and "\n" not in str(err.value)
        assert "slurmctld" in str(err.value)
    finally:
        cluster.start_slurmctld()
    try:
        await cli.drain(["gpu012"], "hw after restart")  # a new session serves the next write
        assert reason_of(cluster, "gpu012") == "hw after restart"
    finally:
        await cli.resume(["gpu012"])
        await cli.aclose()


# ------------------------------------------------------------------ the guard's cheap path


class Recording:
    """The lab runner, remembering every command it ran (to see which reads a drain made)."""

    def __init__(self, inner: LocalRunner) -> None:
        self.inner = inner
        self.timeout, self.env, self.bin_dir = inner.timeout, inner.env, inner.bin_dir
        self.argv: list[list[str]] = []

    async def __call__(self, argv: Sequence[str]) -> Output:
        self.argv.append(list(argv))
        return await self.inner(argv)


@pytest.fixture
async def engine(tmp_path: Path, cluster: SlurmLab) -> AsyncIterator[Engine]:
    eng = await open_engine(lab_config(tmp_path, cluster), policy=Policy.from_toml(ALLOW_ALL))
    yield eng
    await eng.aclose()


async def drain(engine: Engine, nodes: str) -> tuple[RunFinished, list[Step], Result]:
    run = await engine.submit(
        Request(principal="unix:oncall1", channel="cli", action="drain", params={"nodes": nodes, "reason": "hw"})
    )
    events = [ev async for ev in run.events()]
    assert isinstance(events[-1], RunFinished)
    return (
        events[-1],
        [e for e in events if isinstance(e, Step)],
        [e for e in events if isinstance(e, Result)][-1],
    )


async def resume(engine: Engine, nodes: str) -> tuple[RunFinished, list[Step], Result | None]:
    run = await engine.submit(
        Request(principal="unix:oncall1", channel="cli", action="resume", params={"nodes": nodes})
    )
    events = [ev async for ev in run.events()]
    assert isinstance(events[-1], RunFinished)
    results = [e for e in events if isinstance(e, Result)]
    return events[-1], [e for e in events if isinstance(e, Step)], results[-1] if results else None


def commands(engine: Engine) -> list[list[str]]:
    slurm = engine.backends.get(SlurmPort)
    assert isinstance(slurm, SlurmCli)
    if not isinstance(slurm.run, Recording):
        slurm.run = Recording(slurm.run)  # type: ignore[arg-type]
    slurm.run.argv.clear()
    return slurm.run.argv


def session_reads(engine: Engine) -> int:
    session = engine.backends.get(SlurmPort).session  # type: ignore[attr-defined]
    return session.reads


async def test_a_drain_resume_pair_of_idle_nodes_reads_slurm_twice_and_starts_no_process(
    engine: Engine, cluster: SlurmLab
) -> None:
    await drain(engine, "gpu016")  # warm: the inventory's own first read
    await resume(engine, "gpu016")
    ran, reads = commands(engine), session_reads(engine)
    fin, steps, res = await drain(engine, "gpu[001-004]")
    assert fin.outcome == "ok" and res.data["jobs"] == []
    assert session_reads(engine) - reads == 1  # the guard's; the drain's own write is not read back
    assert all(s.detail.startswith("drained:") for s in steps)
    fin, _, _ = await resume(engine, "gpu[001-004]")
    assert fin.outcome == "ok" and session_reads(engine) - reads == 2  # one fresh health read
    assert ran == []  # no sinfo, no squeue, and the two writes went through the long-lived scontrol
    assert engine.backends.get(SlurmPort).session.updates >= 2  # type: ignore[attr-defined]
    assert "DRAIN" not in cluster.node("gpu001")["State"]


async def test_mandatory_validation_finding_no_health_mark_is_the_health_read(
    tmp_path: Path, cluster: SlurmLab
) -> None:
    base = lab_config(tmp_path, cluster)
    config = base.model_copy(
        update={"validate_": base.validate_.model_copy(update={"mandatory_for_health_drained": True})}
    )
    eng = await open_engine(config, policy=Policy.from_toml(ALLOW_ALL))
    try:
        await drain(eng, "gpu[005-006]")
        reads = session_reads(eng)
        fin, _, _ = await resume(eng, "gpu[005-006]")
        assert fin.outcome == "ok" and session_reads(eng) - reads == 1
        cluster.run("scontrol", "update", "NodeName=gpu005", "State=DRAIN", "Reason=NHC: GPU 2 lost")
        fin, _, _ = await resume(eng, "gpu005")  # marked: validation must run first (no SSH lab: it fails)
        assert fin.outcome != "ok" and "DRAIN" in cluster.node("gpu005")["State"]
    finally:
        await eng.aclose()


async def test_a_node_with_a_running_job_still_has_its_jobs_read(engine: Engine, cluster: SlurmLab) -> None:
    job = cluster.sbatch("-N1", "-w", "gpu005")
    cluster.wait_job(job, "RUNNING")
    ran = commands(engine)
    fin, steps, res = await drain(engine, "gpu[005-006]")
    assert fin.outcome == "ok" and res.data["jobs"] == [job]
    assert ["squeue"] in [a[:1] for a in ran]
    by_node = {s.target: s.detail for s in steps}
    assert by_node["gpu005"].startswith(f"draining (1 job(s): {job})") and by_node["gpu006"].startswith("drained:")


async def test_a_node_with_only_a_suspended_job_still_has_its_jobs_read(engine: Engine, cluster: SlurmLab) -> None:
    """Slurm sets a node whose only job is suspended back to IDLE with no CPUs allocated; the job
    keeps its memory, and that is what sends drain to squeue."""
    job = cluster.sbatch("-N1", "-w", "gpu008", "--mem=500")
    cluster.wait_job(job, "RUNNING")
    cluster.run("scontrol", "suspend", job)
    cluster.wait_job(job, "SUSPENDED")
    assert cluster.node("gpu008")["State"] == "IDLE"  # the premise: the state alone says "no job"
    fin, steps, res = await drain(engine, "gpu008")
    assert fin.outcome == "ok" and res.data["jobs"] == [job]
    assert steps[0].detail.startswith(f"draining (1 job(s): {job})")
