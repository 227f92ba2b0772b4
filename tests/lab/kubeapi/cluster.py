"""The lab API server's object store and the controllers that make it behave like a cluster.

Objects are plain dicts in the API's JSON shape, keyed by (plural, namespace, name). After every
change the controllers reconcile synchronously (ReplicaSets and DaemonSets keep their pods, Jobs
create pods and track them, a tiny scheduler places pending pods on schedulable nodes), and
timers on the running event loop play the kubelet: pods start after ``pod_start_delay`` seconds,
stop when their grace period ends (or after ``kubelet_stop_seconds``, as containers that honour
SIGTERM do), and Job pods annotated ``lab.dcops.io/exit-after`` finish with
``lab.dcops.io/exit-code``. Hand-written: there is no embeddable kube-apiserver for Python.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from . import pdb as pdbmath  # noqa: T100 - PodDisruptionBudget arithmetic, not the debugger
from .resources import BY_KIND, Resource
from .selectors import match_labels

Obj = dict[str, Any]
Key = tuple[str, str, str]  # plural, namespace ("" when cluster-scoped), name

EXIT_AFTER = "lab.dcops.io/exit-after"
EXIT_CODE = "lab.dcops.io/exit-code"
CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def ts(when: datetime | None = None) -> str:
    return (when or now()).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    """Becomes a ``Status`` response with this code, reason and message."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> Obj:
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def not_found(res: Resource, name: str) -> ApiError:
    group = f".{res.group}" if res.group else ""
    return ApiError(
        404,
        "NotFound",
        f'{res.plural}{group} "{name}" not found',
        {"name": name, "group": res.group, "kind": res.plural},
    )


@dataclass
class Settings:
    pod_start_delay: float = 0.2  # Pending -> Running/Ready for pods controllers create
    kubelet_stop_seconds: float = 0.5  # containers exit this long after SIGTERM (capped by grace)

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Settings:
        s = cls()
        for k, v in (raw or {}).items():
            if not hasattr(s, k):
                raise ApiError(400, "BadRequest", f"unknown lab setting {k!r}")
            setattr(s, k, float(v))
        return s


def controller_of(obj: Obj) -> Obj | None:
    return next((o for o in obj["metadata"].get("ownerReferences") or [] if o.get("controller")), None)


def terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


