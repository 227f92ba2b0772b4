"""One lab BMC: WSGI middleware around sushy-tools' Flask app that shows it one system, as a real
BMC would, and adds what the fake driver lacks (see facts.md): sessions, FirmwareInventory,
SimpleUpdate with a DSP0266 task monitor, a TaskService, a one-time boot override, latency and
503 / hang faults. Every request that sushy can answer itself is forwarded to it unchanged
(power, boot device, virtual media, managers, chassis), and its JSON is patched where the lab
owns the truth (BIOS and BMC versions, the boot override).
"""

from __future__ import annotations

import base64
import io
import json
import re
import time
from typing import Any, Callable

from werkzeug.wrappers import Request, Response

from .state import COMPONENTS, NAMES, Bmc, LabState

WsgiApp = Callable[..., Any]
OPEN_PATHS = ("/redfish", "/redfish/v1", "/redfish/v1/odata", "/redfish/v1/$metadata")
EXPAND = re.compile(r"^\.?(\(\$levels=1\))?$|^\*$")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


def _error(status: int, mid: str, text: str, headers: dict[str, str] | None = None) -> Response:
    return _json({"error": {"code": f"Base.1.8.{mid}", "message": text, "@Message.ExtendedInfo": [
        {"MessageId": f"Base.1.8.{mid}", "Message": text, "Severity": "Critical"}]}}, status, headers)


