"""Run the checks a node must pass before it returns to service, over the SSH port, and judge them.

Checks (each one names itself when it fails, so the on-call knows what to fix):
- ``gpus``: ``nvidia-smi --query-gpu`` shows the expected GPU count, none lost, the expected driver;
- ``nvlink``: ``nvidia-smi nvlink -s`` shows no inactive link;
- ``ib``: ``ibstat`` shows every port Active / LinkUp at the expected rate;
- ``dcgm``: ``dcgmi diag -r LEVEL -j`` passes (levels 1-3; 4 takes over an hour).
The four commands of a node run concurrently; nodes run concurrently up to the SSH adapter's cap.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ..backends.ports import SshPort
from ..config.alerts import ValidateSection
from ..fabric.diag import parse_ibstat
from .dcgm import parse_diag
from .smi import GPU_QUERY, parse_gpus, parse_nvlink_status

DIAG_TIMEOUT = {1: 120.0, 2: 900.0, 3: 3600.0, 4: 3 * 3600.0}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class NodeVerdict:
    node: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def line(self) -> str:
        if self.passed:
            return "passed: " + "; ".join(c.detail for c in self.checks)
        return "failed: " + "; ".join(f"{c.name}: {c.detail}" for c in self.failed)


def _why(res) -> str:  # noqa: ANN001 - CommandResult
    if res.error:
        return res.error
    text = (res.stderr or res.stdout).strip()
    return text.splitlines()[0] if text else f"exit {res.exit_status}"


def _gpus(res, cfg: ValidateSection) -> Check:  # noqa: ANN001
    gpus = parse_gpus(res.stdout) if res.error is None else []
    if not gpus:
        return Check("gpus", False, f"nvidia-smi: {_why(res)}")
    lost = [g.index for g in gpus if g.lost]
    if lost:
        return Check("gpus", False, f"GPU {','.join(map(str, lost))} lost (fell off the bus?)")
    if len(gpus) != cfg.gpus:
        return Check("gpus", False, f"{len(gpus)} GPUs visible, {cfg.gpus} expected")
    drivers = sorted({g.driver for g in gpus})
    if cfg.driver and drivers != [cfg.driver]:
        return Check("gpus", False, f"driver {','.join(drivers)}, {cfg.driver} expected")
    return Check("gpus", True, f"{len(gpus)} GPUs, driver {drivers[0]}")


def _nvlink(res) -> Check:  # noqa: ANN001
    if res.error is not None or res.exit_status != 0:
        return Check("nvlink", False, f"nvidia-smi nvlink: {_why(res)}")
    status = parse_nvlink_status(res.stdout)
    if not status:
        return Check("nvlink", False, "nvidia-smi nvlink -s listed no GPU")
    down = {g: links for g, links in status.items() if links}
    if down:
        g, links = next(iter(sorted(down.items())))
        return Check(
            "nvlink",
            False,
            f"GPU {g} NVLink {','.join(map(str, links))} inactive"
            + (f" (+{len(down) - 1} GPU(s))" if len(down) > 1 else ""),
        )
    return Check("nvlink", True, f"NVLinks of {len(status)} GPUs active")


def _ib(res, cfg: ValidateSection) -> Check:  # noqa: ANN001
    if res.error is not None or res.exit_status != 0:
        return Check("ib", False, f"ibstat: {_why(res)}")
    ports = parse_ibstat(res.stdout)
    if not ports:
        return Check("ib", False, "ibstat listed no port")
    for (dev, num), p in sorted(ports.items()):
        if not p.active:
            return Check("ib", False, f"{dev} port {num} {p.state}/{p.physical_state}")
        try:
            rate = float((p.rate or "0").split()[0])
        except ValueError:
            rate = 0.0
        if rate < cfg.ib_rate_gbps:
            return Check("ib", False, f"{dev} port {num} at {p.rate} Gb/s, {cfg.ib_rate_gbps:g} expected")
    return Check("ib", True, f"{len(ports)} IB port(s) active at {cfg.ib_rate_gbps:g} Gb/s")


def _dcgm(res, level: int) -> Check:  # noqa: ANN001
    if res.error is not None:
        return Check("dcgm", False, f"dcgmi diag -r {level}: {res.error}")
    try:
        report = parse_diag(res.stdout)
    except ValueError as exc:
        return Check("dcgm", False, f"dcgmi diag -r {level}: {exc} ({_why(res)})")
    return Check("dcgm", report.passed, report.line().removeprefix("dcgmi diag: ") + f" (level {level})")


async def validate_node(ssh: SshPort, node: str, level: int, cfg: ValidateSection) -> NodeVerdict:
    gpus, nvlink, ib, diag = await asyncio.gather(
        ssh.run(node, ["nvidia-smi", f"--query-gpu={GPU_QUERY}", "--format=csv,noheader"], timeout=60),
        ssh.run(node, ["nvidia-smi", "nvlink", "-s"], timeout=60),
        ssh.run(node, ["ibstat"], timeout=60),
        ssh.run(node, ["dcgmi", "diag", "-r", str(level), "-j"], timeout=DIAG_TIMEOUT[level]),
    )
    return NodeVerdict(node, [_gpus(gpus, cfg), _nvlink(nvlink), _ib(ib, cfg), _dcgm(diag, level)])
