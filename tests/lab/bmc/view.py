"""One lab BMC: WSGI middleware around sushy-tools' Flask app that shows it one system, as a real
BMC would, and adds what the fake driver lacks (see docs/redfish.md): sessions, FirmwareInventory,
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
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from .profiles import PROFILES, Profile
from .state import COMPONENTS, NAMES, Bmc, LabState

WsgiApp = Callable[..., Any]
OPEN_PATHS = ("/redfish", "/redfish/v1", "/redfish/v1/odata", "/redfish/v1/$metadata")
EXPAND = re.compile(r"^\.?(\(\$levels=1\))?$|^\*$")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


def _error(status: int, mid: str, text: str, headers: dict[str, str] | None = None) -> Response:
    return _json(
        {
            "error": {
                "code": f"Base.1.8.{mid}",
                "message": text,
                "@Message.ExtendedInfo": [{"MessageId": f"Base.1.8.{mid}", "Message": text, "Severity": "Critical"}],
            }
        },
        status,
        headers,
    )


class BmcView:
    """The WSGI app one lab BMC port serves."""

    def __init__(self, lab: LabState, bmc: Bmc, inner: WsgiApp) -> None:
        self.lab, self.bmc, self.inner = lab, bmc, inner
        self.uuid_system = f"/redfish/v1/Systems/{bmc.uuid}"

    @property
    def prof(self) -> Profile:
        return PROFILES[self.bmc.profile]

    @property
    def system(self) -> str:
        return f"/redfish/v1/Systems/{self.prof.system_id or self.bmc.uuid}"

    @property
    def manager(self) -> str:
        return f"/redfish/v1/Managers/{self.prof.manager_id or self.bmc.uuid}"

    def _alias_in(self, path: str, environ: dict[str, Any]) -> str:
        """A profile's system/manager ids (DGX, BMC, System.Embedded.1 ...) are sushy's uuid inside."""
        for alias, real in ((self.system, self.uuid_system), (self.manager, f"/redfish/v1/Managers/{self.bmc.uuid}")):
            if (
                alias != real
                and (path == alias or path.startswith(alias + "/"))
                and not path.startswith(alias + "/SD")
                and path != alias + "/ResetActionInfo"
            ):
                path = real + path[len(alias) :]
                environ["PATH_INFO"] = path
        return path

    def _alias_out(self, resp: Response) -> Response:
        if self.bmc.profile == "generic" or resp.mimetype != "application/json":
            return resp
        text = resp.get_data(as_text=True)
        text = text.replace(self.uuid_system, self.system).replace(
            f"/redfish/v1/Managers/{self.bmc.uuid}", self.manager
        )
        resp.set_data(text)
        return resp

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
            return _error(
                503, "ServiceTemporarilyUnavailable", "The BMC is busy; retry later.", {"Retry-After": str(retry_after)}
            )
        req = Request(environ)
        body = req.get_data(cache=True)
        path = req.path.rstrip("/") or "/"
        if path == "/redfish/v1/SessionService/Sessions" and req.method == "POST":
            if bmc.faults.sessions_full:  # as OpenBMC answers when its session table is full
                return _error(
                    503,
                    "SessionLimitExceeded",
                    "The session establishment failed due to the number of simultaneous sessions exceeding the limit.",
                    {"Retry-After": "1"},
                )
            return self.login(req)
        if path not in OPEN_PATHS and not self.authorised(req):
            return _error(
                401, "NoValidSession", "No valid session or credentials.", {"WWW-Authenticate": 'Basic realm="lab-bmc"'}
            )
        try:
            path = self._alias_in(path, environ)
            environ["wsgi.input"] = io.BytesIO(body)  # the body was read once already
            req = Request(environ)
            return self._alias_out(self.route(req, path, environ, body))
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
        # some BMCs (the HGX profile here) answer an absolute URL in Location
        location = req.host_url.rstrip("/") + uri if self.bmc.profile == "hgx" else uri
        return _json(
            {"@odata.id": uri, "@odata.type": "#Session.v1_3_0.Session", "Id": s.id, "UserName": s.user},
            201,
            {"X-Auth-Token": s.token, "Location": location},
        )

    def route(self, req: Request, path: str, environ: dict[str, Any], body: bytes) -> Response:
        m = req.method
        if path in ("/redfish/v1", "/redfish"):
            return self.patched(environ, body, self.patch_root)
        if path == "/redfish/v1/SessionService":
            return _json(
                {
                    "@odata.id": path,
                    "Id": "SessionService",
                    "ServiceEnabled": True,
                    "SessionTimeout": int(self.lab.session_timeout),
                    "Sessions": {"@odata.id": f"{path}/Sessions"},
                }
            )
        if path.startswith("/redfish/v1/SessionService/Sessions"):
            return self.sessions(req, path)
        prof = self.prof
        if path == "/redfish/v1/Systems":
            return _json(
                self.collection(
                    path, [self.uuid_system] + (["/redfish/v1/Systems/HGX_Baseboard_0"] if prof.baseboard else [])
                )
            )
        if path == "/redfish/v1/Managers":
            return _json(
                self.collection(
                    path,
                    [f"/redfish/v1/Managers/{self.bmc.uuid}"]
                    + (["/redfish/v1/Managers/HGX_BMC_0"] if prof.baseboard else []),
                )
            )
        if prof.baseboard and path in ("/redfish/v1/Systems/HGX_Baseboard_0", "/redfish/v1/Managers/HGX_BMC_0"):
            return _json(self.baseboard_doc(path))
        if prof.settings_object and path == f"{self.system}/SD":
            return self.settings(req, body)
        if prof.reset_info and path == f"{self.system}/ResetActionInfo":
            return _json(
                {
                    "@odata.id": path,
                    "Id": "ResetActionInfo",
                    "Parameters": [
                        {
                            "Name": "ResetType",
                            "Required": True,
                            "DataType": "String",
                            "AllowableValues": list(prof.reset_info),
                        }
                    ],
                }
            )
        if path.startswith(("/redfish/v1/Systems/", "/redfish/v1/Managers/")):
            ident = path.split("/")[4]
            if ident not in (self.bmc.uuid, self.bmc.name):
                return _error(404, "ResourceMissingAtURI", f"{path} does not exist on this BMC.")
            if path == self.uuid_system and m == "PATCH":
                if prof.settings_object and "Boot" in json.loads(body or b"{}"):
                    return _error(
                        400, "PropertyNotWritable", f"Boot is set through the settings object {self.system}/SD."
                    )
                return self.patch_boot(environ, body)
            if path == f"{self.uuid_system}/Actions/ComputerSystem.Reset" and m == "POST":
                rt = json.loads(body or b"{}").get("ResetType", "")
                if prof.reset_info and rt not in prof.reset_info:
                    return _error(400, "ActionParameterValueNotInList", f"ResetType {rt} is not supported.")
                return self.reset(environ, body)
            if path == self.uuid_system and m == "GET":
                return self.patched(environ, body, self.patch_system)
            if path == f"/redfish/v1/Managers/{self.bmc.uuid}" and m == "GET":
                return self.patched(environ, body, self.patch_manager)
            return Response.from_app(self.inner, self.forward(environ, body))
        if path.startswith("/redfish/v1/UpdateService"):
            if self.bmc.faults.no_update and (
                path == "/redfish/v1/UpdateService" or "/Actions/" in path or path == self.prof.multipart
            ):
                if path == "/redfish/v1/UpdateService":  # an inventory to read, but no way to install
                    return _json(
                        {
                            "@odata.id": path,
                            "Id": "UpdateService",
                            "ServiceEnabled": False,
                            "FirmwareInventory": {"@odata.id": f"{path}/FirmwareInventory"},
                        }
                    )
                return _error(404, "ResourceMissingAtURI", f"{path} does not exist.")
            return self.update_service(req, path)
        if path.startswith("/redfish/v1/TaskService"):
            return self.task_service(req, path)
        return Response.from_app(self.inner, self.forward(environ, body))

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def collection(path: str, members: list[str], expanded: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {
            "@odata.id": path,
            "Name": path.rsplit("/", 1)[-1],
            "Members@odata.count": len(members),
            "Members": expanded if expanded is not None else [{"@odata.id": u} for u in members],
        }

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
        doc["ProtocolFeaturesSupported"] = {
            "ExpandQuery": {"ExpandAll": False, "Levels": True, "MaxLevels": 1, "Links": False, "NoLinks": True}
        }

    def patch_system(self, doc: dict[str, Any]) -> None:
        prof = self.prof
        with self.lab.lock:
            doc["BiosVersion"] = (
                self.bmc.versions.get("BIOS")
                or self.bmc.versions.get("HostBIOS_0")
                or self.bmc.versions.get("BIOS.Setup.1-1")
                or self.bmc.versions.get("System ROM", "")
            )
            doc["Name"] = self.bmc.name
            doc.setdefault("Boot", {}).update(
                {
                    "BootSourceOverrideTarget": self.bmc.override_target,
                    "BootSourceOverrideEnabled": self.bmc.override_enabled,
                }
            )
            doc["Boot"]["BootSourceOverrideEnabled@Redfish.AllowableValues"] = ["Disabled", "Once", "Continuous"]
        if prof.name != "generic":
            doc["Id"], doc["Model"] = prof.system_id, prof.model
        if prof.reset_info:
            action = doc.setdefault("Actions", {}).setdefault("#ComputerSystem.Reset", {})
            action.pop("ResetType@Redfish.AllowableValues", None)
            action["@Redfish.ActionInfo"] = f"{self.system}/ResetActionInfo"
        if prof.settings_object:
            doc["@Redfish.Settings"] = {
                "@odata.type": "#Settings.v1_3_3.Settings",
                "SettingsObject": {"@odata.id": f"{self.system}/SD"},
            }
            doc["Links"] = {"ManagedBy": [{"@odata.id": self.manager}]}

    def baseboard_doc(self, path: str) -> dict[str, Any]:
        kind = "Systems" if "/Systems/" in path else "Managers"
        return {
            "@odata.id": path,
            "Id": path.rsplit("/", 1)[-1],
            "Name": path.rsplit("/", 1)[-1],
            "SystemType": "Physical",
            "PowerState": "On",
            "Links": {"ManagedBy": [{"@odata.id": "/redfish/v1/Managers/HGX_BMC_0"}]}
            if kind == "Systems"
            else {"FirmwareVersion": self.bmc.versions.get("HGX_FW_BMC_0", "")},
        }

    def settings(self, req: Request, body: bytes) -> Response:
        """The @Redfish.Settings object: GET with an ETag; PATCH only with If-Match on that ETag."""
        bmc = self.bmc
        etag = f'"{bmc.etag}"'
        if req.method == "GET":
            with self.lab.lock:
                doc = {
                    "@odata.id": f"{self.system}/SD",
                    "@odata.etag": etag,
                    "Boot": {
                        "BootSourceOverrideTarget": bmc.override_target,
                        "BootSourceOverrideEnabled": bmc.override_enabled,
                    },
                }
            return _json(doc, headers={"ETag": etag})
        if req.method != "PATCH":
            return _error(405, "ActionNotSupported", f"{req.method} is not supported here.")
        if req.headers.get("If-Match") != etag:
            return _error(412, "PreconditionFailed", "If-Match is missing or does not match the ETag.")
        boot = json.loads(body or b"{}").get("Boot") or {}
        with self.lab.lock:
            if "BootSourceOverrideTarget" in boot:
                bmc.override_target = boot["BootSourceOverrideTarget"]
            if "BootSourceOverrideEnabled" in boot:
                bmc.override_enabled = boot["BootSourceOverrideEnabled"]
            bmc.etag += 1
        return Response(status=204)

    def patch_manager(self, doc: dict[str, Any]) -> None:
        v = self.bmc.versions
        doc["FirmwareVersion"] = v.get("BMC") or v.get("HostBMC_0") or v.get("iDRAC.Embedded.1-1") or v.get("iLO 5", "")
        if self.prof.manager_id:
            doc["Id"] = self.prof.manager_id

    # ------------------------------------------------------------------ boot and power
    def patch_boot(self, environ: dict[str, Any], body: bytes) -> Response:
        boot = json.loads(body or b"{}").get("Boot") or {}
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
        return {
            "@odata.id": uri,
            "@odata.type": "#SoftwareInventory.v1_10_0.SoftwareInventory",
            "Id": cid,
            "Name": NAMES[cid],
            "Version": version,
            "Updateable": True,
            "Status": {"State": "Enabled", "Health": "OK"},
        }

    def profile_member(self, mid: str, part: Any, version: str) -> dict[str, Any]:
        doc = {
            "@odata.id": f"/redfish/v1/UpdateService/FirmwareInventory/{mid}",
            "@odata.type": "#SoftwareInventory.v1_4_0.SoftwareInventory",
            "Id": mid,
            "Name": part.name,
            "Version": version,
            "Updateable": part.updateable,
            "Status": {"State": "Enabled", "Health": "OK"},
        }
        ctx = dict(part.extra).get("ctx")
        if ctx:
            doc["Oem"] = {"Hpe": {"DeviceContext": ctx}}
        return doc

    def profile_update_service(self, req: Request, path: str) -> Response:
        prof, bmc = self.prof, self.bmc
        base = "/redfish/v1/UpdateService"
        inv = f"{base}/FirmwareInventory"
        if path == base:
            doc: dict[str, Any] = {
                "@odata.id": base,
                "Id": "UpdateService",
                "ServiceEnabled": True,
                "FirmwareInventory": {"@odata.id": inv},
                "Actions": {},
            }
            if prof.simple_update:
                doc["Actions"]["#UpdateService.SimpleUpdate"] = {"target": prof.simple_update}
            if prof.multipart:
                doc["MultipartHttpPushUri"] = prof.multipart
            return _json(doc)
        with self.lab.lock:
            members = prof.members(dict(bmc.versions), dict(bmc.previous))
        if path == inv and req.method == "GET":
            expand = req.args.get("$expand")
            if expand is not None and prof.expand_fails:
                return _error(500, "InternalError", "The request failed due to an internal service error.")
            uris = [f"{inv}/{mid}" for mid, *_ in members]
            if expand is None:
                return _json(self.collection(inv, uris))
            return _json(self.collection(inv, uris, [self.profile_member(mid, pt, v) for mid, pt, v, _ in members]))
        if path.startswith(inv + "/") and req.method == "GET":
            mid = path.rsplit("/", 1)[-1]
            for m, pt, v, _ in members:
                if m == mid:
                    return _json(self.profile_member(m, pt, v))
            return _error(404, "ResourceMissingAtURI", f"{path} does not exist.")
        if prof.simple_update and path == prof.simple_update and req.method == "POST":
            data = json.loads(req.get_data() or b"{}")
            image = data.get("ImageURI")
            if not isinstance(image, str) or not image.startswith(("http://", "https://")):
                return _error(400, "PropertyValueFormatError", "ImageURI must be an http(s) URL.")
            task = self.lab.start_update(bmc, image, list(data.get("Targets") or []))
            return _json(task.resource(), 202, {"Location": f"/redfish/v1/TaskService/TaskMonitors/{task.id}"})
        if prof.multipart and path == prof.multipart and req.method == "POST":
            raw = req.form.get("UpdateParameters")
            if raw is None and "UpdateParameters" in req.files:
                raw = req.files["UpdateParameters"].read().decode()
            upload = req.files.get("UpdateFile")
            if raw is None or upload is None:
                return _error(400, "ActionParameterMissing", "UpdateParameters and UpdateFile parts are required.")
            params = json.loads(raw)
            task = self.lab.start_update(
                bmc, upload.filename or "upload.fwpkg", list(params.get("Targets") or []), content=upload.read()
            )
            # like OpenBMC: 202 with the task monitor in Location; no body
            return Response(status=202, headers={"Location": f"/redfish/v1/TaskService/TaskMonitors/{task.id}"})
        return _error(
            405 if "/Actions/" in path or path == prof.multipart else 404,
            "ResourceMissingAtURI",
            f"{req.method} {path} is not supported.",
        )

    def update_service(self, req: Request, path: str) -> Response:
        base = "/redfish/v1/UpdateService"
        if self.bmc.profile != "generic":
            return self.profile_update_service(req, path)
        if path == base:
            return _json(
                {
                    "@odata.id": base,
                    "@odata.type": "#UpdateService.v1_11_0.UpdateService",
                    "Id": "UpdateService",
                    "ServiceEnabled": True,
                    "FirmwareInventory": {"@odata.id": f"{base}/FirmwareInventory"},
                    "Actions": {
                        "#UpdateService.SimpleUpdate": {
                            "target": f"{base}/Actions/UpdateService.SimpleUpdate",
                            "TransferProtocol@Redfish.AllowableValues": ["HTTP", "HTTPS"],
                        }
                    },
                }
            )
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
        return _error(
            405 if path.startswith(base + "/Actions") else 404,
            "ResourceMissingAtURI",
            f"{req.method} {path} is not supported.",
        )

    # ------------------------------------------------------------------ tasks
    def task_service(self, req: Request, path: str) -> Response:
        base = "/redfish/v1/TaskService"
        if path == base:
            return _json(
                {
                    "@odata.id": base,
                    "Id": "TaskService",
                    "ServiceEnabled": True,
                    "Tasks": {"@odata.id": f"{base}/Tasks"},
                }
            )
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
            if self.prof.empty_monitor:  # DSP0266 allows a monitor to say only "202: not yet"
                return Response(status=202, headers={"Location": path, "Retry-After": "1"})
            return _json(doc, 202, {"Location": path, "Retry-After": "1"})
        return _json(doc)
