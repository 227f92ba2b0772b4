"""Redfish adapter: one BMC per node, async, over httpx.

Why httpx and not DMTF's ``redfish.aio.AsyncRedfishClient`` (measured in
``tests/bench/bench_redfish_inventory.py``, which runs both over the same 64 lab BMCs): the DMTF
client logs in with two sequential round trips (service root, then POST Sessions) where the session
collection's URI is fixed by DSP0266, has no Retry-After handling and no per-BMC bound, and would
bring aiohttp as a second HTTP stack next to the httpx the other adapters use. The protocol part
we need is small (sessions, JSON GET/POST/PATCH, task polling), so it is written here on httpx.
The protocol and vendor (HGX/DGX, iDRAC, iLO) facts it relies on: docs/redfish.md.

Behaviour:
- sessions (X-Auth-Token), created lazily per BMC; a 401 on a request re-logs in once and retries;
  a failed login is a clear error (``wrong user name or password``) and nothing else is sent;
- 503/429 with Retry-After (seconds or HTTP date) are retried after that delay, a bounded number
  of times; transport errors on idempotent requests are retried once;
- at most ``max_parallel`` requests in flight across the fleet and ``max_per_bmc`` per BMC;
- every request is bounded by ``timeout``; TLS is verified unless the site turns it off, with an
  optional CA bundle;
- the password comes from :mod:`.credentials` and is held as a ``SecretStr``; it never appears in
  an error, a log line or an event;
- ``auth = "basic"`` sends HTTP Basic credentials on every request instead (some BMCs and NVIDIA's
  own update tool work that way); a full session table is one clear error, not minutes of retries;
- nothing is assumed about resource ids: the host system is found among several Systems (a DGX
  lists ``DGX`` and ``HGX_Baseboard_0``), reset types come from the system's AllowableValues or
  ResetActionInfo, the boot override goes to the system's ``@Redfish.Settings`` object with
  ``If-Match``, and the update path (SimpleUpdate target, MultipartHttpPushUri) from UpdateService.
"""

from __future__ import annotations

import asyncio
import email.utils
import json as _json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import sniffio  # noqa: F401 - httpcore imports it per request; missing, each import walks sys.path (pyproject)
from pydantic import SecretStr

from ..errors import BackendError, BackendUnavailable, UsageError
from .models import FirmwareComponent, ManagerInfo, SystemInfo, TaskStatus, UpdatePath
from .ports import InventoryPort
from .redfish_identity import identify

if TYPE_CHECKING:
    from ..config.redfish import RedfishSection

log = logging.getLogger(__name__)

SESSIONS = "/redfish/v1/SessionService/Sessions"
INVENTORY = "/redfish/v1/UpdateService/FirmwareInventory"
UPDATE_SERVICE = "/redfish/v1/UpdateService"
EXPAND = {"$expand": ".($levels=1)"}
RESET_TYPES = (
    "On",
    "ForceOff",
    "GracefulShutdown",
    "GracefulRestart",
    "ForceRestart",
    "PowerCycle",
    "Nmi",
    "PushPowerButton",
    "ForceOn",
)
BOOT_TARGETS = ("None", "Pxe", "Hdd", "Cd", "Usb", "BiosSetup", "UefiHttp", "UefiShell", "UefiTarget")
LOGOUT_WAIT = 1.0
RESET_HINTS = ("ResetRequired", "AwaitToActivate", "RebootRequired", "ResetNeeded")
FAILURE_HINTS = (
    "ApplyFailed",
    "VerificationFailed",
    "TransferFailed",
    "ActivateFailed",
    "InstallFailed",
    "UpdateFailed",
    "NoTargetsDetermined",
)
SESSION_LIMIT = ("SessionLimitExceeded", "RAC0218", "MaximumSessions")
BASEBOARD_HINTS = ("baseboard", "hgx_", "hmc")  # Systems that are a GPU baseboard, not the host

PasswordSource = Callable[[], Awaitable[SecretStr]]


class AuthFailed(BackendError):
    """The BMC refused the credentials; retrying cannot help."""


