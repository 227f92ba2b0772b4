"""KubePort on the official ``kubernetes`` client: cordon, drain by eviction, GPU node state, Jobs.

Why the official client and not ``kubernetes_asyncio``: it is the one the Kubernetes project
maintains and releases with each API version, kubeconfig handling (exec plugins, contexts, CA
files) is identical to kubectl's, and dcops makes few, small calls, so running each one in a
private thread pool costs nothing. Every call carries ``_request_timeout`` (urllib3 connect/read
timeouts) and an outer ``asyncio.wait_for``; urllib3 retries only connection errors, never reads,
so a hung API server costs one ``request_timeout``, not four. Every failure becomes a one-line
:class:`BackendError` naming the API server and the cause.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..config.kube import KubeSection
from ..errors import BackendError, BackendUnavailable, ConfigError
from . import kube_convert as conv
from .kube_drain import EvictionBlocked, EvictionGone, drain_node
from .models import DrainReport, KubeJob, KubeNode, KubePod, OperatorPolicy

T = TypeVar("T")
# The Job controller labels its pods with controller-uid (legacy, still set in 1.32) and
# batch.kubernetes.io/controller-uid (1.27+); selecting on the legacy key works on every version
# and keeps ``jobs()`` from listing every pod of a large cluster.
JOB_POD_SELECTOR = "controller-uid"


def _status_message(exc: Any) -> tuple[str, dict[str, Any]]:
    """The ``message`` of the API's Status body, and the body itself (empty if not JSON)."""
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    return (body.get("message") or exc.reason or f"HTTP {exc.status}"), body


def _short_transport_reason(exc: BaseException) -> str:
    """'connection refused', 'timed out', 'TLS: ...' out of urllib3's nested exceptions."""
    reason: Any = getattr(exc, "reason", None) or exc
    text = str(reason)
    low = text.lower()
    if "refused" in low:
        return "connection refused"
    if "timed out" in low or "timeout" in low:
        return "timed out"
    if "certificate" in low or "ssl" in low:
        return "TLS error: " + text.split("] ")[-1].split("(_ssl")[0].strip().rstrip(" (")
    if "name or service not known" in low or "nodename nor servname" in low:
        return "unknown host"
    return text.splitlines()[0][:200]


