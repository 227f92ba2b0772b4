"""The lab Kubernetes API server: discovery and REST over HTTP on loopback, backed by ``Cluster``.

Serves the legacy discovery documents (kubectl 1.32 asks for aggregated discovery first and falls
back when the reply is plain ``application/json``), list/get/create/replace/patch/delete for the
kinds in ``resources.py``, the ``pods/eviction`` subresource, ``/status`` subresources, and
server-side Tables for ``kubectl get``. Every API call needs ``Authorization: Bearer <token>``
(except /version and health checks, which real clusters give anonymous users too). The ``/_lab``
endpoints let tests seed a world and read it back.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from .cluster import ApiError, Cluster
from .patch import PatchError, apply_patch
from .resources import BY_PATH, GROUPS, RESOURCES, Resource
from .selectors import SelectorError, field_selector, label_selector
from .tables import to_table

log = logging.getLogger("dcops.lab.kubeapi")

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-dcops-lab",
    "gitCommit": "lab",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}
PUBLIC = {"/version", "/healthz", "/livez", "/readyz"}


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def _error(err: ApiError) -> web.Response:
    return _json(err.status(), err.code)


def _resource_list(group: str, version: str) -> dict[str, Any]:
    gv = f"{group}/{version}" if group else version
    out = []
    for r in RESOURCES:
        if (r.group, r.version) != (group, version):
            continue
        out.append(
            {
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": list(r.verbs),
                "shortNames": list(r.short_names),
            }
        )
        for sub in r.subresources:
            entry = {
                "name": f"{r.plural}/{sub}",
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": ["get", "patch", "update"],
            }
            if sub == "eviction":
                entry.update(group="policy", version="v1", kind="Eviction", verbs=["create"])
            out.append(entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}


def _group_list() -> dict[str, Any]:
    groups = []
    for name, versions in sorted(GROUPS.items()):
        gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        groups.append({"name": name, "versions": gvs, "preferredVersion": gvs[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


class KubeApiServer:
    def __init__(self, token: str) -> None:
        self.token = token
        self.cluster = Cluster()
        self.faults: list[dict[str, Any]] = []  # injected failures, see _lab_faults

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth], client_max_size=8 * 1024 * 1024)
        app.router.add_get("/version", lambda r: _json(VERSION))
        for path in ("/healthz", "/livez", "/readyz"):
            app.router.add_get(path, lambda r: web.Response(text="ok"))
        app.router.add_get("/api", self._api_versions)
        app.router.add_get("/apis", lambda r: _json(_group_list()))
        app.router.add_post("/_lab/reset", self._lab_reset)
        app.router.add_get("/_lab/objects", self._lab_objects)
        app.router.add_post("/_lab/faults", self._lab_faults)
        app.router.add_route("*", "/api/{version}{tail:.*}", self._core)
        app.router.add_route("*", "/apis/{group}/{version}{tail:.*}", self._grouped)
        app.router.add_get("/apis/{group}", self._group)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler):
        if request.path not in PUBLIC and request.headers.get("Authorization") != f"Bearer {self.token}":
            resp = _error(ApiError(401, "Unauthorized", "Unauthorized"))
        elif (fault := self._take_fault(request)) is not None:
            resp = _error(ApiError(fault["code"], fault.get("reason", "InternalError"), fault["message"]))
        else:
            try:
                resp = await handler(request)
            except ApiError as err:
                resp = _error(err)
            except web.HTTPException:
                raise
            except Exception as exc:  # a lab bug: answer like an API server would, keep the traceback
                log.exception("internal error on %s %s", request.method, request.path_qs)
                resp = _error(ApiError(500, "InternalError", f"lab API server error: {type(exc).__name__}: {exc}"))
        log.info("%s %s -> %s", request.method, request.path_qs, resp.status)
        return resp

    async def _api_versions(self, request: web.Request) -> web.Response:
        host = request.host
        return _json(
            {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
            }
        )

    async def _group(self, request: web.Request) -> web.Response:
        group = request.match_info["group"]
        if group not in GROUPS:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in GROUPS[group]]
        return _json(
            {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": gvs, "preferredVersion": gvs[0]}
        )

    # ------------------------------------------------------------------ lab control

    async def _lab_reset(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.cluster.reset(body.get("objects") or [], body.get("settings"))
        self.faults = []
        return _json({"objects": len(self.cluster.objects)})

    async def _lab_faults(self, request: web.Request) -> web.Response:
        """Fail the next ``times`` requests matching ``method`` and ``path`` (exact) with ``code`` and
        ``message``; ``skip_dry_run`` lets server-side dry runs through. An empty list clears them."""
        body = await request.json()
        self.faults = [dict(f, times=int(f.get("times", 1))) for f in body.get("faults") or []]
        return _json({"faults": len(self.faults)})

    def _take_fault(self, request: web.Request) -> dict[str, Any] | None:
        for fault in self.faults:
            if (
                fault["times"] > 0
                and fault["method"] == request.method
                and fault["path"] == request.path
                and not (fault.get("skip_dry_run") and request.query.get("dryRun"))
            ):
                fault["times"] -= 1
                return fault
        return None

    async def _lab_objects(self, request: web.Request) -> web.Response:
        items = [self.cluster.view(plural, obj) for (plural, _, _), obj in sorted(self.cluster.objects.items())]
        return _json({"items": items})

    # ------------------------------------------------------------------ REST

    async def _core(self, request: web.Request) -> web.Response:
        return await self._dispatch(request, "", request.match_info["version"], request.match_info["tail"])

    async def _grouped(self, request: web.Request) -> web.Response:
        return await self._dispatch(
            request, request.match_info["group"], request.match_info["version"], request.match_info["tail"]
        )

    async def _dispatch(self, request: web.Request, group: str, version: str, tail: str) -> web.Response:
        if (group and version not in GROUPS.get(group, [])) or (not group and version != "v1"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        parts = [p for p in tail.split("/") if p]
        if not parts:
            if request.method != "GET":
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method")
            return _json(_resource_list(group, version))
        ns = ""
        if parts[0] == "namespaces" and len(parts) >= 3:
            ns, parts = parts[1], parts[2:]
        plural, name, sub = parts[0], (parts[1] if len(parts) > 1 else ""), (parts[2] if len(parts) > 2 else "")
        res = BY_PATH.get((group, version, plural))
        if res is None or len(parts) > 3 or (sub and sub not in res.subresources):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if res.namespaced != bool(ns) and name:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return await self._verb(request, res, ns, name, sub)

    async def _verb(self, request: web.Request, res: Resource, ns: str, name: str, sub: str) -> web.Response:
        c, m, q = self.cluster, request.method, request.query
        if not name:
            if m == "GET":
                return self._list(request, res, ns if res.namespaced else "")
            if m == "POST":
                obj = await self._body(request)
                dry = bool(q.get("dryRun"))
                return _json(c.create(res.plural, ns, obj, dry_run=dry), 201)
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if sub == "eviction":
            if m != "POST" or res.plural != "pods":
                raise ApiError(405, "MethodNotAllowed", "eviction accepts only POST")
            return _json(c.evict(ns, name, await self._body(request)), 201)
        if m == "GET":
            obj = c.get(res.plural, ns, name)
            if "as=Table" in request.headers.get("Accept", ""):
                return _json(to_table(res.plural, [obj], obj["metadata"]["resourceVersion"]))
            return _json(obj)
        dry = bool(q.get("dryRun"))
        if m == "PUT":
            return _json(c.replace(res.plural, ns, name, await self._body(request), sub, dry_run=dry))
        if m == "PATCH":
            body = await self._body(request, allow_list=True)
            ctype = request.headers.get("Content-Type", "")

            def patched(current: dict[str, Any]) -> dict[str, Any]:
                try:
                    return apply_patch(current, ctype, body)
                except PatchError as exc:
                    code = 415 if "unsupported" in str(exc) else 422
                    raise ApiError(code, "UnsupportedMediaType" if code == 415 else "Invalid", str(exc)) from None

            return _json(c.update_with(res.plural, ns, name, patched, sub, dry_run=dry))
        if m == "DELETE":
            options = await self._body(request, required=False)
            if "gracePeriodSeconds" in q:
                options.setdefault("gracePeriodSeconds", int(q["gracePeriodSeconds"]))
            if "propagationPolicy" in q:
                options.setdefault("propagationPolicy", q["propagationPolicy"])
            if "dryRun" in q:
                options.setdefault("dryRun", [q["dryRun"]])
            return _json(c.delete(res.plural, ns, name, options))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    @staticmethod
    async def _body(request: web.Request, required: bool = True, allow_list: bool = False) -> Any:
        raw = await request.read()
        if not raw:
            if required:
                raise ApiError(400, "BadRequest", "the request body is empty")
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise ApiError(
                400, "BadRequest", "the request body is not JSON (this lab server does not speak protobuf or YAML)"
            ) from None
        if not isinstance(body, dict) and not (allow_list and isinstance(body, list)):
            raise ApiError(400, "BadRequest", "the request body must be a JSON object")
        return body

    def _list(self, request: web.Request, res: Resource, ns: str) -> web.Response:
        q = request.query
        if q.get("watch") in ("1", "true"):
            raise ApiError(405, "MethodNotAllowed", "watch is not supported by the dcops lab API server")
        try:
            keep_f, keep_l = field_selector(q.get("fieldSelector")), label_selector(q.get("labelSelector"))
        except SelectorError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from None
        items = [o for o in self.cluster.list(res.plural, ns or None) if keep_f(o) and keep_l(o)]
        rv = str(self.cluster._rv)
        if "as=Table" in request.headers.get("Accept", ""):
            return _json(to_table(res.plural, items, rv))
        for item in items:
            item.pop("apiVersion", None)
            item.pop("kind", None)
        return _json(
            {
                "kind": f"{res.kind}List",
                "apiVersion": res.api_version,
                "metadata": {"resourceVersion": rv},
                "items": items,
            }
        )
