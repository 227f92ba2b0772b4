"""Produce a dcops topology from ``ibnetdiscover`` output (the default, non-list format).

ibnetdiscover prints one block per node (``Switch`` or ``Ca``) with a line per connected port:

    Switch  48 "S-946dae0300a1b200"   # "MF0;ibsw-r03-a:MQM9700/U1" enhanced port 0 lid 3 lmc 0
    [7]     "H-946dae0300c0ffee"[1](946dae0300c0ffef)   # "gpu023 mlx5_0" lid 47 4xNDR

    Ca      1 "H-946dae0300c0ffee"    # "gpu023 mlx5_0"
    [1](946dae0300c0ffef)   "S-946dae0300a1b200"[7]   # lid 47 lmc 0 "MF0;ibsw-r03-a:MQM9700/U1" lid 3 4xNDR

Names come from the node descriptions: a CA's is "HOST DEVICE" (the usual ``hostname mlx5_0``
node description), a switch's the text between ``;`` and ``:`` of "MF0;NAME:MODEL/U1" or else the
whole description. Each cable is listed once although both of its ends print it. Media and FEC
are not in ibnetdiscover's output: links get the default media unless ``media`` is given.

Run as ``python -m dcops.actions.fabric.ibnetdiscover FILE > topology.txt``.
"""

from __future__ import annotations

import re
import sys

from .topology import Endpoint, Link, Topology

_HEADER = re.compile(r'^(Switch|Ca)\s+\d+\s+"([^"]+)"\s*#\s*"([^"]*)"')
_PORT = re.compile(r'^\[(\d+)\](?:\([0-9a-fx]+\))?\s+"([^"]+)"\[(\d+)\](?:\([0-9a-fx]+\))?\s*#?(.*)$')
_SPEED = re.compile(r"\b(\d+)x(SDR|DDR|QDR|FDR10|FDR|EDR|HDR|NDR|XDR)\b")


def _name(kind: str, desc: str, guid: str) -> tuple[str, str | None]:
    if kind == "Ca":
        words = desc.split()
        if len(words) >= 2:
            return words[0], words[1]
        return (words[0] if words else guid), "mlx5_0"
    m = re.match(r"^[^;]*;([^:]+):", desc)
    return (m.group(1) if m else (desc.split() or [guid])[0]), None


def parse(text: str, media: str = "DAC") -> Topology:
    """Parse ibnetdiscover output; raises ValueError naming the line it cannot read."""
    nodes: dict[str, tuple[str, str | None]] = {}
    blocks: list[tuple[str, list[tuple[int, str, int, str, str]]]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#") or "=" in line.split()[0]:
            continue  # comments and vendid=/devid=/sysimgguid=/switchguid=/caguid= lines
        if m := _HEADER.match(line):
            kind, guid, desc = m.groups()
            nodes[guid] = _name(kind, desc, guid)
            blocks.append((guid, []))
        elif m := _PORT.match(line):
            if not blocks:
                raise ValueError(f"line {lineno}: a port line before any Switch/Ca line")
            port, peer, peer_port, rest = m.groups()
            sp = _SPEED.search(rest)
            blocks[-1][1].append(
                (int(port), peer, int(peer_port), sp.group(1) if sp else "4", sp.group(2) if sp else "NDR")
            )
        else:
            raise ValueError(f"line {lineno}: not ibnetdiscover output: {line[:80]!r}")
    links: dict[frozenset[Endpoint], Link] = {}
    for guid, ports in blocks:
        for port, peer, peer_port, width, speed in ports:
            if peer not in nodes:
                continue  # the peer's own block is missing (a partial scan): nothing to name it by
            a = _endpoint(nodes[guid], port)
            b = _endpoint(nodes[peer], peer_port)
            key = frozenset((a, b))
            if key not in links:
                first, second = sorted((a, b), key=lambda e: (not e.is_host, str(e)))
                links[key] = Link(
                    a=first, b=second, speed="FDR" if speed == "FDR10" else speed, width=f"{width}x", media=media
                )
    return Topology(list(links.values()))


def _endpoint(node: tuple[str, str | None], port: int) -> Endpoint:
    name, device = node
    return Endpoint(name=name, port=port, device=device)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(
            "usage: python -m dcops.actions.fabric.ibnetdiscover IBNETDISCOVER_OUTPUT > topology.txt", file=sys.stderr
        )
        return 2
    try:
        with open(args[0]) as f:
            print(parse(f.read()).to_text(), end="")
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
