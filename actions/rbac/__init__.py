"""RBAC for dcops: a TOML policy of roles, bindings, groups and deny rules, decided per request.

The engine calls ``Policy.decide(principal, action, kind, targets)`` before any guard runs and
audits the returned :class:`Decision` (allowed or not, with a one-line reason). The file format is
documented in ``example_policy.toml`` next to this module; ``Policy.demo()`` loads
``demo_policy.toml`` for ``--demo``.
"""

from .policy import Decision, Policy, describe_targets

__all__ = ["Decision", "Policy", "describe_targets"]