class BmcView:
    """The WSGI app one lab BMC port serves."""

    def __init__(self, lab: LabState, bmc: Bmc, inner: WsgiApp) -> None:
        self.lab, self.bmc, self.inner = lab, bmc, inner
        self.system = f"/redfish/v1/Systems/{bmc.uuid}"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.respond(environ)(environ, start_response)

    # ------------------------------------------------------------------ request pipeline
    def respond(self, environ: dict[str, Any]) -> Response:
        self.lab.enter(self.bmc)
        try:
            return self._respond(environ)
        finally:
            self.lab.leave(self.bmc)

    def _respond(self, environ: dict[str, Any]) -> Response:
        lab, bmc = self.lab, self.bmc
        while bmc.faults.hang:
            time.sleep(0.2)
        delay = lab.delay_for(bmc)
        if delay:
            time.sleep(delay)
        if bmc.faults.server_error:
            return _error(500, "InternalError", "The BMC's web server failed (lab fault).")
        retry_after = lab.take_unavailable(bmc)
        if retry_after is not None:
            return _error(503, "ServiceTemporarilyUnavailable", "The BMC is busy; retry later.",
                          {"Retry-After": str(retry_after)})
        req = Request(environ)
        body = req.get_data(cache=True)
        path = req.path.rstrip("/") or "/"
        if path == "/redfish/v1/SessionService/Sessions" and req.method == "POST":
            return self.login(req)
        if path not in OPEN_PATHS and not self.authorised(req):
            return _error(401, "NoValidSession", "No valid session or credentials.",
                          {"WWW-Authenticate": 'Basic realm="lab-bmc"'})
        try:
            return self.route(req, path, environ, body)
        except (ValueError, KeyError, TypeError) as exc:
            return _error(400, "MalformedJSON", f"bad request: {exc}")

    def authorised(self, req: Request) -> bool:
        token = req.headers.get("X-Auth-Token")
        if token:
            return self.lab.session_for(self.bmc, token) is not None
        auth = req.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode(errors="replace").partition(":")
            return self.lab.check_basic(user, password)
        return False

    def login(self, req: Request) -> Response:
        data = json.loads(req.get_data() or b"{}")
        s = self.lab.login(self.bmc, str(data.get("UserName", "")), str(data.get("Password", "")))
        if s is None:
            return _error(401, "NoValidSession", "Invalid user name or password.")
        uri = f"/redfish/v1/SessionService/Sessions/{s.id}"
        return _json({"@odata.id": uri, "@odata.type": "#Session.v1_3_0.Session", "Id": s.id,
                      "UserName": s.user}, 201, {"X-Auth-Token": s.token, "Location": uri})

    def route(self, req: Request, path: str, environ: dict[str, Any], body: bytes) -> Response:
        m = req.method
        if path in ("/redfish/v1", "/redfish"):
            return self.patched(environ, body, self.patch_root)
        if path == "/redfish/v1/SessionService":
            return _json({"@odata.id": path, "Id": "SessionService", "ServiceEnabled": True,
                          "SessionTimeout": int(self.lab.session_timeout),
                          "Sessions": {"@odata.id": f"{path}/Sessions"}})
        if path.startswith("/redfish/v1/SessionService/Sessions"):
            return self.sessions(req, path)
        if path == "/redfish/v1/Systems":
            return _json(self.collection(path, [self.system]))
        if path == "/redfish/v1/Managers":
            return _json(self.collection(path, [f"/redfish/v1/Managers/{self.bmc.uuid}"]))
        if path.startswith("/redfish/v1/Systems/") or path.startswith("/redfish/v1/Managers/"):
            ident = path.split("/")[4]
            if ident not in (self.bmc.uuid, self.bmc.name):
                return _error(404, "ResourceMissingAtURI", f"{path} does not exist on this BMC.")
            if path == self.system and m == "PATCH":
                return self.patch_boot(environ, body)
            if path == f"{self.system}/Actions/ComputerSystem.Reset" and m == "POST":
                return self.reset(environ, body)
            if path == self.system and m == "GET":
                return self.patched(environ, body, self.patch_system)
            if path == f"/redfish/v1/Managers/{self.bmc.uuid}" and m == "GET":
                return self.patched(environ, body, self.patch_manager)
            return Response.from_app(self.inner, self.forward(environ, body))
        if path.startswith("/redfish/v1/UpdateService"):
            return self.update_service(req, path)
        if path.startswith("/redfish/v1/TaskService"):
            return self.task_service(req, path)
        return Response.from_app(self.inner, self.forward(environ, body))

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def collection(path: str, members: list[str], expanded: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {"@odata.id": path, "Name": path.rsplit("/", 1)[-1], "Members@odata.count": len(members),
                "Members": expanded if expanded is not None else [{"@odata.id": u} for u in members]}

    @staticmethod
    def forward(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
        env = dict(environ)
        env["wsgi.input"] = io.BytesIO(body)
        env["CONTENT_LENGTH"] = str(len(body))
        env.pop("HTTP_X_AUTH_TOKEN", None)
        env.pop("HTTP_AUTHORIZATION", None)
        return env

    def patched(self, environ: dict[str, Any], body: bytes, patch: Callable[[dict[str, Any]], None]) -> Response:
        inner = Response.from_app(self.inner, self.forward(environ, body))
        if inner.status_code != 200:
            return inner
        doc = json.loads(inner.get_data())
        patch(doc)
        return _json(doc)

    def patch_root(self, doc: dict[str, Any]) -> None:
        doc["SessionService"] = {"@odata.id": "/redfish/v1/SessionService"}
        doc["TaskService"] = {"@odata.id": "/redfish/v1/TaskService"}
        doc["UpdateService"] = {"@odata.id": "/redfish/v1/UpdateService"}
        doc["Links"] = {"Sessions": {"@odata.id": "/redfish/v1/SessionService/Sessions"}}
        doc["ProtocolFeaturesSupported"] = {"ExpandQuery": {"ExpandAll": False, "Levels": True, "MaxLevels": 1,
                                                            "Links": False, "NoLinks": True}}

    def patch_system(self, doc: dict[str, Any]) -> None:
        with self.lab.lock:
            doc["BiosVersion"] = self.bmc.versions["BIOS"]
            doc["Name"] = self.bmc.name
            doc.setdefault("Boot", {}).update({"BootSourceOverrideTarget": self.bmc.override_target,
                                               "BootSourceOverrideEnabled": self.bmc.override_enabled})
            doc["Boot"]["BootSourceOverrideEnabled@Redfish.AllowableValues"] = ["Disabled", "Once", "Continuous"]

    def patch_manager(self, doc: dict[str, Any]) -> None:
        doc["FirmwareVersion"] = self.bmc.versions["BMC"]

    # ------------------------------------------------------------------ boot and power
    def patch_boot(self, environ: dict[str, Any], body: bytes) -> Response:
        boot = (json.loads(body or b"{}").get("Boot") or {})
        target, enabled = boot.get("BootSourceOverrideTarget"), boot.get("BootSourceOverrideEnabled")
        if enabled is not None and enabled not in ("Disabled", "Once", "Continuous"):
            return _error(400, "PropertyValueNotInList", f"BootSourceOverrideEnabled {enabled!r} is not allowed.")
        resp = Response.from_app(self.inner, self.forward(environ, body))
        if resp.status_code < 300:
            with self.lab.lock:
                if target is not None:
                    self.bmc.override_target = target
                    if enabled is None and self.bmc.override_enabled == "Disabled":
                        self.bmc.override_enabled = "Once"
                if enabled is not None:
                    self.bmc.override_enabled = enabled
                    if enabled == "Disabled":
                        self.bmc.override_target = "None"
        return resp

    def reset(self, environ: dict[str, Any], body: bytes) -> Response:
        reset_type = json.loads(body or b"{}").get("ResetType", "")
        resp = Response.from_app(self.inner, self.forward(environ, body))
        if resp.status_code < 300:
            self.lab.on_reset(self.bmc, reset_type)
        return resp

    # ------------------------------------------------------------------ sessions
    def sessions(self, req: Request, path: str) -> Response:
        mine = [s for s in self.lab.sessions.values() if s.node == self.bmc.name]
        base = "/redfish/v1/SessionService/Sessions"
        if path == base:
            return _json(self.collection(base, [f"{base}/{s.id}" for s in mine]))
        sid = path.rsplit("/", 1)[-1]
        found = [s for s in mine if s.id == sid]
        if not found:
            return _error(404, "ResourceMissingAtURI", f"{path} does not exist.")
        if req.method == "DELETE":
            with self.lab.lock:
                self.lab.sessions.pop(found[0].token, None)
            return Response(status=204)
        return _json({"@odata.id": path, "Id": sid, "UserName": found[0].user})

    # ------------------------------------------------------------------ firmware
    def component(self, cid: str) -> dict[str, Any]:
        uri = f"/redfish/v1/UpdateService/FirmwareInventory/{cid}"
        with self.lab.lock:
            version = self.bmc.versions[cid]
        return {"@odata.id": uri, "@odata.type": "#SoftwareInventory.v1_10_0.SoftwareInventory", "Id": cid,
                "Name": NAMES[cid], "Version": version, "Updateable": True,
                "Status": {"State": "Enabled", "Health": "OK"}}

    def update_service(self, req: Request, path: str) -> Response:
        base = "/redfish/v1/UpdateService"
        if path == base:
            return _json({"@odata.id": base, "@odata.type": "#UpdateService.v1_11_0.UpdateService",
                          "Id": "UpdateService", "ServiceEnabled": True,
                          "FirmwareInventory": {"@odata.id": f"{base}/FirmwareInventory"},
                          "Actions": {"#UpdateService.SimpleUpdate": {
                              "target": f"{base}/Actions/UpdateService.SimpleUpdate",
                              "TransferProtocol@Redfish.AllowableValues": ["HTTP", "HTTPS"]}}})
        inv = f"{base}/FirmwareInventory"
        if path == inv and req.method == "GET":
            members = [f"{inv}/{c}" for c in COMPONENTS]
            expand = req.args.get("$expand")
            if expand is None:
                return _json(self.collection(inv, members))
            if not EXPAND.match(expand):
                return _error(501, "QueryNotSupported", f"$expand={expand} is not supported.")
            return _json(self.collection(inv, members, [self.component(c) for c in COMPONENTS]))
        if path.startswith(inv + "/") and req.method == "GET":
            cid = path.rsplit("/", 1)[-1]
            if cid not in COMPONENTS:
                return _error(404, "ResourceMissingAtURI", f"{path} does not exist.")
            return _json(self.component(cid))
        if path == f"{base}/Actions/UpdateService.SimpleUpdate" and req.method == "POST":
            data = json.loads(req.get_data() or b"{}")
            image = data.get("ImageURI")
            if not isinstance(image, str) or not image.startswith(("http://", "https://")):
                return _error(400, "PropertyValueFormatError", "ImageURI must be an http(s) URL.")
            targets = data.get("Targets") or []
            task = self.lab.start_update(self.bmc, image, list(targets))
            return _json(task.resource(), 202, {"Location": f"/redfish/v1/TaskService/TaskMonitors/{task.id}"})
        return _error(405 if path.startswith(base + "/Actions") else 404, "ResourceMissingAtURI",
                      f"{req.method} {path} is not supported.")

    # ------------------------------------------------------------------ tasks
    def task_service(self, req: Request, path: str) -> Response:
        base = "/redfish/v1/TaskService"
        if path == base:
            return _json({"@odata.id": base, "Id": "TaskService", "ServiceEnabled": True,
                          "Tasks": {"@odata.id": f"{base}/Tasks"}})
        with self.lab.lock:
            mine = {t.id: t for t in self.lab.tasks.values() if t.node == self.bmc.name}
        if path == f"{base}/Tasks":
            return _json(self.collection(path, [f"{path}/{i}" for i in mine]))
        kind, _, tid = path.removeprefix(base + "/").partition("/")
        task = mine.get(tid)
        if task is None or kind not in ("Tasks", "TaskMonitors"):
            return _error(404, "ResourceMissingAtURI", f"{path} does not exist.")
        with self.lab.lock:
            doc = task.resource()
        if kind == "TaskMonitors" and task.state in ("New", "Running"):
            return _json(doc, 202, {"Location": path, "Retry-After": "1"})
        return _json(doc)