@dataclass
class _Bmc:
    node: str
    base: str  # scheme://host:port
    system: str | None = None  # /redfish/v1/Systems/<id>, discovered unless configured
    token: str | None = field(default=None, repr=False)
    session_uri: str | None = None
    update: UpdatePath | None = None
    root: dict[str, Any] | None = None  # the service root: its links are fixed for the BMC's life
    reset_action: tuple[str, tuple[str, ...]] | None = None  # the system's Reset target and its ResetTypes
    expand: bool = True  # the BMC accepts $expand on collections (until it says otherwise)
    sem: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    login_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def split_endpoint(url: str) -> tuple[str, str | None]:
    """``https://h:443`` -> (base, None); ``https://h/redfish/v1/Systems/1`` -> (base, system path)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"BMC address {url!r} is not an http(s) URL")
    base = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    return base, (path if path.startswith("/redfish/v1/Systems/") else None)


def _redfish_message(resp: httpx.Response) -> str:
    """The BMC's own one-line explanation from a Redfish error body, if it gave one."""
    try:
        err = resp.json().get("error", {})
    except (ValueError, AttributeError):
        return resp.reason_phrase or ""
    infos = err.get("@Message.ExtendedInfo") or []
    text = (infos[0].get("Message") if infos and isinstance(infos[0], dict) else None) or err.get("message") or ""
    return " ".join(str(text).split())[:200]


def _retry_after(resp: httpx.Response, default: float) -> float:
    value = resp.headers.get("Retry-After")
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time()) if when else default


