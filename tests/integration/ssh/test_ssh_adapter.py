"""dcops' SSH adapter against real sshd "nodes" (one network namespace each)."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from dcops.actions.backends.ssh import SshAdapter
from dcops.actions.config.ssh import SshSection
from dcops.actions.fabric.diag import parse_ibstat, parse_mlxlink
from tests.lab import sshnodes


async def run_many(adapter: SshAdapter, hosts: list[str], argv: list[str]) -> dict:
    """One command on many nodes at once, as the actions fan out (the port has no run_many)."""
    return dict(zip(hosts, await asyncio.gather(*(adapter.run(h, argv) for h in hosts))))


async def test_every_node_answers_under_its_slurm_name_with_its_own_hostname(
    ssh: SshAdapter, nodes: sshnodes.SshNodesLab
) -> None:
    results = await run_many(ssh, nodes.nodes, ["hostname"])
    assert sorted(results) == sorted(nodes.nodes)
    assert {h: r.stdout.strip() for h, r in results.items()} == {n: n for n in nodes.nodes}
    assert all(r.ok and r.exit_status == 0 for r in results.values())


async def test_one_node_with_sshd_down_fails_alone(ssh: SshAdapter, nodes: sshnodes.SshNodesLab) -> None:
    nodes.stop_sshd("gpu005")
    results = await run_many(ssh, nodes.nodes, ["hostname"])
    assert results["gpu005"].exit_status is None
    assert results["gpu005"].error == f"ssh: connect to host {nodes.addresses['gpu005']} port 22: Connection refused"
    others = {h: r for h, r in results.items() if h != "gpu005"}
    assert len(others) == 15 and all(r.ok and r.stdout.strip() == h for h, r in others.items())


async def test_a_cut_link_times_out_within_the_connect_timeout_and_others_succeed(
    ssh: SshAdapter, nodes: sshnodes.SshNodesLab
) -> None:
    nodes.link_down("gpu009")
    results = await run_many(ssh, ["gpu008", "gpu009", "gpu010"], ["true"])
    assert results["gpu009"].error is not None and "timed out" in results["gpu009"].error
    assert results["gpu009"].duration < 5.0  # bounded by connect_timeout=2, not the OS's minutes
    assert results["gpu008"].ok and results["gpu010"].ok


async def test_a_host_missing_from_known_hosts_is_refused(nodes: sshnodes.SshNodesLab, tmp_path: Path) -> None:
    partial = tmp_path / "known_hosts"
    partial.write_text(
        "".join(line + "\n" for line in nodes.known_hosts.read_text().splitlines() if not line.startswith("gpu002,"))
    )
    adapter = SshAdapter(SshSection(**nodes.ssh_config(known_hosts=str(partial))))
    try:
        results = await run_many(adapter, ["gpu001", "gpu002"], ["hostname"])
    finally:
        await adapter.aclose()
    assert results["gpu001"].ok
    assert results["gpu002"].exit_status is None
    assert results["gpu002"].error.startswith(f"ssh: host key for {nodes.addresses['gpu002']} is unknown or changed")


async def test_a_wrong_host_key_is_refused(nodes: sshnodes.SshNodesLab, tmp_path: Path) -> None:
    lines = nodes.known_hosts.read_text().splitlines()
    key_of_1 = lines[0].split(" ", 1)[1]
    swapped = tmp_path / "known_hosts"
    swapped.write_text(
        "".join((line.split(" ")[0] + " " + key_of_1 if line.startswith("gpu003,") else line) + "\n" for line in lines)
    )
    adapter = SshAdapter(SshSection(**nodes.ssh_config(known_hosts=str(swapped))))
    try:
        result = await adapter.run("gpu003", ["hostname"])
    finally:
        await adapter.aclose()
    assert result.error is not None and "host key" in result.error and result.stdout == ""


async def test_shell_metacharacters_reach_the_node_as_literal_words(
    ssh: SshAdapter, nodes: sshnodes.SshNodesLab, tmp_path: Path
) -> None:
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    words = [
        f"a; touch {marker}",
        f"$(touch {marker})",
        f"`touch {marker}`",
        f"| touch {marker}",
        "&& id",
        "'quoted' \"double\"",
        "new\nline",
        "*",
        "~root",
        "$HOME",
    ]
    result = await ssh.run("gpu001", ["printf", "%s\\n", *words])
    assert result.ok
    assert result.stdout.split("\n")[:-1] == [w for word in words for w in word.split("\n")]
    assert not marker.exists()


async def test_a_shell_string_is_refused_before_connecting(ssh: SshAdapter) -> None:
    with pytest.raises(TypeError):
        await ssh.run("gpu001", "hostname; id")  # type: ignore[arg-type]
    assert ssh._conns == {}


async def test_connections_are_reused_per_host(ssh: SshAdapter) -> None:
    await ssh.run("gpu004", ["true"])
    first = ssh._conns["gpu004"]
    await asyncio.gather(*(ssh.run("gpu004", ["true"]) for _ in range(6)))
    assert ssh._conns["gpu004"] is first and list(ssh._conns) == ["gpu004"]


async def test_a_dropped_connection_is_reopened(ssh: SshAdapter, nodes: sshnodes.SshNodesLab) -> None:
    await ssh.run("gpu006", ["true"])
    first = ssh._conns["gpu006"]
    first.close()
    await first.wait_closed()
    assert (await ssh.run("gpu006", ["hostname"])).stdout.strip() == "gpu006"
    assert ssh._conns["gpu006"] is not first


async def test_a_restarted_sshd_costs_one_reconnect_not_an_error(ssh: SshAdapter, nodes: sshnodes.SshNodesLab) -> None:
    await ssh.run("gpu003", ["true"])
    nodes.stop_sshd("gpu003")  # kills the connection's server side too
    nodes.start_sshd("gpu003")
    nodes.wait_ready(["gpu003"])
    result = await ssh.run("gpu003", ["hostname"])
    assert result.ok and result.stdout.strip() == "gpu003", result.error


async def _max_concurrent(nodes: sshnodes.SshNodesLab, max_per_host: int, tmp_path: Path) -> int:
    """Six commands at once on one host; each records how many others were running beside it."""
    room = tmp_path / f"room{max_per_host}"
    room.mkdir()
    script = f"touch {room}/$$; n=$(ls {room} | wc -l); sleep 0.4; rm {room}/$$; echo $n"
    adapter = SshAdapter(SshSection(**nodes.ssh_config(max_per_host=max_per_host)))
    try:
        results = await asyncio.gather(*(adapter.run("gpu007", ["sh", "-c", script]) for _ in range(6)))
    finally:
        await adapter.aclose()
    assert all(r.ok for r in results), [r.error or r.stderr for r in results]
    return max(int(r.stdout) for r in results)


async def test_sessions_per_host_are_capped(nodes: sshnodes.SshNodesLab, tmp_path: Path) -> None:
    assert await _max_concurrent(nodes, 2, tmp_path) <= 2
    assert await _max_concurrent(nodes, 6, tmp_path) > 2  # the check above can fail


async def test_a_command_over_its_timeout_is_reported_for_that_host(ssh: SshAdapter) -> None:
    results = await asyncio.gather(ssh.run("gpu010", ["sleep", "5"], timeout=0.5), ssh.run("gpu011", ["true"]))
    assert results[0].error == "ssh: gpu010: command did not finish within 0.5 s"
    assert results[1].ok


async def test_exit_status_and_stderr_come_back(ssh: SshAdapter) -> None:
    result = await ssh.run("gpu012", ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.exit_status, result.stdout, result.stderr, result.ok) == (3, "out\n", "err\n", False)


async def test_stand_in_mlxlink_prints_the_values_a_test_writes(ssh: SshAdapter, nodes: sshnodes.SshNodesLab) -> None:
    nodes.set_mlxlink(
        "gpu013",
        "mlx5_0",
        symbol_errors=1234,
        effective_errors=12,
        link_down=3,
        raw_errors_per_lane=[10, 20, 30, 40],
        minutes_since_clear=12.0,
    )
    bad, healthy = (await run_many(ssh, ["gpu013", "gpu014"], ["mlxlink", "-d", "mlx5_0", "--show_ber"])).values()
    ber = parse_mlxlink(bad.stdout)
    assert (ber.symbol_errors, ber.effective_errors, ber.link_down, ber.raw_errors_per_lane) == (
        1234,
        12,
        3,
        (10, 20, 30, 40),
    )
    assert ber.minutes_since_clear == 12.0
    assert ber.symbol_ber == pytest.approx(1234 / (12 * 60 * 400e9), rel=0.1)
    assert parse_mlxlink(healthy.stdout).symbol_errors == 0 and parse_mlxlink(healthy.stdout).symbol_ber == 0.0


async def test_stand_in_ibstat_and_nvidia_smi_follow_their_state_files(
    ssh: SshAdapter, nodes: sshnodes.SshNodesLab
) -> None:
    nodes.set_ibstat("gpu015", "mlx5_1", state="Down", physical_state="Polling", rate=10)
    nodes.set_gpus("gpu015", lost=[3], gpu0={"temperature.gpu": 91})
    ib = parse_ibstat((await ssh.run("gpu015", ["ibstat"])).stdout)
    assert {k[0]: p.state for k, p in ib.items()} == {"mlx5_0": "Active", "mlx5_1": "Down"}
    smi = await ssh.run("gpu015", ["nvidia-smi", "--query-gpu=index,temperature.gpu", "--format=csv,noheader"])
    assert smi.exit_status == 15 and "GPU is lost" in smi.stderr
    assert smi.stdout.splitlines()[0] == "0, 91" and smi.stdout.splitlines()[3] == "3, ERR!"


async def test_open_connections_stay_within_max_parallel(nodes: sshnodes.SshNodesLab) -> None:
    adapter = SshAdapter(SshSection(**nodes.ssh_config(max_parallel=4)))
    try:
        results = await run_many(adapter, nodes.nodes, ["hostname"])
        assert all(r.ok and r.stdout.strip() == h for h, r in results.items()) and len(results) == 16
        assert len(adapter._conns) <= 4
    finally:
        await adapter.aclose()


@pytest.mark.slow
async def test_a_node_dropped_mid_fan_out_fails_alone_and_the_others_finish(nodes: sshnodes.SshNodesLab) -> None:
    """The link of one node goes down while a command runs on all 16 (connections already open, the
    command mid-way): that node fails with one line within the command timeout, the other 15 finish
    with their output, and once the link is back the node answers again."""
    adapter = SshAdapter(SshSection(**nodes.ssh_config(connect_timeout=2.0, command_timeout=4.0)))
    hosts = [f"gpu{i:03d}" for i in range(1, 17)]
    try:
        warm = await run_many(adapter, hosts, ["true"])  # connections open: a mid-session drop
        assert all(r.ok for r in warm.values())
        fan = asyncio.ensure_future(run_many(adapter, hosts, ["sh", "-c", "sleep 1.5; hostname"]))
        await asyncio.sleep(0.5)
        nodes.link_down("gpu007")
        t0 = time.monotonic()
        results = await fan
        waited = time.monotonic() - t0
        dropped = results["gpu007"]
        assert not dropped.ok and dropped.error and "gpu007" in dropped.error and "\n" not in dropped.error
        assert {h: r.stdout.strip() for h, r in results.items() if h != "gpu007"} == {
            h: h for h in hosts if h != "gpu007"
        }
        assert waited < 4.0 + 2.0  # bounded by the command timeout
        nodes.link_up("gpu007")
        again = await adapter.run("gpu007", ["hostname"])
        assert again.ok and again.stdout.strip() == "gpu007", again.error
    finally:
        nodes.link_up("gpu007")
        await adapter.aclose()
