"""Network plumbing for the SSH lab: one network namespace per node on a bridge in the host
namespace, all inside 10.254.1.0/24 (the bridge is .1, node N is .(10+N)); see ``NET``.

Driven through the ``ip`` tool rather than pyroute2: iproute2 is already on every machine the lab
runs on and these are a handful of one-shot commands.
"""

from __future__ import annotations

import os
import subprocess

from tests.lab.slurm.procs import LabError

# DCOPS_LAB_SSH_NET=N puts a second SSH lab (with its own DCOPS_LAB_DIR) in 10.254.N.0/24 under
# other namespace, bridge and veth names, so two labs on one machine never tear down each other's
NET = int(os.environ.get("DCOPS_LAB_SSH_NET") or 1)
BRIDGE = "dcops-sshbr" if NET == 1 else f"dcops-sshbr{NET}"
PREFIX = f"10.254.{NET}"
NS_PREFIX = "dcops-ssh-" if NET == 1 else f"dcops-ssh{NET}-"
VETH_PREFIX = "dcs-" if NET == 1 else f"dc{NET}-"


def ns_name(node: str) -> str:
    return NS_PREFIX + node


def veth_name(node: str) -> str:
    return (VETH_PREFIX + node)[:15]


def address(index: int) -> str:
    return f"{PREFIX}.{10 + index}"


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=15)
    if check and res.returncode != 0:
        raise LabError(f"ip {' '.join(args)}: {res.stderr.strip()}")
    return res


def existing() -> list[str]:
    out = ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(NS_PREFIX)]


def teardown() -> None:
    """Delete every lab namespace, the lab's veths and the bridge. The veths are deleted by name
    too: a namespace lives on (with its end of the pair) while a dying process still holds it."""
    for ns in existing():
        ip("netns", "delete", ns, check=False)
    for line in ip("-o", "link", "show", "type", "veth", check=False).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if name.startswith(VETH_PREFIX):
            ip("link", "delete", name, check=False)
    ip("link", "delete", BRIDGE, check=False)


def setup(nodes: list[str]) -> dict[str, str]:
    """Create the bridge and one namespace per node; node name -> address."""
    ip("link", "add", BRIDGE, "type", "bridge")
    ip("addr", "add", f"{PREFIX}.1/24", "dev", BRIDGE)
    ip("link", "set", BRIDGE, "up")
    addresses = {}
    for index, node in enumerate(nodes, start=1):
        ns, veth = ns_name(node), veth_name(node)
        ip("netns", "add", ns)
        ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        ip("link", "set", veth, "master", BRIDGE, "up")
        ip("-n", ns, "addr", "add", f"{address(index)}/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        ip("-n", ns, "link", "set", "lo", "up")
        addresses[node] = address(index)
    return addresses


def set_link(node: str, up: bool) -> None:
    """Cut or restore a node's cable: with it down, connecting times out."""
    ip("link", "set", veth_name(node), "up" if up else "down")
