"""The simulated cluster's layout and its story: which node is broken in which way.

Kept apart from the state machine so the demo's "what an on-call engineer finds" is readable in
one place. Everything is derived from the node count and the seed, so two simulators built with
the same arguments tell the same story (tests rely on it), and nothing here is per-node heavy:
a 10,000-node cluster costs a few list comprehensions.
"""

from __future__ import annotations

import hashlib
import random
import struct
from dataclasses import dataclass

GPUS_PER_NODE = 8
CPUS_PER_NODE = 128
MEMORY_MB = 2_063_000  # 2 TiB hosts as slurmd reports RealMemory
NODES_PER_RACK = 8
GPU_MODEL = "NVIDIA H100 80GB HBM3"
GPU_MEMORY_MIB = 81559
GRES = "gpu:h100:8"
PCI_BUS_IDS = ("18", "2A", "3A", "5D", "9A", "AB", "BA", "DB")  # an HGX H100 baseboard's GPU buses

IMAGE_INSTALLED = "dcops-ubuntu22.04-h100-2026.10.1"
IMAGE_PXE = "dcops-ubuntu22.04-h100-2026.11.2"

USERS = ("alice", "bob", "carol", "dave", "erin", "frank")
BIG_JOB_NAMES = ("llama3-70b-pretrain", "mixtral-8x7b-sft", "gpt-neox-20b", "dit-xl-train", "moe-scaling-512")
SMALL_JOB_NAMES = (
    "bert-finetune",
    "vllm-bench",
    "sdxl-lora",
    "nccl-tests",
    "eval-harness",
    "whisper-ft",
    "rlhf-reward",
    "sweep-lr-3e-4",
)
DEBUG_JOB_NAMES = ("jupyter", "interactive", "cuda-debug")


def rand01(*key: object) -> float:
    """A uniform float in [0, 1) that depends only on ``key`` (stable across processes, unlike
    ``hash()``), so metric values and per-node choices are reproducible without stored state."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return (struct.unpack("<Q", digest)[0] >> 11) / float(1 << 53)


def node_name(index: int, width: int) -> str:
    return f"gpu{index:0{width}d}"


@dataclass(frozen=True)
class Story:
    """Node indices (1-based) that play a part; a part whose index exceeds the node count is absent."""

    down: int = 9  # slurmd not responding, SSH refused, BMC fine
    drained: int = 52  # already drained by a colleague (ECC DBE on GPU 5)
    drained_reason: str = "ECC DBE on GPU5, RMA DC-4411 [dave via slack]"
    drained_gpu: int = 5
    xid: int = 17  # GPU 3 fell off the bus (XID 79)
    xid_gpu: int = 3
    bad_cable: int = 23  # mlx5_0: symbol errors rising
    flapping: int = 31  # mlx5_0: link_downed rising on both ends
    congested: int = 40  # mlx5_0: port_transmit_wait only
    firmware_fails: int = 42  # its firmware update task ends in Exception
    firmware_newer: int = 5  # BIOS newer than the baseline (a canary node)
    device_plugin_crash: int = 45  # Kubernetes: the NVIDIA device plugin pod is in CrashLoopBackOff
    idle: tuple[int, ...] = (12, 29, 47)
    debug_busy: int = 2  # the first N nodes of the debug partition run small jobs
    drift_share: float = 0.10


@dataclass(frozen=True)
class Layout:
    """Names, partitions and racks for ``count`` nodes."""

    count: int
    seed: int
    story: Story
    width: int
    names: list[str]
    debug_start: int  # first index (1-based) of the debug partition

    @classmethod
    def build(cls, count: int, seed: int, story: Story | None = None) -> Layout:
        if count < 1:
            raise ValueError("the simulator needs at least one node")
        width = max(3, len(str(count)))
        names = [node_name(i, width) for i in range(1, count + 1)]
        debug = max(1, count // 8) if count >= 2 else 0
        return cls(
            count=count, seed=seed, story=story or Story(), width=width, names=names, debug_start=count - debug + 1
        )

    def partition(self, index: int) -> str:
        return "debug" if index >= self.debug_start else "gpu"

    def rack(self, index: int) -> str:
        racks = (self.count + NODES_PER_RACK - 1) // NODES_PER_RACK
        return f"r{(index - 1) // NODES_PER_RACK + 1:0{max(2, len(str(racks)))}d}"

    def name(self, index: int) -> str:
        return self.names[index - 1]

    def has(self, index: int) -> bool:
        return 1 <= index <= self.count

    def drifted(self) -> dict[int, str]:
        """Nodes whose firmware differs from the baseline: index -> "old-bmc" | "old-bios" | "new-bios"."""
        rng = random.Random(f"{self.seed}:drift")
        want = max(1, round(self.count * self.story.drift_share))
        pool = [i for i in range(1, self.count + 1) if i != self.story.firmware_newer]
        picked = sorted(rng.sample(pool, min(len(pool), want - 1))) if want > 1 else []
        drift = {i: ("old-bmc" if rng.random() < 0.55 else "old-bios") for i in picked}
        if self.has(self.story.firmware_newer):
            drift[self.story.firmware_newer] = "new-bios"
        return drift
