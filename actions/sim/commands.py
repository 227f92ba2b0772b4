"""What the simulated nodes print for the commands dcops runs over SSH, in the real tools' formats.

``ibstat``, ``mlxlink -d DEV --show_ber`` (the "Physical Counters and BER Info" section with
mlxlink's ``<coef>E-<exp>`` BER notation, ``15E-255`` meaning zero), ``nvidia-smi -L`` and
``--query-gpu ... --format=csv`` and its default screen, ``dmesg``, ``hostname``,
``cat /etc/dcops-image`` and ``uptime``; any other
command exits 127 the way bash reports it. Values come from ``fabric`` and ``telemetry`` so SSH,
Prometheus and Redfish tell the same story.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from . import fabric, firmware, gpu_tools
from .cluster import SimCluster
from .kernel_log import dmesg
from .scenario import GPU_MEMORY_MIB, GPU_MODEL
from .state import SimNode
from .telemetry import gpu_uuid, gpu_value, pci_bus_id

Output = tuple[int, str, str]  # exit status, stdout, stderr
MFT_VERSION = "mft 4.26.1-3"
HCA_TYPE = "MT4129"


def _guid(sim: SimCluster, node: SimNode, device: str) -> str:
    return f"0x946dae0300{int(fabric.rand01(sim.seed, node.name, device, 'guid') * 0xFFFFFF):06x}"


def ibstat(sim: SimCluster, node: SimNode, args: Sequence[str], t: float) -> Output:
    devices = list(fabric.DEVICES)
    if args[:1] == ["-l"]:
        return 0, "".join(f"{d}\n" for d in devices), ""
    if args:
        if args[0] not in devices:
            return (
                255,
                "",
                f"ibpanic: [{1000 + node.index}] main: stat of IB device '{args[0]}' failed: No such file or directory\n",
            )
        devices = [args[0]]
    hca = firmware.inventory(sim, node)["HCA0"]
    blocks = []
    for device in devices:
        state, phys = fabric.port_state(sim, node.name, device, t)
        guid = _guid(sim, node, device)
        rate = 400 if state == "Active" else 10
        blocks.append(
            f"CA '{device}'\n\tCA type: {HCA_TYPE}\n\tNumber of ports: 1\n\tFirmware version: {hca}\n"
            f"\tHardware version: 0\n\tNode GUID: {guid}\n\tSystem image GUID: {guid}\n\tPort 1:\n"
            f"\t\tState: {state}\n\t\tPhysical state: {phys}\n\t\tRate: {rate}\n"
            f"\t\tBase lid: {node.index * 2 + fabric.DEVICES.index(device)}\n\t\tLMC: 0\n\t\tSM lid: 1\n"
            f"\t\tCapability mask: 0xa751e848\n\t\tPort GUID: {guid}\n\t\tLink layer: InfiniBand\n"
        )
    return 0, "".join(blocks), ""


def mlxlink_ber(value: float) -> str:
    """mlxlink's BER notation: an integer coefficient and a negative exponent; 15E-255 is zero."""
    if value <= 0:
        return "15E-255"
    exponent = math.ceil(-math.log10(value))
    coefficient = round(value * 10**exponent)
    if coefficient >= 10:
        coefficient, exponent = round(coefficient / 10), exponent - 1
    return f"{coefficient}E-{exponent}"


def _row(label: str, value: object) -> str:
    return f"{label:<35}: {value}\n"


def mlxlink(sim: SimCluster, node: SimNode, args: Sequence[str], t: float) -> Output:
    device = None
    for flag in ("-d", "--device"):
        if flag in args and args.index(flag) + 1 < len(args):
            device = args[args.index(flag) + 1]
    if device is None:
        return 1, "", "-E- Please provide a device name using -d|--device flag\n"
    if device not in fabric.DEVICES:
        return 1, "", f'-E- Failed to open device: "{device}", No such file or directory\n'
    state, phys = fabric.port_state(sim, node.name, device, t)
    out = [
        "\nOperational Info\n----------------\n",
        _row("State", state),
        _row("Physical state", phys),
        _row("Speed", "IB-NDR" if state == "Active" else "N/A"),
        _row("Width", "4x" if state == "Active" else "N/A"),
        _row("FEC", "Standard_RS-FEC - (544,514)"),
        _row("Loopback Mode", "No Loopback"),
        _row("Auto Negotiation", "ON"),
        "\nTool Information\n----------------\n",
        _row("Firmware Version", firmware.inventory(sim, node)["HCA0"]),
        _row("amBER Version", "2.22"),
        _row("MFT Version", MFT_VERSION),
    ]
    if "--show_ber" in args or "-c" in args or "--show_counters" in args:
        counters = fabric.ib_counters(sim, node.name, device, t)
        seconds = max(1.0, t - fabric.cleared_at(sim, node.name, device))
        bits = seconds * fabric.LINK_BITS_PER_SECOND
        symbols = int(counters["symbol_error_total"])
        raw = fabric.raw_ber(sim, node.name, device)
        lanes = [
            int(raw * bits / fabric.LANES * (0.7 + 0.6 * fabric.rand01(sim.seed, node.name, device, lane)))
            for lane in range(fabric.LANES)
        ]
        out += [
            "\nPhysical Counters and BER Info\n------------------------------\n",
            _row("Time Since Last Clear [Min]", f"{seconds / 60:.1f}"),
            _row("Symbol Errors", symbols),
            _row("Symbol BER", mlxlink_ber(symbols / bits)),
            _row("Effective Physical Errors", symbols),
            _row("Effective Physical BER", mlxlink_ber(symbols / bits)),
            _row("Raw Physical Errors Per Lane", ",".join(map(str, lanes))),
            _row("Raw Physical BER", mlxlink_ber(sum(lanes) / bits)),
            _row("Link Down Counter", int(counters["link_downed_total"])),
            _row("Link Error Recovery Counter", int(counters["link_error_recovery_total"])),
        ]
    return 0, "".join(out), ""


