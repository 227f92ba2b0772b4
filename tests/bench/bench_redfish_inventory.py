"""Firmware inventory of N lab BMCs with 0.2-2 s latency per request, side by side in one run:

- dcops CLI (``dcops run firmware``: process start, engine, audit, adapter) and the engine in-process;
- DMTF ``redfish.aio.AsyncRedfishClient`` doing the same reads (the library the adapter did not use);
- Ansible's community.general.redfish_info (GetFirmwareInventory) with forks 16 and 64;
- the critical path: the sequential round trips one BMC needs (counted by the lab for the dcops
  run) x the mean injected latency, and the measured floor (the slowest BMC's own injected delays).

Run by hand:  .venv/bin/python -m tests.bench.bench_redfish_inventory [--nodes 64] [--rounds 3]
It starts its own lab (DCOPS_LAB_DIR/bench, ports from 18700) and stops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
os.environ["DCOPS_LAB_DIR"] = str(Path(os.environ.get("DCOPS_LAB_DIR", "/tmp/dcops-lab")) / "bench")
os.environ.setdefault("DCOPS_LAB_BMC_PORT", "18700")

from tests.lab import bmc as lab_bmc  # noqa: E402

POLICY = '[roles.all]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'
PLAY = """- hosts: all
  gather_facts: false
  connection: local
  tasks:
    - community.general.redfish_info:
        category: Update
        command: GetFirmwareInventory
        baseuri: "{{ baseuri }}"
        username: "{{ bmc_user }}"
        password: "{{ bmc_password }}"
        validate_certs: true
        ca_path: "{{ bmc_ca }}"
        timeout: 60
      register: fw
    - ansible.builtin.assert:
        that: fw.redfish_facts.firmware.entries | length == 11
        quiet: true
"""


def write_config(work: Path, lab: lab_bmc.LabBmcs, nodes: int) -> Path:
    (work / "policy.toml").write_text(POLICY)
    cfg = work / "dcops.toml"
    cfg.write_text(
        f"""[cluster]
