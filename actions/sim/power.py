"""Power and boot of simulated nodes, as a BMC's ComputerSystem.Reset drives them.

Powering off takes the node out of Slurm (down, NOT_RESPONDING; its jobs end NODE_FAIL) and out
of SSH. Powering on applies staged firmware, consumes a one-time boot override, and after a boot
delay (longer for a PXE reinstall, which installs ``sim.pxe_image``) the node answers again and,
as with Slurm's ReturnToService=2, returns to service keeping any DRAIN flag.
"""

from __future__ import annotations

from .cluster import SimCluster
from .state import SimNode

BOOT_SECONDS = 90.0
REIMAGE_SECONDS = 300.0
RESTART_GAP_SECONDS = 5.0  # ForceRestart / PowerCycle: off, then on after this
GRACEFUL_SECONDS = 10.0  # OS shutdown before a graceful power-off


def power_off(sim: SimCluster, node: SimNode, t: float) -> None:
    if node.power == "Off":
        return
    node.power = "Off"
    node.power_gen += 1
    if node.os_up:
        node.os_up, node.os_down_at = False, t
    node.not_responding = True
    if not node.down:
        node.down = True
        node.reason = node.reason or "Not responding"
    sim.fail_node_jobs(node, t)


def power_on(sim: SimCluster, node: SimNode, t: float) -> None:
    if node.power == "On":
        return
    node.power = "On"
    node.power_gen += 1
    gen = node.power_gen
    if node.firmware is not None and node.staged:
        node.firmware.update(node.staged)
    node.staged.clear()
    pxe = node.boot_target == "Pxe" and node.boot_enabled in ("Once", "Continuous")
    if node.boot_enabled == "Once":
        node.boot_target, node.boot_enabled = "None", "Disabled"

    def booted(at: float) -> None:
        if node.power_gen == gen:
            boot_done(sim, node, at, pxe)

    sim.after(REIMAGE_SECONDS if pxe else BOOT_SECONDS, booted, at=t)


def boot_done(sim: SimCluster, node: SimNode, t: float, reinstalled: bool) -> None:
    if reinstalled:
        node.image = sim.pxe_image
    node.os_up, node.hung, node.booted_at = True, False, t
    node.lost_gpus = ()  # a reboot recovers a GPU that fell off the bus
    node.not_responding = False
    if node.down:
        node.down = False
        if not node.drain:
            node.reason = ""
    sim.wake()


def _later(sim: SimCluster, node: SimNode, seconds: float, t: float, action: str) -> None:
    """Run power_on/power_off after ``seconds`` unless another power transition happened first."""
    gen = node.power_gen

    def fire(at: float) -> None:
        if node.power_gen == gen:
            (power_on if action == "on" else power_off)(sim, node, at)

    sim.after(seconds, fire, at=t)


def reset(sim: SimCluster, node: SimNode, reset_type: str, t: float) -> None:
    """Apply a Redfish ResetType; the caller has validated it."""
    if reset_type == "On":
        power_on(sim, node, t)
    elif reset_type == "ForceOff":
        power_off(sim, node, t)
    elif reset_type in ("ForceRestart", "PowerCycle"):
        power_off(sim, node, t)
        _later(sim, node, RESTART_GAP_SECONDS, t, "on")
    elif reset_type in ("GracefulShutdown", "GracefulRestart") or (
        reset_type == "PushPowerButton" and node.power == "On"
    ):
        if node.power != "On":
            return
        node.power = "PoweringOff"
        node.power_gen += 1
        gen = node.power_gen

        def shutdown(at: float) -> None:
            if node.power_gen != gen:
                return
            power_off(sim, node, at)
            if reset_type == "GracefulRestart":
                _later(sim, node, RESTART_GAP_SECONDS, at, "on")

        sim.after(GRACEFUL_SECONDS, shutdown, at=t)
    elif reset_type == "PushPowerButton":
        power_on(sim, node, t)
    # Nmi: a crash-dump interrupt; the simulated OS ignores it
