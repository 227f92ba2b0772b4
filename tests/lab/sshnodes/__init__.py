"""The lab's SSH nodes (network namespaces + real sshd + stand-in IB/GPU tools): see ``lab``."""

from .lab import SshNodesLab, lab_dir, start, status, stop

__all__ = ["SshNodesLab", "lab_dir", "start", "status", "stop"]