name = "bench"
[audit]
url = "sqlite:///{work / "audit.db"}"
[policy]
path = "{work / "policy.toml"}"
[[nodes]]
names = "gpu[001-{nodes:03d}]"
partitions = ["gpu"]
"""
        + lab.redfish_toml()
    )
    return cfg


def hostlist(nodes: int) -> str:
    return f"gpu[001-{nodes:03d}]"


def run_dcops_cli(cfg: Path, nodes: int) -> float:
    t = time.perf_counter()
    out = subprocess.run(
        [
            str(Path(sys.executable).with_name("dcops")),
            "--config",
            str(cfg),
            "--json",
            "run",
            "firmware",
            hostlist(nodes),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"dcops failed ({out.returncode}): {out.stderr[-500:]}")
    return elapsed


async def run_dcops_engine(cfg: Path, nodes: int, lab: lab_bmc.LabBmcs, chains: list[tuple[float, float]]) -> float:
    from dcops.actions import open_engine
    from dcops.actions.config import load_config
    from dcops.actions.request import Request

    engine = await open_engine(load_config(cfg))
    try:
        t = time.perf_counter()
        run = await engine.submit(
            Request(principal="unix:bench", channel="api", action="firmware", params={"nodes": hostlist(nodes)})
        )
        fin = await run.wait()
        elapsed = time.perf_counter() - t
        if fin.outcome != "ok":
            raise RuntimeError(f"firmware run {fin.outcome}: {fin.summary}")
        chains.append(chain_stats(lab))  # before the engine closes: its logouts are not on the path
        return elapsed
    finally:
        await engine.aclose()


async def run_dmtf(lab: lab_bmc.LabBmcs) -> float:
    import aiohttp
    from redfish.aio.client import AsyncRedfishClient

    ctx = ssl.create_default_context(cafile=lab.ca)
    password = lab.password()
    t = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx, limit=64)) as http:

        async def one(url: str) -> int:
            async with AsyncRedfishClient(
                url, username=lab.user, password=password, session=http, timeout=30
            ) as client:
                resp = await client.get("/redfish/v1/UpdateService/FirmwareInventory", args={"$expand": ".($levels=1)"})
                return len(resp.dict["Members"])

        counts = await asyncio.gather(*(one(u) for u in lab.bmcs.values()))
    elapsed = time.perf_counter() - t
    if set(counts) != {11}:
        raise RuntimeError(f"DMTF client read {set(counts)} components")
    return elapsed


def run_ansible(work: Path, lab: lab_bmc.LabBmcs, forks: int) -> float:
    inv = work / "inventory.ini"
    inv.write_text(
        "[bmcs]\n" + "\n".join(f"{n} baseuri={u.removeprefix('https://')}" for n, u in lab.bmcs.items()) + "\n"
    )
    secrets = work / "vars.json"
    secrets.touch(mode=0o600)
    secrets.write_text(json.dumps({"bmc_user": lab.user, "bmc_password": lab.password(), "bmc_ca": lab.ca}))
    (work / "play.yml").write_text(PLAY)
    env = {
        **os.environ,
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_LOCAL_TEMP": str(work / "ansible-tmp"),
        "ANSIBLE_REMOTE_TEMP": str(work / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_HOME": str(work / "ansible-home"),
    }
    t = time.perf_counter()
    out = subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i",
            str(inv),
            "-f",
            str(forks),
            "-e",
            f"@{secrets}",
            str(work / "play.yml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        cwd=work,
    )
    elapsed = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"ansible-playbook failed ({out.returncode}): {out.stdout[-1500:]}")
    return elapsed


def chain_stats(lab: lab_bmc.LabBmcs) -> tuple[float, float]:
    """(requests per BMC, slowest BMC's summed injected latency) since the counters were cleared."""
    nodes = lab.requests()["nodes"].values()
    per_bmc = statistics.mean(n["requests"] for n in nodes)
    return per_bmc, max(sum(n["injected"]) for n in nodes)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--lo", type=float, default=0.2)
    ap.add_argument("--hi", type=float, default=2.0)
    ap.add_argument("--skip-ansible", action="store_true")
    args = ap.parse_args()
    lab = lab_bmc.start(args.nodes)
    scratch = tempfile.TemporaryDirectory(prefix="dcops-bench-redfish-")  # config, audit db, ansible files
    times: dict[str, list[float]] = {}
    requests: dict[str, list[float]] = {}
    chains: list[tuple[float, float]] = []  # dcops engine runs: (requests per BMC, slowest BMC's delays)
    try:
        lab.latency(args.lo, args.hi)
        work = Path(scratch.name)
        cfg = write_config(work, lab, args.nodes)
        variants: list[tuple[str, Any]] = [
            ("dcops CLI (process)", lambda: run_dcops_cli(cfg, args.nodes)),
            ("dcops engine (in-process)", lambda: asyncio.run(run_dcops_engine(cfg, args.nodes, lab, chains))),
            ("DMTF redfish.aio client", lambda: asyncio.run(run_dmtf(lab))),
        ]
        if not args.skip_ansible:
            variants += [(f"Ansible redfish_info forks {f}", lambda f=f: run_ansible(work, lab, f)) for f in (16, 64)]
        for r in range(args.rounds):
            for name, fn in variants:
                lab.call("POST", "counters/clear")
                elapsed = fn()
                per_bmc, _ = chain_stats(lab)
                times.setdefault(name, []).append(elapsed)
                requests.setdefault(name, []).append(per_bmc)
                print(
                    f"round {r + 1} {name:<32} {elapsed:7.2f} s  ({per_bmc:.1f} requests per BMC, logout included)",
                    flush=True,
                )
    finally:
        lab_bmc.stop()
        scratch.cleanup()
        with contextlib.suppress(OSError):
            Path(os.environ["DCOPS_LAB_DIR"]).rmdir()  # the bench's own lab root, if empty
    mean_latency = (args.lo + args.hi) / 2
    dcops_chain = statistics.median(c[0] for c in chains)
    critical = dcops_chain * mean_latency
    floor = statistics.median(c[1] for c in chains)
    ansible = [statistics.median(v) for k, v in times.items() if k.startswith("Ansible")]
    print(
        f"\nfirmware inventory of {args.nodes} lab BMCs, latency {args.lo}-{args.hi} s per request, "
        f"{args.rounds} rounds (medians)"
    )
    print(
        f"{'':<34}{'median s':>9}{'req/BMC':>9}{'/critical':>10}{'/floor':>8}"
        + "".join(f"{f'Ansible f{f} /':>15}" for f in (16, 64)[: len(ansible)])
        + "   (req/BMC includes logout)"
    )
    for name, vals in times.items():
        med = statistics.median(vals)
        vs = "".join(f"{a / med:14.1f}x" for a in ansible)
        print(
            f"{name:<34}{med:9.2f}{statistics.median(requests[name]):9.1f}{med / critical:9.2f}x{med / floor:7.2f}x{vs}"
        )
    print(
        f"{'critical path':<34}{critical:9.2f}{dcops_chain:9.1f}{1.0:9.2f}x   "
        f"({dcops_chain:.0f} sequential round trips x {mean_latency:.2f} s mean latency)"
    )
    print(
        f"{'measured floor (slowest BMC)':<34}{floor:9.2f}{'':9}{floor / critical:9.2f}x   "
        f"(that BMC's injected delays in the dcops runs; no client can beat it)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
