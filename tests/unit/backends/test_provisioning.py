"""reimage runs through whichever provisioning provider the config names, without knowing which:
a provider registered here (a stand-in for Foreman/BCM: it keeps its own "next install" table)
reinstalls simulator nodes through the unchanged action, with drain, journal, verify and resume
still the action's; its options are validated by its own model; a crash after the boot step is
resumed without booting again. The default provider (redfish-pxe) is the one the lab tests run
(tests/integration/redfish/test_redfish_reimage.py, test_faults_rollouts.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel, ConfigDict

from dcops.actions.backends.bundle import Backends
from dcops.actions.backends.ports import ProvisioningPort, SlurmPort
from dcops.actions.backends.provisioning import (
    ProviderSpec,
    RedfishPxe,
    provisioner,
    register_provider,
    unregister_provider,
)
from dcops.actions.config import parse_config
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig
from dcops.actions.config.provisioning import ProvisioningSection
from dcops.actions.engine import Engine
from dcops.actions.errors import BackendError, ConfigError
from dcops.actions.rbac import Policy
from dcops.actions.request import Request
from dcops.actions.sim import SimCluster
from dcops.actions.store.sqlite import SqliteStore

ALLOW_ALL = '[roles.all]\nactions = ["*"]\napprove = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'


class KickstartOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    profile: str
    down_polls: int = 2  # image() answers None this many times after a boot (installing)


class Kickstart:
    """Installs through its own table: arm records the wanted image, boot 'installs' it (the node
    stops answering for a while), image() reports what is installed. No BMC, no SSH."""

    arm_step, boot_step, wait_step = "kickstart profile", "netboot", "wait for the installer"
    nodes: dict[str, dict] = {}
    calls: list[tuple[str, str]] = []

    def __init__(self, options: KickstartOptions) -> None:
        self.options = options

    def _node(self, node: str) -> dict:
        return self.nodes.setdefault(node, {"image": "rocky-9.3", "next": None, "down": 0, "booted": False})

    async def image(self, node: str) -> str | None:
        n = self._node(node)
        if n["down"]:
            n["down"] -= 1
            return None
        return n["image"]

    async def arm(self, node: str, image: str | None) -> str:
        self.calls.append(("arm", node))
        self._node(node)["next"] = image or f"{self.options.profile}-latest"
        return f"profile {self.options.profile}: next boot installs {self._node(node)['next']}"

    async def boot(self, node: str) -> str:
        self.calls.append(("boot", node))
        n = self._node(node)
        n.update(image=n["next"], down=self.options.down_polls, booted=True)
        return "netboot requested"

    async def install_started(self, node: str) -> bool:
        self.calls.append(("asked", node))
        return self._node(node)["booted"]

    async def check_installed(self, node: str) -> None:
        if self._node(node)["next"] is None:
            raise BackendError("the installer never ran")


@pytest.fixture
def kickstart() -> Iterator[type[Kickstart]]:
    Kickstart.nodes, Kickstart.calls = {}, []
    register_provider(
        ProviderSpec(
            name="kickstart", needs=(), options=KickstartOptions, build=lambda backends, options: Kickstart(options)
        )
    )
    yield Kickstart
    unregister_provider("kickstart")


async def _engine(tmp_path, cfg: DcopsConfig, backends: Backends) -> Engine:
    cfg = cfg.model_copy(
        update={"cluster": ClusterSection(name="t"), "audit": AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}")}
    )
    eng = Engine(cfg, backends, SqliteStore(str(tmp_path / "a.db")), Policy.from_toml(ALLOW_ALL))
    await eng.start()
    return eng


async def _reimage(eng: Engine, params: dict):
    run = await eng.submit(
        Request(principal="unix:alice", channel="cli", action="reimage", params=params, confirm=params["nodes"])
    )
    events = [ev async for ev in run.events()]
    return run, [e.detail for e in events if e.kind == "step" and e.status == "ok"]


async def test_reimage_goes_through_the_configured_provider(tmp_path, kickstart) -> None:
    sim = SimCluster(nodes=64, time_scale=1000.0)
    cfg = parse_config({"provisioning": {"provider": "kickstart", "options": {"profile": "ubuntu"}}})
    eng = await _engine(tmp_path, cfg, sim.backends())
    try:
        run, steps = await _reimage(eng, {"nodes": "gpu[059-060]", "image": "ubuntu-24.04", "max_parallel": 2})
        slurm = await eng.backends.get(SlurmPort).nodes(["gpu059", "gpu060"])
    finally:
        await eng.aclose()
    assert run.finished.outcome == "ok", run.finished.summary
    assert {n: v["image"] for n, v in kickstart.nodes.items()} == {"gpu059": "ubuntu-24.04", "gpu060": "ubuntu-24.04"}
    assert sorted(kickstart.calls) == [("arm", "gpu059"), ("arm", "gpu060"), ("boot", "gpu059"), ("boot", "gpu060")]
    assert "step 3/7 kickstart profile: profile ubuntu: next boot installs ubuntu-24.04" in steps
    assert "step 4/7 netboot: netboot requested" in steps
    assert "step 5/7 wait for the installer: node answers; image rocky-9.3 -> ubuntu-24.04" in steps
    assert "step 1/7 drain: drain requested" in steps and "step 7/7 resume: back in service" in steps
    assert not any(n.drain_flag for n in slurm)  # the action's drain and resume, as always
    assert run.result.data["reimaged"] == ["gpu059", "gpu060"]


async def test_a_wrong_image_fails_the_node_and_leaves_it_drained(tmp_path, kickstart) -> None:
    class Stale(Kickstart):
        async def boot(self, node: str) -> str:
            self._node(node).update(image="rocky-9.3-rebuilt", down=1, booted=True)  # installed the wrong thing
            return "netboot requested"

    unregister_provider("kickstart")
    register_provider(
        ProviderSpec(
            name="kickstart", needs=(), options=KickstartOptions, build=lambda backends, options: Stale(options)
        )
    )
    sim = SimCluster(nodes=64, time_scale=1000.0)
    cfg = parse_config({"provisioning": {"provider": "kickstart", "options": {"profile": "ubuntu"}}})
    eng = await _engine(tmp_path, cfg, sim.backends())
    try:
        run, _ = await _reimage(eng, {"nodes": "gpu059", "image": "ubuntu-24.04", "install_timeout": 2})
        (node,) = await eng.backends.get(SlurmPort).nodes(["gpu059"])
    finally:
        await eng.aclose()
    assert run.finished.outcome == "failed"
    why = run.result.data["failed"]["gpu059"]
    assert "stopped at step 'wait for the installer'" in why and "node left drained" in why
    assert node.drain_flag and "stopped at step 'wait for the installer'" in node.reason


@pytest.mark.parametrize(
    ("phase", "booted", "calls", "step4"),
    [
        # died after journaling the boot step and sending it: ask, learn it began, only wait for the image
        ("reset", True, [("asked", "gpu059")], "step 4/7 netboot: already done in run r1: the install boot happened"),
        # died after journaling the boot step, before sending it: ask, learn it did not, boot now
        (
            "reset",
            False,
            [("asked", "gpu059"), ("arm", "gpu059"), ("boot", "gpu059")],
            "step 4/7 netboot: netboot requested",
        ),
        # died after arming, before the boot step was journaled: it was never sent, nothing to ask
        ("pxe", False, [("arm", "gpu059"), ("boot", "gpu059")], "step 4/7 netboot: netboot requested"),
    ],
)
async def test_a_resumed_run_boots_only_when_the_install_did_not_start(
    tmp_path, kickstart, phase, booted, calls, step4
) -> None:
    import asyncio

    from dcops.actions.context import ActionContext
    from dcops.actions.fanout import StepReporter
    from dcops.actions.ops.reimage import Reimage, ReimageParams
    from dcops.actions.registry import registry

    sim = SimCluster(nodes=64, time_scale=1000.0)
    backends = sim.backends()
    await backends.get(SlurmPort).drain(["gpu059"], "reimage (run r1) [unix:alice via cli]")
    prov = Kickstart(KickstartOptions(profile="ubuntu"))
    await prov.arm("gpu059", "ubuntu-24.04")
    if booted:
        await prov.boot("gpu059")
    Kickstart.calls.clear()

    class Journal(dict):
        async def get(self, key):  # noqa: ANN001, ANN202
            return dict.get(self, key)

        async def put(self, key, value):  # noqa: ANN001, ANN202
            self[key] = value

        async def items(self):  # noqa: ANN202
            return dict(self)

    journal = Journal({"node/gpu059": {"phase": phase, "old": "rocky-9.3"}})
    p = ReimageParams(nodes="gpu059", image="ubuntu-24.04")
    ctx = ActionContext(
        run_id="r2",
        principal="unix:alice",
        channel="cli",
        spec=registry.get("reimage"),
        params=p,
        targets=[],
        backends=backends,
        config=DcopsConfig(),
        journal=journal,
        store=None,  # type: ignore[arg-type]
        resumed_from="r1",
    )
    queue: asyncio.Queue = asyncio.Queue()
    detail = await Reimage(ctx, p, prov).run("gpu059", StepReporter("gpu059", queue))
    steps = [queue.get_nowait().detail for _ in range(queue.qsize())]
    assert detail == "reimaged: rocky-9.3 -> ubuntu-24.04"
    assert Kickstart.calls == calls
    assert step4 in steps
    assert journal["node/gpu059"]["phase"] == "done"


def test_config_names_a_registered_provider_with_valid_options(kickstart) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config({"provisioning": {"provider": "foreman"}})
    assert str(exc.value) == (
        "<config>: provisioning.provider: unknown provider 'foreman'; accepted: command, kickstart, redfish-pxe"
    )
    with pytest.raises(ConfigError, match=r"provisioning: options\.profile: Field required"):
        parse_config({"provisioning": {"provider": "kickstart"}})
    with pytest.raises(ConfigError, match=r"options\.image_fille: Extra inputs are not permitted"):
        parse_config({"provisioning": {"options": {"image_fille": "/etc/x"}}})
    assert parse_config({"provisioning": {}}).provisioning.provider == "redfish-pxe"


def test_redfish_pxe_is_the_default_and_needs_redfish_and_ssh() -> None:
    from dcops.actions.backends.ports import RedfishPort, SshPort
    from dcops.actions.backends.provisioning import missing_sections
    from dcops.actions.errors import BackendUnavailable

    full = SimCluster(nodes=4, time_scale=1000.0).backends()
    prov = provisioner(full, None)
    assert isinstance(prov, RedfishPxe) and isinstance(prov, ProvisioningPort)
    assert (prov.arm_step, prov.boot_step, prov.wait_step) == ("PXE override", "power cycle", "wait for SSH")
    bare = full.without(RedfishPort, SshPort)
    assert missing_sections(bare, None) == ["[redfish]", "[ssh]"]
    with pytest.raises(BackendUnavailable, match=r"no redfish backend configured \(add a \[redfish\] section"):
        provisioner(bare, ProvisioningSection())
    assert missing_sections(bare, None) == ["[redfish]", "[ssh]"]


async def test_redfish_pxe_reads_the_configured_image_file() -> None:
    sim = SimCluster(nodes=4, time_scale=1000.0)
    backends = sim.backends()
    section = parse_config({"provisioning": {"options": {"image_file": "/etc/os-release-nope"}}}).provisioning
    assert await provisioner(backends, None).image("gpu001")  # /etc/dcops-image answers
    assert await provisioner(backends, section).image("gpu001") is None  # another file: no image id
