"""The lab BMC process: sushy-tools' emulator (fake driver, one system per node) behind one HTTPS
port per BMC, a plain-HTTP control API for tests, and an HTTP file server for firmware images.

Runs in the foreground (``python -m tests.lab.bmc serve``); :mod:`tests.lab.bmc.control` starts it
in the background and stops it by pid.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import signal
import ssl
import threading
import types
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from .profiles import PROFILES
from .state import DEFAULT_VERSIONS, Faults, LabState
from .view import BmcView

DEFAULT_IMAGES = (
    "bmc-1.10.0",
    "bmc-1.12.0",
    "bios-2.3.1",
    "bios-2.4.0",
    "gpu-96.00.89.00.01",
    "gpu-96.00.af.00.02",
    "hca-28.39.1002",
    "hca-28.40.1000",
)


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without its per-request log line (tests read the counters instead).
    werkzeug closes every connection, so each request is a fresh TLS handshake, as with many BMCs."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:  # the lab is quiet; tests read /requests
        pass


def build_sushy(root: Path, lab: LabState, power_delay: int) -> Any:
    """Import and configure sushy-tools' Flask app for this lab's nodes (fake driver, private state)."""
    os.environ["TMPDIR"] = str(root / "tmp")
    from sushy_tools.emulator import main as sushy
    from sushy_tools.emulator.resources.systems import fakedriver

    # The fake driver picks a power transition delay in 1..11 s; the lab makes it a fixed, short
    # delay so a 16-node rolling update does not spend minutes waiting for fake power.
    fakedriver.random = types.SimpleNamespace(randint=lambda a, b: power_delay)
    systems = [
        {
            "uuid": b.uuid,
            "name": b.name,
            "power_state": "On",
            "nics": [{"mac": f"52:54:00:00:{b.index // 256:02x}:{b.index % 256:02x}", "ip": f"10.254.1.{b.index + 1}"}],
        }
        for b in lab.bmcs.values()
    ]
    sushy.app.configure(
        extra_config={
            "SUSHY_EMULATOR_FAKE_DRIVER": True,
            "SUSHY_EMULATOR_FAKE_SYSTEMS": systems,
            "SUSHY_EMULATOR_STATE_DIR": str(root / "state"),
        }
    )
    return sushy.app


class Control:
    """The test-facing control API (plain HTTP on loopback): faults, latency, firmware, counters."""

    def __init__(
        self, lab: LabState, sushy_app: Any, info: dict[str, Any], start_profiles: dict[str, str] | None = None
    ) -> None:
        self.lab, self.sushy, self.info = lab, sushy_app, info
        self.start_profiles = dict(start_profiles or {})
        # name -> (close its listening socket, open it again): the "gone" fault; set by serve()
        self.listeners: dict[str, tuple[Callable[[], None], Callable[[], None]]] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        req = Request(environ)
        try:
            data = json.loads(req.get_data() or b"{}")
            if req.path.strip("/") == "reset" or (req.path.strip("/") == "faults" and "gone" in data):
                # outside the lab lock: closing waits for the BMC's accept loop; a reset brings all back
                self.set_gone(self.targets(data) if "gone" in data else self.targets({}), bool(data.get("gone")))
            body = self.handle(req.method, req.path.strip("/"), data)
            resp = Response(json.dumps(body), content_type="application/json")
        except (KeyError, ValueError, TypeError) as exc:
            resp = Response(
                json.dumps({"error": f"{type(exc).__name__}: {exc}"}), status=400, content_type="application/json"
            )
        return resp(environ, start_response)

    def set_gone(self, bmcs: list[Any], down: bool) -> None:
        """``gone``: the BMC's web server is down, its port refuses connections (a BMC rebooting or
        pulled off the network), until cleared."""
        for b in bmcs:
            if b.faults.gone != down and b.name in self.listeners:
                self.listeners[b.name][0 if down else 1]()
                b.faults.gone = down

    def targets(self, data: dict[str, Any]) -> list[Any]:
        names = data.get("nodes", "all")
        return list(self.lab.bmcs.values()) if names == "all" else [self.lab.bmcs[n] for n in names]

    def handle(self, method: str, path: str, data: dict[str, Any]) -> Any:
        lab = self.lab
        if path == "status":
            return {
                **self.info,
                "nodes": {
                    b.name: {
                        "power": self.sushy.systems.get_power_state(b.uuid),
                        "profile": b.profile,
                        "previous": b.previous,
                        "versions": b.versions,
                        "staged": b.staged,
                        "override": [b.override_target, b.override_enabled],
                        "faults": vars(b.faults),
                    }
                    for b in lab.bmcs.values()
                },
                "latency": lab.latency,
                "reinstalls": lab.reinstalls,
                "sessions": {b.name: sum(s.node == b.name for s in lab.sessions.values()) for b in lab.bmcs.values()},
                "tasks": {b.name: sum(t.node == b.name for t in lab.tasks.values()) for b in lab.bmcs.values()},
                "resets": {b.name: b.resets for b in lab.bmcs.values()},
            }
        if path == "requests":
            return {
                "max_inflight": lab.max_inflight,
                "nodes": {
                    b.name: {
                        "requests": b.requests,
                        "served_503": b.served_503,
                        "injected": b.injected,
                        "max_inflight": b.max_inflight,
                    }
                    for b in lab.bmcs.values()
                },
            }
        if method != "POST":
            raise KeyError(path)
        with lab.lock:
            if path == "latency":
                lab.latency = tuple(data["latency"]) if data.get("latency") else None
            elif path == "faults":
                for b in self.targets(data):
                    for key in (
                        "unavailable",
                        "retry_after",
                        "hang",
                        "server_error",
                        "fail_update",
                        "no_update",
                        "sessions_full",
                    ):
                        if key in data:
                            setattr(b.faults, key, data[key])
                    if "latency" in data:
                        b.faults.latency = tuple(data["latency"]) if data["latency"] else None
            elif path == "profile":
                for b in self.targets(data):
                    self.set_profile(b, str(data["profile"]))
            elif path == "firmware":
                for b in self.targets(data):
                    b.versions.update({k: str(v) for k, v in data["versions"].items() if k in b.versions})
            elif path == "provision":
                lab.provision_image = data.get("image_id", lab.provision_image)
                lab.reinstall_delay = float(data.get("delay", lab.reinstall_delay))
                lab.update_seconds = float(data.get("update_seconds", lab.update_seconds))
            elif path == "sessions/expire":
                lab.sessions.clear()
            elif path == "counters/clear":
                self.clear_counters()
            elif path == "reset":
                self.reset()
            else:
                raise KeyError(path)
        return {"ok": True}

    def set_profile(self, b: Any, name: str) -> None:
        """Serve a vendor shape (profiles.PROFILES) on this BMC, with that profile's factory firmware."""
        prof = PROFILES[name]  # KeyError -> 400 naming the profile
        b.profile = name
        b.versions = dict(DEFAULT_VERSIONS) if name == "generic" else prof.default_versions()
        b.staged, b.previous, b.ac_off, b.etag = {}, {}, False, 1

    def reset(self) -> None:
        """Back to the state of a fresh start: all nodes on, their start-up profile, baseline firmware,
        no faults."""
        lab = self.lab
        lab.latency, lab.sessions, lab.tasks, lab.reinstalls = None, {}, {}, []
        for b in lab.bmcs.values():
            self.set_profile(b, self.start_profiles.get(b.name, "generic"))
            b.faults = Faults()
            b.override_target, b.override_enabled, b.resets = "None", "Disabled", 0
            self.sushy.systems._update(b.uuid, power_state="On", pending_power=None, boot_device="Hdd")
        self.clear_counters()

    def clear_counters(self) -> None:
        self.lab.max_inflight = self.lab.inflight
        for b in self.lab.bmcs.values():
            b.requests, b.served_503, b.injected, b.max_inflight = 0, 0, [], b.inflight


