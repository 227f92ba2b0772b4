"""Who is running this process: the principal of a local front end (CLI, TUI).

The answer comes from the *real* uid of the process (``os.getuid()`` looked up with ``pwd``),
never from ``LOGNAME``, ``USER`` or ``getpass.getuser()``: those are variables the user sets, and
``LOGNAME=dana dcops ...`` must not act as dana. A uid without a passwd entry (a container
running as an arbitrary uid) acts as ``unix:uid<N>``. ``[identity] map`` in the config may then
rename the account to the principal the policy knows it by.
"""

from __future__ import annotations

import os
import pwd

from .config.identity import IdentitySection
from .errors import DeniedError


def login_name(uid: int | None = None) -> str:
    """The account name of ``uid`` (default: the real uid of this process)."""
    uid = os.getuid() if uid is None else uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


def local_principal(section: IdentitySection | None = None, *, uid: int | None = None) -> str:
    """``unix:<login>``, or what ``[identity] map`` maps the login to."""
    login = login_name(uid)
    section = section or IdentitySection()
    mapped = section.map.get(login)
    if mapped is not None:
        return mapped
    if section.unmapped == "refuse":
        raise DeniedError(
            f"denied: the unix account {login} has no entry in [identity] map and the config "
            'refuses unmapped accounts (identity.unmapped = "refuse")'
        )
    return f"unix:{login}"
