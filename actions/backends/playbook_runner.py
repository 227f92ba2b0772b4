"""The Ansible port over ansible-runner: its event stream, not ansible-playbook's text output.

ansible-runner runs ``ansible-playbook`` in a thread (pexpect) and calls ``event_handler`` with
one dict per callback event; the dicts are translated (:mod:`.ansible_translate`) and handed to the
event loop with ``call_soon_threadsafe``. The playbook is a name in the approved directory
(``project_dir`` = the directory, ``playbook`` = ``NAME.yml``), the inventory is built by dcops
(:mod:`.ansible_inventory`) and extra vars go as one JSON ``-e`` argument (argv, no shell). Closing
the stream (the operator cancels the run) tells ansible-runner to cancel, which kills the
ansible-playbook process group, and waits for it. Each run gets its own private data directory,
removed afterwards (it would hold the extra vars).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from ..config.ansible import AnsibleSection
from ..config.ssh import SshSection
from ..errors import BackendError
from .ansible_inventory import build_inventory
from .ansible_models import HostResult, PlaybookEvent, PlaybookJob, PlaybookStats
from .ansible_translate import recap, translate

_DONE = object()


def _ansible_bin_dir() -> str:
    """Where ansible-playbook is: the running Python's bin dir (the venv) first, then PATH."""
    here = os.path.dirname(sys.executable)
    if os.path.exists(os.path.join(here, "ansible-playbook")):
        return here
    found = shutil.which("ansible-playbook")
    if found is None:
        raise BackendError("ansible: ansible-playbook is not installed (pip install ansible-core ansible-runner)")
    return os.path.dirname(found)


class AnsibleRunnerAdapter:
    """Implements :class:`~dcops.actions.backends.ports.AnsiblePort`."""

    def __init__(self, section: AnsibleSection, ssh: SshSection, addresses: Mapping[str, str] | None = None) -> None:
        self.section = section
        self.ssh = ssh
        self.addresses = dict(addresses or {})

    def inventory(self, hosts: list[str]) -> dict[str, Any]:
        return build_inventory(hosts, self.ssh, self.addresses, python_interpreter=self.section.python_interpreter)

    def _env(self, tmp: str) -> dict[str, str]:
        bin_dir = _ansible_bin_dir()
        return {
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCAL_TEMP": os.path.join(tmp, "tmp"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": os.path.join(tmp, "cp"),
            "ANSIBLE_GATHERING": "explicit",
            "ANSIBLE_DEPRECATION_WARNINGS": "False",
        }

    async def run_playbook(self, job: PlaybookJob) -> AsyncIterator[PlaybookEvent]:
        try:
            import ansible_runner
        except ImportError:
            raise BackendError("ansible: ansible-runner is not installed (pip install ansible-runner)") from None
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()
        stats: dict[str, Any] = {}

        def on_event(event: dict[str, Any]) -> bool:
            if event.get("event") == "playbook_on_stats":
                stats.update(event.get("event_data") or {})
            out = translate(event)
            if out is not None:
                loop.call_soon_threadsafe(queue.put_nowait, out)
            return False  # nothing written to the artifact dir

        def on_finished(_runner: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        tmp = tempfile.mkdtemp(prefix="dcops-ansible-")
        cmdline = " ".join(flag for flag, on in (("--check", job.check), ("--diff", job.diff)) if on)
        what: dict[str, Any] = (
            {
                "host_pattern": "all",
                "module": job.module,
                "module_args": json.dumps(job.module_args) if job.module_args else None,
            }
            if job.module
            else {"project_dir": job.directory, "playbook": f"{job.name}.yml"}
        )
        try:
            thread, runner = ansible_runner.run_async(
                private_data_dir=tmp,
                **what,
                inventory=self.inventory(job.hosts),
                extravars=dict(job.extra_vars),
                cmdline=cmdline or None,
                forks=self.section.forks,
                timeout=int(self.section.timeout),
                envvars=self._env(tmp),
                ident=job.run_id or None,
                quiet=True,
                event_handler=on_event,
                finished_callback=on_finished,
                cancel_callback=cancel.is_set,
                suppress_env_files=True,
            )
        except Exception as exc:  # noqa: BLE001 - ansible-runner's own config errors
            shutil.rmtree(tmp, ignore_errors=True)
            raise BackendError(f"ansible: cannot start playbook {job.name}: {exc}".splitlines()[0]) from None
        finished = False
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    finished = True
                    break
                yield item
            await asyncio.to_thread(thread.join, 30)
            while not queue.empty():
                item = queue.get_nowait()
                if item is not _DONE:
                    yield item
            error = ""
            if not stats:
                error = _last_lines(runner)
            yield PlaybookStats(hosts=recap(stats), status=str(runner.status), rc=runner.rc, error=error)
        finally:
            if not finished:
                cancel.set()
                await asyncio.shield(asyncio.to_thread(thread.join, 30))
            await asyncio.shield(asyncio.to_thread(_kill_leftovers, tmp))
            shutil.rmtree(tmp, ignore_errors=True)


def _kill_leftovers(tmp: str) -> None:
    """Kill what outlives ansible-playbook: ansible-core's forks run in sessions of their own (so
    ansible-runner's killpg on cancel misses them) and ssh ControlPersist masters linger for a
    minute. Every one of them has this run's private directory on its command line, which no other
    process has (the directory name is unique), so that is how they are found — no process names."""
    mark = tmp.encode()
    for _ in range(2):
        found = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    if mark in f.read():
                        found.append(int(entry.name))
            except OSError:
                continue
        if not found:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)


def _last_lines(runner: Any) -> str:
    """Why a run ended without a recap (a syntax error, a missing module): the last output line."""
    try:
        text = runner.stdout.read()
    except Exception:  # noqa: BLE001 - the stdout file may be gone
        return f"ansible-playbook ended with status {runner.status} (rc {runner.rc})"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return (lines[-1] if lines else f"ansible-playbook ended with status {runner.status} (rc {runner.rc})")[:300]


__all__ = ["AnsibleRunnerAdapter", "HostResult"]
