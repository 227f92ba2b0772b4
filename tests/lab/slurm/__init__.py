"""The lab's real Slurm 22.05 cluster (16 nodes, two partitions, slurmdbd, slurmrestd): see ``lab``."""

from .lab import SlurmLab, lab_dir, node_names, start, status, stop
from .procs import LabError

__all__ = ["SlurmLab", "LabError", "lab_dir", "node_names", "start", "status", "stop"]