class RedfishAdapter:
    """:class:`~dcops.actions.backends.ports.RedfishPort` over httpx."""

    def __init__(
        self,
        endpoints: Mapping[str, str],
        *,
        username: str,
        password: PasswordSource,
        inventory: InventoryPort | None = None,
        verify_tls: bool = True,
        ca_bundle: str | None = None,
        timeout: float = 30.0,
        max_parallel: int = 64,
        max_per_bmc: int = 2,
        max_retries: int = 4,
        max_retry_after: float = 60.0,
        poll_interval: float = 1.0,
        auth: str = "session",
    ) -> None:
        if auth not in ("session", "basic"):
            raise UsageError(f"[redfish] auth = {auth!r} is not one of session, basic")
        self.auth = auth
        self._endpoints = dict(endpoints)  # explicit [redfish] bmcs win over the inventory's bmc field
        self._warned_http: set[str] = set()
        self._warnings: list[str] = []
        for node, url in self._endpoints.items():
            self._warn_plain_http(node, url)
        self._inventory = inventory
        self._bmcs: dict[str, _Bmc] = {}
        self.max_per_bmc = max_per_bmc
        self.username = username
        self._password_source = password
        self._password: SecretStr | None = None
        self._password_lock = asyncio.Lock()
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after
        self.poll_interval = poll_interval
        self._fleet = asyncio.Semaphore(max_parallel)
        if not verify_tls:
            log.warning("redfish: TLS certificate verification is OFF ([redfish] verify_tls = false)")
            verify: Any = False
        elif ca_bundle:
            try:
                verify = ssl.create_default_context(cafile=ca_bundle)
            except (OSError, ssl.SSLError) as exc:
                raise BackendError(f"redfish: cannot load ca_bundle {ca_bundle}: {exc}") from None
        else:
            verify = True
        self._verify = verify
        self._client = httpx.AsyncClient(
            verify=verify,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,  # never carry a token elsewhere
            limits=httpx.Limits(max_connections=max_parallel, max_keepalive_connections=max_parallel),
            headers={"Accept": "application/json", "OData-Version": "4.0"},
        )

    # ------------------------------------------------------------------ plumbing
    def _warn_plain_http(self, node: str, url: str) -> None:
        """A plain http:// BMC sends the password (or session token) in clear text: say so, once per BMC."""
        if url.startswith("http://") and url not in self._warned_http:
            self._warned_http.add(url)
            text = (
                f"redfish: the BMC of {node} is plain http ({url}): credentials cross the network "
                f"unencrypted; use https://"
            )
            log.warning("%s", text)
            self._warnings.append(text)

    def take_warnings(self) -> list[str]:
        """Warnings for the person running the action (plain-http BMCs), each handed out once."""
        out, self._warnings = self._warnings, []
        return out

    async def _bmc(self, node: str) -> _Bmc:
        bmc = self._bmcs.get(node)
        if bmc is None:
            url = self._endpoints.get(node)
            if url is None and self._inventory is not None:
                url = next((r.bmc for r in await self._inventory.nodes() if r.name == node and r.bmc), None)
            if url is None:
                raise BackendError(
                    f"redfish: no BMC address configured for node {node} "
                    f"(add it to [redfish] bmcs or a [[nodes]] bmc template)"
                )
            base, system = split_endpoint(url)
            self._warn_plain_http(node, url)
            bmc = self._bmcs.setdefault(
                node, _Bmc(node=node, base=base, system=system, sem=asyncio.Semaphore(self.max_per_bmc))
            )
        return bmc

    async def _secret(self) -> SecretStr:
        async with self._password_lock:
            if self._password is None:
                self._password = await self._password_source()
            return self._password

    def _fail(self, bmc: _Bmc, what: str, *, unreachable: bool = False) -> BackendError:
        """The error for one BMC; ``unreachable`` (no answer in time, no connection) exits 6, not 1."""
        return (BackendUnavailable if unreachable else BackendError)(f"redfish: {bmc.node} ({bmc.base}): {what}")

    async def _send(
        self,
        bmc: _Bmc,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
        files: Any = None,
    ) -> httpx.Response:
        """One HTTP exchange under the fleet and per-BMC bounds; transport errors become BackendError."""
        hdrs = dict(headers or {})
        basic: httpx.BasicAuth | None = None
        if auth and self.auth == "basic":
            basic = httpx.BasicAuth(self.username, (await self._secret()).get_secret_value())
        elif auth and bmc.token:
            hdrs["X-Auth-Token"] = bmc.token
        async with self._fleet, bmc.sem:
            try:
                return await self._client.request(
                    method,
                    bmc.base + path,
                    json=json,
                    params=params,
                    headers=hdrs,
                    files=files,
                    auth=basic if basic is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.TimeoutException:
                raise self._fail(
                    bmc, f"no answer within {self.timeout:g} s ({method} {path})", unreachable=True
                ) from None
            except httpx.ConnectError as exc:
                text = str(exc)
                if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
                    raise self._fail(
                        bmc,
                        "TLS certificate verification failed; set [redfish] ca_bundle to the "
                        "CA that signed the BMC certificates",
                    ) from None
                raise self._fail(bmc, f"cannot connect: {text or type(exc).__name__}", unreachable=True) from None
            except httpx.HTTPError as exc:
                raise self._fail(bmc, f"{type(exc).__name__}: {exc}".splitlines()[0]) from None

    async def _exchange(
        self,
        bmc: _Bmc,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
        files: Any = None,
    ) -> httpx.Response:
        """:meth:`_send`, waiting out 503/429 as Retry-After says and retrying an idempotent request
        once after a transport error; a bounded number of times either way. A full session table is
        not "busy": waiting does not free a slot, so it is answered at once."""
        attempt = 0
        while True:
            try:
                resp = await self._send(
                    bmc, method, path, json=json, params=params, auth=auth, headers=headers, files=files
                )
            except BackendError:
                if method != "GET" or attempt >= 1:
                    raise
                attempt += 1
                continue
            if resp.status_code not in (429, 503) or attempt >= self.max_retries or _session_limit(resp):
                return resp
            attempt += 1
            delay = min(_retry_after(resp, 2.0**attempt), self.max_retry_after)
            log.info("redfish: %s answered %s; retrying in %.1f s", bmc.node, resp.status_code, delay)
            await asyncio.sleep(delay)

    async def _login(self, bmc: _Bmc, stale: str | None) -> None:
        async with bmc.login_lock:
            if bmc.token is not None and bmc.token != stale:
                return  # another request already logged in again
            bmc.token = None
            password = await self._secret()
            resp = await self._exchange(
                bmc,
                "POST",
                SESSIONS,
                auth=False,
                json={"UserName": self.username, "Password": password.get_secret_value()},
            )
            if _session_limit(resp):
                raise self._fail(
                    bmc,
                    "login refused: the BMC's session table is full "
                    f"({_redfish_message(resp) or 'session limit exceeded'}); end stale sessions "
                    'on the BMC, or set [redfish] auth = "basic"',
                )
            if resp.status_code in (401, 403):
                raise AuthFailed(
                    f"redfish: {bmc.node} ({bmc.base}): login refused: wrong user name or password "
                    f"for user {self.username!r}"
                )
            token = resp.headers.get("X-Auth-Token")
            if resp.status_code >= 300 or not token:
                raise self._fail(bmc, f"login failed: HTTP {resp.status_code} {_redfish_message(resp)}".strip())
            bmc.token = token
            location = resp.headers.get("Location") or (resp.json() or {}).get("@odata.id")
            bmc.session_uri = _path_of(location) if location else None  # may be an absolute URL

    async def request(
        self,
        node: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        ok: Sequence[int] = (),
        headers: Mapping[str, str] | None = None,
        files: Any = None,
    ) -> httpx.Response:
        """A Redfish request with session, re-login on 401, Retry-After and error translation.

        Statuses in ``ok`` are returned to the caller as-is even when they are errors."""
        bmc = await self._bmc(node)
        path = _path_of(path)
        if self.auth == "basic":
            resp = await self._exchange(bmc, method, path, json=json, params=params, headers=headers, files=files)
            if resp.status_code in (401, 403) and resp.status_code not in ok:
                raise AuthFailed(
                    f"redfish: {bmc.node} ({bmc.base}): basic authentication refused: wrong user name "
                    f"or password for user {self.username!r}"
                )
        else:
            if bmc.token is None:
                await self._login(bmc, None)
            token = bmc.token
            resp = await self._exchange(bmc, method, path, json=json, params=params, headers=headers, files=files)
            if resp.status_code == 401:
                await self._login(bmc, token)
                resp = await self._exchange(bmc, method, path, json=json, params=params, headers=headers, files=files)
        if 300 <= resp.status_code < 400:
            raise self._fail(
                bmc,
                f"{method} {path}: redirected to {resp.headers.get('Location', '?')}; "
                f"configure the BMC address it redirects to",
            )
        if resp.status_code < 400 or resp.status_code in ok:
            return resp
        raise self._fail(bmc, f"{method} {path}: HTTP {resp.status_code} {_redfish_message(resp)}".strip())

    async def get(self, node: str, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        resp = await self.request(node, "GET", path, params=params)
        try:
            return resp.json()
        except ValueError:
            raise self._fail(await self._bmc(node), f"GET {path}: the answer is not JSON") from None

    async def service_root(self, node: str) -> dict[str, Any]:
        """``/redfish/v1``, read once per BMC: every discovery (systems, managers, update service)
        starts there, and its links do not change while the BMC runs (a rolling update asked for
        it twice per node, each a fresh TLS connection on BMCs that close every connection)."""
        bmc = await self._bmc(node)
        if bmc.root is None:
            bmc.root = await self.get(node, "/redfish/v1")
        return bmc.root

    async def system_path(self, node: str) -> str:
        """The host's ComputerSystem: the only one, or among several (a DGX lists ``DGX`` next to
        ``HGX_Baseboard_0``) the one that is not a GPU baseboard and can be reset."""
        bmc = await self._bmc(node)
        if bmc.system is None:
            root = await self.service_root(node)
            coll = _link(root.get("Systems")) or "/redfish/v1/Systems"
            found = [_link(m) for m in (await self.get(node, coll)).get("Members") or []]
            members = [m for m in found if m]
            if len(members) == 1:
                bmc.system = members[0].rstrip("/")
            else:
                docs = await asyncio.gather(*(self.get(node, m) for m in members))
                hosts = [m for m, d in zip(members, docs) if _is_host_system(d)]
                if len(hosts) != 1:
                    ids = ", ".join(m.rsplit("/", 1)[-1] for m in members) or "none"
                    raise self._fail(
                        bmc,
                        f"cannot tell the host system among {len(members)} ComputerSystems "
                        f"({ids}); configure the system URL as the node's BMC address",
                    )
                bmc.system = hosts[0].rstrip("/")
        return bmc.system

    async def aclose(self) -> None:
        """Log out of every session, then close connections.

        Best effort and short: BMCs have few session slots, so sessions are not left to time out,
        but the answer is awaited for at most ``LOGOUT_WAIT`` s (a BMC that has read the DELETE ends
        the session whether or not the answer arrives), so a slow BMC does not hold up exit."""

        async def logout(bmc: _Bmc) -> None:
            if bmc.token and bmc.session_uri:
                try:
                    await asyncio.wait_for(
                        self._client.delete(bmc.base + _path_of(bmc.session_uri), headers={"X-Auth-Token": bmc.token}),
                        LOGOUT_WAIT,
                    )
                except (TimeoutError, httpx.HTTPError, OSError, ValueError):
                    pass
            bmc.token = None

        await asyncio.gather(*(logout(b) for b in self._bmcs.values()))
        await self._client.aclose()

    # ------------------------------------------------------------------ the port
    async def system(self, node: str) -> SystemInfo:
        doc = await self.get(node, await self.system_path(node))
        boot = doc.get("Boot") or {}
        return SystemInfo(
            power_state=str(doc.get("PowerState") or ""),
            boot_source_override_target=str(boot.get("BootSourceOverrideTarget") or ""),
            boot_source_override_enabled=str(boot.get("BootSourceOverrideEnabled") or ""),
            model=str(doc.get("Model") or ""),
            bios_version=str(doc.get("BiosVersion") or ""),
        )

    async def manager(self, node: str) -> ManagerInfo:
        """The BMC managing the host system: its ``Links.ManagedBy``, else the only Manager. Ids are never
        assumed (a DGX has ``BMC`` and ``HGX_BMC_0``; iDRAC ``iDRAC.Embedded.1``)."""
        bmc = await self._bmc(node)
        system = await self.get(node, await self.system_path(node))
        links = [_link(m) for m in (system.get("Links") or {}).get("ManagedBy") or []]
        path = next((m for m in links if m), None)
        if path is None:
            root = await self.service_root(node)
            found = [
                _link(m)
                for m in (await self.get(node, _link(root.get("Managers")) or "/redfish/v1/Managers")).get("Members")
                or []
            ]
            members = [m for m in found if m]
            if len(members) != 1:
                raise self._fail(bmc, f"the host system names no manager and there are {len(members)}")
            path = members[0]
        doc = await self.get(node, path)
        return ManagerInfo(
            id=str(doc.get("Id") or path.rsplit("/", 1)[-1]),
            firmware_version=str(doc.get("FirmwareVersion") or ""),
            model=str(doc.get("Model") or ""),
        )

    async def update_path(self, node: str) -> UpdatePath:
        """Where this BMC takes firmware, from its UpdateService (read once per BMC).

        Read before a node is drained: a BMC with no way to take an image fails here, not after."""
        bmc = await self._bmc(node)
        if bmc.update is None:
            root = await self.service_root(node)
            svc_uri = _link(root.get("UpdateService")) or UPDATE_SERVICE
            resp = await self.request(node, "GET", svc_uri, ok=(404,))
            if resp.status_code == 404:
                raise self._fail(bmc, "this BMC has no UpdateService")
            svc = resp.json()
            simple = (svc.get("Actions") or {}).get("#UpdateService.SimpleUpdate") or {}
            bmc.update = UpdatePath(
                simple_update=_path_of(simple["target"]) if simple.get("target") else None,
                multipart=_path_of(svc["MultipartHttpPushUri"]) if svc.get("MultipartHttpPushUri") else None,
                protocols=tuple(str(p) for p in simple.get("TransferProtocol@Redfish.AllowableValues") or ()),
                inventory=_link(svc.get("FirmwareInventory")) or INVENTORY,
            )
        return bmc.update

    async def firmware_inventory(self, node: str) -> list[FirmwareComponent]:
        """One expanded GET where the BMC supports ``$expand``, else the collection plus each member
        (also when ``$expand`` fails with a 5xx: some BMCs crash on it and answer fine per member)."""
        bmc = await self._bmc(node)
        inventory = bmc.update.inventory if bmc.update is not None else INVENTORY
        members: list[dict[str, Any]] = []
        if bmc.expand:
            resp = await self.request(node, "GET", inventory, params=EXPAND, ok=(400, 404, 405, 500, 501, 502, 503))
            if resp.status_code < 300:
                try:
                    members = resp.json().get("Members") or []
                except ValueError:
                    members = []
                if members and all("Version" in m or "Id" in m for m in members):
                    return identify(members)
            elif resp.status_code == 404:
                raise self._fail(bmc, "this BMC has no FirmwareInventory")
            else:
                log.info("redfish: %s: $expand answered %s; reading members one by one", node, resp.status_code)
            bmc.expand = False
        if not members:
            members = (await self.get(node, inventory)).get("Members") or []
        docs = await asyncio.gather(*(self.get(node, _link(m) or "") for m in members if _link(m)))
        return identify(docs)

    async def start_update(self, node: str, image_uri: str, targets: Sequence[str] = ()) -> str:
        """Install an image the way this BMC takes it (:meth:`UpdatePath.method_for`): SimpleUpdate at
        the target its UpdateService names, or a multipart push (the image fetched here and sent with
        ``UpdateParameters.Targets``) for bundles and BMCs that take nothing else. Returns the task
        (or task monitor) URI."""
        path = await self.update_path(node)
        if path.method_for(image_uri) == "multipart":
            return await self.multipart_update(node, image_uri, targets)
        return await self.simple_update(node, image_uri, targets)

    def _targets(self, path: UpdatePath, targets: Sequence[str]) -> list[str]:
        return [t if t.startswith("/") else f"{path.inventory}/{t}" for t in targets]

    async def simple_update(self, node: str, image_uri: str, targets: Sequence[str] = ()) -> str:
        path = await self.update_path(node)
        bmc = await self._bmc(node)
        if not path.simple_update:
            raise self._fail(
                bmc,
                "the UpdateService offers no SimpleUpdate action"
                + (" (it takes MultipartHttpPushUri only)" if path.multipart else ""),
            )
        body: dict[str, Any] = {"ImageURI": image_uri}
        if image_uri.startswith(("http://", "https://")):
            proto = image_uri.split(":", 1)[0].upper()
            if path.protocols and proto not in path.protocols:
                raise self._fail(
                    bmc, f"SimpleUpdate does not take {proto} images (it takes {', '.join(path.protocols)})"
                )
            body["TransferProtocol"] = proto
        if targets:
            body["Targets"] = self._targets(path, targets)
        resp = await self.request(node, "POST", path.simple_update, json=body)
        return await self._task_of(bmc, resp, "SimpleUpdate")

    async def multipart_update(self, node: str, image_uri: str, targets: Sequence[str] = ()) -> str:
        """DSP0266 multipart HTTP push: ``UpdateParameters`` (JSON with Targets) and ``UpdateFile``."""
        path = await self.update_path(node)
        bmc = await self._bmc(node)
        if not path.multipart:
            raise self._fail(bmc, "the UpdateService has no MultipartHttpPushUri")
        image = await self._fetch_image(bmc, image_uri)
        params: dict[str, Any] = {"@Redfish.OperationApplyTime": "Immediate"}
        if targets:
            params["Targets"] = self._targets(path, targets)
        name = PurePosixPath(urlsplit(image_uri).path).name or "image.bin"
        files = {
            "UpdateParameters": (None, _json.dumps(params).encode(), "application/json"),
            "UpdateFile": (name, image, "application/octet-stream"),
        }
        resp = await self.request(node, "POST", path.multipart, files=files)
        return await self._task_of(bmc, resp, "the multipart update")

    async def _fetch_image(self, bmc: _Bmc, image_uri: str) -> bytes:
        """The image to push (from the file server the baseline names; no BMC credentials sent there)."""
        try:
            async with httpx.AsyncClient(
                timeout=httpx.Timeout(max(self.timeout, 120.0)), verify=self._verify, follow_redirects=True
            ) as files:
                resp = await files.get(image_uri)
        except httpx.HTTPError as exc:
            raise self._fail(bmc, f"cannot fetch image {image_uri}: {type(exc).__name__} {exc}".strip()) from None
        if resp.status_code != 200 or not resp.content:
            raise self._fail(bmc, f"cannot fetch image {image_uri}: HTTP {resp.status_code}")
        return resp.content

    async def _task_of(self, bmc: _Bmc, resp: httpx.Response, what: str) -> str:
        task = None
        try:
            doc = resp.json() if resp.content else {}
            if isinstance(doc, dict) and "TaskState" in doc:
                task = doc.get("@odata.id")
        except ValueError:
            pass
        task = task or resp.headers.get("Location")
        if not task:
            raise self._fail(bmc, f"{what} answered HTTP {resp.status_code} without a task")
        return _path_of(task)

    async def task(self, node: str, task_uri: str) -> TaskStatus:
        """A task's state per DSP0266: a task monitor answering 202 is still running, with or without a
        body; 200/204 from a monitor without a Task is the finished operation's own answer."""
        resp = await self.request(node, "GET", task_uri, ok=(404,))
        if resp.status_code == 404:
            # a monitor may be gone once its task ended (OpenBMC .../Tasks/<id>/Monitor); the Task stays
            task = _task_of_monitor(task_uri)
            if task is None:
                raise self._fail(await self._bmc(node), f"GET {task_uri}: HTTP 404 {_redfish_message(resp)}".strip())
            resp = await self.request(node, "GET", task)
        doc: Any = None
        if resp.content:
            try:
                doc = resp.json()
            except ValueError:
                doc = None
        if not isinstance(doc, dict) or "TaskState" not in doc:
            if resp.status_code == 202:
                return TaskStatus(uri=task_uri, state="Running")
            return TaskStatus(uri=task_uri, state="Completed", percent=100)
        msgs = [m for m in doc.get("Messages") or [] if isinstance(m, dict)]
        ids = [str(m.get("MessageId", "")).rsplit(".", 1)[-1] for m in msgs]
        health = str(doc.get("TaskStatus") or "OK")
        if any(i in FAILURE_HINTS for i in ids) and doc["TaskState"] == "Completed":
            health = "Critical"  # a "Completed" flash whose message says it failed
        texts = tuple(" ".join(f"{m.get('MessageId', '')}: {m.get('Message', '')}".split()) for m in msgs)
        if health == "Critical":  # the failing message first, where a report looks
            bad = [
                t
                for t, m in zip(texts, msgs)
                if m.get("Severity") == "Critical" or str(m.get("MessageId", "")).rsplit(".", 1)[-1] in FAILURE_HINTS
            ]
            texts = tuple(t for t in texts if t not in bad) + tuple(bad)
        wanted_reset = next(
            (
                str(m["MessageArgs"][1])
                for m, i in zip(msgs, ids)
                if i == "ResetRequired" and isinstance(m.get("MessageArgs"), list) and len(m["MessageArgs"]) > 1
            ),
            None,
        )
        return TaskStatus(
            uri=task_uri,
            state=str(doc["TaskState"]),
            percent=doc.get("PercentComplete"),
            messages=texts,
            health=health,
            reset_type=wanted_reset if wanted_reset in RESET_TYPES else None,
            reset_required=any(i in RESET_HINTS for i in ids),
        )

    async def _reset_action(self, node: str) -> tuple[str, tuple[str, ...]]:
        """The system's Reset target and the ResetTypes it allows (AllowableValues, else ActionInfo),
        read once per BMC: what a system offers is fixed, and an update asks for it before each reset."""
        bmc = await self._bmc(node)
        if bmc.reset_action is None:
            bmc.reset_action = await self._read_reset_action(node)
        return bmc.reset_action

    async def _read_reset_action(self, node: str) -> tuple[str, tuple[str, ...]]:
        system = await self.system_path(node)
        doc = await self.get(node, system)
        action = (doc.get("Actions") or {}).get("#ComputerSystem.Reset") or {}
        target = _path_of(action.get("target") or f"{system}/Actions/ComputerSystem.Reset")
        allowed = action.get("ResetType@Redfish.AllowableValues")
        if not allowed and action.get("@Redfish.ActionInfo"):
            resp = await self.request(node, "GET", action["@Redfish.ActionInfo"], ok=(404,))
            if resp.status_code < 300:
                for param in resp.json().get("Parameters") or []:
                    if isinstance(param, dict) and param.get("Name") == "ResetType":
                        allowed = param.get("AllowableValues")
        return target, tuple(str(a) for a in allowed or ())

    async def reset_types(self, node: str) -> tuple[str, ...]:
        """The ResetTypes this system accepts; empty when the BMC does not say (then any may be tried)."""
        return (await self._reset_action(node))[1]

    async def reset(self, node: str, reset_type: str) -> None:
        if reset_type not in RESET_TYPES:
            raise UsageError(f"reset type {reset_type!r} is not one of {', '.join(RESET_TYPES)}")
        target, allowed = await self._reset_action(node)
        if allowed and reset_type not in allowed:
            raise self._fail(
                await self._bmc(node),
                f"the system does not offer ResetType {reset_type} (it offers {', '.join(allowed)})",
            )
        await self.request(node, "POST", target, json={"ResetType": reset_type})

    async def set_boot_override(self, node: str, target: str = "Pxe", once: bool = True) -> None:
        """PATCH the boot override where the system wants it: its ``@Redfish.Settings`` object when it
        advertises one (e.g. ``/Systems/DGX/SD``), with ``If-Match`` on that object's ETag."""
        if target not in BOOT_TARGETS:
            raise UsageError(f"boot target {target!r} is not one of {', '.join(BOOT_TARGETS)}")
        system = await self.system_path(node)
        doc = await self.get(node, system)
        settings = _link((doc.get("@Redfish.Settings") or {}).get("SettingsObject"))
        where, headers = system, {}
        if settings:
            resp = await self.request(node, "GET", settings)
            etag = resp.headers.get("ETag") or (resp.json() or {}).get("@odata.etag")
            where = _path_of(settings)
            if etag:
                headers["If-Match"] = etag
        elif doc.get("@odata.etag"):
            headers["If-Match"] = str(doc["@odata.etag"])
        body = {
            "Boot": {"BootSourceOverrideTarget": target, "BootSourceOverrideEnabled": "Once" if once else "Continuous"}
        }
        resp = await self.request(node, "PATCH", where, json=body, headers=headers, ok=(412,))
        if resp.status_code == 412:
            raise self._fail(
                await self._bmc(node), f"PATCH {where}: the settings changed under us (ETag mismatch); try again"
            )


def build_redfish(section: RedfishSection, inventory: InventoryPort | None = None) -> RedfishAdapter:
    """The adapter for a ``[redfish]`` config section (the factory calls this)."""
    from .credentials import read_secret

    async def password() -> SecretStr:
        return await read_secret(
            env=section.password_env, file=section.password_file, command=section.password_command, what="BMC password"
        )

    return RedfishAdapter(
        section.bmcs,
        username=section.username,
        password=password,
        inventory=inventory,
        verify_tls=section.verify_tls,
        ca_bundle=section.ca_bundle,
        timeout=section.timeout,
        max_parallel=section.max_parallel,
        max_per_bmc=section.max_per_bmc,
        auth=section.auth,
    )


def _path_of(uri: str) -> str:
    """``https://bmc:443/redfish/v1/X`` -> ``/redfish/v1/X`` (BMCs may answer absolute URLs); paths unchanged."""
    if uri.startswith(("http://", "https://")):
        parts = urlsplit(uri)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return uri


def _task_of_monitor(uri: str) -> str | None:
    """The Task behind a task monitor URI, where the naming says (``.../Tasks/7/Monitor``,
    ``.../TaskMonitors/7``); None when it does not."""
    path = uri.rstrip("/")
    if path.endswith("/Monitor"):
        return path.removesuffix("/Monitor")
    head, sep, ident = path.rpartition("/TaskMonitors/")
    return f"{head}/Tasks/{ident}" if sep and ident else None


def _link(ref: Any) -> str | None:
    if isinstance(ref, dict) and isinstance(ref.get("@odata.id"), str):
        return _path_of(ref["@odata.id"])
    return None


def _is_host_system(doc: dict[str, Any]) -> bool:
    """Not a GPU baseboard (HGX_Baseboard_0 is a System too) and resettable."""
    ident = f"{doc.get('Id', '')} {doc.get('Name', '')}".lower()
    if any(h in ident for h in BASEBOARD_HINTS):
        return False
    return "#ComputerSystem.Reset" in (doc.get("Actions") or {})


def _session_limit(resp: httpx.Response) -> bool:
    if resp.status_code < 400:
        return False
    text = resp.text[:4000] if resp.content else ""
    return any(h in text for h in SESSION_LIMIT)
