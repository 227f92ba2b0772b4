"""Helpers shared by the Redfish integration tests (a module of its own: conftest is not importable)."""

from __future__ import annotations

from actions.config.redfish import RedfishSection
from tests.lab import bmc as lab_bmc


def redfish_section(lab: lab_bmc.LabBmcs, **overrides: object) -> RedfishSection:
    fields: dict[str, object] = {"bmcs": lab.bmcs, "username": lab.user, "password_file": lab.password_file,
                                 "ca_bundle": lab.ca, "timeout": 5.0}
    fields.update(overrides)
    return RedfishSection(**fields)
