"""[redfish]: BMC endpoints and credentials (the secret itself is never in this file)."""

from __future__ import annotations

from typing import Literal

from ._base import Section


class RedfishSection(Section):
    bmcs: dict[str, str] = {}  # node name -> BMC base URL (or system URL)
    username: str = "admin"
    password_env: str | None = None  # read the password from this env var
    password_file: str | None = None  # ... or from this file (must be mode 0600)
    password_command: str | None = None  # ... or from this command's stdout
    verify_tls: bool = True
    ca_bundle: str | None = None  # relative paths are relative to the config file
    auth: Literal["session", "basic"] = "session"  # basic: HTTP Basic on every request, no session
    timeout: float = 30.0
    max_parallel: int = 64
    max_per_bmc: int = 2
