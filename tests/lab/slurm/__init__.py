"""The lab's real Slurm 22.05 cluster (16 GPU nodes and 9 irregularly named ones, three partitions, slurmdbd, slurmrestd): see ``lab``."""

from .lab import SlurmLab, all_node_names, lab_dir, node_names, start, status, stop
from .procs import LabError
from .procs import session as _session


def session():  # noqa: ANN201 - a context manager yielding SlurmLab
    """The running lab cluster, or a fresh one stopped when the ``with`` block ends."""
    return _session(status, start, stop)


__all__ = ["SlurmLab", "LabError", "all_node_names", "lab_dir", "node_names", "session", "start", "status", "stop"]
