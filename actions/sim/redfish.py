"""SimRedfish: the RedfishPort over the simulated nodes' BMCs.

Firmware inventory and update tasks come from ``firmware``, power and boot from ``power``. Each
BMC answers even when its node's OS is wedged or powered off, as real BMCs do.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..backends.models import FirmwareComponent, ManagerInfo, SystemInfo, TaskStatus, UpdatePath
from ..errors import BackendError
from . import firmware, power
from .cluster import SimCluster
from .state import SimNode

RESET_TYPES = (
    "On",
    "ForceOff",
    "GracefulShutdown",
    "GracefulRestart",
    "ForceRestart",
    "PowerCycle",
    "Nmi",
    "PushPowerButton",
)
BOOT_TARGETS = ("None", "Pxe", "Hdd", "Cd", "Usb", "BiosSetup", "UefiShell", "UefiHttp")
MODEL = "HGX H100 8-GPU (SYS-821GE-TNHR)"


class SimRedfish:
    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim

    def _node(self, node: str) -> tuple[SimNode, float]:
        now = self.sim.advance()
        return self.sim.node(node, "redfish"), now

    async def system(self, node: str) -> SystemInfo:
        n, _ = self._node(node)
        return SystemInfo(
            power_state=n.power,
            boot_source_override_target=n.boot_target,
            boot_source_override_enabled=n.boot_enabled,
            model=MODEL,
            bios_version=firmware.inventory(self.sim, n)["BIOS"],
        )

    async def manager(self, node: str) -> ManagerInfo:
        n, _ = self._node(node)
        return ManagerInfo(id="1", firmware_version=firmware.inventory(self.sim, n)["BMC"], model="AST2600")

    async def firmware_inventory(self, node: str) -> list[FirmwareComponent]:
        n, _ = self._node(node)
        return firmware.components(self.sim, n)

    async def simple_update(self, node: str, image_uri: str, targets: Sequence[str] = ()) -> str:
        n, now = self._node(node)
        if not image_uri.strip():
            raise BackendError(f"redfish {node}: SimpleUpdate needs an ImageURI")
        return firmware.start_update(self.sim, n, image_uri, tuple(targets), now).uri

    async def update_path(self, node: str) -> UpdatePath:
        self._node(node)
        return UpdatePath(
            simple_update="/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate", protocols=("HTTP", "HTTPS")
        )

    async def start_update(self, node: str, image_uri: str, targets: Sequence[str] = ()) -> str:
        return await self.simple_update(node, image_uri, targets)

    def take_warnings(self) -> list[str]:
        return []

    async def reset_types(self, node: str) -> tuple[str, ...]:
        self._node(node)
        return RESET_TYPES

    async def task(self, node: str, task_uri: str) -> TaskStatus:
        n, now = self._node(node)
        task = self.sim.tasks.get(task_uri)
        if task is None or task.node != n.name:
            raise BackendError(f"redfish {node}: no task {task_uri}")
        return task.status(self.sim, n, now)

    async def reset(self, node: str, reset_type: str) -> None:
        n, now = self._node(node)
        if reset_type not in RESET_TYPES:
            raise BackendError(
                f"redfish {node}: unsupported ResetType {reset_type!r} (allowed: {', '.join(RESET_TYPES)})"
            )
        power.reset(self.sim, n, reset_type, now)

    async def set_boot_override(self, node: str, target: str = "Pxe", once: bool = True) -> None:
        n, _ = self._node(node)
        if target not in BOOT_TARGETS:
            raise BackendError(
                f"redfish {node}: unsupported BootSourceOverrideTarget {target!r} (allowed: {', '.join(BOOT_TARGETS)})"
            )
        n.boot_target = target
        n.boot_enabled = "Disabled" if target == "None" else ("Once" if once else "Continuous")
