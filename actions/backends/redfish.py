"""Redfish adapter: one BMC per node, async, over httpx.

Why httpx and not DMTF's ``redfish.aio.AsyncRedfishClient`` (measured in
``tests/bench/bench_redfish_inventory.py``, which runs both over the same 64 lab BMCs): the DMTF
client logs in with two sequential round trips (service root, then POST Sessions) where the session
collection's URI is fixed by DSP0266, has no Retry-After handling and no per-BMC bound, and would
bring aiohttp as a second HTTP stack next to the httpx the other adapters use. The protocol part
we need is small (sessions, JSON GET/POST/PATCH, task polling), so it is written here on httpx.

Behaviour:
- sessions (X-Auth-Token), created lazily per BMC; a 401 on a request re-logs in once and retries;
  a failed login is a clear error (``wrong user name or password``) and nothing else is sent;
- 503/429 with Retry-After (seconds or HTTP date) are retried after that delay, a bounded number
  of times; transport errors on idempotent requests are retried once;
- at most ``max_parallel`` requests in flight across the fleet and ``max_per_bmc`` per BMC;
- every request is bounded by ``timeout``; TLS is verified unless the site turns it off, with an
  optional CA bundle;
- the password comes from :mod:`.credentials` and is held as a ``SecretStr``; it never appears in
  an error, a log line or an event.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from ..errors import BackendError, UsageError
from .models import FirmwareComponent, SystemInfo, TaskStatus
from .ports import InventoryPort

if TYPE_CHECKING:
    from ..config.redfish import RedfishSection

log = logging.getLogger(__name__)

SESSIONS = "/redfish/v1/SessionService/Sessions"
INVENTORY = "/redfish/v1/UpdateService/FirmwareInventory"
SIMPLE_UPDATE = "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate"
EXPAND = {"$expand": ".($levels=1)"}
RESET_TYPES = ("On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "PowerCycle", "Nmi",
               "PushPowerButton", "ForceOn")
BOOT_TARGETS = ("None", "Pxe", "Hdd", "Cd", "Usb", "BiosSetup", "UefiHttp", "UefiShell", "UefiTarget")
LOGOUT_WAIT = 1.0
RESET_HINTS = ("ResetRequired", "AwaitToActivate", "RebootRequired", "ResetNeeded")

PasswordSource = Callable[[], Awaitable[SecretStr]]


class AuthFailed(BackendError):
    """The BMC refused the credentials; retrying cannot help."""


@dataclass
class _Bmc:
    node: str
    base: str                       # scheme://host:port
    system: str | None = None       # /redfish/v1/Systems/<id>, discovered unless configured
    token: str | None = field(default=None, repr=False)
    session_uri: str | None = None
    expand: bool = True             # the BMC accepts $expand on collections (until it says otherwise)
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
    """:class:`~actions.backends.ports.RedfishPort` over httpx."""

    def __init__(self, endpoints: Mapping[str, str], *, username: str, password: PasswordSource,
                 inventory: InventoryPort | None = None, verify_tls: bool = True, ca_bundle: str | None = None,
                 timeout: float = 30.0, max_parallel: int = 64, max_per_bmc: int = 2, max_retries: int = 4,
                 max_retry_after: float = 60.0, poll_interval: float = 1.0) -> None:
        self._endpoints = dict(endpoints)       # explicit [redfish] bmcs win over the inventory's bmc field
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
        self._client = httpx.AsyncClient(
            verify=verify, timeout=httpx.Timeout(timeout), follow_redirects=False,   # never carry a token elsewhere
            limits=httpx.Limits(max_connections=max_parallel, max_keepalive_connections=max_parallel),
            headers={"Accept": "application/json", "OData-Version": "4.0"})

    # ------------------------------------------------------------------ plumbing
    async def _bmc(self, node: str) -> _Bmc:
        bmc = self._bmcs.get(node)
        if bmc is None:
            url = self._endpoints.get(node)
            if url is None and self._inventory is not None:
                url = next((r.bmc for r in await self._inventory.nodes() if r.name == node and r.bmc), None)
            if url is None:
                raise BackendError(f"redfish: no BMC address configured for node {node} "
                                   f"(add it to [redfish] bmcs or a [[nodes]] bmc template)")
            base, system = split_endpoint(url)
            bmc = self._bmcs.setdefault(node, _Bmc(node=node, base=base, system=system,
                                                   sem=asyncio.Semaphore(self.max_per_bmc)))
        return bmc

    async def _secret(self) -> SecretStr:
        async with self._password_lock:
            if self._password is None:
                self._password = await self._password_source()
            return self._password

    def _fail(self, bmc: _Bmc, what: str) -> BackendError:
        return BackendError(f"redfish: {bmc.node} ({bmc.base}): {what}")

    async def _send(self, bmc: _Bmc, method: str, path: str, *, json: Any = None,
                    params: Mapping[str, str] | None = None, auth: bool = True) -> httpx.Response:
        """One HTTP exchange under the fleet and per-BMC bounds; transport errors become BackendError."""
        headers = {"X-Auth-Token": bmc.token} if auth and bmc.token else {}
        async with self._fleet, bmc.sem:
            try:
                return await self._client.request(method, bmc.base + path, json=json, params=params,
                                                  headers=headers)
            except httpx.TimeoutException:
                raise self._fail(bmc, f"no answer within {self.timeout:g} s ({method} {path})") from None
            except httpx.ConnectError as exc:
                text = str(exc)
                if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
                    raise self._fail(bmc, "TLS certificate verification failed; set [redfish] ca_bundle to the "
                                          "CA that signed the BMC certificates") from None
                raise self._fail(bmc, f"cannot connect: {text or type(exc).__name__}") from None
            except httpx.HTTPError as exc:
                raise self._fail(bmc, f"{type(exc).__name__}: {exc}".splitlines()[0]) from None

    async def _exchange(self, bmc: _Bmc, method: str, path: str, *, json: Any = None,
                        params: Mapping[str, str] | None = None, auth: bool = True) -> httpx.Response:
        """:meth:`_send`, waiting out 503/429 as Retry-After says and retrying an idempotent request
        once after a transport error; a bounded number of times either way."""
        attempt = 0
        while True:
            try:
                resp = await self._send(bmc, method, path, json=json, params=params, auth=auth)
            except BackendError:
                if method != "GET" or attempt >= 1:
                    raise
                attempt += 1
                continue
            if resp.status_code not in (429, 503) or attempt >= self.max_retries:
                return resp
            attempt += 1
            delay = min(_retry_after(resp, 2.0 ** attempt), self.max_retry_after)
            log.info("redfish: %s answered %s; retrying in %.1f s", bmc.node, resp.status_code, delay)
            await asyncio.sleep(delay)

    async def _login(self, bmc: _Bmc, stale: str | None) -> None:
        async with bmc.login_lock:
            if bmc.token is not None and bmc.token != stale:
                return                                   # another request already logged in again
            bmc.token = None
            password = await self._secret()
            resp = await self._exchange(bmc, "POST", SESSIONS, auth=False,
                                        json={"UserName": self.username, "Password": password.get_secret_value()})
            if resp.status_code in (401, 403):
                raise AuthFailed(f"redfish: {bmc.node} ({bmc.base}): login refused: wrong user name or password "
                                 f"for user {self.username!r}")
            token = resp.headers.get("X-Auth-Token")
            if resp.status_code >= 300 or not token:
                raise self._fail(bmc, f"login failed: HTTP {resp.status_code} {_redfish_message(resp)}".strip())
            bmc.token = token
            bmc.session_uri = resp.headers.get("Location") or (resp.json() or {}).get("@odata.id")

    async def request(self, node: str, method: str, path: str, *, json: Any = None,
                      params: Mapping[str, str] | None = None, ok: Sequence[int] = ()) -> httpx.Response:
        """A Redfish request with session, re-login on 401, Retry-After and error translation.

        Statuses in ``ok`` are returned to the caller as-is even when they are errors."""
        bmc = await self._bmc(node)
        if bmc.token is None:
            await self._login(bmc, None)
        token = bmc.token
        resp = await self._exchange(bmc, method, path, json=json, params=params)
        if resp.status_code == 401:
            await self._login(bmc, token)
            resp = await self._exchange(bmc, method, path, json=json, params=params)
        if 300 <= resp.status_code < 400:
            raise self._fail(bmc, f"{method} {path}: redirected to {resp.headers.get('Location', '?')}; "
                                  f"configure the BMC address it redirects to")
        if resp.status_code < 400 or resp.status_code in ok:
            return resp
        raise self._fail(bmc, f"{method} {path}: HTTP {resp.status_code} {_redfish_message(resp)}".strip())

    async def get(self, node: str, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        resp = await self.request(node, "GET", path, params=params)
        try:
            return resp.json()
        except ValueError:
            raise self._fail(await self._bmc(node), f"GET {path}: the answer is not JSON") from None

    async def system_path(self, node: str) -> str:
        bmc = await self._bmc(node)
        if bmc.system is None:
            members = (await self.get(node, "/redfish/v1/Systems")).get("Members") or []
            if len(members) != 1:
                raise self._fail(bmc, f"expected one ComputerSystem, found {len(members)}; "
                                      f"configure the system URL as the node's BMC address")
            bmc.system = members[0]["@odata.id"].rstrip("/")
        return bmc.system

    async def aclose(self) -> None:
        """Log out of every session, then close connections.

        Best effort and short: BMCs have few session slots, so sessions are not left to time out,
        but the answer is awaited for at most ``LOGOUT_WAIT`` s (a BMC that has read the DELETE ends
        the session whether or not the answer arrives), so a slow BMC does not hold up exit."""
        async def logout(bmc: _Bmc) -> None:
            if bmc.token and bmc.session_uri:
                try:
                    await asyncio.wait_for(self._client.delete(bmc.base + bmc.session_uri,
                                                               headers={"X-Auth-Token": bmc.token}), LOGOUT_WAIT)
                except (httpx.HTTPError, asyncio.TimeoutError, OSError):
                    pass
            bmc.token = None

        await asyncio.gather(*(logout(b) for b in self._bmcs.values()))
        await self._client.aclose()

    # ------------------------------------------------------------------ the port
    async def system(self, node: str) -> SystemInfo:
        doc = await self.get(node, await self.system_path(node))
        boot = doc.get("Boot") or {}
        return SystemInfo(power_state=str(doc.get("PowerState") or ""),
                          boot_source_override_target=str(boot.get("BootSourceOverrideTarget") or ""),
                          boot_source_override_enabled=str(boot.get("BootSourceOverrideEnabled") or ""),
                          model=str(doc.get("Model") or ""), bios_version=str(doc.get("BiosVersion") or ""))

    async def firmware_inventory(self, node: str) -> list[FirmwareComponent]:
        """One expanded GET where the BMC supports ``$expand``, else the collection plus each member."""
        bmc = await self._bmc(node)
        members: list[dict[str, Any]] = []
        if bmc.expand:
            resp = await self.request(node, "GET", INVENTORY, params=EXPAND, ok=(400, 404, 405, 501))
            if resp.status_code < 300:
                members = resp.json().get("Members") or []
                if members and all("Version" in m or "Id" in m for m in members):
                    return [_component(m) for m in members]
            elif resp.status_code == 404:
                raise self._fail(bmc, "this BMC has no FirmwareInventory")
            bmc.expand = False
        if not members:
            members = (await self.get(node, INVENTORY)).get("Members") or []
        docs = await asyncio.gather(*(self.get(node, m["@odata.id"]) for m in members))
        return [_component(d) for d in docs]

    async def simple_update(self, node: str, image_uri: str, targets: Sequence[str] = ()) -> str:
        body: dict[str, Any] = {"ImageURI": image_uri}
        if image_uri.startswith(("http://", "https://")):
            body["TransferProtocol"] = image_uri.split(":", 1)[0].upper()
        if targets:
            body["Targets"] = [t if t.startswith("/") else f"{INVENTORY}/{t}" for t in targets]
        resp = await self.request(node, "POST", SIMPLE_UPDATE, json=body)
        task = None
        try:
            doc = resp.json() if resp.content else {}
            if isinstance(doc, dict) and "TaskState" in doc:
                task = doc.get("@odata.id")
        except ValueError:
            pass
        task = task or resp.headers.get("Location")
        if not task:
            raise self._fail(await self._bmc(node), f"SimpleUpdate answered HTTP {resp.status_code} without a task")
        return urlsplit(task).path or task

    async def task(self, node: str, task_uri: str) -> TaskStatus:
        resp = await self.request(node, "GET", task_uri)
        if resp.status_code == 204 or not resp.content:
            return TaskStatus(uri=task_uri, state="Completed", percent=100)
        doc = resp.json()
        if "TaskState" not in doc:               # a task monitor that already returned the operation's result
            return TaskStatus(uri=task_uri, state="Completed", percent=100)
        msgs = doc.get("Messages") or []
        ids = [str(m.get("MessageId", "")) for m in msgs if isinstance(m, dict)]
        return TaskStatus(
            uri=task_uri, state=str(doc["TaskState"]), percent=doc.get("PercentComplete"),
            messages=tuple(" ".join(f"{m.get('MessageId', '')}: {m.get('Message', '')}".split())
                           for m in msgs if isinstance(m, dict)),
            reset_required=any(i.rsplit(".", 1)[-1] in RESET_HINTS for i in ids))

    async def wait_task(self, node: str, task_uri: str, *, timeout: float,
                        on_progress: Callable[[TaskStatus], None] | None = None) -> TaskStatus:
        """Poll a task until it finishes; BackendError when it does not within ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            status = await self.task(node, task_uri)
            if on_progress is not None:
                on_progress(status)
            if status.finished:
                return status
            if time.monotonic() > deadline:
                raise self._fail(await self._bmc(node), f"task {task_uri} still {status.state} after {timeout:g} s")
            await asyncio.sleep(self.poll_interval)

    async def reset(self, node: str, reset_type: str) -> None:
        if reset_type not in RESET_TYPES:
            raise UsageError(f"reset type {reset_type!r} is not one of {', '.join(RESET_TYPES)}")
        system = await self.system_path(node)
        await self.request(node, "POST", f"{system}/Actions/ComputerSystem.Reset", json={"ResetType": reset_type})

    async def set_boot_override(self, node: str, target: str = "Pxe", once: bool = True) -> None:
        if target not in BOOT_TARGETS:
            raise UsageError(f"boot target {target!r} is not one of {', '.join(BOOT_TARGETS)}")
        system = await self.system_path(node)
        await self.request(node, "PATCH", system, json={"Boot": {
            "BootSourceOverrideTarget": target, "BootSourceOverrideEnabled": "Once" if once else "Continuous"}})


def build_redfish(section: "RedfishSection", inventory: InventoryPort | None = None) -> RedfishAdapter:
    """The adapter for a ``[redfish]`` config section (the factory calls this)."""
    from .credentials import read_secret

    async def password() -> SecretStr:
        return await read_secret(env=section.password_env, file=section.password_file,
                                 command=section.password_command, what="BMC password")

    return RedfishAdapter(section.bmcs, username=section.username, password=password, inventory=inventory,
                          verify_tls=section.verify_tls, ca_bundle=section.ca_bundle, timeout=section.timeout,
                          max_parallel=section.max_parallel, max_per_bmc=section.max_per_bmc)


def _component(doc: dict[str, Any]) -> FirmwareComponent:
    cid = str(doc.get("Id") or str(doc.get("@odata.id", "")).rstrip("/").rsplit("/", 1)[-1])
    return FirmwareComponent(id=cid, name=str(doc.get("Name") or ""), version=str(doc.get("Version") or ""),
                             updateable=bool(doc.get("Updateable", True)))
