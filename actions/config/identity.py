"""``[identity]``: how a local unix account becomes a dcops principal.

By default the account ``jdoe`` acts as ``unix:jdoe``. A site whose policy speaks in directory
(LDAP) names maps accounts to the principals its policy binds:

    [identity]
    map = { "jdoe" = "unix:john.doe", "svc-dcops" = "unix:automation" }
    unmapped = "own-name"     # or "refuse": only mapped accounts may use dcops

The account is always the real uid of the process (see :mod:`dcops.actions.identity`); this table only
renames it. Keys are login names, values principals; both are checked here so a typo stops dcops
with one line instead of silently leaving someone unmapped.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator

from ._base import Section

LOGIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\$?$")  # POSIX portable names (+ Samba's trailing $)
PRINCIPAL = re.compile(r"^unix:[^\s:]+$")


class IdentitySection(Section):
    map: dict[str, str] = {}  # login name -> principal (unix:NAME)
    unmapped: Literal["own-name", "refuse"] = "own-name"

    @field_validator("map")
    @classmethod
    def _check_map(cls, v: dict[str, str]) -> dict[str, str]:
        for login, principal in v.items():
            if not LOGIN.match(login):
                raise ValueError(f"{login!r} is not a unix login name (letters, digits, '_', '.', '-')")
            if not PRINCIPAL.match(principal):
                raise ValueError(
                    f"{login} = {principal!r}: a mapped principal must look like unix:NAME "
                    "(the name your policy binds, e.g. unix:john.doe)"
                )
        return v