_SMI_FIELDS: dict[str, Callable[[SimCluster, SimNode, int, float, bool], str]] = {
    "index": lambda s, n, g, t, u: str(g),
    "driver_version": lambda s, n, g, t, u: gpu_tools.DRIVER,
    "name": lambda s, n, g, t, u: GPU_MODEL,
    "uuid": lambda s, n, g, t, u: gpu_uuid(s.seed, n.name, g),
    "pci.bus_id": lambda s, n, g, t, u: pci_bus_id(g),
    "temperature.gpu": lambda s, n, g, t, u: f"{gpu_value(s, n, g, 'GPU_TEMP', t):.0f}",
    "utilization.gpu": lambda s, n, g, t, u: f"{gpu_value(s, n, g, 'GPU_UTIL', t):.0f}" + ("" if u else " %"),
    "memory.used": lambda s, n, g, t, u: f"{gpu_value(s, n, g, 'FB_USED', t):.0f}" + ("" if u else " MiB"),
    "memory.total": lambda s, n, g, t, u: f"{GPU_MEMORY_MIB}" + ("" if u else " MiB"),
    "power.draw": lambda s, n, g, t, u: f"{gpu_value(s, n, g, 'POWER_USAGE', t):.2f}" + ("" if u else " W"),
}


def _lost_line(gpu: int) -> str:
    return (
        f"Unable to determine the device handle for GPU{pci_bus_id(gpu)[4:]}: GPU is lost.  "
        "Reboot the system to recover this GPU\n"
    )


def nvidia_smi(sim: SimCluster, node: SimNode, args: Sequence[str], t: float) -> Output:
    gpus = range(8)
    lost = [g for g in gpus if g in node.lost_gpus]
    status = 15 if lost else 0  # NVML_ERROR_GPU_IS_LOST
    stderr = "".join(_lost_line(g) for g in lost)
    if not args:
        return status, _smi_table(sim, node, t), stderr
    if list(args) == ["-L"]:
        lines = [f"GPU {g}: {GPU_MODEL} (UUID: {gpu_uuid(sim.seed, node.name, g)})\n" for g in gpus if g not in lost]
        return status, "".join(lines), stderr
    query = next((a.split("=", 1)[1] for a in args if a.startswith("--query-gpu=")), None)
    if query is None and "--query-gpu" in args and args.index("--query-gpu") + 1 < len(args):
        query = args[args.index("--query-gpu") + 1]
    fmt = next((a.split("=", 1)[1] for a in args if a.startswith("--format=")), "")
    if query is None or "csv" not in fmt:
        return (
            2,
            "",
            (
                "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.\n"
                "(the simulator supports -L and --query-gpu=... --format=csv[,noheader][,nounits])\n"
            ),
        )
    fields = [f.strip() for f in query.split(",") if f.strip()]
    unknown = [f for f in fields if f not in _SMI_FIELDS]
    if unknown:
        return 2, "", f'Field "{unknown[0]}" is not a valid field to query.\n'
    nounits = "nounits" in fmt
    rows = [] if "noheader" in fmt else [", ".join(fields) + "\n"]
    for g in gpus:
        if g in lost:
            rows.append(", ".join(str(g) if f == "index" else "ERR!" for f in fields) + "\n")
        else:
            rows.append(", ".join(_SMI_FIELDS[f](sim, node, g, t, nounits) for f in fields) + "\n")
    return status, "".join(rows), stderr


SMI_WIDTH = 89  # characters between the outer bars of nvidia-smi's table
_COLUMNS = (41, 24, 22)


def _cells(*cells: tuple[str, str]) -> str:
    """One table row: each cell's left part and right part padded to the column's width."""
    parts = [left + right.rjust(width - len(left)) for (left, right), width in zip(cells, _COLUMNS)]
    return "|" + "|".join(parts) + "|\n"


