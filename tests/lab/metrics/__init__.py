"""Metrics lab: real Prometheus + node_exporter (fake sysfs) + a DCGM-format exporter; see lab.py."""
