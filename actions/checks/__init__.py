"""Node validation before a node returns to service: parsers for what ``dcgmi diag -j``,
``nvidia-smi`` and ``ibstat`` print, and the verdict per check (``validate``, ``resume --validate``)."""
