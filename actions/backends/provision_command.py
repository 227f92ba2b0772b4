"""The ``command`` provisioning provider: a site's own commands arm and boot the install (Foreman's
``hammer host update --build true`` and ``hammer host reboot``, BCM's ``cmsh``, ``ipmitool``, a
wrapper script), and the image id is read over SSH like redfish-pxe does.

```toml
[provisioning]
provider = "command"
[provisioning.options]
arm = ["hammer", "host", "update", "--name", "{node}.mgmt", "--build", "true"]
boot = ["hammer", "host", "reboot", "--name", "{node}.mgmt"]
started = ["/usr/local/bin/in-installer", "{node}"]   # optional: exit 0 once the install boot happened
```

Commands are argv lists run here without a shell (a word is never split or expanded); ``{node}``
and ``{image}`` are the only placeholders, each replaced inside its own word. An image id that
starts with ``-`` or holds whitespace or control characters is refused, so it cannot become an
option of the site's tool. Without ``started``, a resumed run that journaled the boot step assumes
the boot happened and only waits for the new image: a node is never power cycled twice on a guess
(if it did not boot, the wait times out and the node stays drained with that reason).
"""

from __future__ import annotations

import asyncio
import os
import string
from typing import TYPE_CHECKING

from pydantic import ConfigDict, Field, field_validator

from ..errors import BackendError, BackendUnavailable, UsageError
from .ports import ProvisioningPort, SshPort
from .provisioning import ProviderSpec, RedfishPxeOptions, register_provider

if TYPE_CHECKING:
    from .bundle import Backends

_PLACEHOLDERS = {"node", "image"}


class CommandOptions(RedfishPxeOptions):  # image_file, ssh_timeout: read the same way
    model_config = ConfigDict(extra="forbid", frozen=True)

    arm: list[str] | None = Field(None, description="argv that makes the node's next boot install")
    boot: list[str] = Field(..., description="argv that starts the install (reboots the node)")
    started: list[str] | None = Field(None, description="argv that exits 0 once the install boot happened")
    verify: list[str] | None = Field(None, description="argv that exits 0 when the install took effect")
    timeout: float = Field(120.0, gt=0, le=3600, description="seconds each command may take")
    default_image: str | None = Field(None, description="{image} when reimage gets no --image")

    @field_validator("arm", "boot", "started", "verify")
    @classmethod
    def _argv(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        if not v or not v[0]:
            raise ValueError("an empty command")
        for word in v:
            try:
                used = {f for _, f, _, _ in string.Formatter().parse(word) if f is not None}
            except ValueError as exc:
                raise ValueError(f"{word!r} is malformed ({exc}); use {{node}} and {{image}}") from None
            if used - _PLACEHOLDERS:
                raise ValueError(
                    f"{word!r} uses {{{sorted(used - _PLACEHOLDERS)[0]}}}; accepted: {{node}} and {{image}}"
                )
        return v


class CommandProvisioner:
    arm_step, boot_step, wait_step = "arm install", "boot install", "wait for SSH"

    def __init__(self, ssh: SshPort, options: CommandOptions) -> None:
        self.ssh, self.options = ssh, options
        self._images: dict[str, str] = {}

    async def image(self, node: str) -> str | None:
        res = await self.ssh.run(node, ("cat", self.options.image_file), timeout=self.options.ssh_timeout)
        return (res.stdout.strip() or None) if res.ok else None

    async def arm(self, node: str, image: str | None) -> str:
        image = image or self.options.default_image
        if image is not None and (image.startswith("-") or any(c.isspace() or not c.isprintable() for c in image)):
            raise UsageError(
                f"image id {image!r} is refused: it must not start with '-' or hold spaces or control characters"
            )
        self._images[node] = image or ""
        if self.options.arm is None:
            return "nothing to arm (no arm command)"
        return await self._run(self.options.arm, node)

    async def boot(self, node: str) -> str:
        return await self._run(self.options.boot, node)

    async def install_started(self, node: str) -> bool:
        if self.options.started is None:
            return True  # journaled as sent: never boot twice on a guess
        return await self._status(self.options.started, node) == 0

    async def check_installed(self, node: str) -> None:
        if self.options.verify is not None:
            await self._run(self.options.verify, node)

    def _argv(self, template: list[str], node: str) -> list[str]:
        if any("{image}" in w for w in template) and not self._images.get(node):
            raise UsageError("the provisioning command needs {image}: pass --image or set options.default_image")
        return [w.format(node=node, image=self._images.get(node, "")) for w in template]

    async def _status(self, template: list[str], node: str) -> int:
        return (await self._exec(self._argv(template, node)))[0]

    async def _run(self, template: list[str], node: str) -> str:
        argv = self._argv(template, node)
        status, out, err = await self._exec(argv)
        name = os.path.basename(argv[0])
        if status != 0:
            lines = [ln.strip() for ln in (err or out).splitlines() if ln.strip()]
            raise BackendError(
                f"provisioning: {name} failed for {node}: {lines[-1] if lines else f'exit status {status}'}"
            )
        last = [ln.strip() for ln in out.splitlines() if ln.strip()]
        return f"{name} ok" + (f": {last[-1][:160]}" if last else "")

    async def _exec(self, argv: list[str]) -> tuple[int, str, str]:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise BackendUnavailable(f"provisioning: cannot run {argv[0]}: {exc.strerror}") from None
        try:
            async with asyncio.timeout(self.options.timeout):
                stdout, stderr = await proc.communicate()
        except (TimeoutError, asyncio.CancelledError) as exc:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise BackendUnavailable(
                f"provisioning: {os.path.basename(argv[0])} did not finish within {self.options.timeout:g} s"
            ) from None
        return proc.returncode or 0, stdout.decode(errors="replace"), stderr.decode(errors="replace")


def _command(backends: Backends, options: CommandOptions) -> ProvisioningPort:
    return CommandProvisioner(backends.get(SshPort), options)


register_provider(
    ProviderSpec(
        name="command",
        needs=(SshPort,),
        build=_command,
        options=CommandOptions,
        help="the site's own commands arm and boot the install; image id over SSH",
    )
)
