"""Errors a user can act on.

Every front end prints ``str(error)`` of a :class:`DcopsError` as one line and exits with
``error.exit_code``; anything else that escapes is a bug, and the front ends turn it into a
one-line "internal error" message (never a traceback) while the traceback goes to the log.
Messages name what was wrong and what is accepted, so they must stay on a single line.

Exit codes (the CLI's contract with scripts; README "Exit codes"): 0 ok, 1 the action failed,
2 bad input, 3 waiting for approval, 4 denied, 5 lock busy, 6 backend unreachable, 70 internal
error (a bug), 130 interrupted.
"""

from __future__ import annotations

from typing import Any


class DcopsError(Exception):
    """Base class: ``str(self)`` is the one-line message shown to the user."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)


class UsageError(DcopsError):
    """Bad input: unknown action, bad parameters, malformed hostlist, unknown node."""

    exit_code = 2


class ConfigError(DcopsError):
    """A missing or invalid config or policy file."""

    exit_code = 2


class DeniedError(DcopsError):
    """RBAC or a guard refused the request; the message carries the reason."""

    exit_code = 4


class ConfirmationRequired(DcopsError):
    """A destructive action needs the caller to echo ``token`` (node count or hostlist)."""

    exit_code = 1

    def __init__(self, message: str, *, token: str, alternatives: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.token = token
        self.alternatives = alternatives


class ApprovalRequired(DcopsError):
    """A second person must approve; ``approval_id`` identifies the pending request."""

    exit_code = 3

    def __init__(self, message: str, *, approval_id: str) -> None:
        super().__init__(message)
        self.approval_id = approval_id


class LockBusy(DcopsError):
    """Another run holds a lock on one of the targets."""

    exit_code = 5


class BackendError(DcopsError):
    """A backend failed or could not be reached; the message names the backend and the cause."""

    exit_code = 1


class BackendUnavailable(BackendError):
    """The backend is not configured for this cluster, or is down."""

    exit_code = 6


class AuditError(DcopsError):
    """The audit store cannot be opened or written; no action runs without it."""

    exit_code = 1


class NotFound(DcopsError):
    """A run, approval or record id that does not exist."""

    exit_code = 1


class ApprovalTaken(DcopsError):
    """A compare-and-set on an approval lost: its state was no longer the one expected (another
    decider, or another run using it, came first). ``current`` is the row as the winner left it.
    Raised rather than returned so that a loser acting as the same principal as the winner cannot
    mistake the winner's row for its own success."""

    exit_code = 4

    def __init__(self, current: Any) -> None:
        super().__init__(f"approval {current.id} is already {current.state}")
        self.current = current
