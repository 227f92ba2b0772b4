"""Helpers shared by the Redfish integration tests (a module of its own: conftest is not importable)."""

from __future__ import annotations

from dcops.actions.config.redfish import RedfishSection
from tests.lab import bmc as lab_bmc


def redfish_section(lab: lab_bmc.LabBmcs, **overrides: object) -> RedfishSection:
    fields: dict[str, object] = {
        "bmcs": lab.bmcs,
        "username": lab.user,
        "password_file": lab.password_file,
        "ca_bundle": lab.ca,
        "timeout": 5.0,
    }
    fields.update(overrides)
    return RedfishSection(**fields)


ALLOW_ALL = '[roles.all]\nactions = ["*"]\napprove = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'


def dcops_config(lab: lab_bmc.LabBmcs, tmp_path, *, slurm=None, ssh=None, **redfish: object):
    """A real (non-demo) config: [[nodes]] for the lab's nodes, [redfish] at the lab BMCs, a private audit log."""
    from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, NodeEntry

    names = f"gpu[001-{len(lab.bmcs):03d}]"
    return DcopsConfig(
        cluster=ClusterSection(name="lab"),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'audit.db'}"),
        nodes=[NodeEntry(names=names, partitions=["gpu"])],
        redfish=redfish_section(lab, **redfish),
        slurm=slurm,
        ssh=ssh,
    )


async def run_action(engine, action: str, params: dict, *, principal: str = "unix:alice", approver: str = "unix:bob"):
    """Submit like a front end: echo the confirmation, have a second person approve; return the run."""
    from dcops.actions.errors import ApprovalRequired, ConfirmationRequired
    from dcops.actions.request import Request

    req = Request(principal=principal, channel="cli", action=action, params=params)
    try:
        try:
            return await engine.submit(req)
        except ConfirmationRequired as exc:
            req = req.model_copy(update={"confirm": exc.token})
            return await engine.submit(req)
    except ApprovalRequired as exc:
        return await engine.approve(exc.approval_id, approver, "cli")
