"""[provisioning]: who reinstalls nodes for ``reimage`` (``provider``) and that provider's own
settings (``[provisioning.options]``, validated by the provider's model). Without the section,
reimage uses ``redfish-pxe`` (the BMC's one-time PXE boot, the image id read over SSH)."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator, model_validator

from ._base import Section


class ProvisioningSection(Section):
    provider: str = "redfish-pxe"
    options: dict[str, Any] = {}

    @field_validator("provider")
    @classmethod
    def _known(cls, v: str) -> str:
        from ..backends.provisioning import provider_names

        names = provider_names()
        if v not in names:
            raise ValueError(f"unknown provider {v!r}; accepted: {', '.join(names)}")
        return v

    @model_validator(mode="after")
    def _options(self) -> ProvisioningSection:
        from ..backends.provisioning import provider_spec

        provider_spec(self.provider).parse_options(self.options)  # raises ValueError naming the bad key
        return self
