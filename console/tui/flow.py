"""Submitting one request from the console, with the dialogs the engine may ask for.

The engine decides everything (validation, RBAC, guards, confirmation, approval); this module
only turns its answers into UI: a :class:`ConfirmationRequired` opens the typed-confirmation
dialog and resubmits with what was typed, an :class:`ApprovalRequired` says who must approve,
and every other :class:`DcopsError` becomes one line in the status bar. Must run in a worker
(``push_screen_wait`` needs one) so the UI keeps painting while the engine works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dcops.actions import Request, Run
from dcops.actions.errors import ApprovalRequired, ConfirmationRequired, DcopsError

from .recheck import recheck_for
from .screens.confirm import ConfirmDialog

if TYPE_CHECKING:
    from .app import DcopsApp


async def submit(
    app: DcopsApp, action: str, params: dict[str, Any], *, confirmed: str | None = None, alert: str | None = None
) -> Run | None:
    """Submit ``action`` as the app's principal; None when refused, cancelled or pending approval.
    ``confirmed``: a token the operator already typed in the console's own dialog (fleet drain)."""
    engine = await app.wait_engine()
    if engine is None:
        return None
    confirm: str | None = None
    while True:
        request = Request(
            principal=app.principal,
            channel="tui",
            action=action,
            params=params,
            confirm=confirm,
            alert=alert,
            interactive=True,
        )
        try:
            return await engine.submit(request)
        except ConfirmationRequired as exc:
            if confirm is None and confirmed is not None:
                confirm = confirmed
                continue
            if confirm is not None:
                app.report(str(exc), "error")
            answer = await app.push_screen_wait(
                ConfirmDialog(action, str(exc), exc.token, exc.alternatives, recheck=recheck_for(app, action, params))
            )
            if answer is None:
                app.report(f"{action} cancelled: nothing was changed", "warning")
                return None
            confirm = answer.token
        except ApprovalRequired as exc:
            app.report(str(exc), "warning")
            app.approvals_changed()
            return None
        except DcopsError as exc:
            app.report(str(exc), "error")
            return None
