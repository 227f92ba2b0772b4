"""Stand-in ``ibstat``, ``mlxlink`` and ``nvidia-smi`` for lab nodes: the real tools' output formats,
values from the node's state files (``state.py``).

Run by per-node wrapper scripts on the node's PATH as
``python3 -I -S standin.py STATE_DIR HOST TOOL ARGS...``; it imports nothing from dcops (it runs inside the
node's sshd session with the system Python), only ``state.py`` beside it.
"""

from __future__ import annotations

import math
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import state as st  # the module beside it (this stand-alone script's directory is on sys.path)


def mlxlink_ber(value: float) -> str:
    """mlxlink's BER notation ``<coef>E-<exp>``; ``15E-255`` means zero."""
    if value <= 0:
        return "15E-255"
    exponent = math.ceil(-math.log10(value))
    coefficient = round(value * 10**exponent)
    if coefficient >= 10:
        coefficient, exponent = round(coefficient / 10), exponent - 1
    return f"{coefficient}E-{exponent}"


def _row(label: str, value: object) -> str:
    return f"{label:<35}: {value}\n"


def _guid(host: str, device: str) -> str:
    digits = "".join(c for c in host if c.isdigit()) or "0"
    return f"0x946dae0300{int(digits) % 0xFFFF:04x}{st.DEVICES.index(device) if device in st.DEVICES else 9:02x}"


def ibstat(state_dir: Path, host: str, args: list[str]) -> int:
    ports = st.load(state_dir, "ibstat.json")
    devices = list(st.DEVICES)
    if args[:1] == ["-l"]:
        sys.stdout.write("".join(f"{d}\n" for d in devices))
        return 0
    if args:
        if args[0] not in devices:
            sys.stderr.write(f"ibpanic: [1] main: stat of IB device '{args[0]}' failed: No such file or directory\n")
            return 255
        devices = [args[0]]
    for device in devices:
        port = {
            "state": "Active",
            "physical_state": "LinkUp",
            "rate": 400,
            "firmware": "28.39.1002",
            **ports.get(device, {}),
        }
        guid = _guid(host, device)
        sys.stdout.write(
            f"CA '{device}'\n\tCA type: MT4129\n\tNumber of ports: 1\n\tFirmware version: {port['firmware']}\n"
            f"\tHardware version: 0\n\tNode GUID: {guid}\n\tSystem image GUID: {guid}\n\tPort 1:\n"
            f"\t\tState: {port['state']}\n\t\tPhysical state: {port['physical_state']}\n\t\tRate: {port['rate']}\n"
            f"\t\tBase lid: {st.DEVICES.index(device) + 1}\n\t\tLMC: 0\n\t\tSM lid: 1\n"
            f"\t\tCapability mask: 0xa751e848\n\t\tPort GUID: {guid}\n\t\tLink layer: InfiniBand\n"
        )
    return 0


def mlxlink(state_dir: Path, args: list[str]) -> int:
    device = None
    for flag in ("-d", "--device"):
        if flag in args and args.index(flag) + 1 < len(args):
            device = args[args.index(flag) + 1]
    if device is None:
        sys.stderr.write("-E- Please provide a device name using -d|--device flag\n")
        return 1
    if device not in st.DEVICES:
        sys.stderr.write(f'-E- Failed to open device: "{device}", No such file or directory\n')
        return 1
    v = {
        "state": "Active",
        "physical_state": "LinkUp",
        "speed": "IB-NDR",
        "width": "4x",
        "minutes_since_clear": 720.0,
        "symbol_errors": 0,
        "effective_errors": 0,
        "raw_errors_per_lane": [0, 0, 0, 0],
        "link_down": 0,
        "link_error_recovery": 0,
        **st.load(state_dir, f"mlxlink/{device}.json"),
    }
    up = v["state"] == "Active"
    out = [
        "\nOperational Info\n----------------\n",
        _row("State", v["state"]),
        _row("Physical state", v["physical_state"]),
        _row("Speed", v["speed"] if up else "N/A"),
        _row("Width", v["width"] if up else "N/A"),
        _row("FEC", "Standard_RS-FEC - (544,514)"),
        _row("Loopback Mode", "No Loopback"),
        _row("Auto Negotiation", "ON"),
        "\nTool Information\n----------------\n",
        _row("Firmware Version", "28.39.1002"),
        _row("amBER Version", "2.22"),
        _row("MFT Version", "mft 4.26.1-3"),
    ]
    if "--show_ber" in args or "-c" in args or "--show_counters" in args:
        bits = max(60.0, float(v["minutes_since_clear"]) * 60) * st.LINK_BITS_PER_SECOND
        lanes = [int(x) for x in v["raw_errors_per_lane"]]
        sym_ber = v.get("symbol_ber", int(v["symbol_errors"]) / bits)
        eff_ber = v.get("effective_ber", int(v["effective_errors"]) / bits)
        raw_ber = v.get("raw_ber", sum(lanes) / bits)
        out += [
            "\nPhysical Counters and BER Info\n------------------------------\n",
            _row("Time Since Last Clear [Min]", f"{float(v['minutes_since_clear']):.1f}"),
            _row("Symbol Errors", int(v["symbol_errors"])),
            _row("Symbol BER", mlxlink_ber(float(sym_ber))),
            _row("Effective Physical Errors", int(v["effective_errors"])),
            _row("Effective Physical BER", mlxlink_ber(float(eff_ber))),
            _row("Raw Physical Errors Per Lane", ",".join(map(str, lanes))),
            _row("Raw Physical BER", mlxlink_ber(float(raw_ber))),
            _row("Link Down Counter", int(v["link_down"])),
            _row("Link Error Recovery Counter", int(v["link_error_recovery"])),
        ]
    sys.stdout.write("".join(out))
    return 0


