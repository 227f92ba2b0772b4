"""A small Kubernetes API server for the test lab (no real kube-apiserver can run here).

It is good enough for the real ``kubectl`` to cordon, drain (with PDB-honouring evictions),
uncordon and list Jobs against it, which is how its fidelity is checked; dcops' Kubernetes
adapter is tested against it. See ``lab.py`` for start/stop and ``scenario.py`` for seeded worlds.
"""