def _wide(text: str) -> str:
    return "|" + text.ljust(SMI_WIDTH) + "|\n"


def _smi_table(sim: SimCluster, node: SimNode, t: float) -> str:
    """The default ``nvidia-smi`` screen: one three-line block per GPU, then the processes."""
    rule = "+" + "+".join("-" * w for w in _COLUMNS) + "+\n"
    full = "+" + "-" * SMI_WIDTH + "+\n"
    out = [
        time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(t)) + "\n",
        full,
        _wide(" NVIDIA-SMI 550.90.07              Driver Version: 550.90.07      CUDA Version: 12.4"),
        "|" + rule[1:-2] + "|\n",
        _cells((" GPU  Name", "Persistence-M "), (" Bus-Id", "Disp.A "), (" Volatile Uncorr.", "ECC ")),
        _cells((" Fan  Temp   Perf", "Pwr:Usage/Cap "), ("", "Memory-Usage "), (" GPU-Util", "Compute M. ")),
        _cells(("", ""), ("", ""), ("", "MIG M. ")),
        "|" + "+".join("=" * w for w in _COLUMNS) + "|\n",
    ]
    processes = []
    for g in range(8):
        if g in node.lost_gpus:
            continue
        temp, util = gpu_value(sim, node, g, "GPU_TEMP", t) or 0, gpu_value(sim, node, g, "GPU_UTIL", t) or 0
        power, used = gpu_value(sim, node, g, "POWER_USAGE", t) or 0, gpu_value(sim, node, g, "FB_USED", t) or 0
        ecc = int(gpu_value(sim, node, g, "ECC_DBE_VOL_TOTAL", t) or 0)
        out += [
            _cells((f"{g:>4}  {GPU_MODEL}", "On  "), ("", f"{pci_bus_id(g)} Off "), ("", f"{ecc} ")),
            _cells(
                (f" N/A  {temp:>3.0f}C    P0", f"{power:.0f}W /  700W "),
                ("", f"{used:.0f}MiB /  {GPU_MEMORY_MIB}MiB "),
                ("", f"{util:.0f}%      Default "),
            ),
            _cells(("", ""), ("", ""), ("", "Disabled ")),
            rule,
        ]
        if used:
            processes.append(
                _wide(
                    f"  {g:>4}   N/A  N/A  {2000 + 37 * g + node.index:>9}      C   python".ljust(78)
                    + f"{used - 512:.0f}MiB".rjust(10)
                )
            )
    out += [
        "\n",
        full,
        _wide(" Processes:"),
        _wide("  GPU   GI   CI        PID   Type   Process name                              GPU Memory"),
        _wide("        ID   ID                                                               Usage"),
        "|" + "=" * SMI_WIDTH + "|\n",
    ]
    out += processes or [_wide("  No running processes found")]
    out.append(full)
    return "".join(out)


def uptime(sim: SimCluster, node: SimNode, args: Sequence[str], t: float) -> Output:
    up = max(0, int(t - node.booted_at))
    days, rest = divmod(up, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    span = (f"{days} day{'s' if days != 1 else ''}, " if days else "") + (
        f"{hours:2d}:{minutes:02d}" if hours else f"{minutes} min"
    )
    busy = node.gpus_used / 8
    loads = [busy * 96 + 2 * fabric.rand01(sim.seed, node.name, k, int(t // 60)) for k in range(3)]
    clock = time.strftime("%H:%M:%S", time.gmtime(t))
    return 0, f" {clock} up {span},  0 users,  load average: {loads[0]:.2f}, {loads[1]:.2f}, {loads[2]:.2f}\n", ""


def run_command(sim: SimCluster, node: SimNode, argv: Sequence[str], t: float) -> Output:
    if not argv:
        return 1, "", "ssh: empty command\n"
    name, args = argv[0].rsplit("/", 1)[-1], list(argv[1:])
    if name == "hostname":
        return 0, f"{node.name}\n", ""
    if name == "cat":
        if args == ["/etc/dcops-image"]:
            return 0, f"{node.image}\n", ""
        missing = args[0] if args else "-"
        return 1, "", f"cat: {missing}: No such file or directory\n"
    if name == "dmesg":
        return 0, dmesg(sim, node, t), ""
    if name == "dcgmi":
        return gpu_tools.dcgmi(node, args)
    if name == "nvidia-smi" and (extra := gpu_tools.smi_extra(node, args)) is not None:
        return extra
    tools = {"ibstat": ibstat, "mlxlink": mlxlink, "nvidia-smi": nvidia_smi, "uptime": uptime}
    tool = tools.get(name)
    if tool is None:
        return 127, "", f"bash: line 1: {argv[0]}: command not found\n"
    return tool(sim, node, args, t)
