"""Ctrl-C in the CLI (issue 18): one behaviour and one exit code (130) wherever it lands; a run
interrupted halfway is stopped, every target is given its final state, and the nodes it left out of
service are named with the one command that returns them. Also `dcops run ACTION --help`."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

from .test_cli import ROOT, dcops, env  # noqa: F401 - the env fixture

ROLLOUT = [
    "firmware-update",
    "gpu[059-064]",
    "--image",
    "http://files.example/bios-2.4.1.bin",
    "--component",
    "BIOS",
    "--max-parallel",
    "2",
]


def test_ctrl_c_mid_rollout_names_the_leftovers_and_exits_130(env) -> None:
    asked = dcops(env, "--demo", "--as", "unix:alice", "run", *ROLLOUT)
    assert asked.returncode == 3, asked.stderr
    approval = re.search(r"approve (a-[0-9a-f]+)", asked.stderr).group(1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dcops.console.cli", "--demo", "--as", "unix:bob", "approve", approval],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    seen = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if " drained" in line and line.split()[1] == "ok":  # a node is out of service mid-update
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (err, out)
    last = [l for l in err.splitlines() if l.startswith("dcops:")]
    assert len(last) == 1 and last[0].startswith("dcops: interrupted: run ") and " cancelled" in last[0], err
    assert "left out of service: gpu" in last[0] and "return them with: dcops run resume gpu" in last[0]
    assert "Traceback" not in err
    # the final-state table: every target, none still running
    table = [l.split() for l in out.splitlines() if l.startswith("gpu") and len(l.split()) >= 2]
    finals = {row[0]: " ".join(row[1:3]) for row in table if row[1] in ("done", "failed", "left", "not")}
    assert sorted(finals) == [f"gpu{i:03d}" for i in range(59, 65)], out
    nodes = last[0].rsplit("dcops run resume ", 1)[1]
    back = dcops(env, "--demo", "run", "resume", nodes)  # the one step (a fresh demo cluster here)
    assert back.returncode == 0, back.stderr


def test_ctrl_c_before_a_run_exits_130_with_the_same_line(env) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dcops.console.cli", "--demo", "run", "drain", "gpu001", "--reason", "x", "--wait"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert [l for l in err.splitlines() if l.startswith("dcops:")][0].startswith("dcops: interrupted")


def test_action_help_flag(env) -> None:
    p = dcops(env, "--demo", "run", "drain", "--help")
    assert p.returncode == 0 and "--reason" in p.stdout and "drain" in p.stdout.splitlines()[0], p.stdout
    q = dcops(env, "--demo", "run", "drain", "gpu001", "-h")
    assert q.returncode == 0 and "--wait" in q.stdout


def test_firmware_check_fail_on_drift(env) -> None:
    from pathlib import Path

    from dcops.actions import sim

    baseline = str(Path(sim.__file__).with_name("baseline.toml"))
    drifted = dcops(env, "--demo", "run", "firmware-check", "gpu[001-064]", "--baseline", baseline, "--fail-on-drift")
    assert drifted.returncode == 1 and "off baseline: gpu002" in drifted.stdout, drifted.stdout[-300:]
    report_only = dcops(env, "--demo", "run", "firmware-check", "gpu[001-064]", "--baseline", baseline)
    assert report_only.returncode == 0 and "off baseline" in report_only.stdout
    clean = dcops(env, "--demo", "run", "firmware-check", "gpu[059-060]", "--baseline", baseline, "--fail-on-drift")
    assert clean.returncode == 0 and "2/2 nodes match" in clean.stdout


def test_drain_on_a_terminal_asks_the_same_typed_confirmation(env) -> None:
    """A person at a terminal is asked what the fleet's `d` and Slack ask; a script (no terminal)
    states its intent with --confirm or is refused with the token to pass."""
    import os
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dcops.console.cli", "--demo", "run", "drain", "gpu[001-016]", "--reason", "xid 79"],
        cwd=ROOT,
        env=env,
        text=True,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(slave)
    try:
        time.sleep(3)
        os.write(master, b"gpu[001-016]\n")
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
    assert "confirm by typing 16 or gpu[001-016]" in err, err
    assert "drained 16 node(s) gpu[001-016]" in out  # it ran once confirmed (the demo's PDB may fail k8s)
    wrong_master, wrong_slave = pty.openpty()
    wrong = subprocess.Popen(
        [sys.executable, "-m", "dcops.console.cli", "--demo", "run", "requeue", "1"],
        cwd=ROOT,
        env=env,
        text=True,
        stdin=wrong_slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(wrong_slave)
    try:
        time.sleep(3)
        os.write(wrong_master, b"\n")
        _, err2 = wrong.communicate(timeout=60)
    finally:
        os.close(wrong_master)
    assert wrong.returncode in (1, 2) and ("not confirmed" in err2 or "unknown job id" in err2), err2


def _on_a_terminal(env, args: list[str], until: bytes, limit: float = 90) -> tuple[str, str]:  # noqa: ANN001
    """Run dcops with stdout and stderr on a pseudo-terminal until stderr shows ``until`` (at most
    ``limit`` seconds: a loaded machine starts Python slowly, so no fixed window), then Ctrl-C."""
    import os
    import pty
    import select

    out_m, out_s = pty.openpty()
    err_m, err_s = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dcops.console.cli", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=out_s,
        stderr=err_s,
    )
    os.close(out_s)
    os.close(err_s)
    got = {out_m: b"", err_m: b""}
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and until not in got[err_m]:
        ready, _, _ = select.select(list(got), [], [], 0.2)
        for fd in ready:
            try:
                got[fd] += os.read(fd, 65536)
            except OSError:
                pass
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    for fd in got:
        os.close(fd)
    return got[out_m].decode(errors="replace"), got[err_m].decode(errors="replace")


def test_long_wait_ticks_and_colours_on_a_terminal_only(env) -> None:
    out, err = _on_a_terminal(
        env, ["--demo", "run", "--confirm", "1", "drain", "gpu001", "--reason", "x", "--wait"], until=b"still running ("
    )
    assert "... drain still running (" in err, err  # not silent while it waits
    assert "\x1b[" in out + err  # colour on a terminal
    env_nc = dict(env, NO_COLOR="1")
    out2, err2 = _on_a_terminal(
        env_nc,
        ["--demo", "run", "--confirm", "1", "drain", "gpu001", "--reason", "x", "--wait"],
        until=b"still running (",
    )
    assert "\x1b[3" not in out2 + err2 and "still running" in err2  # NO_COLOR: no colour, same ticker
    piped = dcops(env, "--demo", "run", "resume", "gpu001")
    assert "\x1b[" not in piped.stdout + piped.stderr and "still running" not in piped.stderr


def test_a_filter_matching_nothing_says_so(env) -> None:
    p = dcops(env, "--demo", "run", "jobs", "--user", "nobody")
    assert p.returncode == 0 and "no jobs match --user nobody" in p.stdout, p.stdout
    q = dcops(env, "--demo", "run", "nodes", "--partition", "nope")
    assert q.returncode == 0 and "no nodes match --partition nope" in q.stdout, q.stdout
