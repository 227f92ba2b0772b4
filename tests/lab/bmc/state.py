"""What the lab adds to sushy-tools' fake systems: firmware, update tasks, sessions and faults.

One :class:`LabState` per lab process holds, per BMC, the firmware versions that run now, the ones
staged for the next reset, its update tasks, its one-time boot override and its injected faults.
Everything is guarded by one lock: requests come from many server threads at once, and the
contention is negligible next to the injected latency.
"""

from __future__ import annotations

import random
import secrets
import subprocess
import threading
import time
import urllib.request
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlparse

GPUS = tuple(f"GPU{i}" for i in range(8))
COMPONENTS = ("BMC", "BIOS", *GPUS, "HCA0")
# image family (first word of the image file name) -> the inventory items it updates
FAMILIES: dict[str, tuple[str, ...]] = {"bmc": ("BMC",), "bios": ("BIOS",), "gpu": GPUS, "hca": ("HCA0",)}
NAMES = {
    "BMC": "BMC firmware",
    "BIOS": "System BIOS",
    "HCA0": "ConnectX-7 HCA firmware",
    **{g: f"H100 {g} VBIOS" for g in GPUS},
}
DEFAULT_VERSIONS = {"BMC": "1.10.0", "BIOS": "2.3.1", "HCA0": "28.39.1002", **dict.fromkeys(GPUS, "96.00.89.00.01")}
BOOT_RESETS = ("On", "ForceOn", "ForceRestart", "GracefulRestart", "PowerCycle", "PushPowerButton")


def parse_image_name(uri: str) -> tuple[str, str]:
    """``http://host/images/gpu-96.00.af.00.01.bin`` -> ("gpu", "96.00.af.00.01")."""
    stem = PurePosixPath(urlparse(uri).path).name
    for suffix in (".bin", ".fwpkg", ".img"):
        stem = stem.removesuffix(suffix)
    family, _, version = stem.partition("-")
    if family.lower() not in FAMILIES or not version:
        raise ValueError(f"image name {stem!r} is not <bmc|bios|gpu|hca>-<version>")
    return family.lower(), version


def message(
    mid: str, text: str, severity: str = "OK", args: list[str] | None = None, resolution: str = "None"
) -> dict[str, Any]:
    return {
        "MessageId": mid,
        "Message": text,
        "MessageArgs": args or [],
        "Severity": severity,
        "Resolution": resolution,
    }


@dataclass
class Faults:
    latency: tuple[float, float] | None = None  # overrides the lab-wide latency for this BMC
    unavailable: int = 0  # answer this many next requests with 503
    retry_after: int = 1
    hang: bool = False  # never answer (until cleared)
    gone: bool = False  # the web server is down: connections refused (until cleared)
    server_error: bool = False  # answer every request with 500 (until cleared)
    fail_update: str | None = None  # update tasks end in Exception with this text
    no_update: bool = False  # UpdateService without SimpleUpdate or a push URI
    sessions_full: bool = False  # logins refused: the session table is full


@dataclass
class Task:
    id: str
    node: str
    image_uri: str
    targets: list[str]
    state: str = "New"
    percent: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    ended: float | None = None
    health: str | None = None  # TaskStatus when it is not implied by the state
    content: bytes | None = None  # a multipart push carries the image itself

    def resource(self) -> dict[str, Any]:
        status = self.health or {"Completed": "OK", "Exception": "Critical"}.get(self.state, "OK")
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))  # noqa: E731
        body = {
            "@odata.type": "#Task.v1_4_3.Task",
            "@odata.id": f"/redfish/v1/TaskService/Tasks/{self.id}",
            "Id": self.id,
            "Name": f"SimpleUpdate {self.image_uri}",
            "TaskState": self.state,
            "TaskStatus": status,
            "PercentComplete": self.percent,
            "StartTime": iso(self.started),
            "TaskMonitor": f"/redfish/v1/TaskService/TaskMonitors/{self.id}",
            "Messages": list(self.messages),
        }
        if self.ended is not None:
            body["EndTime"] = iso(self.ended)
        return body