async def _all(*calls: Awaitable[Any]) -> list[Any]:
    """Like ``asyncio.gather``, but when several calls fail the error raised is the first one's in
    argument order (not whichever finished first), so the same outage gives the same message."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return list(results)


# the operators' cluster-scoped custom resources: (group, version, plural, kind)
POLICY_RESOURCES = (
    ("nvidia.com", "v1", "clusterpolicies", "ClusterPolicy"),
    ("mellanox.com", "v1alpha1", "nicclusterpolicies", "NicClusterPolicy"),
)


class KubeAdapter:
    """One Kubernetes cluster, reached through a kubeconfig (loaded lazily on first use)."""

    def __init__(self, section: KubeSection, *, max_threads: int = 8) -> None:
        self.section = section
        self._client: Any = None
        self._host = "the Kubernetes API server"
        self._lock = asyncio.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="dcops-kube")

    # ------------------------------------------------------------------ plumbing

    def _kubeconfig_path(self) -> str:
        return self.section.kubeconfig or os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")

    def _load(self) -> Any:
        import yaml
        from kubernetes import client, config
        from urllib3.util.retry import Retry

        path = self._kubeconfig_path()
        missing = [p for p in path.split(os.pathsep) if p and not Path(p).expanduser().exists()]
        if missing and len(missing) == len(path.split(os.pathsep)):
            raise ConfigError(f"[kube] kubeconfig {path} does not exist (set [kube] kubeconfig or $KUBECONFIG)")
        cfg = client.Configuration()
        try:
            config.load_kube_config(
                config_file=path, context=self.section.context, client_configuration=cfg, persist_config=False
            )
        except (config.ConfigException, yaml.YAMLError, OSError, ValueError, TypeError) as exc:
            detail = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise ConfigError(f"[kube] cannot load kubeconfig {path}: {detail}") from None
        cfg.retries = Retry(total=2, connect=2, read=0, redirect=0, status=0, other=0, backoff_factor=0.1)
        self._host = cfg.host
        api = client.ApiClient(cfg)
        return _Apis(client=api, core=client.CoreV1Api(api), batch=client.BatchV1Api(api), models=client)

    async def _api(self) -> _Apis:
        """The API objects, built on first use in the pool: importing the client (~1 s) and loading
        the kubeconfig (which may run a credential plugin) must not block the event loop."""
        async with self._lock:
            if self._client is None:
                loop = asyncio.get_running_loop()
                limit = self.section.request_timeout
                try:  # an exec credential plugin (e.g. a cloud CLI) runs here and may hang
                    self._client = await asyncio.wait_for(loop.run_in_executor(self._pool, self._load), limit)
                except TimeoutError:
                    raise BackendUnavailable(
                        f"kube: loading kubeconfig {self._kubeconfig_path()} took longer "
                        f"than {limit:.0f}s (a hung credential plugin?)"
                    ) from None
        return self._client

    async def _call(
        self, what: str, fn: Callable[..., T], *args: Any, timeout: float | None = None, **kwargs: Any
    ) -> T:
        """Run one client call in the pool, bounded, with its errors turned into BackendErrors."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        t = timeout or self.section.request_timeout
        kwargs["_request_timeout"] = (min(5.0, t), t)
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs)), t * 1.5 + 1
            )
        except ApiException as exc:
            raise self._api_error(what, exc) from None
        except (HTTPError, OSError) as exc:
            raise BackendUnavailable(
                f"kube: API server {self._host} unreachable ({what}): {_short_transport_reason(exc)}"
            ) from None
        except TimeoutError:
            raise BackendUnavailable(f"kube: API server {self._host} did not answer {what} within {t:.0f}s") from None
        except (ValueError, TypeError) as exc:  # the client's pydantic models rejected the reply
            first = str(exc).splitlines()[0][:160]
            raise BackendError(f"kube: {what}: unexpected reply from {self._host}: {first}") from None

    def _api_error(self, what: str, exc: Any) -> BackendError:
        message, body = _status_message(exc)
        if exc.status == 404:
            return KubeNotFound(f"kube: {what}: {message}")
        if exc.status in (401, 403):
            return BackendError(
                f"kube: {what}: {'unauthorized' if exc.status == 401 else 'forbidden'} by {self._host}: {message}"
            )
        if exc.status == 429 and what.startswith("evict "):
            causes = (body.get("details") or {}).get("causes") or []
            return EvictionBlocked(_blocked_reason(message, causes), retry=True)
        return BackendError(f"kube: {what}: HTTP {exc.status}: {message}")

    async def _core(self) -> Any:
        return (await self._api()).core

    async def _batch(self) -> Any:
        return (await self._api()).batch

    async def aclose(self) -> None:
        if self._client is not None:
            apis, self._client = self._client, None
            await asyncio.get_running_loop().run_in_executor(self._pool, apis.client.close)
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ nodes and pods

    async def nodes(self) -> list[KubeNode]:
        core = await self._core()
        listed = await self._call("list nodes", core.list_node)
        op_lists = await _all(
            *(self._call(f"list pods in {ns}", core.list_namespaced_pod, ns) for ns in self.section.operator_namespaces)
        )
        per_node: dict[str, list[Any]] = {}
        for pods in op_lists:
            for pod in pods.items:
                if pod.spec and pod.spec.node_name:
                    per_node.setdefault(pod.spec.node_name, []).append(pod)
        return [conv.to_node(n, per_node.get(n.metadata.name, [])) for n in listed.items]

    async def operator_policies(self) -> list[OperatorPolicy]:
        """The GPU Operator's ClusterPolicy and the Network Operator's NicClusterPolicy objects; an
        operator whose CRD is not installed (404) has none."""
        apis = await self._api()
        custom = apis.models.CustomObjectsApi(apis.client)
        out: list[OperatorPolicy] = []
        for group, version, plural, kind in POLICY_RESOURCES:
            try:
                listed = await self._call(
                    f"list {plural}.{group}", custom.list_cluster_custom_object, group, version, plural
                )
            except KubeNotFound:
                continue
            out += [conv.to_policy(kind, item) for item in (listed or {}).get("items") or []]
        return out

    async def node_raw(self, node: str) -> Any:
        core = await self._core()
        return await self._call(f"get node {node}", core.read_node, node)

    async def _set_unschedulable(self, node: str, value: bool) -> None:
        core = await self._core()
        verb = "cordon" if value else "uncordon"
        await self._call(f"{verb} node {node}", core.patch_node, node, {"spec": {"unschedulable": value}})

    async def cordon(self, node: str) -> None:
        await self._set_unschedulable(node, True)

    async def uncordon(self, node: str) -> None:
        await self._set_unschedulable(node, False)

    async def pods_raw(self, node: str) -> list[Any]:
        core = await self._core()
        listed = await self._call(
            f"list pods on {node}", core.list_pod_for_all_namespaces, field_selector=f"spec.nodeName={node}"
        )
        return list(listed.items)

    async def pods(self, node: str | None = None) -> list[KubePod]:
        if node is not None:
            return [conv.to_pod(p) for p in await self.pods_raw(node)]
        core = await self._core()
        listed = await self._call("list pods", core.list_pod_for_all_namespaces)
        return [conv.to_pod(p) for p in listed.items]

    async def pod_uid(self, namespace: str, name: str) -> str | None:
        """The pod's uid, or None once it is gone."""
        core = await self._core()
        try:
            pod = await self._call(f"get pod {namespace}/{name}", core.read_namespaced_pod, name, namespace)
        except KubeNotFound:
            return None
        return pod.metadata.uid

    async def evict(self, namespace: str, name: str, *, grace_period: int | None, dry_run: bool) -> None:
        """POST the Eviction subresource. Raises EvictionBlocked (429: a PDB or API throttling
        said no; retry later) or EvictionGone (the pod no longer exists)."""
        apis = await self._api()
        client, core = apis.models, apis.core
        body = client.V1Eviction(
            metadata=client.V1ObjectMeta(name=name, namespace=namespace),
            delete_options=client.V1DeleteOptions(
                grace_period_seconds=grace_period, dry_run=["All"] if dry_run else None
            ),
        )
        try:
            await self._call(
                f"evict pod {namespace}/{name}", core.create_namespaced_pod_eviction, name, namespace, body
            )
        except KubeNotFound:
            raise EvictionGone(f"{namespace}/{name}") from None

    async def drain(
        self, node: str, *, timeout: float, grace_period: int | None = None, dry_run: bool = False
    ) -> DrainReport:
        return await drain_node(self, node, timeout=timeout, grace_period=grace_period, dry_run=dry_run)

    # ------------------------------------------------------------------ jobs

    async def jobs(self, namespace: str | None = None) -> list[KubeJob]:
        batch, core = await self._batch(), await self._core()
        if namespace:
            listed, pods = await _all(
                self._call(f"list jobs in {namespace}", batch.list_namespaced_job, namespace),
                self._call(
                    f"list pods in {namespace}", core.list_namespaced_pod, namespace, label_selector=JOB_POD_SELECTOR
                ),
            )
        else:
            listed, pods = await _all(
                self._call("list jobs", batch.list_job_for_all_namespaces),
                self._call("list pods", core.list_pod_for_all_namespaces, label_selector=JOB_POD_SELECTOR),
            )
        nodes_of: dict[str, set[str]] = {}
        for pod in pods.items:
            ref = conv.controller(pod)
            if (
                ref is not None
                and ref.kind == "Job"
                and pod.spec
                and pod.spec.node_name
                and pod.metadata.deletion_timestamp is None
                and conv.pod_status_text(pod) not in ("Succeeded", "Failed")
            ):
                nodes_of.setdefault(ref.uid, set()).add(pod.spec.node_name)
        return [conv.to_job(j, tuple(sorted(nodes_of.get(j.metadata.uid, ())))) for j in listed.items]

    async def restart_job(self, namespace: str, name: str) -> None:
        """Delete the Job (and its pods) and create it again from its own spec.

        Kubernetes has no restart verb for Jobs; this is ``kubectl replace --force`` done safely:
        the fresh manifest is validated by a server-side dry-run create *before* the old Job is
        deleted, the delete is pinned to the old uid, and the create waits until the old Job is gone."""
        apis = await self._api()
        client, batch = apis.models, apis.batch
        what = f"job {namespace}/{name}"
        old = await self._call(f"get {what}", batch.read_namespaced_job, name, namespace)
        manifest = conv.fresh_job_manifest(apis.client.sanitize_for_serialization(old))
        probe = json.loads(json.dumps(manifest))
        probe["metadata"].pop("name", None)
        probe["metadata"]["generateName"] = f"{name}-"
        await self._call(f"validate new {what}", batch.create_namespaced_job, namespace, probe, dry_run="All")
        await self._call(
            f"delete {what}",
            batch.delete_namespaced_job,
            name,
            namespace,
            body=client.V1DeleteOptions(
                propagation_policy="Background", preconditions=client.V1Preconditions(uid=old.metadata.uid)
            ),
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.section.request_timeout
        while True:
            try:
                current = await self._call(f"get {what}", batch.read_namespaced_job, name, namespace)
            except KubeNotFound:
                break
            if current.metadata.uid != old.metadata.uid:
                raise BackendError(f"kube: {what} was recreated by someone else while restarting it")
            if loop.time() > deadline:
                raise BackendError(
                    f"kube: {what} is still being deleted after "
                    f"{self.section.request_timeout:.0f}s; not recreated yet, try again"
                )
            await asyncio.sleep(0.2)
        try:
            await self._call(f"create {what}", batch.create_namespaced_job, namespace, manifest)
        except BackendError as exc:
            raise BackendError(
                f"kube: {what} was deleted but could not be created again: {str(exc).removeprefix('kube: ')}"
            ) from None


@dataclass(frozen=True)
class _Apis:
    client: Any  # kubernetes.client.ApiClient
    core: Any  # CoreV1Api
    batch: Any  # BatchV1Api
    models: Any  # the kubernetes.client module (V1Eviction, V1DeleteOptions, ...)


class KubeNotFound(BackendError):
    """The API server answered 404 for the object named in the message."""


def _blocked_reason(message: str, causes: list[dict[str, Any]]) -> str:
    for cause in causes:
        if cause.get("reason") == "DisruptionBudget" and cause.get("message"):
            return f"PodDisruptionBudget: {cause['message']}"
    return f"API server refused eviction (429): {message}"
