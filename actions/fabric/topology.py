"""The InfiniBand fabric's cabling: which port is wired to which, and what the cable is.

Triage needs both ends of a link (a bad cable shows on one end, a flap on both) and the link's
speed and media (BER thresholds depend on them). The file format is one cable per line, so it
diffs and greps well and can be produced from ``ibnetdiscover`` (see :mod:`.ibnetdiscover`):

    # comment
    gpu023:mlx5_0:1  <->  ibsw-r03-a:7   speed=NDR width=4x media=DAC length_m=2
    ibsw-r03-a:33    <->  ibsw-s01:3     speed=NDR media=optical

An endpoint is ``NODE:DEVICE:PORT`` for a host's HCA port (device as ``ibstat`` names it) or
``SWITCH:PORT`` for a switch port. Attributes are optional: ``speed`` (EDR, HDR, NDR, XDR;
default NDR), ``width`` (default 4x), ``media`` (DAC, ACC, AOC/optical; default DAC), ``fec``
(when known), ``length_m``, ``part_number``. The simulator's ``fabric_links`` dicts use the same
endpoint strings (``{"a": ..., "b": ..., "speed": ...}``), read by :meth:`Topology.from_dicts`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UsageError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ATTRS = ("speed", "width", "media", "fec", "length_m", "part_number")
SPEEDS = {"SDR": 10, "DDR": 20, "QDR": 40, "FDR": 56, "EDR": 100, "HDR": 200, "NDR": 400, "XDR": 800}  # Gb/s at 4x


@dataclass(frozen=True, order=True)
class Endpoint:
    """One end of a cable. ``device`` is set for a host HCA port and None for a switch port."""

    name: str
    port: int
    device: str | None = None

    @property
    def is_host(self) -> bool:
        return self.device is not None

    def __str__(self) -> str:
        return f"{self.name}:{self.device}:{self.port}" if self.is_host else f"{self.name}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        parts = text.strip().split(":")
        if len(parts) == 3 and _NAME.match(parts[0]) and _NAME.match(parts[1]) and parts[2].isdigit():
            return cls(name=parts[0], device=parts[1], port=int(parts[2]))
        if len(parts) == 2 and _NAME.match(parts[0]) and parts[1].isdigit():
            return cls(name=parts[0], port=int(parts[1]))
        raise ValueError(f"{text!r} is not an endpoint (NODE:DEVICE:PORT or SWITCH:PORT)")


@dataclass(frozen=True)
class Link:
    a: Endpoint
    b: Endpoint
    speed: str = "NDR"
    width: str = "4x"
    media: str = "DAC"
    fec: str | None = None
    length_m: float | None = None
    part_number: str | None = None

    @property
    def ends(self) -> tuple[Endpoint, Endpoint]:
        return (self.a, self.b)

    @property
    def host_nodes(self) -> list[str]:
        return sorted({e.name for e in self.ends if e.is_host})

    @property
    def bits_per_second(self) -> float:
        lanes = int(self.width.rstrip("xX") or 4)
        return SPEEDS.get(self.speed.upper(), 400) * 1e9 * lanes / 4

    def other(self, end: Endpoint) -> Endpoint:
        return self.b if end == self.a else self.a

    def __str__(self) -> str:
        return f"{self.a} <-> {self.b}"

    def to_line(self) -> str:
        attrs = " ".join(
            f"{k}={getattr(self, k):g}" if isinstance(getattr(self, k), float) else f"{k}={getattr(self, k)}"
            for k in _ATTRS
            if getattr(self, k) is not None
        )
        return f"{self.a}  <->  {self.b}  {attrs}".rstrip()


@dataclass
class Topology:
    links: list[Link] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_end: dict[Endpoint, Link] = {}
        for link in self.links:
            for end in link.ends:
                if end in self._by_end:
                    raise ConfigError(f"topology: port {end} is cabled twice ({self._by_end[end]} and {link})")
                self._by_end[end] = link

    def link_of(self, end: Endpoint) -> Link | None:
        return self._by_end.get(end)

    def host_ports(self) -> list[Endpoint]:
        return sorted(e for e in self._by_end if e.is_host)

    def select(self, spec: str) -> list[tuple[Endpoint, Link]]:
        """Host ports matching ``NODE[:DEVICE[:PORT]]`` with their links; a clear error if none."""
        parts = spec.strip().split(":")
        if not 1 <= len(parts) <= 3 or not all(parts) or (len(parts) == 3 and not parts[2].isdigit()):
            raise UsageError(
                f"{spec!r} is not a port; use NODE, NODE:DEVICE or NODE:DEVICE:PORT (e.g. gpu023:mlx5_0:1)"
            )
        node, device = parts[0], parts[1] if len(parts) > 1 else None
        port = int(parts[2]) if len(parts) > 2 else None
        found = [
            (e, self._by_end[e])
            for e in self.host_ports()
            if e.name == node and (device is None or e.device == device) and (port is None or e.port == port)
        ]
        if not found:
            known = sorted({str(e) for e in self.host_ports() if e.name == node})
            hint = (
                f"; {node} has {', '.join(known)}" if known else f"; no cabled HCA port of {node!r} is in the topology"
            )
            raise UsageError(f"no link for {spec!r} in the fabric topology{hint}")
        return found

    # ------------------------------------------------------------ reading and writing

    @classmethod
    def from_text(cls, text: str, source: str = "<topology>") -> Topology:
        links = []
        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                links.append(_parse_line(line))
            except ValueError as exc:
                raise ConfigError(f"{source}:{lineno}: {exc}") from None
        return cls(links)

    @classmethod
    def from_file(cls, path: str | Path) -> Topology:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read fabric topology {path}: {exc.strerror or exc}") from None
        return cls.from_text(text, source=str(path))

    @classmethod
    def from_dicts(cls, items: Iterable[Mapping[str, Any]]) -> Topology:
        links = []
        for item in items:
            try:
                attrs = {k: item[k] for k in _ATTRS if item.get(k) is not None}
                links.append(_make_link(str(item["a"]), str(item["b"]), attrs))
            except (KeyError, ValueError) as exc:
                raise ConfigError(f"topology: bad link {dict(item)!r}: {exc}") from None
        return cls(links)

    def to_text(self) -> str:
        head = "# dcops fabric topology: ENDPOINT <-> ENDPOINT [speed= width= media= fec= length_m= part_number=]\n"
        return head + "".join(link.to_line() + "\n" for link in self.links)


def _make_link(a: str, b: str, attrs: Mapping[str, Any]) -> Link:
    unknown = set(attrs) - set(_ATTRS)
    if unknown:
        raise ValueError(f"unknown attribute {sorted(unknown)[0]!r} (known: {', '.join(_ATTRS)})")
    kw: dict[str, Any] = {k: str(v) for k, v in attrs.items() if k != "length_m"}
    if "length_m" in attrs:
        kw["length_m"] = float(attrs["length_m"])
    if "speed" in kw and kw["speed"].upper() not in SPEEDS:
        raise ValueError(f"unknown speed {kw['speed']!r} (known: {', '.join(SPEEDS)})")
    return Link(a=Endpoint.parse(a), b=Endpoint.parse(b), **kw)


def _parse_line(line: str) -> Link:
    words = line.split()
    if len(words) < 3 or words[1] != "<->":
        raise ValueError(f"expected 'ENDPOINT <-> ENDPOINT [key=value ...]', got {line!r}")
    attrs: dict[str, str] = {}
    for word in words[3:]:
        key, eq, value = word.partition("=")
        if not eq or not value:
            raise ValueError(f"expected key=value, got {word!r}")
        attrs[key] = value
    return _make_link(words[0], words[2], attrs)