@dataclass
class Bmc:
    name: str
    index: int
    port: int
    uuid: str
    versions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_VERSIONS))
    staged: dict[str, str] = field(default_factory=dict)
    override_target: str = "None"
    override_enabled: str = "Disabled"
    profile: str = "generic"  # vendor shape served (profiles.PROFILES)
    previous: dict[str, str] = field(default_factory=dict)  # iDRAC Previous- members
    ac_off: bool = False  # powered off since the last On (AC cycle half done)
    etag: int = 1  # the settings object's ETag
    faults: Faults = field(default_factory=Faults)
    requests: int = 0
    resets: int = 0  # boots (resets that start the host)
    inflight: int = 0
    max_inflight: int = 0
    served_503: int = 0
    injected: list[float] = field(default_factory=list)  # latency injected per request, in order


@dataclass
class Session:
    id: str
    token: str
    user: str
    node: str
    last: float


class LabState:
    def __init__(
        self,
        names: list[str],
        base_port: int,
        *,
        user: str,
        password_hash: bytes,
        update_seconds: float = 1.5,
        reinstall_delay: float = 3.0,
        reinstall_hook: list[str] | None = None,
        session_timeout: float = 600.0,
    ) -> None:
        self.lock = threading.RLock()
        self.bmcs: dict[str, Bmc] = {}
        self.by_port: dict[int, Bmc] = {}
        for i, name in enumerate(names):
            bmc = Bmc(
                name=name,
                index=i,
                port=base_port + i,
                uuid=str(uuidlib.uuid5(uuidlib.NAMESPACE_DNS, f"{name}.dcops-lab")),
            )
            self.bmcs[name] = bmc
            self.by_port[bmc.port] = bmc
        self.user = user
        self.password_hash = password_hash
        self.update_seconds = update_seconds
        self.latency: tuple[float, float] | None = None
        self.session_timeout = session_timeout
        self.sessions: dict[str, Session] = {}  # token -> session
        self.tasks: dict[str, Task] = {}
        self.provision_image = "dcops-gpu-2026.11.0"
        self.reinstall_delay = reinstall_delay
        self.reinstall_hook = reinstall_hook
        self.reinstalls: list[dict[str, Any]] = []
        self.hook_log: str | None = None  # where the reinstall hook's output goes
        self.inflight = 0  # requests being answered now, fleet-wide
        self.max_inflight = 0

    # ------------------------------------------------------------------ faults and latency
    def enter(self, bmc: Bmc) -> None:
        with self.lock:
            bmc.inflight += 1
            bmc.max_inflight = max(bmc.max_inflight, bmc.inflight)
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)

    def leave(self, bmc: Bmc) -> None:
        with self.lock:
            bmc.inflight -= 1
            self.inflight -= 1

    def delay_for(self, bmc: Bmc) -> float:
        with self.lock:
            bmc.requests += 1
            span = bmc.faults.latency or self.latency
            delay = random.uniform(*span) if span else 0.0
            bmc.injected.append(delay)
            return delay

    def take_unavailable(self, bmc: Bmc) -> int | None:
        """Retry-After seconds when this request must get a 503, else None."""
        with self.lock:
            if bmc.faults.unavailable > 0:
                bmc.faults.unavailable -= 1
                bmc.served_503 += 1
                return bmc.faults.retry_after
            return None

    # ------------------------------------------------------------------ sessions
    def login(self, bmc: Bmc, user: str, password: str) -> Session | None:
        import bcrypt

        if user != self.user or not bcrypt.checkpw(password.encode(), self.password_hash):
            return None
        s = Session(
            id=secrets.token_hex(4), token=secrets.token_urlsafe(24), user=user, node=bmc.name, last=time.time()
        )
        with self.lock:
            self.sessions[s.token] = s
        return s

    def session_for(self, bmc: Bmc, token: str) -> Session | None:
        with self.lock:
            s = self.sessions.get(token)
            if s is None or s.node != bmc.name or time.time() - s.last > self.session_timeout:
                return None
            s.last = time.time()
            return s

    def check_basic(self, user: str, password: str) -> bool:
        import bcrypt

        return user == self.user and bcrypt.checkpw(password.encode(), self.password_hash)

    # ------------------------------------------------------------------ updates
    def start_update(self, bmc: Bmc, image_uri: str, targets: list[str], content: bytes | None = None) -> Task:
        task = Task(id=secrets.token_hex(4), node=bmc.name, image_uri=image_uri, targets=targets, content=content)
        with self.lock:
            self.tasks[task.id] = task
        run = self._run_update if bmc.profile == "generic" else self._run_profile_update
        threading.Thread(target=run, args=(bmc, task), daemon=True).start()
        return task

    def _run_profile_update(self, bmc: Bmc, task: Task) -> None:
        """A vendor profile's update: resolve what the image installs, flash with progress, then stage
        it the way the profile activates (AC cycle, pending job until a restart, or a reset)."""
        from .profiles import PROFILES

        prof = PROFILES[bmc.profile]

        def finish(state: str, *msgs: dict[str, Any], health: str | None = None) -> None:
            with self.lock:
                task.state, task.ended, task.health = state, time.time(), health
                task.messages.extend(msgs)
                if state == "Completed":
                    task.percent = 100

        def failed(mid: str, text: str) -> None:
            msg = message(f"Update.1.0.{mid}", text, "Critical", [task.image_uri])
            if prof.critical_completed:
                finish("Completed", msg, health="Critical")
            else:
                finish("Exception", msg)

        time.sleep(min(0.3, self.update_seconds / 4))
        with self.lock:
            task.state = "Running"
            task.messages.append(message("Update.1.0.UpdateInProgress", "An update is in progress."))
        content = task.content
        if content is None:
            try:
                with urllib.request.urlopen(task.image_uri, timeout=10) as resp:  # noqa: S310 - lab file server
                    content = resp.read()
            except OSError as exc:
                return failed("TransferFailed", f"Transfer of image {task.image_uri} failed: {exc}.")
        try:
            comps = prof.resolve(task.image_uri, content, task.targets)
        except ValueError as exc:
            return failed("VerificationFailed", f"Verification of image failed: {exc}.")
        stuck = [k for k in comps if not prof.part(k).updateable]
        if stuck:
            return failed("ApplyFailed", f"Components {stuck} are not updateable.")
        steps = 4
        for step in range(1, steps + 1):
            time.sleep(self.update_seconds / steps)
            with self.lock:
                task.percent = min(99, step * 100 // steps)
        if bmc.faults.fail_update:
            return failed("ApplyFailed", f"Installation of image failed: {bmc.faults.fail_update}.")
        names = ", ".join(sorted(comps))
        reset_uri = f"/redfish/v1/Systems/{prof.system_id or bmc.uuid}/Actions/ComputerSystem.Reset"
        ask = [
            message(
                "Update.1.0.AwaitToActivate",
                f"Awaiting {prof.reset_ask} to activate {names}.",
                "OK",
                [task.image_uri, names],
            ),
            message(
                "Base.1.8.ResetRequired",
                f"In order to complete the operation, a component reset is "
                f"required with the Reset action URI '{reset_uri}' and ResetType '{prof.reset_ask}'.",
                "Warning",
                [reset_uri, prof.reset_ask],
                "Reset the system.",
            ),
        ]
        with self.lock:
            bmc.staged.update(comps)
            if prof.activation == "pending":  # the job applies at the next restart, then completes
                task.state, task.percent = "Pending", 100
                task.messages.extend(ask)
                return
        finish("Completed", *ask)

    def _run_update(self, bmc: Bmc, task: Task) -> None:
        """New -> Running (download, verify, flash with progress) -> Completed | Exception."""

        def finish(state: str, *msgs: dict[str, Any]) -> None:
            with self.lock:
                task.state, task.ended = state, time.time()
                task.messages.extend(msgs)
                if state == "Completed":
                    task.percent = 100

        time.sleep(min(0.3, self.update_seconds / 4))
        with self.lock:
            task.state = "Running"
            task.messages.append(message("Update.1.0.UpdateInProgress", "An update is in progress."))
        try:
            family, version = parse_image_name(task.image_uri)
        except ValueError as exc:
            return finish(
                "Exception",
                message(
                    "Update.1.0.VerificationFailed",
                    f"Verification of image failed: {exc}.",
                    "Critical",
                    [task.image_uri],
                ),
            )
        items = FAMILIES[family]
        if task.targets:
            wanted = {t.rstrip("/").rsplit("/", 1)[-1] for t in task.targets}
            if not wanted <= set(items):
                return finish(
                    "Exception",
                    message(
                        "Update.1.0.NoTargetsDetermined",
                        f"Image {family} does not apply to {sorted(wanted - set(items))}.",
                        "Critical",
                        [task.image_uri],
                    ),
                )
            items = tuple(i for i in items if i in wanted)
        try:
            with urllib.request.urlopen(task.image_uri, timeout=10) as resp:  # noqa: S310 - lab file server
                size = len(resp.read())
            if size == 0:
                raise OSError("empty image")
        except OSError as exc:
            return finish(
                "Exception",
                message(
                    "Update.1.0.TransferFailed",
                    f"Transfer of image {task.image_uri} failed: {exc}.",
                    "Critical",
                    [task.image_uri],
                ),
            )
        steps = 4
        for step in range(1, steps + 1):
            time.sleep(self.update_seconds / steps)
            with self.lock:
                task.percent = min(99, step * 100 // steps)
        if bmc.faults.fail_update:
            return finish(
                "Exception",
                message(
                    "Update.1.0.ApplyFailed",
                    f"Installation of image failed: {bmc.faults.fail_update}.",
                    "Critical",
                    [task.image_uri, ",".join(items)],
                ),
            )
        with self.lock:
            if family == "bmc":  # the BMC activates its own image by rebooting itself
                bmc.versions.update(dict.fromkeys(items, version))
                msgs = [message("Update.1.0.UpdateSuccessful", f"Image {version} applied to {', '.join(items)}.")]
            else:
                bmc.staged.update(dict.fromkeys(items, version))
                reset_uri = f"/redfish/v1/Systems/{bmc.uuid}/Actions/ComputerSystem.Reset"
                msgs = [
                    message(
                        "Update.1.0.AwaitToActivate",
                        f"Awaiting a system reset to activate {version} on {', '.join(items)}.",
                        "OK",
                        [task.image_uri, ",".join(items)],
                    ),
                    message(
                        "Base.1.8.ResetRequired",
                        f"In order to complete the operation, a component reset is required with the "
                        f"Reset action URI '{reset_uri}' and ResetType 'ForceRestart'.",
                        "Warning",
                        [reset_uri, "ForceRestart"],
                        "Reset the system.",
                    ),
                ]
        finish("Completed", *msgs)

    # ------------------------------------------------------------------ boot
    def on_reset(self, bmc: Bmc, reset_type: str) -> None:
        """A reset that boots the host activates staged firmware and consumes a one-time override.

        An HGX-profile baseboard activates only on an AC power cycle: Off (ForceOff, GracefulShutdown)
        and then On; a host restart leaves its staged firmware staged."""
        with self.lock:
            if reset_type in ("ForceOff", "GracefulShutdown"):
                bmc.ac_off = True
        if reset_type not in BOOT_RESETS:
            return
        with self.lock:
            bmc.resets += 1
            cycled = bmc.ac_off and reset_type in ("On", "ForceOn")
            bmc.ac_off = False
            if bmc.profile != "hgx" or cycled or reset_type == "PowerCycle":
                if bmc.profile == "idrac":
                    bmc.previous.update(
                        {k: bmc.versions[k] for k in bmc.staged if bmc.versions.get(k) != bmc.staged[k]}
                    )
                bmc.versions.update(bmc.staged)
                bmc.staged.clear()
                for t in self.tasks.values():
                    if t.node == bmc.name and t.state == "Pending":
                        t.state, t.ended = "Completed", time.time()
                        t.messages.append(message("Update.1.0.UpdateSuccessful", "The update was applied at reset."))
            pxe = bmc.override_target == "Pxe" and bmc.override_enabled in ("Once", "Continuous")
            if bmc.override_enabled == "Once":
                bmc.override_target, bmc.override_enabled = "None", "Disabled"
            if pxe:
                record = {
                    "node": bmc.name,
                    "image_id": self.provision_image,
                    "at": time.time(),
                    "delay": self.reinstall_delay,
                }
                self.reinstalls.append(record)
        if pxe and self.reinstall_hook:
            argv = [a.format(**{k: str(v) for k, v in record.items()}) for a in self.reinstall_hook]
            log = open(self.hook_log, "ab") if self.hook_log else subprocess.DEVNULL  # noqa: SIM115
            subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,  # noqa: S603
                start_new_session=True,
            )
