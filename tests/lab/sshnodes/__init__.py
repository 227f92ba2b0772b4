"""The lab's SSH nodes (network namespaces + real sshd + stand-in IB/GPU tools): see ``lab``."""

from tests.lab.slurm.procs import session as _session

from .lab import SshNodesLab, lab_dir, start, status, stop


def session():  # noqa: ANN201 - a context manager yielding SshNodesLab
    """The running SSH nodes, or fresh ones stopped when the ``with`` block ends."""
    return _session(status, start, stop)


__all__ = ["SshNodesLab", "lab_dir", "session", "start", "status", "stop"]
