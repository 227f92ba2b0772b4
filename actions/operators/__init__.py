"""NVIDIA GPU Operator / Network Operator health: which operator pod is which component, and a
node's operator state in one short phrase for the fleet, node-health and the node screen."""

from .components import (
    GPU,
    NETWORK,
    Component,
    classify,
    node_operator_state,
    not_ready,
    operator_of,
)

__all__ = ["GPU", "NETWORK", "Component", "classify", "node_operator_state", "not_ready", "operator_of"]
