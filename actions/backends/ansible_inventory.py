"""dcops' inventory as Ansible sees it: one host per dcops node, named by its dcops name, reached at
the address and port dcops' own SSH adapter uses, as ``[ssh] user`` with ``[ssh] client_keys``,
and with host keys checked against ``[ssh] known_hosts`` (StrictHostKeyChecking=yes: like dcops'
SSH adapter, there is no switch to turn the check off). A request's extra vars cannot override any
of this: the catalog refuses ``ansible_*`` variables."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from ..config.ssh import SshSection


def build_inventory(
    hosts: Sequence[str], ssh: SshSection, addresses: Mapping[str, str], *, python_interpreter: str = "auto_silent"
) -> dict[str, Any]:
    known = ssh.known_hosts or os.path.expanduser("~/.ssh/known_hosts")
    opts = [
        "-o",
        f"UserKnownHostsFile={known}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        f"ConnectTimeout={max(1, int(ssh.connect_timeout))}",
        "-o",
        "BatchMode=yes",
        "-o",
        "PasswordAuthentication=no",
    ]
    group_vars: dict[str, Any] = {
        "ansible_user": ssh.user,
        "ansible_ssh_common_args": shlex.join(opts),
        "ansible_python_interpreter": python_interpreter,
    }
    if ssh.client_keys:
        group_vars["ansible_ssh_private_key_file"] = ssh.client_keys[0]
    merged = {**addresses, **ssh.hosts}
    host_vars: dict[str, dict[str, Any]] = {}
    for host in hosts:
        hv: dict[str, Any] = {"ansible_host": merged.get(host, host), "ansible_port": ssh.ports.get(host, ssh.port)}
        host_vars[host] = hv
    return {"all": {"hosts": host_vars, "vars": group_vars}}