class Cluster:
    def __init__(self) -> None:
        self.objects: dict[Key, Obj] = {}
        self.settings = Settings()
        self._rv = 1000
        self._timers: list[asyncio.TimerHandle] = []
        self._job_lost: dict[str, int] = {}  # job uid -> pods deleted while running (count as failed)

    # ------------------------------------------------------------------ bookkeeping

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _later(self, delay: float, fn, *args) -> None:
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(max(0.0, delay), fn, *args))

    def reset(self, objects: Iterable[Obj], settings: dict[str, Any] | None = None) -> None:
        for t in self._timers:
            t.cancel()
        self._timers.clear()
        self.objects.clear()
        self._job_lost.clear()
        self.settings = Settings.from_dict(settings)
        objects = list(objects)
        namespaces = {o.get("metadata", {}).get("namespace") for o in objects} - {None, ""}
        for ns in sorted(namespaces | {"default", "kube-system"}):
            self._store(
                "namespaces",
                "",
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": ns},
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                },
            )
        for obj in objects:
            res = BY_KIND.get(obj.get("kind", ""))
            if res is None:
                raise ApiError(400, "BadRequest", f"lab cannot seed kind {obj.get('kind')!r}")
            if res.plural == "namespaces":
                continue
            self._store(
                res.plural,
                obj["metadata"].get("namespace", "") if res.namespaced else "",
                copy.deepcopy(obj),
                seeded=True,
            )
        self.reconcile()
        for pod in self._pods():  # a seeded world starts settled: controller-made pods already run
            if pod["spec"].get("nodeName") and pod["status"].get("phase") == "Pending":
                self._start_pod(("pods", pod["metadata"]["namespace"], pod["metadata"]["name"]), pod["metadata"]["uid"])

    def _store(self, plural: str, ns: str, obj: Obj, *, seeded: bool = False) -> Obj:
        res = self._res(plural)
        meta = obj.setdefault("metadata", {})
        meta["name"] = meta.get("name") or f"{meta.get('generateName', 'obj-')}{secrets.token_hex(3)[:5]}"
        if res.namespaced:
            meta["namespace"] = ns
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", ts())
        meta.setdefault("generation", 1)
        meta["resourceVersion"] = self._next_rv()
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        if plural == "pods":
            self._default_pod(obj, seeded)
        if plural == "jobs":
            self._default_job(obj)
        self.objects[(plural, ns, meta["name"])] = obj
        return obj

    @staticmethod
    def _res(plural: str) -> Resource:
        return next(r for r in BY_KIND.values() if r.plural == plural)

    # ------------------------------------------------------------------ generic verbs

    def list(self, plural: str, ns: str | None = None) -> list[Obj]:
        items = [o for (p, n, _), o in self.objects.items() if p == plural and (ns is None or n == ns)]
        return [
            self.view(plural, o)
            for o in sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        ]

    def get(self, plural: str, ns: str, name: str) -> Obj:
        obj = self.objects.get((plural, ns, name))
        if obj is None:
            raise not_found(self._res(plural), name)
        return self.view(plural, obj)

    def _raw(self, plural: str, ns: str, name: str) -> Obj:
        obj = self.objects.get((plural, ns, name))
        if obj is None:
            raise not_found(self._res(plural), name)
        return obj

    def view(self, plural: str, obj: Obj) -> Obj:
        """A copy with the status fields other controllers would have written by now."""
        out = copy.deepcopy(obj)
        if plural == "poddisruptionbudgets":
            b = pdbmath.budget(obj, self._pods(obj["metadata"]["namespace"]), self._replicas_of)
            out["status"] = pdbmath.status(obj, b)
        elif plural == "daemonsets":
            owned = self._owned_pods(obj)
            out["status"] = {
                "desiredNumberScheduled": len(self._ds_nodes(obj)),
                "currentNumberScheduled": len(owned),
                "numberReady": sum(1 for p in owned if pdbmath.pod_ready(p)),
                "numberMisscheduled": 0,
                "observedGeneration": obj["metadata"]["generation"],
            }
        return out

    def ensure_namespace(self, ns: str) -> None:
        if ("namespaces", "", ns) not in self.objects:
            raise ApiError(404, "NotFound", f'namespaces "{ns}" not found', {"name": ns, "kind": "namespaces"})

    def create(self, plural: str, ns: str, obj: Obj, *, dry_run: bool = False) -> Obj:
        res = self._res(plural)
        if res.namespaced:
            self.ensure_namespace(ns)
            if obj.get("metadata", {}).get("namespace") not in (None, "", ns):
                raise ApiError(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
        name = (obj.get("metadata") or {}).get("name")
        if name and (plural, ns, name) in self.objects:
            group = f".{res.group}" if res.group else ""
            raise ApiError(
                409,
                "AlreadyExists",
                f'{plural}{group} "{name}" already exists',
                {"name": name, "group": res.group, "kind": plural},
            )
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        for server_field in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation"):
            meta.pop(server_field, None)
        if plural == "jobs":
            self._validate_new_job(obj)
        if dry_run:
            return obj
        stored = self._store(plural, ns, obj)
        self.reconcile()
        return self.view(plural, stored)

    def replace(
        self, plural: str, ns: str, name: str, obj: Obj, subresource: str = "", *, dry_run: bool = False
    ) -> Obj:
        current = self._raw(plural, ns, name)
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {plural} "{name}": the object '
                "has been modified; please apply your changes to the latest version "
                "and try again",
            )
        return self._write(plural, ns, name, current, obj, subresource, dry_run)

    def update_with(self, plural: str, ns: str, name: str, fn, subresource: str = "", *, dry_run: bool = False) -> Obj:
        """PATCH: ``fn(current_copy) -> new object``."""
        current = self._raw(plural, ns, name)
        return self._write(plural, ns, name, current, fn(copy.deepcopy(current)), subresource, dry_run)

    def _write(
        self, plural: str, ns: str, name: str, current: Obj, new: Obj, subresource: str, dry_run: bool = False
    ) -> Obj:
        new = copy.deepcopy(new)
        if subresource == "status":
            merged = copy.deepcopy(current)
            merged["status"] = new.get("status") or {}
            new = merged
        else:
            new["status"] = current.get("status", {})
        meta = new.setdefault("metadata", {})
        if meta.get("name", name) != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        for fixed in ("uid", "creationTimestamp", "namespace", "deletionTimestamp", "ownerReferences"):
            if fixed in current["metadata"]:
                meta[fixed] = current["metadata"][fixed]
        meta["name"] = name
        if new.get("spec") != current.get("spec"):
            meta["generation"] = current["metadata"].get("generation", 1) + 1
        meta["resourceVersion"] = self._next_rv()
        res = self._res(plural)
        new["apiVersion"], new["kind"] = res.api_version, res.kind
        if dry_run:  # validated and computed, never stored
            meta["resourceVersion"] = current["metadata"]["resourceVersion"]
            return self.view(plural, new)
        self.objects[(plural, ns, name)] = new
        self.reconcile()
        return self.view(plural, new)

    def delete(self, plural: str, ns: str, name: str, options: Obj) -> Obj:
        obj = self._raw(plural, ns, name)
        pre_uid = (options.get("preconditions") or {}).get("uid")
        if pre_uid and pre_uid != obj["metadata"]["uid"]:
            raise ApiError(
                409,
                "Conflict",
                f"Precondition failed: UID in precondition: {pre_uid}, UID in object meta: {obj['metadata']['uid']}",
            )
        if options.get("dryRun"):
            return self.view(plural, obj)
        if plural == "pods":
            return self._delete_pod(obj, options.get("gracePeriodSeconds"))
        policy = options.get("propagationPolicy") or ("Orphan" if plural in ("jobs",) else "Background")
        dependents = [p for p in self._pods(ns) if (controller_of(p) or {}).get("uid") == obj["metadata"]["uid"]]
        if policy == "Orphan":
            for pod in dependents:
                pod["metadata"]["ownerReferences"] = [
                    o for o in pod["metadata"].get("ownerReferences") or [] if o.get("uid") != obj["metadata"]["uid"]
                ]
        if policy == "Foreground" and dependents:
            obj["metadata"]["deletionTimestamp"] = ts()
            obj["metadata"].setdefault("finalizers", []).append("foregroundDeletion")
            obj["metadata"]["resourceVersion"] = self._next_rv()
        else:
            del self.objects[(plural, ns, name)]
        if policy != "Orphan":
            for pod in dependents:
                self._delete_pod(pod, None, from_gc=True)
        self.reconcile()
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "group": self._res(plural).group, "kind": plural, "uid": obj["metadata"]["uid"]},
        }

    # ------------------------------------------------------------------ pods

    def _pods(self, ns: str | None = None) -> list[Obj]:
        return [o for (p, n, _), o in self.objects.items() if p == "pods" and (ns is None or n == ns)]

    def _default_pod(self, pod: Obj, seeded: bool) -> None:
        spec = pod.setdefault("spec", {})
        spec.setdefault("terminationGracePeriodSeconds", 30)
        spec.setdefault("containers", [{"name": "main", "image": "busybox"}])
        if "status" not in pod or not pod["status"]:
            pod["status"] = {
                "phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "True" if spec.get("nodeName") else "False"}],
            }

    def _delete_pod(self, pod: Obj, grace: int | None, *, from_gc: bool = False) -> Obj:
        meta = pod["metadata"]
        key = ("pods", meta["namespace"], meta["name"])
        if grace is None:
            grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
        if terminal(pod) or not pod["spec"].get("nodeName"):
            grace = 0
        if grace <= 0:
            self._remove_pod(key, meta["uid"])
            return pod
        if meta.get("deletionTimestamp") and grace >= meta.get("deletionGracePeriodSeconds", grace):
            return self.view("pods", pod)
        meta["deletionTimestamp"] = ts(now() + timedelta(seconds=grace))
        meta["deletionGracePeriodSeconds"] = grace
        meta["resourceVersion"] = self._next_rv()
        node = self.objects.get(("nodes", "", pod["spec"]["nodeName"]))
        if node is not None and self._node_ready(node):  # a NotReady node's kubelet stops nothing
            self._later(min(grace, self.settings.kubelet_stop_seconds), self._remove_pod, key, meta["uid"])
        if not from_gc:
            self.reconcile()
        return self.view("pods", pod)

    def _remove_pod(self, key: Key, uid: str) -> None:
        pod = self.objects.get(key)
        if pod is None or pod["metadata"]["uid"] != uid:
            return
        del self.objects[key]
        owner = controller_of(pod)
        if owner and owner.get("kind") == "Job" and not terminal(pod):
            self._job_lost[owner["uid"]] = self._job_lost.get(owner["uid"], 0) + 1
        self.reconcile()

    def evict(self, ns: str, name: str, eviction: Obj) -> Obj:
        """The Eviction subresource: delete the pod unless that breaks its PodDisruptionBudget."""
        pod = self._raw("pods", ns, name)
        meta_name = (eviction.get("metadata") or {}).get("name")
        if meta_name and meta_name != name:
            raise ApiError(400, "BadRequest", "name in URL does not match name in Eviction object")
        options = eviction.get("deleteOptions") or {}
        dry_run = bool(options.get("dryRun"))
        ok: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
        if terminal(pod) or pod["metadata"].get("deletionTimestamp"):
            if not dry_run:
                self._delete_pod(pod, options.get("gracePeriodSeconds"))
            return ok
        labels = pod["metadata"].get("labels") or {}
        pdbs = [
            o
            for o in self.list("poddisruptionbudgets", ns)
            if match_labels((o.get("spec") or {}).get("selector"), labels)
        ]
        if len(pdbs) > 1:
            raise ApiError(
                500,
                "InternalError",
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            )
        if pdbs:
            budget, st = pdbs[0], pdbs[0]["status"]
            # An unready pod may go when the budget is met (IfHealthyBudget, the default) or always
            # (AlwaysAllow); a ready one only while disruptionsAllowed > 0.
            policy = (budget.get("spec") or {}).get("unhealthyPodEvictionPolicy", "IfHealthyBudget")
            may_skip = not pdbmath.pod_ready(pod) and (
                policy == "AlwaysAllow" or st["currentHealthy"] >= st["desiredHealthy"]
            )
            if not may_skip and st["disruptionsAllowed"] <= 0:
                raise ApiError(
                    429,
                    "TooManyRequests",
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                    {
                        "causes": [
                            {
                                "reason": "DisruptionBudget",
                                "message": f"The disruption budget {budget['metadata']['name']} needs "
                                f"{st['desiredHealthy']} healthy pods and has "
                                f"{st['currentHealthy']} currently",
                            }
                        ]
                    },
                )
        if not dry_run:
            self._delete_pod(pod, options.get("gracePeriodSeconds"))
        return ok

    # ------------------------------------------------------------------ controllers

    def _replicas_of(self, pod: Obj) -> int | None:
        owner = controller_of(pod)
        if owner is None:
            return None
        res = BY_KIND.get(owner.get("kind", ""))
        if res is None or owner["kind"] != "ReplicaSet":
            return None
        rs = self.objects.get((res.plural, pod["metadata"]["namespace"], owner["name"]))
        return int((rs or {}).get("spec", {}).get("replicas", 1)) if rs else None

    def _owned_pods(self, owner: Obj) -> list[Obj]:
        uid = owner["metadata"]["uid"]
        return [p for p in self._pods(owner["metadata"].get("namespace")) if (controller_of(p) or {}).get("uid") == uid]

    def _nodes(self) -> list[Obj]:
        return [o for (p, _, _), o in self.objects.items() if p == "nodes"]

    @staticmethod
    def _node_ready(node: Obj) -> bool:
        return any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (node.get("status") or {}).get("conditions") or []
        )

    def _ds_nodes(self, ds: Obj) -> list[Obj]:
        selector = ((ds.get("spec") or {}).get("template") or {}).get("spec", {}).get("nodeSelector") or {}
        return [
            n
            for n in self._nodes()
            if all((n["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
        ]

    def _new_pod(self, owner: Obj, node: str | None) -> Obj:
        template = copy.deepcopy((owner.get("spec") or {}).get("template") or {})
        meta = template.get("metadata") or {}
        name = f"{owner['metadata']['name']}-{secrets.token_hex(4)[:5]}"
        pod = {
            "metadata": {
                "name": name,
                "namespace": owner["metadata"]["namespace"],
                "labels": meta.get("labels") or {},
                "annotations": meta.get("annotations") or {},
                "ownerReferences": [
                    {
                        "apiVersion": owner["apiVersion"],
                        "kind": owner["kind"],
                        "name": owner["metadata"]["name"],
                        "uid": owner["metadata"]["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": template.get("spec") or {},
        }
        if node:
            pod["spec"]["nodeName"] = node
        stored = self._store("pods", owner["metadata"]["namespace"], pod)
        if node:
            self._later(
                self.settings.pod_start_delay,
                self._start_pod,
                ("pods", stored["metadata"]["namespace"], name),
                stored["metadata"]["uid"],
            )
        return stored

    def _start_pod(self, key: Key, uid: str) -> None:
        pod = self.objects.get(key)
        if pod is None or pod["metadata"]["uid"] != uid or pod["metadata"].get("deletionTimestamp"):
            return
        if (pod.get("status") or {}).get("phase") != "Pending":
            return
        if (pod.get("status") or {}).get("initContainerStatuses"):
            return  # seeded stuck in its init containers (Init:0/1): the lab never finishes them
        started = ts()
        containers = pod["spec"].get("containers") or []
        pod["status"] = {
            "phase": "Running",
            "startTime": started,
            "podIP": "10.244.0." + str(1 + self._rv % 250),
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": started}
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "containerStatuses": [
                {
                    "name": c.get("name", "main"),
                    "ready": True,
                    "restartCount": 0,
                    "image": c.get("image", ""),
                    "started": True,
                    "imageID": f"{c.get('image', '')}@sha256:lab",
                    "state": {"running": {"startedAt": started}},
                }
                for c in containers
            ],
        }
        pod["metadata"]["resourceVersion"] = self._next_rv()
        exit_after = (pod["metadata"].get("annotations") or {}).get(EXIT_AFTER)
        if exit_after is not None:
            self._later(float(exit_after), self._finish_pod, key, uid)
        self.reconcile()

    def _finish_pod(self, key: Key, uid: str) -> None:
        pod = self.objects.get(key)
        if pod is None or pod["metadata"]["uid"] != uid or pod["metadata"].get("deletionTimestamp"):
            return
        code = int((pod["metadata"].get("annotations") or {}).get(EXIT_CODE, "0"))
        pod["status"]["phase"] = "Succeeded" if code == 0 else "Failed"
        for cond in pod["status"]["conditions"]:
            if cond["type"] in ("Ready", "ContainersReady"):
                cond["status"] = "False"
        for cs in pod["status"].get("containerStatuses") or []:
            cs["ready"] = False
            cs["state"] = {
                "terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error", "finishedAt": ts()}
            }
        pod["metadata"]["resourceVersion"] = self._next_rv()
        self.reconcile()

    def _schedulable(self, pod: Obj) -> list[Obj]:
        selector = pod["spec"].get("nodeSelector") or {}
        nodes = [
            n
            for n in self._nodes()
            if self._node_ready(n)
            and not (n.get("spec") or {}).get("unschedulable")
            and all((n["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
        ]
        load = {n["metadata"]["name"]: 0 for n in nodes}
        for p in self._pods():
            if p["spec"].get("nodeName") in load:
                load[p["spec"]["nodeName"]] += 1
        return sorted(nodes, key=lambda n: (load[n["metadata"]["name"]], n["metadata"]["name"]))

    def reconcile(self) -> None:
        """One pass of every controller; cheap enough to run after each change at lab scale."""
        for (plural, _, _), obj in list(self.objects.items()):
            if obj["metadata"].get("deletionTimestamp"):
                if plural != "pods" and not self._owned_pods(obj):
                    self.objects.pop((plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]), None)
                continue
            if plural == "replicasets":
                self._reconcile_rs(obj)
            elif plural == "daemonsets":
                self._reconcile_ds(obj)
            elif plural == "jobs":
                self._reconcile_job(obj)
        for pod in self._pods():
            if not pod["spec"].get("nodeName") and not pod["metadata"].get("deletionTimestamp"):
                candidates = self._schedulable(pod)
                if candidates:
                    pod["spec"]["nodeName"] = candidates[0]["metadata"]["name"]
                    pod["metadata"]["resourceVersion"] = self._next_rv()
                    self._later(
                        self.settings.pod_start_delay,
                        self._start_pod,
                        ("pods", pod["metadata"]["namespace"], pod["metadata"]["name"]),
                        pod["metadata"]["uid"],
                    )

    def _reconcile_rs(self, rs: Obj) -> None:
        alive = [p for p in self._owned_pods(rs) if not p["metadata"].get("deletionTimestamp") and not terminal(p)]
        want = int(rs.get("spec", {}).get("replicas", 1))
        for _ in range(want - len(alive)):
            self._new_pod(rs, None)
        ready = sum(1 for p in alive if pdbmath.pod_ready(p))
        rs["status"] = {
            "replicas": len(alive),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"]["generation"],
        }

    def _reconcile_ds(self, ds: Obj) -> None:
        have = {p["spec"].get("nodeName") for p in self._owned_pods(ds) if not p["metadata"].get("deletionTimestamp")}
        for node in self._ds_nodes(ds):
            if node["metadata"]["name"] not in have:
                self._new_pod(ds, node["metadata"]["name"])

    # ------------------------------------------------------------------ jobs

    def _validate_new_job(self, job: Obj) -> None:
        spec = job.get("spec") or {}
        if spec.get("selector") and not spec.get("manualSelector"):
            raise ApiError(
                422,
                "Invalid",
                f'Job.batch "{job["metadata"].get("name")}" is invalid: '
                "spec.selector: Invalid value: `selector` will be auto-generated",
                {
                    "name": job["metadata"].get("name"),
                    "group": "batch",
                    "kind": "Job",
                    "causes": [
                        {
                            "reason": "FieldValueInvalid",
                            "field": "spec.selector",
                            "message": "Invalid value: `selector` will be auto-generated",
                        }
                    ],
                },
            )
        if not (spec.get("template") or {}).get("spec", {}).get("containers"):
            raise ApiError(
                422,
                "Invalid",
                f'Job.batch "{job["metadata"].get("name")}" is invalid: spec.template.spec.containers: Required value',
            )

    def _default_job(self, job: Obj) -> None:
        spec = job.setdefault("spec", {})
        uid, name = job["metadata"]["uid"], job["metadata"]["name"]
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("backoffLimit", 6)
        if not spec.get("manualSelector"):
            spec["selector"] = {"matchLabels": {CONTROLLER_UID: uid}}
        tmeta = spec.setdefault("template", {}).setdefault("metadata", {})
        tmeta.setdefault("labels", {}).update(
            {CONTROLLER_UID: uid, "controller-uid": uid, JOB_NAME: name, "job-name": name}
        )
        spec["template"].setdefault("spec", {}).setdefault("restartPolicy", "Never")
        job.setdefault("status", {})

    def _reconcile_job(self, job: Obj) -> None:
        spec, status = job["spec"], job.setdefault("status", {})
        conditions = status.get("conditions") or []
        if any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in conditions):
            return
        if spec.get("suspend"):
            return
        pods = self._owned_pods(job)
        active = [p for p in pods if not terminal(p) and not p["metadata"].get("deletionTimestamp")]
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        failed += self._job_lost.get(job["metadata"]["uid"], 0)
        status.setdefault("startTime", ts())
        status.update(
            active=len(active), succeeded=succeeded, failed=failed, ready=sum(1 for p in active if pdbmath.pod_ready(p))
        )
        if succeeded >= int(spec.get("completions", 1)):
            status["completionTime"] = ts()
            status["conditions"] = [{"type": "Complete", "status": "True", "lastTransitionTime": ts()}]
            return
        if failed > int(spec.get("backoffLimit", 6)):
            for p in active:
                self._delete_pod(p, None, from_gc=True)
            status["active"] = 0
            status["conditions"] = [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                    "lastTransitionTime": ts(),
                }
            ]
            return
        want = min(int(spec.get("parallelism", 1)), int(spec.get("completions", 1)) - succeeded)
        for _ in range(want - len(active)):
            self._new_pod(job, None)
        status["active"] = max(len(active), want)
