"""The disk holding the SQLite audit log runs full (a small tmpfs mounted for the test): an action
whose "started" record cannot be written is refused before it acts, with one line saying the audit
database could not be written; nothing runs unaudited; once space is back the chain verifies."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcops.actions.errors import AuditError, DcopsError
from dcops.actions.request import Request
from dcops.actions.store.base import AuditQuery
from tests.integration.postgres.pg_worker import engine_for

pytestmark = [pytest.mark.slow]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "dcops-test-full", str(mount)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the disk-full test (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=30)


def _fill(mount: Path) -> Path:
    """Write a file until the filesystem says ENOSPC; returns it (delete it to free the space)."""
    filler = mount / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


async def test_full_disk_refuses_actions_before_they_act(small_disk: Path, tmp_path: Path):
    marks = tmp_path / "acted"  # on another disk: the action's own effect
    eng = engine_for(f"sqlite:///{small_disk / 'audit.db'}")
    await eng.start()
    outcomes: list[str] = []
    try:

        def req(i: int) -> Request:
            return Request(
                principal="unix:oncall",
                channel="cli",
                action="test-act",
                params={"nodes": f"n0{i % 4 + 1}", "marks": str(marks)},
            )

        for i in range(3):  # works while there is space
            run = await eng.submit(req(i))
            assert (await run.wait()).outcome == "ok"
        filler = _fill(small_disk)
        for i in range(200):  # WAL pages may be reused for a while; then it is full
            try:
                run = await eng.submit(req(i))
            except AuditError as exc:
                outcomes.append(f"refused {exc}")
                break
            fin = await run.wait()
            errors = [e.message for e in run.history if getattr(e, "kind", "") == "error"]
            outcomes.append(f"{fin.outcome} {run.run_id} {errors}")
        assert outcomes and outcomes[-1].startswith("refused"), outcomes[-3:]
        line = outcomes[-1]
        assert "\n" not in line and "audit database" in line and "full" in line, line
        os.unlink(filler)
        run = await eng.submit(req(0))  # space is back: the console works again
        assert (await run.wait()).outcome == "ok"
        report = await eng.store.verify()
        assert report.ok, report.line()
        records = await eng.store.query(AuditQuery(limit=None))
        started = {r.run_id for r in records if r.event == "started"}
        acted = [line.split()[1] for line in marks.read_text().splitlines()]
        assert set(acted) <= started  # nothing acted without its "started" record
        assert len(acted) == len(set(acted))
    finally:
        await eng.aclose()
    print(f"\n{len(outcomes)} attempts on the full disk; last: {outcomes[-1][:160]}")


async def test_full_disk_at_start_refuses_with_one_line(small_disk: Path, tmp_path: Path):
    """A console started on a disk that is already full: the first action is refused, nothing acts."""
    _fill(small_disk)
    marks = tmp_path / "acted"
    eng = engine_for(f"sqlite:///{small_disk / 'audit.db'}")
    try:
        with pytest.raises(DcopsError) as caught:
            await eng.start()
            await eng.submit(
                Request(
                    principal="unix:oncall",
                    channel="cli",
                    action="test-act",
                    params={"nodes": "n01", "marks": str(marks)},
                )
            )
        assert "audit database" in str(caught.value) and "\n" not in str(caught.value)
        assert not marks.exists()
    finally:
        try:
            await eng.aclose()
        except DcopsError:
            pass
