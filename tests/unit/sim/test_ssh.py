"""The simulated nodes' command outputs parse the way the real tools' outputs do."""

from __future__ import annotations

import re

from dcops.actions.backends.models import CommandResult


def _fields(text: str) -> dict[str, str]:
    """``Label   : value`` lines, as an mlxlink parser reads them."""
    out = {}
    for line in text.splitlines():
        if " : " in line or re.match(r"^\S.*\s+: ", line):
            key, _, value = line.partition(":")
            out[key.strip()] = value.strip()
    return out


def _ber(text: str) -> float:
    coefficient, exponent = text.split("E-")
    return 0.0 if exponent == "255" else int(coefficient) * 10 ** -int(exponent)


async def test_mlxlink_shows_every_ber_field_and_flags_the_bad_cable(backends) -> None:
    bad = await backends.ssh.run("gpu023", ["mlxlink", "-d", "mlx5_0", "--show_ber"])
    good = await backends.ssh.run("gpu001", ["mlxlink", "-d", "mlx5_0", "--show_ber"])
    assert bad.ok and good.ok
    wanted = [
        "Time Since Last Clear [Min]",
        "Symbol Errors",
        "Symbol BER",
        "Effective Physical Errors",
        "Effective Physical BER",
        "Raw Physical Errors Per Lane",
        "Raw Physical BER",
        "Link Down Counter",
        "Link Error Recovery Counter",
    ]
    bad_fields, good_fields = _fields(bad.stdout), _fields(good.stdout)
    for name in wanted:
        assert name in bad_fields and name in good_fields, name
    assert "Physical Counters and BER Info" in bad.stdout
    assert _ber(bad_fields["Effective Physical BER"]) >= 1e-11  # above UFM's NDR error threshold
    assert _ber(bad_fields["Raw Physical BER"]) >= 1e-6
    assert _ber(good_fields["Effective Physical BER"]) < 1e-12
    assert len(bad_fields["Raw Physical Errors Per Lane"].split(",")) == 4
    assert int(bad_fields["Symbol Errors"]) > 1000 and int(good_fields["Symbol Errors"]) < 1000


async def test_mlxlink_unknown_device(backends) -> None:
    result = await backends.ssh.run("gpu001", ["mlxlink", "-d", "mlx5_9", "--show_ber"])
    assert result.exit_status == 1 and "mlx5_9" in result.stderr


async def test_ibstat_reports_active_ndr_ports(backends) -> None:
    result = await backends.ssh.run("gpu001", ["ibstat"])
    assert result.ok
    assert result.stdout.count("CA 'mlx5_") == 2
    assert re.search(r"Port 1:\n\t\tState: Active\n\t\tPhysical state: LinkUp\n\t\tRate: 400\n", result.stdout)
    one = await backends.ssh.run("gpu001", ["ibstat", "mlx5_1"])
    assert one.stdout.startswith("CA 'mlx5_1'") and "mlx5_0" not in one.stdout


async def test_nvidia_smi_lists_eight_gpus(backends) -> None:
    listing = await backends.ssh.run("gpu001", ["nvidia-smi", "-L"])
    assert listing.ok
    lines = listing.stdout.splitlines()
    assert len(lines) == 8 and re.fullmatch(r"GPU 0: NVIDIA H100 80GB HBM3 \(UUID: GPU-[0-9a-f-]{36}\)", lines[0])
    query = [
        "nvidia-smi",
        "--query-gpu=index,name,temperature.gpu,utilization.gpu,memory.used",
        "--format=csv,noheader",
    ]
    rows = (await backends.ssh.run("gpu001", query)).stdout.splitlines()
    assert len(rows) == 8
    index, name, temp, util, mem = rows[0].split(", ")
    assert index == "0" and name == "NVIDIA H100 80GB HBM3"
    assert 20 <= int(temp) <= 95 and util.endswith(" %") and mem.endswith(" MiB")


async def test_nvidia_smi_on_the_xid_node_misses_gpu3(backends) -> None:
    listing = await backends.ssh.run("gpu017", ["nvidia-smi", "-L"])
    assert "GPU 3:" not in listing.stdout and len(listing.stdout.splitlines()) == 7
    assert "GPU is lost" in listing.stderr and listing.exit_status != 0
    query = ["nvidia-smi", "--query-gpu=index,temperature.gpu,memory.used", "--format=csv,noheader,nounits"]
    rows = (await backends.ssh.run("gpu017", query)).stdout.splitlines()
    assert rows[3] == "3, ERR!, ERR!"
    assert rows[0].split(", ")[2].isdigit()


async def test_simple_commands(backends, sim) -> None:
    assert (await backends.ssh.run("gpu005", ["hostname"])).stdout == "gpu005\n"
    image = (await backends.ssh.run("gpu005", ["cat", "/etc/dcops-image"])).stdout.strip()
    assert image == sim.nodes["gpu005"].image and image
    uptime = (await backends.ssh.run("gpu005", ["uptime"])).stdout
    assert re.match(r" \d\d:\d\d:\d\d up \d+ days?, .*load average: [\d.]+, [\d.]+, [\d.]+\n", uptime)


async def test_unknown_command_exits_127(backends) -> None:
    result = await backends.ssh.run("gpu005", ["rm", "-rf", "/"])
    assert result.exit_status == 127 and "command not found" in result.stderr and not result.ok


async def test_down_and_unknown_hosts_report_errors_not_exceptions(backends) -> None:
    down = await backends.ssh.run("gpu009", ["hostname"])
    assert isinstance(down, CommandResult) and down.exit_status is None and "Connection refused" in down.error
    unknown = await backends.ssh.run("nosuch", ["hostname"])
    assert "resolve" in unknown.error


async def test_nvidia_smi_screen_is_a_well_formed_table(backends) -> None:
    result = await backends.ssh.run("gpu017", ["nvidia-smi"])
    lines = result.stdout.splitlines()
    table = [line for line in lines[1:] if line]
    assert {len(line) for line in table} == {91}
    assert sum("NVIDIA H100 80GB HBM3" in line for line in lines) == 7, "the lost GPU is missing"
    assert "GPU is lost" in result.stderr
    idle = await backends.ssh.run("gpu012", ["nvidia-smi"])
    assert "No running processes found" in idle.stdout and idle.ok


async def test_dmesg_tells_the_story(backends) -> None:
    xid = (await backends.ssh.run("gpu017", ["dmesg"])).stdout
    assert re.search(r"^\[\s*\d+\.\d{6}\] NVRM: Xid \(PCI:0000:5d:00\): 79, .*fallen off the bus", xid, re.M)
    assert "Xid (PCI:0000:ab:00): 48" in (await backends.ssh.run("gpu052", ["dmesg"])).stdout
    assert "Link down" in (await backends.ssh.run("gpu031", ["dmesg"])).stdout
    assert "Xid" not in (await backends.ssh.run("gpu001", ["dmesg"])).stdout
