"""[ssh]: how dcops reaches nodes over SSH (asyncssh)."""

from __future__ import annotations

from ._base import Section


class SshSection(Section):
    user: str = "root"
    port: int = 22
    known_hosts: str | None = None  # path; None = ~/.ssh/known_hosts (checking is never disabled)
    client_keys: list[str] = []
    connect_timeout: float = 10.0
    command_timeout: float = 60.0
    max_parallel: int = 64  # connections open at once across the fleet
    max_per_host: int = 4  # sessions at once on one host
    hosts: dict[str, str] = {}  # node name -> address (overrides [[nodes]] ssh_host)
    ports: dict[str, int] = {}  # node name -> port, when nodes differ
