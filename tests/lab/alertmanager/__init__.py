"""The lab's Alertmanager: Debian's prometheus-alertmanager on loopback, fed by the lab Prometheus."""

from .lab import AlertmanagerLab, session, start, status, stop

__all__ = ["AlertmanagerLab", "session", "start", "status", "stop"]
