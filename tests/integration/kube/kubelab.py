"""Helpers for the Kubernetes integration tests: the real kubectl against the lab, and
name-independent pictures of the lab's state for comparing outcomes."""

from __future__ import annotations

import json
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.lab.kubeapi import lab


@dataclass
class Kubectl:
    info: lab.LabInfo
    binary: str

    def __call__(self, *args: str, timeout: float = 60.0, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [
            self.binary,
            "--kubeconfig",
            str(self.info.kubeconfig),
            "--cache-dir",
            str(self.info.directory / "kubectl-cache"),
            *args,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-o", "json").stdout)


def pods_by_node(info: lab.LabInfo) -> dict[str, list[str]]:
    """Pods per node as ``namespace/owner-or-name`` (replacement pods get random names) —
    a name-independent picture of where workloads run; terminating pods marked with '~'."""
    out: dict[str, list[str]] = {}
    for obj in info.objects():
        if obj["kind"] != "Pod":
            continue
        meta = obj["metadata"]
        owner = next(
            (o["name"] for o in meta.get("ownerReferences") or [] if o.get("controller") and o["kind"] != "Node"),
            meta["name"],
        )
        mark = "~" if meta.get("deletionTimestamp") else ""
        out.setdefault(obj["spec"].get("nodeName", ""), []).append(f"{mark}{meta['namespace']}/{owner}")
    return {k: sorted(v) for k, v in out.items()}


def node_obj(info: lab.LabInfo, name: str) -> dict[str, Any]:
    return next(o for o in info.objects() if o["kind"] == "Node" and o["metadata"]["name"] == name)


def dead_kubeconfig(path: Path, info: lab.LabInfo) -> tuple[Path, int]:
    """A kubeconfig for a loopback port nothing listens on (an API server that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return kubeconfig_for(path, info, port), port


def kubeconfig_for(path: Path, info: lab.LabInfo, port: int) -> Path:
    """The lab's credentials and CA, pointed at another loopback port."""
    lab.write_kubeconfig(path, f"https://127.0.0.1:{port}", info.token, info.ca_file)
    return path
