"""Provisioning providers: who reinstalls a node for ``reimage``, selected by config
(``[provisioning] provider = "redfish-pxe"``) the way ``[slurm] mode`` selects the Slurm adapter.

A provider is registered once (:func:`register_provider`) with the ports it is built on, the model
of its ``[provisioning.options]``, and a factory. ``reimage`` asks :func:`provisioner` for the
configured one and never names a provider, so Foreman, BCM's ``cmsh`` or an Ansible playbook is a
new module with one registration, not an edit of the action (README "Adding a backend").

The first provider, ``redfish-pxe``, is what reimage always did: a one-time PXE boot override and a
power cycle through the BMC (:class:`RedfishPort`), the image id read over SSH (:class:`SshPort`)
from the file the installer writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .ports import ProvisioningPort, RedfishPort, SshPort
from .registry import PortKey

if TYPE_CHECKING:
    from ..config.provisioning import ProvisioningSection
    from .bundle import Backends


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    needs: tuple[PortKey[Any], ...]  # ports the provider is built on (checked before a run)
    build: Callable[[Backends, Any], ProvisioningPort]  # (backends, parsed options) -> provider
    options: type[BaseModel] | None = None  # the model of [provisioning.options]
    help: str = ""

    def parse_options(self, raw: dict[str, Any]) -> Any:
        if self.options is None:
            if raw:
                raise ValueError(f"provider {self.name!r} takes no options (got {', '.join(sorted(raw))})")
            return None
        try:
            return self.options.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"]) or "options"
            raise ValueError(f"options.{where}: {err['msg'].removeprefix('Value error, ')}") from None


_PROVIDERS: dict[str, ProviderSpec] = {}


def register_provider(spec: ProviderSpec) -> ProviderSpec:
    if spec.name in _PROVIDERS and _PROVIDERS[spec.name] is not spec:
        raise ValueError(f"a provisioning provider named {spec.name!r} is already registered")
    _PROVIDERS[spec.name] = spec
    return spec


def unregister_provider(name: str) -> None:
    _PROVIDERS.pop(name, None)


def provider_names() -> list[str]:
    return sorted(_PROVIDERS)


def provider_spec(name: str) -> ProviderSpec:
    try:
        return _PROVIDERS[name]
    except KeyError:
        raise ValueError(f"unknown provisioning provider {name!r}; accepted: {', '.join(provider_names())}") from None


def _section(section: ProvisioningSection | None) -> tuple[ProviderSpec, dict[str, Any]]:
    if section is None:
        return _PROVIDERS["redfish-pxe"], {}
    return provider_spec(section.provider), dict(section.options)


def missing_sections(backends: Backends, section: ProvisioningSection | None) -> list[str]:
    """The config sections the configured provider needs and this cluster lacks (``[redfish]``...):
    a dry run names them instead of failing."""
    from .registry import spec_for

    spec, _ = _section(section)
    return [f"[{spec_for(port).name}]" for port in spec.needs if not backends.has(port)]


def provisioner(backends: Backends, section: ProvisioningSection | None) -> ProvisioningPort:
    """The configured provider, built on this cluster's backends; a missing one it needs raises the
    one-line :class:`dcops.actions.errors.BackendUnavailable` naming the section to add."""
    spec, raw = _section(section)
    for port in spec.needs:
        backends.get(port)
    return spec.build(backends, spec.parse_options(raw))


# ---------------------------------------------------------------- redfish-pxe
class RedfishPxeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    image_file: str = Field("/etc/dcops-image", description="the file the installer writes the image id to")
    ssh_timeout: float = Field(10.0, gt=0, description="seconds per SSH read of the image id")


class RedfishPxe:
    """One-time PXE boot through the BMC, then a power cycle; the image id over SSH."""

    arm_step = "PXE override"
    boot_step = "power cycle"
    wait_step = "wait for SSH"

    def __init__(self, redfish: RedfishPort, ssh: SshPort, options: RedfishPxeOptions) -> None:
        self.redfish, self.ssh, self.options = redfish, ssh, options

    async def image(self, node: str) -> str | None:
        res = await self.ssh.run(node, ("cat", self.options.image_file), timeout=self.options.ssh_timeout)
        return (res.stdout.strip() or None) if res.ok else None

    async def arm(self, node: str, image: str | None) -> str:
        from ..errors import BackendError

        await self.redfish.set_boot_override(node, "Pxe", once=True)
        sysinfo = await self.redfish.system(node)
        if (sysinfo.boot_source_override_target, sysinfo.boot_source_override_enabled) != ("Pxe", "Once"):
            raise BackendError(
                f"the BMC shows boot override {sysinfo.boot_source_override_target} "
                f"({sysinfo.boot_source_override_enabled}), not Pxe (Once)"
            )
        return "next boot from PXE, once"

    async def boot(self, node: str) -> str:
        power = (await self.redfish.system(node)).power_state
        reset = "ForceRestart" if power == "On" else "On"
        await self.redfish.reset(node, reset)
        return f"{reset} sent (was {power})"

    async def install_started(self, node: str) -> bool:
        return (await self.redfish.system(node)).boot_source_override_enabled != "Once"

    async def check_installed(self, node: str) -> None:
        from ..errors import BackendError

        if (await self.redfish.system(node)).boot_source_override_enabled == "Once":
            raise BackendError("the one-time PXE override is still pending: the node did not boot from PXE")


def _redfish_pxe(backends: Backends, options: RedfishPxeOptions) -> ProvisioningPort:
    return RedfishPxe(backends.get(RedfishPort), backends.get(SshPort), options)


register_provider(
    ProviderSpec(
        name="redfish-pxe",
        needs=(RedfishPort, SshPort),
        build=_redfish_pxe,
        options=RedfishPxeOptions,
        help="one-time PXE boot and power cycle through the BMC; image id over SSH",
    )
)


from . import provision_command as _provision_command  # noqa: E402, F401 - registers the "command" provider