_SMI_DEFAULTS = {
    "name": st.GPU_MODEL,
    "temperature.gpu": 45,
    "utilization.gpu": 0,
    "memory.used": 0,
    "memory.total": st.GPU_MEMORY_MIB,
    "power.draw": 70.0,
}
_UNITS = {"utilization.gpu": " %", "memory.used": " MiB", "memory.total": " MiB", "power.draw": " W"}


def _gpu(host: str, index: int, overrides: dict, driver: str = "535.104.05") -> dict:
    return {
        **_SMI_DEFAULTS,
        "index": index,
        "driver_version": driver,
        "pci.bus_id": f"00000000:{0x18 + index * 0x10:02X}:00.0",
        "uuid": f"GPU-{zlib.crc32(host.encode()):08x}-0000-4000-8000-{index:012d}",
        **overrides,
    }


def nvidia_smi(state_dir: Path, host: str, args: list[str]) -> int:
    import standin_gpu

    extra = standin_gpu.nvidia_smi_extra(state_dir, args)
    if extra is not None:
        return extra
    data = st.load(state_dir, "nvidia-smi.json")
    lost = set(data.get("lost", []))
    gpus = [
        _gpu(host, i, data.get("gpus", {}).get(str(i), {}), data.get("driver", "535.104.05"))
        for i in range(st.GPU_COUNT)
    ]
    status = 15 if lost else 0
    for g in sorted(lost):
        sys.stderr.write(
            f"Unable to determine the device handle for GPU{gpus[g]['pci.bus_id'][4:]}: GPU is lost.  "
            "Reboot the system to recover this GPU\n"
        )
    if args == ["-L"]:
        sys.stdout.write(
            "".join(f"GPU {g['index']}: {g['name']} (UUID: {g['uuid']})\n" for g in gpus if g["index"] not in lost)
        )
        return status
    query = next((a.split("=", 1)[1] for a in args if a.startswith("--query-gpu=")), None)
    fmt = next((a.split("=", 1)[1] for a in args if a.startswith("--format=")), "")
    if query is None or "csv" not in fmt:
        sys.stderr.write(
            "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.\n"
            "(the lab stand-in supports -L and --query-gpu=... --format=csv[,noheader][,nounits])\n"
        )
        return 2
    fields = [f.strip() for f in query.split(",") if f.strip()]
    unknown = [f for f in fields if f not in gpus[0]]
    if unknown:
        sys.stderr.write(f'Field "{unknown[0]}" is not a valid field to query.\n')
        return 2
    nounits = "nounits" in fmt
    if "noheader" not in fmt:
        sys.stdout.write(
            ", ".join(f + (f" [{_UNITS[f].strip()}]" if f in _UNITS and not nounits else "") for f in fields) + "\n"
        )
    for g in gpus:
        if g["index"] in lost:
            sys.stdout.write(", ".join(str(g["index"]) if f == "index" else "ERR!" for f in fields) + "\n")
        else:
            sys.stdout.write(", ".join(f"{g[f]}{'' if nounits else _UNITS.get(f, '')}" for f in fields) + "\n")
    return status


def main(argv: list[str]) -> int:
    state_dir, host, tool, args = Path(argv[0]), argv[1], argv[2], argv[3:]
    if tool == "ibstat":
        return ibstat(state_dir, host, args)
    if tool == "mlxlink":
        return mlxlink(state_dir, args)
    if tool == "nvidia-smi":
        return nvidia_smi(state_dir, host, args)
    if tool == "dcgmi":
        import standin_gpu

        return standin_gpu.dcgmi(state_dir, args)
    sys.stderr.write(f"{tool}: not a lab stand-in\n")
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
