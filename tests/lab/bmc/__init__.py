"""Lab BMCs: sushy-tools' Redfish emulator extended with firmware, tasks, sessions, TLS and faults.

``python -m tests.lab.bmc start|stop|status``; tests use :func:`control.start` / :class:`control.LabBmcs`.
"""

from .control import LabBmcs, lab_dir, start, stop

__all__ = ["LabBmcs", "lab_dir", "start", "stop"]