def _spawn(server: BaseWSGIServer | ThreadingHTTPServer) -> threading.Thread:
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True)
    t.start()
    return t


def serve(args: argparse.Namespace) -> None:
    import bcrypt

    root = Path(args.dir)
    for sub in ("tmp", "state", "images"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    names = args.names.split(",")
    password = (root / "password").read_text().strip()
    hook = json.loads(args.reinstall_hook) if args.reinstall_hook else None
    lab = LabState(
        names,
        args.base_port + 10,
        user=args.user,
        password_hash=bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)),
        update_seconds=args.update_seconds,
        reinstall_hook=hook,
    )
    lab.hook_log = str(root / "reinstall.log")
    app = build_sushy(root, lab, args.power_delay)
    for image in DEFAULT_IMAGES:
        (root / "images" / f"{image}.bin").write_bytes(f"dcops lab firmware {image}\n".encode() * 64)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(root / "pki" / "server.pem", root / "pki" / "server.key")

    def bmc_server(bmc: Any) -> BaseWSGIServer:
        return make_server(
            "127.0.0.1",
            bmc.port,
            BmcView(lab, bmc, app.wsgi_app),
            threaded=True,
            request_handler=_QuietHandler,
            ssl_context=ctx,
        )

    servers: dict[str, Any] = {b.name: bmc_server(b) for b in lab.bmcs.values()}

    def listener(bmc: Any) -> tuple[Callable[[], None], Callable[[], None]]:
        def close() -> None:
            servers[bmc.name].shutdown()
            servers[bmc.name].server_close()

        def reopen() -> None:
            servers[bmc.name] = bmc_server(bmc)
            _spawn(servers[bmc.name])

        return close, reopen

    files = ThreadingHTTPServer(
        ("127.0.0.1", args.base_port + 1), functools.partial(_QuietFiles, directory=str(root / "images"))
    )
    info = {
        "control": f"http://127.0.0.1:{args.base_port}",
        "files": f"http://127.0.0.1:{args.base_port + 1}",
        "ca": str(root / "pki" / "ca.pem"),
        "user": args.user,
        "password_file": str(root / "password"),
        "images_dir": str(root / "images"),
        "bmcs": {b.name: f"https://127.0.0.1:{b.port}" for b in lab.bmcs.values()},
        "uuids": {b.name: b.uuid for b in lab.bmcs.values()},
    }
    profiles = dict(kv.split("=", 1) for kv in args.profiles.split(",") if kv) if args.profiles else {}
    ctl = Control(lab, app, info, profiles)
    ctl.listeners = {b.name: listener(b) for b in lab.bmcs.values()}
    for b in lab.bmcs.values():
        ctl.set_profile(b, profiles.get(b.name, "generic"))
    control = make_server("127.0.0.1", args.base_port, ctl, threaded=True, request_handler=_QuietHandler)
    for s in [*servers.values(), files, control]:
        _spawn(s)
    (root / "lab.json").write_text(json.dumps(info, indent=1))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    os._exit(0)  # server threads are daemons; a hung request must not hold the stop up


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass
